"""ARCHITECTURE §2's package rules and the hub's layering, checked on the source with ``ast``.

Every ``import`` counts wherever it stands: at the top, inside a function, under ``if TYPE_CHECKING:`` (a
type-only import still ties the two packages' changes together). A package's ``package.py`` counts its
``"module:attribute"`` strings as imports too, since the wiring imports them for it.

Migrations are not exempt but have their own rule: a migration is a frozen snapshot of the one Tortoise app
"hub", which holds every package's tables, so it may import the declared model modules (for their enums)
and nothing else outside the hub.

Inside the hub, a sub-package's *edge* modules (the routers, command groups, job modules and start-up
hooks its declaration names, and the wiring: ``hub.app``, ``hub.cli``, ``hub.package``) are the top: they
may import any sub-package's core, and no core imports an edge. The cores form a DAG; a lower layer calls a
higher one only through a hook (``hub.hooks``) that the higher layer fills from its declaration.
"""

from __future__ import annotations

import ast
import re
from collections import defaultdict
from collections.abc import Iterable
from pathlib import Path
from typing import NamedTuple

from hub import packages

ROOT = Path(__file__).resolve().parents[1]
TOP = packages.PACKAGES

# What each top-level package may import from the others; its own package, stdlib and libraries always.
# A name allows that module and everything under it.
MAY_IMPORT: dict[str, tuple[str, ...]] = {
    "hub": (),
    # hub.database: a connector may keep plumbing tables of its own (WeCom's access token, without Redis).
    # hub.packages: every package's package.py builds its declaration with it.
    "connectors": ("hub.settings", "hub.jobs", "hub.database", "hub.packages"),
    "coupons": ("hub",),
    "storefront": ("hub", "coupons", "connectors"),
    "webhooks": ("hub", "connectors"),
}

# Known crossings, each with its reason; the list only shrinks. (importer prefix, imported prefix)
ALLOWED_CROSSINGS: dict[tuple[str, str], str] = {
    ("hub.wecom", "connectors.wecom"): "the WeCom domain calls its connector (client, typed errors); "
    "data leaves through a connector and the connector never imports the domain",
    ("hub.staffweb", "connectors.wecom.errors"): "WeCom sign-in tells a WeCom failure from a bad code",
    ("coupons.reminders", "connectors.wecom.errors"): "expiry reminders retry WeCom's transient errors",
}

WIRING = frozenset({"hub.app", "hub.cli", "hub.cli.ops", "hub.package"})
_EDGE_NAME = re.compile(r"^(api|cli)$|_(api|cli)$")
_REFERENCE = re.compile(r"^(?:{})(?:\.\w+)*(?::[\w.]+)?$".format("|".join(TOP)))


class Import(NamedTuple):
    source: str
    target: str
    line: int


def _covers(prefix: str, module: str) -> bool:
    return module == prefix or module.startswith(prefix + ".")


