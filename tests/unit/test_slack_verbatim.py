"""User-controlled text in Slack messages is shown, not interpreted: every mrkdwn text object is
`verbatim`, so a URL, a #channel or an @name in a tag is not auto-linked, and `& < >` stay escaped."""

from __future__ import annotations

from chalicelib.model import CheckName, Finding, FindingStatus, Instance, Severity
from chalicelib.notify import FindingNotice, finding_message, rollup_message
from chalicelib.notify.blocks import context, fields_section, section

EVIL_NAME = "https://evil.example/login"
EVIL_OWNER = "*boss* _urgent_ `rm` <@U123> #general & co"


def notice() -> FindingNotice:
    inst = Instance(
        id="i-0123456789abcdef0",
        state="running",
        account="123456789012",
        region="eu-west-1",
        tags={"Name": EVIL_NAME, "Owner": EVIL_OWNER},
    )
    finding = Finding(
        check=CheckName.PUBLIC_EXPOSURE,
        resource_id=inst.id,
        account=inst.account,
        region=inst.region,
        severity=Severity.CRITICAL,
        title="Critical: SSH (22) open to the internet",
        description="d",
        remediation="r",
        details={"paths": []},
    )
    return FindingNotice(finding, FindingStatus.NEW, inst)


def mrkdwn_objects(node: object) -> list[dict]:
    if isinstance(node, dict):
        own = [node] if node.get("type") == "mrkdwn" else []
        return own + [o for v in node.values() for o in mrkdwn_objects(v)]
    if isinstance(node, list):
        return [o for v in node for o in mrkdwn_objects(v)]
    return []


def test_every_mrkdwn_object_the_primitives_build_is_verbatim() -> None:
    blocks = [section("a"), fields_section([("Owner", "b")]), context(["c", "d"])]
    objects = mrkdwn_objects(blocks)
    assert len(objects) == 4 and all(o["verbatim"] is True for o in objects)


def test_a_tag_holding_a_url_or_a_mention_is_shown_verbatim_in_every_message() -> None:
    for payload in (finding_message(notice()), rollup_message([notice()], already_sent=10)):
        objects = mrkdwn_objects(payload["blocks"])
        carrying = [o for o in objects if EVIL_NAME in o["text"] or "&lt;@U123&gt;" in o["text"]]
        # GIVEN tags an attacker wrote THEN each text object showing them is verbatim (no
        # auto-link of the URL, #general or @names) and Slack's control characters stay escaped
        assert carrying, payload
        assert all(o.get("verbatim") is True for o in objects)
        assert all("<@U123>" not in o["text"] and "& co" not in o["text"] for o in objects)
