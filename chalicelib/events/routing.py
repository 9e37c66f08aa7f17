"""Which account an event is judged in, and whether this deployment serves it at all. Pure.

    ALLOWED_ACCOUNTS unset      the function's own account only, judged with its own credentials
                                (as before: the trust boundary of chalicelib/events/trust.py)
    ALLOWED_ACCOUNTS=ids        those accounts; an event of another one is judged in its account,
                                with the member role (WARDEN_MEMBER_ROLE), never with ours
    ALLOWED_ACCOUNTS=organization
                                every ACTIVE account of the AWS Organization (listed by the caller,
                                at most once an hour per warm container)

An event outside what is served is ignored with a reason before any AWS call (the organisation's
listing aside). The resource's account is the event's account (`account`, else the record's
`recipientAccountId`): CloudTrail records a call in the account that owns the resource."""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass, replace

from chalicelib.events.scope import Scope
from chalicelib.events.trust import within_boundary
from chalicelib.settings import Settings


@dataclass(frozen=True)
class Route:
    """The scope to run (marked ignored when it is not served) and the member account whose role
    judges it; `member` None: the function's own credentials."""

    scope: Scope
    member: str | None = None


def needs_home_account(scope: Scope, settings: Settings) -> bool:
    """Whether routing must know the function's own account: only when other accounts are served."""
    return bool(settings.allowed_accounts) and not scope.ignored and scope.account is not None


def needs_organization(scope: Scope, settings: Settings) -> bool:
    return settings.serves_organization and not scope.ignored and scope.account is not None


def route_event(
    scope: Scope,
    settings: Settings,
    home_account: str | None,
    own_region: str | None,
    organization: Collection[str] | None = None,
) -> Route:
    """Decide where `scope` runs. `organization`: the ACTIVE accounts, when ALLOWED_ACCOUNTS says
    organization (the caller lists them)."""
    if scope.ignored:
        return Route(scope)
    if not settings.allowed_accounts:
        return Route(within_boundary(scope, settings, home_account, own_region))
    if settings.serves_organization:
        if organization is None:
            raise ValueError("ALLOWED_ACCOUNTS=organization: route_event needs the organisation's accounts")
        if scope.account is not None and scope.account not in organization:
            why = (
                f"account {scope.account} is not an ACTIVE account of the organisation (ALLOWED_ACCOUNTS=organization)"
            )
            return Route(replace(scope, ignored=why))
        served = replace(settings, allowed_accounts=tuple(sorted(organization)))
        scope = within_boundary(scope, served, home_account, own_region)
    else:
        scope = within_boundary(scope, settings, home_account, own_region)
    if scope.ignored or scope.account is None or home_account is None or scope.account == home_account:
        return Route(scope)
    return Route(scope, member=scope.account)
