"""Slack adapter: post Block Kit payloads to an incoming webhook through slack-sdk's WebhookClient.

The webhook URL is a secret (anyone holding it can post to the channel). It is read from an SSM
SecureString parameter through Powertools Parameters (cached for PARAMETER_MAX_AGE seconds), or
taken from SLACK_WEBHOOK_URL for local runs. It never reaches a log line, an exception message or
a report: slack-sdk's own logger is silenced (it logs the URL when retrying) and every error text
is redacted before it leaves this module.

slack-sdk returns 429 and 5xx as ordinary responses, so the status code is checked here, and the
retry handlers are given explicitly, each bounded: a Lambda has minutes, not hours."""

from __future__ import annotations

import http.client
import logging
from collections.abc import Mapping
from typing import Any
from urllib.error import URLError
from urllib.parse import urlsplit

from chalicelib.settings import Settings

PARAMETER_MAX_AGE = 300  # seconds a warm Lambda keeps the URL before reading SSM again
TIMEOUT = 5  # seconds per attempt; Slack answers in well under one
CONNECTION_RETRIES = 1
SERVER_ERROR_RETRIES = 1
RATE_LIMIT_RETRIES = 2
MAX_RETRY_AFTER = 10  # seconds; a longer Retry-After fails the message instead of the Lambda's budget
REDACTED = "<slack-webhook>"


class SlackError(Exception):
    """A message was not delivered. The text is safe to log: it never contains the webhook URL.

    `give_up` says that the next message would fare no better (unreachable, rate-limited, 5xx)."""

    def __init__(self, message: str, *, give_up: bool = False) -> None:
        super().__init__(message)
        self.give_up = give_up


class Redactor:
    """Removes a secret URL, its path and its path segments from any text."""

    def __init__(self, url: str) -> None:
        path = urlsplit(url).path
        # Whole URL, its path, and the long path segments (the token; "services" is not secret).
        pieces = [url, url.rstrip("/"), path] + [p for p in path.split("/") if len(p) >= 12]
        self._secrets = sorted({p for p in pieces if p and p != "/"}, key=len, reverse=True)

    def __call__(self, text: str) -> str:
        for secret in self._secrets:
            text = text.replace(secret, REDACTED)
        return text


class SlackAdapter:
    def __init__(self, webhook_url: str, *, timeout: int = TIMEOUT, client: Any = None) -> None:
        self._redact = Redactor(webhook_url)
        if client is None:
            client = _webhook_client(webhook_url, timeout)
        self._client = client
        from slack_sdk.errors import SlackClientError  # e.g. SlackRequestError("Invalid URL detected: <url>")

        self._failures = (URLError, OSError, http.client.HTTPException, ValueError, SlackClientError)

    def post(self, payload: Mapping[str, Any]) -> None:
        """Deliver one message, or raise SlackError (redacted). Retries happen inside slack-sdk."""
        try:
            response = self._client.send_dict(dict(payload))
        except self._failures as exc:
            # `from None`: the original exception (and its traceback) may carry the URL.
            raise SlackError(f"Slack not reached: {self._redact(_describe(exc))}", give_up=True) from None
        status = response.status_code
        if status == 200:
            return
        body = self._redact(str(response.body or "").strip()[:200])
        raise SlackError(
            f"Slack answered HTTP {status}{': ' + body if body else ''}", give_up=status == 429 or status >= 500
        )


def webhook_url(settings: Settings, ssm_client: Any) -> str:
    """The URL from SLACK_WEBHOOK_URL, else from the SecureString named by SLACK_WEBHOOK_PARAMETER."""
    if settings.slack_webhook_url:
        return settings.slack_webhook_url
    name = settings.slack_webhook_parameter
    if not name:
        raise SlackError("Slack is not configured: set SLACK_WEBHOOK_PARAMETER (or SLACK_WEBHOOK_URL locally)")
    from aws_lambda_powertools.utilities.parameters.exceptions import GetParameterError

    try:
        with _QUIET_BODIES:
            value = _provider_for(ssm_client).get(name, decrypt=True, max_age=PARAMETER_MAX_AGE)
    except GetParameterError as exc:
        raise SlackError(f"could not read SSM parameter {name}: {exc}", give_up=True) from None
    url = str(value or "").strip()
    parts = urlsplit(url)
    if parts.scheme not in ("https", "http") or not parts.netloc:
        # Never echo the value: it is a secret even when it is a wrong one.
        raise SlackError(f"SSM parameter {name} does not hold an http(s) webhook URL", give_up=True)
    return url


