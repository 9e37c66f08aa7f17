"""The `warden:patch-requested-at` tag: when ec2-warden last asked SSM to patch an instance, and with
which command. It is the patch cooldown (durable state lives on the instance, not in the function)
and lets a later sweep tell a patch run that never reported back. Pure."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, datetime

PATCH_REQUESTED_TAG = "warden:patch-requested-at"
PROTECT_TAG = "warden:protect"  # owners opt an instance out of every change ec2-warden would make


def format_patch_request(at: datetime, command_id: str) -> str:
    """ "2026-01-31T12:00:00Z 8f5c...": ISO 8601 UTC, a space, the SSM command id."""
    if at.tzinfo is None:
        at = at.replace(tzinfo=UTC)
    return f"{at.astimezone(UTC).strftime('%Y-%m-%dT%H:%M:%SZ')} {command_id}"


def parse_patch_request(value: str | None) -> tuple[datetime, str] | None:
    """(requested at, command id), or None when the tag is absent or not ours to read."""
    if not value:
        return None
    stamp, _, command_id = value.strip().partition(" ")
    try:
        at = datetime.fromisoformat(stamp.replace("Z", "+00:00"))
    except ValueError:
        return None
    return (at if at.tzinfo else at.replace(tzinfo=UTC)), command_id.strip()


def is_production(tags: Mapping[str, str], tag_key: str, production: tuple[str, ...]) -> bool:
    """The instance's environment tag (ENVIRONMENT_TAG) names a production environment."""
    value = tags.get(tag_key)
    return isinstance(value, str) and value.strip().lower() in production
