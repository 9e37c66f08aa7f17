"""An embedded AWS for the demo and the end-to-end tests: moto's server on 127.0.0.1."""

from __future__ import annotations

import logging
import os
import socket
from collections.abc import Iterator
from contextlib import contextmanager

FAKE_CREDENTIALS = {
    "AWS_ACCESS_KEY_ID": "testing",
    "AWS_SECRET_ACCESS_KEY": "testing",
    "AWS_SESSION_TOKEN": "testing",
}


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@contextmanager
def moto_server(port: int | None = None) -> Iterator[str]:
    """Start moto's ThreadedMotoServer on 127.0.0.1 and yield its endpoint URL."""
    from moto.server import ThreadedMotoServer

    from .moto_securityhub import install as install_triage
    from .moto_ssm import install as install_managed_ssm

    install_managed_ssm()  # SSM managed instances and patch state, which moto lacks (devtools/moto_ssm.py)
    install_triage()  # Security Hub's BatchUpdateFindings, which moto lacks (devtools/moto_securityhub.py)
    # werkzeug logs every request to stderr; the demo's reader wants the story, not the access log.
    logging.getLogger("werkzeug").setLevel(logging.ERROR)
    port = port or free_port()
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=port, verbose=False)
    server.start()
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.stop()


@contextmanager
def patched_environ(values: dict[str, str]) -> Iterator[None]:
    """Environment variables set only for the block (handlers read settings at each invocation)."""
    saved = {k: os.environ.get(k) for k in values}
    os.environ.update(values)
    try:
        yield
    finally:
        for key, value in saved.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value


@contextmanager
def fake_credentials() -> Iterator[None]:
    """Credentials moto accepts, set only for the block, so nothing real is ever used."""
    with patched_environ(FAKE_CREDENTIALS):
        yield
