"""The FastAPI application: lifespan (database, job queue), middleware, error handlers, and the routers and
start-up hooks the packages declare (``hub.packages``)."""

from __future__ import annotations

from contextlib import asynccontextmanager

from fastapi import APIRouter, FastAPI

from hub import database, jobs, packages
from hub.edge import check_routes
from hub.errors import install_error_handlers
from hub.logging import configure_logging
from hub.middleware import RequestContextMiddleware
from hub.packages import Mount
from hub.routing import install_route_index
from hub.settings import Settings, get_settings


def api_router() -> APIRouter:
    """Every package's API routers under /api/v1, in the packages' order."""
    router = APIRouter(prefix="/api/v1")
    for declared in packages.routers(mount=Mount.API):
        router.include_router(packages.resolve(declared.module).router)
    return router


def _include_root(app: FastAPI, *, hot: bool) -> None:
    for declared in packages.routers(mount=Mount.ROOT, hot=hot):
        app.include_router(packages.resolve(declared.module).router)


def create_app(settings: Settings | None = None, *, manage_resources: bool = True) -> FastAPI:
    """Build the app; tests pass ``manage_resources=False`` and open the database and queue themselves."""
    settings = settings or get_settings()

    @asynccontextmanager
    async def lifespan(app: FastAPI):
        if not manage_resources:
            yield
            return
        configure_logging(settings)
        await database.connect(settings)
        await jobs.open_queue(settings)
        await packages.run_startup(settings)
        try:
            yield
        finally:
            await packages.run_shutdown()  # e.g. scans still buffered are written before the database closes
            await jobs.close_queue()
            await packages.run_exit()
            await database.disconnect()

    app = FastAPI(
        title="Telecom marketing integration hub",
        version="0.1.0",
        description="WeCom, the carrier app and cloud-retail storefronts in one funnel. "
        "Authenticate with `Authorization: Bearer <key>` (make one with `hub keys create`).",
        lifespan=lifespan,
    )
    app.add_middleware(RequestContextMiddleware)
    install_error_handlers(app)
    # Matching runs in mounting order: hot root routers (the public link first) before the API's many routes.
    _include_root(app, hot=True)
    app.include_router(api_router())
    _include_root(app, hot=False)
    check_routes(app)
    install_route_index(app)
    return app
