"""``sfn-exact-version``: preview, diff and check what the SfnExactVersion macro does to a template.

Exit codes (``EXIT_CODES``): 0 ok; 1 findings (``check``: a call would stay unpinned, or the macro is not
listed after SAM); 2 usage errors; 3 the template could not be read, packaged, translated or transformed.

Each subcommand is added with :func:`add_command` (a parser whose ``run`` gets the parsed arguments and
returns the exit code); ``main`` calls it. A new subcommand registers itself in ``build_parser`` with one
``add_command`` call and adds its own arguments to the parser it gets back.
"""

from __future__ import annotations

import argparse
import json
import re
import shlex
import sys
import traceback
from collections.abc import Callable, Sequence
from typing import Any

from sfn_exact_version import MACRO_NAME, __version__
from sfn_exact_version.cli import preflight_command, prune_command
from sfn_exact_version.cli.render import check_text, diff_text
from sfn_exact_version.errors import TransformError
from sfn_exact_version.offline.errors import InputError
from sfn_exact_version.offline.pipeline import (
    DEFAULT_ACCOUNT,
    DEFAULT_REGION,
    ParameterError,
    Preview,
    preview,
)
from sfn_exact_version.offline.template_io import dump_template

OK, FINDINGS, USAGE, ERROR = 0, 1, 2, 3
EXIT_CODES = (
    "exit codes: 0 ok; 1 findings (check); 2 usage error; "
    "3 the template could not be read, packaged, translated or transformed; "
    "4 AWS could not be read (preflight, prune)"
)

_SAM_PAIR = re.compile(r"ParameterKey=([^,]+),ParameterValue=(.*)", re.DOTALL)


class UsageError(Exception):
    """A command-line argument is wrong; shown with the subcommand's usage."""


def parse_overrides(items: Sequence[str]) -> dict[str, str]:
    """Parameter values from ``KEY=VALUE`` items, SAM's ``ParameterKey=K,ParameterValue=V`` form, or one
    quoted string holding several (``'A=1 B=2'``, as ``sam deploy --parameter-overrides`` takes).

    >>> parse_overrides(["Stage=prod", "ParameterKey=Size,ParameterValue=1,2", "A='x y' B=2"])
    {'Stage': 'prod', 'Size': '1,2', 'A': 'x y', 'B': '2'}
    """
    values: dict[str, str] = {}
    for item in items:
        try:
            tokens = shlex.split(item) if any(c.isspace() or c in "'\"" for c in item) else [item]
        except ValueError as error:
            raise UsageError(f"--parameter-overrides: cannot read {item!r}: {error}") from None
        for token in tokens:
            pair = _SAM_PAIR.fullmatch(token)
            if pair:
                key, value = pair.group(1), pair.group(2)
            elif "=" in token and not token.startswith("="):
                key, value = token.split("=", 1)
            else:
                raise UsageError(
                    f"--parameter-overrides takes KEY=VALUE or ParameterKey=KEY,ParameterValue=VALUE, "
                    f"got {token!r}"
                )
            values[key] = value
    return values


def _template_and_overrides(args: argparse.Namespace) -> tuple[str, dict[str, str]]:
    """The template argument, also when it follows ``--parameter-overrides A=1`` (which takes several
    values, so argparse hands it the template too)."""
    items = list(args.parameter_overrides)
    template = args.template
    if template is None and items and "=" not in items[-1]:
        template = items.pop()
    if template is None:
        raise UsageError("the following arguments are required: template")
    return template, parse_overrides(items)


def _add_preview_options(command: argparse.ArgumentParser) -> None:
    command.add_argument("template", nargs="?", help="template file (YAML or JSON)")
    command.add_argument(
        "--parameter-overrides",
        nargs="+",
        action="extend",
        default=[],
        metavar="KEY=VALUE",
        help="stack parameter values: KEY=VALUE or ParameterKey=KEY,ParameterValue=VALUE (as sam deploy)",
    )
    command.add_argument(
        "--macro-name",
        default=MACRO_NAME,
        help=f"the macro's name in Transform, if deployed under another (default {MACRO_NAME})",
    )
    command.add_argument("--region", default=DEFAULT_REGION, help=f"Region (default {DEFAULT_REGION})")
    command.add_argument(
        "--account-id", default=DEFAULT_ACCOUNT, help=f"account ID (default {DEFAULT_ACCOUNT})"
    )
    command.add_argument("--debug", action="store_true", help="show tracebacks")


