"""Scope -> snapshot: every fact the checks and the plan need, read in the fewest calls the APIs allow.

Read only. A failure to read instances is fatal (SnapshotError): nothing can be judged. A failure
in a later read is recorded in `Snapshot.errors` and marks what it left unknown, so that checks
do not judge, and the plan does not resolve, on missing facts."""

from __future__ import annotations

from datetime import datetime

from chalicelib.adapters.clients import AWS_ERRORS, AwsClients
from chalicelib.adapters.clients import aws_error_message as _aws_message
from chalicelib.adapters.securityhub import SecurityHubAdapter
from chalicelib.events.scope import Scope
from chalicelib.model import CheckName, Instance, PriorFinding, ReadError, SecurityGroup, Snapshot
from chalicelib.settings import Settings
from chalicelib.snapshot import ec2 as ec2_reads
from chalicelib.snapshot.launch import read_launch_facets
from chalicelib.snapshot.metrics import read_usage_facet
from chalicelib.snapshot.prefix_lists import read_prefix_lists, referenced_lists
from chalicelib.snapshot.refusal import ForeignAccountError, RefusedEventError
from chalicelib.snapshot.ssm import read_ssm_facets


class SnapshotError(RuntimeError):
    """The snapshot could not read what every check needs (the instances in scope)."""


__all__ = ["ForeignAccountError", "RefusedEventError", "SnapshotError", "take_snapshot"]


def take_snapshot(
    scope: Scope,
    clients: AwsClients,
    now: datetime,
    *,
    read_prior: bool,
    usage_days: int = 14,
    settings: Settings | None = None,
) -> Snapshot:
    region = scope.region or clients.region
    errors: list[ReadError] = []
    instances = _read_instances(scope, clients, region)
    if not scope.is_sweep:
        _refuse_a_foreign_event(scope, instances, clients)
    account = scope.account or next((i.account for i in instances if i.account), None)
    if account is None:
        account = _caller_account(clients)
    missing = tuple(sorted(scope.instance_ids - {i.id for i in instances}))

    groups, complete = _read_groups(scope, clients, instances, errors)
    # A facet is read only for the checks that run (WARDEN_CHECKS): its calls are the sweep's cost.
    checks = set((settings or Settings()).checks)
    usage = read_usage_facet(clients, instances, now, usage_days, errors) if CheckName.IDLE in checks else None
    launch = read_launch_facets(scope, clients, instances, groups, settings or Settings(), errors)
    prefix_lists = None
    if CheckName.PUBLIC_EXPOSURE in checks:
        wanted = referenced_lists(instances, groups)
        prefix_lists = read_prefix_lists(clients.ec2, wanted, errors) if wanted else {}

    ssm_info, patch_states, patch_runs = (
        read_ssm_facets(scope, clients, instances, errors)  # patch loop
        if checks & {CheckName.SSM_UNMANAGED, CheckName.PATCH_NONCOMPLIANT}
        else (None, None, {})
    )

    prior: dict[str, PriorFinding] | None = None
    if read_prior:
        in_scope = None if scope.is_sweep else {i.id for i in instances} | set(missing)
        try:
            prior = SecurityHubAdapter(clients.securityhub).open_findings(
                account, region, in_scope, reporter=clients.findings_account
            )
        except AWS_ERRORS as exc:
            errors.append(ReadError("securityhub:GetFindings", _aws_message(exc)))

    return Snapshot(
        account=account,
        region=region,
        taken_at=now,
        is_sweep=scope.is_sweep,
        instances=tuple(instances),
        security_groups=groups,
        security_groups_complete=complete,
        missing_instance_ids=missing,
        prior_findings=prior,
        errors=tuple(errors),
        ssm_info=ssm_info,
        patch_states=patch_states,
        patch_runs=patch_runs,
        is_launch=scope.is_launch,
        usage=usage,
        trigger=scope.trigger,
        images=launch.images,
        volumes=launch.volumes,
        vpcs=launch.vpcs,
        group_neighbours=launch.group_neighbours,
        prefix_lists=prefix_lists,
        actor=scope.actor,
    )


def _read_instances(scope: Scope, clients: AwsClients, region: str) -> list[Instance]:
    try:
        if scope.is_sweep:
            return list(ec2_reads.iter_all_instances(clients.ec2, region, scope.account))
        ids = set(scope.instance_ids)
        group_ids = set(scope.group_ids)
        if scope.group_names:
            group_ids |= ec2_reads.group_ids_named(clients.ec2, scope.group_names)
        if group_ids or scope.network_interface_ids:
            ids |= ec2_reads.instance_ids_behind(clients.ec2, group_ids=group_ids, eni_ids=scope.network_interface_ids)
        if not ids:
            return []
        return list(ec2_reads.iter_instances_by_id(clients.ec2, ids, region, scope.account))
    except AWS_ERRORS as exc:
        raise SnapshotError(f"could not read instances: {_aws_message(exc)}") from exc


def _read_groups(
    scope: Scope, clients: AwsClients, instances: list[Instance], errors: list[ReadError]
) -> tuple[dict[str, SecurityGroup], bool]:
    used = {g for i in instances for g in i.all_group_ids}
    if not used:
        return {}, True
    try:
        if scope.is_sweep:
            groups = ec2_reads.read_all_security_groups(clients.ec2)
        else:
            groups = ec2_reads.read_security_groups(clients.ec2, used)
    except AWS_ERRORS as exc:
        errors.append(ReadError("ec2:DescribeSecurityGroups", _aws_message(exc)))
        return {}, False
    return groups, True


def _refuse_a_foreign_event(scope: Scope, instances: list[Instance], clients: AwsClients) -> None:
    """The account an event names must be the one its instances belong to (their reservation's
    OwnerId, read with the run's credentials), or, when none was found, the credentials' own
    (GetCallerIdentity, only then): a forged, replayed or misrouted event of another account
    never marks, stops, patches, imports or resolves anything here."""
    if scope.account is None:
        raise ForeignAccountError("the event names no account; the resource's account decides, so it is refused")
    owners = {i.account for i in instances} or {_caller_account(clients)}
    if owners != {scope.account}:
        raise ForeignAccountError(
            f"the event is for account {scope.account}, but this run's credentials act in account "
            f"{', '.join(sorted(owners))}: refused, nothing written"
        )


def _caller_account(clients: AwsClients) -> str:
    try:
        account = clients.sts.get_caller_identity().get("Account")
    except AWS_ERRORS as exc:
        raise SnapshotError(f"could not tell which account this is: {_aws_message(exc)}") from exc
    if not isinstance(account, str) or not account.isdigit():  # an answer that is not AWS's names none
        raise SnapshotError("could not tell which account this is: GetCallerIdentity named no account")
    return account
