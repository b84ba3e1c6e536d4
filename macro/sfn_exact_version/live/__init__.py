"""A read-only view of an AWS account: what preflight and prune decide on.

``gather`` reads through a boto3 session passed in (Region and credentials the AWS way) and returns the
plain dataclasses of ``model``; ``apply`` performs prune's deletions. Importing this package imports no
boto3: ``model`` and ``errors`` are plain Python, and ``gather``/``apply`` take the session from the caller.
Never on the Lambda handler's import path.
"""

from sfn_exact_version.live.errors import LiveReadError, MissingPermissionError

__all__ = ["LiveReadError", "MissingPermissionError"]
