"""What the codes service tells the layers above it, without importing them (filled in ``hub/package.py``).

The WeCom side keeps a contact way behind a contact-me code; the public link caches codes. Both build
on codes, so codes call them through these hooks.
"""

from hub.hooks import Hook

# (code, store, staff): a wecom_contact code without a target URL was made; its contact way is wanted.
contact_way_wanted = Hook("codes.contact_way_wanted")
# (code_id) -> bool: the hub keeps this code's target itself (a contact way), so no one may set it.
target_kept_by_hub = Hook("codes.target_kept_by_hub")
# (code_id): the code was disabled / enabled again, inside the change's transaction.
code_disabled = Hook("codes.code_disabled")
code_enabled = Hook("codes.code_enabled")
# (code_id): a change to the code has committed (caches drop it).
code_committed = Hook("codes.code_committed")
