"""``hub import stores FILE``: the API's all-or-nothing import, with a progress bar and an error table."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from hub.cli.common import console, err_console, fail, progress, run, table_rows
from hub.imports.kinds import ImportKind

app = typer.Typer(no_args_is_help=True)


def _import(kind: ImportKind, path: Path, dry_run: bool) -> None:
    from hub.database import transaction
    from hub.imports.service import MAX_BYTES, ImportRejected, import_csv

    if path.stat().st_size > MAX_BYTES:
        fail(f"{path} is larger than {MAX_BYTES // 2**20} MB")
    data = path.read_bytes()
    with progress() as bar:
        task = bar.add_task(f"Importing {kind}", total=None)

        async def work():
            try:
                async with transaction():
                    return await import_csv(kind=kind, data=data, dry_run=dry_run,
                                            progress=lambda done, total: bar.update(task, completed=done, total=total))
            except ImportRejected as exc:  # a report, not a crash: show every bad row below
                return exc

        result = run(work, with_queue=False)
    if isinstance(result, ImportRejected):
        table_rows([{"line": e.line, "field": e.field, "message": e.message} for e in result.errors],
                   title=f"Bad rows in {path.name}")
        err_console.print(f"{result.detail}. Nothing was written.", highlight=False)
        raise typer.Exit(1)
    verb = "would be " if result.dry_run else ""
    console.print(f"{kind}: {result.rows} rows — {result.created} {verb}created, {result.updated} {verb}updated, "
                  f"{result.unchanged} unchanged" + (" (dry run, nothing written)" if result.dry_run else ""),
                  highlight=False)


def _command(kind: ImportKind):
    def command(
        file: Annotated[Path, typer.Argument(exists=True, dir_okay=False, readable=True, help="The CSV file")],
        dry_run: Annotated[bool, typer.Option("--dry-run", help="Check and count, write nothing")] = False,
    ) -> None:
        _import(kind, file, dry_run)

    command.__doc__ = f"Import {kind} from CSV: every row is checked first; one bad row and nothing is written."
    return command


for _kind in ImportKind:
    app.command(_kind.value)(_command(_kind))
