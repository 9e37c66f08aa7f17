"""What an instance costs a month, estimated from on-demand list prices. Pure: prices come in.

The estimate is deliberately plain: instance hours at the on-demand hourly price for the
instance's type, operating system and tenancy (730 hours a month, AWS's own convention), its EBS
volumes at the GB-month price of their type (storage only: provisioned IOPS and throughput are not
counted), and each public IPv4 address at its hourly price. Savings Plans, reservations, Spot,
credits and free tiers all lower the real figure; it is always labelled an estimate.

Money is held in whole cents, each line rounded half-up once, so a total is exactly the sum of
the lines it adds up (the digest shows both)."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field, replace
from decimal import ROUND_HALF_UP, Decimal

from chalicelib.model import CheckName, CheckResult, Instance, InstanceCost, VolumeInfo

HOURS_PER_MONTH = 730
CURRENCY = "USD"
BASIS = "on-demand list price estimate; Savings Plans, reservations and credits lower the real figure"
_TENANCY = {"": "Shared", "default": "Shared", "dedicated": "Dedicated", "host": "Host"}


@dataclass(frozen=True, order=True)
class ComputeKey:
    """What the Price List needs to name one instance-hour price."""

    instance_type: str
    operating_system: str  # "Linux" or "Windows", as the Price List spells it
    tenancy: str  # "Shared", "Dedicated" or "Host"


def compute_key(instance: Instance) -> ComputeKey:
    system = "Windows" if (instance.platform or "").lower() == "windows" else "Linux"
    return ComputeKey(instance.instance_type, system, _TENANCY.get(instance.tenancy, instance.tenancy.title()))


@dataclass(frozen=True)
class PriceTable:
    """USD list prices of one region. A key present with None: asked, and no price was read."""

    region: str
    compute_hourly: Mapping[ComputeKey, Decimal | None] = field(default_factory=dict)
    storage_gb_month: Mapping[str, Decimal | None] = field(default_factory=dict)  # by volume type
    public_ipv4_hourly: Decimal | None = None


def cents(amount: Decimal) -> int:
    """Dollars -> whole cents, half-up (0.005 rounds to 0.01)."""
    return int((amount * 100).quantize(Decimal(1), rounding=ROUND_HALF_UP))


def money(amount_cents: int) -> str:
    return f"${amount_cents // 100:,}.{amount_cents % 100:02d}"


def estimate_instance(instance: Instance, volumes: Mapping[str, VolumeInfo] | None, prices: PriceTable) -> InstanceCost:
    """One instance's monthly estimate. A running instance pays all its public IPv4 addresses; a
    stopped one has released the addresses EC2 assigned and keeps paying for its Elastic IPs."""
    unpriced: list[str] = []
    key = compute_key(instance)
    hourly = prices.compute_hourly.get(key)
    compute = cents(hourly * HOURS_PER_MONTH) if hourly is not None else None
    if compute is None:
        unpriced.append(f"compute {key.instance_type} {key.operating_system} {key.tenancy}")

    storage: int | None = 0
    gb_month_total = Decimal(0)
    for volume_id in instance.volume_ids:
        volume = (volumes or {}).get(volume_id)
        price = prices.storage_gb_month.get(volume.volume_type) if volume is not None else None
        if volume is None or price is None or volume.size_gib <= 0:
            what = f"volume {volume_id}" if volume is None else f"volume {volume.volume_type or '?'} {volume_id}"
            unpriced.append(what)
            storage = None
            continue
        gb_month_total += price * volume.size_gib
    if storage is not None:
        storage = cents(gb_month_total)

    elastic_count = sum(1 for eni in instance.network_interfaces if eni.public_ip and eni.public_ip_is_elastic)
    address_count = len(instance.public_ipv4_addresses) if instance.state == "running" else elastic_count
    ipv4_hourly = prices.public_ipv4_hourly
    if ipv4_hourly is None and address_count:
        unpriced.append("public IPv4")
        public, elastic = None, None
    else:
        rate = ipv4_hourly or Decimal(0)
        public = cents(rate * HOURS_PER_MONTH * address_count)
        elastic = cents(rate * HOURS_PER_MONTH * elastic_count)
    return InstanceCost(
        instance_id=instance.id,
        state=instance.state,
        compute_cents=compute,
        storage_cents=storage,
        public_ipv4_cents=public,
        elastic_ipv4_cents=elastic,
        unpriced=tuple(unpriced),
    )


@dataclass(frozen=True)
class CostTotals:
    """The run's sums, each the exact sum of its lines (`lines`: instance id -> cents)."""

    idle: Mapping[str, int]  # running and idle: what each costs a month
    saved: Mapping[str, int]  # stopped by ec2-warden: the instance hours no longer paid
    still_paid: Mapping[str, int]  # stopped by ec2-warden: volumes and Elastic IPs still paid
    unpriced: tuple[str, ...] = ()  # instance ids whose figure is left out

    @property
    def idle_cents(self) -> int:
        return sum(self.idle.values())

    @property
    def saved_cents(self) -> int:
        return sum(self.saved.values())

    @property
    def still_paid_cents(self) -> int:
        return sum(self.still_paid.values())

    def to_report(self) -> dict[str, object]:
        """The report's `cost` key."""
        return {
            "currency": CURRENCY,
            "basis": BASIS,
            "idle_monthly": self.idle_cents / 100,
            "stopped_by_warden_saved_monthly": self.saved_cents / 100,
            "stopped_still_paid_monthly": self.still_paid_cents / 100,
            "idle_instances_priced": len(self.idle),
            "stopped_instances_priced": len(self.saved),
            "not_priced": list(self.unpriced),
        }


