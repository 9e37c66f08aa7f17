"""`python -m chalicelib`: sweep, replay and demo.

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

from .cli_exceptions import ExceptionUsageError, add_exception_parser, run_exception_command
from .clients import AwsClients
from .model import Mode, Report
from .pipeline import run
from .report_json import write_report_json
from .scope import EventError, scope_from_event, sweep_scope
from .settings import Settings, SettingsError, load_settings
from .trust import within_boundary

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
        if args.command == "exception":
            return run_exception_command(args, load_settings(region=args.region), out)
        settings = load_settings(mode=Mode(args.mode) if args.mode else None, region=args.region)
        now = _parse_now(args.now)
        if args.command == "sweep":
            report = _sweep(settings, args.endpoint_url, now)
        else:
            report = _replay(Path(args.event), settings, args.endpoint_url, now)
    except (SettingsError, EventError, UsageError, ExceptionUsageError) as exc:
        print(f"ec2-warden: {exc}", file=err)
        return 2
    _print(report, args.format, out)
    if not report.completed:
        first = next(e for e in report.errors if e.where == "snapshot")
        print(f"ec2-warden: could not finish: {first.message}", file=err)
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
    # A replay runs where the event happened; only an explicit ALLOWED_ACCOUNTS/SWEEP_REGIONS narrows it.
    scope = within_boundary(scope_from_event(event), settings, None, None)
    region = _region(settings, scope.region)
    clients = AwsClients(region, endpoint_url=endpoint_url, max_attempts=settings.aws_max_attempts)
    return run(scope, settings, clients, now)


def _region(settings: Settings, from_event: str | None) -> str:
    region = from_event or settings.region
    if not region:
        raise UsageError("no region: pass --region or set AWS_REGION")
    return region


def _parse_now(text: str | None) -> datetime:
    if text is None:
        return datetime.now(UTC)
    try:
        parsed = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        raise UsageError(f"--now {text!r} is not an ISO 8601 time (like 2026-01-31T12:00:00Z)") from None
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)


def _print(report: Report, fmt: str, out: TextIO) -> None:
    if fmt == "json":
        write_report_json(report, out)  # findings streamed: a 17,000-finding report is never one dict
    else:  # the findings' lines streamed too: the same text as render_table(report.to_dict())
        for line in _table_lines(report.to_dict(findings=False), report.finding_dicts(), len(report.findings)):
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
    common.add_argument("--format", choices=["table", "json"], default="table")
    common.add_argument("--now", help="the time to judge at (ISO 8601); default: now")
    sub.add_parser("sweep", parents=[common], help="check every instance in one account and region")
    replay = sub.add_parser("replay", parents=[common], help="run a captured event through the Lambda's path")
    replay.add_argument("event", help="a JSON file: an EventBridge event or a CloudTrail record or log file")
    sub.add_parser("demo", help="run ec2-warden against an embedded AWS with a seeded fleet")
    add_exception_parser(sub)
    return parser
