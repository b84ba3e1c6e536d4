"""What every subcommand shares: exit codes, how a subcommand is registered, usage errors shown with the
subcommand's own usage, and stack parameter values in the forms ``sam deploy`` takes."""

from __future__ import annotations

import argparse
import re
import shlex
import sys
import traceback
from collections.abc import Callable, Sequence
from typing import Any

from sfn_exact_version import MACRO_NAME

OK, FINDINGS, USAGE, ERROR, NO_AWS = 0, 1, 2, 3, 4
EXIT_CODES = (
    "exit codes: 0 ok; 1 findings (check: calls left unpinned; preflight: executions at risk; prune: "
    "deletions refused); 2 usage error; "
    "3 the template could not be read, packaged, translated or transformed; "
    "4 AWS could not be read (preflight, prune)"
)

_SAM_PAIR = re.compile(r"ParameterKey=([^,]+),ParameterValue=(.*)", re.DOTALL)


class UsageError(Exception):
    """A command-line argument is wrong; shown with the subcommand's usage."""


def add_command(
    commands: Any, name: str, text: str, run: Callable[[argparse.Namespace], int]
) -> argparse.ArgumentParser:
    """Add a subcommand: ``run(args)`` returns the exit code and may raise :class:`UsageError`."""
    command: argparse.ArgumentParser = commands.add_parser(
        name, help=text, description=text, epilog=EXIT_CODES
    )
    command.set_defaults(run=run, usage_error=command.error)
    return command


def add_template_options(command: argparse.ArgumentParser) -> None:
    """The template argument and ``--parameter-overrides`` (read with :func:`template_and_overrides`)."""
    command.add_argument("template", nargs="?", help="template file (YAML or JSON)")
    command.add_argument(
        "--parameter-overrides",
        nargs="+",
        action="extend",
        default=[],
        metavar="KEY=VALUE",
        help="stack parameter values: KEY=VALUE or ParameterKey=KEY,ParameterValue=VALUE (as sam deploy)",
    )


def add_macro_name_option(command: argparse.ArgumentParser) -> None:
    """``--macro-name``: the name the macro is deployed under, as the template's Transform lists it."""
    command.add_argument(
        "--macro-name",
        default=MACRO_NAME,
        help=f"the macro's name in Transform, if deployed under another (default {MACRO_NAME})",
    )


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


def template_and_overrides(args: argparse.Namespace) -> tuple[str, dict[str, str]]:
    """The template argument, also when it follows ``--parameter-overrides A=1`` (which takes several
    values, so argparse hands it the template too), and the parameter values."""
    items = list(args.parameter_overrides)
    template = args.template
    if template is None and items and "=" not in items[-1]:
        template = items.pop()
    if template is None:
        raise UsageError("the following arguments are required: template")
    return template, parse_overrides(items)


def preview_or_report(
    args: argparse.Namespace, template: str, overrides: dict[str, str], **options: Any
) -> Any:
    """``offline.pipeline.preview`` of ``template`` (``options``: Region, account, macro name, defaults),
    or None after saying on stderr why it could not be made (the caller exits with ``ERROR``). A
    parameter the template does not declare is a :class:`UsageError`."""
    from sfn_exact_version.errors import TransformError
    from sfn_exact_version.offline.errors import InputError
    from sfn_exact_version.offline.pipeline import ParameterError, preview

    try:
        return preview(template, overrides=overrides, macro_name=args.macro_name, **options)
    except ParameterError as error:
        raise UsageError(f"--parameter-overrides: {error.message}") from None
    except (InputError, TransformError) as error:
        print(f"sfn-exact-version: error: {error.message}", file=sys.stderr)
    except Exception as error:  # a bug of ours: one line, the traceback only on request
        if args.debug:
            traceback.print_exc()
        print(
            f"sfn-exact-version: internal error: {type(error).__name__}: {error} (rerun with --debug)",
            file=sys.stderr,
        )
    return None
