"""Which instances to patch now. Pure: findings, tags, settings and `now` come in.

Patching happens on a sweep and on a launch (RunInstances, or a state change to running: new
instances from old AMIs are the classic hole). Other event runs, the SSM command status events
among them, only judge: a verification never sends another command.

A target is running, managed and Online in SSM, not protected (warden:protect), not patched in the
last PATCH_COOLDOWN_HOURS (warden:patch-requested-at), and either has a patch-noncompliant finding
that a patch run can fix, or has just launched and is not known to be compliant."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime, timedelta

from chalicelib.checks.patching import CODES_A_RUN_CANNOT_FIX
from chalicelib.events.scope import PATCH_DOCUMENT
from chalicelib.model import Action, ActionKind, CheckName, CheckResult, Finding, Snapshot
from chalicelib.rules.patch_tag import PATCH_REQUESTED_TAG, parse_patch_request
from chalicelib.rules.tags import is_protected
from chalicelib.settings import Settings

COMMENT_LIMIT = 100  # SendCommand's Comment is at most 100 characters


def plan_patch_runs(
    results: Iterable[CheckResult], snapshot: Snapshot, settings: Settings, now: datetime
) -> list[Action]:
    if not (snapshot.is_sweep or snapshot.is_launch):
        return []
    patch_result = next((r for r in results if r.check is CheckName.PATCH_NONCOMPLIANT), None)
    if patch_result is None or snapshot.ssm_info is None:
        return []
    findings = {f.resource_id: f for f in patch_result.findings}
    cooldown = timedelta(hours=settings.patch_cooldown_hours)
    targets: list[str] = []
    held: dict[str, int] = {}
    for instance in snapshot.instances:
        info = snapshot.ssm_info.get(instance.id)
        if instance.state != "running" or info is None or info.ping_status != "Online":
            continue
        finding = findings.get(instance.id)
        wanted = (finding is not None and _a_run_can_fix(finding, settings)) or (
            snapshot.is_launch and instance.id not in patch_result.passed and instance.id not in findings
        )
        if not wanted:
            continue
        if is_protected(instance.tags):
            _count(held, "protected")
            continue
        requested = parse_patch_request(instance.tags.get(PATCH_REQUESTED_TAG))
        if requested is not None and now - requested[0] < cooldown:
            _count(held, "in cooldown")
            continue
        targets.append(instance.id)
    if not targets:
        return []
    trigger = "sweep" if snapshot.is_sweep else "launch"
    reason = f"{settings.patch_operation} patches on {len(targets)} instance(s) ({settings.patch_reboot_option})"
    if held:
        reason += "; held back: " + ", ".join(f"{n} {why}" for why, n in sorted(held.items()))
    params = {
        "document": PATCH_DOCUMENT,
        "operation": settings.patch_operation,
        "reboot_option": settings.patch_reboot_option,
        "max_concurrency": settings.patch_max_concurrency,
        "max_errors": settings.patch_max_errors,
        "output_s3_bucket": settings.patch_output_s3_bucket,
        "comment": f"ec2-warden {trigger}: patch-noncompliant"[:COMMENT_LIMIT],
    }
    return [Action(kind=ActionKind.PATCH, resource_ids=tuple(sorted(targets)), reason=reason, params=params)]


def _a_run_can_fix(finding: Finding, settings: Settings) -> bool:
    """A run cannot reboot with NoReboot, nor uninstall a rejected patch: do not send one for that alone."""
    codes = set(finding.details.get("reasons", ()))
    cannot = set(CODES_A_RUN_CANNOT_FIX)
    if settings.patch_reboot_option == "RebootIfNeeded":
        cannot.discard("pending-reboot")
    return not codes <= cannot


def _count(held: dict[str, int], reason: str) -> None:
    held[reason] = held.get(reason, 0) + 1
