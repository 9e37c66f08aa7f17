"""The warden:* tag keys: ec2-warden's public tag names (README), defined here and nowhere else.

Durable state lives on the instance, where its owner sees it:

    warden:idle-since           when ec2-warden first marked the instance idle (ISO 8601 UTC)
    warden:stop-after           the stop deadline; an owner may move it to postpone the stop
    warden:stopped-by           when ec2-warden stopped it (tells its stop from anyone else's)
    warden:protect              any value: ec2-warden never stops or patches the instance
    warden:patch-requested-at   when ec2-warden last asked SSM to patch it, and the command id
    warden:public-ok            any value: a production instance is meant to have a public address
    warden:launched-by          the principal whose RunInstances launched it (TAG_LAUNCHED_BY=on)
    warden:exception            an owner's time-boxed exception: until=YYYY-MM-DD;reason=...[;checks=...]
"""

from __future__ import annotations

from collections.abc import Mapping

PREFIX = "warden:"
IDLE_SINCE = PREFIX + "idle-since"
STOP_AFTER = PREFIX + "stop-after"
STOPPED_BY = PREFIX + "stopped-by"
PROTECT = PREFIX + "protect"
PATCH_REQUESTED_AT = PREFIX + "patch-requested-at"
PUBLIC_OK = PREFIX + "public-ok"
LAUNCHED_BY = PREFIX + "launched-by"
EXCEPTION = PREFIX + "exception"

MARK_KEYS = (IDLE_SINCE, STOP_AFTER)
LIFECYCLE_KEYS = (IDLE_SINCE, STOP_AFTER, STOPPED_BY)
ALL_KEYS = (IDLE_SINCE, STOP_AFTER, STOPPED_BY, PROTECT, PATCH_REQUESTED_AT, PUBLIC_OK, LAUNCHED_BY, EXCEPTION)

# Owner is not ours, but every reader of it (Slack, the census) reads it the same way.
OWNER = "Owner"


def is_protected(tags: Mapping[str, str]) -> bool:
    """warden:protect with any value (an empty one included): never stopped, never patched."""
    return PROTECT in tags


def is_public_ok(tags: Mapping[str, str]) -> bool:
    return PUBLIC_OK in tags


def is_warden_key(key: str) -> bool:
    return key.startswith(PREFIX)


def tag_ignoring_case(tags: Mapping[str, str], wanted: str) -> tuple[str, str] | None:
    """(key, value) of a non-empty tag: the exact key wins, else a key equal but for case.

    Tag keys are case-sensitive in EC2, but `environment=prod` is plainly meant as the Environment
    tag: every reader treats it so (the README's case rule), and launch-hygiene flags the key."""
    if tags.get(wanted, "").strip():
        return wanted, tags[wanted]
    lowered = wanted.lower()
    for key in sorted(tags):
        if key.lower() == lowered and tags[key].strip():
            return key, tags[key]
    return None


def owner_of(tags: Mapping[str, str]) -> str | None:
    found = tag_ignoring_case(tags, OWNER)
    return found[1].strip() if found else None
