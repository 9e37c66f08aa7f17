"""public-exposure over hand-built snapshots: every rule, and a passing twin for each."""

from __future__ import annotations

from dataclasses import replace

import pytest

from chalicelib.checks.exposure import detect_public_exposure
from chalicelib.model import CheckName, IngressRule, Severity
from chalicelib.settings import load_settings
from tests.builders import NOW, eni, group, instance, rule, snapshot

SETTINGS = load_settings({})
WORLD = ("0.0.0.0/0",)
WORLD6 = ("::/0",)


def judge(instances, groups, settings=SETTINGS, **kw):
    return detect_public_exposure(snapshot(instances, groups, **kw), settings, NOW)


def one_public(sg_rules, *, public_ip="203.0.113.10", ipv6=(), elastic=False):
    inst = instance(enis=(eni(groups=("sg-00000001",), public_ip=public_ip, ipv6=ipv6, elastic=elastic),))
    return [inst], [group("sg-00000001", *sg_rules)]


@pytest.mark.parametrize(
    ("sg_rule", "severity"),
    [
        (rule("tcp", (22, 22), v4=WORLD), Severity.CRITICAL),
        (rule("tcp", (3389, 3389), v4=WORLD), Severity.CRITICAL),
        (rule("-1", None, v4=WORLD), Severity.CRITICAL),
        (rule("tcp", (20, 30), v4=WORLD), Severity.CRITICAL),
        (rule("tcp", (0, 65535), v4=WORLD), Severity.CRITICAL),
        (rule("tcp", (5432, 5432), v4=WORLD), Severity.HIGH),
        (rule("tcp", (6000, 7000), v4=WORLD), Severity.HIGH),  # covers Redis 6379
        (rule("udp", (11211, 11211), v4=WORLD), Severity.HIGH),
        (rule("tcp", (443, 443), v4=WORLD), Severity.MEDIUM),
        (rule("17", (53, 53), v4=WORLD), Severity.MEDIUM),
        (rule("icmp", (-1, -1), v4=WORLD), Severity.LOW),
        (rule("50", None, v4=WORLD), Severity.MEDIUM),
    ],
)
def test_severity_follows_what_is_open(sg_rule, severity):
    # GIVEN a public instance whose group opens one rule to the world
    instances, groups = one_public([sg_rule])
    # WHEN the check runs
    result = judge(instances, groups)
    # THEN there is one finding with the severity of what is open
    assert [f.severity for f in result.findings] == [severity]
    assert result.passed == frozenset()


def test_the_finding_names_group_rule_ports_and_address():
    instances, groups = one_public([rule("tcp", (22, 22), v4=WORLD), rule("tcp", (5432, 5432), v4=WORLD)])
    finding = judge(instances, groups).findings[0]
    assert finding.check is CheckName.PUBLIC_EXPOSURE
    assert finding.id == "ec2-warden/111122223333/eu-west-1/public-exposure/i-00000001"
    paths = finding.details["paths"]
    assert {(p["group_id"], p["rule"], p["ports"], p["address"], p["cidr"]) for p in paths} == {
        ("sg-00000001", "tcp 22", "22", "203.0.113.10", "0.0.0.0/0"),
        ("sg-00000001", "tcp 5432", "5432", "203.0.113.10", "0.0.0.0/0"),
    }
    assert "sg-00000001" in finding.description and "203.0.113.10" in finding.description
    assert finding.severity is Severity.CRITICAL and "SSH (22)" in finding.title


@pytest.mark.parametrize(
    ("sg_rule", "why"),
    [
        (rule("tcp", (22, 22), groups=("sg-00000009",)), "references another group"),
        (rule("tcp", (22, 22), v4=("10.0.0.0/8",)), "private CIDR"),
        (rule("tcp", (22, 22), v4=("198.51.100.0/24",)), "a narrow public CIDR is not the internet"),
        (rule("tcp", (22, 22), v6=WORLD6), "IPv6 rule, but the instance has no IPv6 address"),
    ],
)
def test_rules_that_are_not_internet_exposure(sg_rule, why):
    instances, groups = one_public([sg_rule])
    result = judge(instances, groups)
    assert result.findings == (), why
    assert result.passed == {"i-00000001"}


