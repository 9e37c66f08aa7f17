"""What ec2-warden writes to instances, whatever the fleet: tags under warden:* only, and no SSM
document but AWS-RunPatchBaseline. Read from every request its own clients sent over a full enforce
life cycle (mark, stop, patch), never from moto's records."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from chalicelib.events.scope import sweep_scope
from chalicelib.model import Mode
from chalicelib.pipeline import run
from chalicelib.settings import Settings
from devtools import moto_ssm
from devtools.idle_fleet import seed_idle_fleet

REGION = "us-east-1"
NOW = (datetime.now(UTC) + timedelta(hours=1)).replace(minute=5, second=0, microsecond=0)


def test_every_tag_written_is_a_warden_tag_and_every_command_runs_patch_baseline(clients, ec2, cloudwatch):
    # GIVEN an idle fleet whose instances are all managed and missing patches
    fleet = seed_idle_fleet(ec2, cloudwatch, until=NOW + timedelta(hours=80))
    for iid in fleet.instances.values():
        moto_ssm.FLEET.register(iid, region=REGION, patch=moto_ssm.PatchFacts(missing=3, security=1))
    sent: list[tuple[str, dict[str, Any]]] = []

    def record(params: dict[str, Any], model: Any, **_: Any) -> None:
        sent.append((model.name, params))

    for service in ("ec2", "ssm"):
        clients.get(service).meta.events.register(f"provide-client-params.{service}", record)
    # WHEN enforce sweeps mark, then stop past the deadline, and patch along the way
    for now in (NOW, NOW + timedelta(hours=73), NOW + timedelta(hours=74)):
        run(sweep_scope(region=REGION), Settings(mode=Mode.ENFORCE, region=REGION), clients, now)
    # THEN the run did tag, stop and patch, and wrote nothing outside warden:* nor another document
    names = {name for name, _ in sent}
    assert {"CreateTags", "StopInstances", "SendCommand"} <= names
    keys = {t["Key"] for name, p in sent if name in ("CreateTags", "DeleteTags") for t in p["Tags"]}
    assert keys and all(k.startswith("warden:") for k in keys), keys
    assert {p["DocumentName"] for name, p in sent if name == "SendCommand"} == {"AWS-RunPatchBaseline"}
    writes = {n for n in names if not n.startswith(("Describe", "Get", "List"))}
    assert writes <= {"CreateTags", "DeleteTags", "StopInstances", "SendCommand"}, writes
