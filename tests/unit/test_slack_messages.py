"""Slack Block Kit payloads: what they say, and that they stay inside Slack's documented limits."""

from __future__ import annotations

import json
import re
from datetime import UTC, datetime, timedelta

from hypothesis import given
from hypothesis import strategies as st

from chalicelib.model import (
    ActionKind,
    ActionOutcome,
    CheckName,
    Finding,
    FindingStatus,
    Instance,
    Mode,
    PriorFinding,
    ReadError,
    Resolution,
    Severity,
)
from chalicelib.notify import (
    FindingNotice,
    SweepDigest,
    digest_message,
    finding_message,
    rollup_message,
)
from chalicelib.notify.blocks import MAX_TEXT, clip_mrkdwn, escape, link, listing, listing_blocks, message, section
from chalicelib.notify.compose import steps_for
from devtools.slack_sink import block_kit_violations, render_message

NOW = datetime(2026, 1, 31, 12, 0, tzinfo=UTC)
ACCOUNT = "123456789012"
REGION = "eu-west-1"


def instance(iid: str = "i-0123456789abcdef0", **tags: str) -> Instance:
    return Instance(id=iid, state="running", account=ACCOUNT, region=REGION, tags=tags)


def path(port: int = 22, cidr: str = "0.0.0.0/0", group: str = "sg-0aaa1111", severity: str = "CRITICAL") -> dict:
    return {
        "address": "54.10.20.30",
        "address_kind": "public-ipv4",
        "network_interface": "eni-0abc",
        "group_id": group,
        "group_name": "db-sg",
        "rule": f"tcp {port}",
        "cidr": cidr,
        "ports": str(port),
        "severity": severity,
    }


def exposure(
    iid: str = "i-0123456789abcdef0", severity: Severity = Severity.CRITICAL, paths: list | None = None, title: str = ""
) -> Finding:
    return Finding(
        check=CheckName.PUBLIC_EXPOSURE,
        resource_id=iid,
        account=ACCOUNT,
        region=REGION,
        severity=severity,
        title=title or f"{severity.value.title()}: SSH (22) open to the internet on {iid}",
        description="Reachable from the internet: 54.10.20.30 admits 0.0.0.0/0 on tcp 22 through sg-0aaa1111",
        remediation="Remove the rule that admits 0.0.0.0/0.",
        details={"paths": paths if paths is not None else [path()]},
    )


def texts(payload: dict) -> str:
    return json.dumps(payload, ensure_ascii=False)


# --- the immediate message ------------------------------------------------------------------


def test_immediate_message_says_what_where_who_why_and_what_was_done() -> None:
    # GIVEN a new CRITICAL exposure on a named, owned instance that was posted to Security Hub
    f = exposure()
    notice = FindingNotice(
        f,
        FindingStatus.NEW,
        instance(Name="billing-db", Owner="alice@example.com"),
        steps=("Posted to Security Hub.", "No automatic change to the instance."),
    )
    # WHEN the message is built
    payload = finding_message(notice)
    # THEN it is valid Block Kit and a reader learns everything the issue asks for
    assert block_kit_violations(payload) == []
    text = render_message(payload, show_urls=True)
    for expected in (
        "CRITICAL",
        "public-exposure",
        "i-0123456789abcdef0",
        "billing-db",
        "alice@example.com",
        ACCOUNT,
        REGION,
        "tcp 22 open to 0.0.0.0/0 through sg-0aaa1111 (db-sg)",
        "Posted to Security Hub.",
        "New finding.",
        "#InstanceDetails:instanceId=i-0123456789abcdef0",
        "securityhub/home?region=eu-west-1#/findings?search=Id%3D",
    ):
        assert expected in text, expected
    assert "CRITICAL" in payload["text"]


def test_security_hub_link_encodes_the_finding_id_twice_as_the_console_expects() -> None:
    payload = finding_message(FindingNotice(exposure(), FindingStatus.NEW))
    encoded = "ec2-warden%252F123456789012%252Feu-west-1%252Fpublic-exposure%252Fi-0123456789abcdef0"
    assert encoded in texts(payload)


def test_raised_severity_is_said_as_such() -> None:
    notice = FindingNotice(exposure(), FindingStatus.CHANGED, previous_severity=Severity.HIGH)
    assert "Severity raised from HIGH to CRITICAL." in render_message(finding_message(notice))


def test_missing_owner_and_name_are_said_not_invented() -> None:
    text = render_message(finding_message(FindingNotice(exposure(), FindingStatus.NEW, instance())))
    assert "no Owner tag" in text


