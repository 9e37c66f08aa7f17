"""Gaps: the unit launch-hygiene and environment-drift report in.

One finding per instance per check (the finding id is account/region/check/instance), so an
instance with several gaps gets one finding that lists all of them, at the severity of the worst.
Facts that could not be read are "not checked": they never make a gap, and never let a finding
resolve (an instance with no gap but something unchecked is not evaluated)."""

from __future__ import annotations

import functools
import sys
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Any

from chalicelib.model import CheckName, Finding, Instance, Severity


@dataclass(frozen=True)
class Gap:
    rule: str  # stable key, e.g. "imdsv1-allowed"; public in the finding details
    severity: Severity
    label: str  # a few words for the title
    text: str  # the full sentence for the description
    remediation: str
    details: Mapping[str, Any] = field(default_factory=dict)

    def as_dict(self) -> Mapping[str, Any]:
        items = (("rule", self.rule), ("severity", self.severity.value), ("text", self.text), *self.details.items())
        if all(isinstance(value, _SCALARS) for _, value in items):
            return _shared_gap(items)
        return dict(items)


_SCALARS = (str, int, float, bool, type(None))


@functools.lru_cache(maxsize=512)
def _shared_gap(items: tuple[tuple[str, Any], ...]) -> Mapping[str, Any]:
    """One read-only mapping for a gap that thousands of instances share word for word (IMDSv1
    allowed, the same tags missing): 10,000 copies would hold ~3 MB (bench/: 128 MB Lambda)."""
    return MappingProxyType(dict(items))


def ordered(gaps: Iterable[Gap]) -> list[Gap]:
    return sorted(gaps, key=lambda g: (-g.severity.rank, g.rule, g.text))


def gaps_finding(
    check: CheckName,
    instance: Instance,
    gaps: Iterable[Gap],
    *,
    headline: str,
    lead: str = "",
    not_checked: Iterable[str] = (),
    extra: Mapping[str, Any] | None = None,
) -> Finding:
    listed = ordered(gaps)
    worst = listed[0].severity
    name = f" ({instance.name})" if instance.name else ""
    others = [label for label in dict.fromkeys(g.label for g in listed) if label != headline]
    tail = f": {', '.join(others)}" if others else ""
    unchecked = list(not_checked)
    description = "; ".join(g.text for g in listed) + "."
    description = lead + description if lead else description[0].upper() + description[1:]
    if unchecked:
        description += " " + "; ".join(u[0].upper() + u[1:] for u in unchecked) + "."
    return Finding(
        check=check,
        resource_id=instance.id,
        account=instance.account,
        region=instance.region,
        severity=worst,
        title=f"{worst.value.title()}: {headline} on {instance.id}{name}{tail}",
        description=description,
        # Shared: thousands of findings have the same gaps and so the same remediation text.
        remediation=sys.intern(" ".join(dict.fromkeys(g.remediation for g in listed))),
        details={**(extra or {}), "gaps": [g.as_dict() for g in listed], "not_checked": unchecked},
    )
