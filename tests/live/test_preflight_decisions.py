"""The preflight decision on plain data: which executions a new (processed) template would break."""

from __future__ import annotations

import copy
from typing import Any

import pytest
from tests.live.views import (
    EX,
    FN,
    ROLE,
    SM,
    definition,
    defs,
    execution,
    function,
    invoke,
    invoke_role,
    machine,
    view,
)

from sfn_exact_version.decisions.preflight import Result, check
from sfn_exact_version.live.model import AccountView, StackResource, Statement

RETAIN = {"DeletionPolicy": "Retain", "UpdateReplacePolicy": "Retain"}


def deployed(**function_attributes: Any) -> dict[str, Any]:
    """Day 1 as the macro output it: hello, its pinned version 1, the role, the state machine."""
    return {
        "Resources": {
            "HelloFunction": {
                "Type": "AWS::Lambda::Function",
                "Properties": {"FunctionName": "hello", "Code": {"ZipFile": "x"}, "Role": "r"},
                **function_attributes,
            },
            "HelloFunctionVersionA": {
                "Type": "AWS::Lambda::Version",
                "Properties": {
                    "FunctionName": {"Ref": "HelloFunction"},
                    "Description": "[SfnExactVersion a]",
                },
                **RETAIN,
            },
            "SmRole": {
                "Type": "AWS::IAM::Role",
                "Properties": {
                    "AssumeRolePolicyDocument": {},
                    "Policies": [
                        {
                            "PolicyName": "invoke",
                            "PolicyDocument": {
                                "Statement": [
                                    {
                                        "Effect": "Allow",
                                        "Action": "lambda:InvokeFunction",
                                        "Resource": [
                                            {"Fn::GetAtt": ["HelloFunction", "Arn"]},
                                            {"Fn::Sub": "${HelloFunction.Arn}:*"},
                                        ],
                                    }
                                ]
                            },
                        }
                    ],
                },
            },
            "Approval": {
                "Type": "AWS::StepFunctions::StateMachine",
                "Properties": {"RoleArn": {"Fn::GetAtt": ["SmRole", "Arn"]}, "DefinitionString": "{}"},
            },
        }
    }


def live_role(*grants: str) -> dict[str, Any]:
    role = invoke_role("sm-role")
    role.inline["invoke"] = [Statement("Allow", ("lambda:InvokeFunction",), (FN + "hello", FN + "hello:*"))]
    for name in grants:
        role.inline[name] = [Statement("Allow", ("lambda:InvokeFunction",), (FN + "hello:*",))]
    return {role.arn: role}


def account(template: dict[str, Any], *executions: Any, roles: Any = None, **more: Any) -> AccountView:
    return view(
        functions=[function("hello", 2, logical_id="HelloFunction")],
        state_machines=[machine("approval", "rev2")],
        executions=list(executions) or [execution("day1", "rev1")],
        definitions=defs(
            ("rev1", definition(invoke(FN + "hello:1"))),
            ("rev2", definition(invoke(FN + "hello:2"))),
            *more.pop("extra_definitions", ()),
        ),
        roles=roles if roles is not None else live_role(),
        deployed_template=template,
        stack_resources=[
            StackResource("HelloFunction", "hello", "AWS::Lambda::Function"),
            StackResource("HelloFunctionVersionA", FN + "hello:1", "AWS::Lambda::Version"),
            StackResource("SmRole", "sm-role", "AWS::IAM::Role"),
            StackResource("Approval", SM + "approval", "AWS::StepFunctions::StateMachine"),
        ],
        **more,
    )


def without(template: dict[str, Any], *logical_ids: str) -> dict[str, Any]:
    new = copy.deepcopy(template)
    for logical_id in logical_ids:
        del new["Resources"][logical_id]
    return new


def only_line(result: Result) -> str:
    assert len(result.risks) == 1, [risk.line() for risk in result.risks]
    return result.risks[0].line()


def test_same_template_puts_nothing_at_risk() -> None:
    template = deployed(**RETAIN)
    result = check(account(template), template, {})
    assert result.risks == []
    assert result.checked == 1


