"""Tortoise engines that refuse writes made outside a unit of work, wherever that is required.

Tortoise picks a connection's client class from the ``engine`` module named in the config; ``hub.database``
names ``hub.dbengine.sqlite`` or ``hub.dbengine.asyncpg``, whose client wraps the real engine's class.
Inside a transaction Tortoise uses its own transaction wrapper class, so only statements sent on the bare
pool reach the check below.
"""

from __future__ import annotations

import importlib
from functools import cache
from typing import Any

from hub import database


@cache
def guarded(engine: str) -> type:
    """The client class of Tortoise's ``engine`` module, checking each statement sent outside a transaction."""
    base = importlib.import_module(engine).client_class

    class GuardedClient(base):  # type: ignore[misc, valid-type]
        async def execute_insert(self, query: str, values: list) -> Any:
            database.check_bare_write(query)
            return await super().execute_insert(query, values)

        async def execute_many(self, query: str, values: list) -> Any:
            database.check_bare_write(query)
            return await super().execute_many(query, values)

        async def execute_query(self, query: str, values: list | None = None) -> Any:
            database.check_bare_write(query)
            return await super().execute_query(query, values)

        async def execute_query_dict(self, query: str, values: list | None = None) -> Any:
            database.check_bare_write(query)
            return await super().execute_query_dict(query, values)

    GuardedClient.__name__ = GuardedClient.__qualname__ = f"Guarded{base.__name__}"
    # Tortoise's migrations choose their schema editor by the client's module name ("sqlite", "asyncpg").
    GuardedClient.__module__ = f"{__name__}.{engine.rsplit('.', 1)[-1]}"
    return GuardedClient