def test_tag_values_are_escaped_so_they_cannot_ping_the_channel() -> None:
    # GIVEN tags written by whoever launched the instance
    inst = instance(Name="<!channel> db & co", Owner="<@U123> <https://evil.example|click>")
    payload = finding_message(FindingNotice(exposure(), FindingStatus.NEW, inst))
    # THEN no Slack control sequence from a tag survives in any text Slack parses (mrkdwn and the
    # notification text); header plain_text is shown as written, so it needs no escaping
    parsed = [payload["text"]] + [t["text"] for t in mrkdwn_objects(payload)]
    assert any("&lt;!channel&gt; db &amp; co" in t for t in parsed)
    for t in parsed:
        assert "<!channel>" not in t and "<@U123>" not in t and "<https://evil.example" not in t


def mrkdwn_objects(payload: dict) -> list[dict]:
    found: list[dict] = []

    def walk(node: object) -> None:
        if isinstance(node, dict):
            if node.get("type") == "mrkdwn":
                found.append(node)
            for value in node.values():
                walk(value)
        elif isinstance(node, list):
            for value in node:
                walk(value)

    walk(payload["blocks"])
    return found


def test_huge_finding_stays_within_limits_and_says_how_much_was_left_out() -> None:
    # GIVEN a finding with 300 exposure paths, a 5,000-character title and long tags
    paths = [path(port=1000 + i, group=f"sg-{i:08x}") for i in range(300)]
    f = exposure(paths=paths, title="T" * 5000)
    inst = instance(Name="N" * 300, Owner="O" * 300)
    steps = tuple(f"step {i} " + "x" * 400 for i in range(40))
    payload = finding_message(FindingNotice(f, FindingStatus.NEW, inst, steps=steps))
    # THEN Slack would accept it and the reader is told what is missing
    assert block_kit_violations(payload) == []
    assert "more" in render_message(payload)
    assert "…and 292 more" in texts(payload)  # 8 reasons shown, 292 left out


# --- the roll-up and the digest ---------------------------------------------------------------


def test_rollup_lists_many_findings_within_limits() -> None:
    notices = [
        FindingNotice(exposure(iid=f"i-{i:017x}"), FindingStatus.NEW, instance(f"i-{i:017x}", Owner="bob"))
        for i in range(200)
    ]
    payload = rollup_message(notices, already_sent=9)
    assert block_kit_violations(payload) == []
    assert "200 more, after the 9 sent one by one" in render_message(payload)
    assert "…and 180 more" in texts(payload)


def digest(**overrides: object) -> SweepDigest:
    values: dict = {
        "account": ACCOUNT,
        "region": REGION,
        "mode": Mode.NOTIFY,
        "at": NOW,
        "instances_scanned": 40,
    }
    values.update(overrides)
    return SweepDigest(**values)


def test_digest_counts_by_check_and_severity_and_lists_what_happened() -> None:
    # GIVEN a sweep with open findings, one new, one resolved, one action, one error, one deadline
    open_findings = (
        exposure("i-00000000000000001", Severity.CRITICAL),
        exposure("i-00000000000000002", Severity.CRITICAL),
        exposure("i-00000000000000003", Severity.HIGH),
    )
    prior = PriorFinding("fid", "public-exposure", "i-00000000000000009", Severity.HIGH, "t", "d", "", "")
    from chalicelib.notify.facts import Deadline

    d = digest(
        open_findings=open_findings,
        new=(FindingNotice(open_findings[0], FindingStatus.NEW, instance("i-00000000000000001", Owner="carol")),),
        resolved=(Resolution("fid", "public-exposure", "i-00000000000000009", "the instance is stopped", prior),),
        actions=(ActionOutcome(ActionKind.IMPORT_FINDINGS, ("a", "b"), done=True, reason="post 1 new, 1 refreshed"),),
        errors=(ReadError("securityhub:GetFindings", "AccessDenied: not allowed"),),
        deadlines=(Deadline("i-00000000000000004", "lab-box", "dave", NOW + timedelta(hours=3)),),
    )
    # WHEN the digest is built
    payload = digest_message(d)
    text = render_message(payload)
    # THEN it is valid and complete
    assert block_kit_violations(payload) == []
    assert "Open findings: 3" in text
    assert "public-exposure: 2 CRITICAL · 1 HIGH" in text
    assert "New since the last sweep (1)" in text and "owner carol" in text
    assert "Resolved (1)" in text and "the instance is stopped" in text
    assert "import-findings 2 done: post 1 new, 1 refreshed" in text
    assert "Stops due in the next 24 hours (1)" in text and "lab-box" in text and "owner dave" in text
    assert "Errors (1)" in text and "AccessDenied" in text
    assert "40 instance(s) scanned" in text


