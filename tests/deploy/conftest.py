"""Fixtures for the deployment tests: the app packaged once per run, per stage."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from .project import package


@pytest.fixture(scope="session")
def packaged_prod(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict[str, Any]]:
    out = tmp_path_factory.mktemp("package-prod")
    return out, package("prod", out)


@pytest.fixture(scope="session")
def packaged_dev(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict[str, Any]]:
    out = tmp_path_factory.mktemp("package-dev")
    return out, package("dev", out)
