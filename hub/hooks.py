"""Hooks: how a lower layer calls a higher one (or another package) without importing it.

A hook is declared next to the code that calls it (``hub/codes/hooks.py``) and filled from the package
declarations (``Package.hooks``, see ``hub.packages``), so the caller names no module above it. Hooks are
filled on first use from the one list of packages: every entry point (app, worker, CLI, a test calling a
service directly) sees the same fillers without having to remember a wiring step.
"""

from __future__ import annotations

import inspect
from collections.abc import Callable
from typing import Any


class Hook:
    """One extension point: the layer that owns it calls it; declarations say which functions answer."""

    def __init__(self, name: str) -> None:
        self.name = name
        self._fillers: list[Callable[..., Any]] = []

    def fill(self, func: Callable[..., Any]) -> None:
        if func not in self._fillers:
            self._fillers.append(func)

    def fillers(self) -> list[Callable[..., Any]]:
        from hub.packages import fill_hooks  # plumbing beside this module; reads only declarations

        fill_hooks()
        return list(self._fillers)

    def only(self) -> Callable[..., Any] | None:
        """The one function answering this hook, or None when no declared package fills it."""
        fillers = self.fillers()
        if len(fillers) > 1:
            raise RuntimeError(f"hook {self.name} is filled {len(fillers)} times; it takes one function")
        return fillers[0] if fillers else None

    async def notify(self, **kwargs: Any) -> None:
        """Call every filler in declaration order (observers of a change), awaiting those that are async."""
        for func in self.fillers():
            result = func(**kwargs)
            if inspect.isawaitable(result):
                await result

    async def any(self, **kwargs: Any) -> bool:
        """True when any filler answers true (a question several packages may claim)."""
        for func in self.fillers():
            result = func(**kwargs)
            if inspect.isawaitable(result):
                result = await result
            if result:
                return True
        return False

    def __repr__(self) -> str:
        return f"Hook({self.name!r}, {len(self._fillers)} filler(s))"
