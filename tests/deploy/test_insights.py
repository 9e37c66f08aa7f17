"""infra/insights.yaml: the Security Hub insights select exactly ec2-warden's findings, by the names
chalicelib/rules/asff.py writes them under (cfn-lint runs on it in test_infra.py with every template)."""

from __future__ import annotations

from datetime import UTC, datetime

from cfnlint.decode import decode

from chalicelib.model import CheckName, Finding, Severity
from chalicelib.rules.asff import GENERATOR_PREFIX, PRODUCT_NAME, finding_to_asff, generator_id

from .project import INFRA_DIR

NOW = datetime(2026, 12, 1, tzinfo=UTC)


def _insights() -> dict:
    template, errors = decode(str(INFRA_DIR / "insights.yaml"))
    assert not errors
    return {k: v["Properties"] for k, v in template["Resources"].items() if v["Type"] == "AWS::SecurityHub::Insight"}


def _matches(asff: dict, filters: dict) -> bool:
    """The string filters these insights use (EQUALS / PREFIX, values of one field OR'd), on the
    ASFF fields they name."""
    fields = {
        "ProductName": asff["ProductName"],
        "GeneratorId": asff["GeneratorId"],
        "RecordState": asff["RecordState"],
        "ComplianceStatus": asff["Compliance"]["Status"],
        "WorkflowStatus": (asff.get("Workflow") or {}).get("Status", "NEW"),  # Security Hub sets NEW
    }
    for name, values in filters.items():
        value = fields[name]
        if not any(
            value == v["Value"] if v["Comparison"] == "EQUALS" else value.startswith(v["Value"]) for v in values
        ):
            return False
    return True


def _asff(check: CheckName) -> dict:
    return finding_to_asff(
        Finding(check, "i-0123456789abcdef0", "111122223333", "eu-west-1", Severity.HIGH, "t", "d", "r"), NOW
    )


def test_the_four_insights_group_as_the_deploy_guide_says():
    insights = _insights()
    assert {k: v["GroupByAttribute"] for k, v in insights.items()} == {
        "OpenFindingsByCheck": "GeneratorId",
        "OpenFindingsByAccount": "AwsAccountId",
        "ExposedInstancesBySeverity": "SeverityLabel",
        "IdleInstances": "ResourceId",
    }
    for insight in insights.values():
        assert insight["Filters"]["ProductName"] == [{"Value": PRODUCT_NAME, "Comparison": "EQUALS"}]


def test_each_insight_selects_the_findings_ec2_warden_writes_and_no_others():
    insights = _insights()
    every_check = {check: _asff(check) for check in CheckName}
    selected = {
        name: {check for check, asff in every_check.items() if _matches(asff, insight["Filters"])}
        for name, insight in insights.items()
    }
    assert selected["OpenFindingsByCheck"] == set(CheckName)
    assert selected["OpenFindingsByAccount"] == set(CheckName)
    assert selected["ExposedInstancesBySeverity"] == {CheckName.PUBLIC_EXPOSURE}
    assert selected["IdleInstances"] == {CheckName.IDLE}
    # a resolved finding, or another tool's, is in none of them
    resolved = {**every_check[CheckName.IDLE], "RecordState": "ARCHIVED", "Compliance": {"Status": "PASSED"}}
    other = {**every_check[CheckName.IDLE], "ProductName": "Other", "GeneratorId": "other/idle"}
    assert not any(_matches(f, i["Filters"]) for f in (resolved, other) for i in insights.values())
    assert generator_id("idle").startswith(GENERATOR_PREFIX)


def test_the_deploy_guide_says_where_to_find_the_insights():
    guide = (INFRA_DIR.parent / "docs" / "DEPLOY.md").read_text()
    assert "infra/insights.yaml" in guide
    assert all(v["Name"] in guide for v in _insights().values())
