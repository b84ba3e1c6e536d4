"""targets: one call target, classified. A legacy ``Resource`` must be an ARN; a ``FunctionName`` may be a
name or an ARN. Every kind and every report reason, with the detail the report shows."""

from __future__ import annotations

from typing import Any

import pytest

from sfn_exact_version import report
from sfn_exact_version.index import TemplateIndex
from sfn_exact_version.intrinsics import symbolic
from sfn_exact_version.targets import (
    AMBIGUOUS,
    ELSEWHERE,
    FIXED_QUALIFIER,
    FUNCTION_NAME,
    JSONATA_QUALIFIER,
    NOT_LAMBDA,
    PIN,
    PINNED,
    RESOURCE,
    RUNTIME_QUALIFIER,
    Target,
    chosen_at_run_time,
    classify,
    lambda_management_action,
    parse_arn_place,
    qualifier_note,
)
from support import ACCOUNT, REGION, function

ARN = f"arn:aws:lambda:{REGION}:{ACCOUNT}:function"
CONTEXTS = [RESOURCE, FUNCTION_NAME]


@pytest.fixture(scope="module")
def index() -> TemplateIndex:
    resources = {
        "Hello": function(FunctionName="hello"),
        "Anonymous": function(),
        "HelloVersion": {"Type": "AWS::Lambda::Version", "Properties": {"FunctionName": {"Ref": "Hello"}}},
        "OutsideVersion": {"Type": "AWS::Lambda::Version", "Properties": {"FunctionName": "elsewhere"}},
        "HelloAlias": {
            "Type": "AWS::Lambda::Alias",
            "Properties": {"FunctionName": {"Ref": "Hello"}, "Name": "live"},
        },
        "Blue": {**function(FunctionName="shared"), "Condition": "IsBlue"},
        "Green": {**function(FunctionName="shared"), "Condition": "IsGreen"},
        "Queue": {"Type": "AWS::SQS::Queue"},
        "Nested": {"Type": "AWS::CloudFormation::Stack", "Properties": {"TemplateURL": "https://x/t"}},
    }
    return TemplateIndex.build(resources, {"FnArn": {"Type": "String"}}, REGION, ACCOUNT)


def _classify(value: Any, context: str, index: TemplateIndex) -> Target:
    return classify(symbolic(value), context, index)


# ------------------------------------------------------------------------------ pinned: in-template functions
@pytest.mark.parametrize("context", CONTEXTS)
@pytest.mark.parametrize(
    "value",
    [
        {"Fn::GetAtt": ["Hello", "Arn"]},
        {"Fn::Sub": "${Hello.Arn}"},
        f"{ARN}:hello",
        {"Fn::Sub": "arn:${AWS::Partition}:lambda:${AWS::Region}:${AWS::AccountId}:function:hello"},
        {"Fn::Sub": "arn:aws:lambda:${AWS::Region}:${AWS::AccountId}:function:${Hello}"},
    ],
)
def test_an_unqualified_in_template_function_is_pinned(
    value: Any, context: str, index: TemplateIndex
) -> None:
    target = _classify(value, context, index)
    assert (target.kind, target.function) == (PIN, "Hello")


@pytest.mark.parametrize("value", [{"Ref": "Hello"}, "hello", f"{ACCOUNT}:function:hello"])
def test_a_name_or_partial_arn_is_pinned_as_a_function_name(value: Any, index: TemplateIndex) -> None:
    target = _classify(value, FUNCTION_NAME, index)
    assert (target.kind, target.function) == (PIN, "Hello")


def test_a_function_without_an_explicit_name_is_reached_by_reference() -> None:
    index = TemplateIndex.build({"Fn": function()}, {}, REGION, ACCOUNT)
    assert _classify({"Fn::GetAtt": "Fn.Arn"}, RESOURCE, index).function == "Fn"
    assert _classify("Fn", FUNCTION_NAME, index).kind == report.EXTERNAL  # a logical ID is not a name


@pytest.mark.parametrize("value", [{"Ref": "HelloVersion"}, {"Fn::GetAtt": ["HelloVersion", "FunctionArn"]}])
def test_a_version_of_an_in_template_function_is_already_pinned(value: Any, index: TemplateIndex) -> None:
    target = _classify(value, FUNCTION_NAME, index)
    assert (target.kind, target.function, target.version) == (PINNED, "Hello", "HelloVersion")


# ------------------------------------------------------------------------------ qualified, latest, alias
def test_a_version_of_a_function_outside_the_template_is_qualified(index: TemplateIndex) -> None:
    target = _classify({"Ref": "OutsideVersion"}, RESOURCE, index)
    assert (target.kind, target.version) == (report.QUALIFIED, "OutsideVersion")
    assert target.detail == "already names version OutsideVersion"


