"""ssm-unmanaged: a running instance past its registration grace that SSM does not manage, or that
SSM has lost contact with. Without SSM, ec2-warden cannot see or fix its patch state, and people
fall back to SSH. Production instances (rules/environments.py: a production Environment tag, or a
production network) are HIGH. The one check that reports "not managed by SSM"."""

from __future__ import annotations

from datetime import datetime, timedelta

from chalicelib.checks.verdicts import NOT_EVALUATED, PASSED, Skip, Verdict, judge_each
from chalicelib.model import CheckName, CheckResult, Finding, Instance, Severity, Snapshot, SsmInstanceInfo
from chalicelib.rules.environments import environment_label, production_reason
from chalicelib.settings import Settings

REMEDIATION = (
    "Give the instance what SSM Agent needs to register: an instance profile whose role has the "
    "AmazonSSMManagedInstanceCore policy (or Default Host Management Configuration), SSM Agent installed "
    "and running, and a route to the ssm, ssmmessages and ec2messages endpoints (a NAT gateway or VPC "
    "interface endpoints). Then check Fleet Manager: the instance should show Online."
)


def detect_ssm_unmanaged(snapshot: Snapshot, settings: Settings, now: datetime) -> CheckResult:
    grace = timedelta(minutes=settings.ssm_registration_grace_minutes)

    def judge(instance: Instance) -> Verdict:
        if instance.state != "running":
            # A stopped agent cannot ping; the instance is judged again when it runs.
            return Skip(f"not running ({instance.state})", passed=True)
        if snapshot.ssm_info is None:
            return NOT_EVALUATED
        info = snapshot.ssm_info.get(instance.id)
        if info is not None and info.ping_status == "Online":
            return PASSED
        # EC2 resets LaunchTime on every start, so a restarted instance gets the grace again.
        if instance.launch_time is None or now - instance.launch_time < grace:
            return Skip("within the SSM registration grace")
        return _finding(instance, info, settings, now)

    return judge_each(CheckName.SSM_UNMANAGED, snapshot, judge)


def _finding(instance: Instance, info: SsmInstanceInfo | None, settings: Settings, now: datetime) -> Finding:
    production = production_reason(instance, settings)
    severity = Severity.HIGH if production is not None else Severity.MEDIUM
    name = f" ({instance.name})" if instance.name else ""
    age = _age(now - instance.launch_time) if instance.launch_time else "an unknown time"
    if info is None:
        title = f"{severity.value.title()}: {instance.id}{name} is not managed by SSM"
        what = f"SSM does not know {instance.id}, running for {age}."
    else:
        title = f"{severity.value.title()}: SSM has lost contact with {instance.id}{name} ({info.ping_status})"
        seen = f" since {info.last_ping_at.isoformat()}" if info.last_ping_at else ""
        what = f"SSM reports {instance.id} as {info.ping_status}{seen}, running for {age}."
    if instance.iam_instance_profile_arn is None:
        likely = " It has no IAM instance profile, the usual cause: SSM Agent cannot authenticate."
    else:
        likely = (
            f" Its instance profile is {instance.iam_instance_profile_arn}: check that its role has "
            "AmazonSSMManagedInstanceCore, that SSM Agent runs, and that the subnet reaches the SSM endpoints."
        )
    env = environment_label(instance, settings)
    return Finding(
        check=CheckName.SSM_UNMANAGED,
        resource_id=instance.id,
        account=instance.account,
        region=instance.region,
        severity=severity,
        title=title,
        description=what + likely + " Without SSM it cannot be patched or inspected without SSH.",
        remediation=REMEDIATION,
        details={
            "ping_status": info.ping_status if info else None,
            "last_ping_at": info.last_ping_at if info else None,
            "agent_version": info.agent_version if info else None,
            "instance_profile": instance.iam_instance_profile_arn,
            "environment": env,
            "production": production is not None,
            "production_reason": production,
            "launched_at": instance.launch_time,
        },
    )


def _age(delta: timedelta) -> str:
    hours = int(delta.total_seconds() // 3600)
    if hours >= 48:
        return f"{hours // 24} days"
    if hours >= 1:
        return f"{hours} h"
    return f"{int(delta.total_seconds() // 60)} min"
