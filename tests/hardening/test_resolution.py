"""Calls the macro cannot pin are reported with their true reason, or fail naming what to do: other
stacks' functions, Fn::If, names several functions share, dependency cycles, long logical IDs. The
golden cases show one template of each class; these tests try its neighbours."""

from __future__ import annotations

from typing import Any

import pytest
from hardening_support import TRANSFORM_KWARGS

import support
from sfn_exact_version.errors import TransformError
from sfn_exact_version.transform import transform
from sfn_exact_version.versions import Fingerprint, created_version_id
from support import LAMBDA_INVOKE as INVOKE
from support import function, legacy, machine, states, transformed

NESTED = {"Type": "AWS::CloudFormation::Stack", "Properties": {"TemplateURL": "https://b.s3.amazonaws.com/t"}}


def invoke(name: Any) -> dict[str, Any]:
    state = support.invoke(name)
    state["Parameters"]["Payload.$"] = "$"
    return state


def run(resources: dict[str, Any], **top: Any) -> dict[str, Any]:
    return transformed({**top, "Resources": resources}).template


def report(output: dict[str, Any]) -> dict[str, Any]:
    return output["Metadata"]["SfnExactVersion"]  # type: ignore[no-any-return]


def error(resources: dict[str, Any], **top: Any) -> str:
    with pytest.raises(TransformError) as caught:
        transform({**top, "Resources": resources}, **TRANSFORM_KWARGS)
    return caught.value.message


# ------------------------------------------------------------------------------ other stacks
OTHER_STACKS = {
    "nested-getatt": {"Fn::GetAtt": ["Nested", "Outputs.HelloArn"]},
    "nested-getatt-string": {"Fn::GetAtt": "Nested.Outputs.HelloArn"},
    "nested-sub": {"Fn::Sub": "${Nested.Outputs.HelloArn}"},
    "nested-name-in-arn": {
        "Fn::Sub": "arn:${AWS::Partition}:lambda:${AWS::Region}:${AWS::AccountId}:function:"
        "${Nested.Outputs.Name}"
    },
    "import": {"Fn::ImportValue": "hello-arn"},
    "import-in-join": {"Fn::Join": ["", [{"Fn::ImportValue": "hello-arn"}]]},
    "stack-output": {
        "Fn::GetStackOutput": {
            "StackName": "producer",
            "Region": {"Ref": "AWS::Region"},
            "OutputName": "HelloArn",
        }
    },
}


@pytest.mark.parametrize("form", sorted(OTHER_STACKS))
@pytest.mark.parametrize("call", ["legacy", "invoke"])
def test_another_stacks_function_is_external_with_advice(form: str, call: str) -> None:
    target = OTHER_STACKS[form]
    state = legacy(target) if call == "legacy" else invoke(target)
    output = run({"Nested": NESTED, "Sm": machine(states(A=state))})
    (item,) = report(output)["LeftAlone"]
    assert item["Reason"] == "external", item
    assert "add SfnExactVersion to the transforms of the stack that defines the function" in item["Detail"]
    assert report(output)["Pinned"] == []


def test_another_stacks_output_in_a_definition_string_is_external() -> None:
    text = (
        '{"StartAt": "A", "States": {"A": {"Type": "Task", "Resource": "${Nested.Outputs.HelloArn}", '
        '"End": true}}}'
    )
    output = run({"Nested": NESTED, "Sm": machine(DefinitionString={"Fn::Sub": text})})
    assert [item["Reason"] for item in report(output)["LeftAlone"]] == ["external"]


def test_a_nested_stacks_other_attributes_are_not_calls_in_a_legacy_resource() -> None:
    """Only an output can be a function ARN; a legacy Resource reading anything else is not a call."""
    output = run({"Nested": NESTED, "Sm": machine(states(A=legacy({"Ref": "Nested"})))})
    assert report(output)["LeftAlone"] == []


# ------------------------------------------------------------------------------------- Fn::If
IS_PROD = {"IsProd": {"Fn::Equals": [{"Ref": "AWS::Region"}, "eu-west-1"]}}
GETATT = {"Fn::GetAtt": ["Fn", "Arn"]}


