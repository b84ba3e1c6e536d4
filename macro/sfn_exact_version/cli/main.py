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
import sys
from collections.abc import Callable, Sequence
from typing import Any

from sfn_exact_version import __version__
from sfn_exact_version.cli import preflight_command, prune_command
from sfn_exact_version.cli.arguments import (
    ERROR,
    EXIT_CODES,
    FINDINGS,
    OK,
    USAGE,
    UsageError,
    add_command,
    add_macro_name_option,
    add_template_options,
    parse_overrides,
    preview_or_report,
    template_and_overrides,
)
from sfn_exact_version.cli.render import check_text, diff_text
from sfn_exact_version.errors import TransformError
from sfn_exact_version.offline.errors import InputError
from sfn_exact_version.offline.pipeline import (
    DEFAULT_ACCOUNT,
    DEFAULT_REGION,
    Preview,
    preview,
)
from sfn_exact_version.offline.template_io import dump_template, load_template

__all__ = ["ERROR", "FINDINGS", "OK", "USAGE", "UsageError", "build_parser", "main", "parse_overrides"]


def _add_preview_options(command: argparse.ArgumentParser) -> None:
    add_template_options(command)
    add_macro_name_option(command)
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
        template, overrides = template_and_overrides(args)
        result = preview_or_report(args, template, overrides, region=args.region, account_id=args.account_id)
        if result is None:
            return ERROR
        for note in result.notes:
            print(f"sfn-exact-version: note: {note}", file=sys.stderr)
        return show(args, result)

    return run


def _not_followed(result: Preview) -> None:
    """``diff`` and ``transform`` show one template: say which nested templates they leave out."""
    for child in result.children:
        print(
            f"sfn-exact-version: note: {child.location}: the nested stack's template {child.path} is "
            f"deployed with this one and not shown here; see it with: sfn-exact-version diff {child.path}",
            file=sys.stderr,
        )


def _transform(args: argparse.Namespace, result: Preview) -> int:
    _not_followed(result)
    for problem in result.problems:
        print(
            f"sfn-exact-version: warning: {problem}. This shows what the macro does once it is.",
            file=sys.stderr,
        )
    text = dump_template(result.result.template, args.format)
    if args.output:
        try:
            with open(args.output, "w", encoding="utf-8") as handle:
                handle.write(text)
        except OSError as error:  # a missing directory, a directory, no permission: one line, exit 3
            why = error.strerror or type(error).__name__
            print(f"sfn-exact-version: error: cannot write {args.output}: {why}", file=sys.stderr)
            return ERROR
    else:
        sys.stdout.write(text)
    return OK


def _json(result: Preview) -> str:
    report: dict[str, Any] = result.result.report.to_dict()
    report["DefinitionFiles"] = [finding.to_dict() for finding in result.file_findings]
    report["Problems"] = list(result.problems)
    report["DefinitionsNotRead"] = list(result.unread)
    return json.dumps(report, indent=2) + "\n"


def _diff(args: argparse.Namespace, result: Preview) -> int:
    _not_followed(result)
    sys.stdout.write(_json(result) if args.json else diff_text(result))
    return OK


def _check(args: argparse.Namespace, result: Preview) -> int:
    """Check the template and, since they are deployed with it, the local templates of its nested stacks
    (each with the literal parameter values the parent passes it)."""
    checked: list[tuple[str, Preview]] = [("", result)]
    failed = _follow(args, result, checked, set())
    if args.json:
        report = json.loads(_json(result))
        report["NestedStacks"] = [
            {"Template": where.rstrip(": "), **json.loads(_json(child))} for where, child in checked[1:]
        ]
        sys.stdout.write(json.dumps(report, indent=2) + "\n")
    else:
        for where, preview_ in checked:
            findings = check_text(preview_)
            sys.stdout.write("".join(f"{where}{line}\n" for line in findings.splitlines()))
    unpinned = sum(preview_.unpinned_count for _, preview_ in checked)
    unread = sum(len(preview_.unread) for _, preview_ in checked)
    if any(preview_.problems for _, preview_ in checked) or unpinned or unread:
        if unpinned:
            print(f"{unpinned} Lambda call(s) would stay unpinned.", file=sys.stderr)
        if unread:
            print(f"{unread} state machine definition(s) not read.", file=sys.stderr)
        return ERROR if failed else FINDINGS
    if failed:
        return ERROR
    if not args.json:
        pinned = sum(len(preview_.result.report.pinned) for _, preview_ in checked)
        nested = f" (with {len(checked) - 1} nested template(s))" if len(checked) > 1 else ""
        print(f"ok: {pinned} Lambda call(s) pinned{nested}, none left unpinned.")
    return OK


def _follow(
    args: argparse.Namespace, result: Preview, checked: list[tuple[str, Preview]], seen: set[str]
) -> bool:
    """Preview each local nested template of ``result`` (depth first) into ``checked``; True when one
    could not be previewed (said on stderr, naming it)."""
    failed = False
    for child in result.children:
        key = str(child.path.resolve())
        if key in seen:
            continue
        seen.add(key)
        try:
            declared = load_template(child.path).get("Parameters")
            names = declared if isinstance(declared, dict) else {}
            preview_ = preview(
                child.path,
                overrides={k: v for k, v in child.parameters.items() if k in names},
                region=args.region,
                account_id=args.account_id,
                macro_name=args.macro_name,
            )
        except (InputError, TransformError) as error:
            print(
                f"sfn-exact-version: error: {child.location}: nested template {child.path} could not be "
                f"checked: {error.message.rstrip('.')}. Check it on its own, with the parameter values the "
                f"parent passes: sfn-exact-version check {child.path} --parameter-overrides KEY=VALUE ...",
                file=sys.stderr,
            )
            failed = True
            continue
        for note in preview_.notes:
            print(f"sfn-exact-version: note: {child.path}: {note}", file=sys.stderr)
        checked.append((f"{child.path}: ", preview_))
        failed = _follow(args, preview_, checked, seen) or failed
    return failed


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
