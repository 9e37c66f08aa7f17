"""Block Kit primitives that stay inside Slack's documented limits by construction. Pure.

Limits (api.slack.com/reference/block-kit): 50 blocks a message; a section's text and any text
object 3,000 characters; a section's fields 10, each 2,000 characters; a header's plain text
150 characters; a context block 10 elements. Text from AWS (tags, names, descriptions) is
escaped, so a tag value like `<!channel>` is shown, not obeyed, and every mrkdwn text object is
`verbatim`: Slack does not turn a URL, a #channel or an @name written in a tag into a link or a
mention (the links ec2-warden writes itself, `<url|label>`, still work)."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any

MAX_BLOCKS = 50
MAX_TEXT = 3000
MAX_FIELDS = 10
MAX_FIELD_TEXT = 2000
MAX_HEADER_TEXT = 150
MAX_CONTEXT_ELEMENTS = 10
# The top-level `text` is the notification and fallback; Slack accepts more, people read less.
MAX_FALLBACK_TEXT = 3000
ELLIPSIS = "…"

Block = dict[str, Any]


def escape(text: object) -> str:
    """Slack's three control characters; everything else is shown as written."""
    return str(text).replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def link(url: str, label: str) -> str:
    return f"<{url}|{escape(label)}>"


def clip_mrkdwn(text: str, limit: int) -> str:
    """Cut escaped mrkdwn to `limit` characters without splitting an entity or a <link|label>."""
    if len(text) <= limit:
        return text
    cut = text[: limit - len(ELLIPSIS)]
    open_link = cut.rfind("<")
    if open_link > cut.rfind(">"):
        cut = cut[:open_link]
    amp = cut.rfind("&")
    if amp != -1 and ";" not in cut[amp:]:
        cut = cut[:amp]
    return cut + ELLIPSIS


def clip_plain(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: limit - len(ELLIPSIS)] + ELLIPSIS


def header(text: str) -> Block:
    return {"type": "header", "text": {"type": "plain_text", "text": clip_plain(text, MAX_HEADER_TEXT), "emoji": True}}


def mrkdwn(text: str, limit: int = MAX_TEXT) -> dict[str, Any]:
    """A mrkdwn text object with Slack's auto-linking off (see the module's docstring)."""
    return {"type": "mrkdwn", "text": clip_mrkdwn(text, limit), "verbatim": True}


def section(text: str) -> Block:
    return {"type": "section", "text": mrkdwn(text)}


def fields_section(pairs: Sequence[tuple[str, str]]) -> Block:
    """Label/value pairs shown two a row. Labels are ours; values must already be escaped."""
    fields = [mrkdwn(f"*{label}*\n{value}", MAX_FIELD_TEXT) for label, value in pairs[:MAX_FIELDS]]
    return {"type": "section", "fields": fields}


def context(texts: Iterable[str]) -> Block:
    elements = [mrkdwn(t) for t in texts if t]
    return {"type": "context", "elements": elements[:MAX_CONTEXT_ELEMENTS]}


def divider() -> Block:
    return {"type": "divider"}


def listing(title: str, lines: Sequence[str], *, limit: int = MAX_TEXT, max_items: int | None = None) -> str:
    """`title` then one line per item; what does not fit ends as "…and N more".

    Each line must already be escaped mrkdwn. The result is never longer than `limit`."""
    out = [title]
    length = len(title)
    shown_max = len(lines) if max_items is None else min(len(lines), max_items)
    shown = 0
    for i in range(shown_max):
        line = clip_mrkdwn(lines[i], max(40, limit // 2))
        rest = len(lines) - i - 1
        tail = len(_more(rest)) + 1 if rest else 0
        if length + 1 + len(line) + tail > limit:
            break
        out.append(line)
        length += 1 + len(line)
        shown += 1
    if shown < len(lines):
        out.append(_more(len(lines) - shown))
    return "\n".join(out)


def listing_blocks(
    title: str, lines: Sequence[str], *, max_items: int | None = None, max_blocks: int = 3
) -> list[Block]:
    """Like `listing`, spread over up to `max_blocks` sections so that lines with links still fit."""
    reserve = len(_more(len(lines))) + 1
    chunks: list[list[str]] = [[title]]
    size = len(title)
    cap = len(lines) if max_items is None else min(len(lines), max_items)
    shown = 0
    for raw in lines[:cap]:
        line = clip_mrkdwn(raw, MAX_TEXT - reserve - 1)
        if size + 1 + len(line) + reserve > MAX_TEXT:
            if len(chunks) == max_blocks:
                break
            chunks.append([])
            size = -1
        chunks[-1].append(line)
        size += 1 + len(line)
        shown += 1
    if shown < len(lines):
        chunks[-1].append(_more(len(lines) - shown))
    return [section("\n".join(chunk)) for chunk in chunks]


def _more(count: int) -> str:
    return f"{ELLIPSIS}and {count} more"


def message(fallback: str, blocks: Sequence[Block]) -> dict[str, Any]:
    """A webhook payload; `fallback` (escaped mrkdwn) is what notifications show.

    Past 50 blocks the last kept block says how many were left out."""
    kept = list(blocks)
    if len(kept) > MAX_BLOCKS:
        dropped = len(kept) - (MAX_BLOCKS - 1)
        kept = [*kept[: MAX_BLOCKS - 1], context([f"{ELLIPSIS}and {dropped} more block(s) not shown"])]
    return {"text": clip_mrkdwn(fallback, MAX_FALLBACK_TEXT), "blocks": kept}
