"""`make demo` is one of the README's two commands: it must run to the end and tell its stories."""

from __future__ import annotations

import os
import re
import subprocess
import sys

import pytest

from tests.conftest import PROJECT_DIR

pytestmark = pytest.mark.network_local


def test_the_demo_runs_every_story_and_exits_0():
    env = {k: v for k, v in os.environ.items() if not k.startswith(("AWS_", "WARDEN_", "SLACK_"))}
    done = subprocess.run(
        [sys.executable, "-m", "chalicelib", "demo"],
        cwd=PROJECT_DIR,
        env=env,
        text=True,
        capture_output=True,
        timeout=300,
        check=False,
    )
    assert done.returncode == 0, done.stderr[-2000:]
    out = done.stdout
    for heading in ("== Public exposure ==", "== Patch loop", "== Zombie hunting", "== Security Hub now holds"):
        assert heading in out
    assert "not flagged, as it should be" in out
    assert "action patch: 2 done" in out
    assert "resolved in Security Hub" in out
    assert "ARCHIVED/PASSED/RESOLVED" in out  # resolved findings carry Workflow.Status RESOLVED too
    # the audit reports it writes, and says where
    for name in ("ec2-warden-sweep.html", "ec2-warden-securityhub.html"):
        path = PROJECT_DIR / "build" / "demo" / name
        assert str(path) in out
        page = path.read_text(encoding="utf-8")
        assert "data-finding-id=" in page and "<script" not in page
    # a member account's forwarded event: judged in that account, its finding in that account's hub
    assert "judged in account 333333333333 with role ec2-warden-member-reader (1 AssumeRole)" in out
    assert re.search(
        r"Security Hub of account 333333333333 now holds [1-9]\d* finding\(s\) for the notebook, "
        r"under AwsAccountId \['333333333333'\]",
        out,
    )
    assert "ignored: account 999999999999 is not one this deployment serves (ALLOWED_ACCOUNTS) (0 AWS calls)" in out
    # Each story's Slack messages are printed under its own heading: the idle story's enforce-mode
    # digests never show up under the drift story (which runs the dev stage, notify mode).
    drift = out[out.index("== Lab to production drift ==") : out.index("== Organisation-wide sweep")]
    idle = out[out.index("== Zombie hunting") : out.index("== Lab to production drift ==")]
    assert "enforce mode" not in drift and "enforce mode" in idle
    # The census after the stop counts the instance ec2-warden just stopped.
    assert "census after the stop (an audit sweep):" in idle and "1 stopped by ec2-warden" in idle
    # The fan-out runs with the drift story's environment map: it resolves none of its findings.
    fanout = out[out.index("== Organisation-wide sweep") :]
    assert "now passes environment-drift" not in fanout
    # The member account that refuses the role is a readable line, and nothing is logged as raw JSON.
    assert "FAILED sts:AssumeRole: AccessDenied" in fanout
    assert done.stderr == ""