def test_removing_a_retained_function_with_a_retained_grant_is_safe() -> None:
    template = deployed(**RETAIN)
    new = without(template, "HelloFunction", "HelloFunctionVersionA")
    new["Resources"]["SmRole"]["Properties"]["Policies"] = []
    result = check(account(template, roles=live_role("SfnExactVersion-0123abcd")), new, {})
    assert result.risks == []


def test_removing_a_function_without_retain_deletes_its_versions() -> None:
    template = deployed()
    line = only_line(
        check(account(template), without(template, "HelloFunction", "HelloFunctionVersionA"), {})
    )
    assert line.startswith("day1 (RUNNING) at States.S0 calls hello:1: HelloFunction leaves the template")
    assert "without DeletionPolicy: Retain, so CloudFormation deletes it with all its versions" in line
    assert (
        "Fix: deploy once with DeletionPolicy: Retain and UpdateReplacePolicy: Retain on HelloFunction"
        in line
    )


def test_renaming_a_function_replaces_it_unless_update_replace_policy_retain() -> None:
    template = deployed()
    new = copy.deepcopy(template)
    new["Resources"]["HelloFunction"]["Properties"]["FunctionName"] = {"Fn::Sub": "hello-${Stage}"}
    line = only_line(check(account(template), new, {"Stage": "v2"}))
    assert "HelloFunction gets a new FunctionName, which replaces the function" in line
    new["Resources"]["HelloFunction"].update(RETAIN)
    assert check(account(template), new, {"Stage": "v2"}).risks == []
    # the same name written another way is no rename
    same = copy.deepcopy(template)
    same["Resources"]["HelloFunction"]["Properties"]["FunctionName"] = {"Fn::Sub": "hel${Rest}"}
    assert check(account(template), same, {"Rest": "lo"}).risks == []


def test_a_version_resource_dropped_without_retain_is_deleted() -> None:
    template = deployed(**RETAIN)
    template["Resources"]["HelloFunctionVersionA"].pop("DeletionPolicy")
    line = only_line(check(account(template), without(template, "HelloFunctionVersionA"), {}))
    assert "HelloFunctionVersionA leaves the template without DeletionPolicy: Retain" in line
    assert "Fix: keep DeletionPolicy: Retain and UpdateReplacePolicy: Retain on HelloFunctionVersionA" in line


def test_a_version_resource_replaced_needs_update_replace_policy() -> None:
    template = deployed(**RETAIN)
    new = copy.deepcopy(template)
    new["Resources"]["HelloFunctionVersionA"]["Properties"]["Description"] = "[SfnExactVersion b]"
    assert check(account(template), new, {}).risks == []
    new["Resources"]["HelloFunctionVersionA"].pop("UpdateReplacePolicy")
    assert "which replaces the version" in only_line(check(account(template), new, {}))


def test_role_that_stops_allowing_the_version_without_a_retained_grant() -> None:
    template = deployed(**RETAIN)
    new = copy.deepcopy(template)
    statement = new["Resources"]["SmRole"]["Properties"]["Policies"][0]["PolicyDocument"]["Statement"][0]
    statement["Resource"] = [{"Fn::GetAtt": ["HelloFunction", "Arn"]}]
    line = only_line(check(account(template), new, {}))
    assert "calls hello:1: role sm-role will no longer allow lambda:InvokeFunction on it" in line
    assert f"Fix: keep {FN}hello:* in a statement of sm-role" in line
    # the retained grant on the live role keeps it allowed
    assert check(account(template, roles=live_role("SfnExactVersion-0123abcd")), new, {}).risks == []


def test_a_deleted_role_puts_every_call_at_risk() -> None:
    template = deployed(**RETAIN)
    new = without(template, "SmRole")
    line = only_line(check(account(template), new, {}))
    assert "its role sm-role is deleted by the deploy" in line


def test_a_renamed_role_is_replaced() -> None:
    template = deployed(**RETAIN)
    new = copy.deepcopy(template)
    new["Resources"]["SmRole"]["Properties"]["RoleName"] = "sm-role-v2"
    line = only_line(check(account(template), new, {}))
    assert (
        "its role sm-role is deleted by the deploy (SmRole gets a new RoleName, which replaces the role)"
        in line
    )
    new["Resources"]["SmRole"]["Properties"]["RoleName"] = "sm-role"  # the name it has: no replacement
    assert check(account(template), new, {}).risks == []


