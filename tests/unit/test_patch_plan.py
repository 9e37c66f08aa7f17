"""plan_patch_runs: who gets a patch command, and who is held back (no AWS)."""

from dataclasses import replace
from datetime import UTC, datetime, timedelta

import pytest

from chalicelib.checks import run_checks
from chalicelib.model import ActionKind, Instance, PatchState, Snapshot, SsmInstanceInfo
from chalicelib.plan import plan_actions
from chalicelib.plan.patch import plan_patch_runs
from chalicelib.rules.patch_tag import PATCH_REQUESTED_TAG, PROTECT_TAG, format_patch_request
from chalicelib.settings import Settings

pytestmark = pytest.mark.disable_socket

NOW = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)


def fleet(n, *, launched=NOW - timedelta(days=2), tags=None, missing=3, ping="Online", scanned=True):
    instances, info, states = [], {}, {}
    for k in range(n):
        iid = f"i-{k:017x}"
        instances.append(
            Instance(iid, "running", "123456789012", "us-east-1", launch_time=launched, tags=dict(tags or {}))
        )
        info[iid] = SsmInstanceInfo(iid, ping)
        if scanned:
            states[iid] = PatchState(iid, "Scan", NOW - timedelta(hours=1), missing_count=missing)
    return instances, info, states


def snap(instances, info, states, *, sweep=True, launch=False) -> Snapshot:
    return Snapshot(
        account="123456789012",
        region="us-east-1",
        taken_at=NOW,
        is_sweep=sweep,
        instances=tuple(instances),
        security_groups={},
        ssm_info=info,
        patch_states=states,
        is_launch=launch,
    )


def plan(s: Snapshot, settings: Settings | None = None):
    settings = settings or Settings()
    return plan_patch_runs(run_checks(s, settings, NOW), s, settings, NOW)


def test_a_sweep_patches_every_noncompliant_online_instance_with_the_settings():
    settings = Settings(patch_operation="Scan", patch_max_concurrency="5", patch_output_s3_bucket="patch-logs")
    (action,) = plan(snap(*fleet(3)), settings)
    assert action.kind is ActionKind.PATCH
    assert len(action.resource_ids) == 3
    assert action.params["document"] == "AWS-RunPatchBaseline"
    assert action.params["operation"] == "Scan"
    assert action.params["reboot_option"] == "NoReboot"
    assert action.params["max_concurrency"] == "5"
    assert action.params["output_s3_bucket"] == "patch-logs"


def test_the_patch_action_joins_the_plan():
    kinds = [
        a.kind
        for a in plan_actions(run_checks(snap(*fleet(1)), Settings(), NOW), snap(*fleet(1)), Settings(), NOW).actions
    ]
    assert ActionKind.PATCH in kinds


def test_compliant_instances_are_not_patched():
    assert plan(snap(*fleet(2, missing=0))) == []


def test_instances_in_cooldown_are_held_back_and_past_it_are_patched():
    recent = {PATCH_REQUESTED_TAG: format_patch_request(NOW - timedelta(hours=2), "cmd-1")}
    old = {PATCH_REQUESTED_TAG: format_patch_request(NOW - timedelta(hours=25), "cmd-0")}
    a, info, states = fleet(2)
    a = [replace(a[0], tags=recent), replace(a[1], tags=old)]
    (action,) = plan(snap(a, info, states))
    assert action.resource_ids == (a[1].id,)
    assert "1 in cooldown" in action.reason


def test_protected_instances_are_never_patched():
    assert plan(snap(*fleet(2, tags={PROTECT_TAG: "owner says no"}))) == []


def test_instances_ssm_cannot_reach_are_not_targets():
    assert plan(snap(*fleet(2, ping="ConnectionLost"))) == []


def test_pending_reboot_alone_is_not_patched_with_noreboot_but_is_with_rebootifneeded():
    instances, info, _ = fleet(1)
    states = {instances[0].id: PatchState(instances[0].id, "Install", NOW, installed_pending_reboot_count=2)}
    assert plan(snap(instances, info, states)) == []
    (action,) = plan(snap(instances, info, states), Settings(patch_reboot_option="RebootIfNeeded"))
    assert action.params["reboot_option"] == "RebootIfNeeded"


def test_a_launch_patches_a_managed_instance_not_yet_scanned():
    # GIVEN a just-launched managed instance with no scan yet (the check gives no verdict in the grace)
    instances, info, states = fleet(1, launched=NOW - timedelta(minutes=3), scanned=False)
    # WHEN the launch event runs, THEN it is patched at once; a sweep leaves it alone for now
    (action,) = plan(snap(instances, info, states, sweep=False, launch=True))
    assert action.resource_ids == (instances[0].id,)
    assert "launch" in action.params["comment"]
    assert plan(snap(instances, info, states, sweep=True)) == []


def test_a_launch_does_not_patch_an_instance_known_compliant():
    assert plan(snap(*fleet(1, missing=0), sweep=False, launch=True)) == []


def test_other_events_never_patch():
    # Security-group events and SSM status events only judge.
    assert plan(snap(*fleet(2), sweep=False, launch=False)) == []


def test_unmanaged_or_unread_ssm_means_no_patch():
    instances, _, states = fleet(2)
    assert plan(snap(instances, {}, states)) == []
    assert plan(snap(instances, None, None)) == []