def build_parser() -> argparse.ArgumentParser:
    """The command-line interface."""
    parser = argparse.ArgumentParser(
        prog="sfn-exact-version",
        description="See what the SfnExactVersion macro does to a template before you deploy it.",
        epilog=EXIT_CODES,
    )
    parser.add_argument("--version", action="version", version=f"%(prog)s {__version__}")
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    previews: dict[str, tuple[str, Callable[[argparse.Namespace, Preview], int]]] = {
        "transform": ("print the template as CloudFormation will run it (SAM, then the macro)", _transform),
        "diff": (
            "show what the macro changes: pinned calls, versions, IAM statements, what is left alone",
            _diff,
        ),
        "check": ("exit 1 if the macro would not pin every Lambda call in a state machine (for CI)", _check),
    }
    for name, (text, show) in previews.items():
        command = add_command(commands, name, text, _previewing(show))
        _add_preview_options(command)
        if name == "transform":
            command.add_argument("--format", choices=("json", "yaml"), default="json", help="output format")
            command.add_argument("-o", "--output", metavar="FILE", help="write to FILE instead of stdout")
        else:
            command.add_argument("--json", action="store_true", help="print the findings as JSON")
    for module in (preflight_command, prune_command):  # commands that read an AWS account
        module.add_parser(commands)
    return parser


def add_command(
    commands: Any, name: str, text: str, run: Callable[[argparse.Namespace], int]
) -> argparse.ArgumentParser:
    """Add a subcommand: ``run(args)`` returns the exit code and may raise :class:`UsageError`."""
    command: argparse.ArgumentParser = commands.add_parser(
        name, help=text, description=text, epilog=EXIT_CODES
    )
    command.set_defaults(run=run, usage_error=command.error)
    return command


def main(argv: Sequence[str] | None = None) -> int:
    """Run the CLI; returns the exit code."""
    parser = build_parser()
    args, unknown = parser.parse_known_args(argv)
    usage_error = getattr(args, "usage_error", parser.error)
    if unknown:  # argparse would show the top-level usage; the subcommand's is the useful one
        usage_error(f"unrecognized arguments: {' '.join(unknown)}")
    try:
        code: int = args.run(args)
    except UsageError as error:
        usage_error(str(error))  # prints the subcommand's usage, exits 2
    return code


def _previewing(show: Callable[[argparse.Namespace, Preview], int]) -> Callable[[argparse.Namespace], int]:
    def run(args: argparse.Namespace) -> int:
        template, overrides = _template_and_overrides(args)
        try:
            result = preview(
                template,
                overrides=overrides,
                region=args.region,
                account_id=args.account_id,
                macro_name=args.macro_name,
            )
        except ParameterError as error:
            raise UsageError(f"--parameter-overrides: {error.message}") from None
        except (InputError, TransformError) as error:
            print(f"sfn-exact-version: error: {error.message}", file=sys.stderr)
            return ERROR
        except Exception as error:  # a bug of ours: one line, the traceback only on request
            if args.debug:
                traceback.print_exc()
            print(
                f"sfn-exact-version: internal error: {type(error).__name__}: {error} (rerun with --debug)",
                file=sys.stderr,
            )
            return ERROR
        for note in result.notes:
            print(f"sfn-exact-version: note: {note}", file=sys.stderr)
        return show(args, result)

    return run


def _transform(args: argparse.Namespace, result: Preview) -> int:
    for problem in result.problems:
        print(
            f"sfn-exact-version: warning: {problem}. This shows what the macro does once it is.",
            file=sys.stderr,
        )
    text = dump_template(result.result.template, args.format)
    if args.output:
        with open(args.output, "w", encoding="utf-8") as handle:
            handle.write(text)
    else:
        sys.stdout.write(text)
    return OK


def _json(result: Preview) -> str:
    report: dict[str, Any] = result.result.report.to_dict()
    report["DefinitionFiles"] = [finding.to_dict() for finding in result.file_findings]
    report["Problems"] = list(result.problems)
    return json.dumps(report, indent=2) + "\n"


def _diff(args: argparse.Namespace, result: Preview) -> int:
    sys.stdout.write(_json(result) if args.json else diff_text(result))
    return OK


def _check(args: argparse.Namespace, result: Preview) -> int:
    findings = check_text(result)
    if args.json:
        sys.stdout.write(_json(result))
    elif findings:
        sys.stdout.write(findings)
    if result.problems or result.unpinned_count:
        if result.unpinned_count:
            print(f"{result.unpinned_count} Lambda call(s) would stay unpinned.", file=sys.stderr)
        return FINDINGS
    if not args.json:
        pinned = len(result.result.report.pinned)
        print(f"ok: {pinned} Lambda call(s) pinned, none left unpinned.")
    return OK


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
