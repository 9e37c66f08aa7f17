"""The HTML report in a real browser: headless Chromium (Debian's `chromium`; `make test` installs it
when missing) renders a seeded fleet's report. The screenshot is not blank, the page logs nothing to
the console, the rendered DOM holds every finding and every chart, and a tag value that is a script
is shown as text.

One Chromium run gives both the screenshot and the DOM (--screenshot with --dump-dom);
--enable-logging=stderr --v=0 makes Chromium print each console message as an INFO:CONSOLE line,
which a control page with a console.error shows this test can see."""

from __future__ import annotations

import io
import re
import shutil
import subprocess
import time
from html.parser import HTMLParser
from pathlib import Path

import pytest

from chalicelib.report.render import write_report
from tests.png_pixels import png_colours, png_size
from tests.report_support import HOSTILE, NOW, swept_fleet

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
pytestmark = pytest.mark.skipif(
    CHROMIUM is None,
    reason="headless Chromium is not installed and could not be (make test installs Debian's `chromium` "
    "with apt-get when it can)",
)
WINDOW = (1280, 1400)
BLANK_PNG_BYTES = 10_000  # an empty page's screenshot is under ~10 KB
CONSOLE = re.compile(r":CONSOLE[:(]")


def render_in_chromium(page: Path, tmp: Path) -> tuple[bytes, str, list[str], float]:
    shot = tmp / "shot.png"
    started = time.monotonic()
    done = subprocess.run(
        [
            str(CHROMIUM),
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--hide-scrollbars",
            "--no-first-run",
            "--enable-logging=stderr",
            "--v=0",
            f"--window-size={WINDOW[0]},{WINDOW[1]}",
            f"--screenshot={shot}",
            "--dump-dom",
            page.as_uri(),
        ],
        capture_output=True,
        text=True,
        timeout=45,
        check=False,
    )
    elapsed = time.monotonic() - started
    assert done.returncode == 0, done.stderr[-2000:]
    console = [line for line in done.stderr.splitlines() if CONSOLE.search(line)]
    return shot.read_bytes(), done.stdout, console, elapsed


@pytest.fixture(scope="module")
def rendered(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("browser")
    with swept_fleet(every_idle_story=False) as (report, stories):
        out = io.StringIO()
        write_report(report, "html", out, NOW)
    page = tmp / "report.html"
    page.write_text(out.getvalue(), encoding="utf-8")
    png, dom, console, elapsed = render_in_chromium(page, tmp)
    return report, stories, png, dom, console, elapsed


class _Dom(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.tags: list[tuple[str, dict[str, str | None]]] = []
        self.text: list[str] = []

    def handle_starttag(self, tag, attrs):
        self.tags.append((tag, dict(attrs)))

    def handle_data(self, data):
        self.text.append(data)


def test_the_screenshot_is_a_page_not_a_blank(rendered):
    _, _, png, _, _, elapsed = rendered
    assert png_size(png) == WINDOW
    assert len(png) > 5 * BLANK_PNG_BYTES
    colours = png_colours(png, max_rows=400)
    # the dark header, the white sections, the grey page and the severity badges at least
    assert len(colours) > 20
    assert max(colours.values()) < 0.9 * sum(colours.values())
    assert elapsed < 45


def test_the_page_logs_nothing_to_the_console(rendered):
    assert rendered[4] == []


def test_a_console_error_would_be_seen(tmp_path):
    # the check above can fail: a page that logs an error shows up in Chromium's log
    page = tmp_path / "noisy.html"
    page.write_text('<!DOCTYPE html><p>x</p><script>console.error("boom")</script>', encoding="utf-8")
    _, _, console, _ = render_in_chromium(page, tmp_path)
    assert any("boom" in line for line in console)


def test_the_dom_holds_every_finding_every_chart_and_no_script(rendered):
    report, stories, _, dom, _, _ = rendered
    parsed = _Dom()
    parsed.feed(dom)
    ids = {a.get("data-finding-id") for tag, a in parsed.tags if tag == "article"}
    assert ids == {f.id for f in report.findings}
    charts = {a.get("data-chart") for tag, a in parsed.tags if tag == "svg"}
    assert {
        "findings-by-severity",
        "sprawl-by-environment",
        "sprawl-by-owner",
        "stop-deadlines",
        "patch-compliance",
    } <= charts
    bars = [a for tag, a in parsed.tags if tag == "rect" and "bar" in (a.get("class") or "")]
    assert sum(int(a["data-value"] or 0) for a in bars if "s-findings" in (a.get("class") or "")) == len(
        report.findings
    )
    # the hostile Owner tag: no script element anywhere, and the text as the owner wrote it
    assert not any(tag == "script" for tag, _ in parsed.tags)
    assert HOSTILE in "".join(parsed.text)
    assert stories["forgotten-lab-box"] in dom  # the stop deadline of tomorrow
