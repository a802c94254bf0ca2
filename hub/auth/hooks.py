"""What authentication asks of the layers above it, without importing them (filled in ``hub/package.py``)."""

from hub.hooks import Hook

# (request) -> Principal | None: a signed-in staff page's session, accepted instead of a key for reads.
session_principal = Hook("auth.session_principal")
