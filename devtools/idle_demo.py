"""The demo's zombie-hunting story: a forgotten lab box idle for a month is marked, then (with --now
past its deadline) stopped, while a protected one is left alone; its owner starts it again and the
replayed state change unmarks it.

Driven through the CLI as a person would run it (`python -m chalicelib sweep --mode enforce --now`),
because the handlers run the dev stage (notify: no tags, no stops) and read the real clock."""

from __future__ import annotations

import io
import json
import tempfile
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from .idle_fleet import seed_idle_fleet

REGION = "us-east-1"
LIFECYCLE = ("warden:idle-since", "warden:stop-after", "warden:stopped-by")


def idle_story(ctx: Any) -> None:
    """`ctx` is demo.DemoContext (duck-typed here so demo.py imports this module, not the reverse)."""
    ec2 = ctx.ec2
    ctx.say("\n== Zombie hunting: idle instances ==")
    # Launched just now (moto stamps LaunchTime with the real clock); judged from the next hour on.
    now = (datetime.now(UTC) + timedelta(hours=1)).replace(minute=0, second=0, microsecond=0)
    later = now + timedelta(hours=73)
    fleet = seed_idle_fleet(ec2, ctx.client("cloudwatch"), until=later + timedelta(hours=1))
    lab, guarded = fleet.instances["forgotten-lab-box"], fleet.instances["protected-idle"]
    ctx.say("seeded with a month of CloudWatch metrics (moto has none of its own):")
    ctx.say("   forgotten-lab-box (CPU 1.5%, 0.6 MB a day), protected-idle (the same, tagged warden:protect),")
    ctx.say("   busy-web, bursty-batch (one busy day in 14), network-heavy, young-box (3 days), no-data-box")

    ctx.say(f"\n-- python -m chalicelib sweep --mode enforce --now {_iso(now)}")
    report = _cli(ctx, "sweep", "--mode", "enforce", "--now", _iso(now))
    _show_idle(ctx, report, fleet.instances)
    ctx.say(f"   forgotten-lab-box tags: {_lifecycle_tags(ec2, lab)}")
    ctx.say(f"   protected-idle tags:    {_lifecycle_tags(ec2, guarded) or 'none (protected: no deadline)'}")

    ctx.say("\n-- the same sweep again: nothing to write")
    report = _cli(ctx, "sweep", "--mode", "enforce", "--now", _iso(now))
    writes = {k: v for k, v in report["api_calls"].items() if not k.split(":")[1].startswith(("Describe", "Get"))}
    ctx.say(f"   writes: {writes or 'none'}; actions: {[a['kind'] for a in report['actions']] or 'none'}")

    ctx.say(f"\n-- 73 hours later, past the deadline: sweep --mode enforce --now {_iso(later)}")
    report = _cli(ctx, "sweep", "--mode", "enforce", "--now", _iso(later))
    _show_idle(ctx, report, fleet.instances)
    ctx.say(f"   forgotten-lab-box is {_state(ec2, lab)}; tags: {_lifecycle_tags(ec2, lab)}")
    ctx.say(f"   protected-idle is {_state(ec2, guarded)}")
    # The report's census is the fleet as the sweep found it, before its stop: ask again to see it after.
    sprawl = _cli(ctx, "sweep", "--mode", "audit", "--checks", "idle", "--now", _iso(later))["sprawl"]
    ctx.say(
        f"   census after the stop (an audit sweep): {sprawl['running']} running, "
        f"{sprawl['idle']} idle ({sprawl['idle_protected']} protected), "
        f"{sprawl['marked']} marked, {sprawl['stopped_by_warden']} stopped by ec2-warden, "
        f"{sprawl['not_enough_data']} with not enough data"
    )

    ctx.say("\n-- its owner starts it again; replaying the running state change (--mode enforce) unmarks it")
    ec2.start_instances(InstanceIds=[lab])
    event = _state_change(lab, "running", later + timedelta(minutes=10))
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "running.json"
        path.write_text(json.dumps(event))
        report = _cli(ctx, "replay", str(path), "--mode", "enforce", "--now", _iso(later + timedelta(minutes=10)))
    _show_idle(ctx, report, fleet.instances)
    ctx.say(f"   forgotten-lab-box tags: {_lifecycle_tags(ec2, lab) or 'none'}; resolved: {len(report['resolved'])}")


def _cli(ctx: Any, *args: str) -> dict[str, Any]:
    from chalicelib.cli import main

    out, err = io.StringIO(), io.StringIO()
    code = main([*args, "--endpoint-url", ctx.endpoint, "--region", REGION, "--format", "json", "--yes"], out, err)
    if code != 0:
        raise RuntimeError(f"the CLI failed ({code}): {err.getvalue().strip()}")
    report: dict[str, Any] = json.loads(out.getvalue())
    ctx.api_calls.update(report.get("api_calls", {}))
    return report


def _show_idle(ctx: Any, report: dict[str, Any], stories: dict[str, str]) -> None:
    names = {v: k for k, v in stories.items()}
    for f in report["findings"]:
        if f["check"] in ("idle", "stopped-long") and f["resource_id"] in names:
            stage = f["details"].get("stage", "")
            ctx.say(
                f"   {f['severity']:<4} {f['check']:<5} {names[f['resource_id']]:<18} [{f['status']}] stage {stage}"
            )
    for a in report["actions"]:
        if a["kind"] in ("mark-idle", "unmark-idle", "stop-idle"):
            who = ", ".join(names.get(i, i) for i in a["resource_ids"])
            state = "done" if a["done"] else f"FAILED: {a['error']}" if a["error"] else "not done"
            ctx.say(f"   action {a['kind']} ({who}): {state}")


def _lifecycle_tags(ec2: Any, instance_id: str) -> dict[str, str]:
    instance = ec2.describe_instances(InstanceIds=[instance_id])["Reservations"][0]["Instances"][0]
    return {t["Key"]: t["Value"] for t in instance.get("Tags", []) if t["Key"] in LIFECYCLE}


def _state(ec2: Any, instance_id: str) -> str:
    return str(ec2.describe_instances(InstanceIds=[instance_id])["Reservations"][0]["Instances"][0]["State"]["Name"])


def _state_change(instance_id: str, state: str, when: datetime) -> dict[str, Any]:
    account = "123456789012"
    return {
        "version": "0",
        "id": "7bf73129-1428-4cd3-a780-95db273d1602",
        "detail-type": "EC2 Instance State-change Notification",
        "source": "aws.ec2",
        "account": account,
        "time": _iso(when),
        "region": REGION,
        "resources": [f"arn:aws:ec2:{REGION}:{account}:instance/{instance_id}"],
        "detail": {"instance-id": instance_id, "state": state},
    }


def _iso(ts: datetime) -> str:
    return ts.strftime("%Y-%m-%dT%H:%M:%SZ")