# Powertools caches per provider; one provider per boto3 client keeps the cache across warm runs
# (entry.py keeps the clients) and lets AwsClients count the GetParameter call.
_PROVIDERS: dict[int, tuple[Any, Any]] = {}


def _provider_for(ssm_client: Any) -> Any:
    from aws_lambda_powertools.utilities.parameters import SSMProvider

    held = _PROVIDERS.get(id(ssm_client))
    if held is None or held[0] is not ssm_client:
        held = (ssm_client, SSMProvider(boto3_client=ssm_client))
        _PROVIDERS[id(ssm_client)] = held
    return held[1]


def _webhook_client(url: str, timeout: int) -> Any:
    # Imported here: slack-sdk costs ~80 ms of cold start, paid only by runs that post.
    from slack_sdk.webhook import WebhookClient

    return WebhookClient(url=url, timeout=timeout, logger=_SILENT, retry_handlers=slack_retry_handlers())


def slack_retry_handlers() -> list[Any]:
    """slack-sdk retry handlers for every Slack client (webhook and Web API): connection errors,
    429 honouring Retry-After up to MAX_RETRY_AFTER seconds (a longer wait fails the message), 5xx."""
    from slack_sdk.http_retry.builtin_handlers import (
        ConnectionErrorRetryHandler,
        RateLimitErrorRetryHandler,
        ServerErrorRetryHandler,
    )

    class BoundedRateLimitRetryHandler(RateLimitErrorRetryHandler):
        def _can_retry(self, *, state: Any, request: Any, response: Any = None, error: Any = None) -> bool:
            if not super()._can_retry(state=state, request=request, response=response, error=error):
                return False
            wait = _retry_after(response.headers)
            return wait is None or wait <= MAX_RETRY_AFTER

    return [
        ConnectionErrorRetryHandler(max_retry_count=CONNECTION_RETRIES),
        BoundedRateLimitRetryHandler(max_retry_count=RATE_LIMIT_RETRIES),
        ServerErrorRetryHandler(max_retry_count=SERVER_ERROR_RETRIES),
    ]


def _retry_after(headers: Mapping[str, Any]) -> float | None:
    for key, value in headers.items():
        if key.lower() == "retry-after":
            raw = value[0] if isinstance(value, list | tuple) and value else value
            try:
                return int(raw)  # slack-sdk itself parses it with int(); anything else would crash it
            except (TypeError, ValueError):
                return float("inf")  # an HTTP date or garbage: do not wait on it
    return None


def _describe(exc: Exception) -> str:
    if isinstance(exc, URLError) and not isinstance(exc.reason, str):
        return f"{type(exc.reason).__name__}: {exc.reason}"
    if isinstance(exc, URLError):
        return str(exc.reason)
    return f"{type(exc).__name__}: {exc}"


def _silent_logger() -> logging.Logger:
    # slack-sdk logs the full URL at INFO when it retries, and at DEBUG on every request. Its logger
    # is replaced by one that keeps nothing; this adapter reports failures itself, redacted.
    silent = logging.getLogger("ec2_warden.slack_sdk")
    silent.handlers[:] = [logging.NullHandler()]
    silent.propagate = False
    silent.setLevel(logging.CRITICAL + 1)
    return silent


_SILENT = _silent_logger()


class _DropResponseBodies(logging.Filter):
    """botocore logs every response body at DEBUG (botocore.parsers), so with DEBUG logging on (a
    local basicConfig, or Lambda's log level set to DEBUG) the decrypted SecureString would be
    printed. While the parameter is read, those records are dropped; nothing else is touched."""

    def __init__(self) -> None:
        super().__init__()
        self._depth = 0

    def filter(self, record: logging.LogRecord) -> bool:
        return not (self._depth and str(record.msg).startswith("Response body"))

    def __enter__(self) -> None:
        self._depth += 1

    def __exit__(self, *exc: object) -> None:
        self._depth -= 1


_QUIET_BODIES = _DropResponseBodies()
logging.getLogger("botocore.parsers").addFilter(_QUIET_BODIES)
