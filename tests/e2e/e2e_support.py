"""What the live AWS tests share: whether they may run here, and why not."""

from __future__ import annotations

import os


def skip_reason() -> str | None:
    """Why the live AWS tests cannot run here (opt-in, boto3, credentials, a Region), or ``None``."""
    if os.environ.get("SFN_EXACT_VERSION_E2E") != "1":
        return "live AWS test: set SFN_EXACT_VERSION_E2E=1 (and AWS credentials) to run it"
    try:
        import boto3
    except ImportError:
        return "boto3 is not installed"
    try:
        session = boto3.Session()
        credentials = session.get_credentials()
    except Exception as error:  # e.g. a profile that does not exist
        return f"SFN_EXACT_VERSION_E2E=1 but the AWS configuration is unusable: {error}"
    if credentials is None:
        return "SFN_EXACT_VERSION_E2E=1 but no AWS credentials were found (profile, env or SSO)"
    if not session.region_name:
        # AWS_REGION is set, yet boto3 found no Region: this boto3 does not read it.
        hint = " (AWS_REGION is set, but boto3 does not read it)" if os.environ.get("AWS_REGION") else ""
        return (
            "SFN_EXACT_VERSION_E2E=1 but no AWS Region is set: export AWS_DEFAULT_REGION=<region> or set "
            f"region in the profile{hint}"
        )
    return None
