"""warden:launched-by is a key the enforce deployments may write: every statement that grants
ec2:CreateTags admits it in its aws:TagKeys allow-list (by name, or as a warden:* pattern). When the
allow-list names its keys one by one, this fails until it names warden:launched-by too."""

from __future__ import annotations

from typing import Any

import pytest

from chalicelib.plan.actor import LAUNCHED_BY_TAG

from .iam_rules import as_list, grants, statements
from .test_policies import every_policy

ADMITTING = {LAUNCHED_BY_TAG, "warden:*"}


def tag_key_allow_list(stmt: dict[str, Any]) -> list[str]:
    condition = stmt.get("Condition") or {}
    for operator in ("ForAllValues:StringLike", "ForAllValues:StringEquals"):
        keys = (condition.get(operator) or {}).get("aws:TagKeys")
        if keys is not None:
            return [str(k) for k in as_list(keys)]
    return []


@pytest.mark.parametrize(("name", "policy"), every_policy(), ids=[n for n, _ in every_policy()])
def test_every_create_tags_grant_admits_warden_launched_by(name: str, policy: dict[str, Any]) -> None:
    for stmt in statements(policy):
        if stmt.get("Effect") == "Allow" and grants(stmt, "ec2:CreateTags"):
            assert ADMITTING & set(tag_key_allow_list(stmt)), (name, stmt.get("Sid"))


def test_some_enforce_policy_grants_create_tags() -> None:
    granting = [
        name
        for name, policy in every_policy()
        for stmt in statements(policy)
        if stmt.get("Effect") == "Allow" and grants(stmt, "ec2:CreateTags")
    ]
    assert granting
