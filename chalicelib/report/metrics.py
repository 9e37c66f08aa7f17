"""CloudWatch metrics in Embedded Metric Format (EMF), emitted once per run from the report.

EMF lines are JSON on stdout that CloudWatch Logs turns into metrics: no PutMetricData call, no
extra IAM, no latency. Powertools' EMF provider builds and validates each line. CloudWatch
applies one set of dimensions to a whole EMF object, so each breakdown is its own line:

  service                      InstancesScanned, Findings, Resolved, Errors, AwsCalls
  service, check, severity     Findings
  service, kind                Actions (done), ActionErrors (kind assume-role: a member account's
                               role missing or refusing, for an event of that account)
  service, where               Errors

Only the Lambda entry points emit (chalicelib/runtime/entry.py): the CLI's stdout is its report."""

from __future__ import annotations

import json
import sys
from collections import Counter
from typing import Any, TextIO

from aws_lambda_powertools.metrics.functions import is_metrics_disabled
from aws_lambda_powertools.metrics.provider.cloudwatch_emf.cloudwatch import AmazonCloudWatchEMFProvider

from chalicelib.model import Report

SERVICE = "ec2-warden"
# Errors that are also counted as ActionErrors{kind=assume-role}.
ACTION_ERRORS_OF = frozenset({"sts:AssumeRole"})


def run_metrics(report: Report, namespace: str) -> list[dict[str, Any]]:
    """The EMF objects for one run. Zero counts are included where a dashboard needs a baseline."""
    blobs = [
        _blob(
            namespace,
            {},
            {
                "InstancesScanned": len(report.instance_ids),
                "Findings": len(report.findings),
                "Resolved": len(report.resolved),
                "Errors": len(report.errors),
                "AwsCalls": sum(report.api_calls.values()),
            },
        )
    ]
    by_check = Counter((f.check.value, f.severity.value) for f in report.findings)
    for (check, severity), count in sorted(by_check.items()):
        blobs.append(_blob(namespace, {"check": check, "severity": severity}, {"Findings": count}))
    kinds = sorted({o.kind.value for o in report.actions})
    for kind in kinds:
        done = sum(1 for o in report.actions if o.kind.value == kind and o.done)
        failed = sum(1 for o in report.actions if o.kind.value == kind and o.error)
        blobs.append(_blob(namespace, {"kind": kind}, {"Actions": done, "ActionErrors": failed}))
    # A member role that is missing or refuses is an action that failed (acting in that account).
    refused = sum(1 for e in report.errors if e.where in ACTION_ERRORS_OF)
    if refused:
        blobs.append(_blob(namespace, {"kind": "assume-role"}, {"Actions": 0, "ActionErrors": refused}))
    # "where" is a bounded set: "snapshot", "service:Operation", a check name or "action:<kind>".
    by_where = Counter(e.where for e in report.errors)
    for where, count in sorted(by_where.items()):
        blobs.append(_blob(namespace, {"where": where}, {"Errors": count}))
    return blobs


def emit_run_metrics(report: Report, namespace: str, out: TextIO | None = None) -> int:
    """Write the run's EMF lines (stdout by default); returns how many. Honours POWERTOOLS_METRICS_DISABLED."""
    if is_metrics_disabled():
        return 0
    stream = out or sys.stdout
    blobs = run_metrics(report, namespace)
    for blob in blobs:
        stream.write(json.dumps(blob, separators=(",", ":")) + "\n")
    stream.flush()
    return len(blobs)


def _blob(namespace: str, dimensions: dict[str, str], values: dict[str, int]) -> dict[str, Any]:
    provider = AmazonCloudWatchEMFProvider(namespace=namespace, service=SERVICE)
    for name, dimension in dimensions.items():
        provider.add_dimension(name=name, value=dimension)
    for name, count in values.items():
        provider.add_metric(name=name, unit="Count", value=count)
    return dict(provider.serialize_metric_set())
