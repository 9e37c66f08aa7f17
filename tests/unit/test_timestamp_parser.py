"""clients._parse_timestamp gives botocore's answers, faster, on the shapes AWS sends."""

from __future__ import annotations

import pytest
from botocore.utils import parse_timestamp

from chalicelib.adapters.clients import _parse_timestamp


@pytest.mark.parametrize(
    "value",
    [
        "2026-01-31T12:00:00Z",
        "2026-01-31T12:00:00.123Z",
        "2026-01-31T12:00:00+00:00",
        "2026-01-31T14:00:00+02:00",
        1769860800,
        1769860800.5,
        "Sat, 31 Jan 2026 12:00:00 GMT",  # RFC 822: botocore's own parser
        "1769860800",  # epoch as text: botocore's own parser
    ],
)
def test_same_instant_as_botocore(value):
    # GIVEN a timestamp as AWS protocols carry it WHEN parsed THEN it is botocore's instant, aware
    ours = _parse_timestamp(value)
    assert ours == parse_timestamp(value)
    assert ours.tzinfo is not None


def test_a_naive_time_is_left_to_botocore():
    assert _parse_timestamp("2026-01-31T12:00:00") == parse_timestamp("2026-01-31T12:00:00")