@pytest.mark.parametrize("value", [f"{ARN}:hello:3", {"Fn::Sub": "${Hello.Arn}:3"}])
def test_a_numeric_qualifier_is_qualified(value: Any, index: TemplateIndex) -> None:
    target = _classify(value, RESOURCE, index)
    assert (target.kind, target.function, target.detail) == (
        report.QUALIFIED,
        "Hello",
        "already names version 3",
    )


def test_a_qualifier_taken_from_a_version_resource_is_qualified(index: TemplateIndex) -> None:
    target = _classify({"Fn::Sub": "${Hello.Arn}:${HelloVersion.Version}"}, RESOURCE, index)
    assert (target.kind, target.version) == (report.QUALIFIED, "HelloVersion")


@pytest.mark.parametrize("context", CONTEXTS)
def test_latest_always_runs_the_newest_code(context: str, index: TemplateIndex) -> None:
    target = _classify(f"{ARN}:hello:$LATEST", context, index)
    assert (target.kind, target.function) == (report.LATEST, "Hello")
    assert "drop the qualifier" in target.detail


@pytest.mark.parametrize(
    ("value", "named"), [(f"{ARN}:hello:live", "qualifier live"), ({"Ref": "HelloAlias"}, "alias HelloAlias")]
)
def test_an_alias_moves_so_it_is_reported(value: Any, named: str, index: TemplateIndex) -> None:
    target = _classify(value, FUNCTION_NAME, index)
    assert target.kind == report.ALIAS
    assert named in target.detail


# ------------------------------------------------------------------------------ dynamic
def test_a_jsonata_expression_is_dynamic(index: TemplateIndex) -> None:
    target = _classify("{% $states.input.fn %}", FUNCTION_NAME, index)
    assert target.kind == report.DYNAMIC
    assert "JSONata" in target.detail


# ------------------------------------------------------------------------------ external
@pytest.mark.parametrize(
    ("value", "source"),
    [
        ({"Ref": "FnArn"}, "parameter FnArn"),
        ({"Fn::Sub": "arn:aws:lambda:${AWS::Region}:${AWS::AccountId}:function:${FnArn}"}, "parameter FnArn"),
        ({"Fn::ImportValue": "shared-fn"}, "another stack (Fn::ImportValue)"),
        ({"Fn::GetStackOutput": {"StackName": "s", "OutputName": "o"}}, "another stack (Fn::GetStackOutput)"),
        ({"Fn::GetAtt": ["Nested", "Outputs.FnArn"]}, "output FnArn of nested stack Nested"),
    ],
)
@pytest.mark.parametrize("context", CONTEXTS)
def test_a_function_from_outside_the_template_is_external_and_says_where(
    value: Any, source: str, context: str, index: TemplateIndex
) -> None:
    target = _classify(value, context, index)
    assert target.kind == report.EXTERNAL
    assert source in target.detail


def test_a_literal_arn_of_another_function_is_external(index: TemplateIndex) -> None:
    target = _classify(f"{ARN}:somebody-else", RESOURCE, index)
    assert target.kind == report.EXTERNAL
    assert target.detail.startswith("the function is not defined in this template")


@pytest.mark.parametrize("context", CONTEXTS)
@pytest.mark.parametrize(
    ("value", "there", "stack"),
    [
        (f"arn:aws:lambda:us-east-1:{ACCOUNT}:function:hello", "Region us-east-1", f"Region {REGION}"),
        (
            f"arn:aws:lambda:{REGION}:999999999999:function:hello",
            "account 999999999999",
            f"account {ACCOUNT}",
        ),
        ("999999999999:function:hello", "account 999999999999", f"account {ACCOUNT}"),
        (
            "arn:aws-cn:lambda:cn-north-1:999999999999:function:hello",
            "partition aws-cn, Region cn-north-1, account 999999999999",
            f"partition aws, Region {REGION}, account {ACCOUNT}",
        ),
    ],
)
def test_a_literal_arn_with_a_functions_name_elsewhere_says_where_and_how(
    value: str, there: str, stack: str, context: str, index: TemplateIndex
) -> None:
    """The name is Hello's, the Region or account is not the stack's: another function, and the detail
    says exactly that (not "not defined in this template"), with the way to call Hello instead."""
    target = _classify(value, context, index)
    assert target.kind == report.EXTERNAL
    assert target.detail.startswith(f"{ELSEWHERE} Hello, but in {there}, not the stack's ({stack}):")
    assert "${AWS::Region} and ${AWS::AccountId}" in target.detail and "GetAtt Hello.Arn" in target.detail


