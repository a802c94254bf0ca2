"""The ``hub`` command. Each domain adds its commands in its own ``cli.py``; this file gathers them."""

from __future__ import annotations

import importlib
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
    from hub.cli import ops
    from hub.auth import cli as auth_cli
    from hub.outbox import cli as outbox_cli

    ops.register(app)
    app.add_typer(auth_cli.app, name="keys", help="Create, list and revoke API keys.")
    app.add_typer(outbox_cli.app, name="outbox", help="Inspect and replay the outbox.")
    for module_name, name, help_text in DOMAIN_COMMANDS:
        app.add_typer(importlib.import_module(module_name).app, name=name, help=help_text)


# Domain command groups: (module, command name, help).
DOMAIN_COMMANDS = [
    ("hub.imports.cli", "import", "Import regions, stores, staff or products from CSV (all or nothing)."),
    ("hub.regions.cli", "regions", "List regions."),
    ("hub.stores.cli", "stores", "List stores."),
    ("hub.staff.cli", "staff", "List staff."),
    ("hub.products.cli", "products", "List products."),
    ("hub.customers.cli", "customers", "Look up customers."),
    ("hub.codes.cli", "codes", "Store, product and staff codes, livestream links: create, batch, statistics."),
    ("hub.campaigns.cli", "campaigns", "List and show campaigns (approval happens over the API, per key)."),
    ("coupons.cli", "coupons", "Coupons: reconcile settlement files, load partner codes, demo coupons."),
    ("hub.wecom.cli", "wecom", "WeCom contact-me codes: list them, push them to WeCom again."),
    ("connectors.wecom.sandbox.cli", "sandbox", "Sandboxes of the outside systems (WeCom) for the demo and tests."),
    ("webhooks.cli", "webhooks", "Inbound callback receipts: status, and replaying failed ones."),
]


def main() -> None:
    try:
        _register()
        app()
    except SettingsError as exc:
        fail(str(exc))
    except KeyboardInterrupt:
        sys.exit(130)


__all__ = ["app", "main", "console"]
