"""Score the tools against the ground truth and lay the numbers out as a Markdown table."""

from __future__ import annotations

import math
from typing import Any

from bench.tools import ToolRun

PAGE = 1000  # DescribeInstances / DescribeSecurityGroups results per call
QUERIES = 500  # GetMetricData queries per call
VOLUME_PAGE = 500  # DescribeVolumes results per call
SSM_IDS = 50  # DescribeInstanceInformation MaxResults and DescribeInstancePatchStates InstanceIds, at most
METRICS = 3  # CPUUtilization, NetworkIn, NetworkOut


def api_minimum(truth: dict[str, Any], checks: list[str], every_check: bool = False) -> dict[str, int]:
    """The fewest calls the APIs allow for the job (nothing per instance): the compared checks, or with
    `every_check` all of ec2-warden's (every running instance of the bench fleet is SSM-managed; one
    AMI; one root volume an instance; no NON_PRODUCTION_VPCS, so no DescribeVpcs)."""
    calls = {
        "ec2:DescribeInstances": math.ceil(truth["size"] / PAGE),
        "ec2:DescribeSecurityGroups": math.ceil(truth["security_groups"] / PAGE),
    }
    if "idle" in checks or every_check:
        calls["cloudwatch:GetMetricData"] = math.ceil(METRICS * truth["running"] / QUERIES)
    if every_check:
        calls["ssm:DescribeInstanceInformation"] = math.ceil(truth["running"] / SSM_IDS)
        calls["ssm:DescribeInstancePatchStates"] = math.ceil(truth["running"] / SSM_IDS)
        calls["ec2:DescribeImages"] = math.ceil(truth.get("images", 1) / PAGE)
        calls["ec2:DescribeVolumes"] = math.ceil(truth.get("volumes", truth["size"]) / VOLUME_PAGE)
    return calls


def score(flagged: set[str], expected: set[str], instances: dict[str, dict[str, Any]]) -> dict[str, Any]:
    hits = len(flagged & expected)
    false_pos = sorted(flagged - expected)
    missed = sorted(expected - flagged)

    def by_story(ids: list[str]) -> dict[str, int]:
        out: dict[str, int] = {}
        for i in ids:
            key = instances.get(i, {}).get("story", "?") + "/" + instances.get(i, {}).get("profile", "?")
            out[key] = out.get(key, 0) + 1
        return out

    return {
        "precision": hits / len(flagged) if flagged else (1.0 if not expected else 0.0),
        "recall": hits / len(expected) if expected else 1.0,
        "flagged": len(flagged),
        "expected": len(expected),
        "false_positives": by_story(false_pos),
        "missed": by_story(missed),
    }


def summarise(
    size: int,
    per_day: int,
    latency_ms: float,
    checks: list[str],
    truth: dict[str, Any],
    runs: list[ToolRun],
) -> dict[str, Any]:
    tools = {}
    for run in runs:
        tools[run.tool] = {
            "calls": run.calls,
            "total_calls": run.total_calls,
            "wall_s": round(run.wall, 3),
            "moto_s": round(run.server_s, 3),
            "cpu_s": round(run.cpu, 3),
            "peak_rss_mb": round(run.max_rss_mb, 1),
            "returncode": run.returncode,
            "note": run.note,
            "scores": {
                check: score(run.flagged.get(check, set()), set(truth[_truth_key(check)]), truth["instances"])
                for check in checks
            },
        }
    return {
        "size": size,
        "points_per_day": per_day,
        "latency_ms": latency_ms,
        "checks": checks,
        "running": truth["running"],
        "security_groups": truth["security_groups"],
        "exposed": len(truth["exposed"]),
        "idle": len(truth["idle"]),
        "seed_seconds": truth["seed_seconds"],
        "api_minimum": api_minimum(truth, checks),
        "api_minimum_every_check": api_minimum(truth, checks, every_check=True),
        "tools": tools,
    }


def _truth_key(check: str) -> str:
    return {"public-exposure": "exposed", "idle": "idle"}[check]


def _ratio(a: float, b: float) -> str:
    return f"{a / b:.3g}x" if b else "-"


