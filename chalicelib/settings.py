"""Settings: one frozen dataclass, read and validated once from the environment.

Every setting is named by its environment variable; a bad value raises SettingsError naming it.
Nothing here runs at import time (Chalice's test client sets a stage's variables only during an
invocation), so callers use `load_settings()` when they need the values."""

from __future__ import annotations

import difflib
import enum
import ipaddress
import os
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, fields
from datetime import timedelta
from typing import Any, TypeVar
from urllib.parse import urlsplit

from chalicelib.model import CheckName, Mode, Severity
from chalicelib.rules import ids

T = TypeVar("T")


class SettingsError(ValueError):
    """A setting is missing or malformed. The message names the environment variable."""


DEFAULT_CRITICAL_PORTS = (22, 3389)
DEFAULT_HIGH_PORTS = (3306, 5432, 1433, 1521, 6379, 9200, 27017, 11211)
# Daily datapoints come from CloudWatch's hourly data; 90 days keeps one GetMetricData page per call
# (500 queries x 90 days is under its 100,800-datapoint page) and is longer than any sane idle window.
MAX_IDLE_LOOKBACK_DAYS = 90
# SWEEP_ACCOUNTS=organization: every ACTIVE account of the AWS Organization, listed at each sweep.
ORGANIZATION = "organization"


class FindingsDestination(enum.StrEnum):
    """Whose Security Hub receives a member account's findings (see chalicelib/fanout/worker.py)."""

    MEMBER = "member"
    HOME = "home"


class OwnerNotify(enum.StrEnum):
    """How instance owners hear about their own instances (OWNER_NOTIFY)."""

    OFF = "off"
    SLACK = "slack"
    EMAIL = "email"


SLACK_API_URL = "https://slack.com/api/"  # Slack's Web API; SLACK_API_URL points elsewhere locally

DEFAULT_PRODUCTION_ENVIRONMENTS = ("prod", "production")
DEFAULT_NON_PRODUCTION_ENVIRONMENTS = ("lab", "dev", "test", "staging", "sandbox", "qa")


