"""idle: a running instance whose daily CPU and network stayed under Trusted Advisor's thresholds.

Outcomes per instance in scope:
- idle (running): a finding that also says where its lifecycle stands (protected, to be marked,
  marked with a deadline, due for a stop).
- stopped by ec2-warden: the finding stays open and says so, until the instance is started (then
  judged afresh) or terminated; stopped by anyone else, or not running: passes.
- active: passes, which resolves an open idle finding (and the plan removes the marks).
- not enough data (fewer days with datapoints than IDLE_MIN_DAYS needs): neither passes nor fails,
  only counted in `skipped`. It must never create a finding (an instance one week old is not a
  zombie) nor resolve one (a gap in metrics is no proof of activity); staying out of both sets does
  exactly that. It is not `not_evaluated` either, because nothing failed: a young instance is normal,
  and `not_evaluated` would turn every young instance into a run error.
- metrics unreadable (GetMetricData failed for it): `not_evaluated`, reported as an error.

The finding's text depends only on facts that hold until the stage changes (never on `now`
alone), so a finding is not re-posted as changed at every sweep."""

from __future__ import annotations

from datetime import datetime, timedelta

from chalicelib.checks.verdicts import NOT_EVALUATED, PASSED, Skip, judge_each
from chalicelib.checks.verdicts import Verdict as InstanceVerdict
from chalicelib.model import CheckName, CheckResult, Finding, Instance, Mode, Severity, Snapshot
from chalicelib.rules.idle import (
    START_TRIGGER,
    STOPPED_BY,
    IdleStage,
    UsageVerdict,
    Verdict,
    format_time,
    idle_stage,
    judge_usage,
    read_mark,
    stopped_by_warden,
)
from chalicelib.settings import Settings

REMEDIATION = (
    "If nobody needs it, stop or terminate it (snapshot its volumes first if in doubt). If it must keep "
    "running, give it the warden:protect tag; an owner can also postpone the stop by moving the "
    "warden:stop-after tag. Idle instances are forgotten instances: unpatched and unwatched."
)


def detect_idle(snapshot: Snapshot, settings: Settings, now: datetime) -> CheckResult:
    def judge(instance: Instance) -> InstanceVerdict:
        if stopped_by_warden(instance):
            # Kept open, saying it was stopped: the same text the stopping sweep posted, so a repeat
            # of that sweep changes nothing. Starting it (or terminating it) resolves the finding.
            return idle_finding(instance, IdleStage.STOPPED, None, settings, now)
        if instance.state != "running":
            # Stopped by its owner, or on its way: it serves nothing, so an idle finding no longer holds.
            return Skip(f"not running ({instance.state})", passed=True)
        if snapshot.trigger == START_TRIGGER:
            # Its owner just started it: that is activity. The next sweep judges it afresh.
            return Skip("just started", passed=True)
        usage = None if snapshot.usage is None else snapshot.usage.get(instance.id)
        if usage is None:
            return NOT_EVALUATED
        verdict = judge_usage(usage, settings)
        if verdict.verdict is Verdict.NOT_ENOUGH_DATA:
            return Skip("not enough data")
        if verdict.verdict is Verdict.ACTIVE:
            return PASSED
        return idle_finding(instance, idle_stage(instance, verdict, now), verdict, settings, now)

    return judge_each(CheckName.IDLE, snapshot, judge)


def idle_finding(
    instance: Instance, stage: IdleStage, verdict: UsageVerdict | None, settings: Settings, now: datetime
) -> Finding:
    mark = read_mark(instance.tags)
    name = f" ({instance.name})" if instance.name else ""
    rule = (
        f"Average CPU at most {settings.idle_cpu_percent:g}% and network in+out at most "
        f"{settings.idle_network_mb:g} MB a day on at least {settings.idle_days_needed} of "
        f"{settings.idle_lookback_days} days."
    )
    details: dict[str, object] = {"stage": stage.value, "protected": stage is IdleStage.PROTECTED}
    if verdict is not None:
        details.update(
            idle_days=verdict.idle_days,
            days_with_data=verdict.days_with_data,
            window_days=verdict.window_days,
            days_needed=verdict.days_needed,
            last_day_idle=verdict.last_day_idle,
            max_cpu_percent=verdict.max_cpu_percent,
            max_network_mb=verdict.max_network_mb,
        )
    deadline = mark.stop_after if mark is not None else None
    if stage is IdleStage.TO_MARK:
        deadline = now + timedelta(hours=settings.idle_grace_hours)
        details["idle_since"] = format_time(now)
    elif mark is not None:
        details["idle_since"] = format_time(mark.idle_since)
    if deadline is not None and stage is not IdleStage.PROTECTED:
        details["stop_after"] = format_time(deadline)
    if stage is IdleStage.STOPPED:
        details["stopped_by"] = instance.tags.get(STOPPED_BY, "")
    title = f"Idle instance {instance.id}{name}" + (" (protected)" if stage is IdleStage.PROTECTED else "")
    return Finding(
        check=CheckName.IDLE,
        resource_id=instance.id,
        account=instance.account,
        region=instance.region,
        severity=Severity.LOW,
        title=title,
        description=f"{rule} {_stage_sentence(stage, deadline, settings)}",
        remediation=REMEDIATION,
        details=details,
    )


def _stage_sentence(stage: IdleStage, deadline: datetime | None, settings: Settings) -> str:
    """What happens next. Each sentence equals the one the following sweep writes once this sweep's
    actions are done (to-mark -> marked, due -> stopped), so repeating a sweep re-posts nothing; and
    no sentence holds "now + grace" unless the tags that keep it are written (enforce mode)."""
    enforce = settings.mode is Mode.ENFORCE
    when = format_time(deadline) if deadline is not None else "its warden:stop-after deadline"
    if stage is IdleStage.PROTECTED:
        return "It carries warden:protect, so ec2-warden will not stop it."
    if stage is IdleStage.TO_MARK and not enforce:
        return (
            f"In enforce mode ec2-warden would tag a deadline {settings.idle_grace_hours} hours ahead "
            "(warden:stop-after) and stop it after that unless it becomes active or gets warden:protect."
        )
    if stage in (IdleStage.TO_MARK, IdleStage.MARKED):
        return f"ec2-warden stops it after {when} unless it becomes active or gets warden:protect."
    if stage is IdleStage.DUE and not enforce:
        return f"Its deadline ({when}) passed and it stayed idle: in enforce mode ec2-warden would stop it."
    if stage in (IdleStage.DUE, IdleStage.STOPPED):
        return (
            f"Its deadline ({when}) passed and it stayed idle, so ec2-warden stops it; warden:stopped-by "
            "records when. Start it to keep it (that resolves this finding), or terminate it."
        )
    return (
        f"Its deadline ({when}) passed, but the last day was not idle (or has no data): "
        "ec2-warden stops it only once a day is idle again."
    )
