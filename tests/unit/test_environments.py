"""Environment claims (by tag) and network placement (by the settings' map)."""

from __future__ import annotations

import pytest

from chalicelib.model import Instance
from chalicelib.rules.environments import Environment, Zone, claim_of, placement_of
from chalicelib.settings import Settings

PROD_VPC = "vpc-0aaaaaaaaaaaaaaaa"
LAB_VPC = "vpc-0bbbbbbbbbbbbbbbb"
OTHER_VPC = "vpc-0cccccccccccccccc"
PROD_SUBNET = "subnet-0aaaaaaaaaaaaaaaa"


def box(tags=None, *, vpc=OTHER_VPC, subnet="subnet-0ffffffffffffffff", account="111122223333") -> Instance:
    return Instance(
        id="i-0123456789abcdef0", state="running", account=account, region="eu-west-1",
        vpc_id=vpc, subnet_id=subnet, tags=tags or {},
    )  # fmt: skip


@pytest.mark.parametrize(
    ("tags", "expected", "value"),
    [
        ({"Environment": "production"}, Environment.PRODUCTION, "production"),
        ({"Environment": " PROD "}, Environment.PRODUCTION, " PROD "),
        ({"Environment": "lab"}, Environment.NON_PRODUCTION, "lab"),
        ({"environment": "Dev"}, Environment.NON_PRODUCTION, "Dev"),  # the key's case cannot hide a lab VM
        ({"Environment": "uat"}, Environment.UNRECOGNISED, "uat"),
        ({"Environment": "  "}, Environment.UNTAGGED, None),
        ({}, Environment.UNTAGGED, None),
    ],
)
def test_claim_comes_from_the_environment_tag(tags, expected, value):
    claim = claim_of(box(tags), Settings())
    assert claim.environment is expected
    assert claim.value == value


def test_the_exact_tag_key_wins_over_a_case_variant():
    claim = claim_of(box({"Environment": "production", "ENVIRONMENT": "lab"}), Settings())
    assert claim.environment is Environment.PRODUCTION


def test_no_map_means_no_network_is_judged():
    assert placement_of(box(), Settings()).zone is Zone.UNMAPPED


def test_most_specific_declaration_wins():
    settings = Settings(
        production_accounts=("111122223333",),
        production_subnets=(PROD_SUBNET,),
        production_vpcs=(PROD_VPC,),
        non_production_vpcs=(LAB_VPC,),
    )
    # A production subnet inside a lab VPC is production; a lab VPC inside a production account is not.
    assert placement_of(box(vpc=LAB_VPC, subnet=PROD_SUBNET), settings).zone is Zone.PRODUCTION
    assert placement_of(box(vpc=LAB_VPC), settings).zone is Zone.NON_PRODUCTION
    assert placement_of(box(vpc=PROD_VPC), settings).zone is Zone.PRODUCTION
    assert placement_of(box(vpc=OTHER_VPC), settings).zone is Zone.PRODUCTION  # by account
    placed = placement_of(box(vpc=PROD_VPC), settings)
    assert "PRODUCTION_VPCS" in placed.reason


def test_outside_a_declared_map_is_non_production():
    settings = Settings(production_vpcs=(PROD_VPC,))
    placed = placement_of(box(vpc=OTHER_VPC), settings)
    assert placed.zone is Zone.NON_PRODUCTION
    assert "outside every declared production" in placed.reason
