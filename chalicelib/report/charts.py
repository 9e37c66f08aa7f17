"""Geometry of the report's SVG charts: horizontal bars, grouped by row. Pure.

The template draws what this computes (rectangles, labels, a legend), so the charts need no script,
no font file and no network, and a test can read their numbers back from the DOM."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

LABEL_WIDTH = 190
PLOT_WIDTH = 300
VALUE_WIDTH = 50
BAR_HEIGHT = 11
BAR_GAP = 2
ROW_GAP = 10
TOP = 8

# (key in a sprawl group, label, CSS class)
SPRAWL_SERIES: tuple[tuple[str, str, str], ...] = (
    ("running", "running", "s-running"),
    ("idle", "idle", "s-idle"),
    ("marked", "marked (deadline set)", "s-marked"),
    ("stopped_by_warden", "stopped by ec2-warden", "s-stopped"),
    ("stopped_long", "stopped long", "s-long"),
)


@dataclass(frozen=True)
class Bar:
    x: int
    y: int
    width: int
    height: int
    css: str
    value: int
    title: str


@dataclass(frozen=True)
class Row:
    label: str
    label_y: int
    bars: tuple[Bar, ...]


@dataclass(frozen=True)
class Chart:
    name: str  # data-chart attribute: what a test looks for
    width: int
    height: int
    rows: tuple[Row, ...]
    legend: tuple[tuple[str, str], ...]  # (label, css)
    label_width: int = LABEL_WIDTH


def bar_chart(
    name: str,
    rows: Sequence[tuple[str, Mapping[str, Any]]],
    series: Sequence[tuple[str, str, str]],
    *,
    skip_zero: bool = False,
) -> Chart:
    """One row per (label, counts); one bar per series whose count is known (None is left out) and,
    with `skip_zero`, not zero (a row of five series stays one line when only one has instances)."""
    known = [(key, label, css) for key, label, css in series if any(_count(c, key) is not None for _, c in rows)]
    top = max((_count(c, key) or 0 for _, c in rows for key, _, _ in known), default=0) or 1
    drawn: list[Row] = []
    y = TOP
    for label, counts in rows:
        bars: list[Any] = []
        for key, series_label, css in known:
            value = _count(counts, key)
            if value is None or (skip_zero and value == 0):
                continue
            bar_y = y + len(bars) * (BAR_HEIGHT + BAR_GAP)
            width = round(PLOT_WIDTH * value / top)
            bars.append(
                Bar(
                    LABEL_WIDTH,
                    bar_y,
                    max(width, 1 if value else 0),
                    BAR_HEIGHT,
                    css,
                    value,
                    f"{label}: {series_label}",
                )
            )
        block = max(len(bars), 1) * (BAR_HEIGHT + BAR_GAP)
        drawn.append(Row(label, y + block // 2 + 4, tuple(bars)))
        y += block + ROW_GAP
    return Chart(
        name=name,
        width=LABEL_WIDTH + PLOT_WIDTH + VALUE_WIDTH,
        height=y + TOP,
        rows=tuple(drawn),
        legend=tuple((label, css) for _, label, css in known),
    )


def sprawl_chart(name: str, groups: Mapping[str, Mapping[str, Any]]) -> Chart:
    return bar_chart(name, list(groups.items()), SPRAWL_SERIES, skip_zero=True)


def _count(counts: Mapping[str, Any], key: str) -> int | None:
    value = counts.get(key)
    return value if isinstance(value, int) and not isinstance(value, bool) else None
