"""The facets launch-hygiene and environment-drift need, read after the instances and groups:
AMIs and volumes for launch-hygiene; non-production VPC blocks and group neighbours for drift.

Each read is chunked by distinct id, never one call per instance. A failed read leaves its facet
None (not read) and records the error, so the checks say "not checked" instead of guessing."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import TypeVar

from chalicelib.adapters.clients import AWS_ERRORS, AwsClients
from chalicelib.adapters.clients import aws_error_message as _aws_message
from chalicelib.events.scope import Scope
from chalicelib.model import CheckName, ImageInfo, Instance, ReadError, SecurityGroup, VolumeInfo, VpcInfo
from chalicelib.rules.environments import Environment, claim_of
from chalicelib.settings import Settings
from chalicelib.snapshot.images import read_images
from chalicelib.snapshot.networks import read_group_neighbours, read_vpcs
from chalicelib.snapshot.volumes import read_volumes

T = TypeVar("T")
GONE_STATES = frozenset({"shutting-down", "terminated"})


@dataclass(frozen=True)
class LaunchFacets:
    images: Mapping[str, ImageInfo] | None
    volumes: Mapping[str, VolumeInfo] | None
    vpcs: Mapping[str, VpcInfo] | None
    group_neighbours: Mapping[str, Instance] | None


def read_launch_facets(
    scope: Scope,
    clients: AwsClients,
    instances: list[Instance],
    groups: Mapping[str, SecurityGroup],
    settings: Settings,
    errors: list[ReadError],
) -> LaunchFacets:
    hygiene = CheckName.LAUNCH_HYGIENE.value in settings.checks
    drift = CheckName.ENVIRONMENT_DRIFT.value in settings.checks
    if not (hygiene or drift):
        return LaunchFacets(images=None, volumes=None, vpcs=None, group_neighbours=None)
    live = [i for i in instances if i.state not in GONE_STATES]
    ec2 = clients.ec2

    images: Mapping[str, ImageInfo] | None = None
    image_ids = {i.image_id for i in live if i.image_id}
    if hygiene:
        images = _read("ec2:DescribeImages", errors, lambda: read_images(ec2, image_ids) if image_ids else {})

    volumes: Mapping[str, VolumeInfo] | None = None
    volume_ids = {v for i in live for v in i.volume_ids}
    if hygiene:  # encryption is a launch-hygiene gap only (production raises it, it does not repeat it)
        volumes = _read(
            "ec2:DescribeVolumes",
            errors,
            lambda: read_volumes(ec2, volume_ids, list_all=scope.is_sweep) if volume_ids else {},
        )

    production = [i for i in live if claim_of(i, settings).environment is Environment.PRODUCTION] if drift else []
    vpcs: Mapping[str, VpcInfo] | None = {}
    if production and settings.non_production_vpcs:
        vpcs = _read("ec2:DescribeVpcs", errors, lambda: read_vpcs(ec2, settings.non_production_vpcs))

    # A sweep sees every instance, so who uses a group is known without another call.
    neighbours: Mapping[str, Instance] | None = {}
    if production and not scope.is_sweep:
        referenced = {
            ref
            for i in production
            for g in i.all_group_ids
            if g in groups
            for rule in groups[g].ingress
            for ref in rule.referenced_group_ids
        }
        if referenced:
            known = {i.id for i in instances}
            region = scope.region or clients.region
            neighbours = _read(
                "ec2:DescribeNetworkInterfaces",
                errors,
                lambda: read_group_neighbours(ec2, referenced, known, region, scope.account),
            )
    return LaunchFacets(images=images, volumes=volumes, vpcs=vpcs, group_neighbours=neighbours)


def _read(where: str, errors: list[ReadError], read: Callable[[], T]) -> T | None:
    try:
        return read()
    except AWS_ERRORS as exc:
        errors.append(ReadError(where, _aws_message(exc)))
        return None
