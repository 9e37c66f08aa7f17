"""The guard rails of issue 7, as rules over IAM policy documents.

A statement is judged by every action it can grant, found by expanding its Action or NotAction
patterns against parliament's catalogue of IAM actions: "ec2:*", "ec2:Stop*", "*" and an Allow
with NotAction all count as granting ec2:StopInstances. Deny statements only ever take away.
"""

from __future__ import annotations

import fnmatch
import functools
import re
import warnings
from collections.abc import Iterable, Iterator, Mapping
from typing import Any

with warnings.catch_warnings():
    warnings.simplefilter("ignore")  # parliament imports pkg_resources, deprecated in setuptools
    import parliament

STOP = "ec2:StopInstances"
TAG_WRITES = ("ec2:CreateTags", "ec2:DeleteTags")
SEND_COMMAND = "ssm:SendCommand"
PATCH_DOCUMENT = "AWS-RunPatchBaseline"
STOP_AFTER_TAG = "aws:ResourceTag/warden:stop-after"
READ_LEVELS = frozenset({"List", "Read"})
# Documents that must stay out of reach: a shell, and one of the account's own.
OTHER_DOCUMENTS = (
    "arn:aws:ssm:eu-west-1::document/AWS-RunShellScript",
    "arn:aws:ssm:eu-west-1:123456789012:document/AWS-RunPatchBaselineButNot",
    "arn:aws:ssm:eu-west-1:123456789012:document/my-own-script",
)


@functools.cache
def catalogue() -> Mapping[str, str]:
    """Every IAM action parliament knows, lower-cased, -> its access level."""
    out: dict[str, str] = {}
    for service in parliament.iam_definition:
        for priv in service["privileges"]:
            out[f"{service['prefix']}:{priv['privilege']}".lower()] = priv["access_level"]
    return out


def as_list(value: Any) -> list[Any]:
    if value is None:
        return []
    return list(value) if isinstance(value, list) else [value]


def statements(policy: Mapping[str, Any]) -> list[Mapping[str, Any]]:
    return as_list(policy.get("Statement"))


def _pattern(patterns: Iterable[str]) -> re.Pattern[str]:
    return re.compile("|".join(fnmatch.translate(p.lower()) for p in patterns) or "(?!)")


def granted_actions(stmt: Mapping[str, Any]) -> frozenset[str]:
    """Lower-cased actions an Allow statement grants (empty for a Deny)."""
    if stmt.get("Effect") != "Allow":
        return frozenset()
    if "NotAction" in stmt:
        return _expand(tuple(as_list(stmt["NotAction"])), negate=True)
    patterns = tuple(as_list(stmt.get("Action")))
    # Exact names parliament does not know yet still count as granted.
    exact = {p.lower() for p in patterns if "*" not in p and "?" not in p}
    return _expand(patterns, negate=False) | exact


@functools.cache
def _expand(patterns: tuple[str, ...], negate: bool) -> frozenset[str]:
    match = _pattern(patterns).match
    return frozenset(a for a in catalogue() if bool(match(a)) != negate)


def grants(stmt: Mapping[str, Any], action: str) -> bool:
    return action.lower() in granted_actions(stmt)


def _condition(stmt: Mapping[str, Any], operator: str, key: str) -> list[str] | None:
    block = (stmt.get("Condition") or {}).get(operator) or {}
    for k, v in block.items():
        if k.lower() == key.lower():
            return [str(x) for x in as_list(v)]
    return None


def _requires_tag_present(stmt: Mapping[str, Any], key: str) -> bool:
    if _condition(stmt, "Null", key) == ["false"]:
        return True
    for op in ("StringLike", "StringEquals"):
        values = _condition(stmt, op, key)
        if values and all(v for v in values):
            return True
    return False


def stop_violations(stmt: Mapping[str, Any]) -> Iterator[str]:
    if grants(stmt, STOP) and not _requires_tag_present(stmt, STOP_AFTER_TAG):
        yield f"{_sid(stmt)}: grants {STOP} without requiring {STOP_AFTER_TAG}"