@pytest.mark.parametrize(
    "shape",
    ["state", "states-object", "resource", "function-name", "parameters", "branch", "item-processor"],
)
def test_fn_if_in_a_definition_object_is_pinned_on_each_side(shape: str) -> None:
    task = legacy(GETATT)
    if shape == "state":
        sides = [{**task, "End": True}, {"Type": "Pass", "End": True}]
        definition = {"StartAt": "A", "States": {"A": {"Fn::If": ["IsProd", *sides]}}}
    elif shape == "states-object":
        definition = {
            "StartAt": "A",
            "States": {
                "Fn::If": ["IsProd", {"A": {**task, "End": True}}, {"A": {"Type": "Pass", "End": True}}]
            },
        }
    elif shape == "resource":
        definition = states(A=legacy({"Fn::If": ["IsProd", GETATT, "arn:aws:states:::sns:publish"]}))
    elif shape == "function-name":
        definition = states(A=invoke({"Fn::If": ["IsProd", GETATT, {"Ref": "AWS::NoValue"}]}))
    elif shape == "parameters":
        arguments = {"FunctionName": GETATT, "Payload.$": "$"}
        definition = states(
            A={"Type": "Task", "Resource": INVOKE, "Parameters": {"Fn::If": ["IsProd", arguments, {}]}}
        )
    elif shape == "branch":
        branch = states(B=task)
        definition = states(
            P={"Type": "Parallel", "Branches": [{"Fn::If": ["IsProd", branch, states(B={"Type": "Pass"})]}]}
        )
    else:
        definition = states(
            M={
                "Type": "Map",
                "ItemProcessor": {"Fn::If": ["IsProd", states(B=task), {"Ref": "AWS::NoValue"}]},
            }
        )
    output = run({"Fn": function(), "Sm": machine(definition)}, Conditions=IS_PROD)
    (pinned,) = report(output)["Pinned"]
    assert "(Fn::If IsProd: true)" in pinned["State"]
    assert pinned["Function"] == "Fn"
    assert report(output)["LeftAlone"] == []
    assert GETATT not in _values(output["Resources"]["Sm"]["Properties"]["Definition"])


def _values(value: Any) -> list[Any]:
    found = [value]
    if isinstance(value, dict):
        for item in value.values():
            found.extend(_values(item))
    elif isinstance(value, list):
        for item in value:
            found.extend(_values(item))
    return found


def test_fn_if_inside_a_definition_string_is_reported_not_pinned() -> None:
    """A definition string's placeholder whose value is Fn::If: the text cannot carry two versions."""
    text = '{"StartAt": "A", "States": {"A": {"Type": "Task", "Resource": "${Target}", "End": true}}}'
    value = {"Fn::If": ["IsProd", GETATT, "arn:aws:lambda:eu-west-1:123456789012:function:other"]}
    output = run(
        {"Fn": function(), "Sm": machine(DefinitionString={"Fn::Sub": [text, {"Target": value}]})},
        Conditions=IS_PROD,
    )
    assert [item["Reason"] for item in report(output)["LeftAlone"]] == ["unsupported"]


# ------------------------------------------------------------------------------ shared names
SHARED = {
    "A": {**function(FunctionName="worker"), "Condition": "IsProd"},
    "B": {**function(FunctionName="worker"), "Condition": "IsOther"},
}
CONDITIONS = {**IS_PROD, "IsOther": {"Fn::Not": [{"Condition": "IsProd"}]}}


@pytest.mark.parametrize(
    "target",
    [
        "worker",
        "123456789012:function:worker",
        "arn:aws:lambda:eu-west-1:123456789012:function:worker",
        {"Fn::Sub": "arn:${AWS::Partition}:lambda:${AWS::Region}:${AWS::AccountId}:function:worker"},
    ],
)
def test_a_name_two_functions_share_fails_naming_both(target: Any) -> None:
    message = error({**SHARED, "Sm": machine(states(W=invoke(target)))}, Conditions=CONDITIONS)
    assert "Resources/Sm: States.W calls" in message
    assert "A and B all set FunctionName worker" in message


def test_a_name_two_functions_share_fails_in_an_s3_substitution_too() -> None:
    sm = machine(
        DefinitionS3Location={"Bucket": "b", "Key": "k"}, DefinitionSubstitutions={"Worker": "worker"}
    )
    message = error({**SHARED, "Sm": sm}, Conditions=CONDITIONS)
    assert "(DefinitionS3Location) ${Worker} calls worker" in message


def test_a_shared_name_called_with_a_version_number_is_left_alone_as_qualified() -> None:
    output = run({**SHARED, "Sm": machine(states(W=invoke("worker:3")))}, Conditions=CONDITIONS)
    assert [item["Reason"] for item in report(output)["LeftAlone"]] == ["qualified"]


def test_shared_functions_called_by_logical_id_are_pinned() -> None:
    definition = states(W=invoke({"Fn::If": ["IsProd", {"Ref": "A"}, {"Ref": "B"}]}))
    output = run({**SHARED, "Sm": machine(definition)}, Conditions=CONDITIONS)
    pinned = {item["Function"]: item["Version"] for item in report(output)["Pinned"]}
    assert set(pinned) == {"A", "B"}
    assert output["Resources"][pinned["A"]]["Condition"] == "IsProd"
    assert output["Resources"][pinned["B"]]["Condition"] == "IsOther"


