"""The installed `ec2-warden` command: the e2e tests run it as a user does, after `pip install`.

`make test`'s virtualenv step installs the project (editable), which puts the console script next to
the interpreter. A virtualenv made otherwise gets it installed here once, the same way."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import PROJECT_DIR

SCRIPT = Path(sys.executable).parent / "ec2-warden"


@pytest.fixture(scope="session")
def warden() -> Path:
    if not SCRIPT.exists():
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
                "-e",
                str(PROJECT_DIR),
            ],
            check=True,
            timeout=300,
        )
    assert SCRIPT.exists(), f"pip installed no console script at {SCRIPT}"
    return SCRIPT


def clean_env(**extra: str) -> dict[str, str]:
    """The user's environment without AWS or ec2-warden settings, plus fake credentials and `extra`."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("AWS_", "WARDEN_", "POWERTOOLS_"))}
    env.update({"AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing", "AWS_DEFAULT_REGION": "us-east-1"})
    env.update(extra)
    return env


def run_warden(
    script: Path, *args: str, env: dict[str, str] | None = None, stdin: str | None = None, timeout: int = 120
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(script), *args],
        cwd=PROJECT_DIR,
        env=env if env is not None else clean_env(),
        input=stdin,
        text=True,
        capture_output=True,
        timeout=timeout,
        check=False,
    )
