"""Plain data that crosses module boundaries: what the snapshot read, what checks found, what the
plan wants done, and what the report says. No boto3 here; raw AWS dicts never leave their adapter."""

from __future__ import annotations

import enum
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from types import MappingProxyType
from typing import TYPE_CHECKING, Any, ClassVar

from chalicelib.rules.partitions import instance_arn

if TYPE_CHECKING:
    from chalicelib.rules.actor import Actor


class Severity(enum.StrEnum):
    INFORMATIONAL = "INFORMATIONAL"
    LOW = "LOW"
    MEDIUM = "MEDIUM"
    HIGH = "HIGH"
    CRITICAL = "CRITICAL"

    @property
    def rank(self) -> int:
        return _SEVERITY_RANK[self]


_SEVERITY_RANK = {s: i for i, s in enumerate(Severity)}


class CheckName(enum.StrEnum):
    """Public check names: users filter and script on these, so they only ever get added."""

    PUBLIC_EXPOSURE = "public-exposure"
    # --- patch loop
    SSM_UNMANAGED = "ssm-unmanaged"
    PATCH_NONCOMPLIANT = "patch-noncompliant"
    # Zombie hunting
    IDLE = "idle"
    STOPPED_LONG = "stopped-long"
    LAUNCH_HYGIENE = "launch-hygiene"
    ENVIRONMENT_DRIFT = "environment-drift"


class Mode(enum.StrEnum):
    AUDIT = "audit"
    NOTIFY = "notify"
    ENFORCE = "enforce"


class ActionKind(enum.StrEnum):
    IMPORT_FINDINGS = "import-findings"
    RESOLVE_FINDINGS = "resolve-findings"
    NOTIFY_SLACK = "notify-slack"
    # --- patch loop: SendCommand AWS-RunPatchBaseline, then the warden:patch-requested-at tag
    PATCH = "patch"
    # Idle lifecycle in instance tags
    MARK_IDLE = "mark-idle"
    UNMARK_IDLE = "unmark-idle"
    STOP_IDLE = "stop-idle"
    # RunInstances in enforce mode with TAG_LAUNCHED_BY=on: warden:launched-by on the new instances
    TAG_LAUNCHED_BY = "tag-launched-by"
    # One message per instance owner (Slack direct message, or email through SES): notify/owner.py
    NOTIFY_OWNER = "notify-owner"
    # Exceptions: Workflow.Status SUPPRESSED (with a Note) while one holds, NEW again when it ends.
    SUPPRESS_FINDINGS = "suppress-findings"
    REOPEN_FINDINGS = "reopen-findings"


# Which modes may carry out each kind of action. Everything else is printed, not done.
ACTION_MODES: Mapping[ActionKind, frozenset[Mode]] = MappingProxyType(
    {
        ActionKind.IMPORT_FINDINGS: frozenset({Mode.NOTIFY, Mode.ENFORCE}),
        ActionKind.RESOLVE_FINDINGS: frozenset({Mode.NOTIFY, Mode.ENFORCE}),
        ActionKind.NOTIFY_SLACK: frozenset({Mode.NOTIFY, Mode.ENFORCE}),
        ActionKind.PATCH: frozenset({Mode.ENFORCE}),
        # Tags are visible state, but DESIGN's mode table writes tags in enforce only; the other
        # modes print the planned marks.
        ActionKind.MARK_IDLE: frozenset({Mode.ENFORCE}),
        ActionKind.UNMARK_IDLE: frozenset({Mode.ENFORCE}),
        ActionKind.STOP_IDLE: frozenset({Mode.ENFORCE}),
        ActionKind.TAG_LAUNCHED_BY: frozenset({Mode.ENFORCE}),
        ActionKind.NOTIFY_OWNER: frozenset({Mode.NOTIFY, Mode.ENFORCE}),
        ActionKind.SUPPRESS_FINDINGS: frozenset({Mode.NOTIFY, Mode.ENFORCE}),
        ActionKind.REOPEN_FINDINGS: frozenset({Mode.NOTIFY, Mode.ENFORCE}),
    }
)


