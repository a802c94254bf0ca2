from __future__ import annotations

from typing import Annotated

import typer

from hub.cli.common import console, fail, run, table_rows

app = typer.Typer(no_args_is_help=True)


@app.command("show")
def show(
    customer_id: Annotated[int | None, typer.Argument(min=1, max=2**63 - 1, help="The customer's id")] = None,
    phone: Annotated[str | None, typer.Option(help="Look up by mobile number (hashed, never stored)")] = None,
) -> None:
    """Show one customer: masked phone, identities and channel consents."""
    from hub.customers import service
    from hub.customers.schemas import CustomerOut
    from hub.errors import present

    if (customer_id is None) == (phone is None):
        fail("give a customer ID or --phone (one of them)")

    async def load() -> CustomerOut:
        if phone is not None:
            found = await service.find_by_phone(phone=phone)
            if found is None:
                raise service.CustomerNotFound("No customer has that phone number")
            return CustomerOut.of(found)
        return CustomerOut.of(await service.get_customer(
            customer_id=present(customer_id, "without --phone the id was given (checked above)")))

    c = run(load, with_queue=False)
    console.print(f"Customer {c.id} {c.display_name}".rstrip(), highlight=False)
    console.print(f"Phone: {c.phone_masked or '-'}", highlight=False)
    console.print(f"Do not disturb: {'yes' if c.do_not_disturb else 'no'}", highlight=False)
    if c.merged_into_id:
        console.print(f"Merged into customer {c.merged_into_id}", highlight=False)
    _table("Identities", [
        {"kind": i.kind, "value": i.value or i.masked or "(hash)", "verified": "yes" if i.verified else "no"}
        for i in c.identities
    ])
    _table("Channels", [
        {"channel": ch.channel, "consent": "yes" if ch.consent else "no",
         "do not disturb": "yes" if ch.do_not_disturb else "no", "source": ch.source}
        for ch in c.channels
    ])

def _table(title: str, rows: list[dict]) -> None:
    if rows:
        table_rows(rows, title=title)
    else:
        console.print(f"{title}: none")
