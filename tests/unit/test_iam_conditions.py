"""IAM in the transform for the shapes of issue 10: statements chosen by ``Fn::If``, the retained grant's
Condition, a Task's ``Credentials`` role, AWS managed policies (DESIGN.md, IAM). Expected values follow
the promise: the role allows the pinned versions exactly where it allowed the function."""

from __future__ import annotations

from typing import Any

from support import function, getatt, invoke, machine, role, statement, states, transformed

NO_VALUE = {"Ref": "AWS::NoValue"}
HELLO_VERSIONS = {"Fn::Sub": "${Hello.Arn}:*"}
CONDITIONS = {"IsProd": {"Fn::Equals": [{"Ref": "Stage"}, "prod"]}}
PARAMETERS = {"Stage": {"Type": "String", "Default": "prod"}}


def _if(condition: str, yes: Any, no: Any) -> dict[str, Any]:
    return {"Fn::If": [condition, yes, no]}


def _template(
    *statements: Any, calls: dict[str, Any] | None = None, **role_properties: Any
) -> dict[str, Any]:
    definition = states(**(calls or {"Call": invoke(getatt("Hello"))}))
    return {
        "Parameters": PARAMETERS,
        "Conditions": CONDITIONS,
        "Resources": {
            "Hello": function(FunctionName="hello"),
            "Role": role(*statements, **role_properties),
            "Sm": machine(definition, RoleArn=getatt("Role")),
        },
    }


def _grants(template: dict[str, Any]) -> list[dict[str, Any]]:
    return [r for r in template["Resources"].values() if r["Type"] == "AWS::IAM::RolePolicy"]


def _statement(template: dict[str, Any]) -> Any:
    return template["Resources"]["Role"]["Properties"]["Policies"][0]["PolicyDocument"]["Statement"][0]


def test_grant_of_an_allow_on_the_true_side_carries_that_condition() -> None:
    result = transformed(_template(statement([_if("IsProd", getatt("Hello"), NO_VALUE)])))
    assert _statement(result.template)["Resource"][1] == _if("IsProd", HELLO_VERSIONS, NO_VALUE)
    (grant,) = _grants(result.template)
    assert grant["Condition"] == "IsProd"


def test_no_grant_for_an_allow_on_the_false_side_and_a_warning_says_so() -> None:
    result = transformed(_template(statement([_if("IsProd", NO_VALUE, getatt("Hello"))])))
    assert _grants(result.template) == []
    assert any("no retained grant for Hello" in w and "Fn::If" in w for w in result.report.warnings)
    assert not any("no statement of this role allows" in w for w in result.report.warnings)


def test_allows_on_both_sides_give_one_unconditional_grant() -> None:
    """SAM ``Policies: [!If [C, {exact ARN}, {"*"}]]``: allowed whatever C is."""
    exact = {"PolicyName": "p", "PolicyDocument": {"Statement": [statement(getatt("Hello"))]}}
    broad = {"PolicyName": "p", "PolicyDocument": {"Statement": [statement("*")]}}
    result = transformed(_template(Policies=[_if("IsProd", exact, broad)]))
    policy = result.template["Resources"]["Role"]["Properties"]["Policies"][0]["Fn::If"]
    assert policy[1]["PolicyDocument"]["Statement"][0]["Resource"] == [getatt("Hello"), HELLO_VERSIONS]
    assert policy[2]["PolicyDocument"]["Statement"][0]["Resource"] == "*"
    (grant,) = _grants(result.template)
    assert "Condition" not in grant
    assert result.report.warnings == []


