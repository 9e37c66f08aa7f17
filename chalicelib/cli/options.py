"""How a report is printed: the options every output format reads."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from chalicelib.model import Severity


@dataclass(frozen=True)
class OutputOptions:
    color: bool = False  # stdout is a terminal and NO_COLOR is not set
    min_severity: Severity | None = None  # findings below it are not printed (they are still imported)
    hidden: int = 0  # how many findings --min-severity left out
    group_by: str = "none"  # "instance": each instance's findings together (--group-by)
    now: datetime | None = None  # the time the run judged at (audit reports' header)
