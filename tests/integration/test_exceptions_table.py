"""Approved exceptions in DynamoDB under moto: the CLI writes them (conditional put, approver
required, end date capped), every run reads them with one Scan, and one waives exactly its check on
exactly its instance; an unreadable table waives nothing and is reported."""

from __future__ import annotations

import io
import json
from datetime import timedelta

import pytest
from cfnlint.decode import decode

from chalicelib.cli import main
from chalicelib.events.scope import sweep_scope
from chalicelib.model import CheckName, Mode
from chalicelib.pipeline import run
from chalicelib.settings import Settings
from devtools.idle_fleet import seed_idle_fleet
from tests.deploy.project import INFRA_DIR
from tests.integration.test_idle_pipeline import NOW, PAST_DEADLINE

pytestmark = pytest.mark.usefixtures("ssm_manages_every_instance")
REGION = "us-east-1"
TABLE = "ec2-warden-dev-exceptions"


@pytest.fixture
def table(dynamodb):
    """The table as infra/state.yaml declares it (keys read from the template)."""
    template, errors = decode(str(INFRA_DIR / "state.yaml"))
    assert not errors
    props = template["Resources"]["ExceptionsTable"]["Properties"]
    dynamodb.create_table(
        TableName=TABLE,
        AttributeDefinitions=[dict(a) for a in props["AttributeDefinitions"]],
        KeySchema=[dict(k) for k in props["KeySchema"]],
        BillingMode="PAY_PER_REQUEST",
    )
    return TABLE


def cli(*args: str) -> tuple[int, str, str]:
    out, err = io.StringIO(), io.StringIO()
    code = main(["exception", *args, "--table", TABLE, "--region", REGION, "--now", NOW.isoformat()], out, err)
    return code, out.getvalue(), err.getvalue()


def add(target: str, check: str = "idle", until: str | None = None, approver: str = "sec-lead") -> tuple[int, str, str]:
    until = until or (NOW + timedelta(days=10)).date().isoformat()
    return cli(
        "add", "--target", target, "--check", check, "--until", until,
        "--reason", "migration window", "--requester", "ana@example.com", "--approver", approver,
    )  # fmt: skip


def test_the_cli_adds_lists_and_removes_with_conditional_writes(table):
    code, out, _ = add("i-0123456789abcdef0")
    assert code == 0
    added = json.loads(out)
    assert (added["state"], added["check"], added["approver"], added["age_days"]) == ("added", "idle", "sec-lead", 0)
    code, _, err = add("i-0123456789abcdef0")
    assert code == 2 and "already has an exception" in err
    code, out, _ = cli("list")
    [listed] = [json.loads(line) for line in out.splitlines()]
    assert listed["state"] == "active" and listed["reason"] == "migration window" and listed["days_left"] == 10
    code, out, _ = cli("remove", "--target", "i-0123456789abcdef0", "--check", "idle")
    assert code == 0 and json.loads(out)["state"] == "removed"
    code, _, err = cli("remove", "--target", "i-0123456789abcdef0", "--check", "idle")
    assert code == 2 and "no exception" in err
    assert cli("list")[1] == ""


@pytest.mark.parametrize(
    ("args", "why"),
    [
        ({"approver": "ANA@example.com"}, "approver must not be the requester"),
        ({"until": (NOW + timedelta(days=120)).date().isoformat()}, "EXCEPTION_MAX_DAYS=90"),
        ({"until": (NOW - timedelta(days=1)).date().isoformat()}, "already passed"),
        ({"until": "31.12.2026"}, "YYYY-MM-DD"),
    ],
)
def test_the_cli_refuses_an_unaccountable_or_unbounded_exception(table, args, why):
    code, out, err = add("i-0123456789abcdef0", **args)
    assert code == 2 and why in err and out == ""
    assert cli("list")[1] == ""


def test_a_group_exception_is_for_public_exposure_only(table):
    code, _, err = add("sg-0123456789abcdef0", check="all")
    assert code == 2 and "public-exposure only" in err
    assert add("sg-0123456789abcdef0", check="public-exposure")[0] == 0


def _sweep(clients, **extra):
    settings = Settings(mode=Mode.AUDIT, checks=(CheckName.IDLE.value,), cost_estimates=False, **extra)
    return run(sweep_scope(region=REGION), settings, clients, NOW)


def test_an_approved_exception_waives_exactly_its_check_on_its_instance(clients, ec2, cloudwatch, table):
    fleet = seed_idle_fleet(ec2, cloudwatch, until=PAST_DEADLINE)
    box, other = fleet.instances["forgotten-lab-box"], fleet.instances["protected-idle"]
    assert add(box)[0] == 0
    assert add(other, check="launch-hygiene")[0] == 0  # another check: waives no idle finding
    report = _sweep(clients, exceptions_table=TABLE)
    idle = {f.resource_id for f in report.findings if f.check is CheckName.IDLE}
    assert box not in idle and other in idle
    [waived] = report.exceptions["waived"]
    assert (waived["resource_id"], waived["check"]) == (box, "idle")
    assert {e["source"] for e in report.exceptions["active"]} == {"approved"}
    assert report.api_calls["dynamodb:Scan"] == 1


def test_an_unreadable_table_waives_nothing_and_is_reported(clients, ec2, cloudwatch):
    fleet = seed_idle_fleet(ec2, cloudwatch, until=PAST_DEADLINE)
    report = _sweep(clients, exceptions_table="ec2-warden-dev-missing")
    assert fleet.instances["forgotten-lab-box"] in {f.resource_id for f in report.findings}
    assert any(e.where == "dynamodb:Scan" and "ResourceNotFound" in e.message for e in report.errors)
