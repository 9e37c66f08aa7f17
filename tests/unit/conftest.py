"""Unit tests are pure: no network at all (pytest-socket), no AWS, no clock."""

import pytest


@pytest.fixture(autouse=True)
def _no_network(socket_disabled: None) -> None:
    return None