# ---------------------------------------------------------------------------------------------
# What the snapshot reads


@dataclass(frozen=True, slots=True)  # 10,000 of each in a sweep (bench/)
class NetworkInterface:
    id: str
    device_index: int
    group_ids: tuple[str, ...]
    private_ip: str | None = None
    public_ip: str | None = None
    # An Elastic IP is public by definition, whatever its address looks like (moto hands out 127.x).
    public_ip_is_elastic: bool = False
    ipv6_addresses: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)  # 10,000 of each in a sweep (bench/)
class Instance:
    id: str
    state: str
    account: str
    region: str
    instance_type: str = ""
    image_id: str = ""
    vpc_id: str | None = None
    subnet_id: str | None = None
    launch_time: datetime | None = None
    tags: Mapping[str, str] = field(default_factory=dict)
    network_interfaces: tuple[NetworkInterface, ...] = ()
    # Instance-level view, used when an instance reports no interfaces (EC2-Classic era records).
    public_ip: str | None = None
    security_group_ids: tuple[str, ...] = ()
    platform: str | None = None  # "windows" or None (Linux/UNIX), as DescribeInstances says
    metadata_http_tokens: str | None = None  # "required" (IMDSv2 only) or "optional" (IMDSv1 allowed)
    iam_instance_profile_arn: str | None = None
    volume_ids: tuple[str, ...] = ()  # EBS volumes attached (block device mappings)
    # EC2's free-text reason, e.g. "User initiated (2026-01-02 03:04:05 GMT)"; dates a stop.
    state_transition_reason: str = ""
    tenancy: str = ""  # Placement.Tenancy: "default", "dedicated" or "host" ("" when not said)

    @property
    def name(self) -> str | None:
        return self.tags.get("Name")

    @property
    def arn(self) -> str:
        return instance_arn(self.region, self.account, self.id)

    @property
    def all_group_ids(self) -> tuple[str, ...]:
        seen: dict[str, None] = dict.fromkeys(self.security_group_ids)
        for eni in self.network_interfaces:
            seen.update(dict.fromkeys(eni.group_ids))
        return tuple(seen)

    @property
    def public_ipv4_addresses(self) -> tuple[str, ...]:
        found = [eni.public_ip for eni in self.network_interfaces if eni.public_ip]
        if not found and self.public_ip:
            found.append(self.public_ip)
        return tuple(found)

    @property
    def ipv6_addresses(self) -> tuple[str, ...]:
        return tuple(a for eni in self.network_interfaces for a in eni.ipv6_addresses)


@dataclass(frozen=True)
class IngressRule:
    protocol: str  # "-1" (all), "tcp", "udp", "icmp", "icmpv6" or an IANA number as a string
    from_port: int | None = None
    to_port: int | None = None
    ipv4_ranges: tuple[str, ...] = ()
    ipv6_ranges: tuple[str, ...] = ()
    referenced_group_ids: tuple[str, ...] = ()
    prefix_list_ids: tuple[str, ...] = ()

    def describe(self) -> str:
        if self.protocol == "-1":
            return "all traffic"
        if self.from_port is None or self.from_port == -1:
            return f"{self.protocol} all"
        if self.from_port == self.to_port:
            return f"{self.protocol} {self.from_port}"
        return f"{self.protocol} {self.from_port}-{self.to_port}"


@dataclass(frozen=True)
class SecurityGroup:
    id: str
    name: str = ""
    vpc_id: str | None = None
    ingress: tuple[IngressRule, ...] = ()

    @property
    def prefix_list_ids(self) -> frozenset[str]:
        """The managed prefix lists its ingress rules admit."""
        return frozenset(p for rule in self.ingress for p in rule.prefix_list_ids)