@dataclass(frozen=True)
class Settings:
    mode: Mode = Mode.AUDIT
    region: str | None = None
    open_cidrs: tuple[str, ...] = ("0.0.0.0/0", "::/0")
    critical_ports: tuple[int, ...] = DEFAULT_CRITICAL_PORTS
    high_ports: tuple[int, ...] = DEFAULT_HIGH_PORTS
    finding_refresh_hours: int = 24
    aws_max_attempts: int = 5
    sweep_schedule: str = "rate(1 hour)"
    # Trust boundary for events: empty means "this function's own account / region only";
    # (ORGANIZATION,) every ACTIVE account of the Organization (chalicelib/events/routing.py).
    allowed_accounts: tuple[str, ...] = ()
    sweep_regions: tuple[str, ...] = ()
    # Slack: the webhook URL is a secret. It normally lives in an SSM SecureString parameter;
    # SLACK_WEBHOOK_URL is for local runs, and is never shown by repr (settings may be logged).
    slack_webhook_parameter: str | None = None
    slack_webhook_url: str | None = field(default=None, repr=False)
    slack_min_severity: Severity = Severity.HIGH
    metrics_namespace: str = "ec2-warden"
    # Which checks run (WARDEN_CHECKS); every registered check unless a stage narrows it.
    checks: tuple[str, ...] = tuple(c.value for c in CheckName)
    # Environment map (launch-hygiene, environment-drift). Tag values are compared lowercased.
    environment_tag: str = "Environment"
    production_environments: tuple[str, ...] = DEFAULT_PRODUCTION_ENVIRONMENTS
    non_production_environments: tuple[str, ...] = DEFAULT_NON_PRODUCTION_ENVIRONMENTS
    production_accounts: tuple[str, ...] = ()
    production_vpcs: tuple[str, ...] = ()
    production_subnets: tuple[str, ...] = ()
    non_production_vpcs: tuple[str, ...] = ()
    non_production_cidrs: tuple[str, ...] = ()
    required_tags: tuple[str, ...] = ("Owner", "Environment")
    ami_max_age_days: int = 90
    # --- patch loop; it shares environment_tag and production_environments above.
    ssm_registration_grace_minutes: int = 30
    patch_scan_max_age_days: int = 7
    patch_operation: str = "Install"
    patch_reboot_option: str = "NoReboot"
    patch_cooldown_hours: int = 24
    # Per SendCommand (at most 50 instances): 10% is 5 at a time, so a bad patch stops early.
    patch_max_concurrency: str = "10%"
    patch_max_errors: str = "10%"
    patch_output_s3_bucket: str | None = None
    # Idle lifecycle; defaults reproduce Trusted Advisor's Low Utilization rule, every day.
    idle_lookback_days: int = 14
    idle_cpu_percent: float = 10.0
    idle_network_mb: float = 5.0
    idle_min_days: int | None = None  # None: every day of the look-back window
    idle_grace_hours: int = 72
    stopped_max_days: int = 30

    @property
    def idle_days_needed(self) -> int:
        return self.idle_lookback_days if self.idle_min_days is None else self.idle_min_days

    # --- organisation-wide fan-out
    # Account ids to sweep, or (ORGANIZATION,); empty: the function's own account.
    sweep_accounts: tuple[str, ...] = ()
    # Set: the scheduled sweep sends one message per account x region here instead of sweeping.
    fanout_queue_url: str | None = None
    # The queue the sweep_worker function is triggered by (read when Chalice loads the app).
    fanout_queue_name: str = "ec2-warden-fanout"
    # The member-account roles (infra/member-role.yaml): the writer an enforce deployment assumes,
    # and the reader every other mode assumes (it trusts the notify stage; the writer does not).
    member_role: str = "ec2-warden-member"
    member_reader_role: str = "ec2-warden-member-reader"
    findings_destination: FindingsDestination = FindingsDestination.MEMBER
    # --- hardening: per-instance leases against concurrent duplicate stops and patch runs
    lease_table: str | None = None
    # --- who did it: raise a reachability change by root or a console session without MFA one
    # step (planning_actor.py), and tag the instances a RunInstances launched with their launcher.
    escalate_unusual_actor: bool = True
    tag_launched_by: bool = False
    # Queued events: a batch's account x region naming more instances than this is read like a sweep.
    event_batch_sweep_above: int = 1000

    @property
    def member_role_for_mode(self) -> str:
        """The member role this deployment assumes: only enforce needs (and may get) the writer."""
        return self.member_role if self.mode is Mode.ENFORCE else self.member_reader_role

    # --- owner notifications and cost estimates (README "Owner messages and cost estimates")
    owner_tag: str = "Owner"
    owner_notify: OwnerNotify = OwnerNotify.OFF
    # The Slack bot token is a secret, like the webhook URL: an SSM SecureString in the function's
    # own region, or SLACK_BOT_TOKEN for local runs (never shown by repr).
    slack_bot_token_parameter: str | None = None
    slack_bot_token: str | None = field(default=None, repr=False)
    slack_api_url: str = SLACK_API_URL
    owner_email_sender: str | None = None
    cost_estimates: bool = True
    # Exceptions (rules/exceptions.py): the longest an exception may run, from now.
    exception_max_days: int = 90
    exceptions_table: str | None = None  # the approved-exceptions table (infra/state.yaml); unset: tags only

    @property
    def sweeps_organization(self) -> bool:
        return self.sweep_accounts == (ORGANIZATION,)

    @property
    def serves_organization(self) -> bool:
        """ALLOWED_ACCOUNTS=organization: events of every ACTIVE account of the Organization."""
        return self.allowed_accounts == (ORGANIZATION,)

    @property
    def sweep_interval(self) -> timedelta | None:
        """Time between two scheduled sweeps, for a rate(...) schedule; None for cron(...)."""
        return schedule_interval(self.sweep_schedule)

    @property
    def slack_enabled(self) -> bool:
        return bool(self.slack_webhook_url or self.slack_webhook_parameter)


