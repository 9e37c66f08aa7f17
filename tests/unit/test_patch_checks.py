"""ssm-unmanaged and patch-noncompliant over hand-built snapshots (no AWS)."""

from datetime import UTC, datetime, timedelta

import pytest

from chalicelib.checks.patching import detect_patch_noncompliant
from chalicelib.checks.ssm import detect_ssm_unmanaged
from chalicelib.model import Instance, PatchRun, PatchState, Severity, Snapshot, SsmInstanceInfo
from chalicelib.rules.patch_tag import PATCH_REQUESTED_TAG, format_patch_request
from chalicelib.settings import Settings

pytestmark = pytest.mark.disable_socket

NOW = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)
OLD = NOW - timedelta(days=3)


def instance(iid="i-0123456789abcdef0", *, state="running", launched=OLD, tags=None, profile=None) -> Instance:
    return Instance(
        id=iid,
        state=state,
        account="123456789012",
        region="us-east-1",
        launch_time=launched,
        tags=tags or {},
        iam_instance_profile_arn=profile,
    )


def online(iid="i-0123456789abcdef0", ping="Online") -> SsmInstanceInfo:
    return SsmInstanceInfo(iid, ping, "Linux", "3.3.0.0", NOW - timedelta(minutes=2))


def patch_state(iid="i-0123456789abcdef0", *, scanned=NOW - timedelta(hours=5), **counts) -> PatchState:
    return PatchState(instance_id=iid, operation="Scan", operation_end_time=scanned, **counts)


def snapshot(instances, ssm=None, states=None, runs=None, *, missing=()) -> Snapshot:
    return Snapshot(
        account="123456789012",
        region="us-east-1",
        taken_at=NOW,
        is_sweep=True,
        instances=tuple(instances),
        security_groups={},
        missing_instance_ids=tuple(missing),
        ssm_info=ssm,
        patch_states=states,
        patch_runs=runs or {},
    )


# --- ssm-unmanaged -------------------------------------------------------------------------------


def test_unknown_to_ssm_after_the_grace_is_a_finding_with_the_likely_cause():
    # GIVEN a running dev instance, 3 days old, without an instance profile, that SSM does not know
    snap = snapshot([instance(tags={"Environment": "dev"})], ssm={})
    # WHEN the check runs
    result = detect_ssm_unmanaged(snap, Settings(), NOW)
    # THEN it is a MEDIUM finding that names the missing instance profile and the managed policy
    (finding,) = result.findings
    assert finding.severity is Severity.MEDIUM
    assert "no IAM instance profile" in finding.description
    assert "AmazonSSMManagedInstanceCore" in finding.remediation
    assert "endpoints" in finding.remediation


@pytest.mark.parametrize("env", ["prod", "Production", " PROD "])
def test_production_instances_are_high(env):
    snap = snapshot([instance(tags={"Environment": env})], ssm={})
    (finding,) = detect_ssm_unmanaged(snap, Settings(), NOW).findings
    assert finding.severity is Severity.HIGH


def test_environment_tag_and_values_come_from_settings():
    settings = Settings(environment_tag="Stage", production_environments=("live",))
    snap = snapshot([instance(tags={"Stage": "live", "Environment": "dev"})], ssm={})
    (finding,) = detect_ssm_unmanaged(snap, settings, NOW).findings
    assert finding.severity is Severity.HIGH


def test_connection_lost_is_a_finding_and_online_passes():
    a, b = "i-0000000000000000a", "i-0000000000000000b"
    snap = snapshot(
        [instance(a, profile="arn:aws:iam::123456789012:instance-profile/web"), instance(b)],
        ssm={a: online(a, "ConnectionLost"), b: online(b)},
    )
    result = detect_ssm_unmanaged(snap, Settings(), NOW)
    (finding,) = result.findings
    assert finding.resource_id == a
    assert "ConnectionLost" in finding.title
    assert "instance-profile/web" in finding.description
    assert result.passed == {b}


def test_young_instances_get_the_registration_grace_and_no_verdict():
    # GIVEN an instance launched 10 minutes ago (grace 30) and one launched 31 minutes ago
    young, grown = "i-0000000000000000a", "i-0000000000000000b"
    snap = snapshot(
        [instance(young, launched=NOW - timedelta(minutes=10)), instance(grown, launched=NOW - timedelta(minutes=31))],
        ssm={},
    )
    result = detect_ssm_unmanaged(snap, Settings(), NOW)
    # THEN only the older one is flagged; the young one is neither flagged nor passed (no resolution)
    assert [f.resource_id for f in result.findings] == [grown]
    assert young not in result.passed
    assert result.skipped == {"within the SSM registration grace": 1}


def test_unread_ssm_facet_means_not_evaluated():
    result = detect_ssm_unmanaged(snapshot([instance()], ssm=None), Settings(), NOW)
    assert result.findings == ()
    assert result.not_evaluated == {"i-0123456789abcdef0"}


def test_stopped_and_gone_instances_pass():
    snap = snapshot([instance(state="stopped")], ssm={}, missing=["i-0000000000000dead"])
    result = detect_ssm_unmanaged(snap, Settings(), NOW)
    assert result.findings == ()
    assert result.passed == {"i-0123456789abcdef0", "i-0000000000000dead"}


# --- patch-noncompliant --------------------------------------------------------------------------

IID = "i-0123456789abcdef0"


