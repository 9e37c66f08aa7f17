"""The command's flow: flags -> settings -> scope -> (enforce asks first) -> pipeline -> report -> exit code."""

from __future__ import annotations

import json
import logging
import os
import sys
import traceback
from collections.abc import Iterator, Sequence
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, TextIO

from chalicelib.cli.args import build_parser
from chalicelib.cli.failures import BAD_INPUT, COULD_NOT_FINISH, CouldNotFinish, UsageError, describe_failure
from chalicelib.cli.formats import print_report
from chalicelib.cli.options import OutputOptions
from chalicelib.model import Mode, Report, Severity

MAX_EVENT_BYTES = 1024 * 1024  # a real EventBridge event is at most 256 KB


@dataclass
class Streams:
    out: TextIO
    err: TextIO
    stdin: Any


def main(
    argv: Sequence[str] | None = None, stdout: TextIO | None = None, stderr: TextIO | None = None, stdin: Any = None
) -> int:
    io = Streams(stdout or sys.stdout, stderr or sys.stderr, stdin or sys.stdin)
    verbose = "--verbose" in (sys.argv[1:] if argv is None else argv)
    try:
        args = build_parser(_prog()).parse_args(argv)
    except SystemExit as exc:  # --help and --version have printed their text
        return 0 if not exc.code else BAD_INPUT
    except UsageError as exc:
        return _fail(exc, io, verbose)
    try:
        return _dispatch(args, io)
    except BrokenPipeError:  # the reader left (`| head`): nothing to say, and nothing more to write
        _silence(io.out)
        return COULD_NOT_FINISH
    except (Exception, KeyboardInterrupt) as exc:  # the edge: one line and an exit code, never a traceback
        return _fail(exc, io, verbose)


def _fail(exc: BaseException, io: Streams, verbose: bool) -> int:
    code, line = describe_failure(exc)
    if verbose:
        traceback.print_exception(exc, file=io.err)
    print(f"ec2-warden: {line}", file=io.err)
    return code


def _silence(out: TextIO) -> None:
    """Point stdout at /dev/null, so the interpreter's final flush does not fail again."""
    try:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, out.fileno())
    except (OSError, ValueError, AttributeError):  # not a real file (a test's StringIO)
        pass


def _prog() -> str:
    return "python -m chalicelib" if Path(sys.argv[0]).name == "__main__.py" else "ec2-warden"


def _dispatch(args: Any, io: Streams) -> int:
    if args.list_checks:
        from chalicelib.cli.checklist import write_check_list

        write_check_list(io.out)
        return 0
    if args.command is None:
        raise UsageError("name a command: sweep, replay, report, exception, demo or lab (see --help)")
    if args.command == "demo":
        from chalicelib.cli.devtools_loader import DEMO, load

        return int(load(DEMO, "demo")(out=io.out))
    if args.command == "lab":
        from chalicelib.cli.lab import run_lab

        return run_lab(args.port, io.out)
    if args.command == "report":
        return _report(args, io)
    if args.command == "exception":
        from chalicelib.cli.exception_command import run_exception_command
        from chalicelib.settings import load_settings

        return run_exception_command(args, load_settings(region=args.region), io.out)
    return _run(args, io)


def _report(args: Any, io: Streams) -> int:
    """`report --from-securityhub`: chalicelib/cli/report_command.py."""
    from chalicelib.adapters.clients import AWS_ERRORS, AwsClients, aws_error_message
    from chalicelib.cli.report_command import ReportUsageError, securityhub_report
    from chalicelib.report.html import RendererUnavailable
    from chalicelib.settings import load_settings

    if not args.from_securityhub:
        raise UsageError("report needs a source: --from-securityhub")
    session = _session(args.profile)
    region = _region(load_settings(region=args.region), None, session)
    clients = AwsClients(region, endpoint_url=args.endpoint_url, session=session)
    with ExitStack() as stack:
        stack.enter_context(_quiet_logs(args.verbose))
        out = _output(args.output, io.out, stack)
        try:
            securityhub_report(clients, region, args.since, args.format, out, _parse_now(args.now))
        except (ReportUsageError, RendererUnavailable) as exc:
            raise UsageError(str(exc)) from None
        except AWS_ERRORS as exc:
            raise CouldNotFinish(f"could not read Security Hub: {aws_error_message(exc)}") from None
    return 0


def _run(args: Any, io: Streams) -> int:
    with ExitStack() as stack:
        stack.enter_context(_quiet_logs(args.verbose))
        return _sweep_or_replay(args, io, stack)


