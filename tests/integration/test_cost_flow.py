"""Cost estimates through the whole pipeline: the idle fleet under moto, list prices from the local
Price List stand-in (moto has no Pricing API), exact to the cent; the digest's totals equal the sum
of its lines; an unreadable price never fails a run."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest

from chalicelib.adapters.pricing import clear_cache
from chalicelib.events.scope import sweep_scope
from chalicelib.model import CheckName, Mode
from chalicelib.pipeline import run
from chalicelib.settings import Settings
from devtools.idle_fleet import seed_idle_fleet
from devtools.pricing_standin import PricingStandIn, ebs_product, ec2_product, ipv4_product
from devtools.slack_sink import SlackSink, render_message
from tests.integration.test_idle_pipeline import NOW, PAST_DEADLINE

pytestmark = [pytest.mark.usefixtures("ssm_manages_every_instance"), pytest.mark.network_local]
REGION = "us-east-1"
# moto's built-in AMI is a Windows image (DescribeInstances says Platform "windows"), so the t3.micro
# Windows price is asked: 0.0208 x 730 = 15.184 -> $15.18; moto's root volume, 8 GiB gp2 x 0.10 =
# $0.80; one public IPv4 address (default subnet), 0.005 x 730 = $3.65. Each idle instance: $19.63.
PRICES = [
    ec2_product(REGION, "t3.micro", "0.0208000000", os="Windows"),
    ec2_product(REGION, "t3.micro", "0.0104000000"),  # the Linux product: not the one asked for
    ebs_product(REGION, "gp2", "0.1000000000"),
    ebs_product(REGION, "gp3", "0.0800000000"),
    ipv4_product(REGION, "0.0050000000"),
]
IDLE_EACH = 19.63


@pytest.fixture
def prices(monkeypatch: pytest.MonkeyPatch):
    clear_cache()
    with PricingStandIn(PRICES) as standin:
        monkeypatch.setenv("AWS_ENDPOINT_URL_PRICING", standin.url)
        yield standin
    clear_cache()


@pytest.fixture
def fleet(clients, ec2, cloudwatch):
    return seed_idle_fleet(ec2, cloudwatch, until=PAST_DEADLINE + timedelta(hours=4))


def _sweep(clients, now, mode=Mode.ENFORCE, **extra):
    settings = Settings(mode=mode, checks=(CheckName.IDLE.value,), **extra)
    return run(sweep_scope(region=REGION), settings, clients, now)


def _money(text: str) -> list[float]:
    return [float(x.replace(",", "")) for x in re.findall(r"\$([\d,]+\.\d\d)", text)]


def test_idle_and_stopped_costs_are_exact_to_the_cent_and_asked_once_a_day(clients, fleet, prices):
    idle_ids = {fleet.instances["forgotten-lab-box"], fleet.instances["protected-idle"]}
    # WHEN the first enforce sweep marks the idle instances
    first = _sweep(clients, NOW)
    # THEN each idle finding says what it costs, and the report sums them
    figures = {f.resource_id: f.details["estimated_monthly_usd"] for f in first.findings if f.check is CheckName.IDLE}
    assert figures == dict.fromkeys(idle_ids, IDLE_EACH)
    assert first.cost["idle_monthly"] == 39.26 and first.cost["currency"] == "USD"
    assert (first.cost["stopped_by_warden_saved_monthly"], first.cost["price_errors"]) == (0, [])
    # AND the Price List was asked once per distinct price: compute, gp2, public IPv4
    assert len(prices.requests) == 3 and first.api_calls["pricing:GetProducts"] == 3
    asked = {f["Field"]: f["Value"] for f in prices.requests[0]["Filters"]}
    assert (asked["instanceType"], asked["operatingSystem"], asked["tenancy"]) == ("t3.micro", "Windows", "Shared")
    assert asked["regionCode"] == REGION

    # WHEN the deadline passes: the unprotected one is stopped (its prices come from the cache)
    _sweep(clients, PAST_DEADLINE)
    after = _sweep(clients, PAST_DEADLINE + timedelta(hours=1))
    # THEN the stopped instance saves its hours and still pays its volume; the protected one is idle
    assert after.cost["stopped_by_warden_saved_monthly"] == 15.18
    assert after.cost["stopped_still_paid_monthly"] == 0.80
    assert after.cost["idle_monthly"] == IDLE_EACH
    assert len(prices.requests) == 3


def test_the_digest_totals_are_the_sum_of_its_lines(clients, fleet, prices):
    with SlackSink() as sink:
        _sweep(clients, NOW, mode=Mode.NOTIFY, slack_webhook_url=sink.url)
        [digest] = [render_message(m) for m in sink.messages]
    lines = [line for line in digest.splitlines() if " idle: about $" in line]
    [total] = [line for line in digest.splitlines() if line.startswith("Idle total")]
    assert len(lines) == 2 and _money(total) == [39.26]
    assert round(sum(_money(line)[0] for line in lines), 2) == _money(total)[0]
    assert "on-demand list price" in digest


def test_an_unreadable_price_leaves_the_figure_out_says_so_and_asks_once(clients, fleet, prices):
    prices.fail_with = (400, "AccessDeniedException", "User is not authorized to perform pricing:GetProducts")
    report = _sweep(clients, NOW, mode=Mode.AUDIT)
    assert report.completed and {f.check for f in report.findings} == {CheckName.IDLE}
    assert len(prices.requests) == 1  # the first AWS error ends the asking for this run
    [error] = report.cost["price_errors"]
    assert "AccessDeniedException" in error
    assert sorted(report.cost["not_priced"]) == sorted(
        {fleet.instances["forgotten-lab-box"], fleet.instances["protected-idle"]}
    )
    assert report.cost["idle_monthly"] == 0
    for finding in report.findings:
        assert "estimated_monthly_usd" not in finding.details and finding.details["cost_not_estimated"]


def test_cost_estimates_off_asks_nothing(clients, fleet, prices):
    report = _sweep(clients, NOW, mode=Mode.AUDIT, cost_estimates=False)
    assert prices.requests == [] and report.cost == {} and report.to_dict()["cost"] == {}
