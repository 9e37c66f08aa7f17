"""One fact, one finding, over hand-built snapshots: launch-hygiene owns the configuration gaps and
raises them in production; "production" means the same for every check, the census and Slack; an
old environment-drift finding whose facts moved is resolved saying where they went; Slack and the
CLI table group by instance."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

import pytest

from chalicelib.checks import run_checks
from chalicelib.checks.drift import detect_environment_drift
from chalicelib.checks.launch import detect_launch_hygiene
from chalicelib.checks.ssm import detect_ssm_unmanaged
from chalicelib.model import (
    CheckName,
    CheckResult,
    Finding,
    FindingStatus,
    ImageInfo,
    Instance,
    Mode,
    NetworkInterface,
    Plan,
    PriorFinding,
    Resolution,
    Severity,
    Snapshot,
    SsmInstanceInfo,
    VolumeInfo,
    VpcInfo,
)
from chalicelib.notify import digest_message, finding_message, finding_notice, sweep_digest
from chalicelib.notify.digest import new_by_instance
from chalicelib.notify.messages import FindingNotice
from chalicelib.plan import plan_resolutions
from chalicelib.plan.supersede import REPORTED_BY_LAUNCH_HYGIENE, REPORTED_BY_SSM_UNMANAGED, superseded_reason
from chalicelib.report.by_instance import by_instance
from chalicelib.report.sprawl import sprawl_census
from chalicelib.rules.environments import is_production, production_reason
from chalicelib.settings import Settings
from devtools.slack_sink import block_kit_violations, render_message

NOW = datetime(2026, 6, 1, tzinfo=UTC)
ACCOUNT = "111122223333"
REGION = "eu-west-1"
AMI = "ami-0fe5ca7a1b2c3d4e5"
VOL = "vol-0aaaaaaaaaaaaaaa1"
PROD_VPC = "vpc-0aaaaaaaaaaaaaaaa"
LAB_VPC = "vpc-0bbbbbbbbbbbbbbbb"
ID = "i-0123456789abcdef0"
PUBLIC = (NetworkInterface("eni-0aaaaaaaaaaaaaaa1", 0, ("sg-0aaaaaaaaaaaaaaa1",), public_ip="54.1.2.3"),)
MAPPED = Settings(production_vpcs=(PROD_VPC,), non_production_vpcs=(LAB_VPC,))


def box(env: str | None = "production", key: str = "Environment", **kw) -> Instance:
    tags = {"Name": "app", "Owner": "team", **({key: env} if env else {})}
    base = dict(
        id=ID, state="running", account=ACCOUNT, region=REGION, image_id=AMI, vpc_id=LAB_VPC, tags=tags,
        metadata_http_tokens="required", volume_ids=(VOL,), launch_time=NOW - timedelta(days=3),
    )  # fmt: skip
    base.update(kw)
    return Instance(**base)


def snap(*instances: Instance, **kw) -> Snapshot:
    kw.setdefault("images", {AMI: ImageInfo(AMI, NOW - timedelta(days=10), "golden")})
    kw.setdefault("volumes", {VOL: VolumeInfo(VOL, True)})
    kw.setdefault("vpcs", {LAB_VPC: VpcInfo(LAB_VPC, ("10.30.0.0/16",))})
    kw.setdefault("group_neighbours", {})
    kw.setdefault("ssm_info", {})
    return Snapshot(
        account=ACCOUNT, region=REGION, taken_at=NOW, is_sweep=True, instances=instances, security_groups={}, **kw
    )


def raw(payload: dict) -> str:
    """The message's mrkdwn as sent (render_message drops the backticks)."""
    return json.dumps(payload, ensure_ascii=False)


def hygiene(snapshot: Snapshot, settings: Settings = MAPPED) -> Finding | None:
    findings = detect_launch_hygiene(snapshot, settings, NOW).findings
    return findings[0] if findings else None


def gaps(finding: Finding | None) -> dict[str, str]:
    return {g["rule"]: g["severity"] for g in finding.details["gaps"]} if finding else {}


# --- launch-hygiene owns the gaps, raised in production ------------------------------------------


