"""Scope for the events launch-hygiene and environment-drift respond to, from fixture shapes."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from chalicelib.events.scope import EventError, scope_from_event

ROOT = Path(__file__).resolve().parents[2]
OURS = ROOT / "tests" / "fixtures"
SHARED = ROOT / "tests" / "fixtures" / "published"
BOX = "i-0a1b2c3d4e5f60718"
TAGS = "cloudtrail-create-tags-environment-production.json"


def load(name: str) -> dict:
    return json.loads((OURS / name).read_text())


@pytest.mark.parametrize(
    ("fixture", "trigger"),
    [
        ("cloudtrail-create-tags-environment-production.json", "CreateTags"),
        ("cloudtrail-delete-tags-environment.json", "DeleteTags"),
        ("cloudtrail-modify-instance-metadata-options-optional.json", "ModifyInstanceMetadataOptions"),
        ("cloudtrail-attach-volume.json", "AttachVolume"),
        ("cloudtrail-modify-instance-attribute-instance-type.json", "ModifyInstanceAttribute"),
    ],
)
def test_each_instance_change_scopes_that_instance(fixture, trigger):
    scope = scope_from_event(load(fixture))
    assert scope.ignored is None
    assert scope.trigger == trigger
    assert scope.instance_ids == {BOX}
    assert (scope.account, scope.region) == ("111122223333", "eu-west-1")
    assert scope.event_id is not None


def test_any_instance_attribute_change_is_rechecked_even_the_published_sample():
    # The published sample changes disableApiTermination: it used to be ignored (groups only).
    event = json.loads((SHARED / "cloudtrail-modify-instance-attribute-disable-api-termination.json").read_text())
    assert scope_from_event(event).instance_ids == {"i-00e55557cb8e5f276"}


def test_tags_on_other_resources_only_are_ignored():
    scope = scope_from_event(load("cloudtrail-create-tags-snapshot-and-volume.json"))
    assert scope.ignored == "the tags changed on no instance"


def test_tags_on_many_resources_scope_only_the_instances():
    event = load("cloudtrail-create-tags-environment-production.json")
    event["detail"]["requestParameters"]["resourcesSet"]["items"] = [
        {"resourceId": "i-0000000000000000a"},
        {"resourceId": "vol-0123456789abcdef0"},
        {"resourceId": "i-0000000000000000b"},
    ]
    assert scope_from_event(event).instance_ids == {"i-0000000000000000a", "i-0000000000000000b"}


def test_delete_tags_without_a_tag_set_deletes_all_and_is_rechecked():
    event = load("cloudtrail-delete-tags-environment.json")
    del event["detail"]["requestParameters"]["tagSet"]
    assert scope_from_event(event).instance_ids == {BOX}


def test_metadata_options_also_read_in_the_flat_form():
    event = load("cloudtrail-modify-instance-metadata-options-optional.json")
    event["detail"]["requestParameters"] = {"instanceId": BOX, "httpTokens": "optional"}
    assert scope_from_event(event).instance_ids == {BOX}


def test_a_failed_call_changed_nothing():
    event = load("cloudtrail-attach-volume.json")
    event["detail"]["errorCode"] = "Client.CustomerKeyHasBeenRevoked"
    event["detail"]["responseElements"] = None
    assert "failed with Client.CustomerKeyHasBeenRevoked" in scope_from_event(event).ignored


@pytest.mark.parametrize(
    ("fixture", "path", "value", "message"),
    [
        ("cloudtrail-attach-volume.json", ("instanceId",), "vol-0123", "requestParameters.instanceId"),
        (TAGS, ("resourcesSet",), ["i-1"], "resourcesSet"),
        (TAGS, ("resourcesSet", "items", 0, "resourceId"), 7, "resourceId"),
        (TAGS, ("resourcesSet", "items", 0, "resourceId"), "i-zz", "instance id"),
        (
            "cloudtrail-modify-instance-metadata-options-optional.json",
            ("ModifyInstanceMetadataOptionsRequest", "InstanceId"),
            None,
            "requestParameters.InstanceId",
        ),
    ],
)  # fmt: skip
def test_malformed_records_are_refused_naming_the_field(fixture, path, value, message):
    event = load(fixture)
    target = event["detail"]["requestParameters"]
    for key in path[:-1]:
        target = target[key]
    target[path[-1]] = value
    with pytest.raises(EventError, match=message):
        scope_from_event(event)
