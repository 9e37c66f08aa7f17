"""The installed `ec2-warden` command as a user runs it: flags, quiet output, the table, enforce's
question, settings messages, the notify preview, and file errors. Against moto's server on 127.0.0.1."""

from __future__ import annotations

import io
import json
import os
import re
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import boto3
import pytest
import requests

from chalicelib import __version__
from chalicelib.checks import CHECKS
from chalicelib.checks.catalog import CATALOG
from chalicelib.rules.permissions import READ_PERMISSIONS
from devtools.embedded_aws import moto_server
from devtools.fleet import seed_exposure_fleet, tcp
from tests.conftest import PROJECT_DIR
from tests.e2e.conftest import clean_env, run_warden

pytestmark = [pytest.mark.network_local, pytest.mark.usefixtures("ssm_manages_every_instance")]

NOW = "2026-11-27T12:00:00Z"
EXPOSURE = {"WARDEN_CHECKS": "public-exposure"}


@pytest.fixture(scope="module")
def endpoint() -> Iterator[str]:
    with moto_server() as url:
        yield url


@pytest.fixture
def server(endpoint: str) -> str:
    requests.post(f"{endpoint}/moto-api/reset", timeout=10)
    return endpoint


def client(service: str, url: str) -> Any:
    return boto3.client(
        service, region_name="us-east-1", endpoint_url=url, aws_access_key_id="testing", aws_secret_access_key="testing"
    )


def hub_findings(url: str) -> list[dict[str, Any]]:
    hub = client("securityhub", url)
    return [f for page in hub.get_paginator("get_findings").paginate() for f in page["Findings"]]


def one_line(stderr: str) -> bool:
    return stderr.count("\n") == 1 and "Traceback" not in stderr


# --- item: an installable command with the same interface as python -m chalicelib


def test_the_installed_command_has_the_same_commands_and_flags_as_python_m(warden):
    for command in ("sweep", "replay"):
        installed = run_warden(warden, command, "--help")
        module = subprocess.run(
            [sys.executable, "-m", "chalicelib", command, "--help"],
            cwd=PROJECT_DIR,
            env=clean_env(),
            capture_output=True,
            text=True,
            check=False,
        )
        assert installed.returncode == module.returncode == 0
        flags = set(re.findall(r"--[a-z-]+", installed.stdout))
        assert flags == set(re.findall(r"--[a-z-]+", module.stdout))
        assert flags >= {"--profile", "--checks", "--min-severity", "--output", "--verbose", "--yes", "--read-findings"}
    version = run_warden(warden, "--version")
    assert version.returncode == 0 and version.stdout.strip() == f"ec2-warden {__version__}"


def test_list_checks_names_every_check_with_its_reads_and_permissions(warden):
    done = run_warden(warden, "--list-checks")
    assert done.returncode == 0, done.stderr
    blocks = {b.splitlines()[0]: b for b in done.stdout.split("\n\n") if b.strip()}
    for name in CHECKS:
        block = blocks[name.value]
        assert CATALOG[name].finds in block
        for permission in CATALOG[name].permissions:
            assert permission in block and permission in READ_PERMISSIONS


def test_a_packaged_wheel_carries_the_command_and_the_trimmed_models(tmp_path: Path):
    # `pip install .` (not editable): the models must travel with chalicelib, and the entry point exist
    target = tmp_path / "site"
    subprocess.run(
        [
            sys.executable,
            "-m",
            "pip",
            "install",
            "--quiet",
            "--disable-pip-version-check",
            "--no-deps",
            "--no-build-isolation",
            "--target",
            str(target),
            str(PROJECT_DIR),
        ],
        check=True,
        timeout=300,
        capture_output=True,
    )
    assert (target / "chalicelib" / "adapters" / "models" / "ec2" / "2016-11-15" / "service-2.json").exists()
    assert (target / "chalicelib" / "cli" / "table.py").exists() and not (target / "app.py").exists()
    entry_points = next(target.glob("ec2_warden-*.dist-info")) / "entry_points.txt"
    assert "ec2-warden = chalicelib.cli:main_exit" in entry_points.read_text()


# --- the table, quiet by default, and the printing flags


