"""AWS Price List adapter: on-demand list prices through pricing:GetProducts.

The Price List API answers from its own endpoints only (us-east-1, ap-south-1, eu-central-1), not
from the region whose prices it gives: callers hand in a client built for PRICING_REGION. Each
answer is a list of JSON *strings*, one product each with its terms (the Price List's documented
format, "FormatVersion": "aws_v1"); this module parses them and keeps only an on-demand USD rate.

Prices change rarely and the API is slow (one call per distinct instance type): answers are
cached in this container for CACHE_SECONDS, the ones that found no product included. An AWS error
is not cached; it is raised to the caller, which leaves that figure out and says so.

moto has no Pricing API: this adapter is tested with botocore's Stubber (shapes from the AWS Price
List documentation) and flows with a local stand-in (devtools/pricing_standin.py)."""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Callable, Iterable, Mapping
from decimal import Decimal, InvalidOperation
from typing import Any

from chalicelib.rules.cost import ComputeKey

PRICING_REGION = "us-east-1"  # the Price List API's own endpoint (also ap-south-1, eu-central-1)
CACHE_SECONDS = 24 * 3600
PAGE_SIZE = 100  # GetProducts' largest page
PUBLIC_IPV4_IN_USE = "PublicIPv4:InUseAddress"  # usagetype suffix; the prefix is the region's


class PriceNotFound(Exception):
    """The Price List answered, but not with one clear on-demand USD price."""


def _term(field: str, value: str, kind: str = "TERM_MATCH") -> dict[str, str]:
    return {"Type": kind, "Field": field, "Value": value}


def compute_filters(region: str, key: ComputeKey) -> list[dict[str, str]]:
    return [
        _term("regionCode", region),
        _term("instanceType", key.instance_type),
        _term("operatingSystem", key.operating_system),
        _term("tenancy", key.tenancy),
        _term("preInstalledSw", "NA"),
        _term("capacitystatus", "Used"),
        _term("licenseModel", "No License required"),
    ]


def storage_filters(region: str, volume_type: str) -> list[dict[str, str]]:
    return [_term("regionCode", region), _term("productFamily", "Storage"), _term("volumeApiName", volume_type)]


def public_ipv4_filters(region: str) -> list[dict[str, str]]:
    return [_term("regionCode", region), _term("usagetype", PUBLIC_IPV4_IN_USE, "CONTAINS")]


# (service code, filters as a tuple) -> (price or None, monotonic time read). Shared by every run
# of this container; a lock because fan-out workers may price from threads.
_CACHE: dict[tuple[str, tuple[tuple[str, str, str], ...]], tuple[Decimal | None, float]] = {}
_LOCK = threading.Lock()


def clear_cache() -> None:
    with _LOCK:
        _CACHE.clear()


class PriceListAdapter:
    def __init__(self, client: Any, *, clock: Callable[[], float] = time.monotonic) -> None:
        self._client = client
        self._clock = clock

    def instance_hourly(self, region: str, key: ComputeKey) -> Decimal | None:
        """USD per instance-hour, on demand; None when the Price List has no such product."""
        return self._price(
            "AmazonEC2",
            compute_filters(region, key),
            unit="Hrs",
            keep=lambda attrs: attrs.get("marketoption", "OnDemand") == "OnDemand",
        )

    def storage_gb_month(self, region: str, volume_type: str) -> Decimal | None:
        """USD per GB-month of an EBS volume type (storage only)."""
        return self._price("AmazonEC2", storage_filters(region, volume_type), unit="GB-Mo")

    def public_ipv4_hourly(self, region: str) -> Decimal | None:
        """USD per hour of one in-use public IPv4 address."""
        return self._price(
            "AmazonVPC",
            public_ipv4_filters(region),
            unit="Hrs",
            keep=lambda attrs: str(attrs.get("usagetype", "")).endswith(PUBLIC_IPV4_IN_USE),
        )

    def _price(
        self,
        service: str,
        filters: list[dict[str, str]],
        *,
        unit: str,
        keep: Callable[[Mapping[str, Any]], bool] = lambda _attrs: True,
    ) -> Decimal | None:
        """The one on-demand USD rate the filters name. Raises PriceNotFound when the products
        disagree (several different rates), and AWS errors as they come."""
        cache_key = (service, tuple((f["Type"], f["Field"], f["Value"]) for f in filters))
        now = self._clock()
        with _LOCK:
            held = _CACHE.get(cache_key)
        if held is not None and now - held[1] < CACHE_SECONDS:
            return held[0]
        rates = set()
        for product in self._products(service, filters):
            if keep(product.get("product", {}).get("attributes", {})):
                rates |= set(on_demand_rates(product, unit))
        if len(rates) > 1:
            shown = ", ".join(str(r) for r in sorted(rates)[:5])
            raise PriceNotFound(f"{service} {_describe(filters)}: {len(rates)} different rates ({shown})")
        price = next(iter(rates), None)
        with _LOCK:
            _CACHE[cache_key] = (price, now)
        return price

    def _products(self, service: str, filters: list[dict[str, str]]) -> Iterable[Mapping[str, Any]]:
        paginator = self._client.get_paginator("get_products")
        pages = paginator.paginate(
            ServiceCode=service, Filters=filters, FormatVersion="aws_v1", PaginationConfig={"PageSize": PAGE_SIZE}
        )
        for page in pages:
            for raw in page.get("PriceList", []):
                try:
                    product = json.loads(raw) if isinstance(raw, str) else raw
                except ValueError:
                    continue  # one unreadable product is not a price; the others still count
                if isinstance(product, Mapping):
                    yield product


def on_demand_rates(product: Mapping[str, Any], unit: str) -> list[Decimal]:
    """The positive USD rates of a product's OnDemand terms in `unit` (terms.OnDemand.<offer>.
    priceDimensions.<rate code>.pricePerUnit.USD, a decimal string like "0.0104000000")."""
    out = []
    for term in (product.get("terms", {}).get("OnDemand") or {}).values():
        for dimension in (term.get("priceDimensions") or {}).values():
            if dimension.get("unit") != unit:
                continue
            try:
                rate = Decimal(str((dimension.get("pricePerUnit") or {}).get("USD")))
            except InvalidOperation:
                continue
            if rate > 0 and rate.is_finite():
                out.append(rate.normalize())
    return out


def _describe(filters: list[dict[str, str]]) -> str:
    return " ".join(f"{f['Field']}={f['Value']}" for f in filters)
