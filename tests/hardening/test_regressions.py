"""Bugs the property tests found, each pinned down by the smallest template that showed it."""

from __future__ import annotations

from typing import Any

import pytest

from support import function, joined_arn, machine, transformed


def task(resource: Any) -> dict[str, Any]:
    return {"StartAt": "A", "States": {"A": {"Type": "Task", "Resource": resource, "End": True}}}


def run(template: dict[str, Any]) -> dict[str, Any]:
    return transformed(template).template


def test_a_second_run_reports_warnings_in_the_same_order() -> None:
    """The NoEcho warning was emitted before the role warning when the version was created, after it
    when the same version was adopted on a second run: the output's report changed on re-transform."""
    template = {
        "Parameters": {"Secret": {"Type": "String", "NoEcho": True}},
        "Resources": {
            "Fn": function(Environment={"Variables": {"SECRET": {"Ref": "Secret"}}}),
            "Sm": machine(Definition=task({"Fn::GetAtt": ["Fn", "Arn"]})),
        },
    }
    output = run(template)
    assert len(output["Metadata"]["SfnExactVersion"]["Warnings"]) == 2


@pytest.mark.parametrize(
    "versions",
    [
        pytest.param({"V1": {"Ref": "Fn"}, "V2": {"Ref": "Fn"}}, id="function-with-two-versions"),
        pytest.param({"V1": "a-function-elsewhere"}, id="function-outside-the-template"),
    ],
)
@pytest.mark.parametrize("form", ["Definition", "DefinitionS3Location"])
def test_a_version_a_call_names_directly_is_retained(versions: dict[str, Any], form: str) -> None:
    """``Ref V1`` was reported, yet V1 kept no Retain when its function had several versions (or was
    not in the template): removing V1 later would delete a version running executions call."""
    resources: dict[str, Any] = {"Fn": function()}
    for logical_id, name in versions.items():
        resources[logical_id] = {"Type": "AWS::Lambda::Version", "Properties": {"FunctionName": name}}
    if form == "Definition":
        resources["Sm"] = machine(Definition=task({"Ref": "V1"}))
    else:
        resources["Sm"] = machine(
            DefinitionS3Location={"Bucket": "definitions", "Key": "sm.json"},
            DefinitionSubstitutions={"Target": {"Ref": "V1"}},
        )
    output = run({"Resources": resources})
    assert output["Resources"]["V1"]["DeletionPolicy"] == "Retain"
    assert output["Resources"]["V1"]["UpdateReplacePolicy"] == "Retain"
    if "V2" in versions:
        assert "DeletionPolicy" not in output["Resources"]["V2"]  # not called: left as it was


@pytest.mark.parametrize("delimiter", ["", ":"])
def test_a_call_written_as_one_nested_join_element_is_pinned(delimiter: str) -> None:
    """An ARN joined from pseudo parameters and ``Ref Fn`` as one element of a ``Fn::Join`` definition
    was reported 'unsupported: assembled from several pieces'; the element is the whole call target."""
    if delimiter:
        arn: Any = joined_arn("Fn")
    else:
        arn = {
            "Fn::Join": [
                "",
                [
                    "arn:",
                    {"Ref": "AWS::Partition"},
                    ":lambda:",
                    {"Ref": "AWS::Region"},
                    ":",
                    {"Ref": "AWS::AccountId"},
                    ":function:",
                    {"Ref": "Fn"},
                ],
            ]
        }
    definition = {
        "Fn::Join": [
            "",
            ['{"StartAt": "A", "States": {"A": {"Type": "Task", "Resource": "', arn, '", "End": true}}}'],
        ]
    }
    output = run({"Resources": {"Fn": function(), "Sm": machine(DefinitionString=definition)}})
    report = output["Metadata"]["SfnExactVersion"]
    assert [item["Function"] for item in report["Pinned"]] == ["Fn"]
    items = output["Resources"]["Sm"]["Properties"]["DefinitionString"]["Fn::Join"][1]
    assert items[0] == definition["Fn::Join"][1][0] and items[2] == definition["Fn::Join"][1][2]
    assert items[1] == {"Ref": report["Pinned"][0]["Version"]}