# Environment variable -> (field, parser). The README's settings table mirrors this.
def _parsers() -> Mapping[str, tuple[str, Callable[[str, str], Any]]]:
    return {
        "WARDEN_MODE": ("mode", _parse_mode),
        "AWS_REGION": ("region", _parse_region),
        "EXPOSURE_OPEN_CIDRS": ("open_cidrs", _parse_cidrs),
        "EXPOSURE_CRITICAL_PORTS": ("critical_ports", _parse_ports),
        "EXPOSURE_HIGH_PORTS": ("high_ports", _parse_ports),
        "FINDING_REFRESH_HOURS": ("finding_refresh_hours", _int_between(1, 24 * 80)),
        "AWS_MAX_ATTEMPTS": ("aws_max_attempts", _int_between(1, 10)),
        "SWEEP_SCHEDULE": ("sweep_schedule", _parse_schedule),
        "ALLOWED_ACCOUNTS": ("allowed_accounts", _parse_sweep_accounts),
        "SWEEP_REGIONS": ("sweep_regions", _parse_regions),
        "SLACK_WEBHOOK_PARAMETER": ("slack_webhook_parameter", _parse_parameter_name),
        "SLACK_WEBHOOK_URL": ("slack_webhook_url", _parse_secret_url),
        "SLACK_MIN_SEVERITY": ("slack_min_severity", _parse_severity),
        "METRICS_NAMESPACE": ("metrics_namespace", _parse_namespace),
        # --- patch loop
        "SSM_REGISTRATION_GRACE_MINUTES": ("ssm_registration_grace_minutes", _int_between(0, 24 * 60)),
        "PATCH_SCAN_MAX_AGE_DAYS": ("patch_scan_max_age_days", _int_between(1, 365)),
        "PATCH_OPERATION": ("patch_operation", _one_of("Install", "Scan")),
        "PATCH_REBOOT_OPTION": ("patch_reboot_option", _one_of("NoReboot", "RebootIfNeeded")),
        "PATCH_COOLDOWN_HOURS": ("patch_cooldown_hours", _int_between(1, 24 * 30)),
        "PATCH_MAX_CONCURRENCY": ("patch_max_concurrency", _parse_ssm_rate(allow_zero=False)),
        "PATCH_MAX_ERRORS": ("patch_max_errors", _parse_ssm_rate(allow_zero=True)),
        "PATCH_OUTPUT_S3_BUCKET": ("patch_output_s3_bucket", _parse_bucket),
        # Idle lifecycle
        "IDLE_LOOKBACK_DAYS": ("idle_lookback_days", _int_between(1, MAX_IDLE_LOOKBACK_DAYS)),
        "IDLE_CPU_PERCENT": ("idle_cpu_percent", _float_between(0.0, 100.0)),
        "IDLE_NETWORK_MB": ("idle_network_mb", _float_between(0.0, 1_000_000.0)),
        "IDLE_MIN_DAYS": ("idle_min_days", _int_between(1, MAX_IDLE_LOOKBACK_DAYS)),
        "IDLE_GRACE_HOURS": ("idle_grace_hours", _int_between(1, 24 * 90)),
        "STOPPED_MAX_DAYS": ("stopped_max_days", _int_between(1, 3650)),
        # --- organisation-wide fan-out
        "SWEEP_ACCOUNTS": ("sweep_accounts", _parse_sweep_accounts),
        "FANOUT_QUEUE_URL": ("fanout_queue_url", _parse_queue_url),
        "FANOUT_QUEUE_NAME": ("fanout_queue_name", _parse_queue_name),
        "WARDEN_MEMBER_ROLE": ("member_role", _parse_role_name),
        "WARDEN_MEMBER_READER_ROLE": ("member_reader_role", _parse_role_name),
        "FINDINGS_DESTINATION": ("findings_destination", _parse_findings_destination),
        "WARDEN_CHECKS": ("checks", _parse_checks),
        # Environment map: which networks and Environment tag values are production.
        "ENVIRONMENT_TAG": ("environment_tag", _parse_tag_key),
        "PRODUCTION_ENVIRONMENTS": ("production_environments", _parse_environments),
        "NON_PRODUCTION_ENVIRONMENTS": ("non_production_environments", _parse_environments),
        "PRODUCTION_ACCOUNTS": ("production_accounts", _parse_accounts),
        "PRODUCTION_VPCS": ("production_vpcs", _parse_ids(_VPC_ID, "a VPC id (vpc-...)")),
        "PRODUCTION_SUBNETS": ("production_subnets", _parse_ids(_SUBNET_ID, "a subnet id (subnet-...)")),
        "NON_PRODUCTION_VPCS": ("non_production_vpcs", _parse_ids(_VPC_ID, "a VPC id (vpc-...)")),
        "NON_PRODUCTION_CIDRS": ("non_production_cidrs", _parse_cidrs),
        "REQUIRED_TAGS": ("required_tags", _parse_tag_keys),
        "AMI_MAX_AGE_DAYS": ("ami_max_age_days", _int_between(1, 3650)),
        # --- hardening
        "LEASE_TABLE": ("lease_table", _parse_table_name),
        # --- who did it
        "ESCALATE_UNUSUAL_ACTOR": ("escalate_unusual_actor", _parse_switch),
        "TAG_LAUNCHED_BY": ("tag_launched_by", _parse_switch),
        "EVENT_BATCH_SWEEP_ABOVE": ("event_batch_sweep_above", _int_between(1, 1_000_000)),
        # --- owner notifications and cost estimates
        "OWNER_TAG": ("owner_tag", _parse_tag_key),
        "OWNER_NOTIFY": ("owner_notify", _parse_owner_notify),
        "SLACK_BOT_TOKEN_PARAMETER": ("slack_bot_token_parameter", _parse_parameter_name),
        "SLACK_BOT_TOKEN": ("slack_bot_token", _parse_bot_token),
        "SLACK_API_URL": ("slack_api_url", _parse_api_url),
        "OWNER_EMAIL_SENDER": ("owner_email_sender", _parse_email),
        "COST_ESTIMATES": ("cost_estimates", _parse_on_off),
        "EXCEPTION_MAX_DAYS": ("exception_max_days", _int_between(1, 365)),
        "EXCEPTIONS_TABLE": ("exceptions_table", _parse_table_name),
    }


