"""The benchmark's counting proxy names each AWS request as boto3 names the call (bench/proxy.py)."""

from __future__ import annotations

import pytest

from bench.proxy import operation_of


def _auth(service: str) -> str:
    return (
        f"AWS4-HMAC-SHA256 Credential=bench/20260131/eu-west-1/{service}/aws4_request, SignedHeaders=host, Signature=x"
    )


@pytest.mark.parametrize(
    ("method", "path", "headers", "body", "expected"),
    [
        # EC2 and STS: query protocols, the action in the form body
        (
            "POST",
            "/",
            {"content-type": "application/x-www-form-urlencoded"},
            b"Action=DescribeInstances&Version=1",
            "ec2:DescribeInstances",
        ),
        (
            "POST",
            "/",
            {"content-type": "application/x-www-form-urlencoded; charset=utf-8"},
            b"Version=1&Action=GetCallerIdentity",
            "sts:GetCallerIdentity",
        ),
        # the action in the query string
        ("GET", "/?Action=DescribeSecurityGroups&Version=1", {}, b"", "ec2:DescribeSecurityGroups"),
        # CloudWatch in botocore >= 1.38: Smithy RPC v2 CBOR, the operation in the path; signing name monitoring
        (
            "POST",
            "/service/GraniteServiceVersion20100801/operation/GetMetricData",
            {},
            b"\xbf",
            "cloudwatch:GetMetricData",
        ),
        # JSON protocols: X-Amz-Target
        (
            "POST",
            "/",
            {"x-amz-target": "AmazonSSM.DescribeInstanceInformation"},
            b"{}",
            "ssm:DescribeInstanceInformation",
        ),
        # REST: Security Hub's routes
        ("POST", "/findings/import", {}, b"{}", "securityhub:BatchImportFindings"),
        ("PATCH", "/findings/batchupdate", {}, b"{}", "securityhub:BatchUpdateFindings"),
    ],
)
def test_names_each_protocol_as_boto3_does(method, path, headers, body, expected):
    # GIVEN a request signed for the service
    service = expected.split(":")[0]
    signing = {"cloudwatch": "monitoring"}.get(service, service)
    # WHEN the proxy names it THEN it is "service:Operation"
    assert operation_of(method, path, {"authorization": _auth(signing), **headers}, body) == expected


def test_an_unknown_rest_route_is_named_by_method_and_path():
    assert operation_of("GET", "/things/1", {"authorization": _auth("securityhub")}, b"") == "securityhub:GET /things/1"
