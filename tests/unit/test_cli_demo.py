"""The CLI's demo is loaded only when `demo` runs, and says clearly when devtools/ is absent (as in
the Lambda package)."""

from __future__ import annotations

import io
import subprocess
import sys

from chalicelib import cli
from chalicelib.cli.devtools_loader import DEMO, LAB, load
from tests.conftest import PROJECT_DIR


def test_without_devtools_the_demo_command_says_what_is_missing_and_exits_2(monkeypatch):
    monkeypatch.setitem(sys.modules, "devtools", None)  # what an import sees where devtools/ is absent
    monkeypatch.delitem(sys.modules, "devtools.demo", raising=False)
    out, err = io.StringIO(), io.StringIO()
    assert cli.main(["demo"], stdout=out, stderr=err) == 2
    assert out.getvalue() == ""
    message = err.getvalue()
    assert message.startswith("ec2-warden: the demo needs devtools/") and "make demo" in message


def test_the_cli_loads_no_devtools_until_the_demo_runs():
    code = "import chalicelib.cli, sys; print(sorted(m for m in sys.modules if m.startswith(('devtools', 'moto'))))"
    out = subprocess.run([sys.executable, "-c", code], cwd=PROJECT_DIR, capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"


def test_the_demo_is_found_by_its_name():
    # the other side: in a clone, the name the CLI loads is the demo's entry point
    assert callable(load(DEMO, "demo")) and callable(load(LAB, "lab"))