def test_a_version_named_in_state_data_for_a_dynamic_call_is_retained() -> None:
    """A Pass state puts ``Ref V`` into the execution's data and a later Task calls ``FunctionName.$``: V
    is called at run time although no call names it, so it must outlive its removal from the template.
    It kept no Retain."""
    definition = {
        "StartAt": "Choose",
        "States": {
            "Choose": {"Type": "Pass", "Parameters": {"function": {"Ref": "V"}}, "Next": "Call"},
            "Call": {
                "Type": "Task",
                "Resource": "arn:aws:states:::lambda:invoke",
                "Parameters": {"FunctionName.$": "$.function"},
                "End": True,
            },
        },
    }
    resources = {
        "Fn": function(),
        "V": {"Type": "AWS::Lambda::Version", "Properties": {"FunctionName": {"Ref": "Fn"}}},
        "Sm": machine(Definition=definition),
    }
    output = run({"Resources": resources})
    assert output["Resources"]["V"]["DeletionPolicy"] == "Retain"
    assert output["Resources"]["V"]["UpdateReplacePolicy"] == "Retain"
    assert output["Metadata"]["SfnExactVersion"]["LeftAlone"][0]["Reason"] == "dynamic"


@pytest.mark.parametrize("description", [" ", "release 7 ", "release\t\n", "x" * 220 + " " + "y" * 100])
def test_a_version_description_ending_in_whitespace_is_marked_once(description: str) -> None:
    """The marker pattern also took the user's trailing whitespace, so a second run wrote a different
    Description (``'release 7  [SfnExactVersion …]'`` became ``'release 7 [SfnExactVersion …]'``)."""
    resources = {
        "Fn": function(),
        "V": {
            "Type": "AWS::Lambda::Version",
            "Properties": {"FunctionName": {"Ref": "Fn"}, "Description": description},
        },
        "Sm": machine(Definition=task({"Fn::GetAtt": ["Fn", "Arn"]})),
    }
    output = run({"Resources": resources})  # check_invariants transforms the output again
    marked = output["Resources"]["V"]["Properties"]["Description"]
    assert marked.startswith(description[:200]) and marked.endswith("]") and len(marked) <= 256


def test_a_deny_naming_a_function_in_two_spellings_gains_one_versions_entry() -> None:
    """Two entries of a Deny that are the same ARN written two ways each gained ``:*``: a duplicate."""
    pieces = ["arn", {"Ref": "AWS::Partition"}, "lambda", {"Ref": "AWS::Region"}, {"Ref": "AWS::AccountId"}]
    spellings = [
        {"Fn::Join": [":", [*pieces, "function", {"Ref": "Fn"}]]},
        {"Fn::Sub": "arn:${AWS::Partition}:lambda:${AWS::Region}:${AWS::AccountId}:function:${Fn}"},
    ]
    deny = {"Effect": "Deny", "Action": "lambda:InvokeFunction", "Resource": spellings}
    role = {
        "Type": "AWS::IAM::Role",
        "Properties": {
            "AssumeRolePolicyDocument": {},
            "Policies": [{"PolicyName": "p", "PolicyDocument": {"Statement": [deny]}}],
        },
    }
    state_machine = machine(Definition=task({"Fn::GetAtt": ["Fn", "Arn"]}))
    state_machine["Properties"]["RoleArn"] = {"Fn::GetAtt": ["Role", "Arn"]}
    output = run({"Resources": {"Fn": function(), "Role": role, "Sm": state_machine}})
    statement = output["Resources"]["Role"]["Properties"]["Policies"][0]["PolicyDocument"]["Statement"][0]
    assert statement["Resource"][:2] == spellings
    assert len(statement["Resource"]) == 3 and statement["Resource"][2] == {
        "Fn::Join": ["", [spellings[0], ":*"]]
    }


def test_a_function_without_properties_gains_only_its_fingerprint_and_retention() -> None:
    """The long fuzz run drew a function with no Properties at all (CloudFormation would refuse it for
    its missing Code and Role; that is not the macro's to judge). The macro gives it a Properties
    holding only the Description with the fingerprint, which the invariant check took for a change of
    something else."""
    template = {
        "Resources": {
            "Fn": {"Type": "AWS::Lambda::Function", "Metadata": None},
            "Sm": machine(Definition=task({"Fn::GetAtt": ["Fn", "Arn"]})),
        }
    }
    output = run(template)
    fn = output["Resources"]["Fn"]
    assert set(fn["Properties"]) == {"Description"}
    assert fn["Properties"]["Description"].startswith("[SfnExactVersion ")
    assert (fn["DeletionPolicy"], fn["UpdateReplacePolicy"]) == ("Retain", "Retain")


