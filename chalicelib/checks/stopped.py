"""stopped-long: an instance stopped for more than STOPPED_MAX_DAYS (AWS Config's ec2-stopped-instance).

A long-stopped instance is sprawl: its volumes and groups linger, and when someone starts it again
it comes back months behind on patches. The stop time comes from EC2's StateTransitionReason
("User initiated (2026-01-02 03:04:05 GMT)"), else from ec2-warden's own warden:stopped-by tag; a
stopped instance with neither is counted as "stop time unknown" and neither passes nor fails."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from chalicelib.checks.verdicts import PASSED, Skip, Verdict, judge_each
from chalicelib.model import CheckName, CheckResult, Finding, Instance, Severity, Snapshot
from chalicelib.rules.idle import STOPPED_BY, stopped_at
from chalicelib.rules.timefmt import format_display, format_iso
from chalicelib.settings import Settings

REMEDIATION = (
    "Terminate it if nobody needs it (snapshot or back up its volumes first), or start and patch it. "
    "If it must stay stopped, record why in its tags; its EBS volumes are still billed and still hold data."
)


def detect_stopped_long(snapshot: Snapshot, settings: Settings, now: datetime) -> CheckResult:
    limit = timedelta(days=settings.stopped_max_days)
    now = now if now.tzinfo else now.replace(tzinfo=UTC)

    def judge(instance: Instance) -> Verdict:
        if instance.state != "stopped":
            # Running, starting, stopping or terminated: not (or no longer) a long-stopped instance.
            return PASSED
        since = stopped_at(instance)
        if since is None:
            return Skip("stop time unknown")
        return _finding(instance, since, now, settings) if now - since > limit else PASSED

    return judge_each(CheckName.STOPPED_LONG, snapshot, judge)


def _finding(instance: Instance, since: datetime, now: datetime, settings: Settings) -> Finding:
    name = f" ({instance.name})" if instance.name else ""
    by_warden = STOPPED_BY in instance.tags
    who = "ec2-warden stopped it as idle" if by_warden else "stopped by its owner or another process"
    return Finding(
        check=CheckName.STOPPED_LONG,
        resource_id=instance.id,
        account=instance.account,
        region=instance.region,
        severity=Severity.LOW,
        title=f"Stopped more than {settings.stopped_max_days} days: {instance.id}{name}",
        # Stable text (the stop date, not a day count), so the finding is not re-posted every day.
        description=f"Stopped since {format_display(since)} ({who}).",
        remediation=REMEDIATION,
        details={
            "stopped_at": format_iso(since),
            "days_stopped": (now - since).days,
            "stopped_by_warden": by_warden,
        },
    )
