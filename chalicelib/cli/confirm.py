"""Enforce from a laptop asks first: it names the account and region it will change."""

from __future__ import annotations

from typing import Any, TextIO

from chalicelib.adapters.clients import AwsClients
from chalicelib.cli.failures import UsageError


def confirm_enforce(clients: AwsClients, region: str, *, yes: bool, err: TextIO, stdin: Any) -> None:
    """Go on with --yes, or when a person at a terminal types "yes"; otherwise refuse (exit 2).

    One GetCallerIdentity names the account: the credentials decide it, not a flag."""
    account = clients.sts.get_caller_identity()["Account"]
    where = f"account {account}, region {region}"
    if yes:
        print(f"ec2-warden: warning: enforce mode: changing instances in {where} (--yes)", file=err)
        return
    if not _is_terminal(stdin):
        raise UsageError(f"enforce mode would change instances in {where}: pass --yes to go ahead (no terminal to ask)")
    err.write(f"ec2-warden: enforce mode will change instances in {where}. Type yes to go ahead: ")
    err.flush()
    answer = stdin.readline().strip().lower()
    if answer != "yes":
        raise UsageError(f"enforce mode not confirmed for {where}: nothing was changed")


def _is_terminal(stream: Any) -> bool:
    isatty = getattr(stream, "isatty", None)
    return bool(isatty and isatty())
