"""`python -m chalicelib`: sweep, replay, report and demo.

Exit codes: 0 the run finished (with findings or not), 2 bad usage, settings or event, 1 the run
could not finish (AWS unreachable, instances unreadable). Errors go to stderr in one line."""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Iterator, Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, TextIO

from .clients import AWS_ERRORS, AwsClients, aws_error_message
from .events.dispatch import run_routed
from .model import Mode, Report
from .partitions import partition_of
from .pipeline import run
from .report.by_instance import by_instance
from .report.render import AUDIT_FORMATS, write_report
from .report_json import write_report_json
from .rules.timefmt import parse_iso_strict
from .scope import EventError, scope_from_event, sweep_scope
from .settings import Settings, SettingsError, load_settings

MAX_EVENT_BYTES = 1024 * 1024  # a real EventBridge event is at most 256 KB


class UsageError(Exception):
    """Bad flags or input: exit 2."""


def main(argv: Sequence[str] | None = None, stdout: TextIO | None = None, stderr: TextIO | None = None) -> int:
    out = stdout or sys.stdout
    err = stderr or sys.stderr
    parser = _parser()
    try:
        args = parser.parse_args(argv)
    except SystemExit as exc:  # argparse has printed its message
        return 2 if exc.code else 0
    try:
        if args.command == "demo":
            from devtools.demo import run_demo  # only here: nothing deployed imports moto

            return run_demo(out=out)
        if args.command == "report":
            return _report(args, out, err)
        settings = load_settings(mode=Mode(args.mode) if args.mode else None, region=args.region)
        now = _parse_now(args.now)
        if args.command == "sweep":
            report = _sweep(settings, args.endpoint_url, now)
        else:
            report = _replay(Path(args.event), settings, args.endpoint_url, now)
    except (SettingsError, EventError, UsageError) as exc:
        print(f"ec2-warden: {exc}", file=err)
        return 2
    if args.format in AUDIT_FORMATS:
        from .report.html import RendererUnavailable

        try:
            write_report(report, args.format, out, now)
        except RendererUnavailable as exc:
            print(f"ec2-warden: {exc}", file=err)
            return 2
    else:
        _print(report, args.format, out, group_by=args.group_by)
    if not report.completed:
        first = next(e for e in report.errors if e.where in Report.BLOCKING_ERRORS)
        print(f"ec2-warden: could not finish: {first.message}", file=err)
        return 1
    return 0


def _report(args: argparse.Namespace, out: TextIO, err: TextIO) -> int:
    """`report --from-securityhub`: chalicelib/report/command.py."""
    from .report.command import ReportUsageError, securityhub_report
    from .report.html import RendererUnavailable

    if not args.from_securityhub:
        raise UsageError("report needs a source: --from-securityhub")
    region = _region(load_settings(region=args.region), None)
    clients = AwsClients(region, endpoint_url=args.endpoint_url)
    try:
        securityhub_report(clients, region, args.since, args.format, out, _parse_now(args.now))
    except (ReportUsageError, RendererUnavailable) as exc:
        raise UsageError(str(exc)) from None
    except AWS_ERRORS as exc:
        print(f"ec2-warden: could not read Security Hub: {aws_error_message(exc)}", file=err)
        return 1
    return 0


def _sweep(settings: Settings, endpoint_url: str | None, now: datetime) -> Report:
    region = _region(settings, None)
    clients = AwsClients(region, endpoint_url=endpoint_url, max_attempts=settings.aws_max_attempts)
    return run(sweep_scope(region=region), settings, clients, now)


