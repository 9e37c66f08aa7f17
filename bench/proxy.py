"""A counting front for the moto server: an HTTP proxy on 127.0.0.1 that counts AWS calls as they arrive.

Both tools point their endpoint at the proxy, so the count is what AWS would see (retries
included), not what either tool says it did. Each request is named "service:Operation":

  - service: the signing name in the SigV4 credential scope (`monitoring` is called `cloudwatch`,
    as boto3 calls the client), which is also how moto's server routes a request;
  - operation: the X-Amz-Target header (JSON protocols), the `/service/X/operation/Op` path
    (Smithy RPC v2 CBOR, CloudWatch's protocol in botocore >= 1.38), the Action= parameter (query
    and EC2 protocols), or for REST services the method and path (mapped to a name for the few
    Security Hub routes ec2-warden uses).

An optional fixed latency is slept before each call is forwarded, so that wall time models a
real AWS round trip (tens of ms) rather than a local server's speed."""

from __future__ import annotations

import http.client
import re
import threading
import time
from collections import Counter
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlsplit

_SCOPE = re.compile(r"Credential=[^/]+/\d{8}/[^/]+/([^/]+)/aws4_request")
_RPC_V2 = re.compile(r"^/service/[^/]+/operation/([A-Za-z0-9]+)")
_SIGNING_TO_CLIENT = {"monitoring": "cloudwatch", "execute-api": "apigateway"}
_REST_NAMES = {
    ("securityhub", "POST", "/findings/import"): "BatchImportFindings",
    ("securityhub", "POST", "/findings"): "GetFindings",
    ("securityhub", "PATCH", "/findings/batchupdate"): "BatchUpdateFindings",
}
_HOP_BY_HOP = {"connection", "keep-alive", "transfer-encoding", "te", "trailer", "upgrade", "proxy-connection"}


def operation_of(method: str, path: str, headers: dict[str, str], body: bytes) -> str:
    """ "service:Operation" for one AWS request (headers keyed in lower case)."""
    match = _SCOPE.search(headers.get("authorization", ""))
    service = match.group(1) if match else "unknown"
    service = _SIGNING_TO_CLIENT.get(service, service)
    target = headers.get("x-amz-target")
    if target:
        return f"{service}:{target.rsplit('.', 1)[-1]}"
    parts = urlsplit(path)
    rpc = _RPC_V2.match(parts.path)
    if rpc:
        return f"{service}:{rpc.group(1)}"
    action = parse_qs(parts.query).get("Action")
    if not action and "x-www-form-urlencoded" in headers.get("content-type", ""):
        action = parse_qs(body.decode("utf-8", "replace")).get("Action")
    if action:
        return f"{service}:{action[0]}"
    named = _REST_NAMES.get((service, method, parts.path.rstrip("/") or "/"))
    return f"{service}:{named or method + ' ' + parts.path}"


class CountingProxy:
    """`with CountingProxy(upstream, latency_ms=30) as proxy:` then point clients at proxy.url."""

    def __init__(self, upstream: str, latency_ms: float = 0.0) -> None:
        parts = urlsplit(upstream)
        self._upstream = (parts.hostname or "127.0.0.1", parts.port or 80)
        self.latency = latency_ms / 1000.0
        self._lock = threading.Lock()
        self._counts: Counter[str] = Counter()
        self._upstream_seconds = 0.0  # time moto took to answer, summed over calls (they may overlap)
        self._local = threading.local()
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), self._handler_class())
        self._server.daemon_threads = True
        self._thread = threading.Thread(target=self._server.serve_forever, name="counting-proxy", daemon=True)

    @property
    def url(self) -> str:
        host, port = self._server.server_address[:2]
        return f"http://{host}:{port}"

    def __enter__(self) -> CountingProxy:
        self._thread.start()
        return self

    def __exit__(self, *_: object) -> None:
        self._server.shutdown()
        self._server.server_close()

    def reset(self) -> None:
        with self._lock:
            self._counts.clear()
            self._upstream_seconds = 0.0

    def upstream_seconds(self) -> float:
        with self._lock:
            return self._upstream_seconds

    def counts(self) -> dict[str, int]:
        with self._lock:
            return dict(sorted(self._counts.items()))

    def _record(self, name: str) -> None:
        with self._lock:
            self._counts[name] += 1

    def _connection(self) -> http.client.HTTPConnection:
        conn = getattr(self._local, "conn", None)
        if conn is None:
            conn = http.client.HTTPConnection(*self._upstream, timeout=600)
            self._local.conn = conn
        return conn

    def _forward(self, method: str, path: str, headers: list[tuple[str, str]], body: bytes) -> http.client.HTTPResponse:
        for attempt in (1, 2):  # a kept-alive upstream connection may have been closed by moto
            conn = self._connection()
            try:
                conn.request(method, path, body=body, headers=dict(headers))
                return conn.getresponse()
            except (http.client.HTTPException, ConnectionError):
                conn.close()
                self._local.conn = None
                if attempt == 2:
                    raise
        raise AssertionError("unreachable")

    def _handler_class(self) -> type[BaseHTTPRequestHandler]:
        proxy = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"  # keep-alive, as botocore's pool expects

            def log_message(self, *_: object) -> None:  # no access log
                pass

            def _handle(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length) if length else b""
                lowered = {k.lower(): v for k, v in self.headers.items()}
                proxy._record(operation_of(self.command, self.path, lowered, body))
                if proxy.latency:
                    time.sleep(proxy.latency)
                headers = [(k, v) for k, v in self.headers.items() if k.lower() not in _HOP_BY_HOP]
                started = time.perf_counter()
                response = proxy._forward(self.command, self.path, headers, body)
                payload = response.read()
                with proxy._lock:
                    proxy._upstream_seconds += time.perf_counter() - started
                self.send_response(response.status, response.reason)
                for key, value in response.getheaders():
                    if key.lower() not in _HOP_BY_HOP and key.lower() != "content-length":
                        self.send_header(key, value)
                self.send_header("Content-Length", str(len(payload)))
                self.end_headers()
                if self.command != "HEAD":
                    self.wfile.write(payload)

            do_GET = do_POST = do_PUT = do_PATCH = do_DELETE = do_HEAD = _handle

        return Handler
