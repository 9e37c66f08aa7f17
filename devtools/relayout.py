"""Lay chalicelib/ out by pipeline stage: move the flat modules into stage folders and rewrite every
reference to them, in one idempotent run.

    .venv/bin/python -m devtools.relayout           # move, rewrite, sort imports, format
    .venv/bin/python -m devtools.relayout --check   # say what a run would change; exit 1 if anything

What a run does, in order (each step finds nothing to do on a second run):
1. Every relative import inside chalicelib/ becomes absolute (`from ..model import X` in
   chalicelib/checks/idle.py -> `from chalicelib.model import X`), resolved where the file stands now.
2. Each row of MOVES whose old path still exists is `git mv`ed (a file somebody else changed moves
   with its changes); DIR_MOVES likewise; each new stage package gets an __init__.py holding only a
   docstring (nothing to import at cold start).
3. Every text file of the repository (all .py files, tracked or new, found by scanning, not by a
   list; plus the Markdown, YAML, TOML and requirements files) is rewritten:
   - `from chalicelib import entry` (a moved module imported as a name) -> `from chalicelib.runtime
     import entry`, aliased when the module's new name differs;
   - every dotted name `chalicelib.old[.rest]` -> `chalicelib.new[.rest]`, wherever it stands: import
     statements, `import chalicelib.x as y`, attribute chains, strings (monkeypatch and mock
     targets, module sets in tests, profiler keys in bench/), comments and prose;
   - every path `chalicelib/old.py` or `chalicelib/models/` -> its new path, and the path-join
     expressions `CHALICELIB / "old.py"` the meta-tests use.
4. `ruff check --select I --fix` and `ruff format` on the rewritten .py files (the import blocks
   change shape when relative imports become absolute).
5. It lists the flat modules left in chalicelib/ that the table does not place (a module another
   branch added): add a row to MOVES and run it again.

A module that is not moved keeps its name; `python -m chalicelib` and app.py's handlers are unchanged.
"""

from __future__ import annotations

import argparse
import ast
import re
import subprocess
import sys
import textwrap
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
PACKAGE = "chalicelib"