def cost_totals(
    costs: Mapping[str, InstanceCost], idle_ids: Iterable[str], stopped_by_warden_ids: Iterable[str]
) -> CostTotals:
    idle: dict[str, int] = {}
    saved: dict[str, int] = {}
    still: dict[str, int] = {}
    unpriced: set[str] = set()
    for instance_id in sorted(set(idle_ids)):
        cost = costs.get(instance_id)
        if cost is None or cost.monthly_cents is None:
            unpriced.add(instance_id)
        else:
            idle[instance_id] = cost.monthly_cents
    for instance_id in sorted(set(stopped_by_warden_ids)):
        cost = costs.get(instance_id)
        paid = cost.still_paid_when_stopped_cents if cost is not None else None
        if cost is None or cost.compute_cents is None or paid is None:
            unpriced.add(instance_id)
            continue
        saved[instance_id] = cost.compute_cents
        still[instance_id] = paid
    return CostTotals(idle=idle, saved=saved, still_paid=still, unpriced=tuple(sorted(unpriced)))


def with_idle_costs(results: Iterable[CheckResult], costs: Mapping[str, InstanceCost]) -> list[CheckResult]:
    """The idle findings with their estimate in `details` (estimated_monthly_usd, or why not).

    Details only: the title and description stay as the check wrote them, so a price change never
    makes an unchanged finding look changed to Security Hub."""
    out = []
    for result in results:
        if result.check is not CheckName.IDLE or not costs:
            out.append(result)
            continue
        findings = []
        for finding in result.findings:
            cost = costs.get(finding.resource_id)
            if cost is None:
                findings.append(finding)
                continue
            extra: dict[str, object] = {"cost_basis": BASIS}
            if cost.monthly_cents is None:
                extra["cost_not_estimated"] = "no price for " + ", ".join(cost.unpriced)
            else:
                extra["estimated_monthly_usd"] = cost.monthly_cents / 100
            findings.append(replace(finding, details={**finding.details, **extra}))
        out.append(replace(result, findings=tuple(findings)))
    return out


def totals_of(costs: Mapping[str, InstanceCost]) -> CostTotals:
    """The totals of a run's estimates: the running instances priced are the idle ones, the
    stopped ones those ec2-warden stopped (snapshot/costs.py prices nothing else)."""
    running = [i for i, c in costs.items() if c.state == "running"]
    stopped = [i for i, c in costs.items() if c.state == "stopped"]
    return cost_totals(costs, running, stopped)


def cost_lines(totals: CostTotals, names: Mapping[str, str], max_lines: int) -> tuple[list[str], list[str]]:
    """Plain-text lines (one per instance, the overflow summed into one) and the totals lines.

    Each total is the sum of the figures on its lines, whatever is cut: the overflow line carries
    the rest of the sum."""

    def label(instance_id: str) -> str:
        return f"{instance_id} ({names[instance_id]})" if names.get(instance_id) else instance_id

    rows: list[tuple[str, str]] = [
        (i, f"{label(i)} idle: about {money(c)}/month") for i, c in sorted(totals.idle.items(), key=lambda kv: -kv[1])
    ]
    rows += [
        (i, f"{label(i)} stopped by ec2-warden: saves {money(totals.saved[i])}/month, still paid {money(p)}/month")
        for i, p in sorted(totals.still_paid.items())
    ]
    lines = [text for _, text in rows[:max_lines]]
    rest = [i for i, _ in rows[max_lines:]]
    if rest:
        idle_rest = sum(totals.idle.get(i, 0) for i in rest)
        saved_rest = sum(totals.saved.get(i, 0) for i in rest)
        paid_rest = sum(totals.still_paid.get(i, 0) for i in rest)
        lines.append(
            f"{len(rest)} more instance(s): idle {money(idle_rest)}/month, saves {money(saved_rest)}/month, "
            f"still paid {money(paid_rest)}/month"
        )
    summary = [
        f"Idle total: about {money(totals.idle_cents)}/month ({len(totals.idle)} instance(s))",
        f"Stopped by ec2-warden: saves about {money(totals.saved_cents)}/month, "
        f"still paid about {money(totals.still_paid_cents)}/month ({len(totals.saved)} instance(s))",
    ]
    if totals.unpriced:
        summary.append(f"Not estimated (no price read): {len(totals.unpriced)} instance(s)")
    return lines, summary