@pytest.mark.parametrize(
    ("change", "snapshot_change", "rule", "lab", "production"),
    [
        ({"metadata_http_tokens": "optional"}, {}, "imdsv1-allowed", "MEDIUM", "HIGH"),
        ({}, {"volumes": {VOL: VolumeInfo(VOL, False)}}, "unencrypted-volume", "MEDIUM", "HIGH"),
        ({"image_id": "ami-0000000000000dead"}, {}, "ami-gone", "MEDIUM", "HIGH"),
        ({}, {"images": {AMI: ImageInfo(AMI, NOW - timedelta(days=200))}}, "ami-too-old", "LOW", "MEDIUM"),
        ({"network_interfaces": PUBLIC}, {}, "public-address", None, "HIGH"),
    ],
)
def test_each_gap_is_raised_in_production_and_plain_in_a_lab(change, snapshot_change, rule, lab, production):
    # GIVEN the same gap on a production instance and on a lab instance (both outside production networks)
    in_production = hygiene(snap(box("production", **change), **snapshot_change))
    in_lab = hygiene(snap(box("lab", **change), **snapshot_change))
    # THEN production raises its severity and says "production baseline"; the lab does not
    assert gaps(in_production) == {rule: production}
    assert in_production.severity.value == production
    assert in_production.title.startswith(f"{production.title()}: below the production baseline on {ID} (app)")
    assert in_production.description.startswith("Below the production baseline (Environment=production): ")
    assert in_production.details["baseline"] == "production baseline"
    assert gaps(in_lab) == ({rule: lab} if lab else {})
    assert in_lab is None or "production" not in in_lab.title


def test_missing_tags_count_more_in_production_and_public_ok_records_a_meant_public_address():
    tagless = box("production", tags={"Environment": "production"}, network_interfaces=PUBLIC)
    assert gaps(hygiene(snap(tagless))) == {"required-tags-missing": "MEDIUM", "public-address": "HIGH"}
    meant = box(
        tags={"Owner": "team", "Environment": "production", "warden:public-ok": "yes"}, network_interfaces=PUBLIC
    )
    assert hygiene(snap(meant)) is None


def test_a_production_network_makes_the_baseline_apply_whatever_the_tag_says():
    # A lab VM inside the production VPC: drift says where it runs, hygiene holds it to production's bar.
    lab_in_prod = box("lab", vpc_id=PROD_VPC, metadata_http_tokens="optional")
    finding = hygiene(snap(lab_in_prod))
    assert gaps(finding) == {"imdsv1-allowed": "HIGH"}
    assert "VPC vpc-0aaaaaaaaaaaaaaaa is in PRODUCTION_VPCS" in finding.details["production_reason"]
    (drift,) = detect_environment_drift(snap(lab_in_prod), MAPPED, NOW).findings
    assert [g["rule"] for g in drift.details["gaps"]] == ["non-production-in-production"]
    assert "IMDS" not in drift.description


def test_a_missing_environment_in_production_is_drifts_story_alone_while_drift_runs():
    untagged = box(None, vpc_id=PROD_VPC)
    assert hygiene(snap(untagged)) is None  # drift's "unclassified VM in production" tells it
    (drift,) = detect_environment_drift(snap(untagged), MAPPED, NOW).findings
    assert drift.details["gaps"][0]["rule"] == "unclassified-in-production"
    hygiene_alone = Settings(production_vpcs=(PROD_VPC,), checks=("launch-hygiene",))
    assert gaps(hygiene(snap(untagged), hygiene_alone)) == {"required-tags-missing": "MEDIUM"}


def test_a_fully_gapped_production_instance_gets_one_finding_per_fact():
    # IMDSv1, an unencrypted volume, a public address and no SSM, inside production
    instance = box(vpc_id=PROD_VPC, metadata_http_tokens="optional", network_interfaces=PUBLIC)
    snapshot = snap(instance, volumes={VOL: VolumeInfo(VOL, False)})
    results = run_checks(snapshot, MAPPED, NOW)
    by_check = {r.check: r.findings for r in results if r.findings}
    assert set(by_check) == {CheckName.LAUNCH_HYGIENE, CheckName.SSM_UNMANAGED}
    assert gaps(by_check[CheckName.LAUNCH_HYGIENE][0]) == {
        "imdsv1-allowed": "HIGH",
        "unencrypted-volume": "HIGH",
        "public-address": "HIGH",
    }
    assert by_check[CheckName.SSM_UNMANAGED][0].severity is Severity.HIGH


# --- "production" is one definition: ENVIRONMENT_TAG and its case rule, everywhere ----------------


