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


class DropColumn(ops.RemoveField):
    """A ``RemoveField`` by ``ALTER TABLE … DROP COLUMN``, which PostgreSQL and SQLite (3.35 and newer) both
    take for a column in no index. Tortoise's SQLite editor rebuilds the table instead, and the rebuilt
    table loses its unique constraints and indexes (seen on ``idempotency_record``)."""

    async def database_forward(self, app_label, old_state, new_state, state_editor=None) -> None:
        if state_editor is None:
            return
        model = old_state.apps.get_model(f"{app_label}.{self.model_name}")
        column = model._meta.fields_map[self.name].source_field or self.name
        await state_editor._run_sql(f'ALTER TABLE "{model._meta.db_table}" DROP COLUMN "{column}"')
