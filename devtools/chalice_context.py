"""Chalice's test client gives every invocation a context with 3,000 ms to live, whatever the
stage's lambda_timeout says; Lambda gives the configured timeout. ec2-warden budgets its AWS calls
from that remaining time, so the demo and the tests restore Lambda's behaviour here."""

from __future__ import annotations

import json
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import chalice.test


def stage_timeout_ms(project_dir: Path, stage: str) -> int:
    config = json.loads((project_dir / ".chalice" / "config.json").read_text())
    seconds = config.get("stages", {}).get(stage, {}).get("lambda_timeout", config.get("lambda_timeout", 60))
    return int(seconds) * 1000


@contextmanager
def lambda_timeout(project_dir: Path, stage: str) -> Iterator[None]:
    original = chalice.test.LambdaContext
    timeout_ms = stage_timeout_ms(project_dir, stage)

    def with_timeout(*args: Any, **kwargs: Any) -> Any:
        kwargs.setdefault("max_runtime_ms", timeout_ms)
        return original(*args, **kwargs)

    chalice.test.LambdaContext = with_timeout  # type: ignore[misc, assignment]
    try:
        yield
    finally:
        chalice.test.LambdaContext = original  # type: ignore[misc]
