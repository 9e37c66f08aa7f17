"""Write each infra/ template with every optional part switched on, for checkov.

checkov evaluates a template's Conditions with the parameters' defaults, so a resource behind a
"false" default (the trail, the member role's enforce policy, the fan-out mapping) would never
be scanned. Here every true/false parameter defaults to "true" and every empty default gets a
placeholder, so each resource and each branch is present once. Used by `make checkov`.

    python -m devtools.infra_variants OUT_DIR
"""

from __future__ import annotations

import copy
import json
import sys
from pathlib import Path
from typing import Any

from cfnlint.decode import decode

INFRA = Path(__file__).resolve().parent.parent / "infra"
PLACEHOLDER = "checkov-placeholder"


def switch_everything_on(template: dict[str, Any]) -> dict[str, Any]:
    out = copy.deepcopy(template)
    for param in out.get("Parameters", {}).values():
        if sorted(map(str, param.get("AllowedValues", []))) == ["false", "true"]:
            param["Default"] = "true"
        elif param.get("Default") == "" and "AllowedPattern" not in param:
            param["Default"] = PLACEHOLDER
    return out


def load_template(path: Path) -> dict[str, Any]:
    template, errors = decode(str(path))
    if errors or template is None:
        raise ValueError(f"{path}: cannot be read: {errors}")
    return template


def write_variants(out_dir: Path) -> list[Path]:
    out_dir.mkdir(parents=True, exist_ok=True)
    written = []
    for path in sorted(INFRA.glob("*.yaml")):
        target = out_dir / f"{path.stem}.json"
        target.write_text(json.dumps(switch_everything_on(load_template(path)), indent=2) + "\n")
        written.append(target)
    return written


if __name__ == "__main__":
    if len(sys.argv) != 2:
        sys.exit(__doc__)
    for p in write_variants(Path(sys.argv[1])):
        print(p)