# The one table: old file -> new file (paths from the repository root).
MOVES: dict[str, str] = {
    # events/: event -> Scope, the only place that knows event shapes; the trust boundary
    "chalicelib/scope.py": "chalicelib/events/scope.py",
    "chalicelib/trust.py": "chalicelib/events/trust.py",
    # rules/: pure shared vocabulary
    "chalicelib/partitions.py": "chalicelib/rules/partitions.py",
    "chalicelib/environments.py": "chalicelib/rules/environments.py",
    "chalicelib/idle_rules.py": "chalicelib/rules/idle.py",
    "chalicelib/patch_tag.py": "chalicelib/rules/patch_tag.py",
    "chalicelib/asff.py": "chalicelib/rules/asff.py",
    "chalicelib/permissions.py": "chalicelib/rules/permissions.py",
    # plan/: pure, findings + lifecycle -> actions (plan.py becomes the package, same import name)
    "chalicelib/plan.py": "chalicelib/plan/__init__.py",
    "chalicelib/plan_idle.py": "chalicelib/plan/idle.py",
    "chalicelib/plan_patch.py": "chalicelib/plan/patch.py",
    "chalicelib/planning_actor.py": "chalicelib/plan/actor.py",
    "chalicelib/planning_exceptions.py": "chalicelib/plan/exceptions.py",
    "chalicelib/planning_owner.py": "chalicelib/plan/owner.py",
    "chalicelib/planning_supersede.py": "chalicelib/plan/supersede.py",
    # adapters/: I/O wrappers (clients, trimmed models, Security Hub, Slack, the log)
    "chalicelib/clients.py": "chalicelib/adapters/clients.py",
    "chalicelib/service_models.py": "chalicelib/adapters/service_models.py",
    "chalicelib/log.py": "chalicelib/adapters/log.py",
    "chalicelib/apply/securityhub.py": "chalicelib/adapters/securityhub.py",
    "chalicelib/apply/slack.py": "chalicelib/adapters/slack.py",
    # report/: what a run tells (JSON text, EMF metrics, sprawl census)
    "chalicelib/report_json.py": "chalicelib/report/json_stream.py",
    "chalicelib/metrics.py": "chalicelib/report/metrics.py",
    "chalicelib/sprawl.py": "chalicelib/report/sprawl.py",
    # fanout/: organisation-wide sweeps (targets + message codec, AWS calls, the worker's flow)
    "chalicelib/fanout.py": "chalicelib/fanout/targets.py",
    "chalicelib/fanout_aws.py": "chalicelib/adapters/fanout_aws.py",
    "chalicelib/fanout/aws.py": "chalicelib/adapters/fanout_aws.py",
    "chalicelib/fanout_entry.py": "chalicelib/fanout/worker.py",
    # runtime/: the Lambda side of a run (handlers' flows, clients cache, time budget, tracing switch)
    "chalicelib/entry.py": "chalicelib/runtime/entry.py",
    "chalicelib/tracing.py": "chalicelib/runtime/tracing.py",
    # member events: the flows that route an event to its account and run the pipeline there
    "chalicelib/events/dispatch.py": "chalicelib/runtime/dispatch.py",
    "chalicelib/events/batch_entry.py": "chalicelib/runtime/batch_entry.py",
    # who did it: the actor's facts are vocabulary every layer shares (model, ASFF, Slack)
    "chalicelib/events/actor.py": "chalicelib/rules/actor.py",
    # `report --from-securityhub` reads Security Hub: a command of the CLI, not a renderer
    "chalicelib/report/command.py": "chalicelib/cli/report_command.py",
}

# Data folders that move with the module that reads them (service_models.MODELS_DIR is __file__-relative).
DIR_MOVES: dict[str, str] = {
    "chalicelib/models": "chalicelib/adapters/models",
}

# Flat modules that stay at the top of chalicelib/ (the composition of the stages and shared data).
STAYS_FLAT = {"__init__.py", "__main__.py", "cli.py", "model.py", "settings.py", "pipeline.py"}

NEW_PACKAGES: dict[str, str] = {
    "chalicelib/events": "Events -> Scope: the only place that knows EventBridge and CloudTrail event shapes, "
    "and the trust boundary.",
    "chalicelib/rules": "Pure shared vocabulary: partitions, environments, idle and patch rules, ASFF, IAM "
    "permissions. No I/O, no clock, no environment.",
    "chalicelib/adapters": "All I/O: botocore clients and trimmed models, Security Hub, Slack, the log. "
    "Each takes its client as an argument.",
    "chalicelib/report": "What a run tells: the report as JSON text, EMF metrics, the sprawl census.",
    "chalicelib/fanout": "Organisation-wide sweeps: targets and the SQS message (pure), the AWS calls, the "
    "worker's flow.",
    "chalicelib/runtime": "The Lambda side of a run: the handlers' flows, the clients cache, the time budget, "
    "the tracing switch.",
}

TEXT_SUFFIXES = {".py", ".md", ".txt", ".yaml", ".yml", ".toml", ".cfg"}
SKIP_PARTS = {".git", ".venv", ".venv-bench", ".venv-checkov", "build", "node_modules", "__pycache__"}
SKIP_PREFIXES = ("tests/fixtures/", "chalicelib/models/", "chalicelib/adapters/models/")


def module_of(path: str) -> str:
    """chalicelib/plan/__init__.py -> chalicelib.plan; chalicelib/rules/idle.py -> chalicelib.rules.idle"""
    parts = path.removesuffix(".py").split("/")
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


