"""Why the snapshot refuses an event outright: what it read shows that acting on the event would
act on someone else's say-so. Raised before any write; the pipeline reports the reason as the
run's `ignored` and writes nothing."""

from __future__ import annotations


class RefusedEventError(RuntimeError):
    """The event is not acted on; the message says why."""


class ForeignAccountError(RefusedEventError):
    """An event names no account, or another account than the one the run's credentials act in:
    the resource's account decides."""


class UnconfirmedEventError(RefusedEventError):
    """A Run Command status event says what AWS does not confirm (a forged or stale Success)."""