def load_settings(environ: Mapping[str, str] | None = None, **overrides: Any) -> Settings:
    """Read every setting from `environ` (default: the process environment) and validate it.

    `overrides` are field values that win over the environment (the CLI's flags)."""
    env = os.environ if environ is None else environ
    values: dict[str, Any] = {}
    problems: list[str] = []  # every bad setting, in one message: a user fixes them all at once
    for var, (name, parse) in _parsers().items():
        raw = env.get(var)
        if name == "region" and not raw:
            raw = env.get("AWS_DEFAULT_REGION")
        if raw is None or raw.strip() == "":
            continue
        try:
            values[name] = parse(var, raw.strip())
        except SettingsError as exc:
            problems.append(str(exc))
    known = {f.name for f in fields(Settings)}
    for name, value in overrides.items():
        if name not in known:
            raise SettingsError(f"unknown setting {name!r}")
        if value is not None:
            values[name] = value
    if problems:
        raise SettingsError(
            problems[0] if len(problems) == 1 else f"{len(problems)} bad settings: " + "; ".join(problems)
        )
    settings = Settings(**values)
    if set(settings.critical_ports) & set(settings.high_ports):
        both = sorted(set(settings.critical_ports) & set(settings.high_ports))
        raise SettingsError(
            f"EXPOSURE_CRITICAL_PORTS and EXPOSURE_HIGH_PORTS both list {both}: a port has one severity"
        )
    if settings.idle_min_days is not None and settings.idle_min_days > settings.idle_lookback_days:
        raise SettingsError(
            f"IDLE_MIN_DAYS={settings.idle_min_days} is more than IDLE_LOOKBACK_DAYS={settings.idle_lookback_days}:"
            " an instance cannot be idle on more days than the window holds"
        )
    _check_fanout(settings)
    _check_environment_map(settings)
    if settings.owner_notify is OwnerNotify.EMAIL and not settings.owner_email_sender:
        raise SettingsError("OWNER_NOTIFY=email needs OWNER_EMAIL_SENDER (an address verified in SES)")
    return settings


def setting_names() -> tuple[str, ...]:
    """Every environment variable ec2-warden reads as a setting."""
    return (*_parsers(), "AWS_DEFAULT_REGION")


