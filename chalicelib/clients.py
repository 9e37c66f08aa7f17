"""boto3 clients, built lazily, with bounded retries and a count of every AWS call they make.

The count is ec2-warden's own measure of its cost: `api_calls` in every report is read from it.
boto3 honours AWS_ENDPOINT_URL, so an embedded AWS needs no code here; `endpoint_url` is for the
CLI's --endpoint-url and for tests."""

from __future__ import annotations

import threading
import time
from collections import Counter
from typing import Any

import boto3
from botocore.config import Config
from botocore.exceptions import BotoCoreError, ClientError


class DeadlineExceeded(BotoCoreError):
    """The run's time budget is spent: no new AWS attempt starts (the Lambda would be killed mid-way)."""

    fmt = "time budget spent before {operation}; the rest of the run is reported, not attempted"


AWS_ERRORS = (ClientError, BotoCoreError)


def aws_error_message(exc: Exception) -> str:
    """ "Code: message" for a ClientError, the text otherwise. Never includes request credentials."""
    if isinstance(exc, ClientError):
        error = exc.response.get("Error", {})
        return f"{error.get('Code', 'Error')}: {error.get('Message', '')}".strip()
    return str(exc)


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


class AwsClients:
    """One region's clients. Tests may hand in a session, or pre-built clients by service name."""

    def __init__(
        self,
        region: str,
        *,
        endpoint_url: str | None = None,
        session: boto3.session.Session | None = None,
        max_attempts: int = 5,
        counter: ApiCallCounter | None = None,
        clients: dict[str, Any] | None = None,
    ) -> None:
        self.region = region
        self.endpoint_url = endpoint_url
        self.counter = counter or ApiCallCounter()
        self._session = session
        self._config = Config(
            region_name=region,
            retries={"mode": "standard", "max_attempts": max_attempts},
            connect_timeout=5,
            read_timeout=20,
        )
        self._clients: dict[str, Any] = {}
        self._lock = threading.Lock()
        self._deadline: float | None = None  # time.monotonic() after which no attempt starts
        for name, client in (clients or {}).items():
            self._attach(name, client)

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
            max_attempts=self._config.retries["max_attempts"],
            counter=self.counter,
        )
        other._deadline = self._deadline
        return other

    def get(self, service: str) -> Any:
        with self._lock:
            client = self._clients.get(service)
            if client is None:
                session = self._session or boto3.session.Session()
                kwargs: dict[str, Any] = {"config": self._config}
                if self.endpoint_url:
                    kwargs["endpoint_url"] = self.endpoint_url
                client = self._attach(service, session.client(service, **kwargs))
            return client

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