def test_arn_place_reads_only_literal_fields() -> None:
    assert parse_arn_place(symbolic({"Fn::Sub": "arn:aws:lambda:${AWS::Region}:1234:function:f"})) == {
        "partition": "aws",
        "account": "1234",
    }
    assert parse_arn_place(("hello",)) == {}


# ------------------------------------------------------------------------------ unsupported, not Lambda
@pytest.mark.parametrize(
    ("value", "detail"),
    [
        ({"Ref": "Queue"}, "Queue is not a Lambda function"),
        ({"Fn::GetAtt": ["Queue", "Arn"]}, "Queue.Arn is not a function ARN"),
        ({"Fn::GetAtt": ["Hello", "Version"]}, "Hello.Version is not a function ARN"),
        ({"Fn::Select": [0, [f"{ARN}:hello"]]}, "computed by an intrinsic function"),
        ({"Fn::If": ["IsProd", f"{ARN}:hello", f"{ARN}:world"]}, "Fn::If inside a definition string"),
        ("a:b:c:d:e", "cannot read this function reference"),
    ],
)
def test_a_function_name_the_macro_cannot_read_is_unsupported(
    value: Any, detail: str, index: TemplateIndex
) -> None:
    target = _classify(value, FUNCTION_NAME, index)
    assert target.kind == report.UNSUPPORTED
    assert detail in target.detail


def test_a_function_name_that_is_not_a_string_is_unsupported(index: TemplateIndex) -> None:
    assert classify(None, FUNCTION_NAME, index) == Target(
        report.UNSUPPORTED, "?", detail="FunctionName is not a string"
    )


def test_an_unreadable_lambda_arn_as_a_resource_is_unsupported(index: TemplateIndex) -> None:
    target = _classify(f"{ARN}:hello:live:extra", RESOURCE, index)
    assert (target.kind, target.detail) == (report.UNSUPPORTED, "the macro cannot read this function ARN")


@pytest.mark.parametrize(
    "value",
    [
        f"arn:aws:states:{REGION}:{ACCOUNT}:activity:approve",
        "arn:aws:states:::sqs:sendMessage",
        {"Ref": "Queue"},
        {"Fn::GetAtt": ["Queue", "Arn"]},
        "hello",  # a Resource must be an ARN: a bare name is not a Lambda call
        None,
    ],
)
def test_a_resource_that_is_not_a_lambda_function_is_not_a_call(value: Any, index: TemplateIndex) -> None:
    assert _classify(value, RESOURCE, index).kind == NOT_LAMBDA


# ------------------------------------------------------------------------------ ambiguous
@pytest.mark.parametrize("value", ["shared", f"{ARN}:shared", f"{ACCOUNT}:function:shared"])
def test_a_name_two_functions_set_is_ambiguous_naming_both(value: str, index: TemplateIndex) -> None:
    target = _classify(value, FUNCTION_NAME, index)
    assert target.kind == AMBIGUOUS
    assert target.detail == "Blue and Green all set FunctionName shared"


def test_a_shared_name_by_logical_id_is_not_ambiguous(index: TemplateIndex) -> None:
    assert _classify({"Fn::GetAtt": ["Green", "Arn"]}, RESOURCE, index).function == "Green"


def test_a_shared_name_with_a_qualifier_is_still_not_pinned(index: TemplateIndex) -> None:
    target = _classify(f"{ARN}:shared:3", FUNCTION_NAME, index)
    assert target.kind == report.QUALIFIED
    assert target.function is None


def test_the_text_is_the_target_as_written_with_placeholders(index: TemplateIndex) -> None:
    target = _classify({"Fn::Join": ["", [{"Fn::GetAtt": ["Hello", "Arn"]}, ":live"]]}, RESOURCE, index)
    assert target.text == "${Hello.Arn}:live"


# ------------------------------------------------------------------------------ a name from a parameter
def _named_by_parameter(*functions: tuple[str, str | None]) -> TemplateIndex:
    resources = {
        logical_id: {**function(FunctionName={"Ref": "WorkerName"}), **({"Condition": c} if c else {})}
        for logical_id, c in functions
    }
    return TemplateIndex.build(resources, {"WorkerName": {"Type": "String"}}, REGION, ACCOUNT)


def test_a_function_name_that_is_the_parameter_the_function_is_named_by_is_pinned() -> None:
    """``FunctionName: !Ref WorkerName`` on the function and on the call: the same function, as the
    ``${WorkerName}`` ARN form is, not a function "outside this template"."""
    index = _named_by_parameter(("Worker", None))
    for value in ({"Ref": "WorkerName"}, {"Fn::Sub": "${WorkerName}"}, f"{ARN}:${{WorkerName}}"):
        value = value if not isinstance(value, str) else {"Fn::Sub": value}
        target = _classify(value, FUNCTION_NAME, index)
        assert (target.kind, target.function) == (PIN, "Worker"), value


