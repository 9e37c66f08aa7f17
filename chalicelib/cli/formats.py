"""Output formats: the one place a format is registered (name -> renderer).

A renderer writes one report to a text stream. Adding a format is one function and one line in
FORMATS; `--format`'s choices are read from it."""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from datetime import datetime
from typing import TextIO

from chalicelib.cli.failures import UsageError
from chalicelib.cli.options import OutputOptions
from chalicelib.model import Report, Severity
from chalicelib.report.json_stream import write_report_json

Renderer = Callable[[Report, TextIO, OutputOptions], None]


def _json(report: Report, out: TextIO, options: OutputOptions) -> None:
    write_report_json(report, out)  # findings streamed: a 17,000-finding report is never one dict


def _table(report: Report, out: TextIO, options: OutputOptions) -> None:
    from chalicelib.cli.table import write_table  # rich, imported only when a table is printed

    write_table(report, out, options)


def _audit(fmt: str) -> Renderer:
    """html, csv, ocsf: chalicelib/report/ (Jinja2 and py-ocsf-models: the [report] extra)."""

    def render(report: Report, out: TextIO, options: OutputOptions) -> None:
        from chalicelib.report.html import RendererUnavailable
        from chalicelib.report.render import write_report

        try:
            write_report(report, fmt, out, options.now or datetime.now().astimezone())
        except RendererUnavailable as exc:
            raise UsageError(str(exc)) from None

    return render


FORMATS: dict[str, Renderer] = {
    "table": _table,
    "json": _json,
    "html": _audit("html"),
    "csv": _audit("csv"),
    "ocsf": _audit("ocsf"),
}


def shown(report: Report, min_severity: Severity | None) -> tuple[Report, int]:
    """The report as printed: findings at or above `min_severity` (the run itself is unchanged)."""
    if min_severity is None:
        return report, 0
    kept = [f for f in report.findings if f.severity.rank >= min_severity.rank]
    return dataclasses.replace(report, findings=kept), len(report.findings) - len(kept)


def print_report(report: Report, fmt: str, out: TextIO, options: OutputOptions | None = None) -> None:
    options = options or OutputOptions()
    report, hidden = shown(report, options.min_severity)
    FORMATS[fmt](report, out, dataclasses.replace(options, hidden=hidden))
