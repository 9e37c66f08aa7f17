"""The Price List adapter against botocore's Stubber: moto has no Pricing API (EMULATOR.md).

Responses are the documented GetProducts shape: the AWS example response kept in
tests/fixtures/published/ (PROVENANCE.md), and products built in that same shape for instance
hours and public IPv4 (devtools/pricing_standin.py). Every test checks what was asked."""

from __future__ import annotations

import json
from decimal import Decimal
from pathlib import Path

import botocore.session
import pytest
from botocore.exceptions import ClientError
from botocore.stub import Stubber

from chalicelib.adapters.clients import AwsClients
from chalicelib.adapters.pricing import (
    CACHE_SECONDS,
    PRICING_REGION,
    PriceListAdapter,
    PriceNotFound,
    clear_cache,
    compute_filters,
    public_ipv4_filters,
    storage_filters,
)
from chalicelib.rules.cost import ComputeKey
from devtools.pricing_standin import ebs_product, ec2_product, ipv4_product

PUBLISHED = (
    Path(__file__).resolve().parents[1] / "fixtures" / "published" / "responses" / "pricing-get-products-ebs-piops.json"
)
T3 = ComputeKey("t3.micro", "Linux", "Shared")


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture(autouse=True)
def fresh_cache():
    clear_cache()
    yield
    clear_cache()


@pytest.fixture
def pricing():
    # The product's own client (trimmed models): what snapshot/costs.py hands the adapter.
    client = AwsClients(PRICING_REGION, clients={}).get("pricing")
    with Stubber(client) as stub:
        yield client, stub
        stub.assert_no_pending_responses()


def request(service: str, filters, token: str | None = None) -> dict:
    params = {"ServiceCode": service, "Filters": filters, "FormatVersion": "aws_v1", "MaxResults": 100}
    if token:
        params["NextToken"] = token
    return params


def page(*products: dict, token: str | None = None) -> dict:
    out = {"FormatVersion": "aws_v1", "PriceList": [json.dumps(p) for p in products]}
    if token:
        out["NextToken"] = token
    return out


def test_the_published_example_response_gives_its_storage_price(pricing):
    client, stub = pricing
    published = json.loads(PUBLISHED.read_text())
    published.pop("NextToken")  # the example's token would ask for a next page the example lacks
    stub.add_response("get_products", published, request("AmazonEC2", storage_filters("ca-central-1", "io1")))
    assert PriceListAdapter(client).storage_gb_month("ca-central-1", "io1") == Decimal("0.138")


def test_instance_hours_are_asked_by_type_region_system_tenancy_and_read_across_pages(pricing):
    client, stub = pricing
    filters = compute_filters("eu-west-1", T3)
    assert {f["Field"]: f["Value"] for f in filters} == {
        "regionCode": "eu-west-1",
        "instanceType": "t3.micro",
        "operatingSystem": "Linux",
        "tenancy": "Shared",
        "preInstalledSw": "NA",
        "capacitystatus": "Used",
        "licenseModel": "No License required",
    }
    capacity_block = ec2_product("eu-west-1", "t3.micro", "0.5")
    capacity_block["product"]["attributes"]["marketoption"] = "CapacityBlock"  # not on demand: ignored
    stub.add_response("get_products", page(capacity_block, token="next-1"), request("AmazonEC2", filters))
    stub.add_response(
        "get_products",
        page(ec2_product("eu-west-1", "t3.micro", "0.0114000000")),
        request("AmazonEC2", filters, "next-1"),
    )
    assert PriceListAdapter(client).instance_hourly("eu-west-1", T3) == Decimal("0.0114")


def test_answers_are_cached_for_a_day_including_no_product(pricing):
    client, stub = pricing
    clock = Clock()
    adapter = PriceListAdapter(client, clock=clock)
    filters = compute_filters("eu-west-1", T3)
    stub.add_response(
        "get_products", page(ec2_product("eu-west-1", "t3.micro", "0.0114")), request("AmazonEC2", filters)
    )
    none_filters = storage_filters("eu-west-1", "sc1")
    stub.add_response("get_products", page(), request("AmazonEC2", none_filters))
    assert adapter.instance_hourly("eu-west-1", T3) == Decimal("0.0114")
    assert adapter.storage_gb_month("eu-west-1", "sc1") is None
    clock.now += CACHE_SECONDS - 1
    # WHEN asked again within the day THEN no call (the Stubber holds no more responses)
    assert PriceListAdapter(client, clock=clock).instance_hourly("eu-west-1", T3) == Decimal("0.0114")
    assert adapter.storage_gb_month("eu-west-1", "sc1") is None
    stub.assert_no_pending_responses()
    clock.now += 2
    stub.add_response(
        "get_products", page(ec2_product("eu-west-1", "t3.micro", "0.0120")), request("AmazonEC2", filters)
    )
    assert adapter.instance_hourly("eu-west-1", T3) == Decimal("0.012")


def test_products_that_disagree_are_no_price(pricing):
    client, stub = pricing
    filters = compute_filters("eu-west-1", T3)
    stub.add_response(
        "get_products",
        page(ec2_product("eu-west-1", "t3.micro", "0.0114"), ec2_product("eu-west-1", "t3.micro", "0.0200")),
        request("AmazonEC2", filters),
    )
    with pytest.raises(PriceNotFound, match="2 different rates"):
        PriceListAdapter(client).instance_hourly("eu-west-1", T3)


def test_an_aws_error_is_raised_and_not_cached(pricing):
    client, stub = pricing
    filters = storage_filters("eu-west-1", "gp3")
    stub.add_client_error(
        "get_products", "AccessDeniedException", "not authorized", 400, expected_params=request("AmazonEC2", filters)
    )
    stub.add_response("get_products", page(ebs_product("eu-west-1", "gp3", "0.088")), request("AmazonEC2", filters))
    adapter = PriceListAdapter(client)
    with pytest.raises(ClientError):
        adapter.storage_gb_month("eu-west-1", "gp3")
    assert adapter.storage_gb_month("eu-west-1", "gp3") == Decimal("0.088")


def test_public_ipv4_is_the_in_use_address_rate_of_amazon_vpc(pricing):
    client, stub = pricing
    filters = public_ipv4_filters("eu-west-1")
    assert filters[1] == {"Type": "CONTAINS", "Field": "usagetype", "Value": "PublicIPv4:InUseAddress"}
    idle_rate = ipv4_product("eu-west-1", "0.0070", idle=True)  # a different rate, to show it is not taken
    stub.add_response(
        "get_products", page(idle_rate, ipv4_product("eu-west-1", "0.0050000000")), request("AmazonVPC", filters)
    )
    assert PriceListAdapter(client).public_ipv4_hourly("eu-west-1") == Decimal("0.005")


def test_the_pricing_client_talks_to_the_price_list_endpoint_of_us_east_1(monkeypatch):
    monkeypatch.delenv("AWS_ENDPOINT_URL", raising=False)
    monkeypatch.delenv("AWS_ENDPOINT_URL_PRICING", raising=False)
    clients = AwsClients("eu-west-1")
    client = clients.own_in(PRICING_REGION, "pricing")
    assert client.meta.endpoint_url == "https://api.pricing.us-east-1.amazonaws.com"
    assert botocore.session.get_session().get_service_model("pricing").metadata["targetPrefix"] == "AWSPriceListService"