def test_private_instance_with_open_group_is_not_exposed():
    inst = instance(enis=(eni(public_ip=None),))
    result = judge([inst], [group("sg-00000001", rule(v4=WORLD))])
    assert result.findings == () and result.passed == {"i-00000001"}


def test_ipv6_address_is_reached_through_ipv6_rules_only():
    v6_only = instance(enis=(eni(public_ip=None, ipv6=("2600:1f18::10",)),))
    open_v6 = judge([v6_only], [group("sg-00000001", rule("tcp", (443, 443), v6=WORLD6))])
    open_v4 = judge([v6_only], [group("sg-00000001", rule("tcp", (443, 443), v4=WORLD))])
    assert [f.severity for f in open_v6.findings] == [Severity.MEDIUM]
    assert open_v6.findings[0].details["paths"][0]["address_kind"] == "ipv6"
    assert open_v4.findings == ()


def test_link_local_ipv6_is_not_public():
    inst = instance(enis=(eni(public_ip=None, ipv6=("fe80::1",)),))
    assert judge([inst], [group("sg-00000001", rule(v6=WORLD6))]).findings == ()


def test_elastic_ip_is_public_whatever_its_address_looks_like():
    # moto hands out 127.x Elastic IPs; AWS's are public by definition.
    instances, groups = one_public([rule(v4=WORLD)], public_ip="127.0.0.9", elastic=True)
    finding = judge(instances, groups).findings[0]
    assert finding.details["paths"][0]["address_kind"] == "elastic-ip"


def test_second_interface_is_judged_by_its_own_groups():
    primary = eni("eni-00000001", groups=("sg-0000000a",), public_ip=None)
    secondary = eni("eni-00000002", groups=("sg-0000000b",), public_ip="198.51.100.20", elastic=True, index=1)
    inst = instance(enis=(primary, secondary))
    closed_primary = group("sg-0000000a", rule(v4=WORLD))  # open, but its interface has no public address
    open_secondary = group("sg-0000000b", rule("tcp", (8080, 8080), v4=WORLD))
    finding = judge([inst], [closed_primary, open_secondary]).findings[0]
    assert {(p["network_interface"], p["group_id"]) for p in finding.details["paths"]} == {
        ("eni-00000002", "sg-0000000b")
    }
    assert finding.severity is Severity.MEDIUM


def test_public_primary_with_closed_group_and_private_open_secondary_is_not_exposed():
    primary = eni("eni-00000001", groups=("sg-0000000a",), public_ip="198.51.100.20")
    secondary = eni("eni-00000002", groups=("sg-0000000b",), public_ip=None, index=1)
    inst = instance(enis=(primary, secondary))
    result = judge([inst], [group("sg-0000000a"), group("sg-0000000b", rule(v4=WORLD))])
    assert result.findings == ()


def test_stopped_instance_is_counted_not_flagged():
    instances, groups = one_public([rule(v4=WORLD)])
    stopped = instance(state="stopped", enis=instances[0].network_interfaces)
    result = judge([stopped], groups)
    assert result.findings == ()
    assert result.skipped == {"not running (stopped)": 1}
    assert result.passed == {"i-00000001"}


def test_missing_group_leaves_the_instance_not_evaluated():
    inst = instance(enis=(eni(groups=("sg-00000404",), public_ip="203.0.113.10"),))
    result = judge([inst], [])
    assert result.findings == () and result.passed == frozenset()
    assert result.not_evaluated == {"i-00000001"}


def test_unreadable_groups_judge_nothing():
    instances, groups = one_public([rule(v4=WORLD)])
    result = judge(instances, groups, complete=False)
    assert result.findings == () and result.not_evaluated == {"i-00000001"}


