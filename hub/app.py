"""The FastAPI application: lifespan (database, job queue), middleware, error handlers and routers."""

from __future__ import annotations

import importlib
from contextlib import asynccontextmanager

from fastapi import APIRouter, FastAPI

from hub import database, jobs
from hub.edge import check_routes
from hub.errors import install_error_handlers
from hub.health import router as health_router
from hub.links import lifecycle as links
from hub.links.api import router as links_router
from hub.logging import configure_logging
from hub.middleware import RequestContextMiddleware
from hub.settings import Settings, get_settings
from hub.staffweb.routes import router as staffweb_router
from hub.wecom.connection import close_wecom_client
from storefront.coupon_pages import router as coupon_pages_router
from storefront.gift_pages import router as gift_pages_router
from webhooks.wecom.api import router as wecom_webhook_router

# Routers mounted under /api/v1, by module path (each module exposes ``router``).
API_ROUTERS = [
    "hub.auth.api",
    "hub.regions.api",
    "hub.stores.api",
    "hub.staff.api",
    "hub.products.api",
    "hub.customers.api",
    "hub.campaigns.api",
    "hub.imports.api",
    "hub.outbox.api",
    "hub.codes.api",
    "hub.codes.images_api",
    "hub.codes.stats_api",
    "hub.wecom.contactways_api",
    "hub.wecom.contacts_api",
    "coupons.batches.api",
    "coupons.claims.api",
    "coupons.issues.api",
    "coupons.locks.api",
    "coupons.redemptions.api",
    "coupons.wallet.api",
    "coupons.gifting.api",
    "coupons.app.api",
    "coupons.issue_runs.api",
    "coupons.partner_codes.api",
    "coupons.reminders.api",
    "coupons.reconciliation.api",
]


def api_router() -> APIRouter:
    router = APIRouter(prefix="/api/v1")
    for module in API_ROUTERS:
        router.include_router(importlib.import_module(module).router)
    return router


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
        await links.start(settings)
        try:
            yield
        finally:
            await links.stop()  # scans still buffered are written before the database closes
            await jobs.close_queue()
            await close_wecom_client()
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
    app.include_router(links_router)  # first: the public link is the hottest path, matched before the rest
    app.include_router(health_router)
    app.include_router(wecom_webhook_router)  # signed by WeCom, not under /api/v1 and without an API key
    app.include_router(api_router())
    app.include_router(staffweb_router)  # /staff/: pages for staff inside WeCom
    app.include_router(coupon_pages_router)  # /s/coupons/: customers' coupon pages (H5)
    app.include_router(gift_pages_router)  # /s/gifts/: the page a coupon share link opens
    check_routes(app)
    return app
