"""Findings an older ec2-warden wrote that a newer one reports under another check. Pure.

Before each fact had one owner, environment-drift also listed a production instance's baseline
gaps ("below the production baseline: IMDSv2 not required; unencrypted EBS volume..."), which
launch-hygiene (and ssm-unmanaged) reported as well. Since the upgrade environment-drift keeps only
placement and separation, so such an instance now passes it; its open finding is resolved saying
where the facts went, rather than "now passes", so nobody thinks the HIGH was fixed."""

from __future__ import annotations

import re
from collections.abc import Collection

from chalicelib.model import CheckName, PriorFinding

REPORTED_BY_LAUNCH_HYGIENE = "reported by launch-hygiene"
REPORTED_BY_SSM_UNMANAGED = "reported by ssm-unmanaged"

_BASELINE = "below the production baseline"
# The old title named the gaps in brackets: "below the production baseline (not SSM managed, ...)".
_LISTED = re.compile(re.escape(_BASELINE) + r" \(([^)]*)\)")


def superseded_reason(old: PriorFinding, checks_run: Collection[CheckName]) -> str | None:
    """Why an open finding that now passes is resolved, when its facts moved to another check that
    ran; None when it is an ordinary pass."""
    if old.check != CheckName.ENVIRONMENT_DRIFT.value:
        return None
    text = f"{old.title}\n{old.description}".lower()
    if _BASELINE not in text:
        return None
    listed = _LISTED.search(text)
    gaps = [g.strip() for g in listed.group(1).split(",")] if listed else []
    only_ssm = bool(gaps) and all("ssm" in g for g in gaps)
    if only_ssm and CheckName.SSM_UNMANAGED in checks_run:
        return REPORTED_BY_SSM_UNMANAGED
    if not only_ssm and CheckName.LAUNCH_HYGIENE in checks_run:
        return REPORTED_BY_LAUNCH_HYGIENE
    return None
