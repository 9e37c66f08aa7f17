"""`ec2-warden lab`: the embedded AWS with a seeded fleet, until Ctrl-C (the fleet lives in devtools/lab.py)."""

from __future__ import annotations

from typing import TextIO

from chalicelib.cli.failures import UsageError


def run_lab(port: int, out: TextIO) -> int:
    from chalicelib.cli.devtools_loader import LAB, load

    serve_lab = load(LAB, "lab")  # moto: a development dependency, never deployed
    try:
        return int(serve_lab(port, out))
    except OSError as exc:  # the port is taken
        raise UsageError(str(exc)) from None
