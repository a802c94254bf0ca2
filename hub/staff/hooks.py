"""What the staff service tells the layers above it, without importing them (filled in ``hub/package.py``)."""

from hub.hooks import Hook

# (staff_id): a staff member was deactivated, came back, moved store or got another WeCom account.
staff_changed = Hook("staff.staff_changed")
