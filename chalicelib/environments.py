"""Where environments used to be defined; the one definition is chalicelib/rules/environments.py."""

from .rules.environments import (
    Claim,
    Environment,
    Placement,
    Zone,
    claim_of,
    environment_label,
    environment_tag,
    is_production,
    placement_of,
    production_map_declared,
    production_reason,
)

__all__ = [
    "Claim",
    "Environment",
    "Placement",
    "Zone",
    "claim_of",
    "environment_label",
    "environment_tag",
    "is_production",
    "placement_of",
    "production_map_declared",
    "production_reason",
]
