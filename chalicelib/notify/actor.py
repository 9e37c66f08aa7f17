"""Who made the change, as the security channel reads it. Pure.

Every value comes from the CloudTrail record, so every value is escaped and the text object is
`verbatim`: Slack neither links nor mentions anything an event says."""

from __future__ import annotations

from typing import Any

from chalicelib.notify.blocks import MAX_TEXT, Block, clip_mrkdwn, escape
from chalicelib.rules import timefmt
from chalicelib.rules.actor import Actor

ROOT_CALLOUT = ":rotating_light: *Made as the account's root user.*"
NO_MFA_CALLOUT = ":warning: *Made from the AWS console without MFA.*"
MAX_ACTOR_PART = 600  # a principal ARN can be 2,048 characters; a message line should not


def actor_line(actor: Actor) -> str:
    """ "by <principal> (<type>, <client>) from <ip> at <time>", escaped, each value cut to fit."""
    text = f"by {_part(actor.principal or 'an unnamed principal')} ({_part(actor.type)}, {_part(actor.client)})"
    if actor.source_ip:
        text += f" from {_part(actor.source_ip)}"
    if actor.event_time is not None:
        text += f" at {timefmt.format_display_seconds(actor.event_time)}"
    return text


def actor_details(actor: Actor) -> list[str]:
    """The facts beyond the one line: role and session, federation, the service acting, MFA, the call."""
    lines = []
    if actor.role_arn:
        lines.append(f"role {_part(actor.role_arn)}")
    if actor.session_name:
        lines.append(f"session {_part(actor.session_name)}")
    if actor.federated_provider:
        lines.append(f"federated through {_part(actor.federated_provider)}")
    if actor.source_identity:
        lines.append(f"source identity {_part(actor.source_identity)}")
    if actor.invoked_by:
        lines.append(f"invoked by {_part(actor.invoked_by)}")
    if actor.mfa is not None:
        lines.append("MFA used" if actor.mfa else "no MFA")
    if actor.api:
        call = f"{actor.api} on {actor.service}" if actor.service else actor.api
        lines.append(f"call {_part(call)}")
    if actor.event_id:
        lines.append(f"event {_part(actor.event_id)}")
    return lines


def callouts(actor: Actor) -> list[str]:
    out = []
    if actor.is_root:
        out.append(ROOT_CALLOUT)
    if actor.console_without_mfa:
        out.append(NO_MFA_CALLOUT)
    return out


def actor_section(actor: Actor) -> Block:
    """One section: the call-outs, "*Changed* by ...", then the other facts on one line."""
    lines = [*callouts(actor), f"*Changed* {actor_line(actor)}"]
    details = actor_details(actor)
    if details:
        lines.append(" · ".join(details))
    return {"type": "section", "text": _verbatim("\n".join(lines))}


def _verbatim(text: str) -> dict[str, Any]:
    return {"type": "mrkdwn", "text": clip_mrkdwn(text, MAX_TEXT), "verbatim": True}


def _part(value: str) -> str:
    """Escaped, and cut before escaping so that an entity is never split."""
    cut = value if len(value) <= MAX_ACTOR_PART else value[: MAX_ACTOR_PART - 1] + "…"
    return "`" + escape(cut.replace("`", "'")) + "`"
