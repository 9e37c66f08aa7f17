"""Chalice's test client runs app.py's handlers with a stage's environment (set only during invoke)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import boto3
import pytest
from chalice.test import Client
from moto import mock_aws

import app as warden_app
from chalicelib.runtime import entry
from devtools.chalice_context import lambda_timeout
from tests.conftest import PROJECT_DIR


@pytest.fixture
def aws() -> Iterator[None]:
    entry._CLIENTS.clear()  # clients cached by a warm Lambda must not leak between tests
    with mock_aws():
        yield
    entry._CLIENTS.clear()


@pytest.fixture
def lambda_client(aws: None) -> Iterator[Client]:
    with (
        lambda_timeout(PROJECT_DIR, "dev"),
        Client(warden_app.app, stage_name="dev", project_dir=str(PROJECT_DIR)) as client,
    ):
        yield client


@pytest.fixture
def ec2(aws: None) -> Any:
    return boto3.client("ec2", region_name="us-east-1")


@pytest.fixture
def securityhub(aws: None) -> Any:
    return boto3.client("securityhub", region_name="us-east-1")
