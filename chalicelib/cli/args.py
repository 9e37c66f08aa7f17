"""The command's flags. Public: flags and subcommands are only ever added (README "CLI")."""

from __future__ import annotations

import argparse
from typing import NoReturn

from chalicelib import __version__
from chalicelib.cli.exception_command import add_exception_parser
from chalicelib.cli.failures import UsageError
from chalicelib.cli.formats import FORMATS
from chalicelib.model import Mode, Severity


class OneLineParser(argparse.ArgumentParser):
    """argparse prints usage and a message over several lines and exits; here a bad flag is one
    line on stderr like every other error (main prints it), with exit code 2."""

    def error(self, message: str) -> NoReturn:
        raise UsageError(f"{message} (see {self.prog} --help)")


def build_parser(prog: str = "ec2-warden") -> argparse.ArgumentParser:
    parser = OneLineParser(prog=prog, description="ec2-warden: keep an EC2 fleet safe.")
    parser.add_argument("--version", action="version", version=f"ec2-warden {__version__}")
    parser.add_argument(
        "--list-checks",
        action="store_true",
        help="list every check: what it finds, its severities, the AWS reads and IAM permissions it needs",
    )
    sub = parser.add_subparsers(dest="command", parser_class=OneLineParser)

    common = OneLineParser(add_help=False)
    common.add_argument("--region", help="AWS region (default: AWS_REGION / AWS_DEFAULT_REGION, else the profile's)")
    common.add_argument("--endpoint-url", help="AWS endpoint, e.g. a local moto server (or AWS_ENDPOINT_URL)")
    common.add_argument("--profile", metavar="NAME", help="AWS profile of your config/credentials files")
    common.add_argument("--mode", choices=[m.value for m in Mode], help="default: WARDEN_MODE, else audit")
    common.add_argument("--checks", metavar="A,B", help="the checks to run (the WARDEN_CHECKS setting); default all")
    common.add_argument("--format", choices=list(FORMATS), default="table")
    common.add_argument("--output", metavar="FILE", help="write the report to FILE instead of stdout")
    common.add_argument(
        "--min-severity",
        choices=[s.value for s in Severity],
        type=str.upper,
        help="print only findings at or above this severity (what is imported is unchanged)",
    )
    common.add_argument("--now", help="the time to judge at (ISO 8601); default: now")
    common.add_argument(
        "--read-findings",
        action="store_true",
        help="audit mode: read ec2-warden's open Security Hub findings and show each finding's status "
        "and what notify would resolve (writes nothing)",
    )
    common.add_argument(
        "--group-by",
        choices=["none", "instance"],
        default="none",
        help="table order: as reported (worst first), or each instance's findings together",
    )
    common.add_argument("--yes", action="store_true", help="enforce mode: go ahead without asking")
    common.add_argument("--verbose", action="store_true", help="also print the JSON log lines on stderr")

    sub.add_parser("sweep", parents=[common], help="check every instance in one account and region")
    replay = sub.add_parser("replay", parents=[common], help="run a captured event through the Lambda's path")
    replay.add_argument("event", help="a JSON file: an EventBridge event or a CloudTrail record or log file")
    report = sub.add_parser("report", help="the audit report of ec2-warden's findings in Security Hub")
    report.add_argument("--from-securityhub", action="store_true", help="read the findings back from Security Hub")
    report.add_argument("--region", help="the hub's region (a finding aggregator's holds every region)")
    report.add_argument("--endpoint-url", help="AWS endpoint, e.g. a local moto server")
    report.add_argument("--profile", metavar="NAME", help="AWS profile of your config/credentials files")
    report.add_argument("--since", type=int, default=30, help="days of resolved findings to include (default 30)")
    report.add_argument("--format", choices=["html", "csv", "ocsf", "json"], default="html")
    report.add_argument("--output", metavar="FILE", help="write the report to FILE instead of stdout")
    report.add_argument("--now", help="the time to report at (ISO 8601); default: now")
    report.add_argument("--verbose", action="store_true", help="also print the JSON log lines on stderr")
    sub.add_parser("demo", help="run ec2-warden against an embedded AWS with a seeded fleet")
    add_exception_parser(sub)
    lab = sub.add_parser("lab", help="start an embedded AWS with a seeded fleet to sweep, until Ctrl-C")
    lab.add_argument("--port", type=int, default=5000, help="port on 127.0.0.1 (default 5000; 0: any free port)")
    return parser