def near_misses(environ: Mapping[str, str]) -> list[str]:
    """Warnings for variables that are not settings but one edit away from one (IDLE_CPU_PERCNT):
    a typo would otherwise leave the default in force without a word."""
    names = setting_names()
    warnings = []
    for var in sorted(environ):
        if var in names or not var.isupper():
            continue
        for candidate in difflib.get_close_matches(var, names, n=3, cutoff=0.8):
            if _one_edit_apart(var, candidate):
                warnings.append(f"{var} is not a setting and has no effect; did you mean {candidate}?")
                break
    return warnings


def _one_edit_apart(a: str, b: str) -> bool:
    """One insertion, deletion, substitution, or swap of two neighbours turns a into b."""
    if a == b or abs(len(a) - len(b)) > 1:
        return False
    if len(a) == len(b):
        diff = [i for i, (x, y) in enumerate(zip(a, b, strict=True)) if x != y]
        return len(diff) == 1 or (
            len(diff) == 2 and diff[1] == diff[0] + 1 and a[diff[0]] == b[diff[1]] and a[diff[1]] == b[diff[0]]
        )
    short, long_ = (a, b) if len(a) < len(b) else (b, a)
    return any(long_[:i] + long_[i + 1 :] == short for i in range(len(long_)))


def parse_flag(var: str, raw: str, flag: str) -> Any:
    """A CLI flag that stands for a setting (--checks for WARDEN_CHECKS), validated as the setting is;
    the message names the flag."""
    return _parsers()[var][1](flag, raw.strip())


def _check_fanout(settings: Settings) -> None:
    """Fan-out settings that would silently sweep less than they say."""
    if settings.sweep_accounts and not settings.fanout_queue_url:
        raise SettingsError(
            "SWEEP_ACCOUNTS is set but FANOUT_QUEUE_URL is not: without the fan-out queue the sweep "
            "covers only its own account"
        )
    if settings.fanout_queue_url and settings.fanout_queue_url.rsplit("/", 1)[-1] != settings.fanout_queue_name:
        raise SettingsError(
            f"FANOUT_QUEUE_URL names queue {settings.fanout_queue_url.rsplit('/', 1)[-1]!r} but the worker is "
            f"triggered by FANOUT_QUEUE_NAME={settings.fanout_queue_name!r}: messages would never be read"
        )


def _check_environment_map(settings: Settings) -> None:
    """A value or a network is production or not; never both."""
    both = sorted(set(settings.production_environments) & set(settings.non_production_environments))
    if both:
        raise SettingsError(
            f"PRODUCTION_ENVIRONMENTS and NON_PRODUCTION_ENVIRONMENTS both list {both}: "
            "an environment is production or not"
        )
    vpcs = sorted(set(settings.production_vpcs) & set(settings.non_production_vpcs))
    if vpcs:
        raise SettingsError(f"PRODUCTION_VPCS and NON_PRODUCTION_VPCS both list {vpcs}: a VPC is production or not")
    for field_name, var in (("environment_tag", "ENVIRONMENT_TAG"), ("required_tags", "REQUIRED_TAGS")):
        value = getattr(settings, field_name)
        for key in (value,) if isinstance(value, str) else value:
            _parse_tag_key(var, key)
    for field_name, var in (
        ("production_environments", "PRODUCTION_ENVIRONMENTS"),
        ("non_production_environments", "NON_PRODUCTION_ENVIRONMENTS"),
    ):
        _parse_environments(var, ",".join(getattr(settings, field_name)))


def _parse_mode(var: str, raw: str) -> Mode:
    try:
        return Mode(raw.lower())
    except ValueError:
        allowed = ", ".join(m.value for m in Mode)
        raise SettingsError(f"{var}={raw!r} is not a mode; use one of: {allowed}") from None


def _parse_region(var: str, raw: str) -> str:
    if not ids.is_region(raw):
        raise SettingsError(f"{var}={raw!r} is not an AWS region name (like eu-west-1)")
    return raw


