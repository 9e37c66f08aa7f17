"""The member role a deployment assumes follows its mode: the writer in enforce only."""

from __future__ import annotations

import pytest

from chalicelib.model import Mode
from chalicelib.settings import SettingsError, load_settings


@pytest.mark.parametrize(
    ("mode", "expected"), [(Mode.AUDIT, "reader-x"), (Mode.NOTIFY, "reader-x"), (Mode.ENFORCE, "writer-x")]
)
def test_only_enforce_assumes_the_writer(mode: Mode, expected: str) -> None:
    env = {"WARDEN_MEMBER_ROLE": "writer-x", "WARDEN_MEMBER_READER_ROLE": "reader-x"}
    assert load_settings(env, mode=mode).member_role_for_mode == expected


def test_the_defaults_are_the_stacksets_role_names() -> None:
    settings = load_settings({})
    assert (settings.member_role, settings.member_reader_role) == ("ec2-warden-member", "ec2-warden-member-reader")


def test_a_bad_reader_role_name_is_refused_naming_the_variable() -> None:
    with pytest.raises(SettingsError, match="WARDEN_MEMBER_READER_ROLE"):
        load_settings({"WARDEN_MEMBER_READER_ROLE": "role/with/path"})
