"""The lease adapter (chalicelib/apply/lease.py) against moto's DynamoDB: one conditional PutItem
per instance, refused while another run holds the lease, granted again once it expires, given back
only by its holder, and fail-closed when the table cannot be written."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import boto3
import pytest

from chalicelib.apply.lease import LEASE_PARAM, LeaseAdapter, take_leases, with_lease
from chalicelib.model import Action, ActionKind, Mode, Snapshot
from chalicelib.settings import Settings, SettingsError, load_settings
from devtools.moto_dynamodb import create_lease_table

TABLE = "ec2-warden-test-leases"
NOW = datetime(2026, 11, 27, 12, 0, tzinfo=UTC)
IDS = [f"i-{k:017x}" for k in range(3)]


@pytest.fixture
def dynamodb(clients):
    # moto's table is created with the world's client; the lease adapter gets the product's
    create_lease_table(boto3.client("dynamodb", region_name=clients.region), TABLE)
    return clients.get("dynamodb")


def keys(prefix="patch"):
    return {i: f"{prefix}#{i}" for i in IDS}


def stored(dynamodb, key):
    # read with the world's client: the product's holds only the calls ec2-warden makes
    world = boto3.client("dynamodb", region_name=dynamodb.meta.region_name)
    return world.get_item(TableName=TABLE, Key={"pk": {"S": key}}).get("Item")


def test_the_first_run_takes_each_lease_with_one_put_item_and_a_second_run_is_refused(clients, dynamodb):
    before = clients.counter.snapshot().get("dynamodb:PutItem", 0)
    first = LeaseAdapter(dynamodb, TABLE, "run-a").acquire(keys(), NOW, 3600, {"trigger": "sweep"})
    second = LeaseAdapter(dynamodb, TABLE, "run-b").acquire(keys(), NOW + timedelta(minutes=5), 3600, {})
    assert first.granted == IDS and first.held == [] and first.failed == {}
    assert second.granted == [] and second.held == IDS and second.failed == {}
    assert clients.counter.snapshot()["dynamodb:PutItem"] - before == 6
    item = stored(dynamodb, f"patch#{IDS[0]}")
    assert item["holder"] == {"S": "run-a"}
    assert item["expires_at"] == {"N": str(int(NOW.timestamp()) + 3600)}
    assert item["trigger"] == {"S": "sweep"}


def test_an_expired_lease_is_taken_again_although_ttl_has_not_deleted_it(dynamodb):
    # GIVEN a lease that expired (moto, like DynamoDB within its TTL lag, still holds the item)
    LeaseAdapter(dynamodb, TABLE, "run-a").acquire(keys(), NOW, 3600, {})
    later = LeaseAdapter(dynamodb, TABLE, "run-b").acquire(keys(), NOW + timedelta(hours=1, seconds=1), 3600, {})
    assert later.granted == IDS
    assert stored(dynamodb, f"patch#{IDS[0]}")["holder"] == {"S": "run-b"}


def test_leases_of_different_actions_do_not_collide(dynamodb):
    LeaseAdapter(dynamodb, TABLE, "run-a").acquire(keys("patch"), NOW, 3600, {})
    stop = LeaseAdapter(dynamodb, TABLE, "run-b").acquire(keys("stop"), NOW, 3600, {})
    assert stop.granted == IDS


def test_only_the_holder_gives_a_lease_back(dynamodb):
    LeaseAdapter(dynamodb, TABLE, "run-a").acquire(keys(), NOW, 3600, {})
    LeaseAdapter(dynamodb, TABLE, "run-b").release([f"patch#{IDS[0]}"])
    assert stored(dynamodb, f"patch#{IDS[0]}") is not None
    LeaseAdapter(dynamodb, TABLE, "run-a").release([f"patch#{IDS[0]}"])
    assert stored(dynamodb, f"patch#{IDS[0]}") is None
    again = LeaseAdapter(dynamodb, TABLE, "run-b").acquire(keys(), NOW, 3600, {})
    assert again.granted == [IDS[0]] and again.held == IDS[1:]


def test_a_table_that_cannot_be_written_fails_closed(clients):
    # GIVEN no table at all (a deployment that forgot infra/state.yaml)
    leases = LeaseAdapter(clients.get("dynamodb"), "missing-table", "run-a").acquire(keys(), NOW, 3600, {})
    assert leases.granted == [] and leases.held == []
    assert set(leases.failed) == set(IDS)
    assert all(why.startswith("lease not taken: ResourceNotFoundException") for why in leases.failed.values())


def test_without_lease_table_no_lease_is_asked_for(clients):
    action = Action(ActionKind.PATCH, tuple(IDS), "patch", params={})
    assert with_lease(action, Settings(mode=Mode.ENFORCE), "h", "us-east-1") is action
    before = clients.counter.snapshot()
    snapshot = Snapshot("123456789012", "us-east-1", NOW, True, (), {})
    assert take_leases(action, IDS, snapshot, clients, NOW).granted == IDS
    assert clients.counter.snapshot() == before


def test_only_patch_and_stop_carry_lease_terms_held_for_their_quiet_period():
    settings = Settings(mode=Mode.ENFORCE, lease_table=TABLE, patch_cooldown_hours=24, idle_grace_hours=72)
    patch = with_lease(Action(ActionKind.PATCH, ("i-1",), "p"), settings, "h", "eu-west-1")
    stop = with_lease(Action(ActionKind.STOP_IDLE, ("i-1",), "s"), settings, "h", "eu-west-1")
    mark = with_lease(Action(ActionKind.MARK_IDLE, ("i-1",), "m"), settings, "h", "eu-west-1")
    assert patch.params[LEASE_PARAM]["seconds"] == 24 * 3600 and patch.params[LEASE_PARAM]["prefix"] == "patch"
    assert stop.params[LEASE_PARAM]["seconds"] == 72 * 3600 and stop.params[LEASE_PARAM]["prefix"] == "stop"
    assert LEASE_PARAM not in mark.params
    assert patch.params[LEASE_PARAM]["region"] == "eu-west-1"


def test_lease_table_setting_is_validated_by_name():
    assert load_settings({"LEASE_TABLE": "ec2-warden-prod-leases"}).lease_table == "ec2-warden-prod-leases"
    with pytest.raises(SettingsError, match="LEASE_TABLE"):
        load_settings({"LEASE_TABLE": "no spaces please"})
