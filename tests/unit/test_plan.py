"""plan_actions: what to post, what is unchanged, what to resolve — and never on missing facts."""

from __future__ import annotations

from dataclasses import replace

from chalicelib.model import ActionKind, CheckName, CheckResult, Finding, FindingStatus, Severity
from chalicelib.plan import plan_actions
from chalicelib.rules.asff import clip
from chalicelib.settings import load_settings
from tests.builders import ACCOUNT, NOW, REGION, instance, prior_finding, snapshot

SETTINGS = load_settings({})


def finding(resource_id: str = "i-00000001", severity: Severity = Severity.CRITICAL) -> Finding:
    return Finding(CheckName.PUBLIC_EXPOSURE, resource_id, ACCOUNT, REGION, severity, "t", "d", "fix it")


def result(findings=(), passed=(), not_evaluated=()) -> CheckResult:
    return CheckResult(CheckName.PUBLIC_EXPOSURE, tuple(findings), frozenset(passed), frozenset(not_evaluated))


def fid(resource_id: str) -> str:
    return f"ec2-warden/{ACCOUNT}/{REGION}/public-exposure/{resource_id}"


def test_without_prior_state_every_finding_is_unknown_and_planned():
    plan = plan_actions([result([finding()])], snapshot([instance()], []), SETTINGS, NOW)
    assert plan.statuses == {fid("i-00000001"): FindingStatus.UNKNOWN}
    assert [a.kind for a in plan.actions] == [ActionKind.IMPORT_FINDINGS]
    assert plan.resolutions == ()


def test_new_changed_unchanged_and_refreshed():
    prior = {
        fid("i-0000000b"): prior_finding(fid("i-0000000b"), "i-0000000b", severity=Severity.HIGH),
        fid("i-0000000c"): prior_finding(fid("i-0000000c"), "i-0000000c"),
        fid("i-0000000d"): prior_finding(fid("i-0000000d"), "i-0000000d", updated_at="2026-11-25T00:00:00Z"),
    }
    findings = [finding("i-0000000a"), finding("i-0000000b"), finding("i-0000000c"), finding("i-0000000d")]
    plan = plan_actions([result(findings)], snapshot([], [], prior=prior), SETTINGS, NOW)
    assert plan.statuses == {
        fid("i-0000000a"): FindingStatus.NEW,
        fid("i-0000000b"): FindingStatus.CHANGED,
        fid("i-0000000c"): FindingStatus.UNCHANGED,
        fid("i-0000000d"): FindingStatus.REFRESHED,
    }
    (imported,) = [a for a in plan.actions if a.kind is ActionKind.IMPORT_FINDINGS]
    assert set(imported.resource_ids) == {fid("i-0000000a"), fid("i-0000000b"), fid("i-0000000d")}


def test_a_long_description_is_compared_as_security_hub_holds_it():
    long = finding()
    long = replace(long, description="x" * 3000)
    prior = {long.id: prior_finding(long.id, "i-00000001", description=clip("x" * 3000, 1024))}
    plan = plan_actions([result([long])], snapshot([], [], prior=prior), SETTINGS, NOW)
    assert plan.statuses[long.id] is FindingStatus.UNCHANGED


def test_passing_instance_resolves_its_open_finding():
    prior = {fid("i-00000001"): prior_finding(fid("i-00000001"), "i-00000001")}
    plan = plan_actions([result(passed={"i-00000001"})], snapshot([instance()], [], prior=prior), SETTINGS, NOW)
    assert [r.finding_id for r in plan.resolutions] == [fid("i-00000001")]
    assert "now passes" in plan.resolutions[0].reason
    assert [a.kind for a in plan.actions] == [ActionKind.RESOLVE_FINDINGS]


def test_stopped_and_gone_instances_resolve_with_their_reason():
    prior = {fid(i): prior_finding(fid(i), i) for i in ("i-00000001", "i-00000002")}
    snap = snapshot([instance("i-00000001", state="stopped")], [], prior=prior, is_sweep=False, missing=("i-00000002",))
    plan = plan_actions([result(passed={"i-00000001", "i-00000002"})], snap, SETTINGS, NOW)
    reasons = {r.resource_id: r.reason for r in plan.resolutions}
    assert reasons == {"i-00000001": "the instance is stopped", "i-00000002": "the instance no longer exists"}


def test_not_evaluated_never_resolves():
    prior = {fid("i-00000001"): prior_finding(fid("i-00000001"), "i-00000001")}
    plan = plan_actions([result(not_evaluated={"i-00000001"})], snapshot([instance()], [], prior=prior), SETTINGS, NOW)
    assert plan.resolutions == () and plan.actions == ()


def test_a_sweep_resolves_findings_of_instances_that_no_longer_exist():
    prior = {fid("i-0000dead"): prior_finding(fid("i-0000dead"), "i-0000dead")}
    sweep = plan_actions([result()], snapshot([], [], prior=prior, is_sweep=True), SETTINGS, NOW)
    event = plan_actions([result()], snapshot([], [], prior=prior, is_sweep=False), SETTINGS, NOW)
    assert [r.reason for r in sweep.resolutions] == ["the instance no longer exists"]
    assert event.resolutions == ()


def test_still_failing_is_never_resolved_and_other_checks_are_left_alone():
    prior = {
        fid("i-00000001"): prior_finding(fid("i-00000001"), "i-00000001"),
        "other": prior_finding("other", "i-00000002", check="some-other-check"),
    }
    plan = plan_actions(
        [result([finding()], passed={"i-00000002"})],
        snapshot([instance(), instance("i-00000002")], [], prior=prior),
        SETTINGS,
        NOW,
    )
    assert plan.resolutions == ()


def test_the_plan_does_not_depend_on_the_order_of_results():
    findings = [finding("i-0000000a", Severity.MEDIUM), finding("i-0000000b"), finding("i-0000000c", Severity.HIGH)]
    one = plan_actions([result(findings)], snapshot([], [], prior={}), SETTINGS, NOW)
    two = plan_actions([result(list(reversed(findings)))], snapshot([], [], prior={}), SETTINGS, NOW)
    assert one == two
    assert [f.severity for f in one.findings] == [Severity.CRITICAL, Severity.HIGH, Severity.MEDIUM]


def test_the_report_names_the_resources_an_action_failed_for():
    from chalicelib.model import ActionOutcome, Mode, Report

    report = Report(mode=Mode.NOTIFY, trigger="sweep", account=ACCOUNT, region=REGION)
    report.actions.append(
        ActionOutcome(ActionKind.IMPORT_FINDINGS, ("a", "b"), done=True, error="1 of 2 failed", failed_ids=("b",))
    )
    (action,) = report.to_dict()["actions"]
    assert action["failed_ids"] == ["b"] and action["done"] is True
