"""Migration operations of our own, for what Tortoise's would do wrongly on a filled database."""

from __future__ import annotations

from tortoise.migrations import operations as ops


class AlterEnumMembers(ops.AlterField):
    """An ``AlterField`` whose only change is a ``CharEnumField``'s members (Tortoise keeps them in the
    field's description). The column stays a varchar of the same length, so nothing needs to run in the
    database: a plain ``AlterField`` would rebuild the table on SQLite, and a table other tables point at
    cannot be rebuilt with its rows (see CONTRIBUTING.md, Migrations). Only the migration state changes."""

    def describe(self) -> str:
        return f"Alter the members of enum field {self.name} on {self.model_name} (no database change)"

    async def database_forward(self, app_label, old_state, new_state, state_editor=None) -> None:
        return None

    async def database_backward(self, app_label, old_state, new_state, state_editor=None) -> None:
        return None
