"""The ``hub`` command. Each domain adds its commands in its own ``cli.py`` and its package declares them
(``hub.packages``); this file gathers them."""

from __future__ import annotations

import sys

import typer

from hub.cli.common import console, fail
from hub.settings import SettingsError

app = typer.Typer(
    help="Telecom marketing integration hub: WeCom, the carrier app and cloud-retail storefronts in one funnel.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    add_completion=False,
)


def _register() -> None:
    """The operating commands, then every package's command groups (``Package.commands``) in list order."""
    from hub import packages
    from hub.cli import ops

    ops.register(app)
    for group in packages.command_groups():
        app.add_typer(packages.resolve(group.module).app, name=group.name, help=group.help)


def main() -> None:
    try:
        _register()
        app()
    except SettingsError as exc:
        fail(str(exc))
    except KeyboardInterrupt:
        sys.exit(130)


__all__ = ["app", "main", "console"]
