"""The Slack Web API adapter over real HTTP against the local stand-in (devtools/slack_web_sink.py),
whose answers follow Slack's documentation: look-up, direct message, unknown user, bad token,
rate limits and server errors, and a token that never shows in an error."""

from __future__ import annotations

import logging

import pytest

from chalicelib.adapters.slack_web import REDACTED, SlackWebAdapter, SlackWebError
from devtools.slack_web_sink import SlackWebSink, WebReply

TOKEN = "xoxb-000000000001-secret-bot-token"
PAYLOAD = {"text": "hello", "blocks": [{"type": "section", "text": {"type": "mrkdwn", "text": "hello"}}]}


@pytest.fixture
def sink():
    with SlackWebSink(token=TOKEN, users={"Ana@Example.com": "U0ANA"}) as running:
        yield running


def test_an_address_is_resolved_once_per_run_and_messaged_directly(sink):
    web = SlackWebAdapter(TOKEN, sink.api_url)
    assert web.user_id_for("ana@example.com") == "U0ANA"
    assert web.user_id_for("ANA@example.com ") == "U0ANA"  # cached: same person, one look-up
    web.post_direct("U0ANA", PAYLOAD)
    lookups = [c for c in sink.calls if c.method == "users.lookupByEmail"]
    assert [c.params for c in lookups] == [{"email": "ana@example.com"}]
    assert lookups[0].headers["Authorization"] == f"Bearer {TOKEN}"
    assert sink.direct_messages == [("U0ANA", PAYLOAD)]


def test_an_address_slack_does_not_know_is_none_and_cached(sink):
    web = SlackWebAdapter(TOKEN, sink.api_url)
    assert web.user_id_for("ghost@example.com") is None
    assert web.user_id_for("ghost@example.com") is None
    assert len(sink.calls) == 1


def test_a_rate_limit_is_retried_after_its_retry_after(sink):
    sink.answer(WebReply(429, {"ok": False, "error": "ratelimited"}, {"Retry-After": "1"}))
    web = SlackWebAdapter(TOKEN, sink.api_url)
    web.post_direct("U0ANA", PAYLOAD)
    assert [c.reply.status for c in sink.calls] == [429, 200]
    assert len(sink.direct_messages) == 1


def test_a_long_rate_limit_or_a_server_error_fails_the_call_and_says_give_up(sink):
    sink.answer(WebReply(429, {"ok": False, "error": "ratelimited"}, {"Retry-After": "120"}))
    web = SlackWebAdapter(TOKEN, sink.api_url)
    with pytest.raises(SlackWebError, match="ratelimited") as raised:
        web.post_direct("U0ANA", PAYLOAD)
    assert raised.value.give_up and len(sink.calls) == 1  # not waited on: past MAX_RETRY_AFTER
    sink.answer(*[WebReply(503, {"ok": False, "error": "service_unavailable"})] * 2)
    with pytest.raises(SlackWebError, match="HTTP 503") as raised:
        web.user_id_for("ana@example.com")
    assert raised.value.give_up and len(sink.calls) == 3  # one retry


def test_a_bad_token_never_shows_in_the_error_or_the_log(sink, caplog):
    caplog.set_level(logging.DEBUG)
    web = SlackWebAdapter(TOKEN + "-wrong", sink.api_url)
    with pytest.raises(SlackWebError) as raised:
        web.user_id_for("ana@example.com")
    assert "invalid_auth" in str(raised.value) and raised.value.give_up
    assert TOKEN not in str(raised.value) and TOKEN not in caplog.text


def test_an_unreachable_slack_is_an_error_without_the_token():
    with SlackWebSink(token=TOKEN) as gone:
        url = gone.api_url
    web = SlackWebAdapter(TOKEN, url)
    with pytest.raises(SlackWebError, match="not reached") as raised:
        web.post_direct("U0ANA", PAYLOAD)
    assert TOKEN not in str(raised.value) and REDACTED not in url
