"""patch-noncompliant: a managed, running instance that Patch Manager reports as missing or failing
patches, waiting on a reboot, not scanned lately (unknown is not compliant), or whose last patch
run failed.

Severity from what is wrong: critical or security patches missing, or patches that failed to
install -> HIGH; other missing patches, installed patches waiting on a reboot, rejected patches
installed -> MEDIUM; a stale or missing scan alone -> LOW. A patch run that failed raises the
severity one step, to at least HIGH: automation tried and could not fix it, so a person must."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from chalicelib.checks.verdicts import NOT_EVALUATED, PASSED, Skip, Verdict, judge_each
from chalicelib.model import CheckName, CheckResult, Finding, Instance, PatchRun, PatchState, Severity, Snapshot
from chalicelib.rules.patch_tag import PATCH_REQUESTED_TAG, parse_patch_request
from chalicelib.settings import Settings

# AWS-RunPatchBaseline's default execution timeout is 2 h; with delivery, a run that has not reported
# a patch operation 3 h after it was requested has failed or never ran.
PATCH_RUN_REPORT_HOURS = 3

REMEDIATION = (
    "Run AWS-RunPatchBaseline with Operation=Install on the instance (ec2-warden does so in enforce "
    "mode), then reboot it if patches wait on a reboot. If a run failed, read its output in Run "
    "Command (or the output bucket): usual causes are no route to the package repositories, a full "
    "disk, or a package manager lock."
)

# Reason codes in a finding's details; the plan reads them to decide whether a patch run can help.
CODES_A_RUN_CANNOT_FIX = frozenset({"pending-reboot", "rejected-installed"})


@dataclass(frozen=True)
class _Problem:
    code: str
    severity: Severity
    text: str


def detect_patch_noncompliant(snapshot: Snapshot, settings: Settings, now: datetime) -> CheckResult:
    grace = timedelta(minutes=settings.ssm_registration_grace_minutes)

    def judge(instance: Instance) -> Verdict:
        if instance.state != "running":
            # Its patch state is as it was; it is judged again when it runs (and patched on start).
            return Skip(f"not running ({instance.state})")
        if snapshot.ssm_info is None or (instance.id in snapshot.ssm_info and snapshot.patch_states is None):
            return NOT_EVALUATED
        if instance.id not in snapshot.ssm_info:
            return Skip("not managed by SSM (see ssm-unmanaged)")
        assert snapshot.patch_states is not None
        state = snapshot.patch_states.get(instance.id)
        run = snapshot.patch_runs.get(instance.id)
        young = instance.launch_time is not None and now - instance.launch_time < grace
        if state is None and young and (run is None or not run.failed):
            return Skip("awaiting its first patch scan")
        problems = patch_problems(state, settings, now)
        run_problem = _run_problem(instance, state, run, now)
        if run_problem is None and not problems:
            return PASSED
        return _finding(instance, state, problems, run_problem, run)

    return judge_each(CheckName.PATCH_NONCOMPLIANT, snapshot, judge)


def patch_problems(state: PatchState | None, settings: Settings, now: datetime) -> list[_Problem]:
    """What the patch state says is wrong, worst first."""
    if state is None:
        return [_Problem("never-scanned", Severity.LOW, "no patch scan on record")]
    out: list[_Problem] = []
    urgent = state.critical_non_compliant_count + state.security_non_compliant_count
    if urgent:
        kinds = [
            f"{n} {label}"
            for n, label in (
                (state.critical_non_compliant_count, "critical"),
                (state.security_non_compliant_count, "security"),
            )
            if n
        ]
        out.append(_Problem("security-missing", Severity.HIGH, " and ".join(kinds) + " patches missing"))
    if state.failed_count:
        out.append(_Problem("failed", Severity.HIGH, f"{state.failed_count} patches failed to install"))
    if state.missing_count:
        out.append(_Problem("missing", Severity.MEDIUM, f"{state.missing_count} approved patches missing"))
    elif state.other_non_compliant_count and not urgent:
        out.append(
            _Problem("missing", Severity.MEDIUM, f"{state.other_non_compliant_count} other patches not installed")
        )
    if state.installed_pending_reboot_count:
        out.append(
            _Problem(
                "pending-reboot",
                Severity.MEDIUM,
                f"{state.installed_pending_reboot_count} installed patches wait on a reboot",
            )
        )
    if state.installed_rejected_count:
        out.append(
            _Problem(
                "rejected-installed",
                Severity.MEDIUM,
                f"{state.installed_rejected_count} patches the baseline rejects are installed",
            )
        )
    end = state.operation_end_time
    max_age = timedelta(days=settings.patch_scan_max_age_days)
    if end is None:
        out.append(_Problem("stale-scan", Severity.LOW, "the time of its last patch scan is unknown"))
    elif now - end > max_age:
        days = int((now - end).total_seconds() // 86400)
        out.append(_Problem("stale-scan", Severity.LOW, f"its last patch scan is {days} days old"))
    return sorted(out, key=lambda p: -p.severity.rank)


def _run_problem(instance: Instance, state: PatchState | None, run: PatchRun | None, now: datetime) -> str | None:
    """A patch run that failed: told by the SSM event, or inferred from ec2-warden's own request tag."""
    if run is not None:
        return f"patch command {run.command_id} ended {run.status}" if run.failed else None
    requested = parse_patch_request(instance.tags.get(PATCH_REQUESTED_TAG))
    if requested is None:
        return None
    at, command_id = requested
    if now - at < timedelta(hours=PATCH_RUN_REPORT_HOURS):
        return None
    if state is not None and state.operation_end_time is not None and state.operation_end_time >= at:
        return None
    return (
        f"patch command {command_id or '(unknown)'} requested at {at.isoformat()} has reported no patch "
        "operation since: it failed or never ran"
    )


