"""Findings ordered by instance: each instance's findings together, the instance with the worst
finding first, and its findings worst first. Used by the CLI's `--group-by instance`. Pure."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from chalicelib.model import Severity

_RANK = {s.value: s.rank for s in Severity}


def by_instance(findings: Iterable[Mapping[str, Any]]) -> list[Mapping[str, Any]]:
    """The report's finding dicts regrouped; nothing is dropped or changed."""
    groups: dict[str, list[Mapping[str, Any]]] = {}
    for f in findings:
        groups.setdefault(str(f["resource_id"]), []).append(f)
    for items in groups.values():
        items.sort(key=lambda f: (-_RANK.get(str(f["severity"]), 0), str(f["check"])))
    ordered = sorted(groups.items(), key=lambda kv: (-_RANK.get(str(kv[1][0]["severity"]), 0), kv[0]))
    return [f for _, items in ordered for f in items]
