"""What ec2-warden tells the security channel, as Slack Block Kit payloads. Pure: no I/O here.

- an immediate message per new finding at or above SLACK_MIN_SEVERITY (events);
- a roll-up when one event brings more findings than are worth a message each;
- a digest per sweep that has news.

plan.py decides which messages; compose.py gathers what apply did; messages.py and digest.py
build the payloads within Slack's limits (blocks.py); apply/slack.py posts them."""

from chalicelib.notify.blocks import MAX_BLOCKS, MAX_FIELD_TEXT, MAX_FIELDS, MAX_HEADER_TEXT, MAX_TEXT
from chalicelib.notify.compose import finding_notice, is_news, sweep_digest
from chalicelib.notify.digest import SweepDigest, digest_message
from chalicelib.notify.messages import FindingNotice, finding_message, rollup_message

# Action.message values for ActionKind.NOTIFY_SLACK.
MESSAGE_FINDING = "finding"
MESSAGE_ROLLUP = "roll-up"
MESSAGE_DIGEST = "digest"

__all__ = [
    "MAX_BLOCKS",
    "MAX_FIELDS",
    "MAX_FIELD_TEXT",
    "MAX_HEADER_TEXT",
    "MAX_TEXT",
    "MESSAGE_DIGEST",
    "MESSAGE_FINDING",
    "MESSAGE_ROLLUP",
    "FindingNotice",
    "SweepDigest",
    "digest_message",
    "finding_message",
    "finding_notice",
    "is_news",
    "rollup_message",
    "sweep_digest",
]