def test_the_default_run_is_quiet_and_its_table_shows_evidence_census_and_summary(warden, server, tmp_path):
    fleet = seed_exposure_fleet(client("ec2", server))
    done = run_warden(warden, "sweep", "--endpoint-url", server, "--now", NOW)
    assert done.returncode == 0, done.stderr
    assert done.stderr == ""  # no JSON log lines: the report says it all
    out = done.stdout
    assert "CRITICAL  public-exposure" in out
    assert "<- 0.0.0.0/0" in out  # the evidence: which address, rule and CIDR
    assert re.search(r"not enough data \d+, marked \d+, due \d+", out)
    assert "summary:" in out and re.search(r"actions: \d+ planned, \d+ done, \d+ failed; errors: \d+", out)
    critical = sum(1 for s, sev in fleet.expected.items() if sev == "CRITICAL")
    assert re.search(rf"public-exposure\s.*\b{critical}\b", out)

    # --verbose brings the Lambda's JSON log lines back
    verbose = run_warden(warden, "sweep", "--endpoint-url", server, "--verbose", "--now", NOW)
    assert verbose.returncode == 0
    logged = [json.loads(line) for line in verbose.stderr.splitlines() if line.startswith("{")]
    assert any(entry.get("message") == "finding" for entry in logged)

    # --min-severity filters the printed findings, --output writes the report to a file
    report_file = tmp_path / "report.json"
    filtered = run_warden(
        warden,
        "sweep",
        "--endpoint-url",
        server,
        "--format",
        "json",
        "--min-severity",
        "critical",
        "--output",
        str(report_file),
        "--now",
        NOW,
    )
    assert filtered.returncode == 0 and filtered.stdout == ""
    printed = json.loads(report_file.read_text())
    assert printed["findings"] and {f["severity"] for f in printed["findings"]} == {"CRITICAL"}
    assert len(printed["findings"]) == critical


def test_min_severity_never_changes_what_is_imported(warden, server):
    fleet = seed_exposure_fleet(client("ec2", server))
    done = run_warden(
        warden,
        "sweep",
        "--endpoint-url",
        server,
        "--mode",
        "notify",
        "--min-severity",
        "CRITICAL",
        env=clean_env(**EXPOSURE),
    )
    assert done.returncode == 0, done.stderr
    assert len(hub_findings(server)) == len(fleet.exposed_ids())
    assert "below --min-severity not shown" in done.stdout


def test_checks_flag_runs_only_the_named_checks_and_a_bad_name_is_refused(warden, server):
    seed_exposure_fleet(client("ec2", server))
    done = run_warden(warden, "sweep", "--endpoint-url", server, "--checks", "public-exposure", "--format", "json")
    assert done.returncode == 0, done.stderr
    report = json.loads(done.stdout)
    assert {f["check"] for f in report["findings"]} == {"public-exposure"}
    assert "cloudwatch:GetMetricData" not in report["api_calls"]
    bad = run_warden(warden, "sweep", "--endpoint-url", server, "--checks", "public-exposure,idel")
    assert bad.returncode == 2 and one_line(bad.stderr) and "--checks" in bad.stderr and "idel" in bad.stderr


def test_profile_flag_uses_the_named_profile_and_an_unknown_one_is_refused(warden, server, tmp_path):
    seed_exposure_fleet(client("ec2", server))
    config = tmp_path / "config"
    config.write_text("[profile lab]\nregion = us-east-1\naws_access_key_id = testing\naws_secret_access_key = t\n")
    env = {k: v for k, v in clean_env(**EXPOSURE, AWS_CONFIG_FILE=str(config)).items() if k != "AWS_DEFAULT_REGION"}
    env.pop("AWS_ACCESS_KEY_ID")
    env.pop("AWS_SECRET_ACCESS_KEY")
    done = run_warden(warden, "sweep", "--endpoint-url", server, "--profile", "lab", "--format", "json", env=env)
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout)["scope"]["region"] == "us-east-1"  # the profile's region
    missing = run_warden(warden, "sweep", "--endpoint-url", server, "--profile", "nope", env=env)
    assert missing.returncode == 2 and one_line(missing.stderr) and "nope" in missing.stderr


# --- enforce asks first


def test_enforce_without_yes_and_without_a_terminal_refuses_and_changes_nothing(warden, server):
    seed_exposure_fleet(client("ec2", server))
    done = run_warden(warden, "sweep", "--endpoint-url", server, "--mode", "enforce", env=clean_env(**EXPOSURE))
    assert done.returncode == 2 and one_line(done.stderr)
    assert "account 123456789012, region us-east-1" in done.stderr and "--yes" in done.stderr
    assert done.stdout == "" and hub_findings(server) == []
    go = run_warden(warden, "sweep", "--endpoint-url", server, "--mode", "enforce", "--yes", env=clean_env(**EXPOSURE))
    assert go.returncode == 0, go.stderr
    assert "account 123456789012, region us-east-1" in go.stderr
    assert hub_findings(server)


# --- settings


def test_every_bad_setting_in_one_message_and_a_near_miss_name_is_warned(warden):
    env = clean_env(IDLE_CPU_PERCENT="lots", STOPPED_MAX_DAYS="-1", IDLE_CPU_PERCNT="5")
    done = run_warden(warden, "sweep", env=env)
    assert done.returncode == 2
    warning, error = done.stderr.splitlines()
    assert "IDLE_CPU_PERCNT" in warning and "IDLE_CPU_PERCENT" in warning
    assert "2 bad settings" in error and "IDLE_CPU_PERCENT" in error and "STOPPED_MAX_DAYS" in error


# --- the notify preview


