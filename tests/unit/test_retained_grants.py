"""Retained grants (DESIGN.md, IAM): what the template carries from Day 1 to Day 2.

A running execution is authorised by its role's current policy. On Day 2 the template stops calling
``hello`` (or drops it, or renames it): the role's own statements no longer allow it, and only the
Day-1 grant, an ``AWS::IAM::RolePolicy`` with ``DeletionPolicy: Retain`` that leaves the template,
keeps execution 1's permission (CloudFormation "deletes" a Retain resource by leaving it in place).
"""

from __future__ import annotations

import copy
import json
from typing import Any

import pytest

from sfn_exact_version.transform import transform
from support import getatt, role, statement, transformed

KWARGS = {"region": "eu-west-1", "account_id": "123456789012"}
GRANT = "AWS::IAM::RolePolicy"


def _function(name: str | None = None) -> dict[str, Any]:
    properties: dict[str, Any] = {
        "Role": "arn:aws:iam::123456789012:role/lambda",
        "Handler": "index.handler",
        "Runtime": "python3.12",
        "Code": {"ZipFile": "def handler(event, context):\n    return event\n"},
    }
    if name is not None:
        properties["FunctionName"] = name
    return {"Type": "AWS::Lambda::Function", "Properties": properties}


def _call(function: str, end: bool) -> dict[str, Any]:
    state: dict[str, Any] = {
        "Type": "Task",
        "Resource": "arn:aws:states:::lambda:invoke",
        "Parameters": {"FunctionName": {"Fn::GetAtt": [function, "Arn"]}, "Payload.$": "$"},
    }
    state.update({"End": True} if end else {"Next": "World"})
    return state


def day1(hello_name: str | None = "hello") -> dict[str, Any]:
    """Two functions, one role allowing both by their ARN, a state machine calling both."""
    return {
        "Resources": {
            "Hello": _function(hello_name),
            "World": _function("world"),
            "Role": role(statement([getatt("Hello"), getatt("World")])),
            "Sm": {
                "Type": "AWS::StepFunctions::StateMachine",
                "Properties": {
                    "RoleArn": {"Fn::Sub": "${Role.Arn}"},
                    "Definition": {
                        "StartAt": "Hello",
                        "States": {"Hello": _call("Hello", False), "World": _call("World", True)},
                    },
                },
            },
        }
    }


def day2_stops_calling_hello(template: dict[str, Any]) -> dict[str, Any]:
    """The same template without the Hello state and without Hello in the role's statement."""
    changed = copy.deepcopy(template)
    definition = changed["Resources"]["Sm"]["Properties"]["Definition"]
    definition["StartAt"] = "World"
    del definition["States"]["Hello"]
    statement = changed["Resources"]["Role"]["Properties"]["Policies"][0]["PolicyDocument"]["Statement"][0]
    statement["Resource"] = [{"Fn::GetAtt": ["World", "Arn"]}]
    return changed


