"""Cold start of ec2-warden's Lambda: `import app` plus the first event through a handler, measured
in fresh Python processes (median of N), with and without a Powertools Tracer.

    python bench/cold_start.py [--runs 5] [--modes audit,notify] [--c7n-python .venv-bench/bin/python]

The parent starts an embedded AWS (moto's ThreadedMotoServer) and a local Slack sink, seeds
exposed instances (one per notify run, so each run posts a new finding), then runs each child:

  - "audit":  the state-change handler reads EC2 and judges; nothing else.
  - "notify": also reads the webhook SecureString (Powertools Parameters), reads and imports Security
    Hub findings, and posts one Slack message to the sink: the whole deployed path.

Beside it, for comparison, `import c7n.resources.ec2` in fresh processes of the bench virtualenv's
Python (Cloud Custodian's EC2 resource; what a c7n Lambda imports before its first call), when
that virtualenv exists (`make bench` builds it).

"with Tracer" runs with POWERTOOLS_TRACE_DISABLED=false (app.py then creates a Tracer and registers
it as middleware); "without" with POWERTOOLS_TRACE_DISABLED=true, the stages' default. The child
looks like a Lambda to X-Ray (LAMBDA_TASK_ROOT, _X_AMZN_TRACE_ID) so the Tracer, when asked for, is
really enabled and patches botocore. Segments go over UDP to 127.0.0.1:2000, where nothing
listens: harmless."""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

REGION = "eu-west-1"
ACCOUNT = "123456789012"
PARAMETER = "/ec2-warden/slack-webhook"

CHILD = r"""
import json, os, sys, time
t0, c0 = time.perf_counter(), time.process_time()
import app
t1, c1 = time.perf_counter(), time.process_time()

class Context:
    function_name = "ec2-warden-dev-on_instance_state_change"
    function_version = "$LATEST"
    invoked_function_arn = "arn:aws:lambda:eu-west-1:123456789012:function:" + function_name
    memory_limit_in_mb = 256
    aws_request_id = "bench-request"
    log_group_name = "/aws/lambda/" + function_name
    log_stream_name = "bench"
    def get_remaining_time_in_millis(self):
        return 300000

tracer = getattr(app, "tracer", None)
handler = app.on_instance_state_change
report = handler(json.loads(os.environ["BENCH_EVENT"]), Context())
t2, c2 = time.perf_counter(), time.process_time()
slack = [a for a in report["actions"] if a["kind"] == "notify-slack"]
print("BENCH " + json.dumps({
    "import_app": t1 - t0, "first_event": t2 - t1, "total": t2 - t0,
    "cpu_import_app": c1 - c0, "cpu_first_event": c2 - c1, "cpu_total": c2 - c0,
    "findings": len(report["findings"]), "tracer_enabled": tracer is not None and not tracer.disabled,
    "app_file": app.__file__,
    "slack_done": [a["done"] for a in slack], "errors": report["errors"],
}))
"""


# The cost of creating the Tracer alone: after what app.py imports anyway, and in a bare interpreter.
TRACER_ONLY = r"""
import json, os, sys, time
if os.environ["BENCH_AFTER_APP"] == "1":
    import app  # (tracing off) and what its first event imports
    import chalicelib.runtime.entry
os.environ["POWERTOOLS_TRACE_DISABLED"] = "false"  # app.py was imported without it
t0, c0 = time.perf_counter(), time.process_time()
from aws_lambda_powertools import Tracer
modules = None if os.environ["BENCH_PATCH_ALL"] == "1" else ("botocore",)
tracer = Tracer(service="ec2-warden", patch_modules=modules)
assert not tracer.disabled
print("BENCH " + json.dumps({"wall": time.perf_counter() - t0, "cpu": time.process_time() - c0}))
"""


C7N_IMPORT = r"""
import json, time
t0, c0 = time.perf_counter(), time.process_time()
import c7n.resources.ec2
print("BENCH " + json.dumps({"wall": time.perf_counter() - t0, "cpu": time.process_time() - c0}))
"""


# c7n's own cold start: its import, then one policy (public-exposure) loaded and run, in process, as
# a c7n Lambda does for its first event.
C7N_FIRST_RUN = r"""
import json, os, tempfile, time
t0, c0 = time.perf_counter(), time.process_time()
import c7n.resources.ec2
t1, c1 = time.perf_counter(), time.process_time()
from c7n.config import Config
from c7n.policy import load as load_policies
from c7n.resources import load_resources
load_resources(("aws.ec2",))
config = Config.empty(output_dir=tempfile.mkdtemp(), region=os.environ["AWS_REGION"], account_id="123456789012")
found = [p() for p in load_policies(config, os.environ["BENCH_POLICIES"]) if p.name == "public-exposure"]
t2, c2 = time.perf_counter(), time.process_time()
print("BENCH " + json.dumps({"wall": t1 - t0, "cpu": c1 - c0, "first_wall": t2 - t0, "first_cpu": c2 - c0,
                             "resources": len(found[0])}))
"""


