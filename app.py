"""ec2-warden's Lambda handlers. Each parses nothing itself: it hands the event to chalicelib.

Chalice deploys this one file as five functions, and each pays for what the module imports at
its cold start. So the module imports only what registering the handlers needs (Chalice, the
logger, the event constants); each handler imports the pipeline it runs on its first event, and
then keeps it (bench/cold_start.py measures both parts)."""

from __future__ import annotations

import functools
import os
from collections.abc import Callable
from typing import TYPE_CHECKING, Any, TypeVar

from chalice import Chalice, ConvertToMiddleware

from chalicelib.adapters.log import logger
from chalicelib.events.scope import (
    CLOUDTRAIL_DETAIL_TYPE,
    COMMAND_STATUSES_HANDLED,
    EC2_CALLS,
    PATCH_DOCUMENT,
    SSM_COMMAND_DETAIL_TYPE,
    SSM_INVOCATION_DETAIL_TYPE,
    STATE_CHANGE_DETAIL_TYPE,
    STATES_HANDLED,
)
from chalicelib.runtime.tracing import tracing_enabled

if TYPE_CHECKING:
    from chalice.app import CloudWatchEvent, SQSEvent

# configure_logs=False: Chalice would add a plain stdout handler to the "ec2-warden" logger, which is
# also Powertools' logger, and every line would be printed twice.
app = Chalice(app_name="ec2-warden", configure_logs=False)
app.register_middleware(ConvertToMiddleware(logger.inject_lambda_context(correlation_id_path="id")))
# X-Ray subsegments for each AWS call (Powertools Tracer, botocore only: patching everything would
# trace the Slack webhook request, secret URL included). Off unless a stage asks for it with
# POWERTOOLS_TRACE_DISABLED=false. Importing the X-Ray SDK builds two botocore clients: ~85-95 ms more
# at import, ~16-20 ms more for import + first event (botocore is loaded either way; bench/cold_start.py).
# Lambda's own trace of each invocation (`xray: true`) needs no SDK. The report is not put in traces.
tracer = None
if tracing_enabled(os.environ):
    from aws_lambda_powertools import Tracer

    tracer = Tracer(service="ec2-warden", patch_modules=("botocore",))
    app.register_middleware(
        ConvertToMiddleware(functools.partial(tracer.capture_lambda_handler, capture_response=False))
    )

# The schedule is fixed when the app is loaded: `chalice package/deploy` loads it with the stage's
# environment variables set, so SWEEP_SCHEDULE in .chalice/config.json picks the rate per stage.
SWEEP_SCHEDULE = os.environ.get("SWEEP_SCHEDULE", "rate(1 hour)")
# Likewise the fan-out queue (infra/queues.yaml creates ec2-warden-<stage>-fanout before the app).
FANOUT_QUEUE_NAME = os.environ.get("FANOUT_QUEUE_NAME", "ec2-warden-fanout")
# How events arrive, per stage (docs/DEPLOY.md): "direct" (default), one invocation per event from
# the three EventBridge rules below; "queued", EventBridge rules of infra/queues.yaml send them to
# ec2-warden-<stage>-events and on_event_batch takes them in batches, coalesced per account and region.
EVENT_DELIVERY = os.environ.get("EVENT_DELIVERY", "direct")
EVENTS_QUEUE_NAME = os.environ.get("EVENTS_QUEUE_NAME", "ec2-warden-events")
EVENT_BATCH_SIZE = int(os.environ.get("EVENT_BATCH_SIZE", "100"))
EVENT_BATCH_WINDOW_SECONDS = int(os.environ.get("EVENT_BATCH_WINDOW_SECONDS", "10"))
if EVENT_DELIVERY not in ("direct", "queued"):
    raise ValueError(f"EVENT_DELIVERY={EVENT_DELIVERY!r}: use direct or queued")


_Handler = TypeVar("_Handler", bound=Callable[..., Any])


def _direct(pattern: dict[str, Any], name: str) -> Callable[[_Handler], _Handler]:
    """Chalice's EventBridge rule for a handler, unless the stage takes its events through the queue
    (the function stays importable under its name either way)."""
    if EVENT_DELIVERY == "queued":
        return lambda handler: handler
    register: Callable[[_Handler], _Handler] = app.on_cw_event(pattern, name=name)
    return register


@_direct(
    {
        "source": ["aws.ec2"],
        "detail-type": [CLOUDTRAIL_DETAIL_TYPE],
        "detail": {"eventSource": ["ec2.amazonaws.com"], "eventName": list(EC2_CALLS)},
    },
    name="on_ec2_api_call",
)
def on_ec2_api_call(event: CloudWatchEvent) -> dict[str, Any]:
    from chalicelib.runtime.entry import handle_event

    return handle_event(event.to_dict(), event.context)


@_direct(
    {
        "source": ["aws.ec2"],
        "detail-type": [STATE_CHANGE_DETAIL_TYPE],
        "detail": {"state": list(STATES_HANDLED)},
    },
    name="on_instance_state_change",
)
def on_instance_state_change(event: CloudWatchEvent) -> dict[str, Any]:
    from chalicelib.runtime.entry import handle_event

    return handle_event(event.to_dict(), event.context)


# Patch loop: a finished AWS-RunPatchBaseline command (whoever sent it) re-checks its instances.
@_direct(
    {
        "source": ["aws.ssm"],
        "detail-type": [SSM_COMMAND_DETAIL_TYPE, SSM_INVOCATION_DETAIL_TYPE],
        "detail": {"document-name": [PATCH_DOCUMENT], "status": list(COMMAND_STATUSES_HANDLED)},
    },
    name="on_patch_command",
)
def on_patch_command(event: CloudWatchEvent) -> dict[str, Any]:
    from chalicelib.runtime.entry import handle_event

    return handle_event(event.to_dict(), event.context)


@app.schedule(SWEEP_SCHEDULE, name="sweep")
def sweep(event: CloudWatchEvent) -> dict[str, Any]:
    # Sweeps its own account and region, or, with FANOUT_QUEUE_URL set, sends one message per
    # account x region to the fan-out queue for sweep_worker.
    from chalicelib.fanout.worker import handle_scheduled_sweep

    return handle_scheduled_sweep(event.to_dict(), event.context)


# One message (account x region) per invocation: a failure stays that target's alone, and a
# 1,000-instance sweep fits the 300 s timeout with room. Partial batch responses: see
# chalicelib/fanout/worker.py and docs/DEPLOY.md (Chalice cannot set ReportBatchItemFailures).
@app.on_sqs_message(queue=FANOUT_QUEUE_NAME, batch_size=1, maximum_concurrency=20, name="sweep_worker")
def sweep_worker(event: SQSEvent) -> dict[str, Any]:
    from chalicelib.fanout.worker import handle_sweep_messages

    return handle_sweep_messages([record.to_dict() for record in event], event.context)


# Queued delivery: up to EVENT_BATCH_SIZE events per invocation, waiting at most
# EVENT_BATCH_WINDOW_SECONDS to fill a batch. Partial batch responses as for sweep_worker.
if EVENT_DELIVERY == "queued":

    @app.on_sqs_message(
        queue=EVENTS_QUEUE_NAME,
        batch_size=EVENT_BATCH_SIZE,
        maximum_batching_window_in_seconds=EVENT_BATCH_WINDOW_SECONDS,
        maximum_concurrency=5,
        name="on_event_batch",
    )
    def on_event_batch(event: SQSEvent) -> dict[str, Any]:
        from chalicelib.runtime.batch_entry import handle_event_batch

        return handle_event_batch([record.to_dict() for record in event], event.context)
