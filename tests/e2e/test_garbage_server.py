"""Whatever an endpoint that is not AWS answers (HTML, cut-off XML or JSON, 5xx, a closed connection),
the installed command ends with one line on stderr and exit 1: never a traceback, never a clean table."""

from __future__ import annotations

import json

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.conftest import LOCAL_EVENTS
from tests.e2e.conftest import clean_env, run_warden
from tests.e2e.garbage_server import Answer, GarbageServer

pytestmark = pytest.mark.network_local

EC2_ANSWER = (
    b'<?xml version="1.0" encoding="UTF-8"?>\n<DescribeInstancesResponse xmlns="http://ec2.amazonaws.com/doc/'
    b'2016-11-15/"><requestId>59dbff89-35bd-4eac-99ed-be587EXAMPLE</requestId><reservationSet><item>'
    b"<reservationId>r-1234567890abcdef0</reservationId><ownerId>123456789012</ownerId><instancesSet><item>"
    b"<instanceId>i-1234567890abcdef0</instanceId></item></instancesSet></item></reservationSet>"
    b"</DescribeInstancesResponse>"
)
JSON_ANSWER = json.dumps({"Findings": [{"Id": "x", "Severity": {"Label": "HIGH"}}], "NextToken": "t"}).encode()
HTML = b"<!DOCTYPE html><html><head><title>Sign in</title></head><body><h1>Proxy login</h1></body></html>"


def _cut(body: bytes) -> st.SearchStrategy[bytes]:
    return st.integers(min_value=0, max_value=len(body) - 1).map(lambda n: body[:n])


answers = st.one_of(
    st.builds(Answer, status=st.sampled_from([200, 403, 500, 502, 503]), body=st.just(HTML)),
    st.builds(Answer, status=st.just(200), body=_cut(EC2_ANSWER), content_type=st.just("text/xml")),
    st.builds(Answer, status=st.just(200), body=_cut(JSON_ANSWER), content_type=st.just("application/json")),
    st.builds(Answer, status=st.sampled_from([500, 503]), body=st.binary(max_size=64)),
    st.just(Answer(hang_up=True)),
)


@pytest.fixture(scope="module")
def garbage():
    server = GarbageServer()
    with server.running():
        yield server


@settings(max_examples=8, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(answer=answers, command=st.sampled_from(["sweep", "replay"]))
def test_any_garbage_answer_is_one_line_and_exit_1(warden, garbage, answer, command):
    garbage.answer = answer
    args = ["sweep"] if command == "sweep" else ["replay", str(LOCAL_EVENTS / "ec2-instance-state-change-running.json")]
    # One attempt (AWS_MAX_ATTEMPTS=1): the property is about what the command says, not retries.
    done = run_warden(warden, *args, "--endpoint-url", garbage.url, env=clean_env(AWS_MAX_ATTEMPTS="1"), timeout=60)
    assert "Traceback" not in done.stderr + done.stdout
    assert done.returncode == 1, (answer, done.stdout, done.stderr)
    assert done.stderr.count("\n") == 1 and done.stderr.startswith("ec2-warden: could not finish")
    assert "findings:" not in done.stdout and "RUN DID NOT FINISH" in done.stdout
