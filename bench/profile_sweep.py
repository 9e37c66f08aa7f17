"""Where a sweep's memory goes: RSS and peak RSS after each stage of one CLI sweep.

    AWS_ENDPOINT_URL=... [WARDEN_CHECKS=all] python -m bench.profile_sweep [--trace N] [-- extra sweep flags]

Point it at a seeded fleet (`python -m bench.run --sizes 10000 --tools ec2-warden,ec2-warden-all
--hold 3600` serves one and prints its endpoint; with ec2-warden-all among the tools, its moto also
answers the SSM reads every check makes). It runs `python -m chalicelib sweep --mode audit --format
json` in this process, the report going to /dev/null, with each pipeline stage wrapped to print
/proc/self/status' VmRSS and VmHWM when it returns. Linux only.

`--trace N` also runs tracemalloc (slower, and its own bookkeeping inflates RSS) and prints, after
each stage, Python's traced memory and peak, and after the stages named by `--trace-at` (default:
the last), the N source lines holding the most."""

from __future__ import annotations

import argparse
import functools
import importlib
import os
import sys
import time
import tracemalloc
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
    "chalicelib.model.Report.to_dict",
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


TRACE: dict[str, Any] = {"top": 0, "at": ""}


def traced() -> str:
    if not tracemalloc.is_tracing():
        return ""
    current, peak = tracemalloc.get_traced_memory()
    return f"  traced {current / 2**20:6.1f} MB  traced peak {peak / 2**20:6.1f} MB"


def top_lines(label: str) -> None:
    if not tracemalloc.is_tracing() or not TRACE["top"]:
        return
    stats = tracemalloc.take_snapshot().statistics("lineno")
    print(f"--- top {TRACE['top']} lines holding memory after {label}")
    for stat in stats[: TRACE["top"]]:
        frame = stat.traceback[0]
        print(f"  {stat.size / 2**20:7.2f} MB {stat.count:>8} blocks  {frame.filename}:{frame.lineno}")


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
        short = name.rsplit(".", 1)[-1]
        print(f"{time.perf_counter() - started:7.2f} s  {short:<24} {memory()}{traced()}")
        if short in TRACE["at"]:
            top_lines(short)
        return result

    return wrapper


def _owner(dotted: str) -> Any:
    """The module (or class in a module) that holds the last name of `dotted`; None if gone."""
    parts = dotted.replace("ec2_reads", "ec2").split(".")[:-1]
    for cut in range(len(parts), 0, -1):
        try:
            owner = importlib.import_module(".".join(parts[:cut]))
        except ImportError:
            continue
        for name in parts[cut:]:
            owner = getattr(owner, name, None)
        return owner
    return None


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--region", default=os.environ.get("AWS_REGION", "eu-west-1"))
    parser.add_argument("--trace", type=int, default=0, metavar="N", help="tracemalloc: show the N top lines")
    parser.add_argument("--trace-at", default="_print", help="the stage(s), comma-separated, after which to show them")
    parser.add_argument("extra", nargs="*")
    args = parser.parse_args()
    if args.trace:
        tracemalloc.start()
        TRACE.update(top=args.trace, at=set(args.trace_at.split(",")))
    started = time.perf_counter()
    print(f"{0:7.2f} s  {'interpreter':<24} {memory()}")
    from chalicelib import cli

    print(f"{time.perf_counter() - started:7.2f} s  {'import chalicelib.cli':<24} {memory()}")
    for dotted in STAGES:
        owner = _owner(dotted)
        attr = dotted.rsplit(".", 1)[-1]
        if owner is not None and hasattr(owner, attr):
            setattr(owner, attr, _wrap(dotted, getattr(owner, attr), started))
    with open(os.devnull, "w", encoding="utf-8") as sink:
        code = cli.main(
            ["sweep", "--mode", "audit", "--format", "json", "--region", args.region, *args.extra], stdout=sink
        )
    print(f"{time.perf_counter() - started:7.2f} s  {'done (exit ' + str(code) + ')':<24} {memory()}")
    return code


if __name__ == "__main__":
    sys.exit(main())
