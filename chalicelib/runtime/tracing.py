"""Whether the Powertools Tracer (X-Ray subsegments per AWS call) is wanted, decided without
importing the X-Ray SDK, whose import builds two botocore clients (~85-95 ms more to `import app`,
~16-20 ms more to import + first event: bench/cold_start.py).

Powertools' own rule (Tracer._is_tracer_disabled), read from the same variables: on in Lambda,
off outside it (and under SAM local or `chalice local`), off when POWERTOOLS_TRACE_DISABLED is
true. ec2-warden's stages set POWERTOOLS_TRACE_DISABLED=true (.chalice/config.json): a stage
that wants the subsegments sets it to false, and keeps `xray: true` for Lambda's own segments."""

from __future__ import annotations

from collections.abc import Mapping

# Powertools' strtobool: anything else is an error there too.
_TRUE = frozenset({"1", "y", "yes", "t", "true", "on"})
_FALSE = frozenset({"0", "n", "no", "f", "false", "off"})


def tracing_enabled(environ: Mapping[str, str]) -> bool:
    """True when Powertools would trace. A POWERTOOLS_TRACE_DISABLED that is neither true nor
    false is refused with a ValueError naming it (Powertools refuses it too, less clearly)."""
    disabled = environ.get("POWERTOOLS_TRACE_DISABLED", "false").lower()
    if disabled not in _TRUE | _FALSE:
        raise ValueError(f"POWERTOOLS_TRACE_DISABLED={disabled!r}: expected true or false")
    if disabled in _TRUE:
        return False
    if not environ.get("LAMBDA_TASK_ROOT"):
        return False
    return not (environ.get("AWS_SAM_LOCAL") or environ.get("AWS_CHALICE_CLI_MODE"))
