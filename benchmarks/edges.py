"""The edges where a slip in complexity would show first, as ratios (never as limits in the tests).

The test suite proves what the macro and the account commands *do* on these inputs
(``tests/hardening/test_hostile.py``, ``tests/live/``); this script measures what they *cost*:

- a 900 kB string in a resource the macro never reads, a definition near 1 MB (as ``Fn::Sub`` and in
  SAM's ``Fn::Join`` form) and a template at CloudFormation's limits (500 resources and close to 1 MB
  out): the handler against a JSON round trip of the same fragment, as in ``run.py``. A regular
  expression that backtracks, or a walk per character, shows here as a ratio far above the others.
- ``prune`` and ``preflight`` on 300 and 2,400 executions: time at 8x the executions over time at 1x.
  Linear is about 8; a membership test on a list, once the cause of minutes at 10,000 executions, shows
  as a ratio near 64.

Usage: ``python benchmarks/edges.py`` (part of ``make bench``); ``--repeat N`` for fewer or more runs.
"""

from __future__ import annotations

import argparse
import functools
import json
import sys
from datetime import timedelta
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
for entry in (str(ROOT / "macro"), str(HERE), str(ROOT)):
    if entry not in sys.path:
        sys.path.insert(0, entry)

import generate  # noqa: E402  (benchmarks/generate.py)
from run import median_times, round_trip_json, silence_handler_log, table, verdict  # noqa: E402
from tests.support import big_states, function, limits_template, machine  # noqa: E402

# A ratio above these is a slip in complexity, not noise: the sized inputs of run.py sit at 2.5-4.5x.
GUARD_ROUND_TRIP = 10.0
GUARD_GROWTH = 16.0  # 8x the executions; linear is about 8

GETATT = {"Fn::GetAtt": ["Fn", "Arn"]}


def wide_string() -> dict[str, Any]:
    """A 900 kB string (450,000 two-byte characters) in a topic beside one call."""
    topic = {"Type": "AWS::SNS::Topic", "Properties": {"DisplayName": "é" * 450_000}}
    call = {"StartAt": "A", "States": {"A": {"Type": "Task", "Resource": GETATT, "End": True}}}
    return {"Resources": {"Fn": function(), "Topic": topic, "Sm": machine(call)}}


def big_definition(form: str) -> dict[str, Any]:
    """One definition of about 780 kB calling the function once, as ``Fn::Sub`` or SAM's form."""
    if form == "sub":
        properties: dict[str, Any] = {
            "DefinitionString": {"Fn::Sub": json.dumps(big_states(650, "${Fn.Arn}"))}
        }
    else:
        text = json.dumps(big_states(650, "${definition_substitution_1}"), indent=2)
        properties = {
            "DefinitionString": {"Fn::Join": ["\n", text.split("\n")]},
            "DefinitionSubstitutions": {"definition_substitution_1": GETATT},
        }
    return {"Resources": {"Fn": function(), "Sm": machine(**properties)}}


def measure_templates(repeat: int) -> list[dict[str, Any]]:
    from sfn_exact_version.handler import handler

    rows = []
    for name, template in (
        ("900 kB string beside one call", wide_string()),
        ("definition near 1 MB, Fn::Sub", big_definition("sub")),
        ("definition near 1 MB, SAM's Fn::Join", big_definition("sam")),
        ("at CloudFormation's limits (400 -> 500 resources)", limits_template(199)),
    ):
        event = generate.macro_event(template)
        response = handler(event, None)
        if response.get("status") != "success":
            raise SystemExit(f"{name}: the handler failed: {response.get('errorMessage')}")
        fragment = event["fragment"]
        medians = median_times(
            {
                "round_trip": functools.partial(round_trip_json, fragment),
                "handler": functools.partial(handler, event, None),
            },
            {"round_trip": repeat, "handler": repeat},
        )
        (_, round_trip_cpu), (_, handler_cpu) = medians["round_trip"], medians["handler"]
        utf8 = json.dumps(fragment, separators=(",", ":"), ensure_ascii=False).encode("utf-8")
        rows.append(
            {
                "input": name,
                "kB": len(utf8) / 1000,
                "ratio": handler_cpu / round_trip_cpu,
            }
        )
    return rows


def account(executions: int) -> Any:
    """Ten functions of 20 versions, one state machine with three revisions, ``executions`` running
    executions spread over the revisions (each revision calls every function at its own version)."""
    from tests.live.views import FN, ROLE, definition, execution, function, invoke, invoke_role, machine, view

    from sfn_exact_version.live.model import Definition

    revisions = {
        f"rev{r}": Definition(
            f"rev{r}",
            definition(*[invoke(f"{FN}f{i}:{r + 1}") for i in range(10)], invoke(FN + "f0")),
            ROLE + "sm-role",
        )
        for r in range(3)
    }
    role = invoke_role("sm-role", *[f"{FN}f{i}:*" for i in range(10)])
    return view(
        functions=[function(f"f{i}", 20) for i in range(10)],
        state_machines=[machine("approval", "rev2")],
        executions=[execution(f"e{n}", f"rev{n % 3}") for n in range(executions)],
        definitions=revisions,
        roles={role.arn: role},
    )


def measure_growth(repeat: int) -> list[dict[str, Any]]:
    from sfn_exact_version.decisions.preflight import check
    from sfn_exact_version.decisions.prune import plan

    small, large = account(300), account(2400)
    rows = []
    for name, decide in (
        ("prune, 2,400 / 300 executions", lambda view: plan(view, keep=2, min_age=timedelta(0))),
        ("preflight, 2,400 / 300 executions", lambda view: check(view, {"Resources": {}}, {})),
    ):
        medians = median_times(
            {"small": functools.partial(decide, small), "large": functools.partial(decide, large)},
            {"small": repeat, "large": repeat},
        )
        rows.append({"input": name, "ratio": medians["large"][1] / medians["small"][1]})
    return rows


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--repeat", type=int, default=9, help="timed runs of each (median of CPU times)")
    args = parser.parse_args(argv)
    silence_handler_log()
    templates = measure_templates(args.repeat)
    growth = measure_growth(args.repeat)
    lines = [
        [
            row["input"],
            f"{row['kB']:.0f} kB",
            f"{row['ratio']:.2f}x",
            f"<= {GUARD_ROUND_TRIP:.0f}x",
            verdict(row["ratio"] <= GUARD_ROUND_TRIP),
        ]
        for row in templates
    ]
    lines += [
        [
            row["input"],
            "",
            f"{row['ratio']:.1f}x",
            f"~8x (<= {GUARD_GROWTH:.0f}x)",
            verdict(row["ratio"] <= GUARD_GROWTH),
        ]
        for row in growth
    ]
    print("edges: handler / JSON round trip of the same fragment, and growth with executions (CPU time)")
    print(table(["input", "size", "measured", "guard", ""], lines))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
