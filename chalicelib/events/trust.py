"""Trust boundary for events: which accounts and regions this deployment acts for. Pure.

EventBridge delivers only what its rules match, but a rule on a shared or forwarded bus, a
replayed archive or a hand-made test event can carry any account and region. An event from
outside the boundary is ignored with a reason, before any AWS call."""

from __future__ import annotations

from dataclasses import replace

from chalicelib.events.scope import Scope
from chalicelib.settings import Settings


def outside_boundary(scope: Scope, settings: Settings, own_account: str | None, own_region: str | None) -> str | None:
    """Why this scope is outside what the deployment serves, or None when it is inside."""
    accounts = set(settings.allowed_accounts) or ({own_account} if own_account else set())
    regions = set(settings.sweep_regions) or ({own_region} if own_region else set())
    if accounts and scope.account and scope.account not in accounts:
        return f"account {scope.account} is not one this deployment serves (ALLOWED_ACCOUNTS)"
    if regions and scope.region and scope.region not in regions:
        return f"region {scope.region} is not one this deployment serves (SWEEP_REGIONS)"
    return None


def within_boundary(scope: Scope, settings: Settings, own_account: str | None, own_region: str | None) -> Scope:
    """The scope itself, or the same scope marked ignored when it is outside the boundary."""
    if scope.ignored:
        return scope
    reason = outside_boundary(scope, settings, own_account, own_region)
    return replace(scope, ignored=reason) if reason else scope
