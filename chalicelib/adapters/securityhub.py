"""Security Hub adapter: read ec2-warden's open findings, import new and resolved ones, and set
the triage state (Workflow.Status) of resolved ones.

BatchImportFindings answers 200 even when findings fail, so FailedCount is always read; failed
findings are retried once and then reported by id, never dropped silently. BatchUpdateFindings
likewise answers 200 with UnprocessedFindings, read the same way.

moto 5.2.5 has no BatchUpdateFindings (it answers 404 "Not yet implemented", checked in this
venv): the adapter is tested with botocore's Stubber (tests/integration/test_securityhub_workflow.py),
and the flow tests and the demo run on devtools/moto_securityhub.py, which adds it to moto."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from chalicelib.adapters.clients import AWS_ERRORS, aws_error_message
from chalicelib.model import PriorFinding, finding_id_prefix
from chalicelib.rules.asff import GENERATOR_PREFIX, NOTE_AUTHOR, prior_from_asff, product_arn
from chalicelib.rules.partitions import instance_arn

MAX_FINDINGS_PER_CALL = 100
MAX_BATCH_BYTES = 6 * 1024 * 1024 - 64 * 1024  # 6 MB request limit, with room for the envelope
MAX_FILTER_VALUES = 20  # GetFindings takes at most 20 values for one filter field
PAGE_SIZE = 100
MAX_IDENTIFIERS_PER_UPDATE = 100  # BatchUpdateFindings takes up to 100 findings a call
# UnprocessedFindings codes worth one more try: AWS names ConcurrentUpdateError for a
# BatchUpdateFindings that meets a BatchImportFindings of the same finding, which is what follows
# a resolve import. The others (FindingNotFound, InvalidInput, ...) would fail again.
RETRYABLE_UPDATE_ERRORS = frozenset({"ConcurrentUpdateError", "InternalFailure"})


@dataclass
class ImportResult:
    imported: list[str] = field(default_factory=list)
    failed: dict[str, str] = field(default_factory=dict)  # finding id -> "ErrorCode: message"


@dataclass
class UpdateResult:
    updated: list[str] = field(default_factory=list)
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
            arns = [instance_arn(region, account, i) for i in sorted(wanted)]
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

    def set_workflow_status(
        self,
        identifiers: Sequence[Mapping[str, str]],
        status: str,
        note: Callable[[list[str]], str] | None = None,
    ) -> UpdateResult:
        """Workflow.Status of findings ({"Id", "ProductArn"} each), 100 a call, with an optional
        Note whose text `note` writes from the ids of that call (UpdatedBy "ec2-warden").

        Ids Security Hub did not process are retried once when the error may pass, then reported
        by id; a call that fails as a whole fails its ids only, and the next calls still go."""
        result = UpdateResult()
        retry = self._update_batches(list(identifiers), status, note, result, last_try=False)
        if retry:
            self._update_batches(retry, status, note, result, last_try=True)
        return result

    def _update_batches(
        self,
        identifiers: list[Mapping[str, str]],
        status: str,
        note: Callable[[list[str]], str] | None,
        result: UpdateResult,
        *,
        last_try: bool,
    ) -> list[Mapping[str, str]]:
        """One call per 100 ids; returns the identifiers worth a retry (not yet in `result`)."""
        retry: list[Mapping[str, str]] = []
        for start in range(0, len(identifiers), MAX_IDENTIFIERS_PER_UPDATE):
            chunk = identifiers[start : start + MAX_IDENTIFIERS_PER_UPDATE]
            ids = [i["Id"] for i in chunk]
            request: dict[str, Any] = {
                "FindingIdentifiers": [{"Id": i["Id"], "ProductArn": i["ProductArn"]} for i in chunk],
                "Workflow": {"Status": status},
            }
            if note is not None:
                request["Note"] = {"Text": note(ids), "UpdatedBy": NOTE_AUTHOR}
            try:
                response = self._client.batch_update_findings(**request)
            except AWS_ERRORS as exc:
                result.failed.update(dict.fromkeys(ids, aws_error_message(exc)))
                continue
            processed = {str(p.get("Id")) for p in response.get("ProcessedFindings", [])}
            unprocessed = {
                str((u.get("FindingIdentifier") or {}).get("Id")): u for u in response.get("UnprocessedFindings", [])
            }
            for identifier in chunk:
                fid = identifier["Id"]
                if fid in processed:
                    result.updated.append(fid)
                elif fid not in unprocessed:  # named in neither list: not known to be done
                    result.failed[fid] = "not in ProcessedFindings"
                elif not last_try and unprocessed[fid].get("ErrorCode") in RETRYABLE_UPDATE_ERRORS:
                    retry.append(identifier)
                else:
                    item = unprocessed[fid]
                    result.failed[fid] = (
                        f"{item.get('ErrorCode', 'Unprocessed')}: {item.get('ErrorMessage', '')}".strip()
                    )
        return retry


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
