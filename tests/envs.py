"""Changing settings for one test: environment variables set, the cached settings reloaded, all restored."""

from __future__ import annotations

import os
from contextlib import contextmanager

from hub.settings import get_settings


@contextmanager
def settings_env(values: dict[str, str | None]):
    """Set (or unset, for None) environment variables and reload the cached settings; restore afterwards."""
    saved = {name: os.environ.get(name) for name in values}

    def apply(settings: dict[str, str | None]) -> None:
        for name, value in settings.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value
        get_settings.cache_clear()

    apply(values)
    try:
        yield
    finally:
        apply(saved)
