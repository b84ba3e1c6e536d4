"""Pin every Lambda call in Step Functions state machines to an exact Lambda version.

The package root stays empty on purpose: the Lambda handler imports only what it needs
(see ``handler.py``), so a cold start never pays for the CLI or its dependencies.
"""

__version__ = "0.1.0"  # the one place of the version (pyproject.toml reads it)

MACRO_NAME = "SfnExactVersion"
"""The macro's default name (the macro stack's ``MacroName`` parameter may choose another)."""

SAM_TRANSFORM = "AWS::Serverless-2016-10-31"
"""The SAM transform, which the macro must follow in ``Transform``."""
