"""A CloudFormation template's policies with its parameters resolved, as a deployment would
have them: Ref (parameters, CommaDelimitedList included, and pseudo parameters), Fn::Sub,
Fn::If over the template's Conditions (Equals, Not, And, Or), AWS::NoValue dropped. Only what
infra/*.yaml uses; anything else raises, so a template that grows a new intrinsic fails loudly.
This resolves text, it judges nothing: the IAM simulator (iamsim.py) does the judging."""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from cfnlint.decode import decode

_SUB_VAR = re.compile(r"\$\{([^}!][^}]*)\}")
_NO_VALUE = object()


class UnresolvableError(ValueError):
    pass


@dataclass(frozen=True)
class Stack:
    """One template deployed with these parameter values, in this account and region."""

    template: Mapping[str, Any]
    parameters: Mapping[str, Any]
    account: str
    region: str = "eu-west-1"
    partition: str = "aws"

    @classmethod
    def load(cls, path: Path, parameters: Mapping[str, Any], account: str) -> Stack:
        template, errors = decode(str(path))
        assert not errors, errors
        values: dict[str, Any] = {}
        for name, spec in template.get("Parameters", {}).items():
            value = parameters.get(name, spec.get("Default"))
            if value is None:
                raise UnresolvableError(f"{path.name}: parameter {name} has no value and no default")
            if spec["Type"] == "CommaDelimitedList" and isinstance(value, str):
                value = value.split(",")
            values[name] = value
        unknown = set(parameters) - set(values)
        if unknown:
            raise UnresolvableError(f"{path.name}: no such parameters {sorted(unknown)}")
        return cls(template, values, account)

    def _ref(self, name: str) -> Any:
        pseudo = {
            "AWS::AccountId": self.account,
            "AWS::Region": self.region,
            "AWS::Partition": self.partition,
            "AWS::StackName": "ec2-warden-test",
        }
        if name in pseudo:
            return pseudo[name]
        if name in self.parameters:
            return self.parameters[name]
        raise UnresolvableError(f"Ref {name}")

    def condition(self, name: str) -> bool:
        return bool(self.resolve(self.template["Conditions"][name]))

    def has(self, logical_id: str) -> bool:
        cond = self.template["Resources"][logical_id].get("Condition")
        return cond is None or self.condition(cond)

    def resolve(self, node: Any) -> Any:
        if isinstance(node, list):
            return [v for v in (self.resolve(n) for n in node) if v is not _NO_VALUE]
        if not isinstance(node, dict):
            return node
        if len(node) == 1:
            ((key, arg),) = node.items()
            if key == "Ref":
                return _NO_VALUE if arg == "AWS::NoValue" else self._ref(arg)
            if key == "Fn::Sub":
                if not isinstance(arg, str):
                    raise UnresolvableError("Fn::Sub with a variable map")
                return _SUB_VAR.sub(lambda m: str(self._ref(m.group(1))), arg)
            if key == "Fn::If":
                name, yes, no = arg
                return self.resolve(yes if self.condition(name) else no)
            if key == "Fn::Equals":
                left, right = (self.resolve(a) for a in arg)
                return left == right
            if key == "Fn::Not":
                return not self.resolve(arg[0])
            if key == "Fn::And":
                return all(self.resolve(a) for a in arg)
            if key == "Fn::Or":
                return any(self.resolve(a) for a in arg)
            if key == "Condition":
                return self.condition(arg)
            if key == "Fn::GetAtt":
                return self._get_att(*arg)
            if key.startswith("Fn::"):
                raise UnresolvableError(key)
        out = {k: self.resolve(v) for k, v in node.items()}
        return {k: v for k, v in out.items() if v is not _NO_VALUE}

    def _get_att(self, logical_id: str, attribute: str) -> str:
        resource = self.template["Resources"][logical_id]
        if resource["Type"] == "AWS::SQS::Queue" and attribute in ("Arn", "QueueName"):
            name = self.resolve(resource["Properties"]["QueueName"])
            return name if attribute == "QueueName" else f"arn:{self.partition}:sqs:{self.region}:{self.account}:{name}"
        raise UnresolvableError(f"Fn::GetAtt {logical_id}.{attribute}")

    def role_arn(self, logical_id: str) -> str:
        name = self.resolve(self.template["Resources"][logical_id]["Properties"]["RoleName"])
        return f"arn:{self.partition}:iam::{self.account}:role/{name}"

    def role_policies(self, logical_id: str) -> list[dict[str, Any]]:
        """The identity policies of a role: its inline policies and the managed policies of this
        template it attaches (by Ref)."""
        props = self.template["Resources"][logical_id]["Properties"]
        docs = [self.resolve(p)["PolicyDocument"] for p in self.resolve(props.get("Policies", []))]
        for ref in props.get("ManagedPolicyArns", []):
            managed = self.template["Resources"][ref["Ref"]]
            assert managed["Type"] == "AWS::IAM::ManagedPolicy", ref
            docs.append(self.resolve(managed["Properties"]["PolicyDocument"]))
        return docs

    def trust_policy(self, logical_id: str) -> dict[str, Any]:
        return self.resolve(self.template["Resources"][logical_id]["Properties"]["AssumeRolePolicyDocument"])
