"""The action kinds that must never run twice at once, and so take a per-instance lease first
(apply/lease.py). One definition: the adapter, the IAM declarations and the deploy tests read it. Pure."""

from __future__ import annotations

from collections.abc import Mapping
from types import MappingProxyType

from chalicelib.model import ActionKind

# kind -> (lease key prefix, the setting whose hours the lease is held for)
LEASE_TERMS: Mapping[ActionKind, tuple[str, str]] = MappingProxyType(
    {
        ActionKind.PATCH: ("patch", "patch_cooldown_hours"),
        ActionKind.STOP_IDLE: ("stop", "idle_grace_hours"),
    }
)
LEASED_KINDS: frozenset[ActionKind] = frozenset(LEASE_TERMS)
LEASED_KIND_NAMES: frozenset[str] = frozenset(k.value for k in LEASED_KINDS)