def c7n_import(python: Path, runs: int, aws_env: dict[str, str] | None = None) -> list[dict]:
    """`import c7n.resources.ec2` in `runs` fresh interpreters of the bench virtualenv; with `aws_env`,
    also its first policy run against that endpoint."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("AWS_")}
    env["PYTHONDONTWRITEBYTECODE"] = "1"
    code = C7N_IMPORT
    if aws_env:
        from bench.tools import custodian_policies

        policies = Path(tempfile.mkdtemp()) / "custodian.yml"
        policies.write_text(custodian_policies(24, True), encoding="utf-8")
        env.update(aws_env, BENCH_POLICIES=str(policies))
        code = C7N_FIRST_RUN
    found = []
    for _ in range(runs):
        done = subprocess.run(
            [str(python), "-c", code], env=env, capture_output=True, text=True, timeout=120, check=True
        )
        line = next(x for x in done.stdout.splitlines() if x.startswith("BENCH "))
        found.append(json.loads(line[len("BENCH ") :]))
    return found


def state_change(instance_id: str) -> dict:
    return {
        "version": "0",
        "id": f"bench-{instance_id}",
        "detail-type": "EC2 Instance State-change Notification",
        "source": "aws.ec2",
        "account": ACCOUNT,
        "time": "2026-01-31T12:00:00Z",
        "region": REGION,
        "resources": [f"arn:aws:ec2:{REGION}:{ACCOUNT}:instance/{instance_id}"],
        "detail": {"instance-id": instance_id, "state": "running"},
    }


def seed(endpoint: str, webhook: str, count: int) -> list[str]:
    import boto3

    session = boto3.session.Session(aws_access_key_id="bench", aws_secret_access_key="bench", region_name=REGION)
    ec2 = session.client("ec2", endpoint_url=endpoint)
    session.client("ssm", endpoint_url=endpoint).put_parameter(
        Name=PARAMETER, Value=webhook, Type="SecureString", Overwrite=True
    )
    group = ec2.create_security_group(GroupName="bench-ssh", Description="bench")["GroupId"]
    ec2.authorize_security_group_ingress(
        GroupId=group,
        IpPermissions=[{"IpProtocol": "tcp", "FromPort": 22, "ToPort": 22, "IpRanges": [{"CidrIp": "0.0.0.0/0"}]}],
    )
    ids = []
    for i in range(count):
        tags = [{"ResourceType": "instance", "Tags": [{"Key": "Name", "Value": f"bench-{i}"}]}]
        out = ec2.run_instances(
            ImageId="ami-12c6146b", MinCount=1, MaxCount=1, SecurityGroupIds=[group], TagSpecifications=tags
        )
        ids.append(out["Instances"][0]["InstanceId"])
    return ids


def run_child(env: dict[str, str], code: str = CHILD) -> dict:
    started = time.perf_counter()
    done = subprocess.run(
        [sys.executable, "-c", code], cwd=ROOT, env=env, capture_output=True, text=True, timeout=120, check=False
    )
    wall = time.perf_counter() - started
    line = next((x for x in done.stdout.splitlines() if x.startswith("BENCH ")), None)
    if done.returncode != 0 or line is None:
        raise RuntimeError(f"child failed ({done.returncode}): {done.stderr[-2000:]}")
    result = json.loads(line[len("BENCH ") :])
    result["process_wall"] = wall
    return result


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--modes", default="audit,notify")
    parser.add_argument("--c7n-python", type=Path, default=ROOT / ".venv-bench" / "bin" / "python")
    args = parser.parse_args()
    modes = [m for m in args.modes.split(",") if m]

    import logging

    from moto.server import ThreadedMotoServer

    logging.getLogger("werkzeug").setLevel(logging.ERROR)  # moto's server logs every request

    from bench.tools import aws_env
    from devtools import moto_ssm
    from devtools.slack_sink import SlackSink

    # The patch loop reads SSM's managed instances, which moto lacks: answer them as AWS would for an
    # instance SSM manages (devtools/moto_ssm.py), so the first event does its whole work.
    moto_ssm.install()
    moto_ssm.FLEET.manage_every_instance()
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0)
    server.start()
    host, port = server.get_host_and_port()
    endpoint = f"http://{host}:{port}"
    with SlackSink() as sink:
        notify_runs = 2 * args.runs if "notify" in modes else 0
        instances = seed(endpoint, sink.url, max(1, notify_runs))
        base = aws_env(endpoint, REGION)  # this environment without AWS_/WARDEN_/..., plus the endpoint
        base.update(
            AWS_LAMBDA_FUNCTION_NAME="ec2-warden-dev-on_instance_state_change",
            LAMBDA_TASK_ROOT=str(ROOT),
            _X_AMZN_TRACE_ID="Root=1-5759e988-bd862e3fe1be46a994272793;Parent=53995c3f42cd8ad8;Sampled=1",
            AWS_XRAY_CONTEXT_MISSING="IGNORE_ERROR",
            POWERTOOLS_SERVICE_NAME="ec2-warden",
        )
        variants = [(mode, tracer) for mode in modes for tracer in (False, True)]
        results: dict[tuple[str, bool], list[dict]] = {v: [] for v in variants}
        next_instance = iter(instances)
        # Interleaved (A B A B ...), so that a busy moment on the machine hits every variant alike.
        for _ in range(args.runs):
            for mode, tracer in variants:
                env = dict(base, POWERTOOLS_TRACE_DISABLED="false" if tracer else "true", WARDEN_MODE=mode)
                instance = instances[0] if mode == "audit" else next(next_instance)
                env["BENCH_EVENT"] = json.dumps(state_change(instance))
                if mode == "notify":
                    env["SLACK_WEBHOOK_PARAMETER"] = PARAMETER
                result = run_child(env)
                if result["errors"] or (mode == "notify" and result["slack_done"] != [True]):
                    raise RuntimeError(f"the run did not do its work: {result}")
                if Path(result["app_file"]).resolve() != (ROOT / "app.py").resolve():
                    raise RuntimeError(f"imported {result['app_file']}, not this checkout's app.py")
                if result["tracer_enabled"] is not tracer:
                    raise RuntimeError("the Tracer was not enabled as asked: the numbers would lie")
                results[(mode, tracer)].append(result)
        rows = [(mode, tracer, results[(mode, tracer)]) for mode, tracer in variants]
        creation_variants = {
            "(botocore only, as app.py) after app's imports": ("1", "0"),
            "(patching everything) after app's imports": ("1", "1"),
            "(botocore only) in a bare interpreter": ("0", "0"),
            "(patching everything) in a bare interpreter": ("0", "1"),
        }
        creation: dict[str, list[dict]] = {label: [] for label in creation_variants}
        for _ in range(args.runs):
            for label, (after, patch_all) in creation_variants.items():
                env = dict(base, BENCH_AFTER_APP=after, BENCH_PATCH_ALL=patch_all, POWERTOOLS_TRACE_DISABLED="true")
                creation[label].append(run_child(env, TRACER_ONLY))
        c7n_runs: list[dict] = []
        if args.c7n_python.exists():
            aws = {k: base[k] for k in ("AWS_ENDPOINT_URL", "AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_REGION")}
            c7n_runs = c7n_import(args.c7n_python, args.runs, dict(aws, AWS_DEFAULT_REGION=REGION))
    server.stop()

    print(f"cold start, median of {args.runs} fresh processes, seconds (wall clock | CPU time of the process)")
    print(f"{'mode':<7} {'tracer':<6} {'import app':>17} {'1st event':>17} {'total':>17} {'process':>8}")
    totals: dict[tuple[str, bool], tuple[float, float]] = {}
    for mode, tracer, found in rows:

        def med(key: str, found: list[dict] = found) -> float:
            return statistics.median(r[key] for r in found)

        totals[(mode, tracer)] = (med("total"), med("cpu_total"))
        cells = [f"{med(k):>7.3f} | {med('cpu_' + k):>5.3f}" for k in ("import_app", "first_event", "total")]
        print(f"{mode:<7} {'yes' if tracer else 'no':<6} {'  '.join(cells)} {med('process_wall'):>8.3f}")
    for mode in modes:
        wall = (totals[(mode, True)][0] - totals[(mode, False)][0]) * 1000
        cpu = (totals[(mode, True)][1] - totals[(mode, False)][1]) * 1000
        print(f"Tracer adds {wall:.0f} ms wall, {cpu:.0f} ms CPU to the {mode} cold start (budget: 100 ms)")
    for label, found in creation.items():
        wall = statistics.median(r["wall"] for r in found) * 1000
        cpu = statistics.median(r["cpu"] for r in found) * 1000
        print(f"creating a Tracer {label}: {wall:.0f} ms wall, {cpu:.0f} ms CPU (median of {len(found)})")
    if c7n_runs:
        wall = statistics.median(r["wall"] for r in c7n_runs)
        cpu = statistics.median(r["cpu"] for r in c7n_runs)
        first_wall = statistics.median(r["first_wall"] for r in c7n_runs)
        first_cpu = statistics.median(r["first_cpu"] for r in c7n_runs)
        print(
            f"Cloud Custodian (median of {len(c7n_runs)}): import c7n.resources.ec2 {wall:.3f} s wall, {cpu:.3f} s "
            f"CPU; import + first run of public-exposure {first_wall:.3f} s wall, {first_cpu:.3f} s CPU"
        )
        for mode, tracer, found in rows:
            label = "with Tracer" if tracer else "without Tracer, the stages' default"
            imported = statistics.median(r["import_app"] for r in found)
            ours_wall, ours_cpu = totals[(mode, tracer)]
            print(
                f"ec2-warden {mode} ({label}): import app {imported / wall:.2f}x c7n's import; import app + 1st "
                f"event {ours_wall / wall:.2f}x c7n's import, {ours_wall / first_wall:.2f}x c7n's import + first "
                f"run (wall); {ours_cpu / cpu:.2f}x and {ours_cpu / first_cpu:.2f}x (CPU)"
            )
    else:
        print(f"(no {args.c7n_python}: run `make bench` to compare with Cloud Custodian's import)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
