"""What the connectors contribute: the WeCom token table and the sandbox command (see ``hub.packages``)."""

from hub.packages import Commands, Package

PACKAGE = Package(
    name="connectors",
    models=("connectors.wecom.models",),
    commands=(
        Commands("connectors.wecom.sandbox.cli", "sandbox",
                 "Sandboxes of the outside systems (WeCom) for the demo and tests."),
    ),
)
