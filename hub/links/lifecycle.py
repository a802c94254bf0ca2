"""Start and stop what the public link needs in an API process (being written)."""

from hub.settings import Settings


async def start(settings: Settings) -> None:
    """Called by the app's lifespan after the database and job queue are open."""


async def stop() -> None:
    """Called by the app's lifespan before the database closes: flush what is buffered."""
