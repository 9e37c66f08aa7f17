"""Run one tool as a child process against the counting proxy and measure it.

Wall time is the child's whole life (interpreter start included); CPU seconds (user + sys) and peak
RSS come from wait4() on that one child (bench/launch.py), so nothing else on the machine (moto's
server, the proxy, this process) is counted."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
POLICIES = ROOT / "bench" / "custodian.yml"
CUSTODIAN_POLICY = {"public-exposure": "public-exposure", "idle": "idle"}  # check -> c7n policy name
WARDEN_CHECK = {"public-exposure": "public-exposure", "idle": "idle"}  # check -> ec2-warden check name


@dataclass
class ToolRun:
    tool: str
    wall: float
    cpu: float
    max_rss_mb: float
    returncode: int
    server_s: float = 0.0  # time moto spent answering this tool's calls (summed; calls may overlap)
    calls: dict[str, int] = field(default_factory=dict)
    flagged: dict[str, set[str]] = field(default_factory=dict)  # check -> instance ids
    note: str = ""

    @property
    def total_calls(self) -> int:
        return sum(self.calls.values())


def aws_env(endpoint: str, region: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("AWS_", "WARDEN_", "POWERTOOLS_", "SLACK_"))}
    env.update(
        AWS_ENDPOINT_URL=endpoint,
        AWS_ACCESS_KEY_ID="bench",
        AWS_SECRET_ACCESS_KEY="bench",
        AWS_REGION=region,
        AWS_DEFAULT_REGION=region,
        AWS_EC2_METADATA_DISABLED="true",
        PYTHONDONTWRITEBYTECODE="1",
    )
    return env


def measure(
    argv: list[str], env: dict[str, str], stdout: Path, stderr: Path, timeout: float, cwd: Path = ROOT
) -> tuple:
    """(wall seconds, CPU seconds, peak RSS MB, return code) of one child process, through bench/launch.py."""
    result = stdout.with_suffix(".usage.json")
    result.unlink(missing_ok=True)
    launcher = [sys.executable, "-S", str(ROOT / "bench" / "launch.py"), str(result), "--"]
    with stdout.open("wb") as out, stderr.open("wb") as err:
        subprocess.run(
            launcher + argv, env=env, cwd=cwd, stdout=out, stderr=err, stdin=subprocess.DEVNULL, timeout=timeout
        )
    usage = json.loads(result.read_text(encoding="utf-8"))
    return usage["wall"], usage["cpu"], usage["max_rss_kb"] / 1024, usage["returncode"]


def custodian_policies(per_day: int, coverage: bool) -> str:
    """bench/custodian.yml with MIN_SAMPLES set, or without its coverage filter."""
    text = POLICIES.read_text(encoding="utf-8")
    if not coverage:
        head, rest = text.split("# coverage-begin", 1)
        text = head.rstrip(" ") + rest.split("# coverage-end", 1)[1].lstrip("\n")
    return text.replace("MIN_SAMPLES", str(13 * per_day))


def run_custodian(
    custodian: Path,
    endpoint: str,
    region: str,
    checks: list[str],
    work: Path,
    timeout: float,
    *,
    per_day: int,
    coverage: bool = True,
) -> ToolRun:
    policies = work / "custodian.yml"
    policies.write_text(custodian_policies(per_day, coverage), encoding="utf-8")
    out = work / "c7n-output"
    # A fresh cache: c7n shares described resources between the policies of one run (its best case),
    # but a cache left by an earlier run would describe an earlier fleet.
    shutil.rmtree(out, ignore_errors=True)
    (work / "c7n.cache").unlink(missing_ok=True)
    argv = [str(custodian), "run", "-s", str(out), "-r", region, "--cache", str(work / "c7n.cache")]
    for check in checks:
        argv += ["-p", CUSTODIAN_POLICY[check]]
    argv.append(str(policies))
    wall, cpu, rss, code = measure(argv, aws_env(endpoint, region), work / "c7n.stdout", work / "c7n.stderr", timeout)
    run = ToolRun("c7n", wall, cpu, rss, code)
    for check in checks:
        found = out / CUSTODIAN_POLICY[check] / "resources.json"
        resources = json.loads(found.read_text()) if found.exists() else []
        run.flagged[check] = {r["InstanceId"] for r in resources}
    errors = [line for line in (work / "c7n.stderr").read_text().splitlines() if "ERROR" in line or "error" in line]
    run.note = "; ".join(errors[:3])
    return run


def run_warden(
    python: str,
    endpoint: str,
    region: str,
    checks: list[str],
    work: Path,
    timeout: float,
    project: Path = ROOT,
    *,
    all_checks: bool = False,
) -> ToolRun:
    """The audit sweep: with WARDEN_CHECKS set to the compared checks (the same job as c7n's), or with
    every check it has (`all_checks`: the sweep as deployed by default)."""
    name = "ec2-warden-all" if all_checks else "ec2-warden"
    argv = [python, "-m", "chalicelib", "sweep", "--mode", "audit", "--format", "json"]
    argv += ["--endpoint-url", endpoint, "--region", region]
    env = aws_env(endpoint, region)
    env["WARDEN_MODE"] = "audit"
    env["WARDEN_CHECKS"] = "all" if all_checks else ",".join(checks)
    out, err = work / f"{name}.json", work / f"{name}.stderr"
    wall, cpu, rss, code = measure(argv, env, out, err, timeout, cwd=project)
    run = ToolRun(name, wall, cpu, rss, code)
    try:
        report: dict[str, Any] = json.loads(out.read_text())
    except json.JSONDecodeError:
        run.note = err.read_text()[-500:]
        return run
    for check in checks:
        run.flagged[check] = {f["resource_id"] for f in report["findings"] if f["check"] == WARDEN_CHECK[check]}
    run.note = "; ".join(f"{e['where']}: {e['message']}" for e in report.get("errors", [])[:3])
    return run


def default_custodian() -> Path:
    return ROOT / ".venv-bench" / "bin" / "custodian"


def default_python() -> str:
    return sys.executable
