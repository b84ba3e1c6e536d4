"""Reading the calls of a live definition, and evaluating IAM statements."""

from __future__ import annotations

import json

import pytest
from tests.live.views import ACCOUNT, FN, REGION, alias, function, invoke, invoke_role

from sfn_exact_version.decisions.calls import UnreadableDefinitionError, call_sites, reach
from sfn_exact_version.decisions.iam import allows
from sfn_exact_version.live.model import Statement


def sites(states: dict[str, object]) -> list[tuple[str, str, str, str, bool]]:
    text = json.dumps({"StartAt": next(iter(states)), "States": states})
    found = call_sites(text, region=REGION, account_id=ACCOUNT, partition="aws")
    return [(s.state, s.function, s.qualifier, "dynamic" if s.dynamic else "", s.foreign) for s in found]


def test_every_call_form_at_any_depth() -> None:
    states = {
        "Legacy": {"Type": "Task", "Resource": FN + "hello:3", "Next": "Fan"},
        "Fan": {
            "Type": "Parallel",
            "Branches": [
                {
                    "StartAt": "Q",
                    "States": {"Q": {**invoke("hello", Qualifier="live"), "End": True}},
                },
                {
                    "StartAt": "M",
                    "States": {
                        "M": {
                            "Type": "Map",
                            "Iterator": {
                                "StartAt": "P",
                                "States": {"P": {**invoke("123456789012:function:w:2"), "End": True}},
                            },
                            "End": True,
                        }
                    },
                },
            ],
            "Next": "Sdk",
        },
        "Sdk": {
            "Type": "Task",
            "Resource": "arn:aws:states:::aws-sdk:lambda:invoke",
            "Parameters": {"FunctionName": "arn:aws:lambda:us-east-1:999999999999:function:far"},
            "Next": "Other",
        },
        "Other": {
            "Type": "Task",
            "Resource": "arn:aws:states:::sqs:sendMessage",
            "Parameters": {},
            "Next": "Dyn",
        },
        "Dyn": {**invoke("hello", **{"Qualifier.$": "$.v"}), "End": True},
    }
    assert sites(states) == [
        ("States.Legacy", "hello", "3", "", False),
        ("States.Fan.Branches[0].States.Q", "hello", "live", "", False),
        ("States.Fan.Branches[1].States.M.Iterator.States.P", "w", "2", "", False),
        ("States.Sdk", "far", "", "", True),
        ("States.Dyn", "hello", "", "dynamic", False),
    ]


def test_not_json_is_an_error() -> None:
    with pytest.raises(UnreadableDefinitionError):
        call_sites("{", region=REGION, account_id=ACCOUNT, partition="aws")


def test_reach_of_an_alias_is_every_version_it_routes_to() -> None:
    hello = function("hello", 3, aliases=[alias("live", "2", v3=0.25)])
    text = json.dumps({"StartAt": "A", "States": {"A": {**invoke("hello:live"), "End": True}}})
    (site,) = call_sites(text, region=REGION, account_id=ACCOUNT, partition="aws")
    found, note = reach(site, {"hello": hello}, None)
    assert [(r.qualifier, r.via) for r in found] == [("2", "alias live"), ("3", "alias live")]
    assert note == ""
    missing = function("hello", 1)
    assert reach(site, {"hello": missing}, None) == ([], "States.A: alias hello:live does not exist")


def test_dynamic_reach_without_a_role_is_every_version_in_scope() -> None:
    hello = function("hello", 2)
    text = json.dumps(
        {"StartAt": "A", "States": {"A": {**invoke("", **{"FunctionName.$": "$.f"}), "End": True}}}
    )
    (site,) = call_sites(text, region=REGION, account_id=ACCOUNT, partition="aws")
    found, note = reach(site, {"hello": hello}, None)
    assert [r.qualifier for r in found] == ["1", "2", "$LATEST"]
    assert "every version of every function in scope" in note
    only_two = invoke_role("r", FN + "hello:2")
    assert [r.qualifier for r in reach(site, {"hello": hello}, only_two)[0]] == ["2"]


def test_iam_evaluation() -> None:
    allow_all = Statement("Allow", ("lambda:*",), ("*",))
    deny_v1 = Statement("Deny", ("lambda:Invoke*",), (FN + "hello:1",))
    conditional_deny = Statement("Deny", ("*",), ("*",), conditional=True)
    not_action = Statement("Allow", (), (FN + "hello:?",), not_actions=("iam:*",))
    not_resource = Statement("Allow", ("lambda:InvokeFunction",), (), not_resources=(FN + "other*",))
    assert allows([allow_all], "lambda:InvokeFunction", FN + "hello:1")
    assert not allows([allow_all, deny_v1], "lambda:InvokeFunction", FN + "hello:1")
    assert allows([allow_all, conditional_deny], "lambda:InvokeFunction", FN + "hello:1")
    assert allows([not_action], "lambda:invokefunction", FN + "hello:7")
    assert not allows([not_action], "lambda:InvokeFunction", FN + "hello:17")
    assert allows([not_resource], "lambda:InvokeFunction", FN + "hello:1")
    assert not allows([not_resource], "lambda:InvokeFunction", FN + "other:1")
    assert not allows([], "lambda:InvokeFunction", FN + "hello")
    # an unqualified entry does not cover versions
    assert not allows(
        [Statement("Allow", ("lambda:InvokeFunction",), (FN + "hello",))],
        "lambda:InvokeFunction",
        FN + "hello:1",
    )


def test_a_task_with_credentials_names_the_role_it_calls_lambda_with() -> None:
    from sfn_exact_version.decisions.calls import ROLE_AT_RUN_TIME

    other = f"arn:aws:iam::{ACCOUNT}:role/caller"
    states = {
        "Plain": {**invoke("hello:1"), "Next": "Assumed"},
        "Assumed": {**invoke("hello:2"), "Credentials": {"RoleArn": other}, "Next": "FromData"},
        "FromData": {**invoke("hello:3"), "Credentials": {"RoleArn.$": "$.role"}, "End": True},
    }
    text = json.dumps({"StartAt": "Plain", "States": states})
    found = call_sites(text, region=REGION, account_id=ACCOUNT, partition="aws")
    assert [(site.qualifier, site.role_arn) for site in found] == [
        ("1", ""),
        ("2", other),
        ("3", ROLE_AT_RUN_TIME),
    ]
    functions = {"hello": function("hello", 3)}
    (reached,), _ = reach(found[1], functions, None)
    assert (reached.qualifier, reached.role_arn) == ("2", other)


def test_gather_reads_the_roles_credentials_name() -> None:
    from tests.live.views import definition, view

    from sfn_exact_version.live.gather import _credentials_roles
    from sfn_exact_version.live.model import Definition

    caller = f"arn:aws:iam::{ACCOUNT}:role/caller"
    assumed = {**invoke("hello:2"), "Credentials": {"RoleArn": caller}}
    from_data = {**invoke("hello:3"), "Credentials": {"RoleArn.$": "$.role"}}
    state = view(
        definitions={
            "rev1": Definition("rev1", definition(invoke("hello:1")), "r"),
            "rev2": Definition("rev2", definition(assumed, from_data), "r"),
            "broken": Definition("broken", "{not json, Credentials", "r"),
        }
    )
    assert _credentials_roles(state) == {caller}
