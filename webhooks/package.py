"""What the webhooks package contributes: inbound callbacks, their receipts and jobs (see ``hub.packages``)."""

from hub.packages import Commands, Mount, Package, Router

PACKAGE = Package(
    name="webhooks",
    # Signed by WeCom, not under /api/v1 and without an API key; matched before the API's routes.
    routers=(Router("webhooks.wecom.api", Mount.ROOT, hot=True),),
    models=("webhooks.models",),
    jobs=("webhooks.wecom.jobs",),
    commands=(Commands("webhooks.cli", "webhooks", "Inbound callback receipts: status, and replaying failed ones."),),
)
