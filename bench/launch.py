"""Run a command and write its wall time, CPU seconds and peak RSS as JSON: `launch.py RESULT -- ARGV...`.

Why a launcher: Linux keeps a process's peak RSS across exec, and a child forked from the benchmark
process (which holds moto's server and the seeded fleet, hundreds of MB) starts out that big. Forked
from this small interpreter instead, the tool's peak RSS is its own. Standard library only."""

import json
import os
import subprocess
import sys
import time


def main() -> int:
    result, sep, argv = sys.argv[1], sys.argv[2], sys.argv[3:]
    if sep != "--" or not argv:
        print("usage: launch.py RESULT -- ARGV...", file=sys.stderr)
        return 2
    started = time.perf_counter()
    child = subprocess.Popen(argv)
    _, status, usage = os.wait4(child.pid, 0)
    wall = time.perf_counter() - started
    child.returncode = os.waitstatus_to_exitcode(status)
    with open(result, "w", encoding="utf-8") as out:
        json.dump(
            {
                "wall": wall,
                "cpu": usage.ru_utime + usage.ru_stime,
                "user": usage.ru_utime,
                "sys": usage.ru_stime,
                "max_rss_kb": usage.ru_maxrss,
                "returncode": child.returncode,
            },
            out,
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
