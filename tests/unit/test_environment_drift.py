"""environment-drift over hand-built snapshots: every rule, its twin, and how problems combine."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from chalicelib.checks import CHECKS
from chalicelib.checks.drift import detect_environment_drift
from chalicelib.model import (
    CheckName,
    IngressRule,
    Instance,
    NetworkInterface,
    SecurityGroup,
    Severity,
    Snapshot,
    SsmInstanceInfo,
    VolumeInfo,
    VpcInfo,
)
from chalicelib.settings import Settings

NOW = datetime(2026, 6, 1, tzinfo=UTC)
PROD_VPC = "vpc-0aaaaaaaaaaaaaaaa"
LAB_VPC = "vpc-0bbbbbbbbbbbbbbbb"
VOL = "vol-0aaaaaaaaaaaaaaa1"
SG = "sg-0aaaaaaaaaaaaaaa1"
LAB_SG = "sg-0bbbbbbbbbbbbbbb1"
ID = "i-0123456789abcdef0"
SETTINGS = Settings(
    production_vpcs=(PROD_VPC,), non_production_vpcs=(LAB_VPC,), non_production_cidrs=("192.168.50.0/24",)
)


def box(env: str | None = "production", **kw) -> Instance:
    tags = {"Name": "app", "Owner": "team", **({"Environment": env} if env else {})}
    base = dict(
        id=ID, state="running", account="111122223333", region="eu-west-1", vpc_id=PROD_VPC,
        subnet_id="subnet-0aaaaaaaaaaaaaaaa", tags=tags, metadata_http_tokens="required", volume_ids=(VOL,),
        security_group_ids=(SG,),
        network_interfaces=(NetworkInterface("eni-0aaaaaaaaaaaaaaa1", 0, (SG,), private_ip="10.10.1.5"),),
    )  # fmt: skip
    base.update(kw)
    return Instance(**base)


def snap(*instances: Instance, rules=(), groups=None, **kw) -> Snapshot:
    kw.setdefault("volumes", {VOL: VolumeInfo(VOL, True)})
    kw.setdefault("vpcs", {LAB_VPC: VpcInfo(LAB_VPC, ("10.30.0.0/16",))})
    kw.setdefault("group_neighbours", {})
    return Snapshot(
        account="111122223333",
        region="eu-west-1",
        taken_at=NOW,
        is_sweep=True,
        instances=instances,
        security_groups=groups or {SG: SecurityGroup(SG, "app", PROD_VPC, tuple(rules)), LAB_SG: SecurityGroup(LAB_SG)},
        **kw,
    )


def run(snapshot: Snapshot, settings: Settings = SETTINGS):
    return detect_environment_drift(snapshot, settings, NOW)


def rules_of(result) -> list[str]:
    (finding,) = result.findings
    return [g["rule"] for g in finding.details["gaps"]]


def test_registered_under_its_public_name():
    assert CHECKS[CheckName.ENVIRONMENT_DRIFT] is detect_environment_drift
    assert CheckName.ENVIRONMENT_DRIFT.value == "environment-drift"


def test_a_production_instance_meeting_the_baseline_passes_and_says_ssm_was_not_checked():
    result = run(snap(box()))
    assert result.findings == ()
    assert result.passed == {ID}


def test_lab_vm_in_a_production_vpc_is_high_and_its_twin_in_the_lab_vpc_passes():
    result = run(snap(box("lab")))
    (finding,) = result.findings
    assert finding.severity is Severity.HIGH
    assert rules_of(result) == ["non-production-in-production"]
    assert finding.title == f"High: lab VM in production on {ID} (app)"
    assert "PRODUCTION_VPCS" in finding.description
    assert run(snap(box("lab", vpc_id=LAB_VPC))).findings == ()


def test_lab_vm_in_a_production_account_or_subnet():
    by_account = Settings(production_accounts=("111122223333",))
    assert rules_of(run(snap(box("dev", vpc_id="vpc-0cccccccccccccccc")), by_account)) == [
        "non-production-in-production"
    ]
    by_subnet = Settings(production_subnets=("subnet-0aaaaaaaaaaaaaaaa",))
    (finding,) = run(snap(box("sandbox")), by_subnet).findings
    assert "PRODUCTION_SUBNETS" in finding.description
    assert finding.title.startswith("High: sandbox VM in production")


def test_an_unclassified_instance_in_production_is_medium():
    # Removing the Environment tag must not be a way out of "lab VM in production".
    for env in (None, "uat"):
        result = run(snap(box(env)))
        assert rules_of(result) == ["unclassified-in-production"]
        assert result.findings[0].severity is Severity.MEDIUM


def test_production_outside_production_networks_is_medium_and_its_twin_passes():
    result = run(snap(box(vpc_id=LAB_VPC)))
    assert rules_of(result) == ["production-in-non-production"]
    assert result.findings[0].severity is Severity.MEDIUM
    assert run(snap(box(vpc_id=PROD_VPC))).findings == ()


def test_without_an_environment_map_only_the_baseline_is_judged():
    assert run(snap(box("lab")), Settings()).findings == ()
    assert rules_of(run(snap(box(metadata_http_tokens="optional")), Settings())) == ["production-baseline"]


@pytest.mark.parametrize(
    ("change", "gap"),
    [
        ({"metadata_http_tokens": "optional"}, "IMDSv2 not required"),
        ({"public_ip": "54.1.2.3", "network_interfaces": ()}, "public address 54.1.2.3"),
        (
            {"network_interfaces": (NetworkInterface("eni-0aaaaaaaaaaaaaaa1", 0, (SG,), public_ip="54.1.2.3"),)},
            "public address 54.1.2.3",
        ),
        (
            {
                "network_interfaces": (
                    NetworkInterface("eni-0aaaaaaaaaaaaaaa1", 0, (SG,), ipv6_addresses=("2600:1f18:20:1::10",)),
                )
            },
            "public address 2600:1f18:20:1::10",
        ),
    ],
)
def test_each_baseline_gap_is_high(change, gap):
    result = run(snap(box(**change)))
    assert rules_of(result) == ["production-baseline"]
    assert result.findings[0].severity is Severity.HIGH
    assert gap in result.findings[0].description


def test_the_public_ok_tag_allows_a_public_address():
    public = {"network_interfaces": (NetworkInterface("eni-0aaaaaaaaaaaaaaa1", 0, (SG,), public_ip="54.1.2.3"),)}
    tags = {"Name": "app", "Owner": "team", "Environment": "production", "warden:public-ok": "true"}
    assert run(snap(box(tags=tags, **public))).findings == ()


def test_unencrypted_volume_is_a_baseline_gap():
    result = run(snap(box(), volumes={VOL: VolumeInfo(VOL, False)}))
    assert rules_of(result) == ["production-baseline"]
    assert result.findings[0].details["gaps"][0]["unencrypted_volumes"] == [VOL]


@pytest.mark.parametrize(
    ("ssm", "gap"),
    [
        ({}, "not managed by SSM"),
        ({ID: SsmInstanceInfo(ID, "ConnectionLost")}, "SSM agent ConnectionLost"),
    ],
)
def test_ssm_is_judged_when_the_snapshot_read_it(ssm, gap):
    result = run(snap(box(), ssm_info=ssm))
    assert gap in result.findings[0].description
    assert run(snap(box(), ssm_info={ID: SsmInstanceInfo(ID, "Online")})).findings == ()


def test_ssm_not_read_is_said_on_a_finding():
    (finding,) = run(snap(box(metadata_http_tokens="optional"))).findings
    assert "SSM management not checked" in finding.details["not_checked"]
    assert "SSM management not checked" in finding.description


def test_every_baseline_gap_is_listed_in_one_high_finding():
    instance = box(
        metadata_http_tokens="optional",
        network_interfaces=(NetworkInterface("eni-0aaaaaaaaaaaaaaa1", 0, (SG,), public_ip="54.1.2.3"),),
    )
    result = run(snap(instance, volumes={VOL: VolumeInfo(VOL, False)}, ssm_info={}))
    (finding,) = result.findings
    baseline = finding.details["gaps"][0]["baseline_gaps"]
    assert len(baseline) == 4
    assert finding.title == (
        f"High: below the production baseline (not SSM managed, IMDSv2 not required, unencrypted volume, "
        f"public address) on {ID} (app)"
    )


@pytest.mark.parametrize(
    ("cidr", "flagged"),
    [
        ("10.30.4.0/24", True),  # inside the lab VPC
        ("10.0.0.0/8", True),  # covers the lab VPC
        ("192.168.50.7/32", True),  # inside NON_PRODUCTION_CIDRS
        ("10.10.0.0/16", False),  # production's own range
        ("0.0.0.0/0", False),  # internet-wide: public-exposure's business
    ],
)
def test_ingress_from_a_non_production_cidr(cidr, flagged):
    rule = IngressRule("tcp", 22, 22, ipv4_ranges=(cidr,))
    result = run(snap(box(), rules=[rule]))
    assert bool(result.findings) is flagged
    if flagged:
        assert rules_of(result) == ["ingress-from-non-production"]
        assert result.findings[0].severity is Severity.HIGH
        assert cidr in result.findings[0].description


def test_ingress_from_a_group_used_by_a_non_production_instance():
    rule = IngressRule("tcp", 5432, 5432, referenced_group_ids=(LAB_SG,))
    lab_box = box("lab", id="i-0000000000000000b", vpc_id=LAB_VPC, security_group_ids=(LAB_SG,), network_interfaces=())
    prod_box = box("production", id="i-0000000000000000c", security_group_ids=(LAB_SG,), network_interfaces=())
    # In the snapshot (a sweep) or read as a neighbour (an event): the same verdict.
    in_sweep = snap(box(), lab_box, rules=[rule])
    as_neighbour = snap(box(), rules=[rule], group_neighbours={lab_box.id: lab_box})
    for snapshot in (in_sweep, as_neighbour):
        found = {f.resource_id: f for f in run(snapshot).findings}
        assert "i-0000000000000000b" in found[ID].description
        assert [g["rule"] for g in found[ID].details["gaps"]] == ["ingress-from-non-production"]
    # The twin: the same group used only by production instances.
    assert run(snap(box(), rules=[rule], group_neighbours={prod_box.id: prod_box})).findings == ()


def test_unread_group_members_leave_the_instance_not_evaluated():
    rule = IngressRule("tcp", 5432, 5432, referenced_group_ids=(LAB_SG,))
    result = run(snap(box(), rules=[rule], group_neighbours=None))
    assert result.findings == ()
    assert result.not_evaluated == {ID}


def test_unread_vpcs_and_groups_leave_the_instance_not_evaluated():
    assert run(snap(box(), vpcs=None)).not_evaluated == {ID}
    unread_groups = Snapshot(
        account="111122223333", region="eu-west-1", taken_at=NOW, is_sweep=True, instances=(box(),),
        security_groups={}, security_groups_complete=False, volumes={VOL: VolumeInfo(VOL, True)}, vpcs={},
        group_neighbours={},
    )  # fmt: skip
    assert run(unread_groups).not_evaluated == {ID}


def test_several_problems_make_one_finding_led_by_the_worst_story():
    rule = IngressRule("tcp", 22, 22, ipv4_ranges=("10.30.0.0/16",))
    instance = box(vpc_id=LAB_VPC, metadata_http_tokens="optional")
    result = run(snap(instance, rules=[rule]))
    (finding,) = result.findings
    assert finding.severity is Severity.HIGH
    assert sorted(rules_of(result)) == sorted(
        ["production-in-non-production", "production-baseline", "ingress-from-non-production"]
    )
    assert finding.title == (
        f"High: below the production baseline (IMDSv2 not required) on {ID} (app): "
        "admits non-production networks, production workload outside production"
    )
    assert finding.id == f"ec2-warden/111122223333/eu-west-1/environment-drift/{ID}"
    assert finding.details["network"] == "non-production"


def test_gone_instances_pass():
    result = run(snap(box("lab", state="terminated"), missing_instance_ids=("i-0000000000000000d",)))
    assert result.findings == ()
    assert result.passed == {ID, "i-0000000000000000d"}
