"""The report as a person reads it: who was looked at, what was found and why, what was done, a summary.

Streamed: a finding's lines are written as they are produced, so a 17,000-finding sweep is never one
string. In colour (rich) when the output is a terminal; the words are the same either way, so
`render_table(report.to_dict())` is the uncoloured text of `write_table`."""

from __future__ import annotations

import io
from collections import Counter
from collections.abc import Callable, Iterable, Iterator
from typing import Any, TextIO

from rich import box
from rich.console import Console
from rich.table import Table
from rich.text import Text

from chalicelib.cli.options import OutputOptions
from chalicelib.model import Report, Severity
from chalicelib.report.by_instance import by_instance

SEVERITY_STYLE = {
    "CRITICAL": "bold white on red",
    "HIGH": "bold red",
    "MEDIUM": "yellow",
    "LOW": "cyan",
    "INFORMATIONAL": "dim",
}
SEVERITIES = [s.value for s in reversed(Severity)]  # CRITICAL first
MAX_EVIDENCE = 4  # lines of evidence a finding shows; the JSON report holds them all

Line = tuple[str, str | None]  # text, rich style (None: plain)


def write_table(report: Report, out: TextIO, options: OutputOptions) -> None:
    findings: Callable[[], Iterator[dict[str, Any]]] = report.finding_dicts
    if options.group_by == "instance":  # each instance's findings together (they are all read first)
        grouped = by_instance(report.finding_dicts())

        def findings() -> Iterator[dict[str, Any]]:
            return iter(grouped)  # type: ignore[arg-type]

    lines = table_lines(report.to_dict(findings=False), findings, len(report.findings), options.hidden)
    if not options.color:
        for text, _ in lines:
            out.write(text + "\n")
        return
    console = Console(file=out, force_terminal=True, highlight=False, soft_wrap=True, emoji=False)
    for text, style in lines:
        console.print(Text(text, style=style or ""))


def render_table(data: dict[str, Any], hidden: int = 0) -> str:
    """The uncoloured table of a report's dict."""
    lines = table_lines(data, lambda: iter(data["findings"]), len(data["findings"]), hidden)
    return "".join(text + "\n" for text, _ in lines)


def table_lines(
    data: dict[str, Any], findings: Callable[[], Iterator[dict[str, Any]]], count: int, hidden: int = 0
) -> Iterator[Line]:
    scope = data["scope"]
    yield (
        f"ec2-warden {data['mode']} | {data['trigger']} | account {scope['account']} | region {scope['region']}"
        f" | {len(scope['instances'])} instance(s)",
        "bold",
    )
    fatal = [e for e in data["errors"] if e["where"] == "snapshot"]
    if fatal:  # nothing was judged: never a line that reads like a clean fleet
        yield ("\nRUN DID NOT FINISH: nothing was checked, so this is not a clean bill of health.", "bold red")
        yield from ((f"  {e['message']}", "red") for e in fatal)
        yield from _calls(data)
        return
    if data.get("ignored"):
        yield (f"ignored: {data['ignored']}", None)
    if data.get("census"):
        yield ("census: " + ", ".join(f"{k} {v}" for k, v in data["census"].items()), None)
    if data.get("sprawl"):
        due = sum(1 for f in findings() if f["check"] == "idle" and f["details"].get("stage") == "due")
        yield from _sprawl_lines(data["sprawl"], due)

    by_check: Counter[tuple[str, str]] = Counter()
    shown_count = f"{count} shown, {hidden} below --min-severity not shown" if hidden else str(count)
    yield (f"\nfindings: {shown_count}", "bold")
    if count:
        yield (f"  {'SEVERITY':<9} {'CHECK':<18} {'INSTANCE':<20} {'STATUS':<9} TITLE", "dim")
    for f in findings():
        by_check[(f["check"], f["severity"])] += 1
        yield (
            f"  {f['severity']:<9} {f['check']:<18} {f['resource_id']:<20} {f['status']:<9} {f['title']}",
            SEVERITY_STYLE.get(f["severity"]),
        )
        yield from ((f"  {'':<9} {'':<18} {line}", None) for line in actor_lines(f.get("details") or {}))
        yield from ((f"  {'':<9} {'':<18} {line}", "dim") for line in evidence(f)[:MAX_EVIDENCE])
    if data["resolved"]:
        yield (f"\nresolved: {len(data['resolved'])}", "bold green")
        yield from ((f"  {fid}", None) for fid in data["resolved"])
    if data["actions"]:
        yield ("\nactions:", "bold")
        for a in data["actions"]:
            state = "done" if a["done"] else ("FAILED" if a["error"] else "not done")
            tail = f" - {a['error']}" if a["error"] else (f" - {a['reason']}" if a["reason"] else "")
            yield (f"  {a['kind']:<17} {len(a['resource_ids']):>5} {state}{tail}", "red" if a["error"] else None)
    if data["errors"]:
        yield ("\nerrors:", "bold red")
        yield from ((f"  {e['where']}: {e['message']}", "red") for e in data["errors"])
    yield from _summary(data, by_check, hidden)
    yield from _calls(data)