def _parse_accounts(var: str, raw: str) -> tuple[str, ...]:
    out = _split(raw)
    for item in out:
        if not ids.is_account_id(item):
            raise SettingsError(f"{var}: {item!r} is not a 12-digit AWS account id")
    return tuple(dict.fromkeys(out))


def _parse_regions(var: str, raw: str) -> tuple[str, ...]:
    return tuple(dict.fromkeys(_parse_region(var, item) for item in _split(raw)))


def _parse_cidrs(var: str, raw: str) -> tuple[str, ...]:
    out = []
    for item in _split(raw):
        try:
            out.append(str(ipaddress.ip_network(item, strict=False)))
        except ValueError:
            raise SettingsError(f"{var}: {item!r} is not a CIDR (like 0.0.0.0/0 or ::/0)") from None
    if not out:
        raise SettingsError(f"{var} is set but lists no CIDR")
    return tuple(dict.fromkeys(out))


def _parse_ports(var: str, raw: str) -> tuple[int, ...]:
    out = []
    for item in _split(raw):
        if not item.isdigit() or not 0 <= int(item) <= 65535:
            raise SettingsError(f"{var}: {item!r} is not a port number (0-65535)")
        out.append(int(item))
    return tuple(sorted(set(out)))


def _int_between(low: int, high: int) -> Callable[[str, str], int]:
    def parse(var: str, raw: str) -> int:
        try:
            value = int(raw)
        except ValueError:
            raise SettingsError(f"{var}={raw!r} is not a whole number") from None
        if not low <= value <= high:
            raise SettingsError(f"{var}={value} is out of range ({low} to {high})")
        return value

    return parse


def _float_between(low: float, high: float) -> Callable[[str, str], float]:
    def parse(var: str, raw: str) -> float:
        try:
            value = float(raw)
        except ValueError:
            raise SettingsError(f"{var}={raw!r} is not a number") from None
        if not low <= value <= high:  # also refuses nan; inf is out of range
            raise SettingsError(f"{var}={raw} is out of range ({low:g} to {high:g})")
        return value

    return parse


_RATE = re.compile(r"^rate\((\d+) (minute|minutes|hour|hours|day|days)\)$")
_RATE_UNIT = {"minute": timedelta(minutes=1), "hour": timedelta(hours=1), "day": timedelta(days=1)}


def schedule_interval(schedule: str) -> timedelta | None:
    """rate(N unit) -> N units; None for a cron(...) expression (no fixed interval)."""
    found = _RATE.match(schedule)
    if found is None:
        return None
    return int(found.group(1)) * _RATE_UNIT[found.group(2).rstrip("s")]


def _parse_schedule(var: str, raw: str) -> str:
    if raw.startswith("cron(") and raw.endswith(")"):
        return raw
    if not schedule_interval(raw):  # not a rate(...), or rate(0 ...)
        raise SettingsError(
            f"{var}={raw!r} must be an EventBridge rate(N minutes|hours|days) with N >= 1, or cron(...)"
        )
    return raw


_PARAMETER_NAME = re.compile(
    rf"^(arn:aws[a-z-]*:ssm:[a-z0-9-]+:{ids.ACCOUNT_ID_TEXT}:parameter)?/?[A-Za-z0-9_.\-/]{{1,2048}}$"
)
_NAMESPACE = re.compile(r"^[A-Za-z0-9.\-_/#:]{1,255}$")


def _parse_parameter_name(var: str, raw: str) -> str:
    if not _PARAMETER_NAME.match(raw):
        raise SettingsError(f"{var}={raw!r} is not an SSM parameter name (like /ec2-warden/slack-webhook)")
    return raw


def _parse_secret_url(var: str, raw: str) -> str:
    # The value is a secret: the message names the variable and never repeats the value.
    parts = urlsplit(raw)
    if parts.scheme not in ("https", "http") or not parts.netloc:
        raise SettingsError(f"{var} is not an http(s) URL (value not shown: it is a secret)")
    return raw


def _parse_severity(var: str, raw: str) -> Severity:
    try:
        return Severity(raw.upper())
    except ValueError:
        allowed = ", ".join(s.value for s in Severity)
        raise SettingsError(f"{var}={raw!r} is not a severity; use one of: {allowed}") from None


