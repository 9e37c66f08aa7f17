"""Hand-built snapshots for the idle tests: instances, tags and daily usage written as patterns."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import replace
from datetime import UTC, datetime, timedelta

from chalicelib.model import DailyUsage, DayUsage, Instance, PatchState, Snapshot, SsmInstanceInfo
from chalicelib.rules.idle import IDLE_SINCE, STOP_AFTER, format_time

NOW = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)
ACCOUNT = "123456789012"
REGION = "eu-west-1"

# One character a day, oldest first: i idle, b busy CPU, n busy network, . no data, c CPU only (partial)
_DAY = {
    "i": (1.0, 100_000.0, 100_000.0),
    "b": (55.0, 100_000.0, 100_000.0),
    "n": (1.0, 30_000_000.0, 30_000_000.0),
    ".": (None, None, None),
    "c": (1.0, None, None),
}


def days(pattern: str, end: datetime = NOW) -> tuple[DayUsage, ...]:
    start = end.replace(minute=0, second=0, microsecond=0) - timedelta(days=len(pattern))
    out = []
    for index, char in enumerate(pattern):
        cpu, net_in, net_out = _DAY[char]
        out.append(DayUsage(start + timedelta(days=index), cpu, net_in, net_out))
    return tuple(out)


def usage(instance_id: str, pattern: str) -> DailyUsage:
    return DailyUsage(instance_id, days(pattern))


def instance(
    instance_id: str,
    state: str = "running",
    tags: Mapping[str, str] | None = None,
    launch_time: datetime | None = None,
    reason: str = "",
) -> Instance:
    return Instance(
        id=instance_id,
        state=state,
        account=ACCOUNT,
        region=REGION,
        tags=dict(tags or {}),
        launch_time=launch_time if launch_time is not None else NOW - timedelta(days=60),
        state_transition_reason=reason,
    )


def marked(since: datetime, stop_after: datetime, **extra: str) -> dict[str, str]:
    return {IDLE_SINCE: format_time(since), STOP_AFTER: format_time(stop_after), **extra}


def snapshot(
    instances: Iterable[Instance],
    patterns: Mapping[str, str] | None = None,
    trigger: str = "sweep",
    missing: tuple[str, ...] = (),
) -> Snapshot:
    instances = tuple(instances)
    return Snapshot(
        account=ACCOUNT,
        region=REGION,
        taken_at=NOW,
        is_sweep=trigger == "sweep",
        instances=instances,
        security_groups={},
        missing_instance_ids=missing,
        usage={i: usage(i, p) for i, p in (patterns or {}).items()},
        trigger=trigger,
        # The idle story only: SSM manages every instance and patching is current, so the patch
        # checks pass instead of reporting "not evaluated".
        ssm_info={i.id: SsmInstanceInfo(i.id, "Online") for i in instances},
        patch_states={
            i.id: PatchState(i.id, operation="Scan", operation_end_time=NOW - timedelta(hours=6)) for i in instances
        },
    )


IDLE_14 = "i" * 14


def plan_for(snap: Snapshot, settings=None, now: datetime = NOW):
    """Run the idle check and the whole plan, as the pipeline does."""
    from chalicelib.checks import run_checks
    from chalicelib.plan import plan_actions
    from chalicelib.settings import Settings

    # The idle checks alone (WARDEN_CHECKS): the other checks have their own plan tests.
    settings = replace(settings or Settings(), checks=("idle", "stopped-long"))
    return plan_actions(run_checks(snap, settings, now), snap, settings, now)


def idle_actions(plan) -> dict[str, object]:
    """kind value -> action, for the idle lifecycle kinds only."""
    return {a.kind.value: a for a in plan.actions if a.kind.value in ("mark-idle", "unmark-idle", "stop-idle")}


def carry_out(snap: Snapshot, plan, now: datetime = NOW) -> Snapshot:
    """What enforce mode would leave behind: the plan's tag and stop actions applied to the snapshot."""
    from dataclasses import replace

    by_id = {i.id: i for i in snap.instances}
    for action in plan.actions:
        for instance_id in action.resource_ids:
            inst = by_id.get(instance_id)
            if inst is None:
                continue
            tags = dict(inst.tags)
            state = inst.state
            reason = inst.state_transition_reason
            if action.kind.value == "unmark-idle":
                for key in action.params["keys"]:
                    tags.pop(key, None)
            elif action.kind.value == "mark-idle":
                tags.update(action.params["tags"])
            elif action.kind.value == "stop-idle":
                tags.update(action.params["tags"])
                state = "stopped"
                reason = f"User initiated ({now.strftime('%Y-%m-%d %H:%M:%S')} GMT)"
            else:
                continue
            by_id[instance_id] = replace(inst, tags=tags, state=state, state_transition_reason=reason)
    return replace(snap, instances=tuple(by_id[i.id] for i in snap.instances))