def imports_in(module: str, text: str, *, is_package: bool, known: frozenset[str] = frozenset()) -> list[Import]:
    """Every import of ``module`` (source ``text``); ``from a import b`` names ``a.b`` when that is a module."""
    tree = ast.parse(text)
    found: list[Import] = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found += [Import(module, alias.name, node.lineno) for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                parts = module.split(".") if is_package else module.split(".")[:-1]
                parts = parts[: len(parts) - (node.level - 1)]
                base = ".".join(parts + ([node.module] if node.module else []))
            names = [f"{base}.{alias.name}" for alias in node.names if f"{base}.{alias.name}" in known]
            found += [Import(module, name, node.lineno) for name in names or [base]]
        elif module.endswith(".package") and isinstance(node, ast.Constant) and isinstance(node.value, str):
            if _REFERENCE.match(node.value):
                found.append(Import(module, node.value.partition(":")[0], node.lineno))
    return found


def source_modules() -> dict[str, Path]:
    modules = {}
    for top in TOP:
        for path in (ROOT / top).rglob("*.py"):
            parts = list(path.relative_to(ROOT).with_suffix("").parts)
            if parts[-1] == "__init__":
                parts.pop()
            modules[".".join(parts)] = path
    return modules


def all_imports() -> list[Import]:
    modules = source_modules()
    known = frozenset(modules)
    found = []
    for module, path in modules.items():
        found += imports_in(module, path.read_text(), is_package=path.name == "__init__.py", known=known)
    return [i for i in found if i.target.split(".")[0] in TOP]


def package_violations(imports: Iterable[Import], *, model_modules: Iterable[str]) -> list[str]:
    """Imports across top-level packages that §2 does not allow (and that are not a listed crossing)."""
    model_modules = tuple(model_modules)
    bad = []
    for i in imports:
        source_top, target_top = i.source.split(".")[0], i.target.split(".")[0]
        if source_top == target_top:
            continue
        if _covers("hub.migrations", i.source):
            if not any(_covers(m, i.target) for m in model_modules):
                bad.append(f"{i.source}:{i.line} imports {i.target} (a migration imports only model modules)")
            continue
        if any(_covers(allowed, i.target) for allowed in MAY_IMPORT[source_top]):
            continue
        if any(_covers(s, i.source) and _covers(t, i.target) for s, t in ALLOWED_CROSSINGS):
            continue
        bad.append(f"{i.source}:{i.line} imports {i.target}")
    return bad


def edge_modules(declared: Iterable[packages.Package], modules: Iterable[str]) -> frozenset[str]:
    """The hub modules at the top: what the declarations mount, run or list, the wiring, and by the layout's
    names (CONTRIBUTING) the routers and commands those include: ``api``, ``*_api``, ``cli``, ``*_cli``."""
    edges = set(WIRING)
    for package in declared:
        edges |= {r.module for r in package.routers} | {c.module for c in package.commands} | set(package.jobs)
        edges |= {ref.partition(":")[0] for ref in (*package.on_startup, *package.on_shutdown)}
    edges |= {m for m in modules if _EDGE_NAME.search(m.rpartition(".")[2])}
    return frozenset(m for m in edges if _covers("hub", m))


def layer_of(module: str) -> str | None:
    """``hub.codes.service`` → ``hub.codes``; None outside the hub's layers (other packages, migrations)."""
    parts = module.split(".")
    if parts[0] != "hub" or len(parts) < 2 or parts[1] == "migrations":
        return None
    if parts[1] == "cli" and module not in WIRING:
        return "hub.cli.common"  # the plumbing every command uses, apart from the wiring that gathers them
    return ".".join(parts[:2])


def hub_layer_problems(imports: Iterable[Import], *, edges: frozenset[str]) -> list[str]:
    """Cores importing edges, and cycles between the cores of hub's sub-packages (one line per edge in one)."""
    problems = []
    graph: dict[str, dict[str, list[Import]]] = defaultdict(lambda: defaultdict(list))
    for i in imports:
        if i.source in edges or layer_of(i.source) is None:
            continue
        if i.target in edges:
            problems.append(f"{i.source}:{i.line} imports the edge module {i.target}")
            continue
        source, target = layer_of(i.source), layer_of(i.target)
        if target is not None and source != target:
            graph[source][target].append(i)
    for component in _strongly_connected(graph):
        for source in sorted(component):
            for target in sorted(set(graph[source]) & component):
                where = ", ".join(f"{i.source}:{i.line}" for i in graph[source][target])
                problems.append(f"cycle {sorted(component)}: {source} -> {target} ({where})")
    return problems


def _strongly_connected(graph: dict[str, dict[str, list[Import]]]) -> list[set[str]]:
    """Tarjan's components with more than one member (each holds a cycle)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    components: list[set[str]] = []

    def visit(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        for successor in graph.get(node, {}):
            if successor not in index:
                visit(successor)
                low[node] = min(low[node], low[successor])
            elif successor in stack:
                low[node] = min(low[node], index[successor])
        if low[node] == index[node]:
            component = set()
            while True:
                member = stack.pop()
                component.add(member)
                if member == node:
                    break
            if len(component) > 1:
                components.append(component)

    for node in list(graph):
        if node not in index:
            visit(node)
    return components


# ---- the rules on this repository ---------------------------------------------------------------------------


def test_packages_import_only_what_architecture_allows():
    assert package_violations(all_imports(), model_modules=packages.model_modules()) == []


def test_hub_sub_packages_form_layers_without_cycles():
    assert hub_layer_problems(all_imports(), edges=edge_modules(packages.declarations(), source_modules())) == []


def test_every_listed_crossing_is_still_needed():
    imports = all_imports()
    for source, target in ALLOWED_CROSSINGS:
        assert any(_covers(source, i.source) and _covers(target, i.target) for i in imports), (source, target)


def test_every_package_declares_itself():
    assert [p.name for p in packages.declarations()] == list(TOP)


# ---- the checks themselves fail on a violation ------------------------------------------------------------


def _imports(**sources: str) -> list[Import]:
    """Imports of made-up modules: ``hub__codes__service="from hub.wecom import x"``."""
    found = []
    for name, text in sources.items():
        module = name.replace("__", ".")
        found += imports_in(module, text, is_package=False, known=frozenset({"hub.wecom.contactways"}))
    return [i for i in found if i.target.split(".")[0] in TOP]


class TestTheChecksCatchViolations:
    def test_the_hub_importing_another_package_is_reported(self):
        bad = package_violations(_imports(hub__app="from storefront.coupons.pages import router"), model_modules=())
        assert bad == ["hub.app:1 imports storefront.coupons.pages"]

    def test_an_import_under_type_checking_counts(self):
        text = "from typing import TYPE_CHECKING\nif TYPE_CHECKING:\n    from coupons.models import CouponBatch\n"
        bad = package_violations(_imports(hub__wecom__contactways=text), model_modules=())
        assert bad == ["hub.wecom.contactways:3 imports coupons.models"]

    def test_a_string_in_a_declaration_counts(self):
        text = 'PACKAGE = Package(name="coupons", routers=(Router("storefront.gifts.pages"),))'
        assert package_violations(_imports(coupons__package=text), model_modules=()) == [
            "coupons.package:1 imports storefront.gifts.pages"]

    def test_a_connector_importing_the_domain_is_reported(self):
        bad = package_violations(_imports(connectors__wecom__client="import hub.codes.models"), model_modules=())
        assert bad == ["connectors.wecom.client:1 imports hub.codes.models"]

    def test_a_migration_may_import_model_modules_only(self):
        imports = _imports(hub__migrations__0009_x="from coupons.models import BatchStatus\nimport coupons.api")
        assert package_violations(imports, model_modules=["coupons.models"]) == [
            "hub.migrations.0009_x:2 imports coupons.api (a migration imports only model modules)"]

    def test_a_cycle_between_sub_packages_is_reported(self):
        imports = _imports(
            hub__codes__service="from hub.wecom import contactways",
            hub__wecom__contactways="from hub.codes.models import Code",
        )
        problems = hub_layer_problems(imports, edges=frozenset())
        assert problems == [
            "cycle ['hub.codes', 'hub.wecom']: hub.codes -> hub.wecom (hub.codes.service:1)",
            "cycle ['hub.codes', 'hub.wecom']: hub.wecom -> hub.codes (hub.wecom.contactways:1)",
        ]

    def test_an_edge_importing_cores_is_no_cycle_but_a_core_importing_an_edge_is_reported(self):
        imports = _imports(
            hub__codes__api="from hub.wecom.contactways import view",
            hub__wecom__contactways="from hub.codes.models import Code\nfrom hub.codes.api import router",
        )
        assert hub_layer_problems(imports, edges=frozenset({"hub.codes.api"})) == [
            "hub.wecom.contactways:2 imports the edge module hub.codes.api"]
