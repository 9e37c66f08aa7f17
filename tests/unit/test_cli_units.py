"""The CLI's pure parts: settings messages, the check catalog, colour, and the table of an unfinished run."""

from __future__ import annotations

import io

import pytest

from chalicelib.checks import CHECKS
from chalicelib.checks.catalog import CATALOG
from chalicelib.cli.formats import OutputOptions, print_report
from chalicelib.cli.table import render_table
from chalicelib.model import Mode, ReadError, Report
from chalicelib.rules.permissions import READ_PERMISSIONS
from chalicelib.settings import SettingsError, load_settings, near_misses
from tests.unit.test_report_json import full_report


def test_every_bad_setting_is_named_in_one_message():
    with pytest.raises(SettingsError) as caught:
        load_settings({"IDLE_CPU_PERCENT": "x", "STOPPED_MAX_DAYS": "0", "WARDEN_MODE": "burn"})
    message = str(caught.value)
    assert message.startswith("3 bad settings")
    assert all(var in message for var in ("IDLE_CPU_PERCENT", "STOPPED_MAX_DAYS", "WARDEN_MODE"))


def test_one_bad_setting_reads_as_before():
    with pytest.raises(SettingsError, match=r"^WARDEN_MODE='burn' is not a mode"):
        load_settings({"WARDEN_MODE": "burn"})


@pytest.mark.parametrize(
    ("var", "meant"),
    [("IDLE_CPU_PERCNT", "IDLE_CPU_PERCENT"), ("SWEEP_REGION", "SWEEP_REGIONS"), ("WARDEN_CHEKCS", "WARDEN_CHECKS")],
)
def test_a_name_one_edit_from_a_setting_is_warned(var, meant):
    (warning,) = near_misses({var: "1"})
    assert var in warning and meant in warning


def test_settings_and_unrelated_variables_are_not_warned():
    assert near_misses({"IDLE_CPU_PERCENT": "5", "AWS_PROFILE": "x", "HOME": "/root", "PATH": "/bin"}) == []
    assert near_misses({"IDLE_CPU": "5"}) == []  # more than one edit away


def test_every_registered_check_is_listed_with_reads_the_deployment_is_granted():
    assert set(CATALOG) == set(CHECKS)
    for info in CATALOG.values():
        assert set(info.permissions) <= set(READ_PERMISSIONS), info.name
        assert info.lowest.rank <= info.highest.rank


class Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


def test_colour_only_when_asked_and_the_words_are_the_same():
    report = full_report()
    coloured, plain = Terminal(), io.StringIO()
    print_report(report, "table", coloured, OutputOptions(color=True))
    print_report(report, "table", plain, OutputOptions(color=False))
    assert "\x1b[" in coloured.getvalue() and "\x1b[" not in plain.getvalue()
    strip = __import__("re").compile(r"\x1b\[[0-9;]*m")
    assert strip.sub("", coloured.getvalue()).split() == plain.getvalue().split()


def test_no_color_turns_colour_off(monkeypatch):
    from chalicelib.cli.main import _wants_color

    assert _wants_color(Terminal()) and not _wants_color(io.StringIO())
    monkeypatch.setenv("NO_COLOR", "1")
    assert not _wants_color(Terminal())


def test_an_unfinished_run_never_prints_a_findings_count():
    report = Report(mode=Mode.AUDIT, trigger="sweep", account=None, region="eu-west-1")
    report.errors.append(ReadError("snapshot", "could not read instances: Unable to locate credentials"))
    text = render_table(report.to_dict())
    assert "RUN DID NOT FINISH" in text and "findings" not in text
    assert text.count("Unable to locate credentials") == 1


def test_an_unparsable_answer_is_an_aws_error_on_one_short_line():
    from botocore.parsers import ResponseParserError

    from chalicelib.adapters.clients import AWS_ERRORS, MAX_MESSAGE_CHARS, aws_error_message

    exc = ResponseParserError("Unable to parse response, invalid XML received:\n" + "<html>\n" * 200)
    assert isinstance(exc, AWS_ERRORS)
    message = aws_error_message(exc)
    assert "\n" not in message and len(message) <= MAX_MESSAGE_CHARS
    assert message.startswith("the endpoint's answer is not an AWS response")