@dataclass(frozen=True)
class PriorFinding:
    """A finding ec2-warden posted earlier and that is still open in Security Hub."""

    id: str
    check: str
    resource_id: str
    severity: Severity
    title: str
    description: str
    first_observed_at: str
    updated_at: str
    # Its triage state (Workflow.Status: NEW, NOTIFIED, RESOLVED, SUPPRESSED; "" when not read):
    # a resolution leaves a finding a person SUPPRESSED, or that is already RESOLVED, as it is.
    workflow_status: str = ""
    # Who raised it (asff.py writes them; a later import without an actor of its own carries them
    # on): its ASFF Action, the ec2-warden/Actor* ProductFields, and why its severity was raised.
    action: Mapping[str, Any] | None = None
    actor_fields: Mapping[str, str] = field(default_factory=dict)
    escalated_because: str = ""


@dataclass(frozen=True)
class ReadError:
    where: str  # "service:Operation" or a component name
    message: str


@dataclass(frozen=True, slots=True)  # 10,000 of each in a sweep (bench/)
class SsmInstanceInfo:
    """What SSM says of a managed instance (DescribeInstanceInformation)."""

    instance_id: str
    ping_status: str  # "Online", "ConnectionLost" or "Inactive"
    platform_type: str = ""
    agent_version: str = ""
    last_ping_at: datetime | None = None


@dataclass(frozen=True, slots=True)
class DayUsage:
    """One day of an instance's CloudWatch metrics. None means no datapoint that day."""

    start: datetime
    cpu_percent: float | None = None  # CPUUtilization, Average over the day
    network_in_bytes: float | None = None  # NetworkIn, Sum over the day
    network_out_bytes: float | None = None  # NetworkOut, Sum over the day

    @property
    def has_data(self) -> bool:
        """A day counts only when all three metrics reported: half a day's facts judge nothing."""
        return None not in (self.cpu_percent, self.network_in_bytes, self.network_out_bytes)

    @property
    def network_bytes(self) -> float | None:
        if self.network_in_bytes is None or self.network_out_bytes is None:
            return None
        return self.network_in_bytes + self.network_out_bytes


@dataclass(frozen=True, slots=True)
class DailyUsage:
    """An instance's usage over the look-back window, oldest day first; the last day is the most recent."""

    instance_id: str
    days: tuple[DayUsage, ...]


@dataclass(frozen=True, slots=True)  # 10,000 of each in a sweep (bench/)
class PatchState:
    """What Patch Manager last reported for an instance (DescribeInstancePatchStates)."""

    instance_id: str
    operation: str = ""  # "Scan" or "Install"
    operation_end_time: datetime | None = None
    baseline_id: str = ""
    missing_count: int = 0
    failed_count: int = 0
    installed_pending_reboot_count: int = 0
    installed_rejected_count: int = 0
    critical_non_compliant_count: int = 0
    security_non_compliant_count: int = 0
    other_non_compliant_count: int = 0
    installed_count: int = 0
    reboot_option: str = ""


@dataclass(frozen=True)
class PatchRun:
    """How an AWS-RunPatchBaseline command ended on one instance (from an SSM status event)."""

    command_id: str
    status: str  # "Success", "Failed", "TimedOut" or "Cancelled"

    @property
    def failed(self) -> bool:
        return self.status != "Success"


@dataclass(frozen=True)
class ImageInfo:
    """An AMI as DescribeImages tells it. An image id absent from a read mapping no longer exists
    (deregistered) or is no longer shared with this account."""

    id: str
    creation_date: datetime | None = None
    name: str = ""
    owner_id: str = ""
    state: str = "available"


@dataclass(frozen=True, slots=True)  # 10,000 in a sweep (bench/)
class VolumeInfo:
    id: str
    encrypted: bool
    kms_key_id: str | None = None
    state: str = ""
    size_gib: int = 0  # what the cost estimate prices (GB-month), with the volume type
    volume_type: str = ""


