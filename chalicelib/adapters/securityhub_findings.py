"""Read ec2-warden's findings back from Security Hub for the audit report (`report --from-securityhub`).

Two GetFindings queries, 100 findings a page: every open finding (RecordState ACTIVE) whatever its
age, and the findings archived (resolved) within the period, by UpdatedAt. Both are narrowed to
ec2-warden's own findings by ProductName and the GeneratorId prefix; no account or region filter,
so a Security Hub administrator, or the aggregation region of a finding aggregator, reads every
account and region it holds.

The filters are the contract; each finding is checked again here against them (moto's GetFindings
ignores filters, and a hub may hold findings another tool wrote under a look-alike generator)."""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from chalicelib.rules import timefmt
from chalicelib.rules.asff import GENERATOR_PREFIX, PRODUCT_NAME

PAGE_SIZE = 100  # GetFindings' largest page


@dataclass(frozen=True)
class HubFindings:
    open: tuple[Mapping[str, Any], ...]
    resolved: tuple[Mapping[str, Any], ...]
    pages: int


def base_filters() -> dict[str, Any]:
    return {
        "ProductName": [{"Value": PRODUCT_NAME, "Comparison": "EQUALS"}],
        "GeneratorId": [{"Value": GENERATOR_PREFIX, "Comparison": "PREFIX"}],
    }


def open_filters() -> dict[str, Any]:
    return {**base_filters(), "RecordState": [{"Value": "ACTIVE", "Comparison": "EQUALS"}]}


def resolved_filters(days: int) -> dict[str, Any]:
    return {
        **base_filters(),
        "RecordState": [{"Value": "ARCHIVED", "Comparison": "EQUALS"}],
        "UpdatedAt": [{"DateRange": {"Value": days, "Unit": "DAYS"}}],
    }


def read_warden_findings(client: Any, since_days: int, now: datetime) -> HubFindings:
    """ec2-warden's open findings and those resolved in the last `since_days` days."""
    since = now - timedelta(days=since_days)
    pages = [0]
    open_ = [f for f in _pages(client, open_filters(), pages) if _ours(f) and f.get("RecordState") == "ACTIVE"]
    resolved = [
        f
        for f in _pages(client, resolved_filters(since_days), pages)
        if _ours(f) and f.get("RecordState") == "ARCHIVED" and _updated_since(f, since)
    ]
    return HubFindings(open=tuple(open_), resolved=tuple(resolved), pages=pages[0])


def _pages(client: Any, filters: dict[str, Any], pages: list[int]) -> Iterator[Mapping[str, Any]]:
    paginator = client.get_paginator("get_findings")
    for page in paginator.paginate(Filters=filters, PaginationConfig={"PageSize": PAGE_SIZE}):
        pages[0] += 1
        yield from page.get("Findings", [])


def _ours(raw: Mapping[str, Any]) -> bool:
    return raw.get("ProductName") == PRODUCT_NAME and str(raw.get("GeneratorId", "")).startswith(GENERATOR_PREFIX)


def _updated_since(raw: Mapping[str, Any], since: datetime) -> bool:
    updated = timefmt.parse_iso(str(raw.get("UpdatedAt") or ""))
    return updated is not None and updated >= since
