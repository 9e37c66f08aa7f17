"""ec2-warden against Cloud Custodian on one seeded fleet, in one run.

    python -m bench.run [--sizes 1000,10000] [--latency-ms 30] [--tools c7n,ec2-warden] [--out build/bench]

For each size: start moto's server in this process (see bench/moto_bench.py for what it changes),
seed the fleet (bench/fleet.py; hourly datapoints up to 1,000 instances, daily above), write the
ground truth, put the counting proxy in front (bench/proxy.py, with the added latency), then run
Cloud Custodian (pull mode, bench/custodian.yml) and ec2-warden's audit sweep one after the other
against the proxy, and print the table (bench/report.py). Results go to OUT/results.{json,md}.

The checks compared are the ones ec2-warden has: public-exposure always, idle once
chalicelib/checks/idle.py exists (Cloud Custodian then runs only the matching policies)."""

from __future__ import annotations

import argparse
import json
import logging
import sys
import time
from pathlib import Path
from typing import Any

from bench import report
from bench.fleet import seed_fleet
from bench.proxy import CountingProxy
from bench.tools import ROOT, ToolRun, default_custodian, default_python, run_custodian, run_warden

REGION = "eu-west-1"
HOURLY_UP_TO = 1000  # above this, one datapoint a day: hourly x 14 days x 3 metrics x 10,000 is 10M moto objects


def reads_ssm(project: Path) -> bool:
    """The patch loop (issue 4) makes every sweep read SSM; moto lacks those calls (devtools/moto_ssm.py adds them)."""
    return (project / "chalicelib" / "snapshot" / "ssm.py").exists()


def checks_available(project: Path) -> list[str]:
    checks = ["public-exposure"]
    if (project / "chalicelib" / "checks" / "idle.py").exists():
        checks.append("idle")
    return checks


def bench_size(size: int, args: argparse.Namespace, out: Path) -> dict[str, Any]:
    import boto3
    import requests
    from moto.server import ThreadedMotoServer

    from bench import moto_bench
    from devtools.embedded_aws import free_port

    ssm = reads_ssm(args.warden_dir) and "ec2-warden-all" in args.tools
    if ssm:
        from devtools import moto_ssm

        moto_ssm.install()
        moto_ssm.FLEET.reset()
        # Every instance is managed, Online and patched: the patch checks find nothing, and their reads
        # (what any sweep pays for them) succeed as in AWS instead of failing on moto's missing calls.
        moto_ssm.FLEET.manage_every_instance()
    work = out / f"n{size}"
    work.mkdir(parents=True, exist_ok=True)
    port = free_port()
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=port, verbose=False)
    server.start()
    moto_url = f"http://127.0.0.1:{port}"
    try:
        session = boto3.session.Session(aws_access_key_id="bench", aws_secret_access_key="bench", region_name=REGION)
        ec2 = session.client("ec2", endpoint_url=moto_url)
        cloudwatch = session.client("cloudwatch", endpoint_url=moto_url)
        per_day = args.points_per_day or (24 if size <= HOURLY_UP_TO else 1)
        print(f"[n={size}] seeding ({per_day} datapoint(s) a day) ...", flush=True)
        with moto_bench.fast_seeding():
            fleet = seed_fleet(ec2, cloudwatch, size, points_per_day=per_day)
        fleet.write(work / "truth.json")
        truth = fleet.truth()
        print(f"[n={size}] seeded in {sum(fleet.timings.values()):.0f} s: {fleet.timings}", flush=True)
        ec2.describe_instances(MaxResults=5)  # warm moto's first-request paths for both tools alike
        checks = checks_available(args.warden_dir)
        runs: list[ToolRun] = []
        with CountingProxy(moto_url, latency_ms=args.latency_ms) as proxy:
            for tool in args.tools.split(","):
                proxy.reset()
                print(f"[n={size}] running {tool} ...", flush=True)
                if tool == "c7n":
                    run = run_custodian(
                        args.custodian,
                        proxy.url,
                        REGION,
                        checks,
                        work,
                        args.timeout,
                        per_day=per_day,
                        coverage=not args.c7n_no_coverage,
                    )
                else:
                    run = run_warden(
                        args.python,
                        proxy.url,
                        REGION,
                        checks,
                        work,
                        args.timeout,
                        args.warden_dir,
                        all_checks=tool == "ec2-warden-all",
                    )
                run.calls = proxy.counts()
                run.server_s = proxy.upstream_seconds()
                runs.append(run)
                print(
                    f"[n={size}] {tool}: {run.wall:.1f} s wall, {run.total_calls} calls, rc {run.returncode}",
                    flush=True,
                )
            if args.hold:  # for profiling a tool by hand against the same fleet
                print(f"[n={size}] holding {args.hold:.0f} s: AWS_ENDPOINT_URL={proxy.url}", flush=True)
                time.sleep(args.hold)
    finally:
        try:
            requests.post(f"{moto_url}/moto-api/reset", timeout=60)  # moto's state is per process
        finally:
            server.stop()
    return report.summarise(size, per_day, args.latency_ms, checks, truth, runs)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="ec2-warden vs Cloud Custodian on one seeded fleet")
    parser.add_argument("--sizes", default="1000", help="comma-separated fleet sizes (default 1000)")
    parser.add_argument("--latency-ms", type=float, default=30.0, help="added per AWS call (default 30)")
    parser.add_argument(
        "--tools",
        default="c7n,ec2-warden,ec2-warden-all",
        help="run in this order; ec2-warden runs the compared checks, ec2-warden-all every check it has",
    )
    parser.add_argument("--points-per-day", type=int, default=0, help="24 or 1 (default: 24 up to 1,000 instances)")
    parser.add_argument("--custodian", type=Path, default=default_custodian())
    parser.add_argument("--python", default=default_python(), help="the interpreter that runs ec2-warden")
    parser.add_argument("--warden-dir", type=Path, default=ROOT, help="ec2-warden checkout to run")
    parser.add_argument("--timeout", type=float, default=3600.0, help="per tool run, seconds")
    parser.add_argument("--c7n-no-coverage", action="store_true", help="drop the c7n idle policy's coverage filter")
    parser.add_argument("--stock-cloudwatch", action="store_true", help="use moto's own (scanning) CloudWatch")
    parser.add_argument("--hold", type=float, default=0.0, help="keep the fleet served this long after the runs")
    parser.add_argument("--out", type=Path, default=ROOT / "build" / "bench")
    args = parser.parse_args(argv)
    logging.getLogger("werkzeug").setLevel(logging.ERROR)
    from bench import moto_bench

    moto_bench.install(index_cloudwatch=not args.stock_cloudwatch)
    if "c7n" in args.tools and not args.custodian.exists():
        print(f"no Cloud Custodian at {args.custodian}: run `make bench` (it builds .venv-bench)", file=sys.stderr)
        return 2
    args.out.mkdir(parents=True, exist_ok=True)
    results = []
    started = time.perf_counter()
    for size in (int(s) for s in args.sizes.split(",")):
        results.append(bench_size(size, args, args.out))
        (args.out / "results.json").write_text(json.dumps(results, indent=1), encoding="utf-8")
    text = "\n".join(report.render(r) for r in results)
    (args.out / "results.md").write_text(text, encoding="utf-8")
    print(text)
    print(f"(whole run {time.perf_counter() - started:.0f} s; results in {args.out})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
