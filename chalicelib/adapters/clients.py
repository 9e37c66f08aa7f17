"""botocore clients, built lazily, with bounded retries and a count of every AWS call they make.

The count is ec2-warden's own measure of its cost: `api_calls` in every report is read from it.
botocore honours AWS_ENDPOINT_URL, so an embedded AWS needs no code here; `endpoint_url` is for the
CLI's --endpoint-url and for tests.

botocore, not boto3: boto3 adds nothing to a client but its import (s3transfer and the resource
layer, ~10-20 ms of cold start), and its clients are these same botocore clients. Every client
reads the trimmed service models of chalicelib/adapters/models/ (service_models.py)."""

from __future__ import annotations

import os
import threading
import time
from collections import Counter
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import botocore.session
from botocore.config import Config
from botocore.exceptions import BotoCoreError, ClientError
from botocore.parsers import ResponseParserError, ResponseParserFactory
from botocore.utils import parse_timestamp

from chalicelib.adapters.service_models import use_trimmed_models
from chalicelib.rules.timefmt import parse_iso_aware


class DeadlineExceeded(BotoCoreError):
    """The run's time budget is spent: no new AWS attempt starts (the Lambda would be killed mid-way)."""

    fmt = "time budget spent before {operation}; the rest of the run is reported, not attempted"


# ResponseParserError is not a BotoCoreError: an endpoint that answers HTML or a cut-off body raises
# it from inside any call, and it is as much an AWS failure as a refused connection.
AWS_ERRORS = (ClientError, BotoCoreError, ResponseParserError)
MAX_MESSAGE_CHARS = 300


def aws_error_message(exc: Exception) -> str:
    """ "Code: message" for a ClientError, the text otherwise, on one line and at most 300 characters
    (a parser error quotes the body it could not read). Never includes request credentials."""
    if isinstance(exc, ClientError):
        error = exc.response.get("Error", {})
        text = f"{error.get('Code', 'Error')}: {error.get('Message', '')}".strip()
    elif isinstance(exc, ResponseParserError):
        text = "the endpoint's answer is not an AWS response (" + str(exc) + ")"
    else:
        text = str(exc)
    text = " ".join(text.split())
    return text if len(text) <= MAX_MESSAGE_CHARS else text[: MAX_MESSAGE_CHARS - 3] + "..."


def profile_session(profile: str) -> botocore.session.Session:
    """A session using a named AWS profile (the CLI's --profile); ProfileNotFound if there is none."""
    session = _botocore_session()
    if profile not in session.available_profiles:
        from botocore.exceptions import ProfileNotFound

        raise ProfileNotFound(profile=profile)
    session.set_config_variable("profile", profile)
    return session


class ApiCallCounter:
    """Counts calls as "service:Operation" (one per logical call, retries not included)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._counts: Counter[str] = Counter()

    def record(self, service: str, operation: str) -> None:
        with self._lock:
            self._counts[f"{service}:{operation}"] += 1

    def snapshot(self) -> dict[str, int]:
        with self._lock:
            return dict(self._counts)

    def writes(self) -> dict[str, int]:
        """Calls that may change AWS state: anything not a Describe/Get/List read."""
        return {k: v for k, v in self.snapshot().items() if not _is_read(k.split(":", 1)[1])}


def _is_read(operation: str) -> bool:
    return operation.startswith(("Describe", "Get", "List", "Lookup"))


@dataclass(frozen=True)
class TemporaryCredentials:
    """An assumed role's credentials. Never logged: the repr shows the expiry only."""

    access_key_id: str = field(repr=False)
    secret_access_key: str = field(repr=False)
    session_token: str = field(repr=False)
    expiration: datetime | None = None


_LOADER: list[Any] = []  # botocore's model loader, shared by the sessions of assumed roles


def _botocore_session() -> botocore.session.Session:
    """A fresh botocore session (credentials are per session) that shares one model loader.

    Each new session otherwise re-reads and parses the service models: measured here, building
    the ec2 and securityhub clients of a fresh session takes ~0.55 s, with a shared loader ~0.05 s,
    for every fan-out message of a member account. The loader reads chalicelib/adapters/models/ first."""
    session = botocore.session.get_session()
    if not _LOADER:
        loader = session.get_component("data_loader")
        use_trimmed_models(loader)
        _LOADER.append(loader)
    else:
        session.register_component("data_loader", _LOADER[0])
    factory = _GuardedParserFactory()
    factory.set_parser_defaults(timestamp_parser=_parse_timestamp)
    session.register_component("response_parser_factory", factory)
    return session