def test_conditional_deny_is_not_outright_and_covers_the_versions_on_its_side() -> None:
    deny = _if("IsProd", statement(getatt("Hello"), effect="Deny"), NO_VALUE)
    template = _template(statement(getatt("Hello")))
    template["Resources"]["Role"]["Properties"]["Policies"][0]["PolicyDocument"]["Statement"].append(deny)
    result = transformed(template)
    statements_ = result.template["Resources"]["Role"]["Properties"]["Policies"][0]["PolicyDocument"]
    assert statements_["Statement"][0]["Resource"] == [getatt("Hello"), HELLO_VERSIONS]
    assert statements_["Statement"][1]["Fn::If"][1]["Resource"] == [getatt("Hello"), HELLO_VERSIONS]
    denying = [(d.location, d.function) for d in result.report.denying]
    assert denying == [("Resources/Role/Properties/Policies/0/PolicyDocument/Statement/1/Fn::If/1", "Hello")]


def test_task_credentials_role_of_the_template_is_widened_instead_of_the_machines() -> None:
    call = {**invoke(getatt("Hello")), "Credentials": {"RoleArn": {"Fn::Sub": "${Invoker.Arn}"}}}
    template = _template(calls={"Call": call})
    template["Resources"]["Invoker"] = role(statement(getatt("Hello")))
    result = transformed(template)
    invoker = result.template["Resources"]["Invoker"]["Properties"]["Policies"][0]["PolicyDocument"]
    assert invoker["Statement"][0]["Resource"] == [getatt("Hello"), HELLO_VERSIONS]
    assert [g["Properties"]["RoleName"] for g in _grants(result.template)] == [{"Ref": "Invoker"}]
    assert result.report.warnings == []  # Role (the machine's) does not make this call


def test_task_credentials_role_chosen_at_run_time_is_a_warning_naming_the_state() -> None:
    call = {**invoke(getatt("Hello")), "Credentials": {"RoleArn.$": "$.role"}}
    result = transformed(_template(statement(getatt("Hello")), calls={"Call": call}))
    (warning,) = result.report.warnings
    assert "States.Call" in warning and "RoleArn.$" in warning and "<Hello ARN>:*" in warning
    assert _statement(result.template)["Resource"] == getatt("Hello")  # Role does not make this call


def test_task_credentials_role_outside_the_template_is_a_warning() -> None:
    call = {**invoke(getatt("Hello")), "Credentials": {"RoleArn": "arn:aws:iam::123456789012:role/other"}}
    result = transformed(_template(calls={"Call": call}))
    (warning,) = result.report.warnings
    assert "States.Call" in warning and "not a role defined in this template" in warning


def test_aws_lambda_role_managed_policy_is_no_missing_permission() -> None:
    arn = {"Fn::Sub": "arn:${AWS::Partition}:iam::aws:policy/service-role/AWSLambdaRole"}
    result = transformed(_template(ManagedPolicyArns=[arn]))
    assert result.report.warnings == []


def test_managed_policy_the_macro_cannot_read_is_named_in_the_warning() -> None:
    arn = "arn:aws:iam::123456789012:policy/team-invoke"
    result = transformed(_template(ManagedPolicyArns=[arn]))
    (warning,) = result.report.warnings
    assert "no statement of this role allows" in warning and "cannot read (" + arn + ")" in warning


def test_deny_exempting_the_function_spares_no_version_the_role_could_not_call() -> None:
    """Deny everything but Hello, Allow only Hello's versions: the unpinned call was denied (no Allow
    covers Hello itself), so the pinned call must stay denied: no ``:*`` exemption, no grant."""
    deny = {"Effect": "Deny", "Action": "lambda:InvokeFunction", "NotResource": [getatt("Hello")]}
    result = transformed(_template(deny, statement(HELLO_VERSIONS)))
    assert _statement(result.template)["NotResource"] == [getatt("Hello")]
    assert _grants(result.template) == []


def test_deny_exempting_the_function_spares_its_versions_when_an_allow_covers_it() -> None:
    deny = {"Effect": "Deny", "Action": "lambda:InvokeFunction", "NotResource": [getatt("Hello")]}
    result = transformed(_template(deny, statement("*")))
    assert _statement(result.template)["NotResource"] == [getatt("Hello"), HELLO_VERSIONS]
    assert len(_grants(result.template)) == 1
