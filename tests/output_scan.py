"""Catch everything a run writes (logs through Python logging and Powertools, at the INFO level the
stages run at) so a test can scan it, with its report and exception texts, for secrets."""

from __future__ import annotations

import io
import logging
from collections.abc import Iterable, Iterator
from contextlib import contextmanager

from chalicelib.adapters.log import logger as powertools_logger

# Distinctive stand-ins for the secrets a run holds: the Slack webhook URL and the (role) session
# credentials boto3 signs with. Long enough that a match is never an accident.
WEBHOOK_URL = "https://hooks.slack.com/services/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789"
SECRET_ACCESS_KEY = "scanSecretAccessKey0123456789abcdefghijklm"
SESSION_TOKEN = "scanSessionToken0123456789abcdefghijklmnopqrstuvwxyz"
SECRETS = (WEBHOOK_URL, "webhookSecretScan0123456789", SECRET_ACCESS_KEY, SESSION_TOKEN)


@contextmanager
def captured_output(level: int = logging.INFO) -> Iterator[io.StringIO]:
    buffer = io.StringIO()
    handler = logging.StreamHandler(buffer)
    handler.setLevel(level)
    root = logging.getLogger()
    saved_level = root.level
    root.addHandler(handler)
    root.setLevel(level)
    powertools_handler = powertools_logger.registered_handler
    old_stream = powertools_handler.setStream(buffer)  # type: ignore[attr-defined]
    old_level = powertools_logger.log_level
    powertools_logger.setLevel(level)
    try:
        yield buffer
    finally:
        powertools_logger.setLevel(old_level)
        powertools_handler.setStream(old_stream)  # type: ignore[attr-defined]
        root.removeHandler(handler)
        root.setLevel(saved_level)


def leaked(texts: Iterable[str], secrets: Iterable[str] = SECRETS) -> list[str]:
    """The secrets found in any of the texts (empty: none)."""
    joined = "\n".join(texts)
    return [s for s in secrets if s in joined]