# ------------------------------------------------------------------------------------ cycles
CYCLE_LINKS = {
    "environment-ref": lambda: {"Environment": {"Variables": {"NEXT": {"Ref": "Sm"}}}},
    "environment-getatt": lambda: {"Environment": {"Variables": {"NEXT": {"Fn::GetAtt": ["Sm", "Name"]}}}},
    "environment-sub": lambda: {"Environment": {"Variables": {"NEXT": {"Fn::Sub": "run ${Sm.Name}"}}}},
}


@pytest.mark.parametrize("link", sorted(CYCLE_LINKS))
@pytest.mark.parametrize("existing_version", [False, True])
def test_a_pin_that_closes_a_cycle_fails_naming_it(link: str, existing_version: bool) -> None:
    resources = {
        "Fn": function(FunctionName="starter", **CYCLE_LINKS[link]()),
        "Sm": machine(states(A=invoke("starter"))),
    }
    if existing_version:
        resources["FnVersion"] = {
            "Type": "AWS::Lambda::Version",
            "Properties": {"FunctionName": {"Ref": "Fn"}},
        }
    message = error(resources)
    # an existing version's ID and a created one's both start with FnVersion
    assert "makes a dependency cycle, which CloudFormation refuses: Sm -> FnVersion" in message
    assert "-> Fn -> Sm." in message
    assert "Metadata.SfnExactVersion.Pin: false on Fn" in message


def test_a_cycle_through_depends_on_and_a_third_resource_fails() -> None:
    queue = {"Type": "AWS::SQS::Queue", "Properties": {"QueueName": {"Fn::GetAtt": ["Sm", "Name"]}}}
    resources = {
        "Queue": queue,
        "Fn": {**function(FunctionName="starter"), "DependsOn": "Queue"},
        "Sm": machine(states(A=invoke("starter"))),
    }
    assert "-> Fn -> Queue -> Sm." in error(resources)


def test_every_way_back_to_the_state_machine_is_named_at_once() -> None:
    """The function reads the state machine's name, and so does a queue it depends on: both cycles in one
    error, so that fixing the first does not reveal the second on the next deploy."""
    queue = {"Type": "AWS::SQS::Queue", "Properties": {"QueueName": {"Fn::GetAtt": ["Sm", "Name"]}}}
    fn = function(FunctionName="starter", Environment={"Variables": {"NEXT": {"Ref": "Sm"}}})
    resources = {
        "Queue": queue,
        "Fn": {**fn, "DependsOn": "Queue"},
        "Sm": machine(states(A=invoke("starter"))),
    }
    message = error(resources)
    assert "makes 2 dependency cycles, which CloudFormation refuses: Sm -> FnVersion" in message
    assert "-> Fn -> Sm; Sm -> FnVersion" in message and "-> Fn -> Queue -> Sm." in message
    assert "Break each where it reaches Sm (from Fn, Queue): give Sm a StateMachineName" in message


def test_a_sam_state_machine_is_told_to_set_name() -> None:
    fn = function(FunctionName="starter", Environment={"Variables": {"NEXT": {"Ref": "Sm"}}})
    sm = machine(states(A=invoke("starter")), Tags=[{"Key": "stateMachine:createdBy", "Value": "SAM"}])
    message = error({"Fn": fn, "Sm": sm})
    assert "give Sm a Name (SAM's AWS::Serverless::StateMachine property)" in message
    assert "StateMachineName" not in message


def test_no_cycle_when_the_function_reaches_the_state_machine_by_name() -> None:
    arn = {"Fn::Sub": "arn:${AWS::Partition}:states:${AWS::Region}:${AWS::AccountId}:stateMachine:flow"}
    resources = {
        "Fn": function(FunctionName="starter", Environment={"Variables": {"NEXT": arn}}),
        "Sm": machine(states(A=invoke("starter")), StateMachineName="flow"),
    }
    assert len(report(run(resources))["Pinned"]) == 1


def test_an_opted_out_function_on_a_cycle_is_left_alone() -> None:
    fn = function(FunctionName="starter", Environment={"Variables": {"NEXT": {"Ref": "Sm"}}})
    fn["Metadata"] = {"SfnExactVersion": {"Pin": False}}
    output = run({"Fn": fn, "Sm": machine(states(A=invoke("starter")))})
    assert [item["Reason"] for item in report(output)["LeftAlone"]] == ["opted-out"]


# -------------------------------------------------------------------------------- long IDs
def test_created_version_ids_stay_within_255_characters_and_distinct() -> None:
    print_ = Fingerprint("ab" * 32, ())
    short = created_version_id("Hello", print_)
    assert short == "HelloVersionabababababab"
    long_ids = [("X" * 250) + suffix for suffix in ("A", "B")]
    created = [created_version_id(logical_id, print_) for logical_id in long_ids]
    assert all(len(item) == 255 for item in created)
    assert created[0] != created[1]
    assert created == [created_version_id(logical_id, print_) for logical_id in long_ids]  # deterministic
    exactly = "Y" * (255 - len("Version") - 12)
    assert created_version_id(exactly, print_) == exactly + "Version" + "ab" * 6  # 255: not cut


