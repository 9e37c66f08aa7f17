"""Benchmark (not a test): checks + plan + sprawl census over a hand-built 10,000-instance snapshot.

    python bench/idle_plan.py [instances]

Prints wall time and tracemalloc's peak for building the snapshot and, separately, for judging it
(every registered check, plan_actions, sprawl_census). No AWS, no moto: pure functions only."""

from __future__ import annotations

import sys
import time
import tracemalloc
from datetime import UTC, datetime, timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from chalicelib.checks import run_checks
from chalicelib.model import (
    DailyUsage,
    DayUsage,
    IngressRule,
    Instance,
    Mode,
    NetworkInterface,
    SecurityGroup,
    Snapshot,
)
from chalicelib.plan import plan_actions
from chalicelib.report.sprawl import sprawl_census
from chalicelib.rules.idle import IDLE_SINCE, PROTECT, STOP_AFTER, STOPPED_BY, format_time
from chalicelib.settings import Settings

NOW = datetime(2026, 3, 1, 12, tzinfo=UTC)
DAYS = 14
START = NOW - timedelta(days=DAYS)
QUIET = (1.5, 200_000.0, 200_000.0)
BUSY = (45.0, 50_000_000.0, 50_000_000.0)

# story -> share of the fleet (sums to 100)
MIX = {
    "idle": 30,
    "marked": 10,
    "due": 5,
    "protected": 5,
    "active": 25,
    "bursty": 5,
    "young": 10,
    "stopped": 7,
    "stopped-by-warden": 3,
}


def build_snapshot(count: int) -> Snapshot:
    stories = [story for story, share in MIX.items() for _ in range(share)]
    groups = {
        "sg-00000001": SecurityGroup("sg-00000001", "web", ingress=(IngressRule("tcp", 443, 443, ("0.0.0.0/0",)),)),
        "sg-00000002": SecurityGroup("sg-00000002", "ssh", ingress=(IngressRule("tcp", 22, 22, ("10.0.0.0/8",)),)),
    }
    instances: list[Instance] = []
    usage: dict[str, DailyUsage] = {}
    for n in range(count):
        story = stories[n % len(stories)]
        instance_id = f"i-{n:017x}"
        tags = {"Name": f"box-{n}", "Environment": ("prod", "dev", "lab")[n % 3], "Owner": f"team-{n % 40}"}
        if story == "marked":
            tags |= {
                IDLE_SINCE: format_time(NOW - timedelta(hours=10)),
                STOP_AFTER: format_time(NOW + timedelta(hours=62)),
            }
        elif story == "due":
            tags |= {
                IDLE_SINCE: format_time(NOW - timedelta(hours=80)),
                STOP_AFTER: format_time(NOW - timedelta(hours=8)),
            }
        elif story == "protected":
            tags[PROTECT] = "owner said so"
        elif story == "stopped-by-warden":
            tags[STOPPED_BY] = format_time(NOW - timedelta(days=40))
        state = "stopped" if story.startswith("stopped") else "running"
        instances.append(
            Instance(
                id=instance_id,
                state=state,
                account="123456789012",
                region="eu-west-1",
                instance_type="t3.micro",
                tags=tags,
                launch_time=NOW - timedelta(days=90),
                network_interfaces=(
                    # one in ten has a public address (behind a world-open 443)
                    NetworkInterface(
                        f"eni-{n:017x}",
                        0,
                        ("sg-00000001", "sg-00000002"),
                        "10.0.0.1",
                        "203.0.113.1" if n % 10 == 0 else None,
                    ),
                ),
                state_transition_reason=(
                    f"User initiated ({(NOW - timedelta(days=5 + n % 60)).strftime('%Y-%m-%d %H:%M:%S')} GMT)"
                    if state == "stopped"
                    else ""
                ),
            )
        )
        if state == "running":
            usage[instance_id] = DailyUsage(instance_id, _days(story))
    return Snapshot(
        account="123456789012",
        region="eu-west-1",
        taken_at=NOW,
        is_sweep=True,
        instances=tuple(instances),
        security_groups=groups,
        prior_findings={},
        usage=usage,
        trigger="sweep",
    )


def _days(story: str) -> tuple[DayUsage, ...]:
    values = [BUSY if story == "active" else QUIET] * DAYS
    if story == "bursty":
        values[7] = BUSY
    out = []
    for index, (cpu, net_in, net_out) in enumerate(values):
        if story == "young" and index < DAYS - 3:
            out.append(DayUsage(START + timedelta(days=index)))
        else:
            out.append(DayUsage(START + timedelta(days=index), cpu, net_in, net_out))
    return tuple(out)


def judge(snapshot: Snapshot, settings: Settings) -> tuple[dict[str, float], object, dict]:
    times: dict[str, float] = {}
    started = time.perf_counter()
    results = run_checks(snapshot, settings, NOW)
    times["checks"] = time.perf_counter() - started
    plan = plan_actions(results, snapshot, settings, NOW)
    times["plan"] = time.perf_counter() - started - times["checks"]
    census = sprawl_census(snapshot, results, settings)
    times["census"] = time.perf_counter() - started - times["checks"] - times["plan"]
    return times, plan, census


def main() -> None:
    count = int(sys.argv[1]) if len(sys.argv) > 1 else 10_000
    settings = Settings(mode=Mode.ENFORCE)

    # Pass 1, time only (tracemalloc slows allocation-heavy code two- to threefold).
    started = time.perf_counter()
    snapshot = build_snapshot(count)
    built = time.perf_counter() - started
    times, plan, census = judge(snapshot, settings)
    del snapshot, plan

    # Pass 2, memory only.
    tracemalloc.start()
    snapshot = build_snapshot(count)
    snapshot_bytes, _ = tracemalloc.get_traced_memory()
    tracemalloc.reset_peak()
    judge(snapshot, settings)
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()

    total = sum(times.values())
    print(f"instances: {count}  (running {census['running']}, idle {census['idle']}, marked {census['marked']})")
    print(f"snapshot build: {built:.2f} s, holds {snapshot_bytes / 1e6:.1f} MB")
    print(", ".join(f"{k}: {v:.2f} s" for k, v in times.items()) + f"  -> total {total:.2f} s")
    print(
        f"peak memory while judging: {peak / 1e6:.1f} MB with the snapshot, "
        f"{(peak - snapshot_bytes) / 1e6:.1f} MB above it"
    )
    _, plan, _ = judge(snapshot, settings)
    print(f"findings: {len(plan.findings)}")
    for action in plan.actions:
        print(f"  {action.kind.value:<17} {len(action.resource_ids):>6}")


if __name__ == "__main__":
    main()