def test_a_parameter_two_functions_take_their_name_from_is_ambiguous() -> None:
    index = _named_by_parameter(("Blue", "IsBlue"), ("Green", "IsGreen"))
    target = _classify({"Ref": "WorkerName"}, FUNCTION_NAME, index)
    assert (target.kind, target.detail) == (AMBIGUOUS, "Blue and Green all set FunctionName ${WorkerName}")


def test_a_parameter_no_function_is_named_by_stays_external() -> None:
    index = _named_by_parameter(("Worker", None))
    index = TemplateIndex.build(
        dict(index.resources),
        {"WorkerName": {"Type": "String"}, "Other": {"Type": "String"}},
        REGION,
        ACCOUNT,
    )
    target = _classify({"Ref": "Other"}, FUNCTION_NAME, index)
    assert target.kind == report.EXTERNAL
    assert "parameter Other" in target.detail


def test_a_legacy_resource_that_is_the_name_parameter_is_not_pinned() -> None:
    """A ``Resource`` must be an ARN; the function's name is not one."""
    index = _named_by_parameter(("Worker", None))
    assert _classify({"Ref": "WorkerName"}, RESOURCE, index).kind == report.EXTERNAL


# ------------------------------------------------------------------------------ qualifiers
@pytest.mark.parametrize(
    ("arguments", "note", "at_run_time"),
    [
        ({"FunctionName": "f"}, "", False),
        ({"FunctionName": "f", "Qualifier": "3"}, FIXED_QUALIFIER, False),
        ({"FunctionName": "f", "Qualifier": "live"}, FIXED_QUALIFIER, False),
        ({"FunctionName": "f", "Qualifier.$": "$.version"}, RUNTIME_QUALIFIER, True),
        ({"FunctionName": "f", "Qualifier": "{% $states.input.version %}"}, JSONATA_QUALIFIER, True),
    ],
)
def test_a_qualifier_chosen_at_run_time_is_told_from_a_fixed_one(
    arguments: dict[str, Any], note: str, at_run_time: bool
) -> None:
    assert qualifier_note(arguments) == note
    assert chosen_at_run_time(note) is at_run_time


@pytest.mark.parametrize(
    ("note", "reason"), [(RUNTIME_QUALIFIER, report.DYNAMIC), (FIXED_QUALIFIER, report.QUALIFIED)]
)
def test_a_call_to_a_function_of_the_template_with_a_qualifier(
    note: str, reason: str, index: TemplateIndex
) -> None:
    """``Qualifier.$`` may pick any version, ``$LATEST`` included: ``dynamic``; a written one is
    ``qualified``."""
    from sfn_exact_version.definitions import Call
    from sfn_exact_version.transform import _target

    value = {"Fn::GetAtt": ["Hello", "Arn"]}
    call = Call("States.Call", FUNCTION_NAME, value, ("States",), symbolic(value), qualified=note)
    target = _target(call, index)
    assert (target.kind, target.detail) == (reason, note)


# ------------------------------------------------------------------------------ Lambda API actions
@pytest.mark.parametrize(
    ("resource", "action"),
    [
        ("arn:aws:states:::aws-sdk:lambda:putFunctionConcurrency", "putFunctionConcurrency"),
        ("arn:aws:states:::aws-sdk:lambda:getFunctionConfiguration", "getFunctionConfiguration"),
        (
            "arn:aws-cn:states:::aws-sdk:lambda:deleteProvisionedConcurrencyConfig",
            "deleteProvisionedConcurrencyConfig",
        ),
        (
            "arn:aws:states:::aws-sdk:lambda:updateFunctionConfiguration.waitForTaskToken",
            "updateFunctionConfiguration",
        ),
        ("arn:aws:states:::aws-sdk:lambda:invoke", None),
        ("arn:aws:states:::aws-sdk:lambda:invokeAsync", None),  # runs the function: not management
        ("arn:aws:states:::aws-sdk:lambda:invokeWithResponseStream", None),
        ("arn:aws:states:::lambda:invoke", None),
        ("arn:aws:states:::lambda:invoke.waitForTaskToken", None),
        ("arn:aws:states:::aws-sdk:sqs:sendMessage", None),
        (f"{ARN}:hello", None),
    ],
)
def test_lambda_management_actions_are_told_from_invocations(resource: str, action: str | None) -> None:
    assert lambda_management_action(resource) == action
    assert (
        lambda_management_action(
            tuple(symbolic({"Fn::Sub": resource.replace(":aws:", ":${AWS::Partition}:")}))
        )
        == action
    )
