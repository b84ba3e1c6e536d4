"""A Task whose ``Type`` is itself a ``DefinitionSubstitutions`` placeholder is still a call.

SAM's own translator test ``state_machine_with_definition_substitutions`` writes ``Type: ${my_state_var_2}``
with ``my_state_var_2: Task``; the call in that state used to be missed (left unpinned, unreported).
"""

from __future__ import annotations

import json
from typing import Any

import pytest

from sfn_exact_version.transform import transform

FUNCTION = {
    "Type": "AWS::Lambda::Function",
    "Properties": {
        "Handler": "app.handler",
        "Runtime": "python3.13",
        "Role": "arn:aws:iam::123456789012:role/fn",
        "Code": {"ZipFile": "def handler(event, context):\n    return 'ok'\n"},
    },
}
STATES = {
    "Hello": {"Type": "${pass_type}", "Result": "Hello", "Next": "World"},
    "World": {"Type": "${task_type}", "Resource": "${fn_arn}", "End": True},
}
SUBSTITUTIONS = {"pass_type": "Pass", "task_type": "Task", "fn_arn": {"Fn::GetAtt": ["Fn", "Arn"]}}


def _template(definition: dict[str, Any]) -> dict[str, Any]:
    machine = {
        "Type": "AWS::StepFunctions::StateMachine",
        "Properties": {
            "RoleArn": "arn:aws:iam::123456789012:role/sm",
            **definition,
            "DefinitionSubstitutions": SUBSTITUTIONS,
        },
    }
    return {"Resources": {"Fn": FUNCTION, "Sm": machine}}


@pytest.mark.parametrize(
    "definition",
    [
        {"Definition": {"StartAt": "Hello", "States": STATES}},
        {"DefinitionString": json.dumps({"StartAt": "Hello", "States": STATES})},
        {
            "DefinitionString": {
                "Fn::Join": ["\n", json.dumps({"StartAt": "Hello", "States": STATES}, indent=2).splitlines()]
            }
        },
    ],
    ids=["Definition", "DefinitionString", "Fn::Join"],
)
def test_task_type_from_a_substitution_is_pinned(definition: dict[str, Any]) -> None:
    result = transform(_template(definition), region="eu-west-1", account_id="123456789012")
    pinned = [(call.state, call.function) for call in result.report.pinned]
    assert pinned == [("States.World", "Fn")]
    (version,) = [v.version for v in result.report.versions]
    assert result.template["Resources"]["Sm"]["Properties"]["DefinitionSubstitutions"]["fn_arn"] == {
        "Ref": version
    }


def test_other_substituted_types_are_not_calls() -> None:
    states = {"Hello": {"Type": "${pass_type}", "Resource": "${fn_arn}", "End": True}}
    result = transform(_template({"Definition": {"StartAt": "Hello", "States": states}}))
    assert result.report.pinned == [] and result.report.left_alone == []
