"""`--list-checks`: each check, what it finds, its severity range, the AWS reads and IAM permissions it needs."""

from __future__ import annotations

from typing import TextIO

from chalicelib.checks import CHECKS
from chalicelib.checks.catalog import BASE_READS, CATALOG
from chalicelib.model import ACTION_MODES, Mode
from chalicelib.rules.permissions import ACTION_PERMISSIONS


def write_check_list(out: TextIO) -> None:
    for name in CHECKS:
        info = CATALOG[name]
        severity = info.lowest.value if info.lowest is info.highest else f"{info.lowest.value} to {info.highest.value}"
        out.write(f"{name.value}\n")
        out.write(f"  finds:       {info.finds}\n")
        out.write(f"  severity:    {severity}\n")
        out.write(f"  AWS reads:   {', '.join(info.reads) or '(only the instances)'}\n")
        out.write(f"  permissions: {', '.join(info.permissions)}\n\n")
    out.write(f"Every check also needs the instance reads: {', '.join(BASE_READS)}.\n")
    for mode in (Mode.NOTIFY, Mode.ENFORCE):
        needed = sorted(
            {p for kind, modes in ACTION_MODES.items() if mode in modes for p in ACTION_PERMISSIONS[kind.value]}
        )
        out.write(f"{mode.value} mode adds securityhub:GetFindings and: {', '.join(needed)}\n")
    out.write("Select checks with --checks a,b or WARDEN_CHECKS (default: all).\n")