@pytest.mark.parametrize(
    ("settings", "key", "value"),
    [
        (Settings(), "environment", "prod"),  # lower-case key
        (Settings(), "ENVIRONMENT", "Production"),
        (Settings(environment_tag="Stage"), "stage", "prod"),  # ENVIRONMENT_TAG, whatever its case
    ],
)
def test_a_case_variant_environment_key_is_production_for_every_check_the_census_and_slack(settings, key, value):
    instance = box(value, key=key, metadata_http_tokens="optional")
    assert is_production(instance, settings)
    snapshot = snap(instance)
    # launch-hygiene: the production baseline
    finding = hygiene(snapshot, settings)
    assert finding.severity is Severity.HIGH and finding.details["production_reason"] == f"{key}={value}"
    # ssm-unmanaged: HIGH in production
    (ssm,) = detect_ssm_unmanaged(snapshot, settings, NOW).findings
    assert ssm.severity is Severity.HIGH and ssm.details["production"] is True
    # environment-drift: a production workload outside the production networks
    mapped = Settings(environment_tag=settings.environment_tag, production_vpcs=(PROD_VPC,))
    (drift,) = detect_environment_drift(snapshot, mapped, NOW).findings
    assert drift.details["gaps"][0]["rule"] == "production-in-non-production"
    # the census
    census = sprawl_census(snapshot, run_checks(snapshot, settings, NOW), settings)
    assert census["production"] == 1 and census["by_environment"][value]["production"] == 1
    # Slack: the finding's message and the digest say production
    plan = Plan((ssm,), {ssm.id: FindingStatus.NEW}, (), ())
    notice = finding_notice(ssm, plan, snapshot, (), Mode.NOTIFY, settings)
    assert notice.production == f"{key}={value}"
    assert f"production ({key}={value})" in render_message(finding_message(notice))
    digest = sweep_digest(plan, snapshot, (), (), Mode.NOTIFY, NOW, settings)
    assert f"`{ID}` (app) · owner team · production" in raw(digest_message(digest))


def test_a_value_outside_both_lists_or_another_key_is_not_production():
    assert not is_production(box("uat"), Settings())
    assert not is_production(box("prod", key="env"), Settings())  # not ENVIRONMENT_TAG
    assert production_reason(box("lab", vpc_id=PROD_VPC), MAPPED) == "VPC vpc-0aaaaaaaaaaaaaaaa is in PRODUCTION_VPCS"


def test_ssm_is_judged_on_the_one_definition_too():
    lab_in_prod = box("lab", vpc_id=PROD_VPC)
    (finding,) = detect_ssm_unmanaged(
        snap(lab_in_prod, ssm_info={ID: SsmInstanceInfo(ID, "ConnectionLost")}), MAPPED, NOW
    ).findings
    assert finding.severity is Severity.HIGH
    (plain,) = detect_ssm_unmanaged(snap(box("lab")), MAPPED, NOW).findings
    assert plain.severity is Severity.MEDIUM


# --- the upgrade: old environment-drift findings whose facts moved -----------------------------


def prior(check: str, title: str, description: str = "") -> PriorFinding:
    return PriorFinding(
        f"ec2-warden/{ACCOUNT}/{REGION}/{check}/{ID}", check, ID, Severity.HIGH, title, description, "", ""
    )


BASELINE_TITLE = f"High: below the production baseline (not SSM managed, IMDSv2 not required) on {ID} (app)"
SSM_ONLY_TITLE = f"High: below the production baseline (not SSM managed) on {ID}"
ALL = {CheckName.LAUNCH_HYGIENE, CheckName.SSM_UNMANAGED, CheckName.ENVIRONMENT_DRIFT}


@pytest.mark.parametrize(
    ("old", "checks", "reason"),
    [
        (prior("environment-drift", BASELINE_TITLE), ALL, REPORTED_BY_LAUNCH_HYGIENE),
        (prior("environment-drift", SSM_ONLY_TITLE), ALL, REPORTED_BY_SSM_UNMANAGED),
        (prior("environment-drift", BASELINE_TITLE), {CheckName.ENVIRONMENT_DRIFT}, None),  # hygiene did not run
        (prior("environment-drift", f"High: lab VM in production on {ID}"), ALL, None),  # an ordinary pass
        (prior("launch-hygiene", BASELINE_TITLE), ALL, None),
    ],
)
def test_superseded_reason(old, checks, reason):
    assert superseded_reason(old, checks) == reason


