"""Exceptions in Security Hub: Workflow.Status SUPPRESSED with a Note while an exception holds, NEW
with a Note when it has ended (BatchUpdateFindings; a provider's import cannot change a workflow).

One call per 100 findings that share a note (the Note is per call): the plan's `notes` map each
finding id to its text, naming the reason, who asked, who approved and the end date."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import Any

from chalicelib.adapters.clients import AwsClients
from chalicelib.adapters.securityhub import SecurityHubAdapter
from chalicelib.model import Action, ActionKind, ActionOutcome, Snapshot
from chalicelib.rules.asff import product_arn

NOTE_LIMIT = 512  # Note.Text, as the API reference allows


def set_workflow(action: Action, snapshot: Snapshot, clients: AwsClients, now: datetime) -> ActionOutcome:
    status = "SUPPRESSED" if action.kind is ActionKind.SUPPRESS_FINDINGS else "NEW"
    arn = product_arn(clients.findings_account or snapshot.account, snapshot.region)
    notes: dict[str, str] = dict(action.params.get("notes", {}))
    by_note: dict[str, list[str]] = {}
    for finding_id in action.resource_ids:
        by_note.setdefault(notes.get(finding_id, action.reason)[:NOTE_LIMIT], []).append(finding_id)
    hub = SecurityHubAdapter(clients.securityhub)
    failed: dict[str, str] = {}
    for text, ids in sorted(by_note.items()):
        result = hub.set_workflow_status([{"Id": i, "ProductArn": arn} for i in ids], status, note=_fixed_note(text))
        failed.update(result.failed)
    if not failed:
        return ActionOutcome(action.kind, action.resource_ids, done=True, reason=action.reason)
    detail = "; ".join(f"{fid}: {msg}" for fid, msg in sorted(failed.items())[:5])
    return ActionOutcome(
        action.kind,
        action.resource_ids,
        done=len(failed) < len(action.resource_ids),
        error=f"{len(failed)} of {len(action.resource_ids)} failed: {detail}",
        reason=action.reason,
        failed_ids=tuple(sorted(failed)),
    )


def _fixed_note(text: str) -> Callable[[Any], str]:
    """The same note for every finding of one call."""
    return lambda _ids: text
