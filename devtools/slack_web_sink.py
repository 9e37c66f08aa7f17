"""A local stand-in for the two Slack Web API methods owner messages use, for the demo and tests.

A real HTTP server on 127.0.0.1 (a free port, in a thread). slack-sdk's WebClient talks to it
when SLACK_API_URL points at `sink.api_url`, so the product's client, retries and error handling
are exercised over real HTTP. Answers follow Slack's documentation (docs.slack.dev/reference/
methods/users.lookupByEmail and chat.postMessage): HTTP 200 with {"ok": true, ...}, or HTTP 200
with {"ok": false, "error": "users_not_found" | "invalid_auth" | "channel_not_found" |
"invalid_blocks"}; a rate limit is HTTP 429 with Retry-After and "error": "ratelimited".

    with SlackWebSink(token="xoxb-test", users={"ana@example.com": "U0ANA"}) as sink:
        env["SLACK_API_URL"] = sink.api_url
        sink.answer(WebReply(429, {"ok": False, "error": "ratelimited"}, {"Retry-After": "1"}))
        ...
        sink.direct_messages  # [(user id, payload), ...] that Slack accepted

Never imported by chalicelib."""

from __future__ import annotations

import json
import threading
from collections import deque
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlsplit

from devtools.slack_sink import block_kit_violations

API_PATH = "/api/"
TEAM_ID = "T0WARDEN0"


@dataclass(frozen=True)
class WebReply:
    status: int = 200
    body: dict[str, Any] = field(default_factory=lambda: {"ok": True})
    headers: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class WebCall:
    method: str  # "users.lookupByEmail", "chat.postMessage"
    headers: dict[str, str]
    params: dict[str, Any]  # query parameters or the JSON body
    reply: WebReply


class SlackWebSink:
    def __init__(self, *, token: str, users: dict[str, str] | None = None) -> None:
        self.token = token
        self.users = {k.lower(): v for k, v in (users or {}).items()}  # email -> user id
        self._lock = threading.Lock()
        self._calls: list[WebCall] = []
        self._queued: deque[WebReply] = deque()
        self._server: ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None
        self._ts = 1700000000

    def start(self) -> SlackWebSink:
        sink = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                query = parse_qs(urlsplit(self.path).query)
                self._answer({k: v[0] for k, v in query.items()})

            def do_POST(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                raw = self.rfile.read(length).decode("utf-8")
                kind = self.headers.get("Content-Type", "")
                params = json.loads(raw or "{}") if "json" in kind else {k: v[0] for k, v in parse_qs(raw).items()}
                self._answer(params)

            def _answer(self, params: dict[str, Any]) -> None:
                method = urlsplit(self.path).path.removeprefix(API_PATH)
                headers = dict(self.headers.items())
                reply = sink._reply_for(method, headers, params)
                with sink._lock:
                    sink._calls.append(WebCall(method, headers, params, reply))
                data = json.dumps(reply.body).encode("utf-8")
                self.send_response(reply.status)
                self.send_header("Content-Type", "application/json; charset=utf-8")
                self.send_header("Content-Length", str(len(data)))
                for name, value in reply.headers.items():
                    self.send_header(name, value)
                self.end_headers()
                self.wfile.write(data)

            def log_message(self, format: str, *args: Any) -> None:
                pass  # the query string holds addresses; nothing is printed

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._server.daemon_threads = True
        self._thread = threading.Thread(target=self._server.serve_forever, name="slack-web-sink", daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None
        if self._thread is not None:
            self._thread.join(timeout=5)
            self._thread = None

    def __enter__(self) -> SlackWebSink:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    @property
    def api_url(self) -> str:
        if self._server is None:
            raise RuntimeError("the sink is not running")
        return f"http://127.0.0.1:{self._server.server_address[1]}{API_PATH}"

    def answer(self, *replies: WebReply) -> None:
        """Answer the next calls with these replies, in order; then as Slack would again."""
        with self._lock:
            self._queued.extend(replies)

    def _reply_for(self, method: str, headers: dict[str, str], params: dict[str, Any]) -> WebReply:
        with self._lock:
            if self._queued:
                return self._queued.popleft()
            auth = next((v for k, v in headers.items() if k.lower() == "authorization"), "")
            if auth != f"Bearer {self.token}":
                return WebReply(200, {"ok": False, "error": "invalid_auth"})
            if method == "users.lookupByEmail":
                email = str(params.get("email", "")).lower()
                user_id = self.users.get(email)
                if user_id is None:
                    return WebReply(200, {"ok": False, "error": "users_not_found"})
                return WebReply(200, {"ok": True, "user": _user(user_id, email)})
            if method == "chat.postMessage":
                channel = str(params.get("channel", ""))
                if channel not in self.users.values():
                    return WebReply(200, {"ok": False, "error": "channel_not_found"})
                if block_kit_violations({k: params[k] for k in ("text", "blocks") if k in params}):
                    return WebReply(200, {"ok": False, "error": "invalid_blocks"})
                self._ts += 1
                ts = f"{self._ts}.000100"
                dm = "D" + channel[1:]  # Slack answers with the direct-message channel it opened
                message = {"type": "message", "user": "U0WARDENBOT", "text": params.get("text", ""), "ts": ts}
                return WebReply(200, {"ok": True, "channel": dm, "ts": ts, "message": message})
            return WebReply(200, {"ok": False, "error": "unknown_method"})

    @property
    def calls(self) -> list[WebCall]:
        with self._lock:
            return list(self._calls)

    @property
    def direct_messages(self) -> list[tuple[str, dict[str, Any]]]:
        """(user id, payload) of every chat.postMessage Slack accepted."""
        return [
            (str(c.params["channel"]), {"text": c.params.get("text"), "blocks": c.params.get("blocks")})
            for c in self.calls
            if c.method == "chat.postMessage" and c.reply.status == 200 and c.reply.body.get("ok")
        ]

    def clear(self) -> None:
        with self._lock:
            self._calls.clear()
            self._queued.clear()


def _user(user_id: str, email: str) -> dict[str, Any]:
    """users.lookupByEmail's `user` object, trimmed to the fields its documentation example shows."""
    name = email.split("@", 1)[0]
    return {
        "id": user_id,
        "team_id": TEAM_ID,
        "name": name,
        "deleted": False,
        "real_name": name.title(),
        "tz": "Europe/Amsterdam",
        "is_bot": False,
        "profile": {"email": email, "real_name": name.title(), "display_name": name},
    }