@dataclass(frozen=True)
class VpcInfo:
    id: str
    cidrs: tuple[str, ...] = ()  # IPv4 and IPv6 blocks associated with the VPC


@dataclass(frozen=True)
class Snapshot:
    account: str
    region: str
    taken_at: datetime
    is_sweep: bool
    instances: tuple[Instance, ...]
    security_groups: Mapping[str, SecurityGroup]
    # True when every group the instances use was read; a check must not judge on half the facts.
    security_groups_complete: bool = True
    # Ids the scope named that DescribeInstances no longer knows (terminated and gone, or a typo).
    missing_instance_ids: tuple[str, ...] = ()
    # None means "not read" (audit mode reads no Security Hub state); {} means "read, none open".
    prior_findings: Mapping[str, PriorFinding] | None = None
    errors: tuple[ReadError, ...] = ()
    # Facets read only when a check needs them. None means "not read"; an instance missing from a
    # read mapping means SSM does not know it (not managed).
    ssm_info: Mapping[str, SsmInstanceInfo] | None = None
    # --- patch loop. patch_states: None = not read; an instance missing = never scanned.
    patch_states: Mapping[str, PatchState] | None = None
    # Outcomes of patch commands that the triggering SSM event reported, by instance.
    patch_runs: Mapping[str, PatchRun] = field(default_factory=dict)
    # The run was triggered by a launch (RunInstances or a state change to running).
    is_launch: bool = False
    # Daily CloudWatch usage of the running instances in scope. An instance missing from a
    # read mapping means its metrics could not be read (not: it has none; that is all-None days).
    usage: Mapping[str, DailyUsage] | None = None
    # What started the run ("sweep", "state:running", a CloudTrail call): a start event unmarks.
    trigger: str = ""
    # launch-hygiene / environment-drift facets (snapshot/images.py, volumes.py, networks.py).
    images: Mapping[str, ImageInfo] | None = None
    volumes: Mapping[str, VolumeInfo] | None = None
    vpcs: Mapping[str, VpcInfo] | None = None  # the non-production VPCs named in settings
    # Instances outside the scope that use a group referenced by an in-scope group's ingress rule
    # (an event's view of "who else is behind that group"); {} in a sweep, which sees everyone.
    group_neighbours: Mapping[str, Instance] | None = None
    # Managed prefix lists referenced by the groups of publicly addressed instances: id -> CIDRs.
    # None: not read; a list missing from a read mapping could not be read (snapshot/prefix_lists.py).
    prefix_lists: Mapping[str, tuple[str, ...]] | None = None
    # Who made the change that triggered the run (a CloudTrail event's scope); None otherwise.
    actor: Actor | None = None
    # Estimated on-demand monthly cost of the instances the cost estimate looked at (idle ones and
    # those ec2-warden stopped), by instance id; None: not estimated (COST_ESTIMATES=off, audit of
    # nothing). Filled after the checks (snapshot/costs.py), read by the digest and owner messages.
    costs: Mapping[str, InstanceCost] | None = None


@dataclass(frozen=True, slots=True)
class InstanceCost:
    """An on-demand list-price estimate of what one instance costs a month, in USD cents.

    Whole cents, so that every total is the exact sum of the lines it adds (rules/cost.py). A part
    whose price could not be read is None and named in `unpriced`; `monthly_cents` is then None:
    a figure with a hole in it is left out rather than shown too low."""

    instance_id: str
    state: str
    compute_cents: int | None  # instance hours; saved while it is stopped
    storage_cents: int | None  # EBS volumes (type and size); paid while it is stopped too
    public_ipv4_cents: int | None  # public IPv4 addresses (AWS charges each one by the hour)
    elastic_ipv4_cents: int | None  # of which Elastic IPs: still charged while the instance is stopped
    unpriced: tuple[str, ...] = ()  # "compute t3.micro", "volume gp3", "public IPv4": what had no price

    @property
    def monthly_cents(self) -> int | None:
        parts = (self.compute_cents, self.storage_cents, self.public_ipv4_cents)
        return None if any(p is None for p in parts) else sum(p for p in parts if p is not None)

    @property
    def still_paid_when_stopped_cents(self) -> int | None:
        """What a stopped instance still costs: its volumes and its Elastic IPs."""
        if self.storage_cents is None or self.elastic_ipv4_cents is None:
            return None
        return self.storage_cents + self.elastic_ipv4_cents