ARN = "arn:aws:lambda:eu-west-1:123456789012:function:fn-name"
HEAD = '{"StartAt": "A", "States": {"A": {"Type": "Task", "Resource": "'
TAIL = '", "End": true}}}'


@pytest.mark.parametrize(
    ("delimiter", "items"),
    [
        pytest.param("", [{"Fn::Join": ["", [HEAD + ARN[:11], ARN[11:] + TAIL]]}], id="nested-join-split"),
        pytest.param("", [HEAD + ARN[:11], ARN[11:] + TAIL], id="two-string-items"),
        pytest.param(
            "",
            [
                HEAD + "arn:",
                {"Ref": "AWS::Partition"},
                ":lambda:",
                {"Ref": "AWS::Region"},
                ":",
                {"Ref": "AWS::AccountId"},
                ":function:fn-name" + TAIL,
            ],
            id="cdk-pseudo-parameters",
        ),
        pytest.param(
            ":",
            [
                HEAD + "arn",
                {"Ref": "AWS::Partition"},
                "lambda",
                "eu-west-1",
                "123456789012",
                "function",
                "fn-name" + TAIL,
            ],
            id="colon-delimiter",
        ),
    ],
)
def test_a_target_spanning_items_of_one_join_is_pinned(delimiter: str, items: list[Any]) -> None:
    """The long fuzz run split the Fn::Join string that held a literal ARN in the middle ("...arn:a",
    "ws:lambda:..."): the call was reported 'unsupported: assembled from several pieces'. The items of
    one Join that a target spans become one item, the text around the target kept."""
    definition = {"Fn::Join": [delimiter, items]}
    output = run(
        {"Resources": {"Fn": function(FunctionName="fn-name"), "Sm": machine(DefinitionString=definition)}}
    )
    report = output["Metadata"]["SfnExactVersion"]
    assert [item["Function"] for item in report["Pinned"]] == ["Fn"] and report["LeftAlone"] == []
    version = report["Pinned"][0]["Version"]
    assert _items(output["Resources"]["Sm"]["Properties"]["DefinitionString"]) == [
        HEAD,
        {"Ref": version},
        TAIL,
    ]


def _items(value: Any) -> list[Any]:
    """The items of a ``Fn::Join`` without delimiter, nested ones of the same kind spread out."""
    if isinstance(value, dict) and "Fn::Join" in value and value["Fn::Join"][0] == "":
        return [item for inner in value["Fn::Join"][1] for item in _items(inner)]
    return [value]


def test_a_target_spanning_a_sub_item_and_a_string_item_is_reported() -> None:
    """Part of the ARN in an Fn::Sub item, the rest in the next string: the Sub's text cannot be cut
    safely, so the call is reported unsupported and the definition is left as it was."""
    definition = {"Fn::Join": ["", [{"Fn::Sub": HEAD + ARN[:11]}, ARN[11:] + TAIL]]}
    template = {
        "Resources": {"Fn": function(FunctionName="fn-name"), "Sm": machine(DefinitionString=definition)}
    }
    output = run(template)
    report = output["Metadata"]["SfnExactVersion"]
    assert report["Pinned"] == []
    assert [(item["State"], item["Reason"]) for item in report["LeftAlone"]] == [("States.A", "unsupported")]
    assert output["Resources"]["Sm"] == template["Resources"]["Sm"]


def test_a_split_target_before_a_nested_join_target_is_pinned_with_it() -> None:
    """The long fuzz run: a target split across two items, then a call whose ARN is a nested Fn::Join
    item. Splicing the two items shifted the nested Join's place, and the macro failed looking for it."""
    arn = {
        "Fn::Join": [
            "",
            ["arn:", {"Ref": "AWS::Partition"}, ":lambda:eu-west-1:123456789012:function:", {"Ref": "Other"}],
        ]
    }
    items = [
        '{"StartAt": "A", "States": {"A": {"Type": "Task", "Resource": "' + ARN[:11],
        ARN[11:] + '", "Next": "B"}, "B": {"Type": "Task", "Resource": "',
        arn,
        TAIL,
    ]
    resources = {
        "Fn": function(FunctionName="fn-name"),
        "Other": function(),
        "Sm": machine(DefinitionString={"Fn::Join": ["", items]}),
    }
    output = run({"Resources": resources})
    report = output["Metadata"]["SfnExactVersion"]
    assert [(item["State"], item["Function"]) for item in report["Pinned"]] == [
        ("States.A", "Fn"),
        ("States.B", "Other"),
    ]
    versions = [item["Version"] for item in report["Pinned"]]
    assert _items(output["Resources"]["Sm"]["Properties"]["DefinitionString"]) == [
        '{"StartAt": "A", "States": {"A": {"Type": "Task", "Resource": "',
        {"Ref": versions[0]},
        '", "Next": "B"}, "B": {"Type": "Task", "Resource": "',
        {"Ref": versions[1]},
        TAIL,
    ]


