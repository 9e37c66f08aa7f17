"""Who made a CloudTrail-recorded change: the actor facts of one record. Pure, and never raises.

The facts come from the record's `userIdentity` (documented in the CloudTrail user guide,
"CloudTrail userIdentity element"), `sourceIPAddress`, `userAgent`, `eventTime`, `eventID`,
`eventName` and `eventSource`. Anything missing or of the wrong type is left out rather than
failing the run: a record whose identity cannot be read still names the instances it changed.
Every string is cut to MAX_TEXT characters, so a hostile or broken record cannot blow up a
finding, a Slack message or a Security Hub field further down."""

from __future__ import annotations

import ipaddress
import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from chalicelib.rules import timefmt

# userIdentity.type values CloudTrail documents for the identities that make EC2 calls.
ROOT = "Root"
IAM_USER = "IAMUser"
ASSUMED_ROLE = "AssumedRole"
FEDERATED_USER = "FederatedUser"
AWS_SERVICE = "AWSService"
AWS_ACCOUNT = "AWSAccount"
UNKNOWN = "Unknown"
KNOWN_TYPES = frozenset({ROOT, IAM_USER, ASSUMED_ROLE, FEDERATED_USER, AWS_SERVICE, AWS_ACCOUNT})

MAX_TEXT = 2048  # an IAM ARN is at most 2048 characters; nothing an actor says needs more
MAX_TYPE = 64

# Client labels: what the user agent says the caller used.
CONSOLE = "console"
AWS_CLI = "AWS CLI"
TERRAFORM = "Terraform"
CLOUDFORMATION = "CloudFormation"
UNKNOWN_CLIENT = "unknown client"
OTHER_CLIENT = "other client"

# The console signs its calls with these agents (CloudTrail user guide: userAgent examples), and
# a console session's identity says invokedBy signin.amazonaws.com.
_CONSOLE_AGENTS = ("signin.amazonaws.com", "console.amazonaws.com", "aws internal")
_CONSOLE_AGENT = re.compile(r"^(?:console(?:\.[a-z0-9-]+)*\.amazonaws\.com|\[?[A-Za-z0-9]*Console/)", re.IGNORECASE)
# First match wins: Terraform and the CLI carry an SDK's name too, so they come first.
_CLIENTS: tuple[tuple[re.Pattern[str], str], ...] = (
    (re.compile(r"\bterraform\b", re.IGNORECASE), TERRAFORM),
    (re.compile(r"\bpulumi\b", re.IGNORECASE), "Pulumi"),
    (re.compile(r"^cloudformation\.amazonaws\.com$|\baws-cdk\b", re.IGNORECASE), CLOUDFORMATION),
    (re.compile(r"^aws-cli/", re.IGNORECASE), AWS_CLI),
    (re.compile(r"\bAWSPowerShell|\bAWS-PowerShell", re.IGNORECASE), "AWS Tools for PowerShell"),
    (re.compile(r"^boto3/|\bboto3/", re.IGNORECASE), "boto3"),
    (re.compile(r"^botocore/", re.IGNORECASE), "botocore"),
    (re.compile(r"\b(aws-sdk-[a-z0-9]+(?:-v\d+)?)/", re.IGNORECASE), ""),  # the SDK's own name
    (re.compile(r"\b(aws-go-sdk)\b", re.IGNORECASE), ""),
)
_SERVICE_HOST = re.compile(r"^([a-z0-9-]+(?:\.[a-z0-9-]+)*)\.amazonaws\.com$", re.IGNORECASE)


@dataclass(frozen=True)
class Actor:
    """Who made the change, from where, how and when. Strings are "" when the record did not say."""

    type: str  # userIdentity.type (Root, IAMUser, AssumedRole, ...); "Unknown" when absent
    principal: str  # the principal's ARN; for an AWS service or account, its name or id
    account_id: str = ""
    role_arn: str = ""  # AssumedRole / FederatedUser: the issuer (sessionContext.sessionIssuer.arn)
    session_name: str = ""  # AssumedRole: the role session name; FederatedUser: the federated name
    federated_provider: str = ""  # sessionContext.webIdFederationData.federatedProvider
    source_identity: str = ""  # sessionContext.sourceIdentity
    invoked_by: str = ""  # the AWS service that made the call on the principal's behalf
    mfa: bool | None = None  # sessionContext.attributes.mfaAuthenticated; None when not said
    source_ip: str = ""  # sourceIPAddress: an IP address, or an AWS service's name
    user_agent: str = ""
    client: str = UNKNOWN_CLIENT  # short label of the user agent (console, AWS CLI, boto3, ...)
    event_time: datetime | None = None
    event_id: str = ""
    api: str = ""  # eventName
    service: str = ""  # eventSource, e.g. ec2.amazonaws.com

    @property
    def is_root(self) -> bool:
        """The account's root user itself, not a service acting for it (invokedBy)."""
        return self.type == ROOT and not self.invoked_by

    @property
    def is_console(self) -> bool:
        return self.client == CONSOLE

    @property
    def console_without_mfa(self) -> bool:
        """A console change whose session did not sign in with MFA (unknown MFA is not "without")."""
        return self.is_console and self.mfa is False

    @property
    def source_ipv4(self) -> str | None:
        """The source address when it is a valid IPv4 address (ASFF's RemoteIpDetails takes only these)."""
        try:
            return str(ipaddress.IPv4Address(self.source_ip))
        except ValueError:
            return None

    @property
    def source_is_service(self) -> bool:
        """An AWS service called, and CloudTrail gives its name instead of an address."""
        return bool(_SERVICE_HOST.match(self.source_ip))

    def summary(self) -> str:
        """ "by <principal> (<type>, <client>) from <ip> at <time>", the parts the record gave."""
        text = f"by {self.principal or 'an unnamed principal'} ({self.type}, {self.client})"
        if self.source_ip:
            text += f" from {self.source_ip}"
        if self.event_time is not None:
            text += f" at {timefmt.format_display_seconds(self.event_time)}"
        return text

    def as_dict(self) -> dict[str, Any]:
        """The JSON report's `details.actor`: every key always present (None when unknown)."""
        return {
            "type": self.type,
            "principal": self.principal,
            "account_id": self.account_id or None,
            "role_arn": self.role_arn or None,
            "session_name": self.session_name or None,
            "federated_provider": self.federated_provider or None,
            "source_identity": self.source_identity or None,
            "invoked_by": self.invoked_by or None,
            "mfa": self.mfa,
            "source_ip": self.source_ip or None,
            "user_agent": self.user_agent or None,
            "client": self.client,
            "event_time": iso_time(self.event_time),
            "event_id": self.event_id or None,
            "api": self.api or None,
            "service": self.service or None,
        }