def test_an_execution_three_deploys_old_is_checked_on_its_own_definition() -> None:
    # Day 1's version left the stack two deploys ago (retained): it is no resource of the stack any more,
    # so only the function's fate matters.
    template = deployed()
    old = execution("day1", "rev1")
    state = account(template, old)
    state.stack_resources = [r for r in state.stack_resources if r.logical_id != "HelloFunctionVersionA"]
    assert check(state, template, {}).risks == []
    line = only_line(check(state, without(template, "HelloFunction"), {}))
    assert "hello:1" in line and "leaves the template" in line


def test_unqualified_calls_are_a_warning_not_a_risk() -> None:
    template = deployed(**RETAIN)
    unpinned = execution("unpinned", "rev0")
    result = check(
        account(template, unpinned, extra_definitions=[("rev0", definition(invoke(FN + "hello")))]),
        template,
        {},
    )
    assert result.risks == []
    assert any("calls hello unqualified" in warning and "new code" in warning for warning in result.warnings)


def test_map_children_are_reported_with_their_parent() -> None:
    template = deployed()
    parent = execution("parent", "rev1")
    children = [execution(f"child{n}", "rev1", parent=parent.arn, map_run_arn=EX + "run") for n in (1, 2)]
    result = check(account(template, parent, *children), without(template, "HelloFunction"), {})
    assert only_line(result).startswith("parent (RUNNING and 2 Map children) at States.S0 calls hello:1")


def test_dynamic_call_at_risk_lists_the_versions_it_may_call() -> None:
    template = deployed(**RETAIN)
    new = copy.deepcopy(template)
    statement = new["Resources"]["SmRole"]["Properties"]["Policies"][0]["PolicyDocument"]["Statement"][0]
    statement["Resource"] = [{"Fn::Sub": "${HelloFunction.Arn}:2"}]
    dynamic = execution("dyn", "dyn")
    state = account(
        template, dynamic, extra_definitions=[("dyn", definition(invoke("", **{"FunctionName.$": "$.fn"})))]
    )
    result = check(state, new, {})
    assert [(risk.function, risk.versions) for risk in result.risks] == [("hello", ["1", "$LATEST"])]
    assert any("FunctionName.$" in warning for warning in result.warnings)


def test_alias_routed_executions_are_checked_on_their_own_version() -> None:
    template = deployed(**RETAIN)
    template["Resources"]["HelloFunctionVersionA"].pop("DeletionPolicy")
    on_v1 = execution("canary-old", "rev1", version_arn=SM + "approval:1", alias_arn=SM + "approval:live")
    on_v2 = execution("canary-new", "rev2", version_arn=SM + "approval:2", alias_arn=SM + "approval:live")
    result = check(account(template, on_v1, on_v2), without(template, "HelloFunctionVersionA"), {})
    assert [risk.name for risk in result.risks] == ["canary-old"]
    assert result.checked == 2


def test_json_form() -> None:
    template = deployed()
    result = check(account(template), without(template, "HelloFunction"), {})
    data = result.to_dict()
    assert data["checked_executions"] == 1
    (risk,) = data["at_risk"]
    assert risk["execution"] == EX + "approval:day1"
    assert (risk["function"], risk["versions"], risk["state"]) == ("hello", ["1"], "States.S0")
    assert risk["fix"].startswith("deploy once with DeletionPolicy: Retain")


def test_roles_outside_the_stack_keep_their_policies() -> None:
    template = deployed(**RETAIN)
    outside = invoke_role("shared", FN + "hello:*")
    old = execution("shared-role", "rev1", role="shared")
    new = without(template, "SmRole")  # the stack's role goes; the shared one is not the stack's
    roles = {**live_role(), outside.arn: outside}
    assert check(account(template, old, roles=roles), new, {}).risks == []
    assert ROLE + "shared" in roles


