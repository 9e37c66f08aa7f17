"""A small, honest extension of moto's Security Hub for the tests and the demo: the triage state.

moto 5.2.5 has no BatchUpdateFindings (mock and server answer 404 "Not yet implemented"), and
its BatchImportFindings keeps whatever Workflow a finding had, or none. ec2-warden sets
Workflow.Status RESOLVED on the findings it resolves (chalicelib/adapters/securityhub.py), so this
adds, as the Security Hub API reference documents them, and no more:

- BatchUpdateFindings (PATCH /findings/batchupdate): at most 100 FindingIdentifiers; Workflow.Status
  one of NEW, NOTIFIED, RESOLVED, SUPPRESSED; Note.Text at most 512 characters and Note.UpdatedBy
  at most 128, both required when Note is given (InvalidInputException otherwise, for the whole
  call); per finding, FindingNotFound (Id and ProductArn match no finding) or
  DuplicatedFindingIdentifier in UnprocessedFindings, the others in ProcessedFindings. UpdatedAt
  is left alone, as AWS leaves it.
- BatchUpdateFindings also takes an analyst's Severity.Label and Types: they change the
  top-level fields only (FindingProviderFields stay the provider's), and a later import keeps them
  (AWS: once BatchUpdateFindings changed a field, BatchImportFindings no longer updates it).
- On BatchImportFindings: a new finding starts with Workflow.Status NEW; an update keeps the
  finding's Workflow and Note (a provider cannot change them after creation), and Security Hub's
  own reset applies: from NOTIFIED or RESOLVED to NEW when RecordState changes from ARCHIVED to
  ACTIVE or Compliance.Status from PASSED to WARNING, FAILED or NOT_AVAILABLE.

How it hooks in: moto reads `moto.securityhub.urls.url_paths` at request time under mock_aws, and
when the server builds its Security Hub app (on the first Security Hub request). `install()` adds
the batchupdate route and points the import route at `TriageResponse.dispatch`, a subclass of
moto's own response class; everything else is moto's. Install before the first request.

Never imported by chalicelib."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

from moto.securityhub import urls as hub_urls
from moto.securityhub.exceptions import InvalidInputException
from moto.securityhub.responses import SecurityHubResponse

MAX_IDENTIFIERS = 100
NOTE_TEXT_LIMIT = 512
NOTE_AUTHOR_LIMIT = 128
WORKFLOW_STATUSES = frozenset({"NEW", "NOTIFIED", "RESOLVED", "SUPPRESSED"})
_REOPENED_COMPLIANCE = frozenset({"WARNING", "FAILED", "NOT_AVAILABLE"})
# Analyst fields the extension's BatchUpdateFindings takes, and where it remembers which ones an
# analyst set (a key of the stored finding, as AWS keeps that state with the finding).
_ANALYST_FIELDS = ("Severity", "Types")
_ANALYST_SET = "x-moto-analyst-updated"
_UPDATE_ROUTE = "{0}/findings/batchupdate$"
_IMPORT_ROUTE = "{0}/findings/import$"
_ORIGINAL_IMPORT = hub_urls.url_paths[_IMPORT_ROUTE]


def install() -> None:
    """Route moto's Security Hub through the extension (idempotent)."""
    hub_urls.url_paths[_UPDATE_ROUTE] = TriageResponse.dispatch
    hub_urls.url_paths[_IMPORT_ROUTE] = TriageResponse.dispatch


def uninstall() -> None:
    hub_urls.url_paths.pop(_UPDATE_ROUTE, None)
    hub_urls.url_paths[_IMPORT_ROUTE] = _ORIGINAL_IMPORT


