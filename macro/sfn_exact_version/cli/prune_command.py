"""``sfn-exact-version prune``: delete the Lambda versions, retained functions, state machine versions and
retained grants that nothing can still call. Dry run unless ``--apply``.

Exit codes: 0 dry run printed, or every deletion done; 1 some deletions were refused (each reported);
2 usage; 4 AWS cannot be read (or, with --apply, the stack is being updated).
"""

from __future__ import annotations

import argparse
import json
import re
import sys
from datetime import timedelta
from typing import Any

from sfn_exact_version.cli.arguments import UsageError, add_command
from sfn_exact_version.cli.aws_session import NO_AWS, add_aws_options, session
from sfn_exact_version.decisions.prune import DEFAULT_KEEP, DEFAULT_MIN_AGE, Item, Plan

OK, REFUSED = 0, 1
_REASONS = 5  # reasons shown per item in the table
_UNITS = {"s": 1, "m": 60, "h": 3600, "d": 86400, "w": 604800}


def duration(text: str) -> timedelta:
    """``90s``, ``30m``, ``1h``, ``2d``, ``1w``, ``1h30m`` or ``0``."""
    if text.strip() == "0":
        return timedelta(0)
    parts = re.findall(r"(\d+)([smhdw])", text.strip().lower())
    if not parts or "".join(n + u for n, u in parts) != text.strip().lower():
        raise argparse.ArgumentTypeError(f"a duration like 30m, 1h, 2d or 1h30m, not {text!r}")
    return timedelta(seconds=sum(int(n) * _UNITS[u] for n, u in parts))


def add_parser(subparsers: Any) -> argparse.ArgumentParser:
    text = "delete old versions nothing can still call (dry run unless --apply)"
    parser = add_command(subparsers, "prune", text, run)
    parser.add_argument(
        "--stack", help="a stack: its functions, state machines and the functions it retained"
    )
    parser.add_argument(
        "--function", nargs="+", default=[], metavar="NAME", help="functions (without a stack)"
    )
    parser.add_argument(
        "--state-machine",
        nargs="+",
        default=[],
        metavar="ARN",
        help="state machines that call them (without a stack)",
    )
    parser.add_argument(
        "--keep",
        type=int,
        default=DEFAULT_KEEP,
        metavar="N",
        help=f"also keep the newest N versions of each function and state machine (default {DEFAULT_KEEP})",
    )
    minutes = int(DEFAULT_MIN_AGE.total_seconds() // 60)
    parser.add_argument(
        "--min-age",
        type=duration,
        default=DEFAULT_MIN_AGE,
        metavar="DURATION",
        help=f"keep anything younger than this (default {minutes}m; e.g. 30m, 2h, 7d)",
    )
    parser.add_argument("--apply", action="store_true", help="delete (default: only show what would go)")
    parser.add_argument("--json", action="store_true", help="print the plan (and outcome) as JSON")
    add_aws_options(parser)
    return parser


def _table(plan: Plan) -> str:
    lines = []
    for verb, items in (("delete", plan.delete), ("keep", plan.keep)):
        for item in items:
            lines.append(f"{verb:<6}  {item.kind:<21}  {_name(item)}")
            shown = item.reasons if len(item.reasons) <= _REASONS else item.reasons[: _REASONS - 1]
            for reason in shown:
                lines.append(f"{'':<31}{reason}")
            if len(shown) < len(item.reasons):
                lines.append(f"{'':<31}and {len(item.reasons) - len(shown)} more reasons (--json lists all)")
    for note in plan.notes:
        lines.append(f"note: {note}")
    return "\n".join(lines) + ("\n" if lines else "")


def _name(item: Item) -> str:
    return f"{item.role}: inline policy {item.name}" if item.name else item.arn


def run(args: argparse.Namespace) -> int:
    """Run ``prune``; returns the exit code."""
    with_stack = bool(args.stack) and not args.function
    without_stack = not args.stack and bool(args.function or args.state_machine)
    if not (with_stack or without_stack):
        raise UsageError(
            "give either --stack NAME (and, if other stacks' state machines call its functions, "
            "--state-machine ARN...), or --function NAME... and --state-machine ARN..."
        )
    if args.keep < 0:
        raise UsageError("--keep takes a number >= 0")
    aws = session(args, "prune")
    if aws is None:
        return NO_AWS
    from sfn_exact_version.decisions.prune import plan
    from sfn_exact_version.live.errors import LiveReadError
    from sfn_exact_version.live.gather import read_scope, read_stack

    try:
        if args.stack:
            view = read_stack(aws, args.stack, state_machines=args.state_machine)
        else:
            view = read_scope(aws, functions=args.function, state_machines=args.state_machine)
    except LiveReadError as error:
        print(f"sfn-exact-version: cannot read AWS: {error.message}", file=sys.stderr)
        return NO_AWS
    decided = plan(view, keep=args.keep, min_age=args.min_age)
    if args.function and not args.state_machine:
        decided.notes.append(
            "no --state-machine given: executions of state machines that call these functions are not "
            "seen; name them with --state-machine so their versions are kept"
        )
    if view.stack_status.endswith("_IN_PROGRESS"):
        decided.notes.append(f"stack {view.stack_name} is {view.stack_status}: prune again once it is done")
        if args.apply:
            print(
                f"sfn-exact-version: stack {view.stack_name} is {view.stack_status}; nothing deleted",
                file=sys.stderr,
            )
            return NO_AWS
    if not args.apply:
        if args.json:
            sys.stdout.write(json.dumps({**decided.to_dict(), "applied": False}, indent=2) + "\n")
        else:
            sys.stdout.write(_table(decided))
            print(
                f"Dry run: {len(decided.delete)} item(s) would be deleted; rerun with --apply to delete them."
            )
        return OK
    from sfn_exact_version.live.apply import apply

    outcome = apply(aws, decided.delete)
    if args.json:
        data = {
            **decided.to_dict(),
            "applied": True,
            "deleted": [item.to_dict() for item in outcome.deleted],
            "refused": [{**item.to_dict(), "error": why} for item, why in outcome.refused],
        }
        sys.stdout.write(json.dumps(data, indent=2) + "\n")
    else:
        sys.stdout.write(_table(Plan(keep=decided.keep, notes=decided.notes)))
        for item in outcome.deleted:
            print(f"deleted  {item.kind:<21}  {_name(item)}")
        for item, why in outcome.refused:
            print(f"refused  {item.kind:<21}  {_name(item)}: {why}")
        print(f"{len(outcome.deleted)} deleted, {len(outcome.refused)} refused.")
    return REFUSED if outcome.refused else OK
