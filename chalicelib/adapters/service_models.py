"""The AWS operations ec2-warden calls, and the trimmed botocore service models that hold only them.

botocore parses a service's whole model when the first client of that service is built: EC2's is
3.7 MB of JSON (830 operations), and building the first EC2 client took ~110 ms here, ~75 ms of
it parsing operations ec2-warden never calls (bench/cold_start.py). chalicelib/adapters/models/ holds, per
service, the model of the installed botocore cut down to the operations below and the shapes they
reach, documentation removed; clients.py puts that folder first on botocore's model search path.
botocore still reads everything else (endpoint rules, paginators, partitions) from its own data.

The models are generated, never edited: `python -m devtools.service_models` writes them from the
installed botocore, and tests/unit/test_service_models.py fails when they differ from what it
would write (a botocore upgrade, or an operation added here) or when chalicelib calls an
operation not listed here."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from types import MappingProxyType

MODELS_DIR = Path(__file__).resolve().parent / "models"

# botocore service name -> the API operations ec2-warden's clients call (Powertools' SSMProvider
# included: it calls ssm:GetParameter on our client). Keep in step with permissions.py.
OPERATIONS: Mapping[str, tuple[str, ...]] = MappingProxyType(
    {
        "cloudwatch": ("GetMetricData",),
        "dynamodb": ("DeleteItem", "PutItem", "Scan"),
        "ec2": (
            "CreateTags",
            "DeleteTags",
            "DescribeImages",
            "DescribeInstances",
            "DescribeNetworkInterfaces",
            "DescribeSecurityGroups",
            "DescribeVolumes",
            "DescribeVpcs",
            "GetManagedPrefixListEntries",
            "StopInstances",
        ),
        "organizations": ("ListAccounts",),
        "pricing": ("GetProducts",),
        "securityhub": ("BatchImportFindings", "BatchUpdateFindings", "GetFindings"),
        "ses": ("SendEmail",),
        "sqs": ("SendMessageBatch",),
        "ssm": (
            "DescribeInstanceInformation",
            "DescribeInstancePatchStates",
            "GetParameter",
            "ListCommandInvocations",
            "SendCommand",
        ),
        "sts": ("AssumeRole", "GetCallerIdentity"),
    }
)


def use_trimmed_models(loader: object) -> None:
    """Put chalicelib/adapters/models/ first on this botocore loader's search path (once).

    A service or API version not in that folder is read from botocore's own data, as before."""
    paths: list[str] = loader.search_paths  # type: ignore[attr-defined]
    folder = str(MODELS_DIR)
    if folder not in paths:
        paths.insert(0, folder)
