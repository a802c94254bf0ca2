"""What each top-level package contributes, and the one list that wires them.

Every package declares its contributions once, in its own ``package.py``, as a ``Package`` named
``PACKAGE``: routers and where they mount, model modules, job modules, CLI command groups, start-up and
shut-down hooks, and the hooks it fills. The app factory, the Tortoise config (and so the migrations),
the job runners and the CLI read those declarations from ``PACKAGES``, by name: the hub imports no
other package, and a new contribution is one line in its own package.

References are ``"module"`` or ``"module:attribute"`` strings, imported when first needed, so reading a
declaration costs nothing and a CLI command does not import every router.
"""

from __future__ import annotations

import importlib
from collections.abc import Iterator
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

# The one list, in wiring order: routers mount, models load, commands list and hooks fill in this order.
PACKAGES: tuple[str, ...] = ("hub", "connectors", "coupons", "storefront", "webhooks")


class Mount(StrEnum):
    API = "api"  # under /api/v1, behind an API key
    ROOT = "root"  # at the root: pages, the public link, probes, inbound callbacks


@dataclass(frozen=True)
class Router:
    """A module exposing ``router``. ``hot`` routers are matched before the /api/v1 routes, whose ~90
    entries the router otherwise scans first: the public link, the probes, inbound callbacks."""

    module: str
    mount: Mount = Mount.API
    hot: bool = False


@dataclass(frozen=True)
class Commands:
    """A typer group: ``module`` exposes ``app``, shown as ``hub <name>``."""

    module: str
    name: str
    help: str


@dataclass(frozen=True)
class Fill:
    """Fill ``hook`` (``"module:attribute"`` of a ``hub.hooks.Hook``) with ``func`` (``"module:function"``)."""

    hook: str
    func: str


@dataclass(frozen=True)
class Package:
    """One package's contributions. Start-up and shut-down hooks are ``"module:function"`` coroutines:
    ``on_startup(settings)`` and ``on_shutdown()`` run in an API process (its lifespan); ``on_exit()``
    closes process-wide clients in every process that may have opened them (API and worker)."""

    name: str
    routers: tuple[Router, ...] = ()
    models: tuple[str, ...] = ()
    jobs: tuple[str, ...] = ()
    commands: tuple[Commands, ...] = ()
    on_startup: tuple[str, ...] = ()
    on_shutdown: tuple[str, ...] = ()
    on_exit: tuple[str, ...] = ()
    hooks: tuple[Fill, ...] = ()


def resolve(reference: str) -> Any:
    """``"module:attribute"`` to the attribute, ``"module"`` to the module."""
    module, _, attribute = reference.partition(":")
    loaded = importlib.import_module(module)
    return getattr(loaded, attribute) if attribute else loaded


def declarations(names: tuple[str, ...] | None = None) -> list[Package]:
    """Each listed package's declaration, in list order."""
    found = []
    for name in PACKAGES if names is None else names:
        package = importlib.import_module(f"{name}.package").PACKAGE
        if package.name != name:
            raise RuntimeError(f"{name}/package.py declares {package.name!r}")
        found.append(package)
    return found


def routers(*, mount: Mount, hot: bool | None = None) -> Iterator[Router]:
    for package in declarations():
        for router in package.routers:
            if router.mount == mount and (hot is None or router.hot == hot):
                yield router


def model_modules() -> list[str]:
    return [module for package in declarations() for module in package.models]


def job_modules() -> list[str]:
    return [module for package in declarations() for module in package.jobs]


def command_groups() -> list[Commands]:
    return [group for package in declarations() for group in package.commands]


async def run_startup(settings: Any) -> None:
    for package in declarations():
        for reference in package.on_startup:
            await resolve(reference)(settings)


async def run_shutdown() -> None:
    """Shut-down hooks in reverse list order, so a package stops before the packages it builds on."""
    for package in reversed(declarations()):
        for reference in package.on_shutdown:
            await resolve(reference)()


async def run_exit() -> None:
    for package in reversed(declarations()):
        for reference in package.on_exit:
            await resolve(reference)()


_hooks_filled = False


def fill_hooks() -> None:
    """Fill every declared hook once per process (``hub.hooks.Hook`` calls this on first use)."""
    global _hooks_filled
    if _hooks_filled:
        return
    for package in declarations():
        for fill in package.hooks:
            resolve(fill.hook).fill(resolve(fill.func))
    _hooks_filled = True
