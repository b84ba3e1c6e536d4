"""``sfn-exact-version``: preview, diff and check what the SfnExactVersion macro does to a template.

Exit codes: 0 success (``check``: every Lambda call pinned); 1 findings (``check``) or the template cannot
be transformed; 2 usage errors.
"""

from __future__ import annotations

import argparse
import json
import sys
import traceback
from collections.abc import Sequence

from sfn_exact_version.cli import preflight_command, prune_command
from sfn_exact_version.cli.errors import InputError
from sfn_exact_version.cli.pipeline import DEFAULT_ACCOUNT, DEFAULT_REGION, preview
from sfn_exact_version.cli.render import check_text, diff_text
from sfn_exact_version.cli.template_io import dump_template
from sfn_exact_version.errors import TransformError

OK, FINDINGS, USAGE = 0, 1, 2


def _overrides(pairs: Sequence[str]) -> dict[str, str]:
    values = {}
    for pair in pairs:
        if "=" not in pair:
            raise argparse.ArgumentTypeError(f"--parameter-overrides takes KEY=VALUE pairs, got {pair!r}")
        key, value = pair.split("=", 1)
        values[key] = value
    return values


def build_parser() -> argparse.ArgumentParser:
    """The command-line interface."""
    parser = argparse.ArgumentParser(
        prog="sfn-exact-version",
        description="See what the SfnExactVersion macro does to a template before you deploy it.",
        epilog="Exit codes: 0 ok, 1 findings or the macro fails, 2 usage.",
    )
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    helps = {
        "transform": "print the template as CloudFormation will run it (SAM, then the macro)",
        "diff": "show what the macro changes: pinned calls, versions, IAM statements, what is left alone",
        "check": "exit 1 if any Lambda call in a state machine would stay unpinned (for CI)",
    }
    for name, text in helps.items():
        command = commands.add_parser(name, help=text, description=text)
        command.add_argument("template", help="template file (YAML or JSON)")
        command.add_argument(
            "--parameter-overrides", nargs="+", default=[], metavar="KEY=VALUE", help="stack parameter values"
        )
        command.add_argument("--region", default=DEFAULT_REGION, help=f"Region (default {DEFAULT_REGION})")
        command.add_argument(
            "--account-id", default=DEFAULT_ACCOUNT, help=f"account ID (default {DEFAULT_ACCOUNT})"
        )
        command.add_argument("--debug", action="store_true", help="show tracebacks")
        if name == "transform":
            command.add_argument("--format", choices=("json", "yaml"), default="json", help="output format")
            command.add_argument("-o", "--output", metavar="FILE", help="write to FILE instead of stdout")
        if name in ("diff", "check"):
            command.add_argument("--json", action="store_true", help="print the macro's report as JSON")
    for module in (preflight_command, prune_command):  # commands that read an AWS account
        module.add_parser(commands)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Run the CLI; returns the exit code."""
    parser = build_parser()
    args = parser.parse_args(argv)
    if hasattr(args, "run"):
        return int(args.run(args))
    try:
        overrides = _overrides(args.parameter_overrides)
    except argparse.ArgumentTypeError as error:
        parser.error(str(error))
    try:
        result = preview(args.template, overrides=overrides, region=args.region, account_id=args.account_id)
    except (InputError, TransformError) as error:
        print(f"sfn-exact-version: error: {error.message}", file=sys.stderr)
        return FINDINGS
    except Exception as error:  # a bug of ours: one line, the traceback only on request
        if args.debug:
            traceback.print_exc()
        print(
            f"sfn-exact-version: internal error: {type(error).__name__}: {error} (rerun with --debug)",
            file=sys.stderr,
        )
        return FINDINGS
    if args.command == "transform":
        text = dump_template(result.result.template, args.format)
        if args.output:
            with open(args.output, "w", encoding="utf-8") as handle:
                handle.write(text)
        else:
            sys.stdout.write(text)
        return OK
    if getattr(args, "json", False):
        sys.stdout.write(json.dumps(result.result.report.to_dict(), indent=2) + "\n")
    elif args.command == "diff":
        sys.stdout.write(diff_text(result))
    if args.command == "check":
        findings = check_text(result)
        if findings:
            if not args.json:
                sys.stdout.write(findings)
            print(f"{result.unpinned_count} Lambda call(s) would stay unpinned.", file=sys.stderr)
            return FINDINGS
        if not args.json:
            pinned = len(result.result.report.pinned)
            print(f"ok: {pinned} Lambda call(s) pinned, none left unpinned.")
    return OK


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
