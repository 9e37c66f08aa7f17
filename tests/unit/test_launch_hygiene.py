"""launch-hygiene over hand-built snapshots: every gap, its severity, and what is not checked."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from chalicelib.checks import CHECKS
from chalicelib.checks.launch import detect_launch_hygiene
from chalicelib.model import CheckName, ImageInfo, Instance, Severity, Snapshot, VolumeInfo
from chalicelib.settings import Settings

NOW = datetime(2026, 6, 1, tzinfo=UTC)
AMI = "ami-0fe5ca7a1b2c3d4e5"
VOL = "vol-0aaaaaaaaaaaaaaa1"
DATA = "vol-0aaaaaaaaaaaaaaa2"
ROLE = "arn:aws:iam::111122223333:instance-profile/app"


def box(**kw) -> Instance:
    base = dict(
        id="i-0123456789abcdef0", state="running", account="111122223333", region="eu-west-1",
        image_id=AMI, tags={"Name": "web", "Owner": "team", "Environment": "lab"},
        metadata_http_tokens="required", volume_ids=(VOL,),
    )  # fmt: skip
    base.update(kw)
    return Instance(**base)


def snap(*instances: Instance, images=None, volumes=None, **kw) -> Snapshot:
    return Snapshot(
        account="111122223333",
        region="eu-west-1",
        taken_at=NOW,
        is_sweep=True,
        instances=instances,
        security_groups={},
        images={AMI: ImageInfo(AMI, NOW - timedelta(days=10), "golden")} if images is None else images,
        volumes={VOL: VolumeInfo(VOL, True), DATA: VolumeInfo(DATA, True)} if volumes is None else volumes,
        **kw,
    )


def run(snapshot: Snapshot, settings: Settings | None = None):
    return detect_launch_hygiene(snapshot, settings or Settings(), NOW)


def test_registered_under_its_public_name():
    assert CHECKS[CheckName.LAUNCH_HYGIENE] is detect_launch_hygiene
    assert CheckName.LAUNCH_HYGIENE.value == "launch-hygiene"


def test_a_clean_instance_passes():
    result = run(snap(box()))
    assert result.findings == ()
    assert result.passed == {"i-0123456789abcdef0"}


@pytest.mark.parametrize(
    ("change", "rule", "severity"),
    [
        ({"tags": {"Environment": "lab"}}, "required-tags-missing", Severity.LOW),
        ({"tags": {"Owner": "team", "Environment": "uat"}}, "unknown-environment", Severity.LOW),
        ({"metadata_http_tokens": "optional"}, "imdsv1-allowed", Severity.MEDIUM),
        ({"metadata_http_tokens": "optional", "iam_instance_profile_arn": ROLE}, "imdsv1-allowed", Severity.HIGH),
        ({"image_id": "ami-0000000000000dead"}, "ami-gone", Severity.MEDIUM),
    ],
)
def test_each_gap_alone_sets_the_severity(change, rule, severity):
    result = run(snap(box(**change)))
    (finding,) = result.findings
    assert finding.severity is severity
    assert [g["rule"] for g in finding.details["gaps"]] == [rule]
    assert finding.id == "ec2-warden/111122223333/eu-west-1/launch-hygiene/i-0123456789abcdef0"


def test_an_unencrypted_data_volume_is_named():
    snapshot = snap(box(volume_ids=(VOL, DATA)), volumes={VOL: VolumeInfo(VOL, True), DATA: VolumeInfo(DATA, False)})
    (finding,) = run(snapshot).findings
    assert finding.severity is Severity.MEDIUM
    assert finding.details["gaps"][0]["volumes"] == [DATA]
    assert DATA in finding.description and VOL not in finding.description


@pytest.mark.parametrize(("age", "flagged"), [(90, False), (91, True)])
def test_ami_age_limit_is_inclusive(age, flagged):
    images = {AMI: ImageInfo(AMI, NOW - timedelta(days=age, hours=1), "golden")}
    result = run(snap(box(), images=images))
    assert bool(result.findings) is flagged
    if flagged:
        gap = result.findings[0].details["gaps"][0]
        assert (gap["rule"], gap["age_days"]) == ("ami-too-old", 91)
        assert result.findings[0].severity is Severity.LOW


def test_ami_age_follows_the_setting():
    images = {AMI: ImageInfo(AMI, NOW - timedelta(days=40))}
    assert run(snap(box(), images=images), Settings(ami_max_age_days=30)).findings
    assert not run(snap(box(), images=images), Settings(ami_max_age_days=60)).findings


def test_one_finding_lists_every_gap_at_the_worst_severity():
    instance = box(
        tags={"Name": "web"},
        metadata_http_tokens="optional",
        iam_instance_profile_arn=ROLE,
        image_id="ami-0000000000000dead",
    )
    snapshot = snap(instance, volumes={VOL: VolumeInfo(VOL, False)})
    (finding,) = run(snapshot).findings
    rules = [g["rule"] for g in finding.details["gaps"]]
    assert rules == ["imdsv1-allowed", "ami-gone", "unencrypted-volume", "required-tags-missing"]
    assert finding.severity is Severity.HIGH
    assert finding.title.startswith("High: launch hygiene gaps on i-0123456789abcdef0 (web): IMDSv1 allowed")
    assert "missing tags Owner, Environment" in finding.title


def test_a_case_variant_tag_key_is_hinted_but_still_missing():
    instance = box(tags={"owner": "team", "Environment": "lab"})
    (finding,) = run(snap(instance)).findings
    assert "found 'owner'" in finding.description


def test_unread_facts_are_not_checked_and_never_resolve():
    # GIVEN volumes and images that could not be read, and an otherwise clean instance
    result = run(_unread())
    # THEN nothing is flagged, and nothing passes either
    assert result.findings == ()
    assert result.not_evaluated == {"i-0123456789abcdef0"}
    assert result.passed == frozenset()


def _unread() -> Snapshot:
    return Snapshot(
        account="111122223333", region="eu-west-1", taken_at=NOW, is_sweep=True, instances=(box(),),
        security_groups={}, images=None, volumes=None,
    )  # fmt: skip


def test_a_gap_is_reported_even_when_other_facts_are_missing():
    snapshot = Snapshot(
        account="111122223333", region="eu-west-1", taken_at=NOW, is_sweep=True,
        instances=(box(metadata_http_tokens="optional"),), security_groups={}, images=None, volumes=None,
    )  # fmt: skip
    (finding,) = run(snapshot).findings
    assert "EBS encryption not checked (volumes could not be read)" in finding.details["not_checked"]
    assert "AMI age not checked (images could not be read)" in finding.details["not_checked"]


def test_a_launching_instance_without_volumes_yet_is_not_judged_on_encryption():
    result = run(snap(box(state="pending", volume_ids=())))
    assert result.not_evaluated == {"i-0123456789abcdef0"}


def test_stopped_instances_are_judged_and_gone_ones_pass():
    stopped = box(id="i-0000000000000000a", state="stopped", metadata_http_tokens="optional")
    gone = box(id="i-0000000000000000b", state="terminated", metadata_http_tokens="optional", volume_ids=())
    result = run(snap(stopped, gone, missing_instance_ids=("i-0000000000000000c",)))
    assert [f.resource_id for f in result.findings] == ["i-0000000000000000a"]
    assert result.passed == {"i-0000000000000000b", "i-0000000000000000c"}
    assert result.skipped == {"gone (terminated)": 1}