class TriageResponse(SecurityHubResponse):
    """moto's Security Hub responses plus BatchUpdateFindings and the Workflow rules of imports."""

    def batch_import_findings(self) -> str:
        incoming = json.loads(self.body or "{}").get("Findings", [])
        stored = {f.id: f.data for f in self.securityhub_backend.findings}
        before = {
            fid: {
                "RecordState": data.get("RecordState"),
                "Compliance": (data.get("Compliance") or {}).get("Status"),
                "Workflow": data.get("Workflow"),
                "Note": data.get("Note"),
                **{k: data.get(k) for k in _ANALYST_FIELDS},
                "_set": data.get(_ANALYST_SET, []),
            }
            for fid, data in stored.items()
        }
        answer = super().batch_import_findings()
        after = {f.id: f.data for f in self.securityhub_backend.findings}
        for finding in incoming:
            data = after.get(finding.get("Id"))
            if data is None:
                continue
            old = before.get(finding["Id"])
            if old is None:
                data["Workflow"] = {"Status": "NEW"}
                continue
            for key in ("Workflow", "Note", *old["_set"]):  # a provider cannot change these any more
                if old[key] is None:
                    data.pop(key, None)
                else:
                    data[key] = old[key]
            if old["_set"]:
                data[_ANALYST_SET] = old["_set"]
            status = (data.get("Workflow") or {}).get("Status", "NEW")
            reactivated = old["RecordState"] == "ARCHIVED" and data.get("RecordState") == "ACTIVE"
            failing_again = (
                old["Compliance"] == "PASSED" and (data.get("Compliance") or {}).get("Status") in _REOPENED_COMPLIANCE
            )
            if status in ("NOTIFIED", "RESOLVED") and (reactivated or failing_again):
                data["Workflow"] = {"Status": "NEW"}
        return answer

    def batch_update_findings(self) -> str:
        params = json.loads(self.body or "{}")
        identifiers = params.get("FindingIdentifiers") or []
        workflow = params.get("Workflow")
        note = params.get("Note")
        _validate(identifiers, workflow, note)
        by_key = {(f.id, f.data.get("ProductArn")): f.data for f in self.securityhub_backend.findings}
        counts: dict[tuple[str, str], int] = {}
        for identifier in identifiers:
            key = (identifier.get("Id"), identifier.get("ProductArn"))
            counts[key] = counts.get(key, 0) + 1
        processed: list[dict[str, str]] = []
        unprocessed: list[dict[str, Any]] = []
        stamp = datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + "Z"
        for identifier in identifiers:
            key = (identifier.get("Id"), identifier.get("ProductArn"))
            if counts[key] > 1:
                unprocessed.append(
                    _unprocessed(identifier, "DuplicatedFindingIdentifier", "Finding Identifier is duplicated")
                )
                continue
            data = by_key.get(key)
            if data is None:
                unprocessed.append(_unprocessed(identifier, "FindingNotFound", "Finding Not Found"))
                continue
            if workflow:
                data["Workflow"] = {"Status": workflow["Status"]}
            if note:
                data["Note"] = {"Text": note["Text"], "UpdatedBy": note["UpdatedBy"], "UpdatedAt": stamp}
            for field in _ANALYST_FIELDS:
                if field in params:
                    data[field] = {"Label": params[field]["Label"]} if field == "Severity" else list(params[field])
                    data[_ANALYST_SET] = sorted({*data.get(_ANALYST_SET, []), field})
            processed.append({"Id": key[0], "ProductArn": key[1]})
        return json.dumps({"ProcessedFindings": processed, "UnprocessedFindings": unprocessed})


def _validate(identifiers: list[dict[str, str]], workflow: dict[str, Any] | None, note: dict[str, Any] | None) -> None:
    op = "BatchUpdateFindings"
    if not identifiers or len(identifiers) > MAX_IDENTIFIERS:
        raise InvalidInputException(op, f"FindingIdentifiers must hold 1 to {MAX_IDENTIFIERS} findings")
    if workflow is not None and workflow.get("Status") not in WORKFLOW_STATUSES:
        raise InvalidInputException(op, f"Workflow.Status must be one of {sorted(WORKFLOW_STATUSES)}")
    if note is not None:
        text, author = note.get("Text"), note.get("UpdatedBy")
        if not text or not author:
            raise InvalidInputException(op, "Note needs both Text and UpdatedBy")
        if len(text) > NOTE_TEXT_LIMIT or len(author) > NOTE_AUTHOR_LIMIT:
            raise InvalidInputException(
                op, f"Note.Text is at most {NOTE_TEXT_LIMIT} characters, Note.UpdatedBy {NOTE_AUTHOR_LIMIT}"
            )


def _unprocessed(identifier: dict[str, str], code: str, message: str) -> dict[str, Any]:
    return {
        "FindingIdentifier": {"Id": identifier.get("Id"), "ProductArn": identifier.get("ProductArn")},
        "ErrorCode": code,
        "ErrorMessage": message,
    }
