"""Fault injection for tests: make a chosen fraction of a client's HTTP attempts fail.

The hook sits on botocore's `before-send` event, ahead of moto's, so every injected fault travels
the same road a real one does: botocore parses the error, its retry handler decides, and the
product sees only what survives the retries."""

from __future__ import annotations

import random
import threading
from collections import Counter
from dataclasses import dataclass, field
from typing import Any

from botocore.awsrequest import AWSResponse
from botocore.exceptions import ReadTimeoutError

FAULT_KINDS = ("Throttling", "RequestLimitExceeded", "500", "503", "ReadTimeout")


class _Raw:
    """Just enough of a urllib3 response for botocore to read a body."""

    def __init__(self, body: bytes) -> None:
        self._body = body

    def stream(self, **_: Any) -> Any:
        yield self._body


@dataclass
class FaultInjector:
    rate: float
    kinds: tuple[str, ...] = FAULT_KINDS
    seed: int = 7
    injected: Counter[str] = field(default_factory=Counter)

    def __post_init__(self) -> None:
        self._random = random.Random(self.seed)
        self._lock = threading.Lock()

    def attach(self, client: Any, operation: str | None = None) -> None:
        """Fail a fraction of this client's attempts; of one operation's only, when named."""
        event = (
            "before-send"
            if operation is None
            else f"before-send.{client.meta.service_model.service_id.hyphenize()}.{operation}"
        )
        client.meta.events.register_first(event, self._maybe_fail)

    def _maybe_fail(self, request: Any, **_: Any) -> AWSResponse | None:
        with self._lock:
            if self._random.random() >= self.rate:
                return None
            kind = self._random.choice(self.kinds)
            self.injected[kind] += 1
        if kind == "ReadTimeout":
            raise ReadTimeoutError(endpoint_url=request.url)
        if kind in ("500", "503"):
            return AWSResponse(request.url, int(kind), {}, _Raw(b""))
        return _throttle(request, kind)


def _throttle(request: Any, code: str) -> AWSResponse:
    content_type = request.headers.get("Content-Type", b"")
    content_type = content_type.decode() if isinstance(content_type, bytes) else str(content_type)
    if "json" in content_type:
        body = b'{"__type": "%s", "message": "Rate exceeded (injected)"}' % code.encode()
        return AWSResponse(request.url, 400, {"x-amzn-ErrorType": code, "Content-Type": content_type}, _Raw(body))
    body = (
        b"<Response><Errors><Error><Code>%s</Code><Message>Rate exceeded (injected)</Message></Error>"
        b"</Errors><RequestID>injected</RequestID></Response>" % code.encode()
    )
    return AWSResponse(request.url, 503 if code == "Throttling" else 400, {}, _Raw(body))
