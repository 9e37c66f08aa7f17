"""Writes chalicelib/adapters/models/: the installed botocore's service models cut down to the operations
chalicelib/adapters/service_models.OPERATIONS lists, with the shapes they reach and no documentation.

    python -m devtools.service_models          # (re)write the folder
    python -m devtools.service_models --check  # exit 1 when the folder is not what it would write

Run it after changing OPERATIONS or upgrading botocore; tests/unit/test_service_models.py runs
the check."""

from __future__ import annotations

import argparse
import json
import shutil
import sys
from pathlib import Path
from typing import Any

from botocore.loaders import Loader

from chalicelib.adapters.service_models import MODELS_DIR, OPERATIONS

# Keys of a model that only documentation and SDK code generators read.
_DROPPED_KEYS = frozenset({"documentation", "documentationUrl"})


def trimmed_models() -> dict[Path, str]:
    """Relative path (service/api-version/service-2.json) -> file text, from botocore's own data."""
    loader = Loader()  # botocore's data only: never our folder, nor ~/.aws/models
    loader.search_paths[:] = [loader.BUILTIN_DATA_PATH]
    files: dict[Path, str] = {}
    for service, operations in sorted(OPERATIONS.items()):
        version = loader.determine_latest_version(service, "service-2")
        model = loader.load_service_model(service, "service-2", version)
        files[Path(service, version, "service-2.json")] = _dumps(trim(model, operations))
    return files


def trim(model: dict[str, Any], operations: tuple[str, ...]) -> dict[str, Any]:
    """The model with only `operations` and the shapes their input, output and errors reach."""
    missing = [op for op in operations if op not in model["operations"]]
    if missing:
        raise KeyError(f"{model['metadata']['serviceId']} has no operation {', '.join(missing)}")
    shapes = model["shapes"]
    kept: set[str] = set()
    stack: list[str] = []
    for op in operations:
        spec = model["operations"][op]
        stack.extend(spec[k]["shape"] for k in ("input", "output") if k in spec)
        stack.extend(error["shape"] for error in spec.get("errors", ()))
    while stack:
        name = stack.pop()
        if name in kept:
            continue
        kept.add(name)
        shape = shapes[name]
        stack.extend(shape[k]["shape"] for k in ("member", "key", "value") if k in shape)
        stack.extend(member["shape"] for member in shape.get("members", {}).values())
    trimmed = {key: value for key, value in model.items() if key not in {"operations", "shapes"} | _DROPPED_KEYS}
    trimmed["operations"] = {op: model["operations"][op] for op in sorted(operations)}
    trimmed["shapes"] = {name: shapes[name] for name in sorted(kept)}
    return _without_documentation(trimmed)


def _without_documentation(node: Any) -> Any:
    if isinstance(node, dict):
        return {k: _without_documentation(v) for k, v in node.items() if k not in _DROPPED_KEYS}
    if isinstance(node, list):
        return [_without_documentation(v) for v in node]
    return node


def _dumps(model: dict[str, Any]) -> str:
    # One key per line: a botocore upgrade shows as a readable diff.
    return json.dumps(model, indent=1, sort_keys=True) + "\n"


def written(folder: Path = MODELS_DIR) -> dict[Path, str]:
    """What the folder holds now (relative path -> text)."""
    if not folder.is_dir():
        return {}
    return {p.relative_to(folder): p.read_text(encoding="utf-8") for p in sorted(folder.rglob("*.json"))}


def write(folder: Path = MODELS_DIR) -> list[Path]:
    files = trimmed_models()
    if folder.exists():
        shutil.rmtree(folder)
    for relative, text in files.items():
        target = folder / relative
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(text, encoding="utf-8")
    return sorted(files)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--check", action="store_true", help="exit 1 when the folder is out of date")
    args = parser.parse_args(argv)
    if args.check:
        stale = sorted(set(written().items()) ^ set(trimmed_models().items()))
        for relative in sorted({path for path, _ in stale}):
            print(f"out of date: chalicelib/adapters/models/{relative}", file=sys.stderr)
        return 1 if stale else 0
    for relative in write():
        print(f"wrote chalicelib/adapters/models/{relative}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
