"""Tortoise's asyncpg (PostgreSQL) engine with the bare-write check (see ``hub.dbengine``), whose pooled
connections skip asyncpg's reset query on release.

asyncpg resets a connection each time it goes back to the pool (``RESET ALL``, ``UNLISTEN *``, advisory
locks released): a round trip after every transaction and every lone read, which Tortoise releases at once.
The hub keeps no session state on a connection (its advisory locks and ``lock_timeout`` are transaction
scoped, it never LISTENs or holds a cursor), so the query has nothing to undo. asyncpg's documented way to
change it is a ``Connection`` subclass overriding ``get_reset_query``; an open transaction is still rolled
back on release, by asyncpg itself.
"""

import asyncpg  # type: ignore[import-untyped]  # asyncpg ships no type information

from hub.dbengine import guarded


class ConnectionWithoutSessionState(asyncpg.Connection):
    def get_reset_query(self) -> str:
        return ""


client_class = guarded("tortoise.backends.asyncpg")
client_class.connection_class = ConnectionWithoutSessionState  # type: ignore[attr-defined]  # asyncpg's class
