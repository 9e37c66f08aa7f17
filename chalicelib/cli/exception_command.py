"""`python -m chalicelib exception add|list|remove`: the approved-exceptions table, by people.

Runs with the caller's own credentials (the functions only read the table). `add` needs an approver
who is not the requester and an end date at most EXCEPTION_MAX_DAYS ahead; it never overwrites
(remove first). A security-group exception covers public-exposure only. Each change prints one
JSON line saying what was added or removed, for the audit trail."""

from __future__ import annotations

import argparse
import json
from datetime import UTC, datetime, timedelta
from typing import Any, TextIO

from chalicelib.adapters.clients import AWS_ERRORS, AwsClients, aws_error_message
from chalicelib.adapters.exceptions_table import ALL_CHECKS, ExceptionExists, ExceptionsTable, NoSuchException
from chalicelib.cli.failures import UsageError
from chalicelib.model import CheckName
from chalicelib.rules import timefmt
from chalicelib.rules.exceptions import Source, WardenException
from chalicelib.settings import Settings

_CHECKS = [c.value for c in CheckName] + ["all"]


class ExceptionUsageError(UsageError):
    """A refused exception command (exit 2)."""


def add_exception_parser(sub: Any) -> None:
    parser = sub.add_parser("exception", help="add, list or remove approved exceptions")
    verbs = parser.add_subparsers(dest="verb", required=True)
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument("--table", help="the exceptions table (default: EXCEPTIONS_TABLE)")
    common.add_argument("--region", help="AWS region (default: AWS_REGION / AWS_DEFAULT_REGION)")
    common.add_argument("--endpoint-url", help="AWS endpoint, e.g. a local moto server")
    common.add_argument("--now", help=argparse.SUPPRESS)
    add = verbs.add_parser("add", parents=[common], help="approve an exception")
    add.add_argument("--target", required=True, help="an instance id (i-...) or a security group id (sg-...)")
    add.add_argument("--check", choices=_CHECKS, default="all", help="the check it covers (default: all)")
    add.add_argument("--until", required=True, help="last day it holds, YYYY-MM-DD (UTC)")
    add.add_argument("--reason", required=True)
    add.add_argument("--requester", required=True)
    add.add_argument("--approver", required=True)
    verbs.add_parser("list", parents=[common], help="print every approved exception (JSON lines)")
    remove = verbs.add_parser("remove", parents=[common], help="remove an exception")
    remove.add_argument("--target", required=True)
    remove.add_argument("--check", choices=_CHECKS, default="all")


def run_exception_command(args: argparse.Namespace, settings: Settings, out: TextIO) -> int:
    table_name = args.table or settings.exceptions_table
    region = args.region or settings.region
    if not table_name:
        raise ExceptionUsageError("no table: pass --table or set EXCEPTIONS_TABLE")
    if not region:
        raise ExceptionUsageError("no region: pass --region or set AWS_REGION")
    clients = AwsClients(region, endpoint_url=args.endpoint_url, max_attempts=settings.aws_max_attempts)
    table = ExceptionsTable(clients.get("dynamodb"), table_name)
    now = _now(args.now)
    try:
        if args.verb == "add":
            exception = _exception(args, settings, now)
            table.add(exception)
            _print(out, "added", exception, now)
        elif args.verb == "remove":
            removed = table.remove(args.target, ALL_CHECKS if args.check == "all" else args.check)
            _print(out, "removed", removed, now)
        else:
            read = table.read()
            for exception in sorted(read.exceptions, key=lambda e: (e.target, sorted(e.checks or ()))):
                _print(out, "active" if exception.active(now) else "ended", exception, now)
            for line in read.unreadable:
                out.write(json.dumps({"unreadable": line}) + "\n")
    except (ExceptionExists, NoSuchException) as exc:
        raise ExceptionUsageError(str(exc)) from None
    except AWS_ERRORS as exc:
        raise ExceptionUsageError(f"{table_name}: {aws_error_message(exc)}") from None
    return 0


def _exception(args: argparse.Namespace, settings: Settings, now: datetime) -> WardenException:
    target = args.target.strip()
    if not target.startswith(("i-", "sg-")):
        raise ExceptionUsageError(f"--target {target!r} is neither an instance (i-...) nor a security group (sg-...)")
    if target.startswith("sg-") and args.check != CheckName.PUBLIC_EXPOSURE.value:
        raise ExceptionUsageError(
            "a security-group exception covers public-exposure only: pass --check public-exposure"
        )
    if args.approver.strip().lower() == args.requester.strip().lower():
        raise ExceptionUsageError("the approver must not be the requester")
    try:
        day = timefmt.parse_day_strict(args.until)
    except ValueError:
        raise ExceptionUsageError(f"--until {args.until!r} is not a date YYYY-MM-DD") from None
    expires = day + timedelta(days=1)
    if expires <= now:
        raise ExceptionUsageError(f"--until {args.until} has already passed")
    if expires > now + timedelta(days=settings.exception_max_days):
        raise ExceptionUsageError(
            f"--until {args.until} is more than EXCEPTION_MAX_DAYS={settings.exception_max_days} days ahead"
        )
    if not args.reason.strip():
        raise ExceptionUsageError("--reason must say why")
    return WardenException(
        target=target,
        checks=None if args.check == "all" else frozenset({args.check}),
        reason=args.reason.strip()[:512],
        requester=args.requester.strip(),
        expires_at=expires,
        source=Source.APPROVED,
        approver=args.approver.strip(),
        created_at=now,
    )


def _now(text: str | None) -> datetime:
    if text is None:
        return datetime.now(UTC)
    return timefmt.parse_iso_strict(text)


def _print(out: TextIO, state: str, e: WardenException, now: datetime) -> None:
    record = {
        "state": state,
        "target": e.target,
        "check": "all" if e.checks is None else ",".join(sorted(e.checks)),
        "until": timefmt.format_iso(e.expires_at),
        "days_left": max(0, (e.expires_at - now).days),
        "reason": e.reason,
        "requester": e.requester,
        "approver": e.approver,
        "age_days": (now - e.created_at).days if e.created_at else None,
    }
    out.write(json.dumps(record) + "\n")
