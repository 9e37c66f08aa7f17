"""The sprawl census: totals and the split by Environment and Owner tags."""

from __future__ import annotations

from datetime import timedelta

from chalicelib.checks import run_checks
from chalicelib.model import Mode, Report
from chalicelib.report.sprawl import MAX_GROUPS, OTHER, UNTAGGED, sprawl_census
from chalicelib.rules.idle import PROTECT, STOPPED_BY
from chalicelib.settings import Settings
from tests.unit.idle_builders import IDLE_14, NOW, instance, marked, snapshot

SETTINGS = Settings()
LONG_AGO = f"User initiated ({(NOW - timedelta(days=40)).strftime('%Y-%m-%d %H:%M:%S')} GMT)"


def _census(instances, patterns):
    snap = snapshot(instances, patterns)
    return sprawl_census(snap, run_checks(snap, SETTINGS, NOW), SETTINGS)


def test_counts_running_idle_marked_and_stopped_by_warden():
    census = _census(
        [
            instance("i-1", tags={"Environment": "lab", "Owner": "alice"}),
            instance("i-2", tags={"Environment": "lab", PROTECT: ""}),
            instance("i-3", tags={"environment": "prod", **marked(NOW, NOW + timedelta(days=3))}),
            instance("i-4", tags={"Environment": "prod"}),
            instance("i-5", state="stopped", reason=LONG_AGO, tags={STOPPED_BY: "2026-01-20T00:00:00Z"}),
            instance("i-6", tags={"Environment": "dev"}),
        ],
        {"i-1": IDLE_14, "i-2": IDLE_14, "i-3": IDLE_14, "i-4": "b" * 14, "i-6": "." * 14},
    )
    assert {k: census[k] for k in ("instances", "running", "idle", "marked", "stopped_by_warden", "stopped_long")} == {
        "instances": 6,
        "running": 5,
        "idle": 3,
        "marked": 1,
        "stopped_by_warden": 1,
        "stopped_long": 1,
    }
    assert census["idle_protected"] == 1
    assert census["not_enough_data"] == 1
    assert census["by_environment"]["lab"] == {
        "instances": 2,
        "running": 2,
        "idle": 2,
        "marked": 0,
        "stopped_by_warden": 0,
        "stopped_long": 0,
        "production": 0,
    }
    assert census["by_environment"]["prod"]["marked"] == 1  # tag keys match case-insensitively
    # `environment=prod` (lower-case key) is production, as it is for every check and Slack
    assert census["by_environment"]["prod"]["production"] == 2
    assert census["production"] == 2
    assert census["by_environment"][UNTAGGED]["stopped_by_warden"] == 1
    assert census["by_owner"]["alice"]["idle"] == 1
    assert census["by_owner"][UNTAGGED]["instances"] == 5


def test_many_owners_are_capped_with_the_rest_summed():
    instances = [instance(f"i-{n}", tags={"Owner": f"owner-{n:03d}"}) for n in range(MAX_GROUPS + 10)]
    census = _census(instances, {})
    assert len(census["by_owner"]) == MAX_GROUPS
    assert census["by_owner"][OTHER]["instances"] == 11
    assert sum(g["instances"] for g in census["by_owner"].values()) == MAX_GROUPS + 10


def test_report_carries_the_census_under_its_own_key():
    report = Report(mode=Mode.AUDIT, trigger="sweep", account="1", region="r", sprawl={"running": 2})
    assert report.to_dict()["sprawl"] == {"running": 2}
