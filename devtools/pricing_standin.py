"""A local stand-in for the AWS Price List API's GetProducts, for the demo and flow tests.

moto has no Pricing API. This is a real HTTP server on 127.0.0.1 that speaks GetProducts' JSON
protocol (POST, X-Amz-Target: AWSPriceListService.GetProducts) and answers from a fixed price
table, in the documented response shape: {"FormatVersion": "aws_v1", "PriceList": [<JSON
string>, ...], "NextToken": ...}, each string one product with its attributes and its OnDemand
terms (docs.aws.amazon.com/awsaccountbilling/latest/aboutv2/reading-service-price-list-file-
for-services.html). Filters are applied as the API does: TERM_MATCH an exact attribute value
(productFamily included), CONTAINS a substring. botocore reaches it through
AWS_ENDPOINT_URL_PRICING (also under mock_aws, which passes unknown services through).

    with PricingStandIn([ec2_product("eu-west-1", "t3.micro", "0.0114")]) as prices:
        env["AWS_ENDPOINT_URL_PRICING"] = prices.url

Never imported by chalicelib."""

from __future__ import annotations

import json
import threading
import zlib
from collections.abc import Iterable
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

_SERVICES = {"AmazonEC2", "AmazonVPC"}
_USAGE_PREFIX = {"eu-west-1": "EU", "us-east-1": "USE1", "eu-central-1": "EUC1", "us-west-2": "USW2"}


def _product(service: str, sku: str, family: str | None, attributes: dict[str, str], unit: str, usd: str) -> dict:
    offer, rate = "JRTCKXETXF", "6YS6EN2CT7"  # the OnDemand offer term code and a rate code, as published
    product: dict[str, Any] = {"sku": sku, "attributes": {**attributes, "servicecode": service}}
    if family:
        product["productFamily"] = family
    return {
        "product": product,
        "serviceCode": service,
        "terms": {
            "OnDemand": {
                f"{sku}.{offer}": {
                    "priceDimensions": {
                        f"{sku}.{offer}.{rate}": {
                            "unit": unit,
                            "endRange": "Inf",
                            "description": f"${usd} per {unit}",
                            "appliesTo": [],
                            "rateCode": f"{sku}.{offer}.{rate}",
                            "beginRange": "0",
                            "pricePerUnit": {"USD": usd},
                        }
                    },
                    "sku": sku,
                    "effectiveDate": "2026-11-01T00:00:00Z",
                    "offerTermCode": offer,
                    "termAttributes": {},
                }
            }
        },
        "version": "20261101000000",
        "publicationDate": "2026-11-01T00:00:00Z",
    }


def ec2_product(
    region: str, instance_type: str, usd_hourly: str, *, os: str = "Linux", tenancy: str = "Shared"
) -> dict[str, Any]:
    prefix = _USAGE_PREFIX.get(region, region)
    box = {"Shared": "BoxUsage", "Dedicated": "DedicatedUsage", "Host": "HostUsage"}[tenancy]
    return _product(
        "AmazonEC2",
        f"SKU{zlib.crc32(f'{region}|{instance_type}|{os}|{tenancy}'.encode()):010d}",
        "Compute Instance",
        {
            "regionCode": region,
            "instanceType": instance_type,
            "operatingSystem": os,
            "tenancy": tenancy,
            "preInstalledSw": "NA",
            "capacitystatus": "Used",
            "licenseModel": "No License required",
            "marketoption": "OnDemand",
            "usagetype": f"{prefix}-{box}:{instance_type}",
            "operation": "RunInstances" if os == "Linux" else "RunInstances:0002",
        },
        "Hrs",
        usd_hourly,
    )


def ebs_product(region: str, volume_type: str, usd_gb_month: str) -> dict[str, Any]:
    prefix = _USAGE_PREFIX.get(region, region)
    return _product(
        "AmazonEC2",
        f"SKUEBS{zlib.crc32(f'{region}|{volume_type}'.encode()):010d}",
        "Storage",
        {"regionCode": region, "volumeApiName": volume_type, "usagetype": f"{prefix}-EBS:VolumeUsage.{volume_type}"},
        "GB-Mo",
        usd_gb_month,
    )


