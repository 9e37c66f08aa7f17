"""Findings -> actions. Pure: it reads no clock, environment or AWS; `now` and settings come in.

The plan decides what would be done in any mode; apply carries out only what the mode allows."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import datetime, timedelta

from chalicelib.model import (
    ACTION_MODES,
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
from chalicelib.notify import MESSAGE_DIGEST, MESSAGE_FINDING, MESSAGE_ROLLUP, is_news
from chalicelib.notify.compose import DEADLINE_HORIZON
from chalicelib.notify.facts import reminders_due, stop_deadlines
from chalicelib.plan.actor import attribute_findings, plan_launch_attribution
from chalicelib.plan.idle import plan_idle_lifecycle
from chalicelib.plan.patch import plan_patch_runs
from chalicelib.plan.supersede import superseded_reason
from chalicelib.rules.asff import DESCRIPTION_LIMIT, TITLE_LIMIT, clip
from chalicelib.rules.timefmt import parse_iso
from chalicelib.settings import Settings

# One event that exposes fifty instances gets nine messages and a roll-up, not fifty messages.
MAX_FINDING_MESSAGES = 10


def plan_actions(results: Iterable[CheckResult], snapshot: Snapshot, settings: Settings, now: datetime) -> Plan:
    results = list(results)
    # Who did it: the event's actor on each finding, and the raise of an unusual change.
    attributed = attribute_findings((f for r in results for f in r.findings), snapshot, settings)
    findings = sorted(attributed, key=lambda f: (-f.severity.rank, f.id))
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
    actions.extend(plan_patch_runs(results, snapshot, settings, now))  # patch loop
    actions.extend(plan_idle_lifecycle(results, snapshot, settings, now))
    actions.extend(plan_launch_attribution(snapshot, settings))
    # Slack speaks last (apply defers it too): its messages report what the other actions did.
    actions.extend(plan_slack(findings, statuses, resolutions, results, snapshot, settings, now, actions))
    return Plan(findings=tuple(findings), statuses=statuses, resolutions=tuple(resolutions), actions=tuple(actions))


def finding_status(
    finding: Finding, prior: Mapping[str, PriorFinding] | None, settings: Settings, now: datetime
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
    updated = parse_iso(old.updated_at)
    if updated is None or now - updated >= timedelta(hours=settings.finding_refresh_hours):
        return FindingStatus.REFRESHED
    return FindingStatus.UNCHANGED


def plan_slack(
    findings: list[Finding],
    statuses: dict[str, FindingStatus],
    resolutions: list[Resolution],
    results: list[CheckResult],
    snapshot: Snapshot,
    settings: Settings,
    now: datetime,
    other_actions: list[Action],
) -> list[Action]:
    """Which Slack messages: one per news-worthy finding of an event, one digest per sweep with news.

    Nothing for a finding that is unchanged since it was posted: Security Hub remembers what was
    announced (the snapshot's prior findings), so no other memory is needed."""
    if not settings.slack_enabled:
        return []
    prior = snapshot.prior_findings
    news = [f for f in findings if is_news(f, statuses[f.id], prior)]
    if snapshot.is_sweep:
        worth_a_digest = (
            news
            or resolutions
            or snapshot.errors
            or any(r.not_evaluated for r in results)
            or any(
                a.kind not in (ActionKind.IMPORT_FINDINGS, ActionKind.RESOLVE_FINDINGS)
                and settings.mode in ACTION_MODES[a.kind]  # a mark notify mode only prints is no news
                for a in other_actions
            )
            or reminders_due(
                stop_deadlines(snapshot.instances, now, DEADLINE_HORIZON),
                now,
                DEADLINE_HORIZON,
                settings.sweep_interval,
            )
        )
        if not worth_a_digest:
            return []
        return [
            Action(
                kind=ActionKind.NOTIFY_SLACK,
                resource_ids=(f"digest:{snapshot.account}/{snapshot.region}",),
                reason=f"sweep digest: {len(findings)} open, {len(news)} new, {len(resolutions)} to resolve",
                findings=tuple(news),
                resolutions=tuple(resolutions),
                message=MESSAGE_DIGEST,
            )
        ]
    loud = [f for f in news if f.severity.rank >= settings.slack_min_severity.rank]
    singles = loud if len(loud) <= MAX_FINDING_MESSAGES else loud[: MAX_FINDING_MESSAGES - 1]
    rest = loud[len(singles) :]
    actions = [
        Action(
            kind=ActionKind.NOTIFY_SLACK,
            resource_ids=(f.id,),
            reason=f"announce {statuses[f.id].value} {f.severity.value} {f.check.value} on {f.resource_id}",
            findings=(f,),
            message=MESSAGE_FINDING,
        )
        for f in singles
    ]
    if rest:
        actions.append(
            Action(
                kind=ActionKind.NOTIFY_SLACK,
                resource_ids=tuple(f.id for f in rest),
                reason=f"announce {len(rest)} more finding(s) in one roll-up",
                findings=tuple(rest),
                message=MESSAGE_ROLLUP,
            )
        )
    return actions


def plan_resolutions(results: Iterable[CheckResult], snapshot: Snapshot) -> list[Resolution]:
    """Open findings whose instance now passes, is stopped, or is gone. Never on missing facts."""
    prior = snapshot.prior_findings
    if not prior:
        return []
    by_id = {i.id: i for i in snapshot.instances}
    results = list(results)
    checks_run = {r.check for r in results}
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
                    reason = superseded_reason(old, checks_run) or f"{instance.id} now passes {result.check.value}"
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