RENAMES: dict[str, str] = {
    module_of(old): module_of(new) for old, new in MOVES.items() if module_of(old) != module_of(new)
}
NEW_MODULES: set[str] = {module_of(new) for new in MOVES.values()}
# An old module that became the package of its new name (chalicelib.fanout -> chalicelib.fanout.targets):
# once moved, the bare name means the package, so it is rewritten only in the run that moves it.
BECAME_PACKAGE: set[str] = {old for old, new in RENAMES.items() if new.startswith(old + ".")}
MOVED_NOW: set[str] = set()


def _longest_prefix(name: str, candidates: Iterable[str]) -> str | None:
    best = None
    for c in candidates:
        if (name == c or name.startswith(c + ".")) and (best is None or len(c) > len(best)):
            best = c
    return best


def remap(name: str) -> str:
    """The new dotted name for `name` (a module, or a module and attributes); unchanged when it
    names nothing moved or is already a new name (so a second run changes nothing)."""
    old = _longest_prefix(name, RENAMES)
    if old is None:
        return name
    new = _longest_prefix(name, NEW_MODULES | set(RENAMES.values()))
    if new is not None and len(new) > len(old):
        return name  # e.g. chalicelib.fanout.targets: already the new name of chalicelib.fanout
    if name == old and old in BECAME_PACKAGE and old not in MOVED_NOW:
        return name  # the package chalicelib.fanout, named after an earlier run
    return RENAMES[old] + name[len(old) :]


FILE_RENAMES = {old: new for old, new in MOVES.items() if old != new}


def remap_path(path: str) -> str:
    """chalicelib/idle_rules.py -> chalicelib/rules/idle.py; chalicelib/models/x -> chalicelib/adapters/models/x."""
    if path in FILE_RENAMES:
        return FILE_RENAMES[path]
    as_file = FILE_RENAMES.get(path + ".py", "")
    if as_file and not as_file.endswith("/__init__.py"):  # a module named by its path in prose
        return as_file.removesuffix(".py")
    for old, new in DIR_MOVES.items():
        if path == old or path.startswith(old + "/"):
            return new + path[len(old) :]
    return path


# --- step 1: relative imports -> absolute ---------------------------------------------------------

_FROM = re.compile(r"from\s+(\.+\s*[\w.]*)\s+import", re.S)


def _offsets(text: str) -> list[int]:
    starts = [0]
    for line in text.splitlines(keepends=True):
        starts.append(starts[-1] + len(line))
    return starts


def absolutize(text: str, module: str, is_package: bool) -> str:
    """Rewrite the relative imports of `module` (the file's dotted name) as absolute ones."""
    tree = ast.parse(text)
    starts = _offsets(text)
    lines = text.splitlines(keepends=True)
    here = module.split(".") if is_package else module.split(".")[:-1]
    edits = []
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and node.level:
            base = here[: len(here) - (node.level - 1)]
            absolute = ".".join([*base, *([node.module] if node.module else [])])
            start = _span(lines, starts, node)[0]
            m = _FROM.match(text, start)
            if m is None:
                raise SystemExit(f"relayout: cannot read the import at {module}:{node.lineno}")
            edits.append((m.start(1), m.end(1), absolute))
    for s, e, new in sorted(edits, reverse=True):
        text = text[:s] + new + text[e:]
    return text


# --- step 3: rewrite references -----------------------------------------------------------------

_DOTTED = re.compile(r"(?<![\w./])chalicelib(?:\.\w+)+")
_SLASHED = re.compile(r"(?<![\w./-])chalicelib(?:/\w+)+(?:\.py|/)?")
_JOINED = re.compile(r"(\bCHALICELIB\s*/\s*)([\"'])(\w+\.py)\2")


_FROM_ABS = re.compile(r"from\s+([\w.]+)\s+import", re.S)


def _span(lines: list[str], starts: list[int], node: ast.AST) -> tuple[int, int]:
    """Character offsets of a node (ast gives UTF-8 byte columns)."""
    start = starts[node.lineno - 1] + len(lines[node.lineno - 1].encode()[: node.col_offset].decode())
    end = starts[node.end_lineno - 1] + len(lines[node.end_lineno - 1].encode()[: node.end_col_offset].decode())
    return start, end


