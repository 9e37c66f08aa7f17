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


def test_a_production_instance_in_production_passes():
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


def test_without_an_environment_map_nothing_is_placement_drift():
    assert run(snap(box("lab")), Settings()).findings == ()
    assert run(snap(box(metadata_http_tokens="optional")), Settings()).findings == ()


PUBLIC_ENI = (NetworkInterface("eni-0aaaaaaaaaaaaaaa1", 0, (SG,), public_ip="54.1.2.3"),)
IPV6_ENI = (NetworkInterface("eni-0aaaaaaaaaaaaaaa1", 0, (SG,), ipv6_addresses=("2600:1f18::10",)),)


@pytest.mark.parametrize(
    "change",
    [
        {"metadata_http_tokens": "optional"},
        {"public_ip": "54.1.2.3", "network_interfaces": ()},
        {"network_interfaces": PUBLIC_ENI},
        {"network_interfaces": IPV6_ENI},
    ],
)
def test_configuration_gaps_of_a_production_instance_are_not_drift(change):
    # IMDSv1 and a public address are launch-hygiene's production baseline (tests/unit/test_one_fact.py).
    result = run(snap(box(**change)))
    assert result.findings == ()
    assert result.passed == {ID}


def test_unencrypted_volumes_and_ssm_are_not_drift_and_need_not_be_read():
    # Neither volumes nor SSM are drift facts: an unread facet leaves nothing unjudged.
    assert run(snap(box(), volumes={VOL: VolumeInfo(VOL, False)}, ssm_info={})).passed == {ID}
    assert run(snap(box(), volumes=None, ssm_info=None)).passed == {ID}
    everything = box(metadata_http_tokens="optional", network_interfaces=PUBLIC_ENI)
    unmanaged = {ID: SsmInstanceInfo(ID, "ConnectionLost")}
    assert run(snap(everything, volumes={VOL: VolumeInfo(VOL, False)}, ssm_info=unmanaged)).findings == ()


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
    assert sorted(rules_of(result)) == sorted(["production-in-non-production", "ingress-from-non-production"])
    assert finding.title == (
        f"High: admits non-production networks on {ID} (app): production workload outside production"
    )
    assert "IMDS" not in finding.description  # launch-hygiene's fact
    assert finding.id == f"ec2-warden/111122223333/eu-west-1/environment-drift/{ID}"
    assert finding.details["network"] == "non-production"


def test_gone_instances_pass():
    result = run(snap(box("lab", state="terminated"), missing_instance_ids=("i-0000000000000000d",)))
    assert result.findings == ()
    assert result.passed == {ID, "i-0000000000000000d"}
