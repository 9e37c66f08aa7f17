"""Demo story: an event of a member account, forwarded to the home bus (infra/event-forwarding.yaml),
is judged in that account within seconds: read with the member role, its finding in that account's
own Security Hub; an event of an account the deployment does not serve is ignored at no cost."""

from __future__ import annotations

import json
from typing import TYPE_CHECKING

from . import events
from .demo_fanout import HOME, MEMBER_ROLE, READER_ROLE, REGION, _member_session
from .embedded_aws import patched_environ
from .fleet import base_network, launch, make_group, tcp
from .moto_sts import roles_must_exist

if TYPE_CHECKING:
    from .demo import DemoContext

RESEARCH = "333333333333"
UNKNOWN = "999999999999"


def member_events_story(ctx: DemoContext) -> None:
    ctx.say("\n== Organisation-wide events: a member account's change, judged in that account ==")
    if ctx.sink is not None:
        ctx.slack_seen = len(ctx.sink.rendered())
    research = _member_session(ctx, RESEARCH)
    trust = {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Principal": {"AWS": HOME}, "Action": "*"}]}
    iam = research.client("iam", endpoint_url=ctx.endpoint)
    for name in (READER_ROLE, MEMBER_ROLE):  # what infra/member-role.yaml creates
        iam.create_role(RoleName=name, AssumeRolePolicyDocument=json.dumps(trust))
    ec2 = research.client("ec2", endpoint_url=ctx.endpoint)
    network = base_network(ec2)
    group = make_group(ec2, network, "notebooks", [])
    notebook = launch(ec2, network, "research-notebook", subnet=network.public_subnet, groups=[group])
    ctx.say(f"seeded: account {RESEARCH} (research) with the member role and a public notebook server ({notebook})")

    # What the member's CloudTrail records and its forwarding rule puts on the home bus.
    ec2.authorize_security_group_ingress(GroupId=group, IpPermissions=[tcp(8888, v4="0.0.0.0/0")])
    event = events.authorize_ingress(group, 8888, account=RESEARCH, region=REGION)
    settings = {"ALLOWED_ACCOUNTS": f"{HOME},{RESEARCH}"}
    ctx.say(f"\n-- someone in {RESEARCH} opens port 8888 to the world; the event reaches on_ec2_api_call")
    ctx.say(f"   (ALLOWED_ACCOUNTS={settings['ALLOWED_ACCOUNTS']}: the home account and research)")
    with patched_environ(settings), roles_must_exist():
        report = ctx.handle("on_ec2_api_call", event)
        calls = report["api_calls"]
        ctx.say(
            f"   judged in account {report['scope']['account']} with role {READER_ROLE} "
            f"({calls.get('sts:AssumeRole', 0)} AssumeRole), {sum(calls.values())} AWS call(s) in all"
        )
        for finding in report["findings"]:
            ctx.say(f"   {finding['severity']:<9} {finding['check']:<16} {finding['resource_id']}  {finding['title']}")
        hub = research.client("securityhub", endpoint_url=ctx.endpoint)
        held = [f for page in hub.get_paginator("get_findings").paginate() for f in page["Findings"]]
        mine = [f for f in held if f["Resources"][0]["Id"].endswith(notebook)]
        ctx.say(
            f"   Security Hub of account {RESEARCH} now holds {len(mine)} finding(s) for the notebook, "
            f"under AwsAccountId {sorted({f['AwsAccountId'] for f in mine})}"
        )

        stray = events.authorize_ingress("sg-0123456789abcdef0", 22, account=UNKNOWN, region=REGION)
        ctx.say(f"\n-- an event from account {UNKNOWN}, which this deployment does not serve")
        ignored = ctx.handle("on_ec2_api_call", stray)
        ctx.say(f"   ignored: {ignored['ignored']} ({sum(ignored['api_calls'].values())} AWS calls)")
