"""The loop every check runs: judge each instance in scope, one verdict each, into a CheckResult.

A check says what it concludes about one instance (a Finding, PASSED, NOT_EVALUATED, or a Skip);
this turns the verdicts into `findings`, `passed`, `not_evaluated` and `skipped` the same way for
every check. Instances the scope named that no longer exist pass: nothing is left to fix. Pure."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from enum import Enum

from chalicelib.model import CheckName, CheckResult, Finding, Instance, Snapshot


class Outcome(Enum):
    PASSED = "passed"  # resolves the instance's open finding of this check
    NOT_EVALUATED = "not-evaluated"  # facts missing: no finding, and nothing resolves


PASSED = Outcome.PASSED
NOT_EVALUATED = Outcome.NOT_EVALUATED


@dataclass(frozen=True)
class Skip:
    """Counted under `reason` in the result's `skipped`, not judged. `passed`: it passes too (a
    stopped or gone instance an old finding no longer holds for); otherwise nothing resolves."""

    reason: str
    passed: bool = False


Verdict = Finding | Outcome | Skip


def judge_each(check: CheckName, snapshot: Snapshot, judge: Callable[[Instance], Verdict]) -> CheckResult:
    findings: list[Finding] = []
    passed: set[str] = set(snapshot.missing_instance_ids)
    not_evaluated: set[str] = set()
    skipped: dict[str, int] = {}
    for instance in snapshot.instances:
        verdict = judge(instance)
        if isinstance(verdict, Finding):
            findings.append(verdict)
        elif isinstance(verdict, Skip):
            skipped[verdict.reason] = skipped.get(verdict.reason, 0) + 1
            if verdict.passed:
                passed.add(instance.id)
        elif verdict is Outcome.PASSED:
            passed.add(instance.id)
        else:
            not_evaluated.add(instance.id)
    return CheckResult(
        check=check,
        findings=tuple(findings),
        passed=frozenset(passed),
        not_evaluated=frozenset(not_evaluated),
        skipped=skipped,
    )
