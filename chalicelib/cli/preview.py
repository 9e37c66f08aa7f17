"""`--mode audit --read-findings`: what notify would do, from Security Hub's open findings, writing nothing."""

from __future__ import annotations

from collections import Counter
from typing import TextIO

from chalicelib.model import ActionKind, FindingStatus, Report

WOULD_IMPORT = (FindingStatus.NEW, FindingStatus.CHANGED, FindingStatus.REFRESHED)


def write_preview(report: Report, out: TextIO) -> None:
    if not report.completed:
        return
    out.write("\npreview of notify mode (read from Security Hub; nothing was written):\n")
    unread = [e for e in report.errors if e.where == "securityhub:GetFindings"]
    if unread:
        out.write(f"  Security Hub could not be read ({unread[0].message}): statuses are unknown\n")
        return
    statuses = Counter(report.statuses.get(f.id, FindingStatus.UNKNOWN) for f in report.findings)
    out.write("  findings: " + ", ".join(f"{s.value} {statuses[s]}" for s in FindingStatus if statuses[s]) + "\n")
    out.write(f"  notify would import {sum(statuses[s] for s in WOULD_IMPORT)} finding(s)\n")
    resolving = [i for a in report.actions if a.kind is ActionKind.RESOLVE_FINDINGS for i in a.resource_ids]
    out.write(f"  notify would resolve {len(resolving)} finding(s)" + (":\n" if resolving else "\n"))
    for finding_id in resolving:
        out.write(f"    {finding_id}\n")
