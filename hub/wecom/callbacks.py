"""Applying WeCom callbacks that were verified, decrypted, deduplicated and stored as receipts.

``handle`` is called by the receipt job (webhooks/wecom/jobs.py) outside any transaction; it opens its
own and must be idempotent: a receipt processed again (a retry after a crash) changes nothing twice.
"""

from __future__ import annotations


async def handle(fields: dict[str, str], *, receipt_id: int) -> str:
    """Apply one callback's fields (the decrypted XML's elements); return a short outcome for the receipt."""
    event = fields.get("Event", "")
    change = fields.get("ChangeType", "")
    return f"ignored: {event}/{change}"
