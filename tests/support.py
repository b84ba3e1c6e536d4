"""Helpers the test suites share (the fixtures built on them are in ``tests/conftest.py``).

- where things are: the repository, the golden cases, the corpora of real templates (``../shared``);
- small builders of template pieces (a function, a state machine, a role that may invoke, states);
- the macro's input: the event CloudFormation sends, and the transform run with its invariants checked;
- what the handler logs.

Builders return fresh objects on every call, so a test may change what it gets.
"""

from __future__ import annotations

import contextlib
import copy
import csv
import io
import json
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest

if TYPE_CHECKING:
    from sfn_exact_version.transform import TransformResult

REPO = Path(__file__).resolve().parents[1]
GOLDEN_CASES = REPO / "tests" / "golden" / "cases"
SHARED = REPO.parent / "shared"
CORPUS = SHARED / "corpus"  # hand-written SAM and CloudFormation templates (MANIFEST.tsv)
CORPUS2 = SHARED / "corpus2"  # generated: CDK and Serverless Framework output (MANIFEST.tsv, pairs.json)

REGION = "eu-west-1"
ACCOUNT = "123456789012"
TRANSFORM_KWARGS: dict[str, Any] = {"region": REGION, "account_id": ACCOUNT}
OUTSIDE_ROLE = f"arn:aws:iam::{ACCOUNT}:role/outside"  # a role that is not in the template
LAMBDA_INVOKE = "arn:aws:states:::lambda:invoke"


# ------------------------------------------------------------------------------ paths
def corpus_or_skip(root: Path, marker: str = "MANIFEST.tsv") -> Path:
    """``root`` when that corpus is present (its ``marker`` file exists); otherwise the test is skipped."""
    if not (root / marker).is_file():
        pytest.skip(f"corpus not found at {root}")
    return root


def corpus_rows(root: Path = CORPUS) -> list[dict[str, str]]:
    """The rows of a corpus's ``MANIFEST.tsv`` (``path``, ``kind``, ``features``, ...), in order; empty when
    the corpus is absent (parametrized tests then get a placeholder and skip through the fixtures)."""
    manifest = root / "MANIFEST.tsv"
    if not manifest.is_file():
        return []
    with manifest.open(encoding="utf-8", newline="") as handle:
        return list(csv.DictReader(handle, delimiter="\t"))


def require_moto_or_skip() -> None:
    """Skip the module (at import) or the test unless moto is the version the offline simulation
    (``sim/``) needs."""
    from sim.bluegreen_sim import MotoVersionError, require_moto

    try:
        require_moto()
    except MotoVersionError as error:
        pytest.skip(str(error), allow_module_level=True)


def golden_input(case: str) -> Any:
    """The input template of golden case ``case`` (a fresh copy on every call)."""
    return json.loads((GOLDEN_CASES / case / "input.json").read_text(encoding="utf-8"))


# ------------------------------------------------------------------------------ template pieces
def getatt(resource: str, attribute: str = "Arn") -> dict[str, Any]:
    """``{"Fn::GetAtt": [resource, attribute]}``."""
    return {"Fn::GetAtt": [resource, attribute]}


def joined_arn(function: str) -> dict[str, Any]:
    """The ARN of the template's ``function`` as CDK writes it: ``Fn::Join`` on ``:`` of the partition,
    Region and account pseudo parameters and ``Ref`` of the function."""
    pieces = ["arn", {"Ref": "AWS::Partition"}, "lambda", {"Ref": "AWS::Region"}, {"Ref": "AWS::AccountId"}]
    return {"Fn::Join": [":", [*pieces, "function", {"Ref": function}]]}


def function(**properties: Any) -> dict[str, Any]:
    """An ``AWS::Lambda::Function`` with inline code and a role outside the template; ``properties``
    are added (or replace the defaults)."""
    return {
        "Type": "AWS::Lambda::Function",
        "Properties": {
            "Code": {"ZipFile": "def handler(event, context):\n    return event\n"},
            "Handler": "index.handler",
            "Runtime": "python3.12",
            "Role": OUTSIDE_ROLE,
            **properties,
        },
    }


def machine(definition: Any = None, **properties: Any) -> dict[str, Any]:
    """An ``AWS::StepFunctions::StateMachine`` whose role is outside the template (``RoleArn`` in
    ``properties`` replaces it), with ``definition`` as its ``Definition`` when given."""
    if definition is not None:
        properties["Definition"] = definition
    return {"Type": "AWS::StepFunctions::StateMachine", "Properties": {"RoleArn": OUTSIDE_ROLE, **properties}}


def states(**named: Any) -> dict[str, Any]:
    """A definition running the states in the order given (``Next`` to the following one, ``End`` last)."""
    names = list(named)
    out = {}
    for position, name in enumerate(names):
        state = dict(named[name])
        if position + 1 < len(names):
            state["Next"] = names[position + 1]
        else:
            state["End"] = True
        out[name] = state
    return {"StartAt": names[0], "States": out}


def legacy(resource: Any) -> dict[str, Any]:
    """A Task calling ``resource`` in the legacy form (the function's ARN as ``Resource``)."""
    return {"Type": "Task", "Resource": resource}


def invoke(function_name: Any) -> dict[str, Any]:
    """A Task calling ``lambda:invoke`` with ``Parameters.FunctionName``."""
    return {"Type": "Task", "Resource": LAMBDA_INVOKE, "Parameters": {"FunctionName": function_name}}