def test_a_passing_instance_resolves_its_old_baseline_drift_as_reported_by_launch_hygiene():
    old_drift = prior("environment-drift", BASELINE_TITLE)
    old_lab = PriorFinding(
        f"ec2-warden/{ACCOUNT}/{REGION}/environment-drift/i-0000000000000000b", "environment-drift",
        "i-0000000000000000b", Severity.HIGH, "High: lab VM in production on i-0000000000000000b", "", "", "",
    )  # fmt: skip
    snapshot = snap(box(), box(id="i-0000000000000000b"), prior_findings={old_drift.id: old_drift, old_lab.id: old_lab})
    passed = frozenset({ID, "i-0000000000000000b"})
    results = [CheckResult(CheckName.ENVIRONMENT_DRIFT, passed=passed), CheckResult(CheckName.LAUNCH_HYGIENE)]
    reasons = {r.resource_id: r.reason for r in plan_resolutions(results, snapshot)}
    assert reasons == {
        ID: REPORTED_BY_LAUNCH_HYGIENE,
        "i-0000000000000000b": "i-0000000000000000b now passes environment-drift",
    }


# --- grouped by instance --------------------------------------------------------------------------


def finding(check: CheckName, resource_id: str, severity: Severity) -> Finding:
    return Finding(check, resource_id, ACCOUNT, REGION, severity, f"{severity.value.title()}: {check.value}", "d", "r")


def test_the_digest_lists_an_instance_once_with_its_findings_under_it():
    a, b = "i-0000000000000000a", "i-0000000000000000b"
    new = (
        FindingNotice(finding(CheckName.SSM_UNMANAGED, a, Severity.HIGH), FindingStatus.NEW, box(id=a)),
        FindingNotice(finding(CheckName.PUBLIC_EXPOSURE, b, Severity.CRITICAL), FindingStatus.NEW, box(id=b)),
        FindingNotice(
            finding(CheckName.LAUNCH_HYGIENE, a, Severity.HIGH), FindingStatus.NEW, box(id=a), production="x"
        ),
    )
    items = new_by_instance(new)
    assert len(items) == 2
    assert items[0].startswith(f"• `{b}`")  # the worst first
    assert items[1].count(f"`{a}`") == 1
    assert items[1].index("launch-hygiene") < items[1].index("ssm-unmanaged")
    payload = digest_message(sweep_digest_of(new))
    assert block_kit_violations(payload) == []
    text = raw(payload)
    assert text.count(f"`{a}`") == 1 and "New since the last sweep (3)" in text and "2 instance(s)" in text


def sweep_digest_of(new: tuple[FindingNotice, ...]):
    from chalicelib.notify import SweepDigest

    return SweepDigest(ACCOUNT, REGION, Mode.NOTIFY, NOW, 2, open_findings=tuple(n.finding for n in new), new=new)


def test_resolved_are_grouped_by_instance_too():
    old = prior("environment-drift", BASELINE_TITLE)
    resolved = (
        Resolution(old.id, "environment-drift", ID, REPORTED_BY_LAUNCH_HYGIENE, old),
        Resolution("x", "idle", ID, "the instance is stopped", old),
    )
    from chalicelib.notify import SweepDigest

    text = raw(digest_message(SweepDigest(ACCOUNT, REGION, Mode.NOTIFY, NOW, 1, resolved=resolved)))
    assert text.count(f"`{ID}`") == 1 and REPORTED_BY_LAUNCH_HYGIENE in text


def test_the_table_order_by_instance_keeps_every_finding_and_puts_each_instance_together():
    rows = [
        {"resource_id": "i-b", "severity": "LOW", "check": "idle"},
        {"resource_id": "i-a", "severity": "HIGH", "check": "ssm-unmanaged"},
        {"resource_id": "i-b", "severity": "CRITICAL", "check": "public-exposure"},
        {"resource_id": "i-a", "severity": "HIGH", "check": "launch-hygiene"},
    ]
    ordered = by_instance(rows)
    assert [(r["resource_id"], r["check"]) for r in ordered] == [
        ("i-b", "public-exposure"),
        ("i-b", "idle"),
        ("i-a", "launch-hygiene"),
        ("i-a", "ssm-unmanaged"),
    ]
