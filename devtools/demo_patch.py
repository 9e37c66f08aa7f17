"""The demo's patch-loop story: an unpatched web server found, patched, verified, resolved.

The prod stage's handlers run (mode enforce); moto's SSM is extended by devtools/moto_ssm.py, which
answers for the managed instances seeded here and acts like AWS-RunPatchBaseline when ec2-warden's
command reaches them. Run Command's status events are built from the command it recorded, in the
shape AWS publishes, and replayed through the on_patch_command handler as EventBridge would."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import timedelta
from typing import TYPE_CHECKING, Any

from chalicelib.rules.patch_tag import PATCH_REQUESTED_TAG, parse_patch_request

from . import events, moto_ssm
from .fleet import launch, make_group

if TYPE_CHECKING:
    from .demo import DemoContext

REGION = "us-east-1"


def patch_story(ctx: DemoContext) -> None:
    from .demo import _scheduled_event, _show_findings

    ec2, fleet = ctx.ec2, ctx.fleet
    ctx.say("\n== Patch loop (prod stage: enforce) ==")
    group = make_group(ec2, fleet, "patch-demo", [])
    web = launch(ec2, fleet, "web-legacy", subnet=fleet.private_subnet, groups=[group], tags={"Environment": "prod"})
    cache = launch(ec2, fleet, "cache-1", subnet=fleet.private_subnet, groups=[group], tags={"Environment": "prod"})
    batch = launch(ec2, fleet, "batch-worker", subnet=fleet.private_subnet, groups=[group], tags={"Environment": "dev"})
    for instance_id in (web, cache, batch):
        moto_ssm.backdate_launch(instance_id, timedelta(days=3), region=REGION)
    moto_ssm.FLEET.register(web, region=REGION, patch=moto_ssm.PatchFacts(missing=14, security=5, critical=2))
    moto_ssm.FLEET.register(
        cache, region=REGION, patch=moto_ssm.PatchFacts(missing=3), next_run_status="Failed"
    )  # its patch run will fail (say, a full disk)
    ctx.say("seeded (3 days old): web-legacy (prod, SSM-managed, 14 patches missing, 2 critical, 5 security),")
    ctx.say("        cache-1 (prod, managed, 3 missing; its next patch run will fail), batch-worker (dev, no SSM)")

    with _stage(ctx, "prod") as invoke:
        ctx.say("\n-- the scheduled sweep finds them and, in enforce mode, sends AWS-RunPatchBaseline")
        report = invoke("sweep", _scheduled_event())
        _show_findings(ctx, _only(report, {web, cache, batch}))
        ssm_calls = {k: v for k, v in report["api_calls"].items() if k.startswith("ssm:")}
        ctx.say(f"   SSM calls in this sweep: {ssm_calls}")
        commands = {i: _requested(ec2, i) for i in (web, cache)}
        for name, instance_id in (("web-legacy", web), ("cache-1", cache)):
            ctx.say(f"   {name} tagged {PATCH_REQUESTED_TAG}={_tag(ec2, instance_id)}")

        ctx.say("\n-- Run Command reports each invocation; EventBridge hands the events to on_patch_command")
        for instance_id in (web, cache):
            invocation = next(
                e
                for e in moto_ssm.command_events(commands[instance_id], region=REGION)
                if e["detail"].get("instance-id") == instance_id
            )
            report = invoke("on_patch_command", invocation)
            ctx.say(f"   {report['trigger']} for {instance_id}")
            for finding_id in report["resolved"]:
                ctx.say(f"   verified compliant and resolved: {finding_id}")
            for f in report["findings"]:
                ctx.say(f"   {f['severity']:<8} {f['check']:<18} {f['resource_id']}  [{f['status']}] {f['title']}")

        ctx.say("\n-- a new web server launches from the same old AMI; the RunInstances event arrives twice")
        fresh = launch(ec2, fleet, "web-2", subnet=fleet.private_subnet, groups=[group], tags={"Environment": "prod"})
        moto_ssm.FLEET.register(fresh, region=REGION)  # its agent registered at once, no scan yet
        event = events.run_instances([fresh], group)
        sent = 0
        for delivery in (1, 2):
            report = invoke("on_ec2_api_call", event)
            sent += report["api_calls"].get("ssm:SendCommand", 0)
            ctx.say(f"   delivery {delivery}: SendCommand calls {report['api_calls'].get('ssm:SendCommand', 0)}")
        ctx.say(f"   web-2 patched at launch with {sent} command in all (cooldown tag: {_tag(ec2, fresh)})")


def _only(report: dict[str, Any], ids: set[str]) -> dict[str, Any]:
    """The sweep covers the whole demo fleet; show this story's instances."""
    return {**report, "findings": [f for f in report["findings"] if f["resource_id"] in ids], "errors": []}


def _tag(ec2: Any, instance_id: str) -> str:
    tags = ec2.describe_tags(
        Filters=[{"Name": "resource-id", "Values": [instance_id]}, {"Name": "key", "Values": [PATCH_REQUESTED_TAG]}]
    )["Tags"]
    return tags[0]["Value"] if tags else "(none)"


def _requested(ec2: Any, instance_id: str) -> str:
    parsed = parse_patch_request(_tag(ec2, instance_id))
    if parsed is None:
        raise RuntimeError(f"{instance_id} was not patched: no {PATCH_REQUESTED_TAG} tag")
    return parsed[1]


@contextmanager
def _stage(ctx: DemoContext, stage: str) -> Iterator[Callable[[str, dict[str, Any]], dict[str, Any]]]:
    from chalice.test import Client

    import app as warden_app

    from .demo import PROJECT_DIR

    with Client(warden_app.app, stage_name=stage, project_dir=str(PROJECT_DIR)) as client:

        def invoke(function: str, event: dict[str, Any]) -> dict[str, Any]:
            report = client.lambda_.invoke(function, event).payload
            ctx.api_calls.update(report.get("api_calls", {}))
            return report

        yield invoke
