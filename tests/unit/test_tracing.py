"""When app.py builds the Powertools Tracer: Powertools' own rule, read without the X-Ray SDK."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from chalicelib.runtime.tracing import tracing_enabled

LAMBDA = {"LAMBDA_TASK_ROOT": "/var/task"}


@pytest.mark.parametrize(
    ("environ", "expected"),
    [
        (LAMBDA, True),  # Powertools' default in Lambda
        (LAMBDA | {"POWERTOOLS_TRACE_DISABLED": "false"}, True),
        (LAMBDA | {"POWERTOOLS_TRACE_DISABLED": "true"}, False),  # the stages' default
        (LAMBDA | {"POWERTOOLS_TRACE_DISABLED": "1"}, False),
        ({}, False),  # outside Lambda: no daemon to send to
        ({"POWERTOOLS_TRACE_DISABLED": "false"}, False),
        (LAMBDA | {"AWS_SAM_LOCAL": "true"}, False),
        (LAMBDA | {"AWS_CHALICE_CLI_MODE": "true"}, False),
    ],
)
def test_tracing_follows_powertools_rule(environ, expected):
    assert tracing_enabled(environ) is expected


def test_a_value_that_is_neither_true_nor_false_is_refused_by_name():
    with pytest.raises(ValueError, match="POWERTOOLS_TRACE_DISABLED='maybe'"):
        tracing_enabled(LAMBDA | {"POWERTOOLS_TRACE_DISABLED": "maybe"})


def test_the_deployed_stages_leave_tracing_off():
    config = json.loads((Path(__file__).resolve().parents[2] / ".chalice" / "config.json").read_text())
    for stage in config["stages"].values():
        environ = LAMBDA | config["environment_variables"] | stage.get("environment_variables", {})
        assert tracing_enabled(environ) is False
    assert config["xray"] is True  # Lambda's own per-invocation trace stays on
