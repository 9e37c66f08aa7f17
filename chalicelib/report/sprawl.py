"""The sprawl census in the report: how many instances run, sit idle, carry a deadline or were stopped
by ec2-warden, or are in production, in total and by Environment and Owner tag. Pure: built from the
snapshot and results. The Environment tag and "production" are rules/environments.py's (ENVIRONMENT_TAG,
a key differing only in case included), the same every check uses.

Counts describe the fleet as the run found it (before this run's actions)."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from chalicelib.model import CheckName, CheckResult, Instance, Snapshot
from chalicelib.rules.environments import environment_label, is_production
from chalicelib.rules.idle import read_mark, stopped_by_warden
from chalicelib.rules.tags import is_protected, owner_of
from chalicelib.settings import Settings

UNTAGGED = "(untagged)"
OTHER = "(other)"
MAX_GROUPS = 25  # per tag: a fleet with 10,000 owners must not make a 10,000-row report
_COUNTS = ("instances", "running", "idle", "marked", "stopped_by_warden", "stopped_long", "production")


def sprawl_census(snapshot: Snapshot, results: Iterable[CheckResult], settings: Settings) -> dict[str, Any]:
    results = list(results)
    idle_ids = _failing(results, CheckName.IDLE)
    stopped_long_ids = _failing(results, CheckName.STOPPED_LONG)
    idle_result = next((r for r in results if r.check is CheckName.IDLE), None)

    def flags(instance: Instance) -> dict[str, bool]:
        return {
            "instances": True,
            "running": instance.state == "running",
            "idle": instance.state == "running" and instance.id in idle_ids,
            "marked": instance.state == "running" and read_mark(instance.tags) is not None,
            "stopped_by_warden": stopped_by_warden(instance),
            "stopped_long": instance.id in stopped_long_ids,
            "production": is_production(instance, settings),
        }

    totals = dict.fromkeys(_COUNTS, 0)
    by_env: dict[str, dict[str, int]] = {}
    by_owner: dict[str, dict[str, int]] = {}
    protected_idle = 0
    for instance in snapshot.instances:
        seen = flags(instance)
        for group in (
            by_env.setdefault(environment_label(instance, settings) or UNTAGGED, dict.fromkeys(_COUNTS, 0)),
            by_owner.setdefault(owner_of(instance.tags) or UNTAGGED, dict.fromkeys(_COUNTS, 0)),
            totals,
        ):
            for key, on in seen.items():
                group[key] += on
        protected_idle += seen["idle"] and is_protected(instance.tags)
    return {
        **totals,
        "idle_protected": protected_idle,
        "not_enough_data": (idle_result.skipped.get("not enough data", 0) if idle_result else 0),
        "stopped_max_days": settings.stopped_max_days,
        "by_environment": _capped(by_env),
        "by_owner": _capped(by_owner),
    }


def _failing(results: list[CheckResult], check: CheckName) -> set[str]:
    return {f.resource_id for r in results if r.check is check for f in r.findings}


def _capped(groups: dict[str, dict[str, int]]) -> dict[str, dict[str, int]]:
    ranked = sorted(groups.items(), key=lambda kv: (-kv[1]["instances"], kv[0]))
    if len(ranked) <= MAX_GROUPS:
        return dict(ranked)
    kept = dict(ranked[: MAX_GROUPS - 1])
    other = dict.fromkeys(_COUNTS, 0)
    for _, counts in ranked[MAX_GROUPS - 1 :]:
        for key in _COUNTS:
            other[key] += counts[key]
    kept[OTHER] = other
    return kept