def _finding(
    instance: Instance,
    state: PatchState | None,
    problems: list[_Problem],
    run_problem: str | None,
    run: PatchRun | None,
) -> Finding:
    severity = max((p.severity for p in problems), key=lambda s: s.rank, default=Severity.LOW)
    texts = [p.text for p in problems]
    codes = [p.code for p in problems]
    if run_problem is not None:
        severity = _raised(severity)
        texts.insert(0, run_problem)
        codes.insert(0, "run-failed")
    name = f" ({instance.name})" if instance.name else ""
    headline = texts[0]
    title = f"{severity.value.title()}: {headline} on {instance.id}{name}"
    if run is not None and not run.failed:
        texts.append(f"patch command {run.command_id} succeeded, yet this remains")
    details: dict[str, Any] = {"reasons": codes}
    if state is not None:
        details.update(
            missing=state.missing_count,
            failed=state.failed_count,
            critical_non_compliant=state.critical_non_compliant_count,
            security_non_compliant=state.security_non_compliant_count,
            other_non_compliant=state.other_non_compliant_count,
            installed_pending_reboot=state.installed_pending_reboot_count,
            installed_rejected=state.installed_rejected_count,
            last_operation=state.operation,
            last_operation_end=state.operation_end_time,
            baseline=state.baseline_id,
        )
    if run is not None:
        details.update(command_id=run.command_id, command_status=run.status)
    requested = parse_patch_request(instance.tags.get(PATCH_REQUESTED_TAG))
    if requested is not None:
        details.update(patch_requested_at=requested[0], patch_requested_command=requested[1])
    return Finding(
        check=CheckName.PATCH_NONCOMPLIANT,
        resource_id=instance.id,
        account=instance.account,
        region=instance.region,
        severity=severity,
        title=title,
        description=f"{instance.id}: " + "; ".join(texts) + ".",
        remediation=REMEDIATION,
        details=details,
    )


def _raised(severity: Severity) -> Severity:
    order = list(Severity)
    up = order[min(order.index(severity) + 1, len(order) - 1)]
    return up if up.rank >= Severity.HIGH.rank else Severity.HIGH
