"""Staff pages inside WeCom: sign-in through WeCom's web sign-in (OAuth2), a signed session cookie, and the
staff home (my codes, my store's codes, this week's customers; the store's staff for managers).

The session carries the same roles and store scope as API keys, so it also authorises the API's reads
(``hub.auth.deps.current_key``): the pages show QR images straight from ``/api/v1/codes/{id}/qr.png``.
"""