def test_a_version_an_outside_alias_routes_to_stays_live() -> None:
    """An alias the deploy does not manage keeps routing new executions to old version 1 (90 %)."""
    from sfn_exact_version.live.model import StateMachineAlias, StateMachineVersion

    template = deployed()
    v1, v2 = SM + "approval:1", SM + "approval:2"
    live_alias = StateMachineAlias(SM + "approval:live", "live", {v1: 90, v2: 10})
    state = account(template, execution("e2", "rev2"))
    state.state_machines[0].versions = [
        StateMachineVersion(v1, None, "rev1"),
        StateMachineVersion(v2, None, "rev2"),
    ]
    state.state_machines[0].aliases = [live_alias]
    risks = check(state, without(template, "HelloFunction"), {}).risks
    assert [risk.name for risk in risks] == ["e2", "approval version 1", "approval version 2"]
    assert (
        risks[1].line().startswith("approval version 1 (routed by alias live 90%) at States.S0 calls hello:1")
    )
    assert (
        risks[2].line().startswith("approval version 2 (routed by alias live 10%) at States.S0 calls hello:2")
    )
    # the same alias as a resource of the stack that the new template keeps: the deploy moves it
    state.stack_resources.append(
        StackResource("ApprovalAlias", live_alias.arn, "AWS::StepFunctions::StateMachineAlias")
    )
    kept = without(template, "HelloFunction")
    kept["Resources"]["ApprovalAlias"] = {"Type": "AWS::StepFunctions::StateMachineAlias", "Properties": {}}
    risks = check(state, kept, {}).risks
    assert [risk.name for risk in risks] == ["e2"]  # only the execution itself (it calls hello:2)


def test_calls_through_a_lambda_alias_the_deploy_deletes() -> None:
    from sfn_exact_version.live.model import LambdaAlias

    template = deployed(**RETAIN)
    template["Resources"]["HelloAlias"] = {"Type": "AWS::Lambda::Alias", "Properties": {}}
    through_alias = execution("live-caller", "alias")
    state = account(template, through_alias, extra_definitions=[("alias", definition(invoke("hello:live")))])
    state.functions[0].aliases = [LambdaAlias("live", FN + "hello:live", "2")]
    state.stack_resources.append(StackResource("HelloAlias", FN + "hello:live", "AWS::Lambda::Alias"))
    line = only_line(check(state, without(template, "HelloAlias"), {}))
    assert line.startswith("live-caller (RUNNING) at States.S0 calls hello:2: HelloAlias leaves the template")
    assert check(state, template, {}).risks == []


# ------------------------------------------------------------------ statements chosen by Conditions
IS_PROD = {"IsProd": {"Fn::Equals": [{"Ref": "Stage"}, "prod"]}}
DENY_VERSIONS = {
    "Effect": "Deny",
    "Action": "lambda:InvokeFunction",
    "Resource": {"Fn::Sub": "${HelloFunction.Arn}:*"},
}
LOST = "calls hello:1: role sm-role will no longer allow lambda:InvokeFunction on it"


def conditional(shape: str) -> dict[str, Any]:
    """Day 2 where the role's only statement allowing hello's versions holds only when IsProd does."""
    new = deployed(**RETAIN)
    new["Conditions"] = copy.deepcopy(IS_PROD)
    policy = new["Resources"]["SmRole"]["Properties"]["Policies"][0]
    statement = policy["PolicyDocument"]["Statement"][0]
    if shape == "statement":  # - !If [IsProd, {statement}, !Ref AWS::NoValue]
        policy["PolicyDocument"]["Statement"] = [{"Fn::If": ["IsProd", statement, {"Ref": "AWS::NoValue"}]}]
    elif shape == "resource":  # Resource: !If [IsProd, [arn, arn:*], [arn]]
        statement["Resource"] = {"Fn::If": ["IsProd", statement["Resource"], statement["Resource"][:1]]}
    else:  # an AWS::IAM::Policy of the role, with Condition: IsProd
        new["Resources"]["SmRole"]["Properties"]["Policies"] = []
        new["Resources"]["ProdInvoke"] = {
            "Type": "AWS::IAM::Policy",
            "Condition": "IsProd",
            "Properties": {
                "PolicyName": "prod-invoke",
                "Roles": [{"Ref": "SmRole"}],
                "PolicyDocument": copy.deepcopy(policy["PolicyDocument"]),
            },
        }
    return new


