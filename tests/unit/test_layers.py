"""Imports run downhill only: chalicelib's layers, bottom first, and the rules they keep.

Each module of chalicelib/ belongs to the layer of its longest prefix in LAYERS. A module may
import its own layer and the layers below it, never one above; no set of modules imports itself
round (no cycle, at module level, whatever the layers); the pure layers import no AWS SDK, no
adapter and nothing that does I/O. There is no list of exceptions: a new upward import or cycle
fails here, and the fix is to move code, not to add a name."""

from __future__ import annotations

import ast
from collections.abc import Iterable
from pathlib import Path

from tests.conftest import PROJECT_DIR

CHALICELIB = PROJECT_DIR / "chalicelib"

# Bottom first. A layer may import itself and what is below it.
LAYERS: tuple[tuple[str, ...], ...] = (
    # plain data, shared vocabulary (fanout.targets: the fan-out's targets and message codec, pure)
    ("chalicelib.model", "chalicelib.settings", "chalicelib.rules", "chalicelib.fanout.targets"),
    ("chalicelib.events",),  # event -> Scope, trust boundary
    ("chalicelib.checks",),  # Snapshot -> findings
    ("chalicelib.notify",),  # Slack payloads
    ("chalicelib.plan",),  # findings + lifecycle -> actions
    ("chalicelib.report",),  # JSON text, EMF metrics, sprawl census
    ("chalicelib.adapters",),  # clients, trimmed models, Security Hub, Slack, the log
    ("chalicelib.snapshot",),  # Scope -> Snapshot (reads)
    ("chalicelib.apply",),  # carries a plan out by mode, under leases
    ("chalicelib.pipeline",),  # the one flow
    ("chalicelib.runtime",),  # the Lambda side: handlers' flows, clients cache, time budget, tracing switch
    ("chalicelib.fanout",),  # organisation-wide sweeps
    ("chalicelib.cli", "chalicelib.__main__"),  # the command line
)
# Pure: import no AWS SDK, no adapter, nothing with I/O; read neither the clock nor the environment.
# settings is pure but for one thing, its purpose: load_settings reads the environment, lazily.
PURE = (
    "chalicelib.fanout.targets",
    "chalicelib.model",
    "chalicelib.settings",
    "chalicelib.rules",
    "chalicelib.events",
    "chalicelib.checks",
    "chalicelib.notify",
    "chalicelib.plan",
)
IO_PACKAGES = {
    "boto3",
    "botocore",
    "aws_lambda_powertools",
    "slack_sdk",
    "urllib.request",
    "http",
    "socket",
    "requests",
}
IO_PACKAGES |= {"requests", "subprocess", "time", "devtools", "moto", "chalicelib.adapters", "chalicelib.runtime"}


def _module_name(path: Path) -> str:
    parts = list(path.relative_to(PROJECT_DIR).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


MODULES: dict[str, Path] = {_module_name(p): p for p in sorted(CHALICELIB.rglob("*.py"))}


def _imports(module: str, path: Path | None = None) -> set[str]:
    """Every module named by an import in `module` (at any depth: a lazy import counts too)."""
    path = path or MODULES[module]
    package = module if path.name == "__init__.py" else module.rpartition(".")[0]
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            found.update(a.name for a in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                anchor = package.split(".")[: len(package.split(".")) - (node.level - 1)]
                base = ".".join([*anchor, *([base] if base else [])])
            found.add(base)
            found.update(f"{base}.{a.name}" for a in node.names if f"{base}.{a.name}" in MODULES)
    return found


def _internal(module: str) -> set[str]:
    return {m for m in _imports(module) if m in MODULES and m != module and m != "chalicelib"}


def _within(module: str, prefixes: Iterable[str]) -> bool:
    return any(module == p or module.startswith(p + ".") for p in prefixes)


def _layer(module: str) -> int:
    best = (-1, -1)
    for index, prefixes in enumerate(LAYERS):
        for prefix in prefixes:
            if (module == prefix or module.startswith(prefix + ".")) and len(prefix) > best[1]:
                best = (index, len(prefix))
    return best[0]


def test_every_module_has_a_layer():
    assert [m for m in MODULES if m != "chalicelib" and _layer(m) < 0] == []


def _graph() -> dict[str, set[str]]:
    # A submodule naming its own package (`from chalicelib.plan import ...` inside plan/) is left
    # out: Python has loaded the package first anyway. Any other back edge is a cycle.
    return {m: {i for i in _internal(m) if not m.startswith(i + ".")} for m in MODULES if m != "chalicelib"}


def _upward(graph: dict[str, set[str]]) -> list[str]:
    return [
        f"{m} (layer {_layer(m)}) imports {i} (layer {_layer(i)})"
        for m, deps in sorted(graph.items())
        for i in sorted(deps)
        if _layer(i) > _layer(m)
    ]


def _cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """The strongly connected components of more than one module (Tarjan)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    cycles: list[list[str]] = []

    def visit(v: str) -> None:
        index[v] = low[v] = len(index)
        stack.append(v)
        for w in graph.get(v, ()):
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in stack:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            component = []
            while True:
                w = stack.pop()
                component.append(w)
                if w == v:
                    break
            if len(component) > 1:
                cycles.append(sorted(component))

    for v in sorted(graph):
        if v not in index:
            visit(v)
    return cycles


def test_imports_run_downhill_only():
    assert _upward(_graph()) == []


def test_no_import_cycle():
    assert _cycles(_graph()) == []


def test_the_checks_see_an_upward_import_and_a_cycle():
    # the two tests above can fail: a rule importing the pipeline; model and environments importing each other
    graph = _graph()
    graph["chalicelib.rules.idle"] = graph["chalicelib.rules.idle"] | {"chalicelib.pipeline"}
    assert _upward(graph) == ["chalicelib.rules.idle (layer 0) imports chalicelib.pipeline (layer 9)"]
    graph["chalicelib.model"] = graph["chalicelib.model"] | {"chalicelib.rules.environments"}
    assert any({"chalicelib.model", "chalicelib.rules.environments"} <= set(c) for c in _cycles(graph))
    assert "chalicelib.model" in _graph()["chalicelib.settings"]  # the graph holds real edges


def test_pure_layers_import_no_io():
    offenders = []
    for m, path in MODULES.items():
        if not m.startswith(PURE):
            continue
        offenders += [f"{m} imports {i}" for i in _imports(m) if _within(i, IO_PACKAGES)]
        source = path.read_text(encoding="utf-8")
        needles = ["datetime.now(", "utcnow(", "time.time(", "open("]
        if m != "chalicelib.settings":
            needles += ["os.environ", "getenv("]
            offenders += [f"{m} imports os" for i in _imports(m) if i == "os"]
        offenders += [f"{m} uses {n}" for n in needles if n in source]
    assert offenders == []


def test_nothing_deployed_imports_devtools_or_moto():
    dev = {"devtools", "moto", "tests"}
    offenders = [f"{m} imports {i}" for m in MODULES for i in _imports(m) if _within(i, dev)]
    offenders += [f"app.py imports {i}" for i in _imports("app", PROJECT_DIR / "app.py") if _within(i, dev)]
    assert offenders == []
