"""Owner messages through the whole pipeline: EC2, Security Hub, SSM and SES under moto, Slack's Web
API and webhook as local HTTP stand-ins. One direct message per resolvable owner per run, the
right fallbacks to the security channel, silence when nothing changed, and email through SES."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from moto import mock_aws
from moto.core import DEFAULT_ACCOUNT_ID
from moto.ses.models import ses_backends

from chalicelib.model import ActionKind, Report
from devtools.slack_sink import SlackSink, block_kit_violations, render_message
from devtools.slack_web_sink import SlackWebSink, WebReply
from tests.integration.slack_world import NOW, REGION, World, run_pipeline, sweep

pytestmark = pytest.mark.network_local
TOKEN = "xoxb-000000000002-owner-bot-token"
TOKEN_PARAMETER = "/ec2-warden/slack-bot-token"
ANA = "ana@example.com"


@pytest.fixture
def world(monkeypatch: pytest.MonkeyPatch) -> Iterator[World]:
    for var in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY"):
        monkeypatch.setenv(var, "testing")
    monkeypatch.setenv("AWS_DEFAULT_REGION", REGION)
    monkeypatch.delenv("AWS_ENDPOINT_URL", raising=False)
    with mock_aws():
        yield World()


@pytest.fixture
def webhook() -> Iterator[SlackSink]:
    with SlackSink() as running:
        yield running


@pytest.fixture
def slack_api() -> Iterator[SlackWebSink]:
    with SlackWebSink(token=TOKEN, users={ANA: "U0ANA"}) as running:
        yield running


@pytest.fixture
def fleet(world: World) -> dict[str, str]:
    """Three owners: one Slack knows (two instances), a team name, an address Slack does not know."""
    exposed = world.open_group("ssh-open", [22])
    return {
        "ana-1": world.launch(exposed, Name="ana-db", Owner=ANA),
        "ana-2": world.launch(world.open_group("ana-quiet", []), Name="ana-web", Owner="Ana@Example.com"),
        "team": world.launch(exposed, Name="team-box", Owner="platform-team"),
        "ghost": world.launch(exposed, Name="ghost-box", Owner="ghost@example.com"),
    }


def settings(webhook: SlackSink, slack_api: SlackWebSink, **extra: str) -> dict[str, str]:
    return {
        "WARDEN_CHECKS": "public-exposure",
        "SLACK_WEBHOOK_URL": webhook.url,
        "OWNER_NOTIFY": "slack",
        "SLACK_API_URL": slack_api.api_url,
        "SLACK_BOT_TOKEN": TOKEN,
        "COST_ESTIMATES": "off",
        **extra,
    }


def owner_outcomes(report: Report) -> list:
    return [a for a in report.actions if a.kind is ActionKind.NOTIFY_OWNER]


def unknown_owner_messages(webhook: SlackSink) -> list[str]:
    return [render_message(m) for m in webhook.messages if "owner unknown" in m["text"]]


def test_one_direct_message_per_resolvable_owner_and_fallbacks_then_silence(
    world: World, webhook: SlackSink, slack_api: SlackWebSink, fleet: dict[str, str]
) -> None:
    # GIVEN three owners' instances exposed to the internet (ana's second one not yet)
    env = settings(webhook, slack_api)
    # WHEN the first sweep runs in notify mode
    report = run_pipeline(sweep(), env)
    # THEN ana gets exactly one direct message, about her exposed instance
    [(user, dm)] = slack_api.direct_messages
    text = render_message(dm)
    assert user == "U0ANA" and block_kit_violations(dm) == []
    assert fleet["ana-1"] in text and "public-exposure" in text and fleet["ana-2"] not in text
    assert "Instance in EC2 console" in text and "Finding in Security Hub" in text
    # AND the team name and the address Slack does not know go to the security channel, marked
    team_text, ghost_text = sorted(unknown_owner_messages(webhook), key=lambda t: "ghost" in t)
    assert fleet["team"] in team_text and "not an email address" in team_text
    assert fleet["ghost"] in ghost_text and "Slack knows no user with the address ghost@example.com" in ghost_text
    assert fleet["ana-1"] not in team_text + ghost_text
    # AND each address was looked up once, and every owner message is a done action
    lookups = sorted(c.params["email"] for c in slack_api.calls if c.method == "users.lookupByEmail")
    assert lookups == [ANA, "ghost@example.com"]
    assert [(o.done, o.error) for o in owner_outcomes(report)] == [(True, None)] * 3
    assert TOKEN not in str(report.to_dict())

    # WHEN the same sweep runs again with nothing changed
    slack_api.clear()
    webhook.clear()
    again = run_pipeline(sweep(), env)
    # THEN nobody hears anything
    assert owner_outcomes(again) == [] and slack_api.calls == [] and webhook.received == []

    # WHEN a new finding appears on one of ana's instances only
    world.open_port(
        world.ec2.describe_instances(InstanceIds=[fleet["ana-2"]])["Reservations"][0]["Instances"][0]["SecurityGroups"][
            0
        ]["GroupId"],
        22,
    )
    third = run_pipeline(sweep(), env)
    # THEN one message to its owner, about that instance only; no fallback message
    [(user, dm)] = slack_api.direct_messages
    text = render_message(dm)
    assert user == "U0ANA" and fleet["ana-2"] in text and fleet["ana-1"] not in text
    assert unknown_owner_messages(webhook) == []
    assert len(owner_outcomes(third)) == 1


def test_without_a_bot_token_every_owner_goes_to_the_security_channel(
    world: World, webhook: SlackSink, slack_api: SlackWebSink, fleet: dict[str, str]
) -> None:
    env = settings(webhook, slack_api)
    env.pop("SLACK_BOT_TOKEN")
    report = run_pipeline(sweep(), env)
    texts = unknown_owner_messages(webhook)
    assert len(texts) == 3 and slack_api.calls == []
    ana = next(t for t in texts if fleet["ana-1"] in t)
    assert "SLACK_BOT_TOKEN_PARAMETER is not set" in ana
    assert all(o.done for o in owner_outcomes(report))


def test_the_bot_token_is_read_from_its_secure_string(
    world: World, webhook: SlackSink, slack_api: SlackWebSink, fleet: dict[str, str]
) -> None:
    world.ssm.put_parameter(Name=TOKEN_PARAMETER, Value=TOKEN, Type="SecureString")
    env = settings(webhook, slack_api, SLACK_BOT_TOKEN_PARAMETER=TOKEN_PARAMETER)
    env.pop("SLACK_BOT_TOKEN")
    report = run_pipeline(sweep(), env)
    assert [u for u, _ in slack_api.direct_messages] == ["U0ANA"]
    assert report.api_calls["ssm:GetParameter"] == 1


def test_slack_rate_limiting_fails_the_owner_message_not_the_run(
    world: World, webhook: SlackSink, slack_api: SlackWebSink, fleet: dict[str, str], caplog
) -> None:
    slack_api.answer(*[WebReply(429, {"ok": False, "error": "ratelimited"}, {"Retry-After": "60"})] * 3)
    report = run_pipeline(sweep(), settings(webhook, slack_api))
    # GIVEN Slack's Web API answers 429 with a Retry-After longer than a Lambda may wait
    failed = [o.error for o in owner_outcomes(report) if o.error]
    # THEN the first Web API call fails, the other Web API owner is not tried in this run,
    assert len(failed) == 2 and "ratelimited (HTTP 429)" in failed[0] and failed[1].startswith("not sent:")
    assert len(slack_api.calls) == 1
    # AND the run still finished, reporting them, and the owner the webhook serves still heard
    assert report.findings and [e.where for e in report.errors].count("action:notify-owner") == 2
    assert [fleet["team"] in t for t in unknown_owner_messages(webhook)] == [True]
    assert TOKEN not in caplog.text


def test_audit_mode_messages_no_owner(world: World, webhook: SlackSink, slack_api: SlackWebSink, fleet) -> None:
    report = run_pipeline(sweep(), {**settings(webhook, slack_api), "WARDEN_MODE": "audit"})
    assert slack_api.calls == [] and webhook.received == []
    assert all(not o.done and o.reason.startswith("audit mode") for o in owner_outcomes(report))


def test_email_owners_get_one_email_each_through_ses(
    world: World, webhook: SlackSink, slack_api: SlackWebSink, fleet: dict[str, str]
) -> None:
    import boto3

    ses = boto3.client("ses", region_name=REGION)
    ses.verify_email_identity(EmailAddress="warden@example.com")
    env = settings(webhook, slack_api, OWNER_NOTIFY="email", OWNER_EMAIL_SENDER="warden@example.com")
    report = run_pipeline(sweep(), env)
    sent = ses_backends[DEFAULT_ACCOUNT_ID][REGION].sent_messages
    assert sorted(m.destinations["ToAddresses"][0] for m in sent) == [ANA, "ghost@example.com"]
    ana = next(m for m in sent if m.destinations["ToAddresses"] == [ANA])
    assert fleet["ana-1"] in ana.body and "public-exposure" in ana.body and "<" not in ana.subject
    assert [fleet["team"] in t for t in unknown_owner_messages(webhook)] == [True]
    assert slack_api.calls == [] and report.api_calls["ses:SendEmail"] == 2
    assert NOW  # the world's clock: the sweep judged at NOW
