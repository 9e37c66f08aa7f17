"""Meta-tests: chalicelib/rules/permissions.py and the IAM policies hold each other equal, both ways.

A kind of action that lands without declaring its permissions fails here, and so does a policy
that grants something nothing declares."""

from __future__ import annotations

from typing import Any

import pytest

from chalicelib.model import ACTION_MODES, ActionKind, Mode
from chalicelib.rules.permissions import (
    ACTION_PERMISSIONS,
    FANOUT_PERMISSIONS,
    HOME_ONLY_PERMISSIONS,
    PENDING_KIND_MODES,
    PLATFORM_PERMISSIONS,
    READ_PERMISSIONS,
    kind_modes,
    member_permissions_for_mode,
    permissions_for_mode,
)

from .iam_rules import allowed_action_names, catalogue
from .project import CHALICE_DIR, chalice_config, stage_policy

STAGES = sorted(chalice_config()["stages"])


def stage_mode(stage: str) -> Mode:
    config = chalice_config()
    env = {**config.get("environment_variables", {}), **config["stages"][stage].get("environment_variables", {})}
    return Mode(env["WARDEN_MODE"])


def test_every_action_kind_declares_its_permissions() -> None:
    missing = [k.value for k in ActionKind if k.value not in ACTION_PERMISSIONS]
    assert missing == [], f"add these kinds to chalicelib/rules/permissions.py ACTION_PERMISSIONS: {missing}"


def test_a_kind_is_pending_exactly_until_its_action_kind_exists() -> None:
    kinds = {k.value for k in ActionKind}
    assert set(PENDING_KIND_MODES) == set(ACTION_PERMISSIONS) - kinds, (
        "a kind in ACTION_PERMISSIONS that is not an ActionKind needs its modes in PENDING_KIND_MODES, "
        "and one that has become an ActionKind must leave it (its modes are model.ACTION_MODES)"
    )
    assert all(ActionKind(k) in ACTION_MODES for k in ACTION_PERMISSIONS if k in kinds)


def test_every_declared_permission_is_a_real_iam_action_named_exactly() -> None:
    declared = {p for perms in ACTION_PERMISSIONS.values() for p in perms}
    declared |= set(READ_PERMISSIONS) | set(PLATFORM_PERMISSIONS) | set(FANOUT_PERMISSIONS)
    unknown = sorted(p for p in declared if p.lower() not in catalogue())
    assert unknown == []


def test_nothing_outside_enforce_may_change_instances() -> None:
    for kind, perms in ACTION_PERMISSIONS.items():
        writes = [p for p in perms if not p.split(":")[1].startswith(("Get", "Describe", "List"))]
        if any(p.split(":")[0] in ("ec2", "ssm") for p in writes):
            assert kind_modes(kind) == frozenset({Mode.ENFORCE}), kind


@pytest.mark.parametrize("stage", STAGES)
def test_stage_uses_its_own_policy_file_and_no_generated_one(stage: str) -> None:
    config = chalice_config()["stages"][stage]
    assert config["autogen_policy"] is False
    assert (CHALICE_DIR / config["iam_policy_file"]).is_file()
    # A function-level override would give that function another policy than the one tested.
    for name, override in config.get("lambda_functions", {}).items():
        assert "iam_policy_file" not in override and override.get("autogen_policy") is not True, name


@pytest.mark.parametrize("stage", STAGES)
def test_stage_policy_grants_exactly_what_its_mode_declares(stage: str) -> None:
    # GIVEN the stage's mode and the declarations WHEN compared with the stage's policy file
    declared = permissions_for_mode(stage_mode(stage))
    granted = allowed_action_names(stage_policy(stage))
    # THEN each side holds all of the other
    assert sorted(declared - granted) == [], f"declared but not in {stage}'s policy"
    assert sorted(granted - declared) == [], f"in {stage}'s policy but declared nowhere"


@pytest.mark.parametrize(("enforce", "mode"), [(False, Mode.NOTIFY), (True, Mode.ENFORCE)])
def test_member_role_grants_what_the_mode_declares_less_the_home_only_platform(enforce: bool, mode: Mode) -> None:
    from .test_policies import member_role_policies

    docs: list[dict[str, Any]] = member_role_policies(enforce)
    granted = set().union(*(allowed_action_names(d) for d in docs))
    assert granted == member_permissions_for_mode(mode)


def test_adding_a_kind_changes_what_a_mode_needs() -> None:
    # The registry is the source: a pending enforce-only kind shows up for enforce and not notify.
    assert "ec2:StopInstances" in permissions_for_mode(Mode.ENFORCE)
    assert "ec2:StopInstances" not in permissions_for_mode(Mode.NOTIFY)
    assert "securityhub:BatchImportFindings" in permissions_for_mode(Mode.NOTIFY)
    assert permissions_for_mode(Mode.AUDIT) == frozenset(READ_PERMISSIONS) | HOME_ONLY_PERMISSIONS