# ---------------------------------------------------------------------------------------------
# What checks find


def finding_id_prefix(account: str, region: str) -> str:
    return f"ec2-warden/{account}/{region}/"


def finding_id(account: str, region: str, check: str, resource_id: str) -> str:
    """Deterministic, so a re-import updates the same finding instead of adding one."""
    return f"{finding_id_prefix(account, region)}{check}/{resource_id}"


@dataclass(frozen=True, slots=True)  # 17,000 in a 10,000-instance sweep (bench/)
class Finding:
    check: CheckName
    resource_id: str
    account: str
    region: str
    severity: Severity
    title: str
    description: str
    remediation: str
    details: Mapping[str, Any] = field(default_factory=dict)
    # Who made the change that raised it (a CloudTrail event); None for sweeps and state changes.
    actor: Actor | None = None
    # Why its severity was raised one step above what the check said (planning_actor.py); "" if not.
    escalated_because: str = ""
    # Derived once: the plan's statuses, the import action and the report share this one string.
    id: str = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "id", finding_id(self.account, self.region, self.check, self.resource_id))


@dataclass(frozen=True)
class CheckResult:
    """What one check concluded about the instances in scope.

    `passed` resolves old findings; `not_evaluated` never does (the facts were missing)."""

    check: CheckName
    findings: tuple[Finding, ...] = ()
    passed: frozenset[str] = frozenset()
    not_evaluated: frozenset[str] = frozenset()
    skipped: Mapping[str, int] = field(default_factory=dict)  # reason -> count, e.g. {"not running": 3}


# ---------------------------------------------------------------------------------------------
# What the plan decides and apply carries out


class FindingStatus(enum.StrEnum):
    NEW = "new"
    CHANGED = "changed"
    REFRESHED = "refreshed"  # unchanged, re-imported so Security Hub keeps it (it ages findings out)
    UNCHANGED = "unchanged"
    UNKNOWN = "unknown"  # prior state not read (audit mode)


@dataclass(frozen=True)
class Resolution:
    finding_id: str
    check: str
    resource_id: str
    reason: str
    prior: PriorFinding


@dataclass(frozen=True)
class Action:
    kind: ActionKind
    resource_ids: tuple[str, ...]
    reason: str
    findings: tuple[Finding, ...] = ()
    resolutions: tuple[Resolution, ...] = ()
    # Kind-specific inputs for the adapter (tags to write, command parameters...), plain JSON-able data.
    params: Mapping[str, Any] = field(default_factory=dict)
    # NOTIFY_SLACK only: which message ("finding", "roll-up" or "digest"; see chalicelib/notify).
    message: str = ""


@dataclass(frozen=True)
class Plan:
    findings: tuple[Finding, ...]
    statuses: Mapping[str, FindingStatus]
    resolutions: tuple[Resolution, ...]
    actions: tuple[Action, ...]


@dataclass(frozen=True)
class ActionOutcome:
    kind: ActionKind
    resource_ids: tuple[str, ...]
    done: bool
    error: str | None = None
    reason: str = ""
    failed_ids: tuple[str, ...] = ()


