"""`hub wecom …`: each sub-package adds its command group (the contact ways today)."""

import typer

from hub.wecom.contact_ways import cli as contact_ways_cli

app = typer.Typer(no_args_is_help=True)
app.add_typer(contact_ways_cli.app, name="contact-ways")
