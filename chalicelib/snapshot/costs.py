"""The cost facet: on-demand list prices for the instances a run talks money about.

Read after the checks, because only the idle instances and those ec2-warden stopped are priced:
one GetProducts per distinct (instance type, operating system, tenancy), per EBS volume type and
one for public IPv4, each cached for a day in the container (adapters/pricing.py). Volumes come
from the launch facet when it read them, else one DescribeVolumes (200 ids a call).

Never fatal: a price that cannot be read leaves that instance's figure out and says why (the
report's `cost.price_errors`, the idle finding's details), and the first AWS error stops the
asking for this run, so a missing permission costs one call, not one per instance type."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from decimal import Decimal
from functools import partial

from chalicelib.adapters.clients import AWS_ERRORS, AwsClients, aws_error_message
from chalicelib.adapters.log import logger
from chalicelib.adapters.pricing import PRICING_REGION, PriceListAdapter, PriceNotFound
from chalicelib.model import CheckName, CheckResult, Instance, InstanceCost, Snapshot, VolumeInfo
from chalicelib.rules.cost import ComputeKey, PriceTable, compute_key, estimate_instance
from chalicelib.rules.idle import stopped_by_warden
from chalicelib.snapshot.volumes import read_volumes


@dataclass(frozen=True)
class CostFacet:
    costs: Mapping[str, InstanceCost]
    idle_ids: tuple[str, ...]
    stopped_ids: tuple[str, ...]
    errors: tuple[str, ...] = ()


def instances_to_price(snapshot: Snapshot, results: Iterable[CheckResult]) -> tuple[list[str], list[str]]:
    """(running idle instances, instances stopped by ec2-warden), by id, sorted."""
    idle = {f.resource_id for r in results if r.check is CheckName.IDLE for f in r.findings}
    running_idle = sorted(i.id for i in snapshot.instances if i.id in idle and i.state == "running")
    stopped = sorted(i.id for i in snapshot.instances if stopped_by_warden(i))
    return running_idle, stopped


def read_cost_facet(snapshot: Snapshot, results: Iterable[CheckResult], clients: AwsClients) -> CostFacet:
    idle_ids, stopped_ids = instances_to_price(snapshot, results)
    wanted = set(idle_ids) | set(stopped_ids)
    instances = [i for i in snapshot.instances if i.id in wanted]
    if not instances:
        return CostFacet(costs={}, idle_ids=(), stopped_ids=())
    errors: list[str] = []
    volumes = _volumes(snapshot, instances, clients, errors)
    prices = _price_table(snapshot.region, instances, volumes, clients, errors)
    costs = {i.id: estimate_instance(i, volumes, prices) for i in instances}
    if errors:
        logger.warning("cost estimate incomplete", extra={"errors": errors[:5]})
    return CostFacet(costs=costs, idle_ids=tuple(idle_ids), stopped_ids=tuple(stopped_ids), errors=tuple(errors))


def _volumes(
    snapshot: Snapshot, instances: list[Instance], clients: AwsClients, errors: list[str]
) -> dict[str, VolumeInfo]:
    known = dict(snapshot.volumes or {})
    missing = {v for i in instances for v in i.volume_ids} - set(known)
    if missing:
        try:
            known.update(read_volumes(clients.ec2, missing))
        except AWS_ERRORS as exc:
            errors.append(f"ec2:DescribeVolumes: {aws_error_message(exc)}")
    return known


def _price_table(
    region: str,
    instances: list[Instance],
    volumes: Mapping[str, VolumeInfo],
    clients: AwsClients,
    errors: list[str],
) -> PriceTable:
    adapter = PriceListAdapter(clients.own_in(PRICING_REGION, "pricing"))
    failed: list[bool] = []

    def ask(what: str, read: Callable[[], Decimal | None]) -> Decimal | None:
        if failed:  # the first AWS error ends the asking for this run
            return None
        try:
            price = read()
        except PriceNotFound as exc:
            errors.append(f"pricing:GetProducts {what}: {exc}")
            return None
        except AWS_ERRORS as exc:
            failed.append(True)
            errors.append(f"pricing:GetProducts {what}: {aws_error_message(exc)}")
            return None
        if price is None:
            errors.append(f"pricing:GetProducts {what}: no on-demand price in the Price List")
        return price

    compute: dict[ComputeKey, Decimal | None] = {}
    for key in sorted({compute_key(i) for i in instances}):
        compute[key] = ask(
            f"{key.instance_type} {key.operating_system} {key.tenancy}", _bind_compute(adapter, region, key)
        )
    storage: dict[str, Decimal | None] = {}
    types = sorted({volumes[v].volume_type for i in instances for v in i.volume_ids if v in volumes} - {""})
    for volume_type in types:
        storage[volume_type] = ask(f"volume {volume_type}", partial(adapter.storage_gb_month, region, volume_type))
    ipv4 = None
    if any(i.public_ipv4_addresses for i in instances):
        ipv4 = ask("public IPv4", lambda: adapter.public_ipv4_hourly(region))
    return PriceTable(region=region, compute_hourly=compute, storage_gb_month=storage, public_ipv4_hourly=ipv4)


def _bind_compute(adapter: PriceListAdapter, region: str, key: ComputeKey) -> Callable[[], Decimal | None]:
    return lambda: adapter.instance_hourly(region, key)
