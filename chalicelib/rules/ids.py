"""What an AWS account id, region name and EC2 resource id look like: one pattern each. Pure.

Events, settings, fan-out messages and Lambda ARNs are all checked against these, so a value
one of them accepts is accepted by all."""

from __future__ import annotations

import re
from typing import TypeGuard

ACCOUNT_ID_TEXT = r"\d{12}"
# us-east-1, eu-central-2, us-gov-west-1, cn-northwest-1, eu-isoe-west-1; a trailing letter too, as in
# the sample events AWS publishes in its documentation ("us-northeast-1r", tests/fixtures/published/).
REGION_TEXT = r"[a-z]{2}(?:-[a-z]+)+-\d+[a-z]?"
_RESOURCE_ID_TEXT = "{prefix}-[0-9a-f]{{8}}(?:[0-9a-f]{{9}})?"  # the 8- and the 17-character forms

ACCOUNT_ID = re.compile(rf"^{ACCOUNT_ID_TEXT}$")
REGION = re.compile(rf"^{REGION_TEXT}$")


def _resource(prefix: str) -> re.Pattern[str]:
    return re.compile("^" + _RESOURCE_ID_TEXT.format(prefix=prefix) + "$")


INSTANCE_ID = _resource("i")
SECURITY_GROUP_ID = _resource("sg")
NETWORK_INTERFACE_ID = _resource("eni")
VPC_ID = _resource("vpc")
SUBNET_ID = _resource("subnet")
# Unanchored: instance ids named inside an EC2 error message.
INSTANCE_ID_IN_TEXT = re.compile(r"\b" + _RESOURCE_ID_TEXT.format(prefix="i") + r"\b")


def is_account_id(value: object) -> TypeGuard[str]:
    return isinstance(value, str) and ACCOUNT_ID.match(value) is not None


def is_region(value: object) -> TypeGuard[str]:
    return isinstance(value, str) and REGION.match(value) is not None


def is_instance_id(value: object) -> TypeGuard[str]:
    return isinstance(value, str) and INSTANCE_ID.match(value) is not None


def instance_ids_in(text: str) -> set[str]:
    return set(INSTANCE_ID_IN_TEXT.findall(text))