def _parse_namespace(var: str, raw: str) -> str:
    if not _NAMESPACE.match(raw) or raw.startswith("AWS/"):
        raise SettingsError(f"{var}={raw!r} is not a CloudWatch namespace (letters, digits, . - _ / # :; not AWS/)")
    return raw


_QUEUE_NAME = re.compile(r"^[A-Za-z0-9_-]{1,80}$")
_ROLE_NAME = re.compile(r"^[\w+=,.@-]{1,64}$")


def _parse_sweep_accounts(var: str, raw: str) -> tuple[str, ...]:
    if raw.lower() == ORGANIZATION:
        return (ORGANIZATION,)
    if ORGANIZATION in raw.lower():
        raise SettingsError(f"{var}: {ORGANIZATION!r} stands alone (it means every ACTIVE account of the Organization)")
    accounts = _parse_accounts(var, raw)
    if not accounts:
        raise SettingsError(f"{var} is set but lists no account")
    return accounts


def _parse_queue_url(var: str, raw: str) -> str:
    # https://sqs.<region>.amazonaws.com/<account>/<name>; http and other hosts for local endpoints.
    scheme, _, rest = raw.partition("://")
    parts = rest.split("/")
    if scheme not in ("https", "http") or len(parts) != 3 or not _QUEUE_NAME.match(parts[2]) or not parts[0]:
        raise SettingsError(
            f"{var}={raw!r} is not an SQS queue URL (https://sqs.<region>.amazonaws.com/<account>/<name>)"
        )
    return raw


def _parse_queue_name(var: str, raw: str) -> str:
    if not _QUEUE_NAME.match(raw):
        raise SettingsError(f"{var}={raw!r} is not an SQS queue name (1-80 letters, digits, - and _)")
    return raw


def _parse_role_name(var: str, raw: str) -> str:
    if not _ROLE_NAME.match(raw):
        raise SettingsError(f"{var}={raw!r} is not an IAM role name (1-64 of letters, digits and +=,.@_-)")
    return raw


def _parse_findings_destination(var: str, raw: str) -> FindingsDestination:
    try:
        return FindingsDestination(raw.lower())
    except ValueError:
        allowed = ", ".join(d.value for d in FindingsDestination)
        raise SettingsError(f"{var}={raw!r}: use one of {allowed}") from None


def _parse_switch(var: str, raw: str) -> bool:
    value = raw.lower()
    if value in ("on", "true"):
        return True
    if value in ("off", "false"):
        return False
    raise SettingsError(f"{var}={raw!r}: use on or off")


_TABLE_NAME = re.compile(r"^[A-Za-z0-9_.-]{3,255}$")


def _parse_table_name(var: str, raw: str) -> str:
    if not _TABLE_NAME.match(raw):
        raise SettingsError(f"{var}={raw!r} is not a DynamoDB table name (3-255 of letters, digits, _ . -)")
    return raw


def _one_of(*allowed: str) -> Callable[[str, str], str]:
    """Case-insensitive on the way in, AWS's spelling on the way out."""

    def parse(var: str, raw: str) -> str:
        for value in allowed:
            if raw.lower() == value.lower():
                return value
        raise SettingsError(f"{var}={raw!r}: use one of {', '.join(allowed)}")

    return parse


def _parse_ssm_rate(*, allow_zero: bool) -> Callable[[str, str], str]:
    """SendCommand's MaxConcurrency / MaxErrors: a count or a percentage, as SSM's API patterns allow."""

    def parse(var: str, raw: str) -> str:
        number = raw[:-1] if raw.endswith("%") else raw
        if not number.isdigit() or len(number) > 7:
            raise SettingsError(f"{var}={raw!r} is not a count (like 5) or a percentage (like 10%)")
        value = int(number)
        low = 0 if allow_zero else 1
        if value < low or (raw.endswith("%") and value > 100):
            limit = "0-100%" if allow_zero else "1-100%"
            raise SettingsError(f"{var}={raw!r} is out of range ({low} or more, or {limit})")
        return f"{value}%" if raw.endswith("%") else str(value)

    return parse


_BUCKET = re.compile(r"^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$")


