"""What the coupons package contributes to the hub (see ``hub.packages``)."""

from hub.packages import Commands, Fill, Package, Router

PACKAGE = Package(
    name="coupons",
    routers=(
        Router("coupons.batches.api"),
        Router("coupons.claims.api"),
        Router("coupons.issues.api"),
        Router("coupons.locks.api"),
        Router("coupons.redemptions.api"),
        Router("coupons.wallet.api"),
        Router("coupons.gifting.api"),
        Router("coupons.app.api"),
        Router("coupons.issue_runs.api"),
        Router("coupons.partner_codes.api"),
        Router("coupons.reminders.api"),
        Router("coupons.reconciliation.api"),
    ),
    models=(
        "coupons.models",
        "coupons.gifting.models",
        "coupons.partner_codes.models",
        "coupons.reminders.models",
        "coupons.issue_runs.models",
        "coupons.reconciliation.models",
    ),
    jobs=(
        "coupons.locks.jobs",
        "coupons.wallet.jobs",
        "coupons.gifting.jobs",
        "coupons.reminders.jobs",
        "coupons.issue_runs.service",
    ),
    commands=(
        Commands("coupons.cli", "coupons", "Coupons: reconcile settlement files, load partner codes, demo coupons."),
    ),
    hooks=(Fill("hub.wecom.hooks:check_welcome_coupon_batch", "coupons.welcome:check_welcome_batch"),),
)