def render(result: dict[str, Any]) -> str:
    """One Markdown table: a column per tool, the API minimum beside each ec2-warden column, and the
    ratio ec2-warden / c7n (ec2-warden running the compared checks: the same job)."""
    tools = result["tools"]
    names = list(tools)
    minimum = result["api_minimum"]
    minimum_all = result.get("api_minimum_every_check", minimum)
    both = "c7n" in tools and "ec2-warden" in tools
    columns: list[tuple[str, str]] = []  # (header, key)
    for n in names:
        columns.append((n, n))
        if n == "ec2-warden":
            columns.append(("API minimum", "min"))
        if n == "ec2-warden-all":
            columns.append(("API minimum (every check)", "min-all"))
    ops = sorted({op for t in tools.values() for op in t["calls"]} | set(minimum) | set(minimum_all))
    per_day = "hourly" if result["points_per_day"] == 24 else f"{result['points_per_day']}/day"
    lines = [
        f"### {result['size']:,} instances ({result['running']:,} running, {result['security_groups']} security "
        f"groups, {result['exposed']} exposed, {result['idle']} idle; {per_day} datapoints over 14 days), "
        f"+{result['latency_ms']:g} ms per AWS call",
        "",
        f"Compared: {', '.join(result['checks'])} (ec2-warden with WARDEN_CHECKS={','.join(result['checks'])})."
        + (" ec2-warden-all: the default sweep, every check (patch, drift, ...)." if "ec2-warden-all" in tools else ""),
        "",
        "| | " + " | ".join(h for h, _ in columns) + " |" + (" ec2-warden / c7n |" if both else ""),
        "|---|" + "---:|" * len(columns) + ("---:|" if both else ""),
    ]

    def cell(key: str, op: str | None, field: str) -> str:
        if key == "min":
            return f"{(minimum.get(op, 0) if op else sum(minimum.values())):,}"
        if key == "min-all":
            return f"{(minimum_all.get(op, 0) if op else sum(minimum_all.values())):,}"
        value = tools[key]["calls"].get(op, 0) if op else tools[key][field]
        return f"{value:,}" if isinstance(value, int) else str(value)

    def row(label: str, cells: list[str], ratio: str = "") -> None:
        lines.append(f"| {label} | " + " | ".join(cells) + " |" + (f" {ratio} |" if both else ""))

    for op in ops:
        row(f"`{op}`", [cell(k, op, "") for _, k in columns])
    totals = {n: tools[n]["total_calls"] for n in names}
    row(
        "**AWS calls**",
        [f"**{cell(k, None, 'total_calls')}**" for _, k in columns],
        _ratio(totals["ec2-warden"], totals["c7n"]) if both else "",
    )
    ratios = []
    for n, key in (("ec2-warden", "min"), ("ec2-warden-all", "min-all")):
        if n in tools:
            base = sum((minimum if key == "min" else minimum_all).values())
            ratios.append(f"{n} {_ratio(totals[n], base)}")
    if ratios:
        padding = " |" * (len(columns) - 1) + (" |" if both else "")
        lines.append(f"| calls / API minimum | {'; '.join(ratios)} |" + padding)
    for key, label, fmt in (
        ("wall_s", "wall time, s", "{:.2f}"),
        ("moto_s", "moto answering, s (summed over calls)", "{:.2f}"),
        ("cpu_s", "client CPU (user+sys), s", "{:.2f}"),
        ("peak_rss_mb", "peak RSS, MB", "{:.0f}"),
    ):
        cells = [fmt.format(tools[k].get(key, 0)) if k in tools else "" for _, k in columns]
        row(label, cells, _ratio(tools["ec2-warden"].get(key, 0), tools["c7n"].get(key, 0)) if both else "")
    for check in result["checks"]:
        for measure in ("precision", "recall"):
            cells = [f"{tools[k]['scores'][check][measure]:.3f}" if k in tools else "" for _, k in columns]
            row(f"{check} {measure}", cells)
    notes = []
    for n in names:
        for check, s in tools[n]["scores"].items():
            if s["false_positives"] or s["missed"]:
                notes.append(f"- {n} {check}: false positives {s['false_positives']}, missed {s['missed']}")
        if tools[n]["returncode"] or tools[n]["note"]:
            notes.append(f"- {n}: exit {tools[n]['returncode']} {tools[n]['note']}")
    return "\n".join(lines + (["", *notes] if notes else [])) + "\n"
