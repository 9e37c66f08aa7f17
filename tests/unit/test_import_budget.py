"""What `import app` loads: the cold start of every one of the five functions (bench/cold_start.py
measures the time; this holds the module set, which does not depend on the machine)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]

# Loaded on a handler's first event, never by registering the handlers. (Powertools imports the
# bare `botocore` package, 0.5 ms; its session, client and models are what cost.)
HEAVY = ("botocore.", "boto3", "aws_xray_sdk", "slack_sdk", "chalicelib.pipeline", "chalicelib.adapters.clients")


def _modules_after(code: str, **env: str) -> set[str]:
    clean = {k: v for k, v in os.environ.items() if not k.startswith(("AWS_", "LAMBDA_", "POWERTOOLS_"))}
    out = subprocess.run(
        [sys.executable, "-c", code + "\nimport sys, json; print(json.dumps(sorted(sys.modules)))"],
        cwd=ROOT,
        env=clean | env,
        capture_output=True,
        text=True,
        check=True,
        timeout=60,
    )
    return set(json.loads(out.stdout.splitlines()[-1]))


def _heavy(modules: set[str]) -> set[str]:
    return {m for m in modules if m.startswith(HEAVY)}


def test_import_app_loads_no_aws_sdk_nor_the_pipeline():
    assert _heavy(_modules_after("import app")) == set()


def test_import_app_in_lambda_with_the_stages_default_loads_no_xray_sdk():
    modules = _modules_after("import app", LAMBDA_TASK_ROOT=str(ROOT), POWERTOOLS_TRACE_DISABLED="true")
    assert _heavy(modules) == set()


def test_turning_tracing_on_loads_the_xray_sdk():
    # the check above can fail: with tracing on, app.py builds the Tracer and the SDK comes in
    modules = _modules_after("import app", LAMBDA_TASK_ROOT=str(ROOT), POWERTOOLS_TRACE_DISABLED="false")
    assert "aws_xray_sdk.core" in modules


def test_the_entry_points_bring_the_pipeline_they_run():
    modules = _modules_after("import chalicelib.runtime.entry")
    assert {"chalicelib.pipeline", "chalicelib.adapters.clients", "botocore.session"} <= modules
    assert "boto3" not in modules  # the product's clients are botocore's


# The audit report's renderers are CLI extras: no function loads a template engine or OCSF models,
# not at import and not with the pipeline it runs (which builds the report's facts).
RENDERERS = ("jinja2", "py_ocsf_models", "chalicelib.report.html", "chalicelib.report.ocsf", "chalicelib.report.csv")


def test_no_function_loads_the_report_renderers():
    for code in ("import app", "import chalicelib.runtime.entry, chalicelib.pipeline, chalicelib.fanout.worker"):
        modules = _modules_after(code)
        assert {m for m in modules if m.startswith(RENDERERS)} == set(), code
    assert "chalicelib.report.facts" in _modules_after("import chalicelib.pipeline")
