"""Where a sweep's memory goes: RSS and peak RSS after each stage of one CLI sweep.

    AWS_ENDPOINT_URL=... python -m bench.profile_sweep [--region eu-west-1] [-- extra sweep flags]

Point it at a seeded fleet (`python -m bench.run --tools ec2-warden --hold 600` serves one and prints
its endpoint). It runs `python -m chalicelib sweep --mode audit --format json` in this process, the
report going to /dev/null, with each pipeline stage wrapped to print /proc/self/status' VmRSS and
VmHWM when it returns. Linux only."""

from __future__ import annotations

import argparse
import functools
import importlib
import os
import sys
import time
from collections.abc import Callable
from typing import Any

STAGES = (
    "chalicelib.snapshot.ec2_reads.iter_all_instances",
    "chalicelib.snapshot.ec2_reads.read_all_security_groups",
    "chalicelib.snapshot.read_usage_facet",
    "chalicelib.snapshot.take_snapshot",
    "chalicelib.pipeline.take_snapshot",
    "chalicelib.pipeline.run_checks",
    "chalicelib.pipeline.plan_actions",
    "chalicelib.pipeline.apply_plan",
    "chalicelib.cli.run",
    "chalicelib.cli._print",
)


def memory() -> str:
    fields = {}
    with open("/proc/self/status", encoding="ascii") as status:
        for line in status:
            key, _, value = line.partition(":")
            if key in ("VmRSS", "VmHWM"):
                fields[key] = int(value.split()[0]) / 1024
    return f"RSS {fields['VmRSS']:6.1f} MB  peak {fields['VmHWM']:6.1f} MB"


def _wrap(name: str, fn: Callable[..., Any], started: float) -> Callable[..., Any]:
    if name.endswith("iter_all_instances"):

        @functools.wraps(fn)
        def generator(*args: Any, **kwargs: Any) -> Any:
            for count, item in enumerate(fn(*args, **kwargs), 1):
                if count % 1000 == 0:
                    print(f"{time.perf_counter() - started:7.2f} s  {count:>6} instances read  {memory()}")
                yield item

        return generator

    @functools.wraps(fn)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        result = fn(*args, **kwargs)
        print(f"{time.perf_counter() - started:7.2f} s  {name.rsplit('.', 1)[-1]:<24} {memory()}")
        return result

    return wrapper


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--region", default=os.environ.get("AWS_REGION", "eu-west-1"))
    parser.add_argument("extra", nargs="*")
    args = parser.parse_args()
    started = time.perf_counter()
    print(f"{0:7.2f} s  {'interpreter':<24} {memory()}")
    from chalicelib import cli

    print(f"{time.perf_counter() - started:7.2f} s  {'import chalicelib.cli':<24} {memory()}")
    for dotted in STAGES:
        module_name, attr = dotted.rsplit(".", 1)
        if module_name.endswith("ec2_reads"):
            module_name = "chalicelib.snapshot.ec2"
        try:
            module = importlib.import_module(module_name)
        except ImportError:
            continue
        if hasattr(module, attr):
            setattr(module, attr, _wrap(dotted, getattr(module, attr), started))
    with open(os.devnull, "w", encoding="utf-8") as sink:
        code = cli.main(
            ["sweep", "--mode", "audit", "--format", "json", "--region", args.region, *args.extra], stdout=sink
        )
    print(f"{time.perf_counter() - started:7.2f} s  {'done (exit ' + str(code) + ')':<24} {memory()}")
    return code


if __name__ == "__main__":
    sys.exit(main())
