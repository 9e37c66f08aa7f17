"""Findings -> actions. Pure: it reads no clock, environment or AWS; `now` and settings come in.

The plan decides what would be done in any mode; apply carries out only what the mode allows."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import UTC, datetime, timedelta

from .asff import DESCRIPTION_LIMIT, TITLE_LIMIT, clip
from .model import (
    Action,
    ActionKind,
    CheckResult,
    Finding,
    FindingStatus,
    Plan,
    PriorFinding,
    Resolution,
    Snapshot,
)
from .plan_patch import plan_patch_runs
from .settings import Settings


def plan_actions(results: Iterable[CheckResult], snapshot: Snapshot, settings: Settings, now: datetime) -> Plan:
    results = list(results)
    findings = sorted((f for r in results for f in r.findings), key=lambda f: (-f.severity.rank, f.id))
    prior = snapshot.prior_findings
    statuses = {f.id: finding_status(f, prior, settings, now) for f in findings}
    resolutions = plan_resolutions(results, snapshot)

    actions: list[Action] = []
    to_import = [f for f in findings if statuses[f.id] != FindingStatus.UNCHANGED]
    if to_import:
        actions.append(
            Action(
                kind=ActionKind.IMPORT_FINDINGS,
                resource_ids=tuple(f.id for f in to_import),
                reason=_import_reason(to_import, statuses),
                findings=tuple(to_import),
            )
        )
    if resolutions:
        actions.append(
            Action(
                kind=ActionKind.RESOLVE_FINDINGS,
                resource_ids=tuple(r.finding_id for r in resolutions),
                reason=f"{len(resolutions)} open finding(s) no longer hold",
                resolutions=tuple(resolutions),
            )
        )
    actions.extend(plan_patch_runs(results, snapshot, settings, now))  # patch loop (issue 4)
    return Plan(findings=tuple(findings), statuses=statuses, resolutions=tuple(resolutions), actions=tuple(actions))


def finding_status(
    finding: Finding, prior: dict[str, PriorFinding] | None, settings: Settings, now: datetime
) -> FindingStatus:
    if prior is None:
        return FindingStatus.UNKNOWN
    old = prior.get(finding.id)
    if old is None:
        return FindingStatus.NEW
    # Compare what Security Hub holds: titles and descriptions are clipped on the way in.
    if (old.severity, old.title, old.description) != (
        finding.severity,
        clip(finding.title, TITLE_LIMIT),
        clip(finding.description, DESCRIPTION_LIMIT),
    ):
        return FindingStatus.CHANGED
    updated = _parse_time(old.updated_at)
    if updated is None or now - updated >= timedelta(hours=settings.finding_refresh_hours):
        return FindingStatus.REFRESHED
    return FindingStatus.UNCHANGED


def plan_resolutions(results: Iterable[CheckResult], snapshot: Snapshot) -> list[Resolution]:
    """Open findings whose instance now passes, is stopped, or is gone. Never on missing facts."""
    prior = snapshot.prior_findings
    if not prior:
        return []
    by_id = {i.id: i for i in snapshot.instances}
    out: list[Resolution] = []
    for result in results:
        failing = {f.resource_id for f in result.findings}
        for old in prior.values():
            if old.check != result.check.value or old.resource_id in failing:
                continue
            if old.resource_id in result.not_evaluated:
                continue
            instance = by_id.get(old.resource_id)
            if old.resource_id in result.passed:
                if instance is None:
                    reason = "the instance no longer exists"
                elif instance.state != "running":
                    reason = f"the instance is {instance.state}"
                else:
                    reason = f"{instance.id} now passes {result.check.value}"
            elif instance is None and snapshot.is_sweep:
                reason = "the instance no longer exists"
            else:
                continue
            out.append(Resolution(old.id, old.check, old.resource_id, reason, old))
    return sorted(out, key=lambda r: r.finding_id)


def _import_reason(findings: list[Finding], statuses: dict[str, FindingStatus]) -> str:
    counts: dict[str, int] = {}
    for f in findings:
        counts[statuses[f.id].value] = counts.get(statuses[f.id].value, 0) + 1
    return "post " + ", ".join(f"{n} {s}" for s, n in sorted(counts.items()))


def _parse_time(text: str) -> datetime | None:
    try:
        parsed = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except (ValueError, AttributeError):
        return None
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)
