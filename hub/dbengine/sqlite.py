"""Tortoise's SQLite engine with the bare-write check (see ``hub.dbengine``)."""

from hub.dbengine import guarded

client_class = guarded("tortoise.backends.sqlite")
