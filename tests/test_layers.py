"""The packages of app/ form layers: a domain imports the shared modules and the domains
below it, never one above; the shared modules import no domain (README, Layout).
Imports are read from the source, those inside functions included."""

import ast
from collections.abc import Iterator
from graphlib import CycleError, TopologicalSorter
from pathlib import Path

APP = Path(__file__).resolve().parent.parent / "app"
# Where the application is put together: they import every domain, none imports them.
ENTRY_POINTS = {"main", "cli", "models"}
# Bottom to top, as README draws them: a package may import those on its left only.
LAYERS = [
    ["journal"],
    ["auth"],
    ["idempotency"],
    ["sources", "terms", "countries"],
    ["councils"],
    ["sessions"],
    ["people", "topics"],
    ["search", "dataset", "audit", "relations"],
]


def _imports(path: Path) -> Iterator[str]:
    """The `app` modules a file imports, as dotted names."""
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            if node.module == "app":
                yield from (f"app.{alias.name}" for alias in node.names)
            elif node.module.startswith("app."):
                yield node.module
        elif isinstance(node, ast.Import):
            yield from (alias.name for alias in node.names if alias.name.startswith("app."))


def _unit(module: str) -> str:
    """The package (or shared module) a dotted name belongs to: `app.sessions.service`
    is `sessions`, `app.http` is `http`."""
    return module.split(".")[1]


def _graph() -> dict[str, set[str]]:
    graph: dict[str, set[str]] = {}
    for path in APP.rglob("*.py"):
        unit = path.relative_to(APP).parts[0].removesuffix(".py")
        graph.setdefault(unit, set()).update(
            _unit(module) for module in _imports(path) if _unit(module) != unit
        )
    return graph


DOMAINS = {path.name for path in APP.iterdir() if (path / "__init__.py").exists()} - {"data"}


def test_the_layers_name_every_domain() -> None:
    assert sorted(d for layer in LAYERS for d in layer) == sorted(DOMAINS)


def test_shared_modules_import_no_domain() -> None:
    graph = _graph()
    shared = set(graph) - DOMAINS - ENTRY_POINTS
    assert {"db", "http", "pagination", "json_sql", "middleware"} <= shared
    wrong = {unit: sorted(graph[unit] & DOMAINS) for unit in shared if graph[unit] & DOMAINS}
    assert wrong == {}


def test_domains_import_only_what_is_below_them() -> None:
    graph = _graph()
    level = {domain: i for i, layer in enumerate(LAYERS) for domain in layer}
    upward = {
        f"{domain} -> {other}"
        for domain in DOMAINS
        for other in graph[domain] & DOMAINS
        if level[other] >= level[domain]
    }
    assert upward == set()
    assert not any(graph[unit] & ENTRY_POINTS for unit in graph if unit not in ENTRY_POINTS)


def test_no_import_cycle() -> None:
    graph = _graph()
    try:
        tuple(TopologicalSorter({unit: graph[unit] & set(graph) for unit in graph}).static_order())
    except CycleError as cycle:
        raise AssertionError(f"import cycle: {' -> '.join(cycle.args[1])}") from None
