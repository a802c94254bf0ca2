"""hub.codes.batch_cli (being written)."""

import typer


def register(app: typer.Typer) -> None:
    """Add this module's commands to `hub codes`."""
