"""`python -m chalicelib demo`: ec2-warden end to end on an embedded AWS (moto's server on 127.0.0.1).

It seeds a small fleet with stories, replays events through the real Lambda handlers (Chalice's
test client runs app.py's handlers with the dev stage's settings), runs a scheduled sweep, and
prints what a person wants to see. Nothing here is deployed; chalicelib imports it only for `demo`."""

from __future__ import annotations

import json
import logging
import time
from collections import Counter
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, TextIO

import boto3

from . import events
from .demo_drift import drift_story
from .demo_fanout import fanout_story
from .demo_member_events import member_events_story
from .demo_patch import patch_story
from .embedded_aws import fake_credentials, moto_server, patched_environ
from .fleet import SeededFleet, base_network, launch, make_group, tcp
from .idle_demo import idle_story
from .moto_dynamodb import create_lease_table
from .pricing_standin import PricingStandIn, demo_prices
from .slack_sink import SlackSink

REGION = "us-east-1"
PROJECT_DIR = Path(__file__).resolve().parents[1]
REPORT_DIR = PROJECT_DIR / "build" / "demo"
SEVERITY_ORDER = ("CRITICAL", "HIGH", "MEDIUM", "LOW", "INFORMATIONAL")


@dataclass
class DemoContext:
    """What a story needs: the AWS clients to seed with, the fleet, and how to call the handlers."""

    endpoint: str
    out: TextIO
    fleet: SeededFleet
    invoke: Callable[[str, dict[str, Any]], dict[str, Any]]
    ec2: Any
    api_calls: Counter[str] = field(default_factory=Counter)
    sink: SlackSink | None = None
    slack_seen: int = 0
    # Settings a story declares for the deployment from then on (the drift story's environment map):
    # the later stories run with them, so a finding is never resolved by the demo changing a setting.
    settings: dict[str, str] = field(default_factory=dict)

    def client(self, service: str) -> Any:
        return boto3.client(service, region_name=REGION, endpoint_url=self.endpoint)

    def say(self, text: str = "") -> None:
        self.out.write(text + "\n")
        self.out.flush()

    def handle(self, function: str, event: dict[str, Any]) -> dict[str, Any]:
        report = self.invoke(function, event)
        self.api_calls.update(report.get("api_calls", {}))
        self.show_slack()
        return report

    def show_slack(self) -> None:
        if self.sink is None:
            return
        messages = self.sink.rendered()
        for text in messages[self.slack_seen :]:
            self.say("   [Slack #security]")
            for line in text.splitlines():
                self.say(f"   | {line}")
        self.slack_seen = len(messages)


def run_demo(out: TextIO) -> int:
    started = time.monotonic()
    with (
        fake_credentials(),
        moto_server() as endpoint,
        SlackSink() as sink,
        PricingStandIn(demo_prices(REGION)) as prices,  # moto has no Price List API
        _demo_environment(endpoint, sink.url, prices.url),
        _handlers() as invoke,
    ):
        ec2 = boto3.client("ec2", region_name=REGION, endpoint_url=endpoint)
        # What infra/state.yaml deploys: the prod stage takes a per-instance lease before it patches or stops.
        create_lease_table(boto3.client("dynamodb", region_name=REGION, endpoint_url=endpoint), _lease_table("prod"))
        ctx = DemoContext(endpoint=endpoint, out=out, fleet=base_network(ec2), invoke=invoke, ec2=ec2, sink=sink)
        ctx.say(f"ec2-warden demo: embedded AWS (moto) at {endpoint}, region {REGION}, stage dev (mode notify)")
        for story in STORIES:
            story(ctx)
            ctx.show_slack()  # the story's own messages (a CLI run posts too), under its own heading
        _security_hub_summary(ctx)
        _write_reports(ctx, REPORT_DIR)
        calls = ", ".join(f"{k} {v}" for k, v in sorted(ctx.api_calls.items()))
        ctx.say(f"\nec2-warden's own AWS calls in this demo: {sum(ctx.api_calls.values())} ({calls})")
        ctx.say(f"done in {time.monotonic() - started:.1f} s")
    return 0


# --- stories: each seeds its part of the fleet, acts, and tells what happened -------------------


