"""The demo's lab-to-production story: a lab VM launched into the production VPC, and a test box
re-tagged to production without IMDSv2, each judged by the handler the moment CloudTrail records it.

The environment map (PRODUCTION_VPCS, NON_PRODUCTION_VPCS) is declared here and kept for the stories
that follow (ctx.settings): a deployment's settings do not change between two sweeps, and a changed
map would silently resolve this story's findings."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from . import events, moto_ssm

if TYPE_CHECKING:
    from .demo import DemoContext

REGION = "us-east-1"


def drift_story(ctx: DemoContext) -> None:
    from .demo import _show_findings
    from .embedded_aws import patched_environ

    ec2 = ctx.ec2
    ctx.say("\n== Lab to production drift ==")
    prod_vpc = ec2.create_vpc(CidrBlock="10.50.0.0/16")["Vpc"]["VpcId"]
    prod_subnet = ec2.create_subnet(VpcId=prod_vpc, CidrBlock="10.50.1.0/24")["Subnet"]["SubnetId"]
    lab_vpc = ec2.create_vpc(CidrBlock="10.60.0.0/16")["Vpc"]["VpcId"]
    lab_subnet = ec2.create_subnet(VpcId=lab_vpc, CidrBlock="10.60.1.0/24")["Subnet"]["SubnetId"]
    payments = ec2.create_security_group(GroupName="payments-app", Description="payments", VpcId=prod_vpc)["GroupId"]
    lab_group = ec2.create_security_group(GroupName="lab", Description="lab", VpcId=lab_vpc)["GroupId"]
    ctx.settings.update({"PRODUCTION_VPCS": prod_vpc, "NON_PRODUCTION_VPCS": lab_vpc})
    with patched_environ(ctx.settings):
        ctx.say(f"environment map: PRODUCTION_VPCS={prod_vpc} (payments-prod), NON_PRODUCTION_VPCS={lab_vpc} (lab)")

        ctx.say("\n-- someone launches a lab VM into the production VPC; the RunInstances event reaches the handler")
        lab_vm = _drift_launch(ec2, "perf-experiment", prod_subnet, payments, {"Environment": "lab"}, "required")
        report = ctx.handle("on_ec2_api_call", events.run_instances([lab_vm], payments))
        _show_findings(ctx, report)

        ctx.say("\n-- a test box in the lab VPC, IMDSv1 still allowed, is re-tagged Environment=production")
        box = _drift_launch(ec2, "checkout-test", lab_subnet, lab_group, {"Environment": "test"}, "optional")
        ec2.create_tags(Resources=[box], Tags=[{"Key": "Environment", "Value": "production"}])
        report = ctx.handle("on_ec2_api_call", events.create_tags([box], {"Environment": "production"}))
        _show_findings(ctx, report)

        ctx.say("\n-- its owner requires IMDSv2; the ModifyInstanceMetadataOptions event re-checks it")
        ec2.modify_instance_metadata_options(InstanceId=box, HttpTokens="required", HttpEndpoint="enabled")
        report = ctx.handle("on_ec2_api_call", events.modify_metadata_options(box, "required"))
        _show_findings(ctx, report)
        for finding_id in report["resolved"]:
            ctx.say(f"   resolved in Security Hub: {finding_id}")


def _drift_launch(ec2: Any, name: str, subnet: str, group: str, tags: dict[str, str], tokens: str) -> str:
    tags = {"Name": name, "Owner": "payments-team", **tags}
    instance_id = str(
        ec2.run_instances(
            ImageId="ami-12c6146b",
            MinCount=1,
            MaxCount=1,
            InstanceType="t3.micro",
            SubnetId=subnet,
            SecurityGroupIds=[group],
            MetadataOptions={"HttpTokens": tokens, "HttpEndpoint": "enabled"},
            BlockDeviceMappings=[{"DeviceName": "/dev/sda1", "Ebs": {"VolumeSize": 8, "Encrypted": True}}],
            TagSpecifications=[{"ResourceType": "instance", "Tags": [{"Key": k, "Value": v} for k, v in tags.items()]}],
        )["Instances"][0]["InstanceId"]
    )
    # Managed by SSM and patched, so the story is about where the box runs and how it is set up.
    moto_ssm.install()
    moto_ssm.FLEET.register(instance_id, region=REGION, patch=moto_ssm.PatchFacts())
    return instance_id
