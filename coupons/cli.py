"""``hub coupons``: reconcile a settlement file, load an equity batch's partner codes, and the demo's coupons."""

from __future__ import annotations

import typer

from coupons.partner_codes import cli as partner_codes_cli
from coupons.reconciliation.cli import reconcile
from hub.cli.common import console, run

app = typer.Typer(no_args_is_help=True)
app.command()(reconcile)
app.add_typer(partner_codes_cli.app, name="partner-codes",
              help="Equity batches: load the partner's codes, see the pool.")


@app.command()
def demo() -> None:
    """Coupons for the demo province (after ``hub demo-data``): four batches, claims, an issued coupon,
    redemptions with a cancel and a return, and the demo WeCom codes offering the welcome coupon.
    Running it again changes nothing."""
    from rich.table import Table

    from coupons.demo import load_demo_coupons

    made = run(load_demo_coupons)
    table = Table(title="Demo coupon batches")
    for column in ("id", "name", "kind", "status", "issued / stock"):
        table.add_column(column, no_wrap=True)
    for batch in made.batches:
        table.add_row(str(batch.id), batch.name, batch.kind.value, batch.status.value,
                      f"{batch.issued_count} / {batch.total_quantity}")
    console.print(table)
    for label, url in (("A claimed coupon (QR + barcode)", made.claimed_page),
                       ("An equity coupon with its partner code", made.equity_page),
                       ("A coupon issued by an offer, to claim", made.issued_page),
                       ("A customer's claim link", made.claim_link)):
        console.print(f"  {label}: {url}", highlight=False, soft_wrap=True)
    if made.wecom_codes:
        console.print(f"  The {made.wecom_codes} demo WeCom contact-me codes offer 「{made.batches[0].name}」 in their "
                      "greeting: simulate an add and the welcome carries the customer's claim link.", highlight=False)
