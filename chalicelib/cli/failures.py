"""Every way a CLI run can fail, as one line and an exit code: 2 bad usage or input, 1 could not finish."""

from __future__ import annotations

from chalicelib.adapters.clients import AWS_ERRORS, MAX_MESSAGE_CHARS, aws_error_message
from chalicelib.events.scope import EventError
from chalicelib.settings import SettingsError

BAD_INPUT = 2
COULD_NOT_FINISH = 1


class UsageError(Exception):
    """Bad flags or input: exit 2."""


class CouldNotFinish(Exception):
    """The run could not finish (AWS unreachable or refusing): exit 1."""


def one_line(text: str) -> str:
    text = " ".join(str(text).split())
    return text if len(text) <= MAX_MESSAGE_CHARS else text[: MAX_MESSAGE_CHARS - 3] + "..."


def describe_failure(exc: BaseException) -> tuple[int, str]:
    """(exit code, one line) for an exception that reached the CLI's edge."""
    if isinstance(exc, SettingsError | EventError | UsageError):
        return BAD_INPUT, one_line(str(exc))
    if isinstance(exc, CouldNotFinish):
        return COULD_NOT_FINISH, one_line(f"could not finish: {exc}")
    if isinstance(exc, AWS_ERRORS):
        return COULD_NOT_FINISH, one_line(f"could not finish: {aws_error_message(exc)}")
    if isinstance(exc, KeyboardInterrupt):
        return 130, "interrupted"
    # The CLI's last edge: a defect of ours is still one line; --verbose prints its traceback.
    return COULD_NOT_FINISH, one_line(f"unexpected error ({type(exc).__name__}: {exc}); --verbose shows where")
