"""Carry out a plan through one adapter per service, only as far as the mode allows.

Every action is idempotent (deterministic finding ids), and a failing action is reported in its
outcome without stopping the others."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime

from ..asff import finding_to_asff, resolution_to_asff
from ..clients import AWS_ERRORS, AwsClients, aws_error_message
from ..model import ACTION_MODES, Action, ActionKind, ActionOutcome, Mode, Plan, Snapshot
from .securityhub import ImportResult, SecurityHubAdapter
from .ssm import carry_out_patch


def apply_plan(plan: Plan, snapshot: Snapshot, clients: AwsClients, mode: Mode, now: datetime) -> list[ActionOutcome]:
    outcomes: list[ActionOutcome] = []
    for action in plan.actions:
        if mode not in ACTION_MODES[action.kind]:
            outcomes.append(
                ActionOutcome(action.kind, action.resource_ids, done=False, reason=f"{mode.value} mode: not applied")
            )
            continue
        outcomes.append(_carry_out(action, snapshot, clients, now))
    return outcomes


def _carry_out(action: Action, snapshot: Snapshot, clients: AwsClients, now: datetime) -> ActionOutcome:
    handler = _HANDLERS.get(action.kind)
    if handler is None:  # a programming error, not an AWS fault
        raise ValueError(f"no adapter carries out {action.kind}")
    try:
        return handler(action, snapshot, clients, now)
    except AWS_ERRORS as exc:
        return ActionOutcome(
            action.kind, action.resource_ids, done=False, error=aws_error_message(exc), reason=action.reason
        )


def _import(action: Action, snapshot: Snapshot, clients: AwsClients, now: datetime) -> ActionOutcome:
    by_id = {i.id: i for i in snapshot.instances}
    prior = snapshot.prior_findings or {}
    payload = [
        finding_to_asff(f, now, instance=by_id.get(f.resource_id), prior=prior.get(f.id)) for f in action.findings
    ]
    result = SecurityHubAdapter(clients.securityhub).import_findings(payload)
    return _outcome(action, result)


def _resolve(action: Action, snapshot: Snapshot, clients: AwsClients, now: datetime) -> ActionOutcome:
    payload = [resolution_to_asff(r, snapshot.account, snapshot.region, now) for r in action.resolutions]
    result = SecurityHubAdapter(clients.securityhub).import_findings(payload)
    return _outcome(action, result)


def _outcome(action: Action, result: ImportResult) -> ActionOutcome:
    if not result.failed:
        return ActionOutcome(action.kind, action.resource_ids, done=True, reason=action.reason)
    detail = "; ".join(f"{fid}: {msg}" for fid, msg in sorted(result.failed.items())[:5])
    more = f" (and {len(result.failed) - 5} more)" if len(result.failed) > 5 else ""
    return ActionOutcome(
        action.kind,
        action.resource_ids,
        done=bool(result.imported),
        error=f"{len(result.failed)} of {len(action.resource_ids)} failed after one retry: {detail}{more}",
        reason=action.reason,
        failed_ids=tuple(sorted(result.failed)),
    )


Handler = Callable[[Action, Snapshot, AwsClients, datetime], ActionOutcome]

# One line per action kind: the adapter call that carries it out.
_HANDLERS: dict[ActionKind, Handler] = {
    ActionKind.IMPORT_FINDINGS: _import,
    ActionKind.RESOLVE_FINDINGS: _resolve,
    ActionKind.PATCH: carry_out_patch,
}
