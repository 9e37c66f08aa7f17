"""The `warden:patch-requested-at` tag: when ec2-warden last asked SSM to patch an instance, and with
which command. It is the patch cooldown (durable state lives on the instance, not in the function)
and lets a later sweep tell a patch run that never reported back. Pure."""

from __future__ import annotations

from datetime import datetime

from chalicelib.rules.tags import PATCH_REQUESTED_AT as PATCH_REQUESTED_TAG
from chalicelib.rules.tags import (
    PROTECT as PROTECT_TAG,  # owners opt an instance out of every change ec2-warden would make
)
from chalicelib.rules.timefmt import format_iso, parse_iso

__all__ = ["PATCH_REQUESTED_TAG", "PROTECT_TAG", "format_patch_request", "parse_patch_request"]


def format_patch_request(at: datetime, command_id: str) -> str:
    """ "2026-01-31T12:00:00Z 8f5c...": ISO 8601 UTC, a space, the SSM command id."""
    return f"{format_iso(at)} {command_id}"


def parse_patch_request(value: str | None) -> tuple[datetime, str] | None:
    """(requested at, command id), or None when the tag is absent or not ours to read."""
    if not value:
        return None
    stamp, _, command_id = value.strip().partition(" ")
    at = parse_iso(stamp)
    if at is None:
        return None
    return at, command_id.strip()
