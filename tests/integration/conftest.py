"""moto in process (mock_aws) for adapters and flows."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import boto3
import pytest
from moto import mock_aws

from chalicelib.adapters.clients import AwsClients

REGION = "us-east-1"


@pytest.fixture
def aws() -> Iterator[None]:
    with mock_aws():
        yield


@pytest.fixture
def ec2(aws: None) -> Any:
    return boto3.client("ec2", region_name=REGION)


@pytest.fixture
def securityhub(aws: None) -> Any:
    return boto3.client("securityhub", region_name=REGION)


@pytest.fixture
def clients(aws: None) -> AwsClients:
    return AwsClients(REGION, max_attempts=2)


# The world's clients above (boto3, botocore's full models) seed and inspect moto; `clients` is
# the product's, which holds only the operations ec2-warden calls (chalicelib/adapters/models/).
@pytest.fixture
def cloudwatch(aws: None) -> Any:
    return boto3.client("cloudwatch", region_name=REGION)


@pytest.fixture
def dynamodb(aws: None) -> Any:
    return boto3.client("dynamodb", region_name=REGION)