def test_substitutions_under_fn_if_with_a_side_that_is_no_map_report_the_call_truthfully() -> None:
    """``DefinitionSubstitutions: !If [C, {Fn: ...}, !Ref AWS::NoValue]`` cannot be read key by key: the
    call its key feeds is reported unsupported with that reason, not as a key nothing fills."""
    template = {
        "Conditions": {"C": {"Fn::Equals": ["a", "a"]}},
        "Resources": {
            "Fn": function(),
            "Sm": machine(
                DefinitionString='{"StartAt": "A", "States": {"A": {"Type": "Task", "Resource": '
                '"arn:aws:states:::lambda:invoke", "Parameters": {"FunctionName": "${Fn}"}, "End": true}}}',
                DefinitionSubstitutions={
                    "Fn::If": ["C", {"Fn": {"Fn::GetAtt": ["Fn", "Arn"]}}, {"Ref": "AWS::NoValue"}]
                },
            ),
        },
    }
    report = run(template)["Metadata"]["SfnExactVersion"]
    assert report["Pinned"] == []
    (left,) = report["LeftAlone"]
    assert (left["State"], left["Reason"]) == ("States.A", "unsupported")
    assert "DefinitionSubstitutions is Fn::If, which the macro cannot read key by key" in left["Detail"]


def test_a_deny_that_names_the_function_under_one_condition_only_is_not_widened_there() -> None:
    """The long fuzz run (6,000 examples) found it. With Stage=dev, IsProd is false: the Deny's
    NotResource spares ``${Fn.Arn}:*`` but not ``Fn``, so the role denied the unpinned call. The pinned
    call goes to ``Fn:1``, which the Deny spares: an Allow of ``:*`` (or a retained grant) that holds
    when IsProd is false lets through a call that was denied."""
    from hardening_support import chosen, function_names, role_documents
    from sim.iam_policy import policy_allows

    allow = {"Effect": "Allow", "Action": "lambda:InvokeFunction", "Resource": {"Fn::GetAtt": ["Fn", "Arn"]}}
    deny = {
        "Effect": "Deny",
        "Action": "lambda:InvokeFunction",
        "NotResource": [
            {"Fn::Sub": "${Fn.Arn}:*"},
            {"Fn::If": ["IsProd", {"Fn::GetAtt": ["Fn", "Arn"]}, {"Ref": "AWS::NoValue"}]},
        ],
    }
    role = {
        "Type": "AWS::IAM::Role",
        "Properties": {
            "AssumeRolePolicyDocument": {"Statement": []},
            "Policies": [
                {"PolicyName": "allow", "PolicyDocument": {"Statement": [allow]}},
                {"PolicyName": "deny", "PolicyDocument": {"Statement": [deny]}},
            ],
        },
    }
    template = {
        "Parameters": {"Stage": {"Type": "String", "Default": "dev"}},
        "Conditions": {"IsProd": {"Fn::Equals": [{"Ref": "Stage"}, "prod"]}},
        "Resources": {
            "Fn": function(),
            "Role": role,
            "Sm": machine(
                RoleArn={"Fn::GetAtt": ["Role", "Arn"]}, Definition=task({"Fn::GetAtt": ["Fn", "Arn"]})
            ),
        },
    }
    output = transformed(template, parameter_values={"Stage": "dev"}).template
    parameters = {"Stage": "dev"}
    names = function_names(template, parameters)
    arn = "arn:aws:lambda:eu-west-1:123456789012:function:" + names["Fn"]
    before = role_documents(chosen(template, {"IsProd": False}), "Role", parameters, names)
    after = role_documents(chosen(output, {"IsProd": False}), "Role", parameters, names)
    assert not policy_allows(before, "lambda:InvokeFunction", arn)
    assert not policy_allows(after, "lambda:InvokeFunction", arn + ":1")
    warnings = output["Metadata"]["SfnExactVersion"]["Warnings"]
    assert any("a Deny of this role names Fn under some conditions only" in text for text in warnings)