@pytest.mark.parametrize("shape", ["statement", "resource", "policy resource"])
def test_a_statement_chosen_by_a_condition_counts_only_where_it_holds(shape: str) -> None:
    """The deploy's parameter values choose the statement: under dev the role loses hello's versions."""
    template = deployed(**RETAIN)
    new = conditional(shape)
    assert check(account(template), new, {"Stage": "prod"}).risks == []
    assert LOST in only_line(check(account(template), new, {"Stage": "dev"}))


def test_a_condition_preflight_cannot_evaluate_reads_an_allow_as_absent_and_says_so() -> None:
    template = deployed(**RETAIN)
    result = check(account(template), conditional("statement"), {})  # no value for Stage
    assert LOST in only_line(result)
    (warning,) = result.warnings
    assert warning.startswith(
        "Resources/SmRole/Properties/Policies/0/PolicyDocument/Statement/0/Fn::If/1: chosen by the "
        "template Condition IsProd, which reads a value not known before the deploy"
    )
    assert "--parameter-overrides" in warning


def test_a_deny_chosen_by_a_condition_preflight_cannot_evaluate_is_read_as_present() -> None:
    template = deployed(**RETAIN)
    new = deployed(**RETAIN)
    new["Conditions"] = copy.deepcopy(IS_PROD)
    statements = new["Resources"]["SmRole"]["Properties"]["Policies"][0]["PolicyDocument"]["Statement"]
    statements.append({"Fn::If": ["IsProd", DENY_VERSIONS, {"Ref": "AWS::NoValue"}]})
    assert check(account(template), new, {"Stage": "dev"}).risks == []
    assert LOST in only_line(check(account(template), new, {"Stage": "prod"}))
    assert LOST in only_line(check(account(template), new, {}))


# ------------------------------------------------------------------ Tasks that call with Credentials
def credentials_case(new_policies: dict[str, list[Any]]) -> Result:
    """execution day1 calls hello:1 with Credentials naming caller-role (CallerRole of the stack); the
    state machine's role also allows hello. ``new_policies``: each role's Policies in the new template."""
    template = deployed(**RETAIN)
    caller_policy = copy.deepcopy(template["Resources"]["SmRole"]["Properties"]["Policies"])
    template["Resources"]["CallerRole"] = {
        "Type": "AWS::IAM::Role",
        "Properties": {"AssumeRolePolicyDocument": {}, "Policies": caller_policy},
    }
    new = copy.deepcopy(template)
    for logical_id, policies in new_policies.items():
        new["Resources"][logical_id]["Properties"]["Policies"] = policies
    roles = live_role()
    caller = invoke_role("caller-role")
    caller.inline["invoke"] = [Statement("Allow", ("lambda:InvokeFunction",), (FN + "hello", FN + "hello:*"))]
    roles[caller.arn] = caller
    assumed = {**invoke(FN + "hello:1"), "Credentials": {"RoleArn": caller.arn}}
    state = account(
        template, execution("day1", "creds"), roles=roles, extra_definitions=[("creds", definition(assumed))]
    )
    state.stack_resources.append(StackResource("CallerRole", "caller-role", "AWS::IAM::Role"))
    return check(state, new, {})


def test_a_call_with_credentials_is_checked_against_the_role_it_names() -> None:
    line = only_line(credentials_case({"CallerRole": []}))
    assert "calls hello:1: role caller-role will no longer allow lambda:InvokeFunction on it" in line
    # the state machine's own role does not make that call: dropping its statement risks nothing here
    assert credentials_case({"SmRole": []}).risks == []


def test_a_role_credentials_choose_at_run_time_is_a_warning() -> None:
    template = deployed(**RETAIN)
    from_data = {**invoke(FN + "hello:1"), "Credentials": {"RoleArn.$": "$.role"}}
    state = account(template, execution("day1", "data"), extra_definitions=[("data", definition(from_data))])
    result = check(state, template, {})
    assert result.risks == []
    (warning,) = result.warnings
    assert warning == (
        "execution day1 (RUNNING): calls hello at States.S0 with a role its Credentials choose at run time: "
        "whether "
        "that role still allows the call is not checked"
    )
