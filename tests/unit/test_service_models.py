"""The trimmed service models (chalicelib/adapters/models/) are what the installed botocore gives, and hold
every operation ec2-warden calls."""

from __future__ import annotations

import ast
from pathlib import Path

import botocore.session
from botocore import xform_name

from chalicelib.adapters.clients import AwsClients
from chalicelib.adapters.service_models import MODELS_DIR, OPERATIONS
from chalicelib.model import Mode
from chalicelib.rules.permissions import permissions_for_mode
from devtools import service_models

CHALICELIB = Path(__file__).resolve().parents[2] / "chalicelib"

# API operations authorised under another IAM action's name.
IAM_ACTION_OF = {"sqs:SendMessageBatch": "sqs:SendMessage"}


def test_the_committed_models_are_what_the_installed_botocore_gives():
    # A botocore upgrade or a new operation in OPERATIONS: run `python -m devtools.service_models`.
    assert service_models.written() == service_models.trimmed_models()


def _called_operations() -> set[tuple[str, str]]:
    """(service, Operation) for every name in chalicelib that is an operation of a service we use:
    a method called on an object, or a string (paginator and helper names)."""
    session = botocore.session.get_session()
    by_name: dict[str, list[tuple[str, str]]] = {}
    for service in OPERATIONS:
        for op in session.get_service_model(service).operation_names:
            by_name.setdefault(xform_name(op), []).append((service, op))
    found: set[tuple[str, str]] = set()
    for path in CHALICELIB.rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            name = None
            if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute):
                name = node.func.attr
            elif isinstance(node, ast.Constant) and isinstance(node.value, str):
                name = node.value
            found.update(by_name.get(name or "", ()))
    return found


def test_every_operation_chalicelib_names_is_in_the_trimmed_models():
    called = _called_operations()
    assert ("ec2", "DescribeInstances") in called and ("ssm", "DescribeInstancePatchStates") in called
    # Names shared by several services (e.g. create_tags) count for the service that has them here.
    missing = {
        name
        for name in {xform_name(op) for _, op in called}
        if not any(xform_name(op) == name for ops in OPERATIONS.values() for op in ops)
    }
    assert missing == set(), f"add these to chalicelib/adapters/service_models.OPERATIONS: {sorted(missing)}"


def test_every_operation_is_authorised_by_a_declared_permission():
    declared = permissions_for_mode(Mode.ENFORCE)
    for service, operations in OPERATIONS.items():
        for op in operations:
            action = f"{service}:{op}"
            assert IAM_ACTION_OF.get(action, action) in declared, action


def test_a_product_client_holds_only_the_listed_operations_and_still_resolves_its_endpoint(monkeypatch):
    monkeypatch.delenv("AWS_ENDPOINT_URL", raising=False)
    clients = AwsClients("eu-west-1")
    for service, operations in OPERATIONS.items():
        client = clients.get(service)
        assert sorted(client.meta.service_model.operation_names) == sorted(operations), service
    ec2 = clients.ec2
    assert ec2.meta.endpoint_url == "https://ec2.eu-west-1.amazonaws.com"
    assert ec2.can_paginate("describe_instances")  # paginators come from botocore's own data
    assert str(MODELS_DIR) == ec2._loader.search_paths[0]


def test_the_trimmed_ec2_model_parses_what_the_full_one_parses():
    full = botocore.session.get_session().get_service_model("ec2")
    trimmed = AwsClients("eu-west-1").ec2.meta.service_model
    for op in OPERATIONS["ec2"]:
        ours, theirs = trimmed.operation_model(op), full.operation_model(op)
        assert ours.input_shape.members.keys() == theirs.input_shape.members.keys(), op
    ours = trimmed.operation_model("DescribeInstances").output_shape.members["Reservations"].member
    theirs = full.operation_model("DescribeInstances").output_shape.members["Reservations"].member
    assert ours.members["Instances"].member.members.keys() == theirs.members["Instances"].member.members.keys()