def test_long_function_ids_get_distinct_versions_and_a_second_run_keeps_them() -> None:
    first, second = "F" * 245 + "One", "F" * 245 + "Two"
    resources = {
        first: function(),
        second: function(),
        "Sm": machine(
            states(A=legacy({"Fn::GetAtt": [first, "Arn"]}), B=legacy({"Fn::GetAtt": [second, "Arn"]}))
        ),
    }
    output = run(resources)
    versions = {item["Function"]: item["Version"] for item in report(output)["Pinned"]}
    assert versions[first] != versions[second]
    assert all(len(version) <= 255 for version in versions.values())
    assert output["Resources"][versions[first]]["Properties"]["FunctionName"] == {"Ref": first}


def test_fn_if_in_an_s3_definitions_substitution_is_pinned_on_each_side() -> None:
    value = {"Fn::If": ["IsProd", GETATT, {"Fn::GetAtt": ["Other", "Arn"]}]}
    sm = machine(DefinitionS3Location={"Bucket": "b", "Key": "k"}, DefinitionSubstitutions={"Target": value})
    output = run({"Fn": function(), "Other": function(), "Sm": sm}, Conditions=IS_PROD)
    pinned = {item["State"]: item["Function"] for item in report(output)["Pinned"]}
    assert pinned == {
        "(DefinitionS3Location) ${!Target} (Fn::If IsProd: true)": "Fn",
        "(DefinitionS3Location) ${!Target} (Fn::If IsProd: false)": "Other",
    }
    after = output["Resources"]["Sm"]["Properties"]["DefinitionSubstitutions"]["Target"]["Fn::If"]
    assert after[0] == "IsProd" and all(set(side) == {"Ref"} for side in after[1:])


# ------------------------------------------------------------------------------ problems as data
def test_every_problem_is_data_with_its_path_reason_and_fix() -> None:
    from sfn_exact_version.errors import ProblemReason

    resources = {
        **SHARED,
        "Sm": machine(states(W=invoke("worker"))),
        "Broken": machine(DefinitionString="{not json"),
        "Starter": function(FunctionName="starter", Environment={"Variables": {"NEXT": {"Ref": "Loop"}}}),
        "Loop": machine(states(A=invoke("starter"))),
    }
    with pytest.raises(TransformError) as caught:
        transform({"Conditions": CONDITIONS, "Resources": resources}, **TRANSFORM_KWARGS)
    problems = caught.value.problems
    by_reason = {problem.reason: problem for problem in problems}
    assert set(by_reason) == {
        ProblemReason.SHARED_NAME,
        ProblemReason.DEFINITION,
        ProblemReason.DEPENDENCY_CYCLE,
    }
    assert caught.value.message == " ".join(problem.message for problem in problems)
    for problem in problems:
        assert problem.message.startswith(problem.path + ": ")
        assert problem.fix and problem.message.endswith(problem.fix)
    assert by_reason[ProblemReason.DEFINITION].path == "Resources/Broken/Properties/DefinitionString"
    assert by_reason[ProblemReason.DEFINITION].resource == "Broken"
    assert by_reason[ProblemReason.DEPENDENCY_CYCLE].resource == "Loop"
    assert by_reason[ProblemReason.SHARED_NAME].to_dict()["Reason"] == "shared-name"


def test_template_level_problems_have_no_resource() -> None:
    from sfn_exact_version.errors import ProblemReason

    with pytest.raises(TransformError) as caught:
        transform([], **TRANSFORM_KWARGS)
    (problem,) = caught.value.problems
    assert (problem.reason, problem.path, problem.resource) == (ProblemReason.TEMPLATE, "", None)
    assert (
        problem.message
        == caught.value.message
        == "SfnExactVersion: the template must be a JSON object, got array."
    )


def test_a_message_only_error_still_carries_one_problem() -> None:
    from sfn_exact_version.errors import ProblemReason

    error = TransformError("Resources/X: something")
    assert error.message == "Resources/X: something"
    assert [problem.reason for problem in error.problems] == [ProblemReason.OTHER]


def test_report_reasons_are_a_str_enum_written_as_plain_strings() -> None:
    import json

    from sfn_exact_version.report import EXTERNAL, Reason

    assert EXTERNAL is Reason.EXTERNAL and EXTERNAL == "external"
    output = run({"Nested": NESTED, "Sm": machine(states(A=legacy(OTHER_STACKS["import"])))})
    (item,) = report(output)["LeftAlone"]
    assert type(item["Reason"]) is str
    assert '"Reason": "external"' in json.dumps(item)
