"""``sfn-exact-version preflight``: which running executions would a deploy of this template break?

Builds the processed template offline (the same path as ``diff``), reads the stack's executions that may
still run, read-only, and checks each against it (``decisions.preflight``).

Exit codes: 0 no execution at risk; 1 one line per execution and function version at risk; 2 usage;
3 the template cannot be processed (as for the other commands); 4 AWS cannot be read.
"""

from __future__ import annotations

import argparse
import json
import sys
from typing import Any

from sfn_exact_version.cli.arguments import (
    add_command,
    add_macro_name_option,
    add_template_options,
    preview_or_report,
    template_and_overrides,
)
from sfn_exact_version.cli.aws_session import NO_AWS, add_aws_options, session

OK, AT_RISK, TEMPLATE = 0, 1, 3  # 3: as for transform, diff and check


def add_parser(subparsers: Any) -> argparse.ArgumentParser:
    text = "exit 1 if deploying the template would break an execution that is running (reads AWS, read-only)"
    parser = add_command(subparsers, "preflight", text, run)
    add_template_options(parser)
    parser.add_argument("--stack", required=True, help="the deployed stack's name")
    add_macro_name_option(parser)
    parser.add_argument("--json", action="store_true", help="print the result as JSON")
    add_aws_options(parser)
    return parser


def run(args: argparse.Namespace) -> int:
    """Run ``preflight``; returns the exit code."""
    template, overrides = template_and_overrides(args)  # UsageError: shown with this command's usage
    aws = session(args, "preflight")
    if aws is None:
        return NO_AWS
    from sfn_exact_version.decisions.preflight import check
    from sfn_exact_version.live.errors import LiveReadError
    from sfn_exact_version.live.gather import read_stack
    from sfn_exact_version.offline.pipeline import parameter_values
    from sfn_exact_version.offline.sam import transform_names

    try:
        view = read_stack(aws, args.stack)
    except LiveReadError as error:
        print(f"sfn-exact-version: cannot read AWS: {error.message}", file=sys.stderr)
        return NO_AWS
    # A deploy keeps the stack's current value of a parameter it does not set (sam deploy does).
    current = {k: v for k, v in view.deployed_parameters.items() if v != "****"}
    result = preview_or_report(
        args, template, overrides, defaults=current, region=view.region, account_id=view.account_id
    )
    if result is None:
        return TEMPLATE
    values = parameter_values(result.source, {**current, **overrides})
    # What CloudFormation will deploy: the macro's output when the template lists the macro, else SAM's.
    uses_macro = args.macro_name in transform_names(result.source)
    new_template = result.result.template if uses_macro else result.fragment
    outcome = check(view, new_template, values)
    for note in view.notes:
        print(f"note: {note}", file=sys.stderr)
    if args.json:
        sys.stdout.write(json.dumps(outcome.to_dict(), indent=2) + "\n")
    else:
        for warning in outcome.warnings:
            print(f"warning: {warning}", file=sys.stderr)
        for risk in outcome.risks:
            print(risk.line())
    if outcome.risks:
        print(
            f"{len(outcome.risks)} call(s) of running executions at risk; do not deploy yet.", file=sys.stderr
        )
        return AT_RISK
    if not args.json:
        routed = (
            f" and {outcome.routed} state machine version(s) an alias routes to" if outcome.routed else ""
        )
        print(f"ok: {outcome.checked} execution(s) that may still run{routed} checked, none at risk.")
    return OK
