"""Score the tools against the ground truth and lay the numbers out as a Markdown table."""

from __future__ import annotations

import math
from typing import Any

from bench.tools import ToolRun

PAGE = 1000  # DescribeInstances / DescribeSecurityGroups results per call
QUERIES = 500  # GetMetricData queries per call
SSM_IDS = 50  # DescribeInstanceInformation MaxResults and DescribeInstancePatchStates InstanceIds, at most
METRICS = 3  # CPUUtilization, NetworkIn, NetworkOut


def api_minimum(truth: dict[str, Any], checks: list[str], ssm: bool = False) -> dict[str, int]:
    """The fewest calls the APIs allow for ec2-warden's sweep (nothing per instance). With `ssm`, the
    patch loop's reads too (every running instance of the bench fleet is managed)."""
    calls = {
        "ec2:DescribeInstances": math.ceil(truth["size"] / PAGE),
        "ec2:DescribeSecurityGroups": math.ceil(truth["security_groups"] / PAGE),
    }
    if "idle" in checks:
        calls["cloudwatch:GetMetricData"] = math.ceil(METRICS * truth["running"] / QUERIES)
    if ssm:
        calls["ssm:DescribeInstanceInformation"] = math.ceil(truth["running"] / SSM_IDS)
        calls["ssm:DescribeInstancePatchStates"] = math.ceil(truth["running"] / SSM_IDS)
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
    *,
    ssm: bool = False,
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
        "ssm": ssm,
        "running": truth["running"],
        "security_groups": truth["security_groups"],
        "exposed": len(truth["exposed"]),
        "idle": len(truth["idle"]),
        "seed_seconds": truth["seed_seconds"],
        "api_minimum": api_minimum(truth, checks, ssm),
        "tools": tools,
    }


def _truth_key(check: str) -> str:
    return {"public-exposure": "exposed", "idle": "idle"}[check]


def _ratio(a: float, b: float) -> str:
    return f"{a / b:.3g}x" if b else "-"


def render(result: dict[str, Any]) -> str:
    tools = result["tools"]
    names = list(tools)
    minimum = result["api_minimum"]
    ops = sorted({op for t in tools.values() for op in t["calls"]} | set(minimum))
    per_day = "hourly" if result["points_per_day"] == 24 else f"{result['points_per_day']}/day"
    lines = [
        f"### {result['size']:,} instances ({result['running']:,} running, {result['security_groups']} security "
        f"groups, {result['exposed']} exposed, {result['idle']} idle; {per_day} datapoints, 14 days), "
        f"+{result['latency_ms']:g} ms per AWS call",
        "",
        f"compared: {', '.join(result['checks'])}"
        + (
            "; ec2-warden's sweep also reads SSM for its patch checks (c7n is not asked to)"
            if result.get("ssm")
            else ""
        ),
        "",
        "| | " + " | ".join(names) + " | API minimum |" + (" ec2-warden / c7n |" if len(names) == 2 else ""),
        "|---|" + "---:|" * (len(names) + 1) + ("---:|" if len(names) == 2 else ""),
    ]

    def row(label: str, values: list[Any], extra: str = "", ratio: str = "") -> None:
        tail = f" {ratio} |" if len(names) == 2 else ""
        lines.append(f"| {label} | " + " | ".join(str(v) for v in values) + f" | {extra} |" + tail)

    for op in ops:
        counts = [tools[n]["calls"].get(op, 0) for n in names]
        row(f"`{op}`", [f"{c:,}" for c in counts], f"{minimum.get(op, 0):,}")
    totals = [tools[n]["total_calls"] for n in names]
    min_total = sum(minimum.values())
    ratio = _ratio(totals[-1], totals[0]) if len(names) == 2 else ""
    row("**AWS calls**", [f"**{t:,}**" for t in totals], f"{min_total:,}", ratio)
    if "ec2-warden" in tools:
        lines.append(f"| ec2-warden / API minimum | | {_ratio(tools['ec2-warden']['total_calls'], min_total)} | | |")
    for key, label, fmt in (
        ("wall_s", "wall time, s", "{:.2f}"),
        ("moto_s", "moto answering, s (summed over calls)", "{:.2f}"),
        ("cpu_s", "client CPU (user+sys), s", "{:.2f}"),
        ("peak_rss_mb", "peak RSS, MB", "{:.0f}"),
    ):
        values = [tools[n][key] for n in names]
        row(label, [fmt.format(v) for v in values], "", _ratio(values[-1], values[0]) if len(names) == 2 else "")
    for check in result["checks"]:
        for measure in ("precision", "recall"):
            row(f"{check} {measure}", [f"{tools[n]['scores'][check][measure]:.3f}" for n in names])
    notes = []
    for n in names:
        for check, s in tools[n]["scores"].items():
            if s["false_positives"] or s["missed"]:
                notes.append(f"- {n} {check}: false positives {s['false_positives']}, missed {s['missed']}")
        if tools[n]["returncode"] or tools[n]["note"]:
            notes.append(f"- {n}: exit {tools[n]['returncode']} {tools[n]['note']}")
    return "\n".join(lines + (["", *notes] if notes else [])) + "\n"