def exposure_story(ctx: DemoContext) -> None:
    ec2, fleet = ctx.ec2, ctx.fleet
    ctx.say("\n== Public exposure ==")
    db_admin = make_group(ec2, fleet, "orders-db-admin", [tcp(22, v4="0.0.0.0/0"), tcp(5432, v4="0.0.0.0/0")])
    runner_group = make_group(ec2, fleet, "build-runner", [])
    open_internal = make_group(ec2, fleet, "internal-api-wide", [tcp(22, v4="0.0.0.0/0")])
    web = make_group(ec2, fleet, "web-public", [tcp(443, v4="0.0.0.0/0")])
    launch(
        ec2,
        fleet,
        "orders-db",
        subnet=fleet.public_subnet,
        groups=[db_admin],
        tags={"Owner": "data-team", "Environment": "prod"},
        expected="CRITICAL",
    )
    runner = launch(
        ec2,
        fleet,
        "build-runner",
        subnet=fleet.public_subnet,
        groups=[runner_group],
        tags={"Owner": "ci-team", "Environment": "dev"},
        expected="CRITICAL",
    )
    launch(
        ec2,
        fleet,
        "internal-api",
        subnet=fleet.private_subnet,
        groups=[open_internal],
        tags={"Owner": "api-team", "Environment": "prod"},
    )
    launch(
        ec2,
        fleet,
        "web-1",
        subnet=fleet.public_subnet,
        groups=[web],
        tags={"Owner": "web-team", "Environment": "prod"},
        expected="MEDIUM",
    )
    ctx.say("seeded: orders-db (SSH and PostgreSQL open to 0.0.0.0/0, public IP), build-runner (closed),")
    ctx.say("        internal-api (SSH open to the world but no public address), web-1 (HTTPS open, public IP)")

    ctx.say("\n-- someone opens SSH to the world on build-runner's group; CloudTrail's event reaches the handler")
    ec2.authorize_security_group_ingress(GroupId=runner_group, IpPermissions=[tcp(22, v4="0.0.0.0/0")])
    report = ctx.handle("on_ec2_api_call", events.authorize_ingress(runner_group, 22))
    _show_findings(ctx, report)

    ctx.say("\n-- the scheduled sweep looks at every instance")
    report = ctx.handle("sweep", _scheduled_event())
    _show_findings(ctx, report)
    internal = fleet.instances["internal-api"]
    flagged = {f["resource_id"] for f in report["findings"] if f["check"] == "public-exposure"}
    ctx.say(
        f"   internal-api ({internal}) has an open group but no public address: "
        f"{'FLAGGED (wrong!)' if internal in flagged else 'not flagged, as it should be'}"
    )

    ctx.say("\n-- the SSH rule on build-runner is revoked; the event resolves the finding it fixes")
    ec2.revoke_security_group_ingress(GroupId=runner_group, IpPermissions=[tcp(22, v4="0.0.0.0/0")])
    report = ctx.handle("on_ec2_api_call", events.revoke_ingress(runner_group, 22))
    for finding_id in report["resolved"]:
        ctx.say(f"   resolved in Security Hub: {finding_id}")
    if not report["resolved"]:
        ctx.say(f"   nothing resolved (report errors: {report['errors']})")
    ctx.say(f"   build-runner {runner}: {len(report['findings'])} open finding(s) left")


STORIES: list[Callable[[DemoContext], None]] = [
    exposure_story,
    patch_story,
    idle_story,
    drift_story,
    fanout_story,
    member_events_story,
]


# --- plumbing -----------------------------------------------------------------------------------


def _show_findings(ctx: DemoContext, report: dict[str, Any]) -> None:
    if report.get("ignored"):
        ctx.say(f"   ignored: {report['ignored']}")
        return
    findings = sorted(report["findings"], key=lambda f: (SEVERITY_ORDER.index(f["severity"]), f["resource_id"]))
    by_severity = Counter(f["severity"] for f in findings)
    summary = ", ".join(f"{by_severity[s]} {s}" for s in SEVERITY_ORDER if by_severity[s]) or "none"
    ctx.say(f"   {report['trigger']}: {len(report['scope']['instances'])} instance(s) looked at; findings: {summary}")
    for f in findings:
        ctx.say(f"   {f['severity']:<8} {f['check']:<18} {f['resource_id']}  [{f['status']}] {f['title']}")
        if f["status"] in ("new", "changed"):
            for line in _why(f):
                ctx.say(f"            {line}")
    for action in report["actions"]:
        state = "done" if action["done"] else f"not done ({action['error'] or action['reason']})"
        ctx.say(f"   action {action['kind']}: {len(action['resource_ids'])} {state}")
    for error in report["errors"]:
        ctx.say(f"   error at {error['where']}: {error['message']}")


def _why(finding: dict[str, Any]) -> list[str]:
    """The lines of evidence a finding carries, for a reader (exposure paths, or a check's gaps)."""
    lines = [f"{gap['severity']}: {gap['text']}" for gap in finding.get("details", {}).get("gaps", [])[:4]]
    for path in finding.get("details", {}).get("paths", [])[:4]:
        lines.append(
            f"{path['address']} ({path['address_kind']}) <- {path['cidr']} {path['rule']} via "
            f"{path['group_id']} ({path['group_name']})"
        )
    return lines