def evidence(finding: dict[str, Any]) -> list[str]:
    """Why a finding holds, for a reader: a check's gaps, or the path the internet takes in."""
    details = finding.get("details") or {}
    gaps = details.get("gaps", [])
    lines = [f"{g.get('severity', '')}: {g['text']}" for g in gaps if isinstance(g, dict) and "text" in g]
    for path in details.get("paths", []):
        if isinstance(path, dict):
            lines.append(
                f"{path.get('address')} ({path.get('address_kind')}) <- {path.get('cidr')} {path.get('rule')} via "
                f"{path.get('group_id')} ({path.get('group_name')})"
            )
    if not lines and details.get("stage"):
        lines.append(f"idle lifecycle: {details['stage']}")
    return lines


def actor_lines(details: dict[str, Any]) -> Iterator[str]:
    """Who made the change (details.actor), under its finding."""
    actor = details.get("actor")
    if not isinstance(actor, dict):
        return
    line = f"by {actor.get('principal') or '?'} ({actor.get('type')}, {actor.get('client')})"
    if actor.get("source_ip"):
        line += f" from {actor['source_ip']}"
    if actor.get("event_time"):
        line += f" at {actor['event_time']}"
    extra = [f"{k.replace('_', ' ')} {actor[k]}" for k in ("role_arn", "session_name", "invoked_by") if actor.get(k)]
    if actor.get("mfa") is not None:
        extra.append("MFA used" if actor["mfa"] else "no MFA")
    yield line + (f"; {', '.join(extra)}" if extra else "")
    if details.get("escalated_because"):
        yield f"raised a step: {details['escalated_because']}"


def _sprawl_lines(sprawl: dict[str, Any], due: int) -> Iterator[Line]:
    yield (
        f"sprawl: running {sprawl['running']}, idle {sprawl['idle']} ({sprawl['idle_protected']} protected), "
        f"not enough data {sprawl.get('not_enough_data', 0)}, marked {sprawl['marked']}, due {due}, "
        f"stopped by warden {sprawl['stopped_by_warden']}, "
        f"stopped > {sprawl['stopped_max_days']} days {sprawl['stopped_long']}",
        None,
    )
    envs = [f"{k} {v['idle']}/{v['running']}" for k, v in sprawl.get("by_environment", {}).items() if v["running"]]
    if envs:
        yield (f"  idle/running by Environment: {', '.join(envs[:8])}", None)


def _summary(data: dict[str, Any], by_check: Counter[tuple[str, str]], hidden: int) -> Iterator[Line]:
    actions = data["actions"]
    done = sum(1 for a in actions if a["done"])
    failed = sum(1 for a in actions if a["error"])
    yield ("\nsummary:", "bold")
    if by_check:
        yield from ((line, None) for line in _matrix(by_check))
    else:
        yield (f"  no findings{' shown' if hidden else ''}", "green")
    yield (
        f"  actions: {len(actions)} planned, {done} done, {failed} failed; errors: {len(data['errors'])}",
        "red" if failed or data["errors"] else None,
    )


def _matrix(by_check: Counter[tuple[str, str]]) -> Iterable[str]:
    """Findings by check x severity, as a rich table rendered to plain text."""
    severities = [s for s in SEVERITIES if any(sev == s for _, sev in by_check)]
    checks = sorted({check for check, _ in by_check})
    table = Table(box=box.SIMPLE_HEAD, show_edge=False, pad_edge=False)
    table.add_column("check")
    for severity in [*severities, "total"]:
        table.add_column(severity, justify="right")
    for check in checks:
        counts = [by_check[(check, s)] for s in severities]
        table.add_row(check, *(str(c) if c else "-" for c in counts), str(sum(counts)))
    buffer = io.StringIO()
    Console(file=buffer, width=200, color_system=None, force_terminal=False).print(table)
    return ["  " + line.rstrip() for line in buffer.getvalue().splitlines() if line.strip()]


def _calls(data: dict[str, Any]) -> Iterator[Line]:
    calls = data["api_calls"]
    yield (
        f"\nAWS calls: {sum(calls.values())}"
        + (" (" + ", ".join(f"{k} {v}" for k, v in calls.items()) + ")" if calls else ""),
        "dim",
    )
