"""The cost estimate's arithmetic: exact to the cent for a fixed price table, totals that are the
sum of their lines, and idle findings that carry their figure without changing their words."""

from __future__ import annotations

import re
from dataclasses import replace
from decimal import Decimal

from hypothesis import given
from hypothesis import strategies as st

from chalicelib.model import CheckName, CheckResult, Finding, Instance, InstanceCost, Severity, VolumeInfo
from chalicelib.rules.cost import (
    ComputeKey,
    CostTotals,
    PriceTable,
    cents,
    compute_key,
    cost_lines,
    estimate_instance,
    money,
    totals_of,
    with_idle_costs,
)
from tests.builders import ACCOUNT, REGION, eni, instance

PRICES = PriceTable(
    region=REGION,
    compute_hourly={
        ComputeKey("t3.micro", "Linux", "Shared"): Decimal("0.0114"),
        ComputeKey("m5.large", "Linux", "Shared"): Decimal("0.107"),
        ComputeKey("m5.large", "Windows", "Shared"): None,  # asked, no price read
    },
    storage_gb_month={"gp3": Decimal("0.088"), "gp2": Decimal("0.11")},
    public_ipv4_hourly=Decimal("0.005"),
)
VOLUMES = {
    "vol-a": VolumeInfo("vol-a", True, size_gib=30, volume_type="gp3"),
    "vol-b1": VolumeInfo("vol-b1", True, size_gib=8, volume_type="gp2"),
    "vol-b2": VolumeInfo("vol-b2", True, size_gib=100, volume_type="gp3"),
    "vol-c": VolumeInfo("vol-c", True, size_gib=50, volume_type="gp3"),
}


def idle_box() -> Instance:
    return instance("i-a", enis=(eni(public_ip="203.0.113.10"),), volume_ids=("vol-a",))


def stopped_box() -> Instance:
    return replace(
        instance(
            "i-b", state="stopped", enis=(eni(public_ip="198.51.100.7", elastic=True),), volume_ids=("vol-b1", "vol-b2")
        ),
        instance_type="m5.large",
        tags={"warden:stopped-by": "2026-11-20T00:00:00Z"},
    )


def windows_box() -> Instance:
    return replace(instance("i-c", volume_ids=("vol-c",), platform="windows"), instance_type="m5.large")


def test_a_running_idle_instance_costs_its_hours_volumes_and_public_address_to_the_cent():
    cost = estimate_instance(idle_box(), VOLUMES, PRICES)
    # 0.0114 x 730 = 8.322 -> 8.32; 30 GB x 0.088 = 2.64; one address 0.005 x 730 = 3.65
    assert (cost.compute_cents, cost.storage_cents, cost.public_ipv4_cents) == (832, 264, 365)
    assert cost.monthly_cents == 1461 and cost.unpriced == ()


def test_a_stopped_instance_saves_its_hours_and_still_pays_volumes_and_elastic_ips():
    cost = estimate_instance(stopped_box(), VOLUMES, PRICES)
    # 0.107 x 730 = 78.11; 8 x 0.11 + 100 x 0.088 = 9.68; one Elastic IP 3.65
    assert cost.compute_cents == 7811
    assert cost.still_paid_when_stopped_cents == 968 + 365


def test_a_missing_price_leaves_the_figure_out_and_names_what_is_missing():
    cost = estimate_instance(windows_box(), VOLUMES, PRICES)
    assert cost.compute_cents is None and cost.monthly_cents is None
    assert cost.unpriced == ("compute m5.large Windows Shared",)
    unread = estimate_instance(idle_box(), {}, PRICES)
    assert unread.storage_cents is None and unread.unpriced == ("volume vol-a",)


def test_tenancy_and_platform_name_the_price_list_product():
    assert compute_key(replace(idle_box(), tenancy="dedicated")) == ComputeKey("t3.micro", "Linux", "Dedicated")
    assert compute_key(replace(idle_box(), tenancy="default", platform="windows")).operating_system == "Windows"


def test_cents_round_half_up_once_per_line():
    assert cents(Decimal("0.0125") * 730) == 913  # 9.125: half-up, not to even
    assert money(123456) == "$1,234.56" and money(5) == "$0.05"


def test_totals_add_up_idle_saved_and_still_paid_and_list_the_unpriced():
    costs = {i.id: estimate_instance(i, VOLUMES, PRICES) for i in (idle_box(), stopped_box(), windows_box())}
    totals = totals_of(costs)
    assert (totals.idle_cents, totals.saved_cents, totals.still_paid_cents) == (1461, 7811, 1333)
    assert totals.unpriced == ("i-c",)
    report = totals.to_report()
    assert report["currency"] == "USD" and "estimate" in str(report["basis"])
    assert (
        report["idle_monthly"],
        report["stopped_by_warden_saved_monthly"],
        report["stopped_still_paid_monthly"],
    ) == (
        14.61,
        78.11,
        13.33,
    )


def _figures(line: str) -> list[int]:
    return [int(d.replace(",", "")) * 100 + int(c) for d, c in re.findall(r"\$([\d,]+)\.(\d\d)", line)]


@given(
    idle=st.dictionaries(st.from_regex(r"i-[0-9a-f]{4}", fullmatch=True), st.integers(0, 10**7), max_size=30),
    stopped=st.dictionaries(
        st.from_regex(r"i-s[0-9a-f]{4}", fullmatch=True),
        st.tuples(st.integers(0, 10**6), st.integers(0, 10**5)),
        max_size=30,
    ),
    max_lines=st.integers(1, 20),
)
def test_the_digest_total_is_the_sum_of_its_lines_whatever_is_cut(idle, stopped, max_lines):
    totals = CostTotals(
        idle=idle,
        saved={i: s for i, (s, _) in stopped.items()},
        still_paid={i: p for i, (_, p) in stopped.items()},
    )
    lines, summary = cost_lines(totals, {}, max_lines)
    idle_sum = saved_sum = paid_sum = 0
    for line in lines:
        figures = _figures(line)
        if " idle: " in line:
            idle_sum += figures[0]
        elif "stopped by" in line:
            saved_sum, paid_sum = saved_sum + figures[0], paid_sum + figures[1]
        else:  # the overflow line: idle, saved, still paid
            idle_sum, saved_sum, paid_sum = idle_sum + figures[0], saved_sum + figures[1], paid_sum + figures[2]
    assert _figures(summary[0])[0] == idle_sum == totals.idle_cents
    assert _figures(summary[1]) == [saved_sum, paid_sum] == [totals.saved_cents, totals.still_paid_cents]
    assert len(lines) <= max_lines + 1


def test_idle_findings_carry_their_estimate_in_details_and_keep_their_words():
    finding = Finding(CheckName.IDLE, "i-a", ACCOUNT, REGION, Severity.LOW, "Idle", "idle for 14 days", "stop it")
    unpriced = replace(finding, resource_id="i-c")
    results = [CheckResult(CheckName.IDLE, findings=(finding, unpriced))]
    costs = {
        "i-a": InstanceCost("i-a", "running", 832, 264, 365, 0),
        "i-c": InstanceCost("i-c", "running", None, 440, 0, 0, ("compute m5.large Windows Shared",)),
    }
    enriched, priced = with_idle_costs(results, costs)[0], None
    priced, missing = enriched.findings
    assert priced.details["estimated_monthly_usd"] == 14.61 and "on-demand" in priced.details["cost_basis"]
    assert (priced.title, priced.description, priced.id) == (finding.title, finding.description, finding.id)
    assert "estimated_monthly_usd" not in missing.details
    assert missing.details["cost_not_estimated"] == "no price for compute m5.large Windows Shared"
