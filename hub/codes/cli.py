"""`hub codes …`: each sub-domain module adds its commands."""

import typer

from hub.codes import batch_cli, manage_cli, stats_cli

app = typer.Typer(no_args_is_help=True)
manage_cli.register(app)  # create, list, show, disable
batch_cli.register(app)  # batch
stats_cli.register(app)  # stats
