"""The `ec2-warden` command (also `python -m chalicelib`): sweep, replay, demo, lab.

Exit codes: 0 the run finished (with findings or not), 2 bad usage, settings or input, 1 the run
could not finish (AWS unreachable, an answer that is not AWS's, instances unreadable). Errors go to
stderr in one line. Modules: main (flow and exit codes), args (flags), formats (the one registry of
output formats), table (the text people read), confirm (enforce asks first), checklist
(--list-checks), failures (exceptions -> one line)."""

from __future__ import annotations

import sys

from chalicelib.cli.formats import print_report as _print
from chalicelib.cli.main import main
from chalicelib.cli.table import render_table

__all__ = ["_print", "main", "main_exit", "render_table"]


def main_exit() -> None:
    """The console script's entry point."""
    sys.exit(main())