def grants(template: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {key: value for key, value in template["Resources"].items() if value["Type"] == GRANT}


def grant_for(template: dict[str, Any], function: str) -> tuple[str, dict[str, Any]]:
    (found,) = [
        (key, value)
        for key, value in grants(template).items()
        if value["Properties"]["PolicyDocument"]["Statement"][0]["Resource"]
        == {"Fn::Sub": "${" + function + ".Arn}:*"}
    ]
    return found


def run(template: dict[str, Any]) -> dict[str, Any]:
    return transformed(template, **KWARGS).template


def test_day1_output_has_a_retained_grant_per_called_function() -> None:
    output = run(day1())
    logical_id, grant = grant_for(output, "Hello")
    assert grant["DeletionPolicy"] == "Retain" and grant["UpdateReplacePolicy"] == "Retain"
    assert grant["Properties"]["RoleName"] == {"Ref": "Role"}
    assert grant["Properties"]["PolicyName"].startswith("SfnExactVersion-")
    assert grant["Properties"]["PolicyDocument"]["Statement"] == [
        {"Effect": "Allow", "Action": "lambda:InvokeFunction", "Resource": {"Fn::Sub": "${Hello.Arn}:*"}}
    ]
    report = output["Metadata"]["SfnExactVersion"]["RetainedGrants"]
    assert {
        "Grant": logical_id,
        "PolicyName": grant["Properties"]["PolicyName"],
        "Role": "Role",
        "Function": "Hello",
    } in report
    assert len(grants(output)) == 2  # Hello and World


def test_day2_that_stops_calling_hello_no_longer_lists_its_grant() -> None:
    """CloudFormation then removes the resource from the stack and, with Retain, leaves the inline
    policy on the role: execution 1, pinned to hello:1, may still invoke it."""
    first = run(day1())
    hello_grant, _ = grant_for(first, "Hello")
    world_grant, world = grant_for(first, "World")
    second = run(day2_stops_calling_hello(day1()))
    assert hello_grant not in second["Resources"]
    assert second["Resources"][world_grant] == world  # unchanged: no update, no replacement
    # Nothing else in the Day-2 template allows Hello's versions: the grant is what keeps execution 1.
    assert "${Hello.Arn}" not in str(second["Resources"]["Role"])


def test_day2_that_drops_hello_no_longer_lists_its_grant() -> None:
    first = run(day1())
    hello_grant, _ = grant_for(first, "Hello")
    second_input = day2_stops_calling_hello(day1())
    del second_input["Resources"]["Hello"]
    second = run(second_input)
    assert hello_grant not in second["Resources"]
    assert not any("Hello" in str(grant) for grant in grants(second).values())


def test_renaming_the_function_gives_a_new_grant_and_policy_name() -> None:
    """A new FunctionName replaces the function; the old grant (for the old function's versions) must
    stay, so the new one has another logical ID and another PolicyName (a replacement of the same
    resource would delete the old inline policy first)."""
    old_id, old = grant_for(run(day1("hello")), "Hello")
    new_id, new = grant_for(run(day1("hello-v2")), "Hello")
    assert new_id != old_id
    assert new["Properties"]["PolicyName"] != old["Properties"]["PolicyName"]
    assert new_id not in run(day1("hello"))["Resources"]
    # A function without an explicit name (CloudFormation names it) keeps one grant identity too.
    assert grant_for(run(day1(None)), "Hello")[0] == grant_for(run(day1(None)), "Hello")[0]


def test_a_second_run_gives_the_same_grants_and_report() -> None:
    first = run(day1())
    second = transform(first, **KWARGS).template
    assert second == first
    assert (
        second["Metadata"]["SfnExactVersion"]["RetainedGrants"]
        == first["Metadata"]["SfnExactVersion"]["RetainedGrants"]
    )


def test_no_grant_for_a_function_the_role_did_not_allow() -> None:
    template = day1()
    statement = template["Resources"]["Role"]["Properties"]["Policies"][0]["PolicyDocument"]["Statement"][0]
    statement["Resource"] = [{"Fn::GetAtt": ["World", "Arn"]}]
    output = run(template)
    assert [grant["Function"] for grant in output["Metadata"]["SfnExactVersion"]["RetainedGrants"]] == [
        "World"
    ]


def test_no_grant_for_a_function_the_role_denies() -> None:
    template = day1()
    document = template["Resources"]["Role"]["Properties"]["Policies"][0]["PolicyDocument"]
    document["Statement"].append(
        {"Effect": "Deny", "Action": "lambda:InvokeFunction", "Resource": {"Fn::GetAtt": ["Hello", "Arn"]}}
    )
    output = run(template)
    assert [grant["Function"] for grant in output["Metadata"]["SfnExactVersion"]["RetainedGrants"]] == [
        "World"
    ]
    deny = output["Resources"]["Role"]["Properties"]["Policies"][0]["PolicyDocument"]["Statement"][1]
    assert deny["Resource"] == [{"Fn::GetAtt": ["Hello", "Arn"]}, {"Fn::Sub": "${Hello.Arn}:*"}]


def test_a_grant_id_taken_by_another_resource_fails_naming_it() -> None:
    from sfn_exact_version.errors import TransformError

    logical_id, _ = grant_for(run(day1()), "Hello")
    template = day1()
    template["Resources"][logical_id] = {"Type": "AWS::SNS::Topic"}
    with pytest.raises(TransformError, match=f"Resources/{logical_id} already exists"):
        transform(template, **KWARGS)


def _many_functions(count: int) -> dict[str, Any]:
    template = day1()
    resources = template["Resources"]
    states: dict[str, Any] = {}
    entries = []
    for position in range(count):
        name = f"F{position}"
        resources[name] = _function()
        states[name] = _call(name, position == count - 1)
        if position < count - 1:
            states[name]["Next"] = f"F{position + 1}"
        entries.append({"Fn::GetAtt": [name, "Arn"]})
    definition = resources["Sm"]["Properties"]["Definition"]
    definition["StartAt"] = "F0"
    definition["States"] = states
    statement = resources["Role"]["Properties"]["Policies"][0]["PolicyDocument"]["Statement"][0]
    statement["Resource"] = entries
    return template


def test_grants_stay_within_the_roles_inline_policy_quota() -> None:
    """IAM allows 10,240 characters of inline policies per role: the grants that would not fit are left
    out (the deploy would fail), and a warning names the functions."""
    output = transform(_many_functions(80), **KWARGS)
    report = output.report
    assert 0 < len(report.grants) < 80
    (warning,) = [text for text in report.warnings if "no retained grant" in text]
    assert "10240 characters" in warning and "F79" in warning
    sizes = sum(len(str(grant["Properties"]["PolicyDocument"])) for grant in grants(output.template).values())
    assert sizes < 10_240


def test_grants_never_push_the_template_over_500_resources() -> None:
    template = _many_functions(20)
    for position in range(500 - len(template["Resources"]) - 20 - 3):
        template["Resources"][f"Topic{position}"] = {"Type": "AWS::SNS::Topic"}
    output = transform(template, **KWARGS)
    assert len(output.template["Resources"]) == 500  # 20 versions, 3 grants
    assert len(output.report.grants) == 3
    assert any("500 resources" in text for text in output.report.warnings)


def _compact_size(value: Any) -> int:
    return len(json.dumps(value, separators=(",", ":"), ensure_ascii=False).encode("utf-8"))


def test_grants_never_push_the_template_over_one_megabyte() -> None:
    """The processed template may hold 1,000,000 bytes: grants that would push it over are dropped, the
    last first, a warning names them, and the ones that fit stay (a deploy that fails for a grant
    protects nothing; one that drops grants it had room for protects less)."""
    limit = 1_000_000
    base = _many_functions(20)
    base["Resources"]["Padding"] = {"Type": "AWS::SNS::Topic", "Metadata": {"Blob": ""}}
    full = transform(base, **KWARGS)
    assert len(full.report.grants) == 20  # room for all of them, so far
    costs = [  # what each grant adds: ,"Id":{...} in Resources and its entry in RetainedGrants
        _compact_size({grant.grant: full.template["Resources"][grant.grant]})
        - 2
        + 1
        + _compact_size(entry)
        + 1
        for grant, entry in zip(
            full.report.grants, full.template["Metadata"]["SfnExactVersion"]["RetainedGrants"], strict=True
        )
    ]
    padded = copy.deepcopy(base)
    padded["Resources"]["Padding"]["Metadata"]["Blob"] = "é" * (
        (limit - _compact_size(full.template) + sum(costs) // 2) // 2
    )
    output = transformed(padded, **KWARGS)

    size = _compact_size(output.template)
    assert size <= limit
    kept = [grant.function for grant in output.report.grants]
    assert 5 < len(kept) < 15
    names = [grant.function for grant in full.report.grants]
    assert kept == names[: len(kept)]  # the last ones are dropped
    dropped = names[len(kept) :]
    assert set(grants(output.template)) == {grant.grant for grant in output.report.grants}
    (warning,) = [text for text in output.report.warnings if "1000000 bytes" in text]
    assert all(f"{name} (role Role)" in warning for name in dropped)
    assert not any(f"{name} (role Role)" in warning for name in kept)
    # Not one grant more than needed was dropped: the last one dropped would not have fitted.
    assert size + costs[len(kept)] > limit - len(f", {dropped[0]} (role Role)")