def test_settings_can_declare_more_cidrs_too_wide():
    instances, groups = one_public([rule(v4=("0.0.0.0/1",))])
    assert judge(instances, groups).findings == ()
    wider = load_settings({"EXPOSURE_OPEN_CIDRS": "0.0.0.0/0,::/0,0.0.0.0/1,128.0.0.0/1"})
    assert [f.severity for f in judge(instances, groups, settings=wider).findings] == [Severity.CRITICAL]


def test_port_lists_are_settings():
    instances, groups = one_public([rule("tcp", (8443, 8443), v4=WORLD)])
    custom = load_settings({"EXPOSURE_CRITICAL_PORTS": "8443", "EXPOSURE_HIGH_PORTS": "9000"})
    assert judge(instances, groups, settings=custom).findings[0].severity is Severity.CRITICAL


def test_worst_path_sets_severity_and_every_path_is_listed():
    instances, groups = one_public(
        [rule("tcp", (443, 443), v4=WORLD), rule("tcp", (3306, 3306), v6=WORLD6)], ipv6=("2600:1f18::10",)
    )
    finding = judge(instances, groups).findings[0]
    assert finding.severity is Severity.HIGH
    assert len(finding.details["paths"]) == 2


def test_gone_instances_pass():
    result = judge([], [], missing=("i-0000dead",))
    assert result.passed == {"i-0000dead"}


def test_the_check_is_deterministic_whatever_the_order():
    a = instance("i-0000000a", enis=(eni(public_ip="203.0.113.1"),))
    b = instance("i-0000000b", enis=(eni(public_ip="203.0.113.2"),))
    groups = [group("sg-00000001", rule(v4=WORLD), rule("tcp", (5432, 5432), v4=WORLD))]
    first = judge([a, b], groups)
    second = judge([b, a], list(reversed(groups)))
    assert sorted(first.findings, key=lambda f: f.id) == sorted(second.findings, key=lambda f: f.id)


# --- managed prefix lists: a rule admits every CIDR of the lists it names ------------------------


def _with_prefix_lists(entries, *, ipv6=()):
    sg_rule = IngressRule("tcp", 22, 22, prefix_list_ids=("pl-00000001",))
    instances, groups = one_public([sg_rule], ipv6=ipv6)
    snap = replace(snapshot(instances, groups), prefix_lists=entries)
    return detect_public_exposure(snap, SETTINGS, NOW)


def test_a_prefix_list_holding_the_internet_is_exposure_and_names_the_list():
    result = _with_prefix_lists({"pl-00000001": ("10.0.0.0/8", "0.0.0.0/0")})
    [finding] = result.findings
    assert finding.severity is Severity.CRITICAL
    [path] = finding.details["paths"]
    assert (path["cidr"], path["prefix_list_id"], path["address"]) == ("0.0.0.0/0", "pl-00000001", "203.0.113.10")


def test_a_prefix_list_of_narrow_ranges_is_not_exposure():
    result = _with_prefix_lists({"pl-00000001": ("10.0.0.0/8", "198.51.100.0/24")})
    assert result.findings == () and result.passed == frozenset({"i-00000001"})


def test_an_ipv6_entry_reaches_only_ipv6_addresses():
    assert _with_prefix_lists({"pl-00000001": ("::/0",)}).findings == ()
    exposed = _with_prefix_lists({"pl-00000001": ("::/0",)}, ipv6=("2600:1f18::10",))
    assert [p["address"] for p in exposed.findings[0].details["paths"]] == ["2600:1f18::10"]


def test_a_prefix_list_that_was_not_read_leaves_the_instance_not_evaluated():
    # it could hold 0.0.0.0/0: neither a finding nor a pass (no open finding is resolved on it)
    for unread in (None, {}):
        result = _with_prefix_lists(unread)
        assert result.findings == () and result.not_evaluated == frozenset({"i-00000001"})
        assert result.passed == frozenset()
