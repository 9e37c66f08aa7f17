"""The whole pipeline on moto: precision and recall, events, resolution, idempotency, call counts."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from chalicelib.events.scope import sweep_scope
from chalicelib.model import Mode
from chalicelib.pipeline import run, run_event
from chalicelib.settings import load_settings
from devtools import events
from devtools.fleet import base_network, launch, make_group, seed_exposure_fleet, tcp

# Patch loop (issue 4): these tests are about exposure, on a fleet SSM manages and keeps patched.
pytestmark = pytest.mark.usefixtures("ssm_manages_every_instance")

NOW = datetime(2026, 11, 27, 12, 0, tzinfo=UTC)
# public-exposure alone: the other checks have their own flows (tests/integration/test_drift_moto.py).
EXPOSURE_ONLY = {"WARDEN_CHECKS": "public-exposure"}
NOTIFY = load_settings(EXPOSURE_ONLY, mode=Mode.NOTIFY)
AUDIT = load_settings(EXPOSURE_ONLY)


def sweep(clients, settings=NOTIFY, now=NOW) -> dict[str, Any]:
    return run(sweep_scope(region="us-east-1"), settings, clients, now).to_dict()


def hub_findings(securityhub) -> dict[str, dict[str, Any]]:
    found = {}
    for page in securityhub.get_paginator("get_findings").paginate():
        for f in page["Findings"]:
            found[f["Id"]] = f
    return found


def test_precision_and_recall_are_one_on_the_seeded_fleet(ec2, clients):
    # GIVEN a fleet covering every exposure rule, each with a passing twin
    fleet = seed_exposure_fleet(ec2)
    # WHEN a sweep runs
    report = sweep(clients, AUDIT)
    # THEN exactly the exposed instances are flagged, each with its expected severity
    got = {f["resource_id"]: f["severity"] for f in report["findings"]}
    expected = {fleet.instances[s]: sev for s, sev in fleet.expected.items() if sev}
    true_positive = len(set(got) & set(expected))
    precision = true_positive / len(got)
    recall = true_positive / len(expected)
    assert (precision, recall) == (1.0, 1.0)
    assert got == expected
    assert report["census"]["stopped"] == 1


def test_audit_mode_reads_only(ec2, clients, securityhub):
    seed_exposure_fleet(ec2)
    report = sweep(clients, AUDIT)
    # Describe* for EC2, GetMetricData for the idle check's daily usage (issue 3)
    assert all(op.split(":")[1].startswith(("Describe", "Get")) for op in report["api_calls"])
    assert all(a["done"] is False and a["reason"].startswith("audit mode: not applied (") for a in report["actions"])
    assert hub_findings(securityhub) == {}


def test_notify_posts_once_and_a_second_sweep_changes_nothing(ec2, clients, securityhub):
    fleet = seed_exposure_fleet(ec2)
    first = sweep(clients)
    assert {f["status"] for f in first["findings"]} == {"new"}
    posted = hub_findings(securityhub)
    assert len(posted) == len(fleet.exposed_ids())
    second = sweep(clients, now=NOW + timedelta(minutes=5))
    assert {f["status"] for f in second["findings"]} == {"unchanged"}
    assert "securityhub:BatchImportFindings" not in second["api_calls"]
    assert second["actions"] == []


def test_refresh_keeps_first_observed(ec2, clients, securityhub):
    seed_exposure_fleet(ec2)
    sweep(clients)
    later = sweep(clients, now=NOW + timedelta(hours=25))
    assert {f["status"] for f in later["findings"]} == {"refreshed"}
    for finding in hub_findings(securityhub).values():
        assert finding["FirstObservedAt"] == "2026-11-27T12:00:00.000Z"
        assert finding["UpdatedAt"] == "2026-11-28T13:00:00.000Z"


def test_sweep_calls_stay_within_pages(ec2, clients):
    # GIVEN 1,001 instances, one per RunInstances (moto pages by reservation), so two pages
    network = base_network(ec2)
    group = make_group(ec2, network, "web", [tcp(443, v4="0.0.0.0/0")])
    big = ec2.create_subnet(VpcId=network.vpc_id, CidrBlock="10.20.16.0/20")["Subnet"]["SubnetId"]
    ec2.modify_subnet_attribute(SubnetId=big, MapPublicIpOnLaunch={"Value": True})
    for _ in range(1001):
        ec2.run_instances(ImageId="ami-12c6146b", MinCount=1, MaxCount=1, SubnetId=big, SecurityGroupIds=[group])
    groups = len(ec2.describe_security_groups()["SecurityGroups"])
    # WHEN a sweep runs in audit mode
    report = sweep(clients, AUDIT)
    # THEN DescribeInstances is called ceil(N/1000) times and DescribeSecurityGroups at most ceil(G/1000)
    # (moto returns every group in one page whatever MaxResults says, so here it is exactly one call)
    assert len(report["findings"]) == 1001
    assert report["api_calls"]["ec2:DescribeInstances"] == 2
    assert report["api_calls"]["ec2:DescribeSecurityGroups"] <= -(-groups // 1000)
    assert sum(v for k, v in report["api_calls"].items() if k.startswith("ec2:")) == 3
    # and nothing else: the SSM and CloudWatch facets are read only when a check that needs them runs
    # (public-exposure alone here; the idle and patch flows count their own GetMetricData and SSM calls)
    assert set(report["api_calls"]) == {"ec2:DescribeInstances", "ec2:DescribeSecurityGroups"}


def test_authorize_event_scopes_only_the_instances_using_the_group(ec2, clients):
    network = base_network(ec2)
    opened = make_group(ec2, network, "opened", [])
    other = make_group(ec2, network, "other", [tcp(22, v4="0.0.0.0/0")])
    target = launch(ec2, network, "target", subnet=network.public_subnet, groups=[opened])
    launch(ec2, network, "bystander", subnet=network.public_subnet, groups=[other])
    ec2.authorize_security_group_ingress(GroupId=opened, IpPermissions=[tcp(22, v4="0.0.0.0/0")])

    report = run_event(events.authorize_ingress(opened, 22), NOTIFY, clients, NOW).to_dict()

    assert report["scope"]["instances"] == [target]
    assert [f["resource_id"] for f in report["findings"]] == [target]
    assert report["api_calls"]["ec2:DescribeNetworkInterfaces"] == 1
    assert report["api_calls"]["ec2:DescribeInstances"] == 1


def test_a_group_named_only_by_name_is_found_and_its_instances_judged(ec2, clients):
    # GIVEN a default-VPC style call that names its group by groupName alone, no id in the record
    network = base_network(ec2)
    opened = make_group(ec2, network, "web-by-name", [])
    target = launch(ec2, network, "target", subnet=network.public_subnet, groups=[opened])
    launch(ec2, network, "bystander", subnet=network.public_subnet, groups=[make_group(ec2, network, "x", [])])
    ec2.authorize_security_group_ingress(GroupId=opened, IpPermissions=[tcp(22, v4="0.0.0.0/0")])
    # WHEN the event arrives
    report = run_event(events.authorize_ingress_by_name("web-by-name", 22), NOTIFY, clients, NOW).to_dict()
    # THEN the name is resolved in one call and only the instance behind that group is judged
    assert report["ignored"] is None
    assert report["scope"]["instances"] == [target]
    assert [f["resource_id"] for f in report["findings"]] == [target]
    assert report["api_calls"]["ec2:DescribeSecurityGroups"] == 2  # the name, then the rules
    assert report["api_calls"]["ec2:DescribeNetworkInterfaces"] == 1


def test_a_group_that_admits_a_prefix_list_holding_the_internet_is_exposure(ec2, clients):
    # GIVEN two public instances, SSH open to a customer prefix list: one list holds 0.0.0.0/0
    network = base_network(ec2)

    def prefix_list(name, cidrs):
        entries = [{"Cidr": c} for c in cidrs]
        made = ec2.create_managed_prefix_list(PrefixListName=name, MaxEntries=5, AddressFamily="IPv4", Entries=entries)
        return made["PrefixList"]["PrefixListId"]

    anywhere, office = prefix_list("anywhere", ["0.0.0.0/0"]), prefix_list("office", ["198.51.100.0/24"])
    ssh = {"IpProtocol": "tcp", "FromPort": 22, "ToPort": 22}
    wide = make_group(ec2, network, "ssh-anywhere-list", [ssh | {"PrefixListIds": [{"PrefixListId": anywhere}]}])
    narrow = make_group(ec2, network, "ssh-office-list", [ssh | {"PrefixListIds": [{"PrefixListId": office}]}])
    exposed = launch(ec2, network, "behind-wide-list", subnet=network.public_subnet, groups=[wide])
    launch(ec2, network, "behind-office-list", subnet=network.public_subnet, groups=[narrow])
    # WHEN swept
    report = sweep(clients, settings=load_settings({"WARDEN_CHECKS": "public-exposure"}, mode=Mode.AUDIT))
    # THEN only the instance behind the wide list is found, the path names the list, one read per list
    [finding] = report["findings"]
    assert finding["resource_id"] == exposed and finding["severity"] == "CRITICAL"
    assert [p["prefix_list_id"] for p in finding["details"]["paths"]] == [anywhere]
    assert report["api_calls"]["ec2:GetManagedPrefixListEntries"] == 2


def test_revoke_resolves_the_finding_it_fixes(ec2, clients, securityhub):
    network = base_network(ec2)
    group = make_group(ec2, network, "ssh", [tcp(22, v4="0.0.0.0/0")])
    box = launch(ec2, network, "box", subnet=network.public_subnet, groups=[group])
    sweep(clients)
    ec2.revoke_security_group_ingress(GroupId=group, IpPermissions=[tcp(22, v4="0.0.0.0/0")])

    report = run_event(events.revoke_ingress(group, 22), NOTIFY, clients, NOW + timedelta(minutes=1)).to_dict()

    finding_id = f"ec2-warden/123456789012/us-east-1/public-exposure/{box}"
    assert report["resolved"] == [finding_id]
    stored = hub_findings(securityhub)[finding_id]
    assert (stored["Compliance"]["Status"], stored["RecordState"]) == ("PASSED", "ARCHIVED")
    assert stored["FirstObservedAt"] == "2026-11-27T12:00:00.000Z"
    again = sweep(clients, now=NOW + timedelta(minutes=2))
    assert again["resolved"] == [] and again["findings"] == []


def test_narrowing_a_rule_resolves_too(ec2, clients):
    network = base_network(ec2)
    group = make_group(ec2, network, "db", [tcp(5432, v4="0.0.0.0/0")])
    launch(ec2, network, "db", subnet=network.public_subnet, groups=[group])
    sweep(clients)
    ec2.revoke_security_group_ingress(GroupId=group, IpPermissions=[tcp(5432, v4="0.0.0.0/0")])
    ec2.authorize_security_group_ingress(GroupId=group, IpPermissions=[tcp(5432, v4="10.20.0.0/16")])
    event = events.modify_security_group_rules(group, "sgr-0123456789abcdef0", "10.20.0.0/16", 5432)
    report = run_event(event, NOTIFY, clients, NOW).to_dict()
    assert len(report["resolved"]) == 1


@pytest.mark.parametrize("how", ["instance", "interface"])
def test_associate_address_checks_the_instance_behind_it(ec2, clients, how):
    network = base_network(ec2)
    group = make_group(ec2, network, "rdp", [tcp(3389, v4="0.0.0.0/0")])
    box = launch(ec2, network, "box", subnet=network.private_subnet, groups=[group])
    allocation = ec2.allocate_address(Domain="vpc")["AllocationId"]
    ec2.associate_address(AllocationId=allocation, InstanceId=box)
    if how == "instance":
        event = events.associate_address(instance_id=box)
    else:
        eni = ec2.describe_instances(InstanceIds=[box])["Reservations"][0]["Instances"][0]["NetworkInterfaces"][0]
        event = events.associate_address(eni_id=eni["NetworkInterfaceId"])
    report = run_event(event, NOTIFY, clients, NOW).to_dict()
    assert [(f["resource_id"], f["severity"]) for f in report["findings"]] == [(box, "CRITICAL")]


def test_group_change_on_instance_and_interface(ec2, clients):
    network = base_network(ec2)
    closed = make_group(ec2, network, "closed", [])
    wide = make_group(ec2, network, "wide", [tcp(8080, v4="0.0.0.0/0")])
    box = launch(ec2, network, "box", subnet=network.public_subnet, groups=[closed])
    ec2.modify_instance_attribute(InstanceId=box, Groups=[wide])
    report = run_event(events.modify_instance_groups(box, [wide]), NOTIFY, clients, NOW).to_dict()
    assert [f["resource_id"] for f in report["findings"]] == [box]
    eni = ec2.describe_instances(InstanceIds=[box])["Reservations"][0]["Instances"][0]["NetworkInterfaces"][0]
    report = run_event(events.modify_eni_groups(eni["NetworkInterfaceId"], [wide]), NOTIFY, clients, NOW).to_dict()
    assert [f["resource_id"] for f in report["findings"]] == [box]


def test_run_instances_event_for_an_unknown_instance_reports_it_missing(ec2, clients):
    network = base_network(ec2)
    group = make_group(ec2, network, "ssh", [tcp(22, v4="0.0.0.0/0")])
    box = launch(ec2, network, "box", subnet=network.public_subnet, groups=[group])
    event = events.run_instances([box, "i-0aaaaaaaaaaaaaaaa"], group)
    report = run_event(event, AUDIT, clients, NOW).to_dict()
    assert report["scope"]["instances"] == [box]
    assert report["census"]["missing"] == 1
    assert [f["resource_id"] for f in report["findings"]] == [box]


def test_failed_call_event_makes_no_aws_call(ec2, clients):
    event = events.wrap(events.cloudtrail_record("RunInstances", {}, None, error_code="Client.UnauthorizedOperation"))
    report = run_event(event, NOTIFY, clients, NOW).to_dict()
    assert report["ignored"] and report["api_calls"] == {}
    assert clients.counter.snapshot() == {}


def test_terminated_instance_finding_is_resolved_by_the_sweep(ec2, clients, securityhub):
    network = base_network(ec2)
    group = make_group(ec2, network, "ssh", [tcp(22, v4="0.0.0.0/0")])
    box = launch(ec2, network, "box", subnet=network.public_subnet, groups=[group])
    sweep(clients)
    ec2.terminate_instances(InstanceIds=[box])
    report = sweep(clients, now=NOW + timedelta(minutes=1))
    assert report["resolved"] == [f"ec2-warden/123456789012/us-east-1/public-exposure/{box}"]