def _replay(path: Path, settings: Settings, endpoint_url: str | None, now: datetime) -> Report:
    try:
        size = path.stat().st_size
    except OSError as exc:
        raise UsageError(f"cannot read {path}: {exc.strerror}") from None
    if size > MAX_EVENT_BYTES:
        raise EventError(f"{path} is {size} bytes; an event is at most {MAX_EVENT_BYTES} bytes")
    try:
        event = json.loads(path.read_text(encoding="utf-8"))
    except UnicodeDecodeError:
        raise EventError(f"{path} is not UTF-8 text") from None
    except json.JSONDecodeError as exc:
        raise EventError(f"{path} is not valid JSON: {exc.msg} at line {exc.lineno} column {exc.colno}") from None
    except RecursionError:
        raise EventError(f"{path} nests deeper than any event does") from None
    # A replay runs where the event happened; only an explicit ALLOWED_ACCOUNTS/SWEEP_REGIONS narrows
    # it. With ALLOWED_ACCOUNTS set, a member account's event is judged as Lambda judges it: in that
    # account, with the member role assumed with the caller's own credentials.
    scope = scope_from_event(event)
    region = _region(settings, scope.region)
    own: dict[str, AwsClients] = {}

    def clients_in(name: str) -> AwsClients:
        if name not in own:
            own[name] = AwsClients(name, endpoint_url=endpoint_url, max_attempts=settings.aws_max_attempts)
        return own[name]

    home_region = settings.region or region
    return run_routed(
        scope,
        settings,
        home=clients_in(home_region),
        clients_in=clients_in,
        home_account=None,
        own_region=None,
        partition=partition_of(home_region),
        now=now,
    )


def _region(settings: Settings, from_event: str | None) -> str:
    region = from_event or settings.region
    if not region:
        raise UsageError("no region: pass --region or set AWS_REGION")
    return region


def _parse_now(text: str | None) -> datetime:
    if text is None:
        return datetime.now(UTC)
    try:
        return parse_iso_strict(text)
    except ValueError:
        raise UsageError(f"--now {text!r} is not an ISO 8601 time (like 2026-01-31T12:00:00Z)") from None


def _print(report: Report, fmt: str, out: TextIO, group_by: str = "none") -> None:
    if fmt == "json":
        write_report_json(report, out)  # findings streamed: a 17,000-finding report is never one dict
    else:  # the findings' lines streamed too: the same text as render_table(report.to_dict())
        findings: Iterator[dict[str, Any]] = report.finding_dicts()
        if group_by == "instance":  # each instance's findings together (they are all read first)
            findings = iter(by_instance(findings))
        for line in _table_lines(report.to_dict(findings=False), findings, len(report.findings)):
            out.write(line + "\n")


def render_table(data: dict[str, Any]) -> str:
    """The report as a person reads it."""
    return "\n".join(_table_lines(data, iter(data["findings"]), len(data["findings"]))) + "\n"


def _table_lines(data: dict[str, Any], findings: Iterator[dict[str, Any]], count: int) -> Iterator[str]:
    scope = data["scope"]
    lines = [
        f"ec2-warden {data['mode']} | {data['trigger']} | account {scope['account']} | region {scope['region']}"
        f" | {len(scope['instances'])} instance(s)"
    ]
    if data.get("ignored"):
        lines.append(f"ignored: {data['ignored']}")
    if data.get("census"):
        lines.append("census: " + ", ".join(f"{k} {v}" for k, v in data["census"].items()))
    if data.get("sprawl"):
        lines.append(_sprawl_line(data["sprawl"]))
    lines.append(f"\nfindings: {count}")
    if count:
        lines.append(f"  {'SEVERITY':<9} {'CHECK':<18} {'INSTANCE':<20} {'STATUS':<9} TITLE")
    yield from lines
    lines = []
    for f in findings:
        yield f"  {f['severity']:<9} {f['check']:<18} {f['resource_id']:<20} {f['status']:<9} {f['title']}"
        yield from _actor_lines(f.get("details") or {})
    if data["resolved"]:
        lines.append(f"\nresolved: {len(data['resolved'])}")
        lines.extend(f"  {fid}" for fid in data["resolved"])
    if data["actions"]:
        lines.append("\nactions:")
        for a in data["actions"]:
            state = "done" if a["done"] else ("FAILED" if a["error"] else "not done")
            tail = f" - {a['error']}" if a["error"] else (f" - {a['reason']}" if a["reason"] else "")
            lines.append(f"  {a['kind']:<17} {len(a['resource_ids']):>5} {state}{tail}")
    if data["errors"]:
        lines.append("\nerrors:")
        lines.extend(f"  {e['where']}: {e['message']}" for e in data["errors"])
    calls = data["api_calls"]
    lines.append(
        f"\nAWS calls: {sum(calls.values())}"
        + (" (" + ", ".join(f"{k} {v}" for k, v in calls.items()) + ")" if calls else "")
    )
    yield from lines


