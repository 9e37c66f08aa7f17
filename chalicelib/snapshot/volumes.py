"""EBS reads for launch-hygiene and the production baseline: the volumes attached to the
instances in scope, 200 ids a call (a filter, so a volume deleted meanwhile fails nothing)."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from chalicelib.model import VolumeInfo
from chalicelib.snapshot.ec2 import FILTER_VALUES, _chunks, shared_text

VOLUME_PAGE_SIZE = 500  # DescribeVolumes' largest page


def read_volumes(ec2: Any, volume_ids: Iterable[str], *, list_all: bool = False) -> dict[str, VolumeInfo]:
    """The wanted volumes. `list_all` (a sweep): page through every volume in the region, 500 a call,
    and keep the wanted ones: ceil(volumes/500) calls instead of ceil(wanted/200) (bench/)."""
    wanted = {v: v for v in volume_ids}  # the instances' id strings, shared rather than copied
    volumes: dict[str, VolumeInfo] = {}
    paginator = ec2.get_paginator("describe_volumes")
    if list_all:
        requests: list[dict[str, Any]] = [{}]
    else:
        requests = [{"Filters": [{"Name": "volume-id", "Values": c}]} for c in _chunks(sorted(wanted), FILTER_VALUES)]
    for request in requests:
        for page in paginator.paginate(**request, PaginationConfig={"PageSize": VOLUME_PAGE_SIZE}):
            for raw in page.get("Volumes", []):
                volume_id = wanted.get(raw.get("VolumeId", ""))
                if volume_id is None:
                    continue
                volume = VolumeInfo(
                    id=volume_id,
                    encrypted=bool(raw.get("Encrypted", False)),
                    kms_key_id=shared_text(raw.get("KmsKeyId")),
                    state=shared_text(raw.get("State", "")),
                    size_gib=int(raw.get("Size") or 0),
                    volume_type=shared_text(raw.get("VolumeType", "")),
                )
                volumes[volume.id] = volume
    return volumes
