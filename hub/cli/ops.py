"""Operating the hub: migrations, serving, the worker, demo data."""

from __future__ import annotations

import asyncio
from typing import TYPE_CHECKING, Annotated

import typer

from hub.cli.common import console, fail, progress

if TYPE_CHECKING:
    from hub.settings import Settings


def register(app: typer.Typer) -> None:
    app.command("migrate")(migrate)
    app.command("makemigrations")(makemigrations)
    app.command("serve")(serve)
    app.command("worker")(worker)
    app.command("demo-data")(demo_data)
    app.command("demo-wecom")(demo_wecom)


def migrate() -> None:
    """Apply the committed migrations to the configured database (SQLite or PostgreSQL)."""
    from hub.migrate import apply_migrations
    from hub.settings import get_settings

    settings = get_settings()
    applied: list[str] = []

    def report(event: str, app_label: str, name: str) -> None:
        if event == "apply_done":
            applied.append(f"{app_label}.{name}")
            console.print(f"  applied {app_label}.{name}")

    asyncio.run(apply_migrations(settings, progress=report))
    console.print(f"Database is up to date ({len(applied)} migration(s) applied).")


def makemigrations(
    name: Annotated[str | None, typer.Option(help="Name for the new migration")] = None,
    check: Annotated[bool, typer.Option(help="Write nothing; exit 1 when the models need a migration")] = False,
) -> None:
    """Write a migration for model changes (developers only; review and commit it)."""
    from hub.migrate import detect_model_changes, make_migrations
    from hub.settings import load_settings

    settings = load_settings(database_url="sqlite://:memory:")
    if check:
        writers = asyncio.run(detect_model_changes(settings))
        for writer in writers:
            operations = ", ".join(type(op).__name__ for op in writer.operations)
            console.print(f"Missing migration for {writer.app_label}: {operations}")
        if writers:
            raise typer.Exit(1)
        console.print("Models and migrations agree.")
        return
    paths = asyncio.run(make_migrations(settings, name))
    for path in paths:
        console.print(f"Created {path}")
    if not paths:
        console.print("No changes detected.")


def serve(
    host: Annotated[str, typer.Option(help="Address to listen on")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="Port to listen on")] = 8000,
    workers: Annotated[int, typer.Option(help="API processes (use PostgreSQL when more than one)")] = 1,
) -> None:
    """Serve the API (OpenAPI docs at /docs)."""
    import uvicorn

    from hub.settings import get_settings

    settings = get_settings()
    if workers > 1 and settings.is_sqlite:
        fail("--workers above 1 needs PostgreSQL (HUB_DATABASE_URL=postgres://...)")
    uvicorn.run(
        "hub.app:create_app", factory=True, host=host, port=port, workers=workers,
        log_config=None, proxy_headers=True, server_header=False,
    )


def worker(
    metrics_port: Annotated[int | None, typer.Option(help="Serve Prometheus metrics on this port")] = None,
    burst: Annotated[bool, typer.Option(help="Stop when the queue is empty")] = False,
    lane: Annotated[str, typer.Option(help="Lane to work: all, default or urgent (WeCom callbacks)")] = "all",
) -> None:
    """Run arq workers on HUB_REDIS_URL (start as many as the load needs; one per lane to keep them apart)."""
    from hub.jobs.registry import LANES
    from hub.logging import configure_logging
    from hub.settings import get_settings

    settings = get_settings()
    if not settings.redis_url:
        fail("hub worker needs HUB_REDIS_URL; without it jobs run inside `hub serve`")
    if lane != "all" and lane not in LANES:
        fail(f"--lane must be all, {' or '.join(LANES)}")
    configure_logging(settings)
    if metrics_port:
        from prometheus_client import start_http_server

        start_http_server(metrics_port)
    asyncio.run(_run_workers(settings, list(LANES) if lane == "all" else [lane], burst=burst))


async def _run_workers(settings: Settings, lanes: list[str], *, burst: bool) -> None:
    """One arq worker per lane in this process, once Redis answers (until then it waits, saying so every few
    seconds); SIGINT/SIGTERM stop them all (running jobs are cancelled and retried, as with a single worker),
    or stop the wait."""
    import logging
    import signal

    from arq.worker import Worker, create_worker

    from hub.jobs.arq_queue import wait_for_redis, worker_settings

    stop = asyncio.Event()
    workers: list[Worker] = []

    def on_signal(signum: signal.Signals) -> None:
        stop.set()
        for w in workers:
            w.handle_sig(signum)

    loop = asyncio.get_running_loop()
    for signum in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(signum, on_signal, signum)
    if not await wait_for_redis(settings, stop=stop):
        logging.getLogger("hub.jobs").info("hub worker stopped while waiting for Redis")
        return
    workers.extend(create_worker({**worker_settings(settings, lane=name), "burst": burst, "handle_signals": False})
                   for name in lanes)
    try:
        if not stop.is_set():  # a signal between Redis answering and now
            await asyncio.gather(*(w.async_run() for w in workers), return_exceptions=True)
    finally:
        for w in reversed(workers):  # the default lane's worker owns the database connection: close it last
            await w.close()


def demo_data() -> None:
    """Load the demo province (the same every time): regions, stores, staff, products, customers, campaigns."""
    from hub.cli.common import run
    from hub.demo.data import load_demo_data

    with progress() as bar:
        summary = run(lambda: load_demo_data(progress=bar))
    for what, count in summary.items():
        console.print(f"  {what}: {count}")


DEFAULT_SANDBOX_URL = "http://127.0.0.1:9101"  # `hub sandbox wecom serve`'s and the simulate commands' default


def demo_wecom(
    sandbox_url: Annotated[str, typer.Option(help="Where `hub sandbox wecom serve` listens")] = DEFAULT_SANDBOX_URL,
) -> None:
    """Give the WeCom sandbox the demo staff and make contact-me codes for the first demo store."""
    from rich.table import Table

    from hub.cli.common import run
    from hub.demo.wecom import SandboxUnreachable, set_up
    from hub.settings import get_settings

    settings = get_settings()
    if not (settings.wecom_corp_id and settings.wecom_secret):
        fail("set HUB_WECOM_CORP_ID, HUB_WECOM_SECRET (and point HUB_WECOM_API_BASE at the sandbox) first")

    async def work():
        try:
            return await set_up(sandbox_url=sandbox_url)
        except SandboxUnreachable as exc:
            fail(str(exc))

    rows = run(work)
    base = settings.public_base_url.rstrip("/")
    table = Table(title="WeCom contact-me codes (the sandbox plays WeCom)")
    for column in ("kind", "for", "staff userid", "state"):
        table.add_column(column, no_wrap=True)
    table.add_column("link", overflow="fold")
    for row in rows:
        table.add_row(row.kind, row.who, row.userid if row.kind == "staff" else f"{row.userid} …",
                      row.state, f"{base}/c/{row.slug}")
    console.print(table)
    first = rows[0]
    console.print("Play a customer scanning the first code (the hub attributes, tags and greets them):")
    elsewhere = f" --sandbox-url {sandbox_url}" if sandbox_url != DEFAULT_SANDBOX_URL else ""  # the one that works
    console.print(f"  .venv/bin/hub sandbox wecom simulate add --staff {first.userid} --state {first.state}"
                  f" --name 李雷{elsewhere}",
                  soft_wrap=True, highlight=False)
