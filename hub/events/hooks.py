"""What attribution asks of the layers above it, without importing them (filled in ``hub/package.py``)."""

from hub.hooks import Hook

# (token) -> Attribution | None: the attribution a signed link token carries (the public link signs them).
verify_attribution_token = Hook("events.verify_attribution_token")