def test_read_findings_previews_notify_and_writes_nothing(warden, server):
    ec2 = client("ec2", server)
    fleet = seed_exposure_fleet(ec2)
    first = run_warden(warden, "sweep", "--endpoint-url", server, "--mode", "notify", env=clean_env(**EXPOSURE))
    assert first.returncode == 0, first.stderr
    before = hub_findings(server)
    ec2.revoke_security_group_ingress(GroupId=fleet.groups["ssh-world"], IpPermissions=[tcp(22, v4="0.0.0.0/0")])
    done = run_warden(
        warden, "sweep", "--endpoint-url", server, "--mode", "audit", "--read-findings", env=clean_env(**EXPOSURE)
    )
    assert done.returncode == 0, done.stderr
    assert "unchanged" in done.stdout
    assert "notify would resolve 1 finding(s)" in done.stdout
    assert f"public-exposure/{fleet.instances['ipv4-ssh-open']}" in done.stdout
    as_json = run_warden(
        warden, "sweep", "--endpoint-url", server, "--read-findings", "--format", "json", env=clean_env(**EXPOSURE)
    )
    calls = json.loads(as_json.stdout)["api_calls"]
    assert "securityhub:GetFindings" in calls
    assert all(op.split(":")[1].startswith(("Describe", "Get", "List")) for op in calls)  # reads only
    assert hub_findings(server) == before  # nothing written
    refused = run_warden(warden, "sweep", "--endpoint-url", server, "--mode", "notify", "--read-findings")
    assert refused.returncode == 2 and one_line(refused.stderr)


# --- one line and the right exit code for files and credentials


@pytest.mark.parametrize(
    ("make", "message"),
    [
        (lambda p: p, "cannot read"),  # missing
        (lambda p: (p.mkdir(), p)[1], "directory"),
        (lambda p: (p.write_text("{not json"), p)[1], "not valid JSON"),
        (lambda p: (p.write_text('"a string"'), p)[1], "JSON object"),
        (lambda p: (p.write_bytes(b"\xff\xfe\x00"), p)[1], "UTF-8"),
    ],
)
def test_every_bad_event_file_is_one_line_and_exit_2(warden, tmp_path, make, message):
    path = make(tmp_path / "event.json")
    done = run_warden(warden, "replay", str(path), "--endpoint-url", "http://127.0.0.1:9")
    assert done.returncode == 2 and one_line(done.stderr) and message in done.stderr
    assert done.stdout == ""


@pytest.mark.skipif(hasattr(os, "geteuid") and os.geteuid() == 0, reason="root reads any file")
def test_an_unreadable_event_file_is_one_line_and_exit_2(warden, tmp_path):
    path = tmp_path / "event.json"
    path.write_text("{}")
    path.chmod(0)
    done = run_warden(warden, "replay", str(path))
    assert done.returncode == 2 and one_line(done.stderr) and "cannot read" in done.stderr


def test_an_output_file_that_cannot_be_written_is_refused_before_any_call(warden, tmp_path):
    done = run_warden(warden, "sweep", "--endpoint-url", "http://127.0.0.1:9", "--output", str(tmp_path))
    assert done.returncode == 2 and one_line(done.stderr) and "--output" in done.stderr


def test_no_credentials_is_one_line_exit_1_and_never_a_clean_looking_table(warden, tmp_path):
    env = {k: v for k, v in clean_env().items() if k not in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY")}
    env.update(
        AWS_CONFIG_FILE=str(tmp_path / "none"),
        AWS_SHARED_CREDENTIALS_FILE=str(tmp_path / "none"),
        AWS_EC2_METADATA_DISABLED="true",
    )
    done = run_warden(warden, "sweep", env=env)
    assert done.returncode == 1 and one_line(done.stderr) and "Unable to locate credentials" in done.stderr
    assert "RUN DID NOT FINISH" in done.stdout and "findings:" not in done.stdout


class Keyboard:
    """A terminal's stdin with one typed answer."""

    def __init__(self, answer: str) -> None:
        self.answer = answer

    def isatty(self) -> bool:
        return True

    def readline(self) -> str:
        return self.answer + "\n"


@pytest.mark.parametrize(("answer", "code"), [("yes", 0), ("no", 2), ("", 2)])
def test_enforce_on_a_terminal_asks_and_only_yes_goes_ahead(server, monkeypatch, answer, code):
    from chalicelib.cli import main

    seed_exposure_fleet(client("ec2", server))
    for key, value in clean_env(**EXPOSURE).items():
        monkeypatch.setenv(key, value)
    out, err = io.StringIO(), io.StringIO()
    result = main(["sweep", "--endpoint-url", server, "--mode", "enforce"], out, err, Keyboard(answer))
    assert result == code, err.getvalue()
    assert "account 123456789012, region us-east-1" in err.getvalue()
    assert bool(hub_findings(server)) is (code == 0)  # a refusal writes nothing