def _sweep_or_replay(args: Any, io: Streams, stack: ExitStack) -> int:
    from chalicelib.adapters.clients import AwsClients
    from chalicelib.events.scope import sweep_scope
    from chalicelib.pipeline import run
    from chalicelib.rules.partitions import partition_of
    from chalicelib.runtime.dispatch import run_routed
    from chalicelib.settings import load_settings, near_misses, parse_flag

    for warning in near_misses(os.environ):
        print(f"ec2-warden: warning: {warning}", file=io.err)
    overrides: dict[str, Any] = {"mode": Mode(args.mode) if args.mode else None, "region": args.region}
    if args.checks is not None:
        overrides["checks"] = parse_flag("WARDEN_CHECKS", args.checks, "--checks")
    settings = load_settings(**overrides)
    now = _parse_now(args.now)
    if args.read_findings and settings.mode is not Mode.AUDIT:
        raise UsageError("--read-findings previews notify from audit mode; it does not go with --mode " + settings.mode)
    session = _session(args.profile)
    if args.command == "sweep":
        scope = sweep_scope(region=_region(settings, None, session))
    else:
        scope = _read_event(Path(args.event))
    region = _region(settings, scope.region, session)
    own: dict[str, AwsClients] = {}

    def clients_in(name: str) -> AwsClients:
        if name not in own:
            own[name] = AwsClients(
                name, endpoint_url=args.endpoint_url, session=session, max_attempts=settings.aws_max_attempts
            )
        return own[name]

    clients = clients_in(region)
    out = _output(args.output, io.out, stack)  # a bad --output fails before anything is read or changed
    if settings.mode is Mode.ENFORCE and not scope.ignored:
        from chalicelib.cli.confirm import confirm_enforce

        confirm_enforce(clients, region, yes=args.yes, err=io.err, stdin=io.stdin)
    if args.command == "sweep":
        report = run(scope, settings, clients, now, read_findings=args.read_findings)
    else:
        # A replay runs where the event happened; only an explicit ALLOWED_ACCOUNTS/SWEEP_REGIONS
        # narrows it. With ALLOWED_ACCOUNTS set, a member account's event is judged as Lambda judges
        # it: in that account, with the member role assumed with the caller's own credentials.
        home_region = settings.region or region
        report = run_routed(
            scope,
            settings,
            home=clients_in(home_region),
            clients_in=clients_in,
            home_account=None,
            own_region=None,
            partition=partition_of(home_region),
            now=now,
            read_findings=args.read_findings,
        )
    options = OutputOptions(
        color=args.output is None and _wants_color(io.out),
        min_severity=Severity(args.min_severity) if args.min_severity else None,
        group_by=args.group_by,
        now=now,
    )
    print_report(report, args.format, out, options)
    if args.read_findings and args.format == "table":
        from chalicelib.cli.preview import write_preview

        write_preview(report, out)
    return _exit_code(report, io.err)


def _exit_code(report: Report, err: TextIO) -> int:
    if not report.completed:
        first = next(e for e in report.errors if e.where in Report.BLOCKING_ERRORS)
        raise CouldNotFinish(first.message)
    if report.errors:
        print(f"ec2-warden: warning: the run finished with {len(report.errors)} error(s); see errors", file=err)
    return 0


@contextmanager
def _quiet_logs(verbose: bool) -> Iterator[None]:
    """The pipeline's JSON log lines are the Lambda's; a person at a terminal reads the report. Every
    error they carry is in the report (`errors`), so the CLI shows them only with --verbose. The level
    is restored afterwards: main() also runs in-process (tests, the demo)."""
    from chalicelib.adapters.log import logger

    before = logger.log_level
    if verbose:
        logger.setLevel(os.environ.get("POWERTOOLS_LOG_LEVEL", "INFO").upper())
    else:
        logger.setLevel("CRITICAL")  # nothing in ec2-warden logs at CRITICAL
        root = logging.getLogger()
        if not root.handlers:
            root.addHandler(logging.NullHandler())  # no "last resort" lines from libraries
    try:
        yield
    finally:
        logger.setLevel(before)


def _session(profile: str | None) -> Any:
    if profile is None:
        return None
    from botocore.exceptions import ProfileNotFound

    from chalicelib.adapters.clients import profile_session

    try:
        return profile_session(profile)
    except ProfileNotFound:
        raise UsageError(f"--profile {profile}: no such profile in your AWS config or credentials files") from None


def _region(settings: Any, from_event: str | None, session: Any) -> str:
    region = from_event or settings.region or (session.get_config_variable("region") if session else None)
    if not region:
        raise UsageError("no region: pass --region or set AWS_REGION")
    return str(region)


def _read_event(path: Path) -> Any:
    from chalicelib.events.scope import EventError, scope_from_event

    try:
        if path.is_dir():
            raise UsageError(f"cannot read {path}: it is a directory, not an event file")
        size = path.stat().st_size
        if size > MAX_EVENT_BYTES:
            raise EventError(f"{path} is {size} bytes; an event is at most {MAX_EVENT_BYTES} bytes")
        text = path.read_bytes().decode("utf-8")
    except UnicodeDecodeError:
        raise EventError(f"{path} is not UTF-8 text") from None
    except OSError as exc:
        raise UsageError(f"cannot read {path}: {exc.strerror or exc}") from None
    try:
        event = json.loads(text)
    except json.JSONDecodeError as exc:
        raise EventError(f"{path} is not valid JSON: {exc.msg} at line {exc.lineno} column {exc.colno}") from None
    except RecursionError:
        raise EventError(f"{path} nests deeper than any event does") from None
    return scope_from_event(event)


def _output(path: str | None, default: TextIO, stack: ExitStack) -> TextIO:
    if path is None:
        return default
    try:
        return stack.enter_context(open(path, "w", encoding="utf-8"))
    except OSError as exc:
        raise UsageError(f"--output {path}: cannot write: {exc.strerror or exc}") from None


def _wants_color(out: TextIO) -> bool:
    """Colour on a terminal, unless NO_COLOR is set (no-color.org)."""
    return bool(getattr(out, "isatty", lambda: False)()) and not os.environ.get("NO_COLOR")


def _parse_now(text: str | None) -> datetime:
    if text is None:
        return datetime.now(UTC)
    from chalicelib.rules.timefmt import parse_iso_strict

    try:
        return parse_iso_strict(text)
    except ValueError:
        raise UsageError(f"--now {text!r} is not an ISO 8601 time (like 2026-01-31T12:00:00Z)") from None


__all__ = ["COULD_NOT_FINISH", "main"]
