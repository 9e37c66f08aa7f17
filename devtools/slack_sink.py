"""A local Slack incoming-webhook endpoint for the demo and the tests.

A real HTTP server on 127.0.0.1 (a free port, in a thread) that records every POST and answers as
Slack does (200 "ok"), or as told: 429 with Retry-After, 500, 404 "no_service"... so the product's
slack-sdk client is exercised over real HTTP. `render_message` prints a received Block Kit message
the way a person reads it in the channel.

    with SlackSink() as sink:
        url = sink.url
        sink.answer(Reply(429, headers={"Retry-After": "1"}))  # next POST only; then 200 again
        ...
        for text in sink.rendered():
            print(text)
"""

from __future__ import annotations

import json
import re
import threading
from collections import deque
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

WEBHOOK_PATH = "/services/T0WARDEN0/B0WARDEN0/localsinktoken0000000000"


@dataclass(frozen=True)
class Reply:
    status: int = 200
    body: str = "ok"
    headers: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class Received:
    path: str
    headers: dict[str, str]
    body: bytes
    reply: Reply

    @property
    def payload(self) -> Any:
        return json.loads(self.body.decode("utf-8"))


class SlackSink:
    def __init__(self, path: str = WEBHOOK_PATH) -> None:
        self.path = path
        self._lock = threading.Lock()
        self._received: list[Received] = []
        self._queued: deque[Reply] = deque()
        self._always: Reply | None = None
        self._server: ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None

    # --- lifecycle ------------------------------------------------------------------------------
    def start(self) -> SlackSink:
        sink = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:  # the webhook protocol is POST only
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length)
                reply = sink._reply_for(self.path, body)
                with sink._lock:
                    sink._received.append(Received(self.path, dict(self.headers.items()), body, reply))
                data = reply.body.encode("utf-8")
                self.send_response(reply.status)
                self.send_header("Content-Type", "text/html")
                self.send_header("Content-Length", str(len(data)))
                for name, value in reply.headers.items():
                    self.send_header(name, value)
                self.end_headers()
                self.wfile.write(data)

            def log_message(self, format: str, *args: Any) -> None:
                # The default logs each request line to stderr, path included: that path is the secret.
                pass

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._server.daemon_threads = True
        self._thread = threading.Thread(target=self._server.serve_forever, name="slack-sink", daemon=True)
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

    def __enter__(self) -> SlackSink:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    @property
    def port(self) -> int:
        if self._server is None:
            raise RuntimeError("the sink is not running")
        return int(self._server.server_address[1])

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}{self.path}"

    # --- scripting the answers ------------------------------------------------------------------
    def answer(self, *replies: Reply) -> None:
        """Answer the next POSTs with these replies, in order; then 200 "ok" again."""
        with self._lock:
            self._queued.extend(replies)

    def answer_always(self, reply: Reply | None) -> None:
        """Answer every POST with `reply` (None: back to 200 "ok")."""
        with self._lock:
            self._always = reply

    def _reply_for(self, path: str, body: bytes) -> Reply:
        with self._lock:
            if path != self.path:
                return Reply(404, "no_service")  # what Slack says to an unknown webhook
            try:
                problems = block_kit_violations(json.loads(body.decode("utf-8")))
            except (UnicodeDecodeError, json.JSONDecodeError):
                return Reply(400, "invalid_payload")
            if problems:
                return Reply(400, "invalid_blocks")  # as Slack answers a payload past its limits
            if self._queued:
                return self._queued.popleft()
            return self._always or Reply()

    # --- what arrived ---------------------------------------------------------------------------
    @property
    def received(self) -> list[Received]:
        with self._lock:
            return list(self._received)

    @property
    def messages(self) -> list[dict[str, Any]]:
        """Payloads Slack would have shown (answered 200)."""
        return [r.payload for r in self.received if r.reply.status == 200]

    def rendered(self) -> list[str]:
        return [render_message(m) for m in self.messages]

    def clear(self) -> None:
        with self._lock:
            self._received.clear()
            self._queued.clear()
            self._always = None


# --- Slack's documented limits (api.slack.com/reference/block-kit) ------------------------------

LIMITS = {
    "blocks": 50,
    "section_text": 3000,
    "section_fields": 10,
    "field_text": 2000,
    "header_text": 150,
    "context_elements": 10,
    "text_object": 3000,
    "block_id": 255,
    "message_text": 40000,
}
_TEXT_TYPES = ("plain_text", "mrkdwn")


