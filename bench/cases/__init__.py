"""The benchmark cases: one module per benchmark, each registering itself with ``@case``.

A case is a function ``(bench: Bench) -> list[Figure]``. It uses ``bench.hub`` (the running hub, its
ops key, ``get``/``has_path``), starts what it compares against with ``bench.start_baseline(...)``, measures
with ``bench.compare(...)`` and may add lines under the table with ``bench.note(...)``. Example::

    from bench.cases import case

    @case("orders-list", "Listing orders")
    def orders_list(bench):
        response = bench.hub.get("/api/v1/orders?limit=50")
        ...
        return bench.compare(label="GET /api/v1/orders?limit=50", ...)

Modules are found by name: a new file here is picked up without editing anything else.
"""

from __future__ import annotations

import importlib
import pkgutil
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from bench.harness import Bench, Figure


@dataclass(frozen=True)
class Case:
    name: str
    title: str
    run: Callable[[Bench], list[Figure]]


CASES: dict[str, Case] = {}


def case(name: str, title: str):
    """Register the decorated function as the benchmark ``name`` (run in module order by name)."""

    def register(fn: Callable[[Bench], list[Figure]]) -> Callable[[Bench], list[Figure]]:
        if name in CASES:
            raise ValueError(f"two benchmarks are named {name!r}")
        CASES[name] = Case(name=name, title=title, run=fn)
        return fn

    return register


def discover() -> dict[str, Case]:
    """Import every module of this package, so each registers its cases."""
    for info in sorted(pkgutil.iter_modules(__path__), key=lambda m: m.name):
        if not info.name.startswith("_"):
            importlib.import_module(f"{__name__}.{info.name}")
    return CASES
