"""The lease table (infra/state.yaml), the stage that uses it, and the one grant on it agree."""

from __future__ import annotations

import fnmatch

from cfnlint.decode import decode

from chalicelib.apply.lease import LEASED_KINDS
from chalicelib.rules.permissions import LEASE_PERMISSIONS
from chalicelib.rules.permissions import LEASED_KINDS as DECLARED_LEASED_KINDS

from .iam_rules import catalogue, grants
from .project import INFRA_DIR, chalice_config, stage_policy


def table() -> dict:
    template, errors = decode(str(INFRA_DIR / "state.yaml"))
    assert not errors
    return template["Resources"]["LeaseTable"]


def stage_env(stage: str) -> dict[str, str]:
    config = chalice_config()
    return {**config.get("environment_variables", {}), **config["stages"][stage].get("environment_variables", {})}


def test_the_lease_table_is_on_demand_encrypted_recoverable_and_expires_leases():
    props = table()["Properties"]
    assert props["BillingMode"] == "PAY_PER_REQUEST"
    assert props["KeySchema"] == [{"AttributeName": "pk", "KeyType": "HASH"}]
    assert props["TimeToLiveSpecification"] == {"AttributeName": "expires_at", "Enabled": True}
    assert props["SSESpecification"]["SSEEnabled"] is True
    assert props["PointInTimeRecoverySpecification"]["PointInTimeRecoveryEnabled"] is True


def test_prod_names_the_table_and_may_write_only_that_table():
    name = table()["Properties"]["TableName"]["Fn::Sub"].replace("${Stage}", "prod")
    assert stage_env("prod")["LEASE_TABLE"] == name
    arn = f"arn:aws:dynamodb:eu-west-1:123456789012:table/{name}"
    writes = ("dynamodb:PutItem", "dynamodb:DeleteItem", "dynamodb:UpdateItem", "dynamodb:BatchWriteItem")
    dynamo = [s for s in stage_policy("prod")["Statement"] if any(a in writes for a in s["Action"])]
    assert len(dynamo) == 1  # the only DynamoDB write grant (the exceptions table is read only: Scan)
    (stmt,) = dynamo
    assert sorted(stmt["Action"]) == sorted(LEASE_PERMISSIONS)
    assert fnmatch.fnmatchcase(arn, stmt["Resource"])
    assert not fnmatch.fnmatchcase(arn.replace("prod-leases", "prod-other"), stmt["Resource"])


def test_dev_never_writes_a_lease_and_holds_no_grant_for_one():
    # dev runs in notify mode: nothing it does is leased, so it neither names the table nor may write it
    assert "LEASE_TABLE" not in stage_env("dev")
    statements = stage_policy("dev")["Statement"]
    assert not any(grants(s, p) for s in statements for p in LEASE_PERMISSIONS)


def test_lease_permissions_are_real_and_declared_for_exactly_the_leased_kinds():
    assert all(p.lower() in catalogue() for p in LEASE_PERMISSIONS)
    assert {k.value for k in LEASED_KINDS} == set(DECLARED_LEASED_KINDS)