def tag_violations(stmt: Mapping[str, Any]) -> Iterator[str]:
    if not any(grants(stmt, a) for a in TAG_WRITES):
        return
    keys = _condition(stmt, "ForAllValues:StringLike", "aws:TagKeys") or _condition(
        stmt, "ForAllValues:StringEquals", "aws:TagKeys"
    )
    if not keys or not all(k.startswith("warden:") for k in keys):
        yield f"{_sid(stmt)}: grants tag writes without ForAllValues aws:TagKeys limited to warden:*"
    # ForAllValues holds for a request that names no tag key, and DeleteTags without keys
    # deletes every tag of the resource.
    if _condition(stmt, "Null", "aws:TagKeys") != ["false"]:
        yield f"{_sid(stmt)}: grants tag writes without requiring aws:TagKeys (Null false)"


def send_command_violations(stmt: Mapping[str, Any]) -> Iterator[str]:
    if not grants(stmt, SEND_COMMAND):
        return
    if "NotResource" in stmt:
        yield f"{_sid(stmt)}: grants {SEND_COMMAND} with NotResource"
        return
    resources = [str(r) for r in as_list(stmt.get("Resource"))]
    for other in OTHER_DOCUMENTS:
        if any(fnmatch.fnmatchcase(other, r) for r in resources):
            yield f"{_sid(stmt)}: grants {SEND_COMMAND} on {other}"
    if not any(r.endswith(f":document/{PATCH_DOCUMENT}") for r in resources):
        yield f"{_sid(stmt)}: grants {SEND_COMMAND} without naming the {PATCH_DOCUMENT} document"


# Writes AWS lets no policy scope to a resource: X-Ray's trace upload takes only "*".
RESOURCELESS_WRITES = frozenset({"xray:puttracesegments", "xray:puttelemetryrecords"})


def wildcard_violations(stmt: Mapping[str, Any]) -> Iterator[str]:
    if stmt.get("Effect") != "Allow":
        return
    if "*" in as_list(stmt.get("Action")) or "NotAction" in stmt:
        yield f"{_sid(stmt)}: Allow with Action * or NotAction"
    if "*" in [str(r) for r in as_list(stmt.get("Resource"))] or "NotResource" in stmt:
        levels = catalogue()
        writes = sorted(
            a
            for a in granted_actions(stmt)
            if levels.get(a, "Write") not in READ_LEVELS and a not in RESOURCELESS_WRITES
        )
        if writes:
            yield f"{_sid(stmt)}: Resource * on writes {writes[:5]}"


RULES = (stop_violations, tag_violations, send_command_violations, wildcard_violations)


def violations(policy: Mapping[str, Any]) -> list[str]:
    return [v for stmt in statements(policy) for rule in RULES for v in rule(stmt)]


def allowed_action_names(policy: Mapping[str, Any]) -> set[str]:
    """The action names Allow statements list, as written (the meta-test compares these)."""
    return {a for s in statements(policy) if s.get("Effect") == "Allow" for a in as_list(s.get("Action"))}


def _sid(stmt: Mapping[str, Any]) -> str:
    return str(stmt.get("Sid") or "<no Sid>")


# ---------------------------------------------------------------------------------------------
# CloudFormation policy documents: resolve the few intrinsics our templates use.

_SUB_VAR = re.compile(r"\$\{([^}]+)\}")
SAMPLE_VALUES = {
    "AWS::Partition": "aws",
    "AWS::AccountId": "123456789012",
    "AWS::Region": "eu-west-1",
    "HomeAccountId": "210987654321",
}


def resolve(node: Any, conditions: Mapping[str, bool]) -> Any:
    """Resolve Fn::Sub (pseudo parameters to sample values) and Fn::If (by `conditions`);
    AWS::NoValue entries disappear."""
    if isinstance(node, list):
        out = [resolve(n, conditions) for n in node]
        return [n for n in out if n is not _NO_VALUE]
    if isinstance(node, dict):
        if set(node) == {"Fn::Sub"} and isinstance(node["Fn::Sub"], str):
            return _SUB_VAR.sub(lambda m: SAMPLE_VALUES.get(m.group(1), "*"), node["Fn::Sub"])
        if set(node) == {"Fn::If"}:
            name, yes, no = node["Fn::If"]
            return resolve(yes if conditions[name] else no, conditions)
        if node == {"Ref": "AWS::NoValue"}:
            return _NO_VALUE
        resolved = {k: resolve(v, conditions) for k, v in node.items()}
        return {k: v for k, v in resolved.items() if v is not _NO_VALUE}
    return node


_NO_VALUE = object()