def judge(state=None, *, run=None, tags=None, launched=OLD, settings=None):
    snap = snapshot(
        [instance(tags=tags, launched=launched)],
        ssm={IID: online()},
        states={IID: state} if state else {},
        runs={IID: run} if run else {},
    )
    return detect_patch_noncompliant(snap, settings or Settings(), NOW)


def test_compliant_and_freshly_scanned_passes():
    result = judge(patch_state(installed_count=100))
    assert result.findings == ()
    assert result.passed == {IID}


@pytest.mark.parametrize(
    ("counts", "severity", "code"),
    [
        ({"critical_non_compliant_count": 1, "missing_count": 1}, Severity.HIGH, "security-missing"),
        ({"security_non_compliant_count": 2, "missing_count": 2}, Severity.HIGH, "security-missing"),
        ({"failed_count": 1}, Severity.HIGH, "failed"),
        ({"missing_count": 4, "other_non_compliant_count": 4}, Severity.MEDIUM, "missing"),
        ({"installed_pending_reboot_count": 3}, Severity.MEDIUM, "pending-reboot"),
        ({"installed_rejected_count": 1}, Severity.MEDIUM, "rejected-installed"),
    ],
)
def test_severity_follows_what_is_missing(counts, severity, code):
    (finding,) = judge(patch_state(**counts)).findings
    assert finding.severity is severity
    assert finding.details["reasons"][0] == code


def test_stale_scan_alone_is_low_and_says_how_old():
    (finding,) = judge(patch_state(scanned=NOW - timedelta(days=9))).findings
    assert finding.severity is Severity.LOW
    assert finding.details["reasons"] == ["stale-scan"]
    assert "9 days old" in finding.description


def test_scan_age_limit_comes_from_settings():
    state = patch_state(scanned=NOW - timedelta(days=9))
    assert judge(state, settings=Settings(patch_scan_max_age_days=10)).findings == ()


def test_unknown_scan_time_is_not_compliant():
    (finding,) = judge(patch_state(scanned=None)).findings
    assert finding.details["reasons"] == ["stale-scan"]


def test_a_managed_instance_never_scanned_is_low_once_past_the_grace():
    (finding,) = judge(None).findings
    assert finding.severity is Severity.LOW
    assert finding.details["reasons"] == ["never-scanned"]


def test_a_young_instance_awaiting_its_first_scan_gets_no_verdict():
    result = judge(None, launched=NOW - timedelta(minutes=5))
    assert result.findings == ()
    assert IID not in result.passed
    assert result.skipped == {"awaiting its first patch scan": 1}


@pytest.mark.parametrize(
    ("counts", "raised_to"),
    [
        ({"missing_count": 4}, Severity.HIGH),  # MEDIUM -> HIGH
        ({"security_non_compliant_count": 1, "missing_count": 1}, Severity.CRITICAL),  # HIGH -> CRITICAL
        ({}, Severity.HIGH),  # compliant on paper, but the run failed: at least HIGH
    ],
)
def test_a_failed_patch_run_raises_the_severity_and_names_the_command(counts, raised_to):
    run = PatchRun("cmd-0f1e2d3c", "TimedOut")
    (finding,) = judge(patch_state(**counts), run=run).findings
    assert finding.severity is raised_to
    assert "cmd-0f1e2d3c" in finding.title
    assert "TimedOut" in finding.title
    assert finding.details["command_id"] == "cmd-0f1e2d3c"
    assert finding.details["reasons"][0] == "run-failed"


def test_a_successful_run_that_left_the_instance_compliant_passes():
    result = judge(patch_state(), run=PatchRun("c1", "Success"))
    assert result.passed == {IID}


def test_a_requested_run_that_never_reported_is_treated_as_failed():
    # GIVEN ec2-warden asked for a patch run 5 hours ago, and the last scan is older than that
    tags = {PATCH_REQUESTED_TAG: format_patch_request(NOW - timedelta(hours=5), "cmd-silent")}
    state = patch_state(scanned=NOW - timedelta(hours=6), missing_count=2)
    # THEN the finding says the run never reported, and is raised
    (finding,) = judge(state, tags=tags).findings
    assert "cmd-silent" in finding.description
    assert finding.severity is Severity.HIGH


def test_a_requested_run_that_did_report_is_not_a_failure():
    tags = {PATCH_REQUESTED_TAG: format_patch_request(NOW - timedelta(hours=5), "cmd-ok")}
    state = patch_state(scanned=NOW - timedelta(hours=4), missing_count=2)
    (finding,) = judge(state, tags=tags).findings
    assert finding.severity is Severity.MEDIUM
    assert "run-failed" not in finding.details["reasons"]


def test_unmanaged_instances_are_left_to_ssm_unmanaged():
    snap = snapshot([instance()], ssm={}, states={})
    result = detect_patch_noncompliant(snap, Settings(), NOW)
    assert result.findings == ()
    assert result.passed == frozenset()
    assert result.not_evaluated == frozenset()


def test_unread_patch_states_mean_not_evaluated_for_managed_instances():
    snap = snapshot([instance()], ssm={IID: online()}, states=None)
    assert detect_patch_noncompliant(snap, Settings(), NOW).not_evaluated == {IID}


def test_stopped_instances_keep_their_verdict_until_they_run():
    snap = snapshot([instance(state="stopped")], ssm={}, states={})
    result = detect_patch_noncompliant(snap, Settings(), NOW)
    assert result.findings == ()
    assert IID not in result.passed