def _package_imports(text: str) -> list[tuple[ast.ImportFrom, int, int]]:
    tree = ast.parse(text)
    starts = _offsets(text)
    lines = text.splitlines(keepends=True)
    found = []
    for node in ast.walk(tree):
        if not (isinstance(node, ast.ImportFrom) and node.level == 0 and node.module):
            continue
        if node.module == PACKAGE or node.module.startswith(PACKAGE + "."):
            found.append((node, *_span(lines, starts, node)))
    return found


def rewrite_from_imports(text: str) -> str:
    """`from chalicelib import entry` (a moved module imported as a name) -> `from chalicelib.runtime
    import entry`; names of one statement that go to different packages become one statement each."""
    edits: list[tuple[int, int, str]] = []
    for node, start, end in _package_imports(text):
        module = node.module or ""
        if not any(f"{module}.{a.name}" in RENAMES for a in node.names):
            continue
        groups: dict[str, list[str]] = {}
        for a in node.names:
            full = f"{module}.{a.name}"
            if full in RENAMES:
                parent, _, leaf = RENAMES[full].rpartition(".")
            else:
                parent, leaf = remap(module), a.name
            bound = a.asname or a.name
            groups.setdefault(parent, []).append(leaf if leaf == bound else f"{leaf} as {bound}")
        indent = "\n" + " " * node.col_offset
        edits.append((start, end, indent.join(f"from {p} import {', '.join(i)}" for p, i in groups.items())))
    for s, e, new in sorted(edits, reverse=True):
        text = text[:s] + new + text[e:]
    return text


def protected_offsets(text: str) -> set[int]:
    """Where a package is imported for a submodule that has its new name already (`from
    chalicelib.fanout import worker`): that `chalicelib.fanout` is the package, not the old module."""
    out = set()
    for node, start, _end in _package_imports(text):
        subs = [f"{node.module}.{a.name}" for a in node.names]
        if any(s in NEW_MODULES for s in subs):
            m = _FROM_ABS.match(text, start)
            if m:
                out.add(m.start(1))
    return out


def rewrite_text(text: str, python: bool) -> str:
    protected: set[int] = set()
    if python:
        try:
            text = rewrite_from_imports(text)
            protected = protected_offsets(text)
        except SyntaxError:
            pass  # not parseable (a template, a fixture): the textual rules below still apply
    text = _DOTTED.sub(lambda m: m.group(0) if m.start() in protected else remap(m.group(0)), text)
    text = _SLASHED.sub(lambda m: remap_path(m.group(0)), text)

    def joined(m: re.Match[str]) -> str:
        new = remap_path(f"chalicelib/{m.group(3)}")
        parts = new.split("/")[1:]
        return m.group(1) + " / ".join(f"{m.group(2)}{p}{m.group(2)}" for p in parts)

    return _JOINED.sub(joined, text)


# --- the run -------------------------------------------------------------------------------------


