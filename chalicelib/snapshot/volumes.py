"""EBS reads for launch-hygiene and the production baseline: the volumes attached to the
instances in scope, 200 ids a call (a filter, so a volume deleted meanwhile fails nothing)."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from ..model import VolumeInfo
from .ec2 import FILTER_VALUES, _chunks

VOLUME_PAGE_SIZE = 500  # DescribeVolumes' largest page


def read_volumes(ec2: Any, volume_ids: Iterable[str]) -> dict[str, VolumeInfo]:
    volumes: dict[str, VolumeInfo] = {}
    paginator = ec2.get_paginator("describe_volumes")
    for chunk in _chunks(sorted(set(volume_ids)), FILTER_VALUES):
        for page in paginator.paginate(
            Filters=[{"Name": "volume-id", "Values": chunk}], PaginationConfig={"PageSize": VOLUME_PAGE_SIZE}
        ):
            for raw in page.get("Volumes", []):
                volume = VolumeInfo(
                    id=raw["VolumeId"],
                    encrypted=bool(raw.get("Encrypted", False)),
                    kms_key_id=raw.get("KmsKeyId"),
                    state=raw.get("State", ""),
                )
                volumes[volume.id] = volume
    return volumes
