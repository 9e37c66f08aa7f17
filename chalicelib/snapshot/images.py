"""AMI reads for launch-hygiene: the distinct images of the instances in scope, 200 ids a call.

A filter, not ImageIds: one deregistered id would fail an ImageIds call for all the others, and an
image the filter does not return is exactly what the check reports as gone."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime
from typing import Any

from chalicelib.model import ImageInfo
from chalicelib.rules.timefmt import as_utc, parse_iso
from chalicelib.snapshot.ec2 import FILTER_VALUES, PAGE_SIZE, _chunks


def read_images(ec2: Any, image_ids: Iterable[str]) -> dict[str, ImageInfo]:
    images: dict[str, ImageInfo] = {}
    paginator = ec2.get_paginator("describe_images")
    for chunk in _chunks(sorted(set(image_ids)), FILTER_VALUES):
        # Deprecated and disabled AMIs still exist (and still run instances): include them, or an
        # old public AMI would be reported as deleted.
        for page in paginator.paginate(
            Filters=[{"Name": "image-id", "Values": chunk}],
            IncludeDeprecated=True,
            IncludeDisabled=True,
            PaginationConfig={"PageSize": PAGE_SIZE},
        ):
            for raw in page.get("Images", []):
                image = _image(raw)
                images[image.id] = image
    return images


def _image(raw: dict[str, Any]) -> ImageInfo:
    return ImageInfo(
        id=raw["ImageId"],
        creation_date=parse_aws_time(raw.get("CreationDate")),
        name=raw.get("Name", ""),
        owner_id=raw.get("OwnerId", ""),
        state=raw.get("State", ""),
    )


def parse_aws_time(text: Any) -> datetime | None:
    """EC2's ISO 8601 strings ("2024-01-02T03:04:05.000Z"); None when absent or unreadable."""
    if isinstance(text, datetime):
        return as_utc(text)
    return parse_iso(text)
