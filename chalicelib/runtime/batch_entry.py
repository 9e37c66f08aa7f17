"""Lambda entry point of queued events (app.py on_event_batch): one SQS batch, coalesced per
account and region (chalicelib/events/coalesce.py), one pipeline run per group, each in the
account it belongs to (chalicelib/runtime/dispatch.py), and Lambda's partial batch response.

A record that cannot be read fails alone (it is retried, then waits in the redrive queue); an
ignored or duplicate record is done; a group that could not run (its member role refused, its
instances unreadable) fails its own records only."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from chalicelib.adapters.log import logger
from chalicelib.events.coalesce import Batch, RecordOutcome, coalesce
from chalicelib.model import ReadError, Report
from chalicelib.report.metrics import emit_run_metrics
from chalicelib.runtime.entry import response_of, run_scope
from chalicelib.settings import Settings, load_settings


class EventBatchFailed(RuntimeError):
    """Every record of a batch failed: raised so Lambda retries the batch even without
    ReportBatchItemFailures on the mapping (as the fan-out worker does)."""


def handle_event_batch(records: Iterable[Mapping[str, Any]], context: Any = None) -> dict[str, Any]:
    settings = load_settings()
    records = list(records)
    batch = coalesce(records, settings.event_batch_sweep_above)
    for outcome in batch.outcomes:
        if outcome.failed:
            logger.error("queued event refused", extra={"message_id": outcome.message_id, "error": outcome.failed})
    reports = [_run_group(batch, i, settings, context) for i in range(len(batch.groups))]
    results = [_result(o, reports) for o in batch.outcomes]
    failed = [r for r in results if r["failed"]]
    if results and len(failed) == len(results):
        detail = "; ".join(f"{r['message_id']}: {r['failed']}"[:300] for r in failed[:3])
        raise EventBatchFailed(f"all {len(results)} record(s) failed: {detail}")
    api_calls: dict[str, int] = {}
    for report in reports:
        for key, count in report.api_calls.items():
            api_calls[key] = api_calls.get(key, 0) + count
    logger.info(
        "event batch handled",
        extra={
            "records": len(results),
            "groups": len(reports),
            "failed": len(failed),
            "api_calls": sum(api_calls.values()),
        },
    )
    return {
        "batchItemFailures": [{"itemIdentifier": r["message_id"]} for r in failed],
        "records": results,
        "groups": [
            {"events": g.events, "swept": g.swept, "message_ids": list(g.message_ids)} | {"report": response_of(r)}
            for g, r in zip(batch.groups, reports, strict=True)
        ],
        "api_calls": dict(sorted(api_calls.items())),
    }


def _run_group(batch: Batch, index: int, settings: Settings, context: Any) -> Report:
    scope = batch.groups[index].scope
    try:
        report = run_scope(scope, settings, context)
    except Exception as exc:
        # One account's surprise must not fail the other groups: its records fail (retried, then
        # redriven) and the traceback is in the log.
        logger.exception("queued event group crashed", extra={"account": scope.account, "region": scope.region})
        report = Report(settings.mode, scope.trigger, scope.account, scope.region, event_id=scope.event_id)
        report.errors.append(ReadError("snapshot", f"{type(exc).__name__}: {exc}"[:500]))
    emit_run_metrics(report, settings.metrics_namespace)
    return report


def _result(outcome: RecordOutcome, reports: list[Report]) -> dict[str, Any]:
    out: dict[str, Any] = {
        "message_id": outcome.message_id,
        "event_id": outcome.event_id,
        "failed": outcome.failed,
        "ignored": outcome.ignored,
        "group": outcome.group,
    }
    if outcome.group is not None:
        report = reports[outcome.group]
        if report.ignored:
            out["ignored"] = report.ignored
        elif not report.completed:
            blocking = next(e for e in report.errors if e.where in Report.BLOCKING_ERRORS)
            out["failed"] = f"{blocking.where}: {blocking.message}"
    return out
