"""A small honest extension of moto's STS for tests and the demo: AssumeRole of a missing role.

moto hands out credentials for any role ARN ("the role does not need to exist"); AWS answers
AccessDenied when the role is missing (or does not trust the caller). Inside `roles_must_exist()`
moto checks that the role exists in its account first. It patches moto's backend, so it works in
process (mock_aws) and for a ThreadedMotoServer in the same process alike."""

from __future__ import annotations

import warnings
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any
from unittest import mock

from moto.core.exceptions import ServiceException
from moto.iam.exceptions import NotFoundException
from moto.iam.models import iam_backends
from moto.sts.models import STSBackend


class _AccessDenied(ServiceException):
    code = "AccessDenied"


CALLER = "arn:aws:sts::123456789012:assumed-role/ec2-warden-dev/sweep_worker"


@contextmanager
def roles_must_exist(caller: str = CALLER) -> Iterator[None]:
    original = STSBackend.assume_role

    def assume_role(self: STSBackend, **kwargs: Any) -> Any:
        role_arn = kwargs["role_arn"]
        account, name = role_arn.split(":")[4], role_arn.rsplit("/", 1)[-1]
        try:
            iam_backends[account]["global"].get_role(name)
        except NotFoundException:
            raise _AccessDenied(
                f"User: {caller} is not authorized to perform: sts:AssumeRole on resource: {role_arn}"
            ) from None
        return original(self, **kwargs)

    with mock.patch.object(STSBackend, "assume_role", assume_role), warnings.catch_warnings():
        # moto notes that STS's model has no AccessDenied shape; AWS sends that code all the same.
        warnings.filterwarnings("ignore", message=r"Exception\(_AccessDenied\)")
        yield
