"""Tortoise's asyncpg (PostgreSQL) engine with the bare-write check (see ``hub.dbengine``)."""

from hub.dbengine import guarded

client_class = guarded("tortoise.backends.asyncpg")
