"""The one place that maps an audit format name to its renderer (`--format html|csv|ocsf`)."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import TextIO

from chalicelib.model import Report
from chalicelib.report.view import AuditView, view_from_report

AUDIT_FORMATS = ("html", "csv", "ocsf")


def write_view(view: AuditView, fmt: str, out: TextIO) -> None:
    """RendererUnavailable (from chalicelib.report.html) when the format's library is missing."""
    _renderer(fmt)(view, out)


def write_report(report: Report, fmt: str, out: TextIO, now: datetime) -> None:
    source = "sweep" if report.trigger == "sweep" else "replay"
    write_view(view_from_report(report, source, now), fmt, out)


def _renderer(fmt: str) -> Callable[[AuditView, TextIO], None]:
    if fmt == "html":
        from chalicelib.report.html import write_html

        return write_html
    if fmt == "csv":
        from chalicelib.report.csv_export import write_csv

        return write_csv
    if fmt == "ocsf":
        from chalicelib.report.ocsf import write_ocsf

        return write_ocsf
    raise ValueError(f"unknown audit format {fmt!r}; one of {', '.join(AUDIT_FORMATS)}")