def statement(
    resource: Any, effect: str = "Allow", action: Any = "lambda:InvokeFunction", **extra: Any
) -> Any:
    """One IAM statement (``extra``: ``Condition``, say)."""
    return {"Effect": effect, "Action": action, "Resource": resource, **extra}


def role(*statements: Mapping[str, Any], **properties: Any) -> dict[str, Any]:
    """An ``AWS::IAM::Role`` Step Functions may assume, with ``statements`` as one inline policy."""
    body: dict[str, Any] = {
        "AssumeRolePolicyDocument": {
            "Version": "2012-10-17",
            "Statement": [
                {
                    "Effect": "Allow",
                    "Principal": {"Service": "states.amazonaws.com"},
                    "Action": "sts:AssumeRole",
                }
            ],
        },
        **properties,
    }
    if statements:
        body["Policies"] = [
            {
                "PolicyName": "invoke",
                "PolicyDocument": {"Version": "2012-10-17", "Statement": list(statements)},
            }
        ]
    return {"Type": "AWS::IAM::Role", "Properties": body}


# ------------------------------------------------------------------------------ the macro's input
def big_states(count: int, call: str) -> dict[str, Any]:
    """A definition of ``count`` Pass states of 200 non-ASCII characters each, then one Task calling
    ``call``: about 1.2 kB of JSON per state."""
    states: dict[str, Any] = {
        f"Step{i}": {"Type": "Pass", "Comment": "ü" * 200, "Next": f"Step{i + 1}"} for i in range(count)
    }
    states[f"Step{count}"] = {"Type": "Task", "Resource": call, "End": True}
    return {"StartAt": "Step0", "States": states}


def limits_template(topics: int, padding: int = 0) -> dict[str, Any]:
    """100 functions, 100 state machines calling two each, one role allowing all of them, ``topics``
    other resources (the last one carrying ``padding`` more characters)."""
    resources: dict[str, Any] = {}
    for i in range(100):
        resources[f"Fn{i}"] = function()
        resources[f"Fn{i}"]["Properties"]["Environment"] = {"Variables": {"PAD": "d" * 3000}}
    role_arn = {"Fn::GetAtt": ["Role", "Arn"]}
    for i in range(100):
        definition = {
            "StartAt": "A",
            "Comment": "c" * 3000,
            "States": {
                "A": {"Type": "Task", "Resource": {"Fn::GetAtt": [f"Fn{i}", "Arn"]}, "Next": "B"},
                "B": {
                    "Type": "Task",
                    "Resource": "arn:aws:states:::lambda:invoke",
                    "Parameters": {"FunctionName": {"Ref": f"Fn{(i + 1) % 100}"}},
                    "End": True,
                },
            },
        }
        resources[f"Sm{i}"] = {
            "Type": "AWS::StepFunctions::StateMachine",
            "Properties": {"RoleArn": role_arn, "Definition": definition},
        }
    for i in range(topics):
        name = "t" * (1000 + (padding if i == topics - 1 else 0))
        resources[f"Topic{i}"] = {"Type": "AWS::SNS::Topic", "Properties": {"DisplayName": name}}
    allow = {
        "Effect": "Allow",
        "Action": "lambda:InvokeFunction",
        "Resource": [{"Fn::GetAtt": [f"Fn{i}", "Arn"]} for i in range(100)],
    }
    resources["Role"] = {
        "Type": "AWS::IAM::Role",
        "Properties": {
            "AssumeRolePolicyDocument": {},
            "Policies": [{"PolicyName": "p", "PolicyDocument": {"Statement": [allow]}}],
        },
    }
    return {"Resources": resources}


def macro_event(
    fragment: Any,
    parameter_values: Mapping[str, Any] | None = None,
    request_id: str = "req-1",
    **extra: Any,
) -> dict[str, Any]:
    """The event CloudFormation sends the macro for a template-level transform (``extra`` replaces
    fields)."""
    return {
        "region": REGION,
        "accountId": ACCOUNT,
        "fragment": fragment,
        "transformId": f"{ACCOUNT}::SfnExactVersion",
        "params": {},
        "requestId": request_id,
        "templateParameterValues": dict(parameter_values or {}),
        **extra,
    }


def transformed(template: dict[str, Any], **kwargs: Any) -> TransformResult:
    """``transform(template)`` (Region and account of :data:`TRANSFORM_KWARGS` unless given), with the
    input checked unchanged and the invariants of ``tests/invariants.py`` checked on the result."""
    from invariants import check_invariants
    from sfn_exact_version.transform import transform

    merged = {**TRANSFORM_KWARGS, **kwargs}
    pristine = copy.deepcopy(template)
    result = transform(template, **merged)
    assert template == pristine, "transform mutated its input"
    check_invariants(template, result.template, transform_kwargs=merged)
    return result


@contextlib.contextmanager
def captured_logs() -> Iterator[io.StringIO]:
    """Everything the handler's powertools logger writes while the block runs."""
    from sfn_exact_version import handler as handler_module

    stream = io.StringIO()
    log_handler = handler_module.logger.registered_handler
    previous = log_handler.setStream(stream)  # type: ignore[attr-defined]
    try:
        yield stream
    finally:
        log_handler.setStream(previous)  # type: ignore[attr-defined]
