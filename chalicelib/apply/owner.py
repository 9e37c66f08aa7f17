"""Carry out NOTIFY_OWNER actions: one message per owner, by Slack direct message or email.

Slack: an owner tag holding an email address is looked up in Slack (users.lookupByEmail, cached
for the run) and messaged directly. An owner that cannot be resolved (no tag, not an address,
unknown to Slack) or a deployment without a bot token falls back to the security channel's
webhook, the message marked "owner unknown" with the reason. Email: SES SendEmail from
OWNER_EMAIL_SENDER to the owner's address; an owner without an address falls back the same way.

The bot token is read like the webhook URL: SLACK_BOT_TOKEN locally, else the SecureString named
by SLACK_BOT_TOKEN_PARAMETER in the function's own region (Powertools, cached), never logged.
A failure is an outcome with an error, never an exception: the other owners still hear."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from chalicelib.adapters.clients import AWS_ERRORS, AwsClients, aws_error_message
from chalicelib.adapters.log import logger
from chalicelib.adapters.slack import (
    _QUIET_BODIES,
    PARAMETER_MAX_AGE,
    SlackAdapter,
    SlackError,
    _provider_for,
    webhook_url,
)
from chalicelib.adapters.slack_web import SlackWebAdapter, SlackWebError
from chalicelib.model import Action, ActionOutcome, Mode, Plan, Snapshot
from chalicelib.notify.owner import OwnerNotice, owner_email, owner_notice, owner_slack_message
from chalicelib.settings import OwnerNotify, Settings, is_email


def notify_owners(
    actions: Sequence[Action],
    plan: Plan,
    snapshot: Snapshot,
    clients: AwsClients,
    settings: Settings,
    mode: Mode,
    now: datetime,
    done_so_far: Sequence[ActionOutcome],
    home_ssm: Any,
) -> list[ActionOutcome]:
    sender = _Sender(settings, clients, home_ssm)
    outcomes = []
    for action in actions:
        notice = owner_notice(action, plan, snapshot, done_so_far, mode)
        where = {"instance_ids": list(action.resource_ids), "owner_notify": settings.owner_notify.value}
        try:
            how = sender.send(notice)
        except (SlackError, SlackWebError, _EmailError) as exc:
            logger.error("owner message failed", extra={**where, "error": str(exc)})
            outcomes.append(
                ActionOutcome(action.kind, action.resource_ids, done=False, error=str(exc), reason=action.reason)
            )
            continue
        logger.info("owner message sent", extra={**where, "via": how})
        outcomes.append(ActionOutcome(action.kind, action.resource_ids, done=True, reason=f"{action.reason}: {how}"))
    return outcomes


class _EmailError(Exception):
    pass


class _Sender:
    """Holds this run's Slack clients (and their look-up cache) and gives up on a dead channel."""

    def __init__(self, settings: Settings, clients: AwsClients, home_ssm: Any) -> None:
        self._settings = settings
        self._clients = clients
        self._home_ssm = home_ssm
        self._web: SlackWebAdapter | None = None
        self._no_web: str | None = None  # why there is no Web API client (no token, unreadable)
        self._webhook: SlackAdapter | None = None
        self._dead: dict[str, str] = {}  # channel -> why it is not tried again in this run

    def send(self, notice: OwnerNotice) -> str:
        owner = notice.owner
        tag = self._settings.owner_tag
        if self._settings.owner_notify is OwnerNotify.EMAIL:
            if is_email(owner):
                self._email(owner, notice)
                return "email"
            return self._fallback(notice, f"the {tag} tag holds no email address" if owner else f"no {tag} tag")
        if not owner:
            return self._fallback(notice, f"no {tag} tag")
        if not is_email(owner):
            return self._fallback(notice, f"the {tag} tag ({owner}) is not an email address Slack can look up")
        web = self._web_client()
        if web is None:
            return self._fallback(notice, self._no_web or "no Slack bot token")
        self._alive("slack-web")
        try:
            user_id = web.user_id_for(owner)
            if user_id is None:
                return self._fallback(notice, f"Slack knows no user with the address {owner}")
            web.post_direct(user_id, owner_slack_message(notice))
        except SlackWebError as exc:
            if exc.give_up:
                self._dead["slack-web"] = str(exc)
            raise
        return "slack direct message"

    def _fallback(self, notice: OwnerNotice, why: str) -> str:
        self._alive("webhook")
        try:
            if self._webhook is None:
                self._webhook = SlackAdapter(webhook_url(self._settings, self._home_ssm))
            self._webhook.post(owner_slack_message(notice, owner_unknown=why))
        except SlackError as exc:
            if exc.give_up:
                self._dead["webhook"] = str(exc)
            raise
        return f"security channel, owner unknown: {why}"

    def _alive(self, channel: str) -> None:
        if channel in self._dead:
            raise SlackError(f"not sent: {self._dead[channel]}")

    def _web_client(self) -> SlackWebAdapter | None:
        if self._web is None and self._no_web is None:
            token = self._token()
            if token:
                self._web = SlackWebAdapter(token, self._settings.slack_api_url)
        return self._web

    def _token(self) -> str | None:
        settings = self._settings
        if settings.slack_bot_token:
            return settings.slack_bot_token
        name = settings.slack_bot_token_parameter
        if not name:
            self._no_web = "no Slack bot token (SLACK_BOT_TOKEN_PARAMETER is not set)"
            return None
        from aws_lambda_powertools.utilities.parameters.exceptions import GetParameterError

        try:
            with _QUIET_BODIES:
                value = _provider_for(self._home_ssm).get(name, decrypt=True, max_age=PARAMETER_MAX_AGE)
        except GetParameterError as exc:
            self._no_web = f"could not read SSM parameter {name}: {exc}"
            logger.error("slack bot token unreadable", extra={"parameter": name, "error": str(exc)})
            return None
        token = str(value or "").strip()
        if not token.startswith("xox"):
            self._no_web = f"SSM parameter {name} does not hold a Slack bot token"  # the value is never echoed
            return None
        return token

    def _email(self, address: str, notice: OwnerNotice) -> None:
        settings = self._settings
        self._alive("ses")
        subject, body = owner_email(notice)
        ses = self._clients.own_in(settings.region, "ses") if settings.region else self._clients.own("ses")
        try:
            ses.send_email(
                Source=settings.owner_email_sender,
                Destination={"ToAddresses": [address]},
                Message={
                    "Subject": {"Data": subject[:900], "Charset": "UTF-8"},
                    "Body": {"Text": {"Data": body, "Charset": "UTF-8"}},
                },
            )
        except AWS_ERRORS as exc:
            message = f"ses:SendEmail: {aws_error_message(exc)}"
            if "Throttl" in message or "AccessDenied" in message:
                self._dead["ses"] = message
            raise _EmailError(message) from None
