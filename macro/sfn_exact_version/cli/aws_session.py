"""The AWS side of the CLI's account commands: options, the boto3 session, exit codes.

boto3 is imported here, inside functions, and only by the commands that read an account: ``diff``,
``check`` and ``transform`` run without it.
"""

from __future__ import annotations

import argparse
import sys
from typing import Any

USAGE = 2
NO_AWS = 4  # AWS cannot be read: boto3 missing, credentials, Region, permissions, throttling

INSTALL_HINT = "pip install 'sfn-exact-version[live]' (or pip install boto3)"


def add_aws_options(parser: argparse.ArgumentParser) -> None:
    """``--region`` and ``--profile``; credentials otherwise come the AWS way (environment, config files,
    SSO, instance roles)."""
    parser.add_argument(
        "--region", help="AWS Region (default: AWS_REGION, AWS_DEFAULT_REGION or the profile's)"
    )
    parser.add_argument("--profile", help="AWS profile (default: AWS_PROFILE or the default profile)")
    parser.add_argument("--debug", action="store_true", help="show tracebacks")


def session(args: argparse.Namespace, command: str) -> Any:
    """A boto3 session for ``args``, or None after printing why there is none."""
    try:
        import boto3
    except ImportError:
        print(
            f"sfn-exact-version {command} reads your AWS account and needs boto3: {INSTALL_HINT}",
            file=sys.stderr,
        )
        return None
    try:
        return boto3.Session(profile_name=args.profile, region_name=args.region)
    except Exception as error:  # botocore.exceptions.ProfileNotFound and kin
        print(f"sfn-exact-version: error: AWS configuration: {error}", file=sys.stderr)
        return None
