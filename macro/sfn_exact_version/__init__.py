"""Pin every Lambda call in Step Functions state machines to an exact Lambda version.

The package root stays empty on purpose: the Lambda handler imports only what it needs
(see ``handler.py``), so a cold start never pays for the CLI or its dependencies.
"""

__version__ = "0.1.0"
MACRO_NAME = "SfnExactVersion"
