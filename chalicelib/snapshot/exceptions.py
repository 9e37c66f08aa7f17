"""The exceptions facet: owner-declared `warden:exception` tags (already in the snapshot) and, when
EXCEPTIONS_TABLE is set, the approved exceptions (one Scan of the home account's table, in the
function's own region, with the function's own identity: the table is the security team's).

An unreadable table is an error in the report and waives nothing: the findings stand."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from chalicelib.adapters.clients import AWS_ERRORS, AwsClients, aws_error_message
from chalicelib.adapters.exceptions_table import ExceptionsTable
from chalicelib.model import ReadError, Snapshot
from chalicelib.rules.exceptions import WardenException, read_tag_exceptions
from chalicelib.settings import Settings


@dataclass(frozen=True)
class ExceptionFacet:
    held: tuple[WardenException, ...] = ()
    invalid: dict[str, str] = field(default_factory=dict)  # target or instance id -> why
    errors: tuple[ReadError, ...] = ()


def read_exception_facet(snapshot: Snapshot, settings: Settings, clients: AwsClients, now: datetime) -> ExceptionFacet:
    tags = read_tag_exceptions(snapshot.instances, settings.owner_tag, now, settings.exception_max_days)
    held = list(tags.held)
    invalid = dict(tags.invalid)
    errors: list[ReadError] = []
    if settings.exceptions_table:
        dynamodb = clients.own_in(settings.region, "dynamodb") if settings.region else clients.own("dynamodb")
        try:
            read = ExceptionsTable(dynamodb, settings.exceptions_table).read()
        except AWS_ERRORS as exc:
            errors.append(ReadError("dynamodb:Scan", f"{settings.exceptions_table}: {aws_error_message(exc)}"))
        else:
            held.extend(read.exceptions)
            invalid.update({f"table:{line.split(':', 1)[0]}": line.split(": ", 1)[-1] for line in read.unreadable})
    return ExceptionFacet(tuple(held), invalid, tuple(errors))
