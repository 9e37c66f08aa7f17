"""`ec2-warden lab`: the seeded embedded AWS gives every check something to find."""

from __future__ import annotations

import io
import json
import shlex
import threading
import time

import pytest

from chalicelib.checks import CHECKS
from devtools.embedded_aws import free_port
from devtools.lab import serve_lab
from tests.e2e.conftest import clean_env, run_warden

pytestmark = pytest.mark.network_local


def test_the_lab_prints_one_export_line_and_every_check_finds_something(warden):
    out, stop = io.StringIO(), threading.Event()
    lab = threading.Thread(target=serve_lab, args=(free_port(), out, stop), daemon=True)
    lab.start()
    try:
        for _ in range(600):
            if "ec2-warden sweep" in out.getvalue():
                break
            time.sleep(0.1)
        exports = [line for line in out.getvalue().splitlines() if line.startswith("export ")]
        assert len(exports) == 1 and "ec2-warden sweep" in out.getvalue()
        env = dict(pair.split("=", 1) for pair in shlex.split(exports[0])[1:])
        done = run_warden(warden, "sweep", "--format", "json", env=clean_env(**env))
        assert done.returncode == 0, done.stderr
        found = {f["check"] for f in json.loads(done.stdout)["findings"]}
        assert found == {c.value for c in CHECKS}
    finally:
        stop.set()
        lab.join(timeout=30)


def test_a_taken_port_is_one_line_and_exit_2(warden):
    import socket

    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        done = run_warden(warden, "lab", "--port", str(taken.getsockname()[1]), timeout=60)
    assert done.returncode == 2 and done.stderr.count("\n") == 1 and "in use" in done.stderr


def test_the_lab_runs_until_ctrl_c_and_then_exits_0(warden):
    import signal
    import subprocess

    lab = subprocess.Popen(
        [str(warden), "lab", "--port", "0"],
        env=clean_env(),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL),  # a shell's & would ignore it
    )
    try:
        while "ec2-warden sweep" not in (line := lab.stdout.readline()):
            assert line, "the lab ended before it was ready"
        assert lab.poll() is None  # still serving
        lab.send_signal(signal.SIGINT)
        out, err = lab.communicate(timeout=120)
    finally:
        if lab.poll() is None:
            lab.kill()
    assert lab.returncode == 0 and "stopped" in out, err
