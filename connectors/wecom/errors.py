"""Typed WeCom errors: every non-zero ``errcode`` becomes one, so callers branch on classes, not numbers.

Error codes are the platform's (WECOM.md, "Calling the API"), except ``UNAVAILABLE``: the platform never
answers -2; the client raises it itself when WeCom could not be reached after its retries.
"""

from __future__ import annotations

from typing import ClassVar

BUSY = -1
UNAVAILABLE = -2  # ours: network error, timeout, 5xx or a body that is not JSON, after the retries


class WecomError(Exception):
    """A WeCom API call answered a non-zero errcode (or could not be made at all)."""

    errcodes: ClassVar[frozenset[int]] = frozenset()

    def __init__(self, errcode: int, errmsg: str, api: str) -> None:
        super().__init__(f"WeCom {api} failed: errcode {errcode}, {errmsg}")
        self.errcode = errcode
        self.errmsg = errmsg
        self.api = api


class WecomBusy(WecomError):
    """The platform is busy; retried with backoff before this is raised."""

    errcodes = frozenset({BUSY})


class WecomTokenInvalid(WecomError):
    """Bad secret (40001), invalid (40014) or expired (42001) access token, still failing after a refresh."""

    errcodes = frozenset({40001, 40014, 42001})


class WecomRateLimited(WecomError):
    """Frequency (45009) or concurrency (45033) limit hit, still hit after the backoff."""

    errcodes = frozenset({45009, 45033})


class WelcomeCodeUsed(WecomError):
    """The welcome code was already used, or its 20-second window is over."""

    errcodes = frozenset({41051})


class WecomNotFound(WecomError):
    """Unknown staff userid (60111), not an external contact (84061) or invalid external userid (40096)."""

    errcodes = frozenset({60111, 84061, 40096})


class WecomUnavailable(WecomError):
    """WeCom could not be reached, timed out or answered garbage, after the retries."""

    errcodes = frozenset({UNAVAILABLE})


_BY_ERRCODE = {
    code: cls
    for cls in (WecomBusy, WecomTokenInvalid, WecomRateLimited, WelcomeCodeUsed, WecomNotFound, WecomUnavailable)
    for code in cls.errcodes
}


def error_for(errcode: int, errmsg: str, api: str) -> WecomError:
    """The typed error for this errcode; the base class for codes without a class of their own."""
    return _BY_ERRCODE.get(errcode, WecomError)(errcode, errmsg, api)
