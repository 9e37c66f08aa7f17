"""A warm container's memory of member accounts: the member role's credentials (one AssumeRole
per account per credential lifetime), the clients built on them, the organisation's ACTIVE
accounts (listed at most once an hour) and the function's own account id.

Everything is kept for the home clients it was obtained with: handed other home clients (a new
endpoint, a test's fresh world), it starts again. Credentials are held, never logged or shown
(TemporaryCredentials' repr shows the expiry only)."""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from chalicelib.adapters.clients import AwsClients, TemporaryCredentials
from chalicelib.adapters.fanout_aws import assume_role, list_active_accounts
from chalicelib.fanout.targets import member_role_arn
from chalicelib.settings import FindingsDestination, Settings

# Role chaining (the function's role assuming the member role) allows at most one hour, and
# infra/member-role.yaml sets MaxSessionDuration 3600.
EVENT_SESSION_SECONDS = 3600
# Fresh credentials when fewer than this remain: a run (Lambda timeout 300 s) never outlives them.
REFRESH_BEFORE = timedelta(seconds=360)
ORGANIZATION_TTL = timedelta(hours=1)
SESSION_NAME = "ec2-warden-events"


@dataclass
class _Member:
    credentials: TemporaryCredentials
    expires: datetime
    clients: AwsClients  # in the region they were first built for
    regional: dict[str, AwsClients]  # the same session's clients for each region used since


class MemberSessions:
    def __init__(self, clock: Callable[[], datetime] | None = None) -> None:
        self._clock = clock or (lambda: datetime.now(UTC))
        self._lock = threading.Lock()
        self._home: AwsClients | None = None
        self._members: dict[tuple[str, str], _Member] = {}
        self._organization: tuple[datetime, frozenset[str]] | None = None
        self._home_account: str | None = None

    def clear(self) -> None:
        with self._lock:
            self._reset(None)

    def _reset(self, home: AwsClients | None) -> None:
        self._home, self._members, self._organization, self._home_account = home, {}, None, None

    def _bind(self, home: AwsClients) -> None:
        if self._home is not home:
            self._reset(home)

    def home_account(self, home: AwsClients) -> str:
        """The function's own account (GetCallerIdentity once per container)."""
        with self._lock:
            self._bind(home)
            if self._home_account is None:
                self._home_account = str(home.sts.get_caller_identity()["Account"])
            return self._home_account

    def organization_accounts(self, home: AwsClients) -> frozenset[str]:
        """Every ACTIVE account of the Organization, listed again after ORGANIZATION_TTL."""
        with self._lock:
            self._bind(home)
            now = self._clock()
            if self._organization is None or now - self._organization[0] >= ORGANIZATION_TTL:
                self._organization = (now, frozenset(list_active_accounts(home.get("organizations"))))
            return self._organization[1]

    def clients(
        self, account: str, region: str, settings: Settings, home: AwsClients, home_account: str, partition: str
    ) -> AwsClients:
        """Clients acting in `account` and `region` as the member role, reusing the credentials
        while more than REFRESH_BEFORE of their life remains. Raises botocore's errors when the
        role is missing or refuses (nothing is cached then)."""
        with self._lock:
            self._bind(home)
            now = self._clock()
            # The reader for audit and notify, the writer for enforce (a notify deployment never
            # holds write credentials in a member); keyed by role too, so the two never mix.
            role = member_role_arn(account, settings.member_role_for_mode, partition)
            member = self._members.get((account, role))
            if member is None or member.expires - now <= REFRESH_BEFORE:
                credentials = assume_role(home.sts, role, SESSION_NAME, EVENT_SESSION_SECONDS)
                expires = credentials.expiration or now + timedelta(seconds=EVENT_SESSION_SECONDS)
                to_home = settings.findings_destination is FindingsDestination.HOME
                built = AwsClients.from_credentials(
                    region,
                    credentials,
                    endpoint_url=home.endpoint_url,
                    max_attempts=settings.aws_max_attempts,
                    own_identity_for=("securityhub",) if to_home else (),
                    findings_account=home_account if to_home else None,
                    home=home,
                )
                member = self._members[(account, role)] = _Member(credentials, _aware(expires), built, {region: built})
            if region not in member.regional:
                member.regional[region] = member.clients.for_region(region)
            return member.regional[region]


def _aware(moment: datetime) -> datetime:
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


# The warm container's one instance (the Lambda entry points and the CLI share it).
MEMBER_SESSIONS = MemberSessions()
