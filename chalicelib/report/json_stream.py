"""The report as JSON text, written as it is produced.

`json.dump(report.to_dict(), out, indent=2)` holds every finding three times at its peak: the
Finding objects, their dicts, and the encoder's work. Here the report's small keys are encoded as
before and the findings one at a time, so a 17,000-finding sweep adds one finding's dict and text
to what the report already holds (bench/: the every-check sweep must fit a 128 MB Lambda). The text
is the same, byte for byte, as json.dump's with indent=2 (tests/unit/test_report_json.py)."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import TextIO

from chalicelib.model import Report

INDENT = 2


def iter_report_json(report: Report) -> Iterator[str]:
    """Chunks whose concatenation is json.dumps(report.to_dict(), indent=2)."""
    data = report.to_dict(findings=False)
    yield "{"
    for position, (key, value) in enumerate(data.items()):
        yield ("," if position else "") + "\n" + _pad(1) + json.dumps(key) + ": "
        if key == "findings":
            yield from _iter_list(report.finding_dicts(), depth=1)
        else:
            yield _encode(value, depth=1)
    yield "\n}"


def write_report_json(report: Report, out: TextIO) -> None:
    for chunk in iter_report_json(report):
        out.write(chunk)
    out.write("\n")


def _iter_list(items: Iterator[object], depth: int) -> Iterator[str]:
    empty = True
    for item in items:
        yield ("[" if empty else ",") + "\n" + _pad(depth + 1) + _encode(item, depth + 1)
        empty = False
    yield "[]" if empty else "\n" + _pad(depth) + "]"


def _encode(value: object, depth: int) -> str:
    # JSON text holds no raw newline inside a string, so every newline is an indentation point.
    return json.dumps(value, indent=INDENT).replace("\n", "\n" + _pad(depth))


def _pad(depth: int) -> str:
    return " " * (INDENT * depth)