class _GuardedParser:
    """botocore's parser for a protocol, whose surprises are ResponseParserErrors.

    An endpoint that is not AWS (a proxy's HTML page, a captive portal) can send a body that parses
    as XML but lacks what the operation's shape promises: botocore then raises a bare KeyError or
    TypeError from deep inside. Every caller handles AWS_ERRORS; this makes those answers one."""

    def __init__(self, parser: Any, protocol: str) -> None:
        self._parser = parser
        self._protocol = protocol

    def parse(self, response: Any, shape: Any) -> Any:
        try:
            parsed = self._parser.parse(response, shape)
        except ResponseParserError:
            raise
        except (KeyError, TypeError, ValueError, AttributeError, IndexError) as exc:
            raise ResponseParserError(f"Unable to parse response ({type(exc).__name__}: {exc})") from exc
        # EC2 reads any XML as an empty answer ("no instances"); every answer EC2 gives names its request.
        if (
            self._protocol == "ec2"
            and response.get("status_code") == 200
            and isinstance(parsed, dict)
            and not parsed.get("ResponseMetadata", {}).get("RequestId")
        ):
            raise ResponseParserError("Unable to parse response (an EC2 answer without a requestId)")
        return parsed

    def __getattr__(self, name: str) -> Any:
        return getattr(self._parser, name)


class _GuardedParserFactory(ResponseParserFactory):
    def create_parser(self, protocol_name: str) -> Any:
        return _GuardedParser(super().create_parser(protocol_name), protocol_name)


def _parse_timestamp(value: Any) -> Any:
    """botocore's timestamp parser without dateutil on the shapes AWS sends (ISO 8601, epoch seconds).

    dateutil costs ~35 us a timestamp; a 10,000-instance sweep parses ~400,000 (GetMetricData's
    Timestamps): measured (bench/), 14.7 s of CPU with botocore's parser, 8.5 s with this one.
    Anything else (RFC 822 dates, naive times) goes to botocore's parser as before."""
    if isinstance(value, int | float) and not isinstance(value, bool):
        return datetime.fromtimestamp(value, UTC)
    if isinstance(value, str):
        parsed = parse_iso_aware(value)
        if parsed is not None:
            return parsed
    return parse_timestamp(value)