def ipv4_product(region: str, usd_hourly: str, *, idle: bool = False) -> dict[str, Any]:
    prefix = _USAGE_PREFIX.get(region, region)
    kind = "IdleAddress" if idle else "InUseAddress"
    return _product(
        "AmazonVPC",
        f"SKUIP{zlib.crc32(f'{region}|{kind}'.encode()):010d}",
        None,  # the public IPv4 charge carries no productFamily in the Price List
        {"regionCode": region, "usagetype": f"{prefix}-PublicIPv4:{kind}", "group": "VPCPublicIPv4Address"},
        "Hrs",
        usd_hourly,
    )


def _matches(product: dict[str, Any], service: str, filters: Iterable[dict[str, str]]) -> bool:
    if product["serviceCode"] != service:
        return False
    attributes = {**product["product"]["attributes"], "productFamily": product["product"].get("productFamily", "")}
    for f in filters:
        value = attributes.get(f["Field"])
        if value is None:
            return False
        if f["Type"] == "TERM_MATCH" and value != f["Value"]:
            return False
        if f["Type"] == "CONTAINS" and f["Value"] not in value:
            return False
    return True


class PricingStandIn:
    def __init__(self, products: Iterable[dict[str, Any]] = (), *, page_size: int = 100) -> None:
        self.products = list(products)
        self.page_size = page_size
        self.requests: list[dict[str, Any]] = []
        self.fail_with: tuple[int, str, str] | None = None  # (HTTP status, error code, message)
        self._server: ThreadingHTTPServer | None = None
        self._lock = threading.Lock()

    def start(self) -> PricingStandIn:
        standin = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = json.loads(self.rfile.read(int(self.headers.get("Content-Length") or 0)) or b"{}")
                target = self.headers.get("X-Amz-Target", "")
                status, answer = standin._answer(target, body)
                data = json.dumps(answer).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/x-amz-json-1.1")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def log_message(self, format: str, *args: Any) -> None:
                pass

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._server.daemon_threads = True
        threading.Thread(target=self._server.serve_forever, name="pricing-standin", daemon=True).start()
        return self

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None

    def __enter__(self) -> PricingStandIn:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    @property
    def url(self) -> str:
        assert self._server is not None, "the stand-in is not running"
        return f"http://127.0.0.1:{self._server.server_address[1]}"

    def _answer(self, target: str, body: dict[str, Any]) -> tuple[int, dict[str, Any]]:
        with self._lock:
            self.requests.append(body)
            if self.fail_with is not None:
                status, code, message = self.fail_with
                return status, {"__type": code, "message": message}
        if target != "AWSPriceListService.GetProducts":
            return 400, {"__type": "UnknownOperationException", "message": target}
        if body.get("ServiceCode") not in _SERVICES:
            return 400, {"__type": "InvalidParameterException", "message": "unknown ServiceCode"}
        found = [p for p in self.products if _matches(p, body["ServiceCode"], body.get("Filters", []))]
        start = int(body.get("NextToken") or 0)
        size = min(int(body.get("MaxResults") or self.page_size), self.page_size)
        page = found[start : start + size]
        answer: dict[str, Any] = {"FormatVersion": "aws_v1", "PriceList": [json.dumps(p) for p in page]}
        if start + size < len(found):
            answer["NextToken"] = str(start + size)
        return 200, answer


def demo_prices(region: str) -> list[dict[str, Any]]:
    """A small list-price table for the demo's fleet (illustrative figures in the Price List's shape)."""
    products = [ebs_product(region, "gp2", "0.1000000000"), ebs_product(region, "gp3", "0.0800000000")]
    products.append(ipv4_product(region, "0.0050000000"))
    for instance_type, linux, windows in (
        ("t2.micro", "0.0116", "0.0162"),
        ("t3.micro", "0.0104", "0.0196"),
        ("t3.small", "0.0208", "0.0392"),
        ("m5.large", "0.0960", "0.1880"),
        ("m1.small", "0.0440", "0.0750"),
    ):
        products.append(ec2_product(region, instance_type, linux))
        products.append(ec2_product(region, instance_type, windows, os="Windows"))
    return products