def block_kit_violations(payload: Any) -> list[str]:
    """Every way `payload` breaks Slack's documented limits for an incoming-webhook message."""
    if not isinstance(payload, dict):
        return ["the payload is not a JSON object"]
    problems: list[str] = []
    text = payload.get("text")
    blocks = payload.get("blocks")
    if not text and not blocks:
        problems.append("no text and no blocks")
    if text is not None and (not isinstance(text, str) or len(text) > LIMITS["message_text"]):
        problems.append("text is not a string of at most 40,000 characters")
    if blocks is None:
        return problems
    if not isinstance(blocks, list) or len(blocks) > LIMITS["blocks"]:
        return [*problems, f"blocks must be a list of at most {LIMITS['blocks']}"]
    for i, block in enumerate(blocks):
        problems += [f"block {i}: {p}" for p in _block_violations(block)]
    return problems


def _block_violations(block: Any) -> list[str]:
    if not isinstance(block, dict):
        return ["not an object"]
    out: list[str] = []
    if len(str(block.get("block_id", ""))) > LIMITS["block_id"]:
        out.append("block_id longer than 255")
    kind = block.get("type")
    if kind == "header":
        out += _text_violations(block.get("text"), LIMITS["header_text"], plain_only=True)
    elif kind == "section":
        if not block.get("text") and not block.get("fields"):
            out.append("section needs text or fields")
        if block.get("text") is not None:
            out += _text_violations(block["text"], LIMITS["section_text"])
        fields = block.get("fields") or []
        if len(fields) > LIMITS["section_fields"]:
            out.append(f"{len(fields)} fields (at most {LIMITS['section_fields']})")
        for field_ in fields:
            out += _text_violations(field_, LIMITS["field_text"])
    elif kind == "context":
        elements = block.get("elements") or []
        if not 1 <= len(elements) <= LIMITS["context_elements"]:
            out.append(f"context has {len(elements)} elements (1 to {LIMITS['context_elements']})")
        for element in elements:
            out += _text_violations(element, LIMITS["text_object"])
    elif kind != "divider":
        out.append(f"block type {kind!r} is not one ec2-warden sends")
    return out


def _text_violations(obj: Any, limit: int, plain_only: bool = False) -> list[str]:
    if not isinstance(obj, dict) or obj.get("type") not in (("plain_text",) if plain_only else _TEXT_TYPES):
        return ["text object of the wrong type"]
    text = obj.get("text")
    if not isinstance(text, str) or not 1 <= len(text) <= limit:
        return [f"text of {len(text) if isinstance(text, str) else '?'} characters (1 to {limit})"]
    return []


# --- Block Kit as a person reads it ------------------------------------------------------------

_LINK = re.compile(r"<([^|>]+)\|([^>]+)>")
_BARE_LINK = re.compile(r"<([^|>]+)>")
_EMOJI = {
    ":rotating_light:": "🚨",
    ":red_circle:": "🔴",
    ":large_orange_circle:": "🟠",
    ":large_yellow_circle:": "🟡",
    ":information_source:": "ℹ️",  # noqa: RUF001 - the emoji is the point
    ":bar_chart:": "📊",
    ":white_check_mark:": "✅",
}


def render_message(payload: dict[str, Any], *, show_urls: bool = False) -> str:
    """A Block Kit message as plain text: headers underlined, fields as "label: value", links as labels."""
    lines: list[str] = []
    for block in payload.get("blocks") or []:
        kind = block.get("type")
        if kind == "header":
            title = _emoji(block["text"]["text"])  # plain_text: Slack shows it as written
            lines += [title, "=" * min(len(title), 72)]
        elif kind == "section":
            if block.get("text"):
                lines.append(_plain(block["text"]["text"], show_urls))
            for item in block.get("fields") or []:
                label, _, value = _plain(item["text"], show_urls).partition("\n")
                lines.append(f"{label}: {value.replace(chr(10), ' ')}" if value else label)
        elif kind == "context":
            lines.append("  " + "  |  ".join(_plain(e.get("text", ""), show_urls) for e in block.get("elements", [])))
        elif kind == "divider":
            lines.append("-" * 40)
        lines.append("")
    if not lines:
        lines.append(_plain(str(payload.get("text", "")), show_urls))
    return "\n".join(lines).rstrip() + "\n"


def _emoji(text: str) -> str:
    for code, char in _EMOJI.items():
        text = text.replace(code, char)
    return text


def _plain(text: str, show_urls: bool) -> str:
    text = _emoji(text)
    text = _LINK.sub(lambda m: f"{m.group(2)} ({m.group(1)})" if show_urls else f"[{m.group(2)}]", text)
    text = _BARE_LINK.sub(lambda m: m.group(1), text)
    text = re.sub(r"(?<![\w*])\*([^*\n]+)\*(?![\w*])", r"\1", text)  # *bold* -> bold
    text = text.replace("`", "")
    return text.replace("&lt;", "<").replace("&gt;", ">").replace("&amp;", "&")