@dataclass
class Run:
    check: bool
    changed: list[str]
    moved: list[str]

    def git(self, *args: str) -> str:
        return subprocess.run(["git", *args], cwd=ROOT, check=True, capture_output=True, text=True).stdout

    def files(self) -> list[str]:
        listed = self.git("ls-files", "--cached", "--others", "--exclude-standard").splitlines()
        out = []
        for rel in listed:
            p = Path(rel)
            if set(p.parts) & SKIP_PARTS or rel.startswith(SKIP_PREFIXES) or not (ROOT / rel).is_file():
                continue
            if (ROOT / rel).resolve() == Path(__file__).resolve():
                continue  # this table names the old modules on purpose
            if p.suffix in TEXT_SUFFIXES or p.name.startswith("requirements"):
                out.append(rel)
        return sorted(set(out))

    def write(self, rel: str, before: str, after: str) -> None:
        if after != before:
            self.changed.append(rel)
            if not self.check:
                (ROOT / rel).write_text(after, encoding="utf-8")

    def absolutize_all(self) -> None:
        for rel in self.files():
            if rel.startswith(PACKAGE + "/") and rel.endswith(".py"):
                text = (ROOT / rel).read_text(encoding="utf-8")
                self.write(rel, text, absolutize(text, module_of(rel), rel.endswith("__init__.py")))

    def move(self) -> None:
        for old, new in [*DIR_MOVES.items(), *MOVES.items()]:
            src, dst = ROOT / old, ROOT / new
            if not src.exists() or old == new:
                continue
            if dst.exists():
                raise SystemExit(f"relayout: both {old} and {new} exist; merge them by hand, then re-run")
            self.moved.append(f"{old} -> {new}")
            MOVED_NOW.add(module_of(old))
            if self.check:
                continue
            dst.parent.mkdir(parents=True, exist_ok=True)
            tracked = self.git("ls-files", old).strip()
            if tracked:
                self.git("mv", old, new)
                if src.exists():  # untracked leftovers (e.g. __pycache__) in a moved folder
                    for leftover in sorted(src.rglob("*"), reverse=True):
                        if leftover.is_file() and "__pycache__" in leftover.parts:
                            leftover.unlink()
            else:
                src.rename(dst)
        for folder, doc in NEW_PACKAGES.items():
            init = ROOT / folder / "__init__.py"
            if (ROOT / folder).is_dir() and not init.exists():
                self.changed.append(f"{folder}/__init__.py")
                if not self.check:
                    text = "\n".join(textwrap.wrap(f'"""{doc}"""', width=100))
                    init.write_text(text + "\n", encoding="utf-8")
                    self.git("add", str(init.relative_to(ROOT)))

    def rewrite_all(self) -> None:
        for rel in self.files():
            text = (ROOT / rel).read_text(encoding="utf-8")
            self.write(rel, text, rewrite_text(text, rel.endswith(".py")))

    def tidy(self) -> None:
        py = sorted({remap_path(r) for r in self.changed if r.endswith(".py")})
        py = [r for r in py if (ROOT / r).exists()]
        if self.check or not py:
            return
        ruff = [sys.executable, "-m", "ruff"]
        subprocess.run([*ruff, "check", "--quiet", "--select", "I", "--fix", *py], cwd=ROOT, check=False)
        subprocess.run([*ruff, "format", "--quiet", *py], cwd=ROOT, check=False)

    def unplaced(self) -> list[str]:
        flat = (ROOT / PACKAGE).glob("*.py")
        return sorted(p.name for p in flat if p.name not in STAYS_FLAT and f"{PACKAGE}/{p.name}" not in MOVES)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m devtools.relayout", description=__doc__.splitlines()[0])
    parser.add_argument("--check", action="store_true", help="change nothing; exit 1 when a run would change something")
    args = parser.parse_args(argv)
    run = Run(check=args.check, changed=[], moved=[])
    run.absolutize_all()
    run.move()
    if run.check and run.moved:
        print("\n".join(f"would move {m}" for m in run.moved))
        print("(the rewrite is shown after the moves: run without --check)")
        return 1
    run.rewrite_all()
    run.tidy()
    verb = "would change" if run.check else "changed"
    for m in run.moved:
        print(f"moved {m}")
    for rel in sorted({remap_path(r) for r in run.changed}):
        print(f"{verb} {rel}")
    for name in run.unplaced():
        print(f"NOT PLACED: chalicelib/{name} is in no row of devtools/relayout.py MOVES; add one and re-run")
    if not run.moved and not run.changed:
        print("relayout: nothing to do")
    return 1 if run.check and (run.changed or run.moved) else 0


if __name__ == "__main__":
    sys.exit(main())
