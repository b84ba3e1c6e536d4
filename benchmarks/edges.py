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

# A ratio above these is a slip in complexity, not noise: the sized inputs of run.py sit at 1.5-3x.
GUARD_ROUND_TRIP = 10.0
GUARD_GROWTH = 16.0  # 8x the executions; linear is about 8

FUNCTION = {
    "Type": "AWS::Lambda::Function",
    "Properties": {
        "Runtime": "python3.13",
        "Handler": "index.handler",
        "Role": "arn:aws:iam::123456789012:role/fn",
        "Code": {"ZipFile": "def handler(event, context):\n    return event\n"},
    },
}
ROLE_ARN = "arn:aws:iam::123456789012:role/sm"


def _machine(**properties: Any) -> dict[str, Any]:
    return {"Type": "AWS::StepFunctions::StateMachine", "Properties": {"RoleArn": ROLE_ARN, **properties}}


def _states(passes: int, call: str) -> dict[str, Any]:
    """``passes`` Pass states of 200 non-ASCII characters each, then one Task calling ``call``."""
    states: dict[str, Any] = {
        f"Step{i}": {"Type": "Pass", "Comment": "ü" * 200, "Next": f"Step{i + 1}"} for i in range(passes)
    }
    states[f"Step{passes}"] = {"Type": "Task", "Resource": call, "End": True}
    return {"StartAt": "Step0", "States": states}


def wide_string() -> dict[str, Any]:
    """A 900 kB string (450,000 two-byte characters) in a topic beside one call."""
    topic = {"Type": "AWS::SNS::Topic", "Properties": {"DisplayName": "é" * 450_000}}
    call = {
        "StartAt": "A",
        "States": {"A": {"Type": "Task", "Resource": {"Fn::GetAtt": ["Fn", "Arn"]}, "End": True}},
    }
    return {"Resources": {"Fn": FUNCTION, "Topic": topic, "Sm": _machine(Definition=call)}}


def big_definition(form: str) -> dict[str, Any]:
    """One definition of about 780 kB calling the function once, as ``Fn::Sub`` or SAM's form."""
    if form == "sub":
        properties: dict[str, Any] = {"DefinitionString": {"Fn::Sub": json.dumps(_states(650, "${Fn.Arn}"))}}
    else:
        text = json.dumps(_states(650, "${definition_substitution_1}"), indent=2)
        properties = {
            "DefinitionString": {"Fn::Join": ["\n", text.split("\n")]},
            "DefinitionSubstitutions": {"definition_substitution_1": {"Fn::GetAtt": ["Fn", "Arn"]}},
        }
    return {"Resources": {"Fn": FUNCTION, "Sm": _machine(**properties)}}


def at_limits() -> dict[str, Any]:
    """100 functions, 100 state machines calling two each, one role allowing all of them, 199 topics:
    400 resources in, 500 out (a version per function), close to 1 MB."""
    resources: dict[str, Any] = {}
    for i in range(100):
        resources[f"Fn{i}"] = {
            **FUNCTION,
            "Properties": {**FUNCTION["Properties"], "Environment": {"Variables": {"PAD": "d" * 3000}}},
        }
        states = {
            "A": {"Type": "Task", "Resource": {"Fn::GetAtt": [f"Fn{i}", "Arn"]}, "Next": "B"},
            "B": {
                "Type": "Task",
                "Resource": "arn:aws:states:::lambda:invoke",
                "Parameters": {"FunctionName": {"Ref": f"Fn{(i + 1) % 100}"}},
                "End": True,
            },
        }
        definition = {"StartAt": "A", "Comment": "c" * 3000, "States": states}
        resources[f"Sm{i}"] = _machine(Definition=definition, RoleArn={"Fn::GetAtt": ["Role", "Arn"]})
    for i in range(199):
        resources[f"Topic{i}"] = {"Type": "AWS::SNS::Topic", "Properties": {"DisplayName": "t" * 1000}}
    allow = {
        "Effect": "Allow",
        "Action": "lambda:InvokeFunction",
        "Resource": [{"Fn::GetAtt": [f"Fn{i}", "Arn"]} for i in range(100)],
    }
    resources["Role"] = {
        "Type": "AWS::IAM::Role",
        "Properties": {
            "AssumeRolePolicyDocument": {},
            "Policies": [{"PolicyName": "invoke", "PolicyDocument": {"Statement": [allow]}}],
        },
    }
    return {"Resources": resources}


def measure_templates(repeat: int) -> list[dict[str, Any]]:
    from sfn_exact_version.handler import handler

    rows = []
    for name, template in (
        ("900 kB string beside one call", wide_string()),
        ("definition near 1 MB, Fn::Sub", big_definition("sub")),
        ("definition near 1 MB, SAM's Fn::Join", big_definition("sam")),
        ("at CloudFormation's limits (400 -> 500 resources)", at_limits()),
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
