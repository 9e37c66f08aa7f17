"""From a plan and what apply did so far to the facts a message shows. Pure.

Slack speaks after the other actions, so a message can say honestly what was done: posted to
Security Hub, or not, and why."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime, timedelta

from chalicelib.model import (
    ActionKind,
    ActionOutcome,
    Finding,
    FindingStatus,
    Instance,
    Mode,
    Plan,
    PriorFinding,
    ReadError,
    Snapshot,
)
from chalicelib.notify.digest import SweepDigest
from chalicelib.notify.facts import PROTECT_TAG, stop_after, stop_deadlines, utc_text
from chalicelib.notify.messages import FindingNotice
from chalicelib.rules.cost import totals_of
from chalicelib.rules.environments import production_reason
from chalicelib.settings import Settings

DEADLINE_HORIZON = timedelta(hours=24)
_FINDING_BOOKKEEPING = (ActionKind.IMPORT_FINDINGS, ActionKind.RESOLVE_FINDINGS, ActionKind.NOTIFY_SLACK)
MAX_STEP_CHARS = 300


def is_news(finding: Finding, status: FindingStatus, prior: Mapping[str, PriorFinding] | None) -> bool:
    """Worth telling people: new, raised in severity, or not known to be old (prior not read).

    Security Hub is the memory: a finding ec2-warden posted and that is still open comes back in
    the snapshot's prior findings, so an unchanged one is not news and is not repeated."""
    if status in (FindingStatus.NEW, FindingStatus.UNKNOWN):
        return True
    if status is FindingStatus.CHANGED:
        old = (prior or {}).get(finding.id)
        return old is not None and finding.severity.rank > old.severity.rank
    return False


def finding_notice(
    finding: Finding,
    plan: Plan,
    snapshot: Snapshot,
    outcomes: Sequence[ActionOutcome],
    mode: Mode,
    settings: Settings | None = None,
) -> FindingNotice:
    status = plan.statuses.get(finding.id, FindingStatus.UNKNOWN)
    old = (snapshot.prior_findings or {}).get(finding.id)
    instance = next((i for i in snapshot.instances if i.id == finding.resource_id), None)
    return FindingNotice(
        finding=finding,
        status=status,
        instance=instance,
        previous_severity=old.severity if old is not None and status is FindingStatus.CHANGED else None,
        steps=steps_for(finding, instance, outcomes),
        mode=mode,
        production=production_reason(instance, settings) if instance is not None and settings is not None else None,
    )


def steps_for(finding: Finding, instance: Instance | None, outcomes: Sequence[ActionOutcome]) -> tuple[str, ...]:
    steps: list[str] = []
    imported = next(
        (o for o in outcomes if o.kind is ActionKind.IMPORT_FINDINGS and finding.id in o.resource_ids), None
    )
    if imported is not None:
        if imported.done and finding.id not in imported.failed_ids:
            steps.append("Posted to Security Hub.")
        elif imported.error:
            steps.append(_clip(f"Security Hub import failed: {imported.error}"))
        else:
            steps.append(_clip(f"Not posted to Security Hub: {imported.reason}"))
    acted = False
    for o in outcomes:
        if o.kind in _FINDING_BOOKKEEPING or not ({finding.resource_id, finding.id} & set(o.resource_ids)):
            continue
        acted = True
        if o.error:
            steps.append(_clip(f"{o.kind.value} failed: {o.error}"))
        elif o.done:
            steps.append(_clip(f"{o.kind.value}: done. {o.reason}".strip()))
        else:
            steps.append(_clip(f"{o.kind.value}: planned, {o.reason}."))  # "<mode> mode: not applied (...)"
    deadline = stop_after(instance) if instance is not None else None
    if deadline is not None:
        acted = True
        steps.append(f"Will stop the instance after {utc_text(deadline)} unless it is tagged {PROTECT_TAG}.")
    if not acted:
        steps.append("No automatic change to the instance.")
    if finding.remediation:
        steps.append(_clip(f"Suggested fix: {finding.remediation}"))
    return tuple(steps)


def sweep_digest(
    plan: Plan,
    snapshot: Snapshot,
    outcomes: Sequence[ActionOutcome],
    run_errors: Sequence[ReadError],
    mode: Mode,
    now: datetime,
    settings: Settings | None = None,
) -> SweepDigest:
    prior = snapshot.prior_findings
    new = tuple(
        finding_notice(f, plan, snapshot, outcomes, mode, settings)
        for f in plan.findings
        if is_news(f, plan.statuses.get(f.id, FindingStatus.UNKNOWN), prior)
    )
    resolved_ids: set[str] = set()
    for o in outcomes:
        if o.kind is ActionKind.RESOLVE_FINDINGS and o.done:
            resolved_ids |= set(o.resource_ids) - set(o.failed_ids)
    errors: dict[tuple[str, str], ReadError] = {}
    for e in (*run_errors, *snapshot.errors):
        errors.setdefault((e.where, e.message), e)
    for o in outcomes:
        if o.error:
            e = ReadError(f"action:{o.kind.value}", o.error)
            errors.setdefault((e.where, e.message), e)
    return SweepDigest(
        account=snapshot.account,
        region=snapshot.region,
        mode=mode,
        at=now,
        instances_scanned=len(snapshot.instances),
        open_findings=plan.findings,
        new=new,
        resolved=tuple(r for r in plan.resolutions if r.finding_id in resolved_ids),
        actions=tuple(o for o in outcomes if o.kind is not ActionKind.NOTIFY_SLACK),
        errors=tuple(errors.values()),
        deadlines=stop_deadlines(snapshot.instances, now, DEADLINE_HORIZON),
        cost=totals_of(snapshot.costs) if snapshot.costs is not None else None,
        names={i.id: i.name for i in snapshot.instances if i.name and i.id in (snapshot.costs or {})},
    )


def _clip(text: str) -> str:
    return text if len(text) <= MAX_STEP_CHARS else text[: MAX_STEP_CHARS - 1] + "…"