def _security_hub_summary(ctx: DemoContext) -> None:
    hub = ctx.client("securityhub")
    states: Counter[str] = Counter()
    for page in hub.get_paginator("get_findings").paginate():
        for finding in page["Findings"]:
            if finding.get("GeneratorId", "").startswith("ec2-warden/"):
                workflow = (finding.get("Workflow") or {}).get("Status", "NEW")
                states[f"{finding['RecordState']}/{finding['Compliance']['Status']}/{workflow}"] += 1
    ctx.say("\n== Security Hub now holds ec2-warden's findings (record state / compliance / workflow) ==")
    for state, count in sorted(states.items()):
        ctx.say(f"   {state:<25} {count}")


def _write_reports(ctx: DemoContext, out_dir: Path) -> None:
    """The audit reports a person keeps: the fleet as a sweep sees it now (audit mode: reads only),
    and ec2-warden's findings read back from Security Hub, open and resolved in the demo."""
    from chalicelib.adapters.clients import AwsClients
    from chalicelib.cli.report_command import securityhub_report
    from chalicelib.events.scope import sweep_scope
    from chalicelib.model import Mode
    from chalicelib.pipeline import run
    from chalicelib.report.render import write_report
    from chalicelib.settings import load_settings

    # The zombie story's first sweep time (idle_demo.py): its metrics run up to then.
    now = (datetime.now(UTC) + timedelta(hours=1)).replace(minute=0, second=0, microsecond=0)
    out_dir.mkdir(parents=True, exist_ok=True)
    clients = AwsClients(REGION, endpoint_url=ctx.endpoint)
    report = run(sweep_scope(region=REGION), load_settings(mode=Mode.AUDIT, region=REGION), clients, now)
    sweep_page = out_dir / "ec2-warden-sweep.html"
    with sweep_page.open("w", encoding="utf-8") as out:
        write_report(report, "html", out, now)
    hub_page = out_dir / "ec2-warden-securityhub.html"
    with hub_page.open("w", encoding="utf-8") as out:
        view = securityhub_report(clients, REGION, 30, "html", out, now)
    ctx.say("\n== Audit reports (self-contained HTML: open them in a browser, print or archive them) ==")
    ctx.say(f"   sweep of {REGION}, {len(report.findings)} findings: {sweep_page}")
    ctx.say(f"   from Security Hub, {len(view.findings)} open and {len(view.resolved)} resolved in 30 days: {hub_page}")


def _lease_table(stage: str) -> str:
    config = json.loads((PROJECT_DIR / ".chalice" / "config.json").read_text())
    return str(config["stages"][stage]["environment_variables"]["LEASE_TABLE"])


def _scheduled_event() -> dict[str, Any]:
    return {
        "version": "0",
        "id": "53dc4d37-cffa-4f76-80c9-8b7d4a4d2eaa",
        "detail-type": "Scheduled Event",
        "source": "aws.events",
        "account": events.ACCOUNT,
        "time": "2026-01-01T00:00:00Z",
        "region": REGION,
        "resources": [f"arn:aws:events:{REGION}:{events.ACCOUNT}:rule/ec2-warden-dev-sweep"],
        "detail": {},
    }


@contextmanager
def _demo_environment(endpoint: str, slack_url: str, pricing_url: str) -> Iterator[None]:
    """boto3 honours AWS_ENDPOINT_URL, so the handlers reach the embedded AWS with no code change;
    the Slack webhook is the local sink; EMF metrics are not the demo reader's business."""
    values = {
        "AWS_ENDPOINT_URL": endpoint,
        "AWS_ENDPOINT_URL_PRICING": pricing_url,
        "AWS_REGION": REGION,
        "AWS_DEFAULT_REGION": REGION,
        "POWERTOOLS_LOG_LEVEL": "WARNING",
        "SLACK_WEBHOOK_URL": slack_url,
        "POWERTOOLS_METRICS_DISABLED": "true",
    }
    with patched_environ(values):
        yield


@contextmanager
def _handlers() -> Iterator[Callable[[str, dict[str, Any]], dict[str, Any]]]:
    from chalice.test import Client

    import app as warden_app

    from .chalice_context import lambda_timeout

    with (
        lambda_timeout(PROJECT_DIR, "dev"),
        Client(warden_app.app, stage_name="dev", project_dir=str(PROJECT_DIR)) as client,
    ):
        # The stage logs every decision at INFO, and every error as a JSON line (as it should in
        # Lambda). The demo's reader wants the story: each error is in the handler's answer, which the
        # stories print as a readable line (the fan-out's refused AssumeRole included).
        for handler in logging.getLogger("ec2-warden").handlers:
            handler.setLevel(logging.CRITICAL)

        def invoke(function: str, event: dict[str, Any]) -> dict[str, Any]:
            return client.lambda_.invoke(function, event).payload

        yield invoke
