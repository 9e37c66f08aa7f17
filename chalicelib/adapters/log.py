"""The one Powertools Logger. JSON lines on stderr (CloudWatch Logs reads both streams in Lambda;
the CLI keeps stdout for its report)."""

from __future__ import annotations

import sys

from aws_lambda_powertools import Logger

logger = Logger(service="ec2-warden", stream=sys.stderr)
