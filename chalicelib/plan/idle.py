"""The idle lifecycle: idle findings + lifecycle tags + settings + now -> tag and stop actions. Pure.

Per instance (see idle_rules for the tags):
- running, idle, unmarked (or its marks unparsable)          -> mark: idle-since now, stop-after now + grace
- running, idle, marked but started again since              -> unmark, then mark afresh (a new full grace)
- running, idle, past the deadline, most recent day idle     -> stop (enforce mode), tag stopped-by
- running, idle, protected                                   -> never stopped; any marks removed
- running and active again, or just started (a start event) -> unmark
- running, not enough data, marks unparsable or stale        -> unmark (repair); valid marks are kept
- stopped by someone else (marked, no warden:stopped-by)     -> unmark
- stopped by ec2-warden                                      -> left as it is: the tags are its record

Every rule looks only at the state it would produce, so the same sweep run twice plans nothing the
second time. Unmark always removes all three lifecycle tags."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable
from datetime import datetime

from chalicelib.model import Action, ActionKind, CheckName, CheckResult, Instance, Snapshot
from chalicelib.rules.idle import (
    LIFECYCLE_KEYS,
    START_TRIGGER,
    STOPPED_BY,
    IdleStage,
    format_time,
    has_lifecycle_tags,
    has_mark_tags,
    idle_stage,
    judge_usage,
    mark_tags,
    read_mark,
    restarted_since_marked,
)
from chalicelib.rules.tags import STOP_AFTER
from chalicelib.settings import Settings


def plan_idle_lifecycle(
    results: Iterable[CheckResult], snapshot: Snapshot, settings: Settings, now: datetime
) -> list[Action]:
    idle = next((r for r in results if r.check is CheckName.IDLE), None)
    if idle is None:
        return []
    idle_ids = {f.resource_id for f in idle.findings}
    unmark: dict[str, str] = {}  # instance id -> why
    mark: dict[str, str] = {}
    stop: dict[str, str] = {}
    for instance in snapshot.instances:
        tags = instance.tags
        if instance.state == "stopped":
            if has_mark_tags(tags) and STOPPED_BY not in tags:
                unmark[instance.id] = "stopped by someone else"
            continue
        if instance.state != "running":
            continue  # pending, stopping, terminated: the next sweep sees where it lands
        if instance.id in idle_ids:
            usage = (snapshot.usage or {}).get(instance.id)
            if usage is None:  # a finding without usage is not one this plan can act on
                continue
            stage = idle_stage(instance, judge_usage(usage, settings), now)
            if stage is IdleStage.PROTECTED:
                if has_lifecycle_tags(tags):
                    unmark[instance.id] = "protected"
            elif stage is IdleStage.TO_MARK:
                if restarted_since_marked(instance):
                    unmark[instance.id] = "started again since marked"
                mark[instance.id] = "repaired unparsable marks" if has_mark_tags(tags) else "idle"
            elif stage is IdleStage.DUE:
                stop[instance.id] = "past its deadline and idle again over the last day"
        elif instance.id in idle.passed:
            if has_lifecycle_tags(tags):
                unmark[instance.id] = "started" if snapshot.trigger == START_TRIGGER else "active again"
        elif has_lifecycle_tags(tags) and (read_mark(tags) is None or restarted_since_marked(instance)):
            unmark[instance.id] = _stale_reason(instance)

    actions: list[Action] = []
    if unmark:
        actions.append(
            Action(
                kind=ActionKind.UNMARK_IDLE,
                resource_ids=tuple(sorted(unmark)),
                reason="remove idle marks: " + _summary(unmark),
                params={"keys": list(LIFECYCLE_KEYS), "why": dict(sorted(unmark.items()))},
            )
        )
    if mark:
        tags = mark_tags(now, settings)
        actions.append(
            Action(
                kind=ActionKind.MARK_IDLE,
                resource_ids=tuple(sorted(mark)),
                reason=f"mark idle, stop after {tags[STOP_AFTER]}: " + _summary(mark),
                params={"tags": tags, "why": dict(sorted(mark.items()))},
            )
        )
    if stop:
        actions.append(
            Action(
                kind=ActionKind.STOP_IDLE,
                resource_ids=tuple(sorted(stop)),
                reason="stop idle instances: " + _summary(stop),
                params={"tags": {STOPPED_BY: format_time(now)}, "why": dict(sorted(stop.items()))},
            )
        )
    return actions


def _stale_reason(instance: Instance) -> str:
    if restarted_since_marked(instance):
        return "started again since marked"
    return "repaired unparsable marks"


def _summary(why: dict[str, str]) -> str:
    counts = Counter(why.values())
    return ", ".join(f"{n} {reason}" for reason, n in sorted(counts.items()))
