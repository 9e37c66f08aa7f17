"""DescribeInstances page by page without botocore's paginator (which keeps the last raw page alive
while it fetches the next): the same calls, the same instances, a looping token still an error.

moto pages DescribeInstances by reservation but never repeats a token, so the token cases use
botocore's Stubber with the response shape of the EC2 API reference."""

from __future__ import annotations

import boto3
import pytest
from botocore.exceptions import PaginationError
from botocore.stub import Stubber

from chalicelib.snapshot.ec2 import PAGE_SIZE, iter_all_instances, iter_instances_by_id

REGION = "eu-west-1"
ACCOUNT = "123456789012"


def _page(*ids: str, token: str | None = None) -> dict:
    reservations = [{"OwnerId": ACCOUNT, "Instances": [{"InstanceId": i, "State": {"Name": "running"}}]} for i in ids]
    page: dict = {"Reservations": reservations}
    if token:
        page["NextToken"] = token
    return page


def _stubbed():
    client = boto3.client("ec2", region_name=REGION, aws_access_key_id="x", aws_secret_access_key="x")
    return client, Stubber(client)


def test_a_sweep_follows_next_token_with_the_largest_page():
    # GIVEN two pages joined by a NextToken
    client, stub = _stubbed()
    stub.add_response("describe_instances", _page("i-1", "i-2", token="t1"), {"MaxResults": PAGE_SIZE})
    stub.add_response("describe_instances", _page("i-3"), {"MaxResults": PAGE_SIZE, "NextToken": "t1"})
    # WHEN every instance is read
    with stub:
        instances = list(iter_all_instances(client, REGION, None))
    # THEN both pages' instances, one call a page (the stub fails on any other call)
    assert [i.id for i in instances] == ["i-1", "i-2", "i-3"]
    assert {i.account for i in instances} == {ACCOUNT}
    stub.assert_no_pending_responses()


def test_a_read_by_id_filters_each_chunk_and_pages_within_it():
    client, stub = _stubbed()
    filters = [{"Name": "instance-id", "Values": ["i-1", "i-2"]}]
    stub.add_response("describe_instances", _page("i-1", token="t"), {"Filters": filters, "MaxResults": PAGE_SIZE})
    stub.add_response(
        "describe_instances", _page("i-2"), {"Filters": filters, "MaxResults": PAGE_SIZE, "NextToken": "t"}
    )
    with stub:
        assert [i.id for i in iter_instances_by_id(client, {"i-2", "i-1"}, REGION, ACCOUNT)] == ["i-1", "i-2"]
    stub.assert_no_pending_responses()


def test_a_token_that_comes_back_is_a_pagination_error_not_an_endless_sweep():
    # GIVEN a service that answers t1 -> t2 -> t1 ...
    client, stub = _stubbed()
    stub.add_response("describe_instances", _page("i-1", token="t1"), {"MaxResults": PAGE_SIZE})
    stub.add_response("describe_instances", _page("i-2", token="t2"), {"MaxResults": PAGE_SIZE, "NextToken": "t1"})
    stub.add_response("describe_instances", _page("i-3", token="t1"), {"MaxResults": PAGE_SIZE, "NextToken": "t2"})
    # THEN the read stops with botocore's PaginationError (an AWS error: the snapshot reports it)
    with stub, pytest.raises(PaginationError, match="same NextToken"):
        list(iter_all_instances(client, REGION, None))
    stub.assert_no_pending_responses()  # it read t1's page twice only to see the loop, then stopped
