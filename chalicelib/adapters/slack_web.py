"""Slack Web API adapter for owner messages: find a person by email (users.lookupByEmail) and
send them a direct message (chat.postMessage to their user id), through slack-sdk's WebClient.

The bot token is a secret: it never reaches a log line, an exception message or a report.
slack-sdk's own logger is silenced (at DEBUG it logs every request's headers, the token among
them), and every error text is redacted before it leaves this module.

WebClient retries only connection errors by default, and raises SlackApiError for any answer with
"ok": false (429 included, once its retries are spent): the rate-limit and server-error retry
handlers are given explicitly, bounded as for the webhook (apply/slack.py), so one slow Slack
cannot eat a Lambda's time. Look-ups are cached per adapter, which lives for one run."""

from __future__ import annotations

import http.client
from collections.abc import Mapping
from typing import Any
from urllib.error import URLError

REDACTED = "<slack-token>"
NOT_FOUND = "users_not_found"


class SlackWebError(Exception):
    """A Web API call failed. The text is safe to log (no token). `give_up`: the next call would
    fare no better (unreachable, rate-limited, 5xx, bad token)."""

    def __init__(self, message: str, *, give_up: bool = False) -> None:
        super().__init__(message)
        self.give_up = give_up


class SlackWebAdapter:
    def __init__(self, token: str, base_url: str, *, timeout: int | None = None, client: Any = None) -> None:
        self._token = token
        self._client = client if client is not None else _web_client(token, base_url, timeout)
        self._users: dict[str, str | None] = {}
        from slack_sdk.errors import SlackApiError, SlackClientError

        self._api_error = SlackApiError
        self._failures = (URLError, OSError, http.client.HTTPException, ValueError, SlackClientError)

    def user_id_for(self, email: str) -> str | None:
        """The Slack user id of `email`, or None when Slack knows no such user. Cached per run."""
        key = email.strip().lower()
        if key not in self._users:
            try:
                response = self._client.users_lookupByEmail(email=key)
            except self._api_error as exc:
                if _error_code(exc) == NOT_FOUND:
                    self._users[key] = None
                    return None
                raise self._failed("users.lookupByEmail", exc) from None
            except self._failures as exc:
                raise self._failed("users.lookupByEmail", exc) from None
            user = response.get("user") or {}
            self._users[key] = None if user.get("deleted") else str(user.get("id") or "") or None
        return self._users[key]

    def post_direct(self, user_id: str, payload: Mapping[str, Any]) -> None:
        """Send a Block Kit message to one user (Slack opens the direct message itself)."""
        try:
            self._client.chat_postMessage(channel=user_id, text=payload.get("text", ""), blocks=payload.get("blocks"))
        except (self._api_error, *self._failures) as exc:
            raise self._failed("chat.postMessage", exc) from None

    def _failed(self, method: str, exc: Exception) -> SlackWebError:
        status = getattr(getattr(exc, "response", None), "status_code", None)
        code = _error_code(exc)
        if code is not None:
            text = f"Slack {method} answered {code}" + (f" (HTTP {status})" if status and status != 200 else "")
        else:
            text = f"Slack {method} not reached: {type(exc).__name__}: {exc}"
        give_up = status in (401, 403, 429) or (status or 0) >= 500 or code in _FATAL or code is None
        return SlackWebError(text.replace(self._token, REDACTED)[:300], give_up=give_up)


_FATAL = frozenset({"invalid_auth", "not_authed", "account_inactive", "token_revoked", "ratelimited"})


def _error_code(exc: Exception) -> str | None:
    response = getattr(exc, "response", None)
    if response is None:
        return None
    try:
        code = response.get("error")
    except (AttributeError, TypeError):
        return None
    return str(code) if code else None


def _web_client(token: str, base_url: str, timeout: int | None) -> Any:
    # Imported here: slack-sdk's cost is paid only by runs that message owners. The retry bounds,
    # the Retry-After reading and the silenced logger are the webhook's (one definition); imported
    # late because chalicelib.apply imports this module.
    from slack_sdk import WebClient

    from chalicelib.adapters.slack import _SILENT, TIMEOUT, slack_retry_handlers

    return WebClient(
        token=token,
        base_url=base_url,
        timeout=timeout or TIMEOUT,
        logger=_SILENT,
        retry_handlers=slack_retry_handlers(),
    )