@dataclass
class Report:
    """The one summary of a run: returned by handlers, printed by the CLI. Keys are public."""

    mode: Mode
    trigger: str
    account: str | None
    region: str | None
    instance_ids: tuple[str, ...] = ()
    event_id: str | None = None
    ignored: str | None = None
    census: dict[str, int] = field(default_factory=dict)
    findings: list[Finding] = field(default_factory=list)
    statuses: dict[str, FindingStatus] = field(default_factory=dict)
    resolved: list[str] = field(default_factory=list)
    actions: list[ActionOutcome] = field(default_factory=list)
    errors: list[ReadError] = field(default_factory=list)
    api_calls: dict[str, int] = field(default_factory=dict)
    sprawl: dict[str, Any] = field(default_factory=dict)  # idle/marked/stopped census
    # Owners, deadlines, patch compliance, not-evaluated counts for the audit renderers
    # (chalicelib/report/facts.py); not a JSON report key.
    facts: dict[str, Any] = field(default_factory=dict)

    # Errors that leave nothing judged: the instances unread, the member account's role refused, or
    # the event's account not placed (whose it is, or whether the organisation holds it).
    BLOCKING_ERRORS: ClassVar[frozenset[str]] = frozenset(
        {"snapshot", "sts:AssumeRole", "sts:GetCallerIdentity", "organizations:ListAccounts"}
    )
    # Estimated monthly totals (rules/cost.py cost_totals); {} when COST_ESTIMATES=off.
    cost: dict[str, Any] = field(default_factory=dict)
    # Exceptions seen in this run: active, ended, the findings they waived, invalid tags
    # (plan/exceptions.py Waivers.to_report); {} when the run saw none.
    exceptions: dict[str, Any] = field(default_factory=dict)

    @property
    def completed(self) -> bool:
        """False when the run could not read what it needed to judge anything."""
        return not any(e.where in self.BLOCKING_ERRORS for e in self.errors)

    def to_dict(self, *, findings: bool = True) -> dict[str, Any]:
        """The report as JSON-able data. `findings=False` leaves the findings list empty, for a writer
        that streams them one at a time from `finding_dicts()` (chalicelib/report/json_stream.py)."""
        return {
            "mode": self.mode.value,
            "trigger": self.trigger,
            "event_id": self.event_id,
            "ignored": self.ignored,
            "scope": {
                "account": self.account,
                "region": self.region,
                "instances": list(self.instance_ids),
            },
            "census": dict(self.census),
            "findings": list(self.finding_dicts()) if findings else [],
            "resolved": list(self.resolved),
            "actions": [
                {
                    "kind": a.kind.value,
                    "resource_ids": list(a.resource_ids),
                    "done": a.done,
                    "error": a.error,
                    "reason": a.reason,
                    "failed_ids": list(a.failed_ids),
                }
                for a in self.actions
            ],
            "errors": [{"where": e.where, "message": e.message} for e in self.errors],
            "api_calls": dict(sorted(self.api_calls.items())),
            "sprawl": _jsonable(self.sprawl),
            "cost": _jsonable(self.cost),
            "exceptions": _jsonable(self.exceptions),
        }

    def finding_dicts(self) -> Iterator[dict[str, Any]]:
        """The report's findings as JSON-able data, one at a time, in report order."""
        for f in self.findings:
            finding_id = f.id
            yield {
                "id": finding_id,
                "check": f.check.value,
                "resource_id": f.resource_id,
                "severity": f.severity.value,
                "title": f.title,
                "status": self.statuses.get(finding_id, FindingStatus.UNKNOWN).value,
                "details": _finding_details(f),
            }


def _finding_details(f: Finding) -> Any:
    details = _jsonable(f.details)
    if f.actor is not None:
        details["actor"] = f.actor.as_dict()
    if f.escalated_because:
        details["escalated_because"] = f.escalated_because
    return details


def _jsonable(value: Any) -> Any:
    if isinstance(value, Mapping):
        return {str(k): _jsonable(v) for k, v in value.items()}
    if isinstance(value, list | tuple | frozenset | set):
        return [_jsonable(v) for v in value]
    if isinstance(value, enum.Enum):
        return value.value
    if isinstance(value, datetime):
        return value.isoformat()
    return value
