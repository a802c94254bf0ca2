"""Schema migrations with Tortoise's own migration system, behind ``hub migrate`` and ``hub makemigrations``.

Migration files live in ``hub/migrations`` and are committed; one set serves SQLite and PostgreSQL.
"""

from __future__ import annotations

from collections.abc import Callable

from tortoise import Tortoise
from tortoise.context import TortoiseContext
from tortoise.migrations.api import migrate as tortoise_migrate
from tortoise.migrations.autodetector import MigrationAutodetector
from tortoise.migrations.writer import MigrationWriter

from hub.database import tortoise_config
from hub.errors import present
from hub.settings import Settings


async def apply_migrations(settings: Settings, progress: Callable[[str, str, str], object] | None = None,
                           target: str | None = None) -> None:
    """Apply every migration not yet recorded in the database (up to ``target``, e.g. "hub.0003_…", if given)."""
    config = tortoise_config(settings)
    async with TortoiseContext() as ctx:
        await ctx.init(config=config)
        await tortoise_migrate(config=config, progress=progress, target=target)
        await Tortoise.close_connections()


async def detect_model_changes(settings: Settings) -> list[MigrationWriter]:
    """Migrations the models need beyond the committed ones (empty when they agree)."""
    config = tortoise_config(settings)
    async with TortoiseContext() as ctx:
        await ctx.init(config=config)
        writers = await MigrationAutodetector(present(ctx.apps, "ctx.init() sets the apps"), config["apps"]).changes()
        await ctx.close_connections()
    return writers


async def make_migrations(settings: Settings, name: str | None = None) -> list[str]:
    """Write migration files for model changes; returns their paths."""
    paths = []
    for writer in await detect_model_changes(settings):
        if name:
            number = writer.name.split("_", 1)[0]
            writer.name = f"{number}_{name}"
        paths.append(str(writer.write()))
    return paths
