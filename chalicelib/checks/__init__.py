"""Checks: pure functions `(snapshot, settings, now) -> CheckResult`. No AWS, no clock, no environment.

The registry maps each public check name to its function; the pipeline runs them in this order."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from datetime import datetime
from types import MappingProxyType

from chalicelib.checks.drift import detect_environment_drift
from chalicelib.checks.exposure import detect_public_exposure
from chalicelib.checks.idle import detect_idle
from chalicelib.checks.launch import detect_launch_hygiene
from chalicelib.checks.patching import detect_patch_noncompliant
from chalicelib.checks.ssm import detect_ssm_unmanaged
from chalicelib.checks.stopped import detect_stopped_long
from chalicelib.model import CheckName, CheckResult, Snapshot
from chalicelib.settings import Settings

CheckFn = Callable[[Snapshot, Settings, datetime], CheckResult]

CHECKS: Mapping[CheckName, CheckFn] = MappingProxyType(
    {
        CheckName.PUBLIC_EXPOSURE: detect_public_exposure,
        CheckName.SSM_UNMANAGED: detect_ssm_unmanaged,
        CheckName.PATCH_NONCOMPLIANT: detect_patch_noncompliant,
        CheckName.IDLE: detect_idle,
        CheckName.STOPPED_LONG: detect_stopped_long,
        CheckName.LAUNCH_HYGIENE: detect_launch_hygiene,
        CheckName.ENVIRONMENT_DRIFT: detect_environment_drift,
    }
)


def run_checks(snapshot: Snapshot, settings: Settings, now: datetime) -> list[CheckResult]:
    """The checks WARDEN_CHECKS enables. A check that does not run resolves nothing either."""
    return [check(snapshot, settings, now) for name, check in CHECKS.items() if name.value in settings.checks]