class AwsClients:
    """One region's clients. Tests may hand in a session, or pre-built clients by service name."""

    # The account whose Security Hub receives the findings, when it is not the account swept
    # (FINDINGS_DESTINATION=home in a member account); None: the account swept.
    findings_account: str | None = None

    def __init__(
        self,
        region: str,
        *,
        endpoint_url: str | None = None,
        session: botocore.session.Session | None = None,
        max_attempts: int = 5,
        counter: ApiCallCounter | None = None,
        clients: dict[str, Any] | None = None,
    ) -> None:
        self.region = region
        self.endpoint_url = endpoint_url
        self.counter = counter or ApiCallCounter()
        self._session = session
        self._max_attempts = max_attempts  # botocore rewrites Config.retries in place when it builds a client
        self._config = Config(
            region_name=region,
            retries={"mode": "standard", "max_attempts": max_attempts},
            connect_timeout=5,
            read_timeout=20,
        )
        self._clients: dict[str, Any] = {}
        self._lock = threading.Lock()
        self._deadline: float | None = None  # time.monotonic() after which no attempt starts
        self._own_identity: frozenset[str] = frozenset()  # services not built from `session`
        self._home: AwsClients | None = None  # the function's own clients, when these act as a role
        self._regional: dict[str, AwsClients] = {}  # own_in's clients for other regions
        for name, client in (clients or {}).items():
            self._attach(name, client)

    @classmethod
    def from_credentials(
        cls,
        region: str,
        credentials: TemporaryCredentials,
        *,
        endpoint_url: str | None = None,
        max_attempts: int = 5,
        own_identity_for: tuple[str, ...] = (),
        findings_account: str | None = None,
        home: AwsClients | None = None,
    ) -> AwsClients:
        """Clients that act as an assumed role (another account): a botocore session of its own, so
        nothing of the function's own identity is mixed in, and their own call count.

        `own_identity_for` names services that stay with the function's own identity (Security
        Hub when the home account receives the findings); `findings_account` is then that account.
        `home`: the function's own clients, which own() hands out."""
        session = _botocore_session()
        session.set_credentials(credentials.access_key_id, credentials.secret_access_key, credentials.session_token)
        clients = cls(region, endpoint_url=endpoint_url, session=session, max_attempts=max_attempts)
        clients._own_identity = frozenset(own_identity_for)
        clients._home = home
        clients.findings_account = findings_account
        return clients

    def set_deadline(self, seconds_from_now: float | None) -> None:
        """Stop starting AWS attempts after this many seconds (None: no budget).

        Checked before every HTTP attempt, retries included, so a retry storm cannot run past the
        Lambda timeout; a call refused this way is an ordinary AWS error to the pipeline."""
        self._deadline = None if seconds_from_now is None else time.monotonic() + seconds_from_now

    def for_region(self, region: str) -> AwsClients:
        """Clients for another region that share this one's session, endpoint and call count."""
        if region == self.region:
            return self
        other = AwsClients(
            region,
            endpoint_url=self.endpoint_url,
            session=self._session,
            max_attempts=self._max_attempts,
            counter=self.counter,
        )
        other._deadline = self._deadline
        other._own_identity = self._own_identity
        other._home = self._home
        other.findings_account = self.findings_account
        return other

    def get(self, service: str) -> Any:
        with self._lock:
            client = self._clients.get(service)
            if client is None:
                # The function's own identity (next to a role's), or this one's session. Every
                # session shares one loader: parsing endpoints.json and the models once.
                own = service in self._own_identity
                session = _botocore_session() if own or self._session is None else self._session
                kwargs: dict[str, Any] = {"config": self._config}
                if self.endpoint_url and not _service_endpoint_configured(service):
                    kwargs["endpoint_url"] = self.endpoint_url
                client = self._attach(service, session.create_client(service, **kwargs))
            return client

    def own(self, service: str) -> Any:
        """The function's own client, in its own account and region, also when these clients act
        as a member account's role: for what only the home account holds (the Slack webhook
        parameter). Its calls count in the home clients' tally. Otherwise the same as get()."""
        return self._home.get(service) if self._home is not None else self.get(service)

    def own_in(self, region: str, service: str) -> Any:
        """The function's own client in a given region (the lease table lives in the function's
        region, whichever account or region these clients sweep). Counted like own()."""
        base = self._home if self._home is not None else self
        if region == base.region:
            return base.get(service)
        with base._lock:
            other = base._regional.get(region)
            if other is None:
                other = base._regional[region] = base.for_region(region)
        other._deadline = base._deadline
        return other.get(service)

    @property
    def ec2(self) -> Any:
        return self.get("ec2")

    @property
    def securityhub(self) -> Any:
        return self.get("securityhub")

    @property
    def sts(self) -> Any:
        return self.get("sts")

    def _attach(self, service: str, client: Any) -> Any:
        counter = self.counter

        def count(model: Any, **_: Any) -> None:
            counter.record(service, model.name)

        def within_budget(**_: Any) -> None:
            if self._deadline is not None and time.monotonic() > self._deadline:
                raise DeadlineExceeded(operation=f"a {service} call")

        client.meta.events.register("before-call", count)
        client.meta.events.register_first("before-send", within_budget)
        self._clients[service] = client
        return client


def _service_endpoint_configured(service: str) -> bool:
    """AWS_ENDPOINT_URL_<SERVICE> names this service's own endpoint (botocore's convention): more
    specific than a generic --endpoint-url, so it wins (a local moto server has no Price List API;
    the demo points pricing at a stand-in)."""
    return bool(os.environ.get("AWS_ENDPOINT_URL_" + service.upper().replace("-", "_").replace(" ", "_")))