def _actor_lines(details: dict[str, Any]) -> Iterator[str]:
    """The evidence of who made the change (details.actor), under its finding."""
    actor = details.get("actor")
    if not isinstance(actor, dict):
        return
    line = f"{'':13}by {actor.get('principal') or '?'} ({actor.get('type')}, {actor.get('client')})"
    if actor.get("source_ip"):
        line += f" from {actor['source_ip']}"
    if actor.get("event_time"):
        line += f" at {actor['event_time']}"
    extra = [f"{k.replace('_', ' ')} {actor[k]}" for k in ("role_arn", "session_name", "invoked_by") if actor.get(k)]
    if actor.get("mfa") is not None:
        extra.append("MFA used" if actor["mfa"] else "no MFA")
    yield line + (f"; {', '.join(extra)}" if extra else "")
    if details.get("escalated_because"):
        yield f"{'':13}raised a step: {details['escalated_because']}"


def _sprawl_line(sprawl: dict[str, Any]) -> str:
    line = (
        f"sprawl: running {sprawl['running']}, idle {sprawl['idle']} ({sprawl['idle_protected']} protected), "
        f"marked {sprawl['marked']}, stopped by warden {sprawl['stopped_by_warden']}, "
        f"stopped > {sprawl['stopped_max_days']} days {sprawl['stopped_long']}"
    )
    envs = [f"{k} {v['idle']}/{v['running']}" for k, v in sprawl.get("by_environment", {}).items() if v["running"]]
    return line + (f"\n  idle/running by Environment: {', '.join(envs[:8])}" if envs else "")


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m chalicelib", description="ec2-warden: keep an EC2 fleet safe.")
    sub = parser.add_subparsers(dest="command", required=True)
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument("--region", help="AWS region (default: AWS_REGION / AWS_DEFAULT_REGION)")
    common.add_argument("--endpoint-url", help="AWS endpoint, e.g. a local moto server")
    common.add_argument("--mode", choices=[m.value for m in Mode], help="default: WARDEN_MODE, else audit")
    common.add_argument("--format", choices=["table", "json", *AUDIT_FORMATS], default="table")
    common.add_argument("--now", help="the time to judge at (ISO 8601); default: now")
    common.add_argument(
        "--group-by",
        choices=["none", "instance"],
        default="none",
        help="table order: as reported (worst first), or each instance's findings together",
    )
    sub.add_parser("sweep", parents=[common], help="check every instance in one account and region")
    replay = sub.add_parser("replay", parents=[common], help="run a captured event through the Lambda's path")
    replay.add_argument("event", help="a JSON file: an EventBridge event or a CloudTrail record or log file")
    report = sub.add_parser("report", help="the audit report of ec2-warden's findings in Security Hub")
    report.add_argument("--from-securityhub", action="store_true", help="read the findings back from Security Hub")
    report.add_argument("--region", help="the hub's region (a finding aggregator's holds every region)")
    report.add_argument("--endpoint-url", help="AWS endpoint, e.g. a local moto server")
    report.add_argument("--since", type=int, default=30, help="days of resolved findings to include (default 30)")
    report.add_argument("--format", choices=["html", "csv", "ocsf", "json"], default="html")
    report.add_argument("--now", help="the time to report at (ISO 8601); default: now")
    sub.add_parser("demo", help="run ec2-warden against an embedded AWS with a seeded fleet")
    return parser
