"""Security Hub adapter: read ec2-warden's open findings, import new and resolved ones.

BatchImportFindings answers 200 even when findings fail, so FailedCount is always read; failed
findings are retried once and then reported by id, never dropped silently."""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any

from ..asff import GENERATOR_PREFIX, prior_from_asff, product_arn
from ..model import PriorFinding, finding_id_prefix

MAX_FINDINGS_PER_CALL = 100
MAX_BATCH_BYTES = 6 * 1024 * 1024 - 64 * 1024  # 6 MB request limit, with room for the envelope
MAX_FILTER_VALUES = 20  # GetFindings takes at most 20 values for one filter field
PAGE_SIZE = 100


@dataclass
class ImportResult:
    imported: list[str] = field(default_factory=list)
    failed: dict[str, str] = field(default_factory=dict)  # finding id -> "ErrorCode: message"


class SecurityHubAdapter:
    def __init__(self, client: Any) -> None:
        self._client = client

    def open_findings(
        self, account: str, region: str, resource_ids: Iterable[str] | None = None, *, reporter: str | None = None
    ) -> dict[str, PriorFinding]:
        """ec2-warden's ACTIVE, FAILED findings in one account and region.

        `resource_ids` narrows the read to those instances (an event's scope); None reads all.
        `reporter`: the account whose hub holds them, when not `account` (FINDINGS_DESTINATION=home);
        the finding ids still name `account`, so each swept account reads back only its own."""
        owner = reporter or account
        base = {
            "ProductArn": [{"Value": product_arn(owner, region), "Comparison": "EQUALS"}],
            "GeneratorId": [{"Value": GENERATOR_PREFIX, "Comparison": "PREFIX"}],
            "AwsAccountId": [{"Value": owner, "Comparison": "EQUALS"}],
            "Region": [{"Value": region, "Comparison": "EQUALS"}],
            "RecordState": [{"Value": "ACTIVE", "Comparison": "EQUALS"}],
            "ComplianceStatus": [{"Value": "FAILED", "Comparison": "EQUALS"}],
        }
        wanted = None if resource_ids is None else set(resource_ids)
        if wanted is not None and not wanted:
            return {}
        filter_sets: list[dict[str, Any]] = []
        if wanted is None:
            filter_sets.append(base)
        else:
            arns = [f"arn:aws:ec2:{region}:{account}:instance/{i}" for i in sorted(wanted)]
            for start in range(0, len(arns), MAX_FILTER_VALUES):
                chunk = arns[start : start + MAX_FILTER_VALUES]
                filter_sets.append({**base, "ResourceId": [{"Value": a, "Comparison": "EQUALS"} for a in chunk]})
        prefix = finding_id_prefix(account, region)
        found: dict[str, PriorFinding] = {}
        paginator = self._client.get_paginator("get_findings")
        for filters in filter_sets:
            for page in paginator.paginate(Filters=filters, PaginationConfig={"PageSize": PAGE_SIZE}):
                for raw in page.get("Findings", []):
                    # Filtered again here: the filters are the contract, this keeps us honest to it.
                    if raw.get("RecordState") != "ACTIVE":
                        continue
                    if (raw.get("Compliance") or {}).get("Status") != "FAILED":
                        continue
                    if not str(raw.get("Id", "")).startswith(prefix):
                        continue
                    prior = prior_from_asff(raw)
                    if prior is None or (wanted is not None and prior.resource_id not in wanted):
                        continue
                    found[prior.id] = prior
        return found

    def import_findings(self, findings: Sequence[dict[str, Any]]) -> ImportResult:
        result = ImportResult()
        retry: list[dict[str, Any]] = []
        by_id = {f["Id"]: f for f in findings}
        for batch in batches(findings):
            failed = self._import_batch(batch, result)
            retry.extend(by_id[i] for i in failed)
        if retry:
            final = ImportResult()
            for batch in batches(retry):
                self._import_batch(batch, final)
            result.imported.extend(final.imported)
            result.failed = final.failed
        return result

    def _import_batch(self, batch: list[dict[str, Any]], result: ImportResult) -> dict[str, str]:
        response = self._client.batch_import_findings(Findings=batch)
        failed = {
            f.get("Id", "?"): f"{f.get('ErrorCode', 'Failed')}: {f.get('ErrorMessage', '')}".strip()
            for f in response.get("FailedFindings", [])
        }
        if response.get("FailedCount", 0) and not failed:
            # A count without ids: we cannot tell which; call the whole batch failed rather than guess.
            failed = {f["Id"]: "FailedCount set without FailedFindings" for f in batch}
        result.imported.extend(f["Id"] for f in batch if f["Id"] not in failed)
        result.failed.update(failed)
        return failed


def batches(findings: Sequence[dict[str, Any]]) -> Iterator[list[dict[str, Any]]]:
    """At most 100 findings and under 6 MB a call."""
    batch: list[dict[str, Any]] = []
    size = 0
    for finding in findings:
        weight = len(json.dumps(finding, separators=(",", ":")).encode())
        if batch and (len(batch) == MAX_FINDINGS_PER_CALL or size + weight > MAX_BATCH_BYTES):
            yield batch
            batch, size = [], 0
        batch.append(finding)
        size += weight
    if batch:
        yield batch