def _parse_bucket(var: str, raw: str) -> str:
    if not _BUCKET.match(raw) or ".." in raw:
        raise SettingsError(f"{var}={raw!r} is not an S3 bucket name")
    return raw


_VPC_ID = ids.VPC_ID
_SUBNET_ID = ids.SUBNET_ID
# What EC2 accepts in a tag (letters, digits, spaces and + - = . _ : / @).
_TAG_TEXT = re.compile(r"^[\w .:/=+\-@]*$")


def _parse_checks(var: str, raw: str) -> tuple[str, ...]:
    names = [item.lower() for item in _split(raw)]
    if names == ["all"]:
        return tuple(c.value for c in CheckName)
    known = {c.value for c in CheckName}
    unknown = [n for n in names if n not in known]
    if unknown or not names:
        raise SettingsError(
            f"{var}: {', '.join(unknown) or raw!r} is not a check; use all or some of: {', '.join(sorted(known))}"
        )
    return tuple(dict.fromkeys(names))


def _parse_ids(pattern: re.Pattern[str], what: str) -> Callable[[str, str], tuple[str, ...]]:
    def parse(var: str, raw: str) -> tuple[str, ...]:
        out = []
        for item in _split(raw):
            if not pattern.match(item):
                raise SettingsError(f"{var}: {item!r} is not {what}")
            out.append(item)
        return tuple(dict.fromkeys(out))

    return parse


def _parse_tag_key(var: str, raw: str) -> str:
    key = raw.strip()
    if not key or len(key) > 128 or not _TAG_TEXT.match(key):
        raise SettingsError(f"{var}: {raw!r} is not a tag key (1-128 letters, digits, spaces, + - = . _ : / @)")
    if key.lower().startswith("aws:"):
        raise SettingsError(f"{var}: {raw!r} starts with aws:, which AWS reserves")
    return key


def _parse_tag_keys(var: str, raw: str) -> tuple[str, ...]:
    return tuple(dict.fromkeys(_parse_tag_key(var, item) for item in _split(raw)))


def _parse_environments(var: str, raw: str) -> tuple[str, ...]:
    """Environment tag values, lowercased: tags are matched without regard to case."""
    out = []
    for item in _split(raw):
        if len(item) > 256 or not _TAG_TEXT.match(item):
            raise SettingsError(f"{var}: {item!r} is not an environment tag value (letters, digits, + - = . _ : / @)")
        out.append(item.lower())
    if not out:
        raise SettingsError(f"{var} is set but lists no environment")
    return tuple(dict.fromkeys(out))


def _parse_owner_notify(var: str, raw: str) -> OwnerNotify:
    try:
        return OwnerNotify(raw.lower())
    except ValueError:
        raise SettingsError(f"{var}={raw!r}: use one of {', '.join(o.value for o in OwnerNotify)}") from None


def _parse_bot_token(var: str, raw: str) -> str:
    # A secret: the message names the variable and never repeats the value.
    if not raw.startswith("xox") or any(c.isspace() for c in raw):
        raise SettingsError(f"{var} is not a Slack token (xoxb-...; value not shown: it is a secret)")
    return raw


def _parse_api_url(var: str, raw: str) -> str:
    parts = urlsplit(raw)
    if parts.scheme not in ("https", "http") or not parts.netloc:
        raise SettingsError(f"{var}={raw!r} is not an http(s) URL (like {SLACK_API_URL})")
    return raw if raw.endswith("/") else raw + "/"


_EMAIL = re.compile(r"^[^@\s<>]+@[^@\s<>]+\.[^@\s<>]+$")


def is_email(text: str) -> bool:
    return bool(_EMAIL.match(text.strip()))


def _parse_email(var: str, raw: str) -> str:
    if not is_email(raw):
        raise SettingsError(f"{var}={raw!r} is not an email address")
    return raw


def _parse_on_off(var: str, raw: str) -> bool:
    value = raw.lower()
    if value not in ("on", "off"):
        raise SettingsError(f"{var}={raw!r}: use on or off")
    return value == "on"


def _split(raw: str) -> list[str]:
    return [p.strip() for p in raw.split(",") if p.strip()]


SETTING_NAMES: tuple[str, ...] = tuple(_parsers())
