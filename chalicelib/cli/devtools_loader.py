"""The demo and the lab live in devtools/ (moto, a Slack sink, fleet seeding), which the Lambda
package does not hold: they are loaded by name when their command runs, so nothing in chalicelib
imports devtools (tests/unit/test_layers.py holds it)."""

from __future__ import annotations

import importlib
from typing import Any

from chalicelib.cli.failures import UsageError

DEMO = ("devtools.demo", "run_demo")
LAB = ("devtools.lab", "serve_lab")
_NEEDS = ("devtools", "moto", "boto3", "flask", "werkzeug")


def load(entry: tuple[str, str], command: str) -> Any:
    """The entry point of a devtools command, or a UsageError saying what is missing (exit 2)."""
    module, name = entry
    try:
        return getattr(importlib.import_module(module), name)
    except ModuleNotFoundError as exc:
        if (exc.name or "").split(".")[0] not in _NEEDS:
            raise
        raise UsageError(
            f"the {command} needs devtools/ and the dev requirements ({exc.name} is missing): run `make {command}` "
            "in a clone of the repository; the deployed package holds neither"
        ) from exc