def actor_from_record(record: Mapping[str, Any], event_id: str | None = None) -> Actor:
    """The actor of one CloudTrail record (a mapping). Never raises; unknown shapes give what they can.

    `event_id` is the CloudTrail eventID when the caller already read it; the record's otherwise."""
    identity = record.get("userIdentity")
    identity = identity if isinstance(identity, Mapping) else {}
    context = _mapping(identity.get("sessionContext"))
    issuer = _mapping(context.get("sessionIssuer"))
    web = _mapping(context.get("webIdFederationData"))
    attributes = _mapping(context.get("attributes"))

    kind = _text(identity.get("type"), MAX_TYPE) or UNKNOWN
    arn = _text(identity.get("arn"))
    account = _text(identity.get("accountId"), 64)
    invoked_by = _text(identity.get("invokedBy"))
    principal = arn
    session = ""
    if kind == ASSUMED_ROLE:
        session = _after_last_slash(arn) if ":assumed-role/" in arn else _after_colon(identity.get("principalId"))
    elif kind == FEDERATED_USER:
        session = _after_last_slash(arn) if ":federated-user/" in arn else _after_colon(identity.get("principalId"))
    if not principal:
        # AWSService and AWSAccount identities carry no ARN: name the service or the account.
        principal = invoked_by if kind == AWS_SERVICE else ""
        principal = principal or (f"account {account}" if account else "") or _text(identity.get("principalId"))
    user_agent = _text(record.get("userAgent"))
    return Actor(
        type=kind,
        principal=principal,
        account_id=account,
        role_arn=_text(issuer.get("arn")),
        session_name=session,
        federated_provider=_text(web.get("federatedProvider")),
        source_identity=_text(context.get("sourceIdentity")),
        invoked_by=invoked_by,
        mfa=_flag(attributes.get("mfaAuthenticated")),
        source_ip=_text(record.get("sourceIPAddress")),
        user_agent=user_agent,
        client=client_label(user_agent, invoked_by),
        event_time=parse_event_time(record.get("eventTime")),
        event_id=_text(event_id) or _text(record.get("eventID"), 128),
        api=_text(record.get("eventName"), 128),
        service=_text(record.get("eventSource"), 128),
    )


def client_label(user_agent: str, invoked_by: str = "") -> str:
    """A short name for the client a user agent names: console, AWS CLI, boto3, aws-sdk-java,
    Terraform, CloudFormation, an AWS service's name, "other client", or "unknown client"."""
    agent = user_agent.strip()
    if agent.lower() in _CONSOLE_AGENTS or _CONSOLE_AGENT.match(agent):
        return CONSOLE
    if not agent and invoked_by.lower() == "signin.amazonaws.com":
        return CONSOLE
    for pattern, label in _CLIENTS:
        found = pattern.search(agent)
        if found:
            return label or found.group(1).lower()
    service = _SERVICE_HOST.match(agent)
    if service:
        return service.group(1).lower()  # autoscaling, backup, ... acting for someone
    return OTHER_CLIENT if agent else UNKNOWN_CLIENT


def parse_event_time(value: Any) -> datetime | None:
    """CloudTrail's eventTime (ISO 8601, UTC "Z"); None when absent or not a time."""
    return timefmt.parse_iso(value)


def iso_time(when: datetime | None) -> str | None:
    return None if when is None else timefmt.format_iso(when)


def _mapping(value: Any) -> Mapping[str, Any]:
    return value if isinstance(value, Mapping) else {}


def _text(value: Any, limit: int = MAX_TEXT) -> str:
    if not isinstance(value, str):
        return ""
    text: str = value.strip()
    return text[:limit]


def _flag(value: Any) -> bool | None:
    if isinstance(value, bool):
        return value
    if isinstance(value, str) and value.lower() in ("true", "false"):
        return value.lower() == "true"
    return None


def _after_last_slash(arn: str) -> str:
    return arn.rsplit("/", 1)[-1] if "/" in arn else ""


def _after_colon(principal_id: Any) -> str:
    text = _text(principal_id)
    return text.split(":", 1)[1] if ":" in text else ""
