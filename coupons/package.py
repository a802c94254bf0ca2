"""What the coupons package contributes to the hub (see ``hub.packages``)."""

from hub.packages import Commands, Fill, Package, Router

PACKAGE = Package(
    name="coupons",
    routers=(
        Router("coupons.api"),
        Router("coupons.app_api"),
        Router("coupons.issue_runs_api"),
        Router("coupons.partner_codes_api"),
        Router("coupons.reminders_api"),
        Router("coupons.store_api"),
        Router("coupons.reconciliation.api"),
    ),
    models=("coupons.models", "coupons.reconciliation.models"),
    jobs=("coupons.jobs", "coupons.issue_runs"),
    commands=(
        Commands("coupons.cli", "coupons", "Coupons: reconcile settlement files, load partner codes, demo coupons."),
    ),
    hooks=(Fill("hub.wecom.hooks:check_welcome_coupon_batch", "coupons.welcome:check_welcome_batch"),),
)