def test_digest_of_a_very_bad_day_stays_within_limits() -> None:
    many = tuple(exposure(f"i-{i:017x}", Severity.CRITICAL, title="x" * 250) for i in range(600))
    prior = PriorFinding("fid", "public-exposure", "i-1", Severity.HIGH, "t", "d", "", "")
    d = digest(
        open_findings=many,
        new=tuple(FindingNotice(f, FindingStatus.NEW, instance(f.resource_id, Name="n" * 200)) for f in many),
        resolved=tuple(Resolution(f"f{i}", "public-exposure", f"i-{i}", "r" * 500, prior) for i in range(300)),
        actions=tuple(
            ActionOutcome(ActionKind.IMPORT_FINDINGS, ("x",) * 7, False, error="e" * 2500) for _ in range(80)
        ),
        errors=tuple(ReadError(f"where{i}", "m" * 2900) for i in range(120)),
    )
    payload = digest_message(d)
    assert block_kit_violations(payload) == []
    raw = texts(payload)
    assert "…and 585 more" in raw  # new: 15 listed of 600
    errors_tail = raw[raw.index("Errors (120)") :]
    assert re.search(r"…and 1[01]\d more", errors_tail)  # long error lines: a few shown, the rest counted


def test_quiet_digest_still_says_zero_open_findings() -> None:
    text = render_message(digest_message(digest()))
    assert "Open findings: 0" in text


# --- the primitives -----------------------------------------------------------------------------


def test_message_past_50_blocks_keeps_49_and_says_how_many_were_dropped() -> None:
    payload = message("x", [section(f"block {i}") for i in range(70)])
    assert len(payload["blocks"]) == 50
    assert "and 21 more block(s) not shown" in texts(payload)
    assert block_kit_violations(payload) == []


def test_clip_never_cuts_a_link_or_an_entity_in_half() -> None:
    text = "a" * 90 + link("https://example.com/" + "p" * 50, "label")
    assert clip_mrkdwn(text, 100) == "a" * 90 + "…"
    assert clip_mrkdwn("b" * 95 + escape("&"), 98) == "b" * 95 + "…"


one_line = st.text(alphabet=st.characters(blacklist_characters="\n"), max_size=4000)


@given(st.lists(one_line, max_size=60), st.integers(min_value=0, max_value=80))
def test_listing_never_exceeds_the_limit_and_counts_what_it_drops(lines: list[str], max_items: int) -> None:
    escaped = [escape(line) for line in lines]
    text = listing("*T*", escaped, max_items=max_items)
    assert len(text) <= MAX_TEXT
    body = text.split("\n")[1:]
    if body and body[-1].startswith("…and "):
        shown = len(body) - 1
        assert body[-1] == f"…and {len(lines) - shown} more"
    else:
        assert len(body) == len(lines)
    sections = listing_blocks("*T*", escaped, max_items=max_items)
    assert all(len(block["text"]["text"]) <= MAX_TEXT for block in sections)
    last = sections[-1]["text"]["text"].split("\n")[-1]
    listed = sum(len(b["text"]["text"].split("\n")) for b in sections) - 1
    if last.startswith("…and "):
        assert last == f"…and {len(lines) - (listed - 1)} more"
    else:
        assert listed == len(lines)


# --- what ec2-warden says it did ------------------------------------------------------------------


def test_steps_say_posted_only_when_security_hub_took_the_finding() -> None:
    f = exposure()
    posted = ActionOutcome(ActionKind.IMPORT_FINDINGS, (f.id,), done=True)
    failed = ActionOutcome(ActionKind.IMPORT_FINDINGS, (f.id,), done=False, error="AccessDenied: no")
    partly = ActionOutcome(ActionKind.IMPORT_FINDINGS, (f.id, "other"), done=True, failed_ids=(f.id,), error="1 of 2")
    audit = ActionOutcome(ActionKind.IMPORT_FINDINGS, (f.id,), done=False, reason="audit mode: not applied")
    assert steps_for(f, None, [posted])[0] == "Posted to Security Hub."
    assert steps_for(f, None, [failed])[0] == "Security Hub import failed: AccessDenied: no"
    assert steps_for(f, None, [partly])[0].startswith("Security Hub import failed")
    assert steps_for(f, None, [audit])[0] == "Not posted to Security Hub: audit mode: not applied"


def test_a_planned_action_not_applied_says_the_mode_and_what_it_would_have_done() -> None:
    f = exposure()
    planned = ActionOutcome(
        ActionKind.PATCH, (f.resource_id,), done=False, reason="notify mode: not applied (patch 1 instance)"
    )
    assert steps_for(f, None, [planned])[0] == "patch: planned, notify mode: not applied (patch 1 instance)."


def test_steps_name_the_stop_deadline_and_other_actions_on_the_instance() -> None:
    f = exposure()
    inst = instance(**{"warden:stop-after": "2026-02-03T00:00:00Z"})
    stop = ActionOutcome(ActionKind.RESOLVE_FINDINGS, ("unrelated",), done=True)
    steps = steps_for(f, inst, [stop])
    assert "Will stop the instance after 2026-02-03 00:00 UTC unless it is tagged warden:protect." in steps
    assert "No automatic change to the instance." not in steps
    protected = instance(**{"warden:stop-after": "2026-02-03T00:00:00Z", "warden:protect": "yes"})
    assert "No automatic change to the instance." in steps_for(f, protected, [])
