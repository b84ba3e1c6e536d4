"""index: what each logical ID is, which versions and aliases belong to which function (found by their
``FunctionName``, never by a naming pattern), names several functions share, and ARNs taken apart."""

from __future__ import annotations

from typing import Any

import pytest

from sfn_exact_version.index import (
    LambdaReference,
    TemplateIndex,
    opted_out,
    option,
    option_problems,
    parse_lambda_reference,
    partition_of,
)
from sfn_exact_version.intrinsics import GET_ATT, REF, Atom
from support import ACCOUNT, REGION, function, getatt

PSEUDO = {"AWS::Partition": "aws", "AWS::Region": REGION, "AWS::AccountId": ACCOUNT}


def _version(target: Any) -> dict[str, Any]:
    return {"Type": "AWS::Lambda::Version", "Properties": {"FunctionName": target}}


def _alias(target: Any) -> dict[str, Any]:
    return {"Type": "AWS::Lambda::Alias", "Properties": {"FunctionName": target, "Name": "live"}}


def _index(
    resources: dict[str, Any], parameters: dict[str, Any] | None = None, **kwargs: Any
) -> TemplateIndex:
    return TemplateIndex.build(resources, parameters or {}, REGION, ACCOUNT, **kwargs)


# ------------------------------------------------------------------------------ small facts
@pytest.mark.parametrize(
    ("region", "partition"),
    [
        ("eu-west-1", "aws"),
        ("us-east-1", "aws"),
        ("cn-north-1", "aws-cn"),
        ("us-gov-west-1", "aws-us-gov"),
        ("us-iso-east-1", "aws-iso"),
        ("us-isob-east-1", "aws-iso-b"),
    ],
)
def test_partition_of_a_region(region: str, partition: str) -> None:
    assert partition_of(region) == partition


@pytest.mark.parametrize(
    ("resource", "expected"),
    [
        ({"Metadata": {"SfnExactVersion": {"Pin": False}}}, True),
        ({"Metadata": {"SfnExactVersion": {"Pin": "false"}}}, True),  # as CloudFormation users write it
        ({"Metadata": {"SfnExactVersion": {"Pin": "False"}}}, True),
        ({"Metadata": {"SfnExactVersion": {"Pin": True}}}, False),
        ({"Metadata": {"SfnExactVersion": {"Pin": "true"}}}, False),
        ({"Metadata": {"SfnExactVersion": {"Pin": "no"}}}, False),  # refused by option_problems
        ({"Metadata": {"SfnExactVersion": {"Pin": 0}}}, False),
        ({"Metadata": {"Other": {"Pin": False}}}, False),
        ({"Metadata": "text"}, False),
        ({}, False),
    ],
)
def test_opting_out_takes_pin_false_in_the_resources_metadata(
    resource: dict[str, Any], expected: bool
) -> None:
    assert opted_out(resource) is expected


@pytest.mark.parametrize(
    ("kind", "options"),
    [
        ("AWS::StepFunctions::StateMachine", {"Pin": False}),
        ("AWS::StepFunctions::StateMachine", {"Pin": "true"}),
        ("AWS::Lambda::Function", {"Pin": "false", "RetainFunction": "false"}),
        ("AWS::Lambda::Function", {"RetainFunction": True}),
        ("AWS::Lambda::Function", {}),
        # SAM copies a state machine's or function's Metadata to the role and version it generates
        ("AWS::IAM::Role", {"pin": "no"}),
        ("AWS::Lambda::Version", "anything"),
    ],
)
def test_options_that_can_be_read_are_no_problem(kind: str, options: Any) -> None:
    assert option_problems("R", {"Type": kind, "Metadata": {"SfnExactVersion": options}}) == []


@pytest.mark.parametrize(
    ("kind", "options", "path", "said"),
    [
        ("AWS::StepFunctions::StateMachine", {"pin": False}, "", "unknown key pin (did you mean Pin?)"),
        ("AWS::StepFunctions::StateMachine", {"Pinned": False}, "", "unknown key Pinned. "),
        (
            "AWS::StepFunctions::StateMachine",
            {"RetainFunction": False},
            "",
            "RetainFunction does not apply to a AWS::StepFunctions::StateMachine",
        ),
        ("AWS::Lambda::Function", {"RetainFunction": "no"}, "/RetainFunction", "'no' is not true or false"),
        ("AWS::Lambda::Function", {"Pin": 0}, "/Pin", "0 is not true or false"),
        ("AWS::Lambda::Function", {"Pin": None}, "/Pin", "None is not true or false"),
        ("AWS::Lambda::Function", "false", "", "must be an object"),
    ],
)
def test_options_the_macro_cannot_read_are_problems_naming_resource_key_and_values(
    kind: str, options: Any, path: str, said: str
) -> None:
    """An option ignored would pin what the user asked the macro to leave alone: each is a problem at
    ``Resources/<id>/Metadata/SfnExactVersion[/<key>]`` with the accepted keys or values."""
    (problem,) = option_problems("R", {"Type": kind, "Metadata": {"SfnExactVersion": options}})
    assert problem.path == f"Resources/R/Metadata/SfnExactVersion{path}"
    assert problem.resource == "R"
    assert said in problem.message
    accepted = "Pin: false, RetainFunction: false" if kind == "AWS::Lambda::Function" else "Pin: false"
    assert problem.fix in problem.message
    if path:
        assert problem.fix.startswith(f"Write {path[1:]}: false")
    else:
        assert accepted in problem.fix


def test_option_reads_booleans_and_their_strings() -> None:
    def options(value: Any) -> dict[str, Any]:
        return {"Metadata": {"SfnExactVersion": {"RetainFunction": value}}}

    assert [option(options(v), "RetainFunction") for v in (False, "false", " FALSE ", True, "true")] == [
        False,
        False,
        False,
        True,
        True,
    ]
    assert option(options("nope"), "RetainFunction") is None
    assert option({}, "RetainFunction") is None


def test_the_stacks_pseudo_parameters_come_from_region_and_account() -> None:
    assert _index({}).pseudo == PSEUDO
    assert TemplateIndex.build({}, {}, "cn-north-1", None).pseudo == {
        "AWS::Region": "cn-north-1",
        "AWS::Partition": "aws-cn",
    }
    assert TemplateIndex.build({}, {}, None, None).pseudo == {}


def test_types_parameters_conditions_and_mappings() -> None:
    index = _index(
        {"Fn": function(), "Topic": {"Type": "AWS::SNS::Topic"}},
        {"Stage": {"Type": "String"}},
        conditions={"IsProd": {}},
        mappings="not an object",
    )
    assert index.type_of("Fn") == "AWS::Lambda::Function"
    assert index.type_of("Topic") == "AWS::SNS::Topic"
    assert index.type_of("Stage") is None
    assert index.is_parameter("Stage") and not index.is_parameter("Fn")
    assert index.conditions == {"IsProd": {}}
    assert index.mappings == {}


# ------------------------------------------------------------------------------ versions and aliases
@pytest.mark.parametrize(
    "target",
    [
        {"Ref": "Hello"},
        getatt("Hello"),
        {"Fn::GetAtt": "Hello.Arn"},
        "hello",  # the function's explicit FunctionName
        f"arn:aws:lambda:{REGION}:{ACCOUNT}:function:hello",
        {"Fn::Sub": "arn:${AWS::Partition}:lambda:${AWS::Region}:${AWS::AccountId}:function:hello"},
        f"{ACCOUNT}:function:hello",  # a partial ARN
    ],
)
def test_a_version_belongs_to_the_function_its_function_name_names(target: Any) -> None:
    index = _index({"Hello": function(FunctionName="hello"), "V": _version(target)})
    assert index.versions_of == {"Hello": ["V"]}
    assert index.function_of == {"V": "Hello"}


@pytest.mark.parametrize(
    "target",
    [
        "hello:3",  # qualified: a version of a version is not a thing
        f"arn:aws:lambda:us-east-1:{ACCOUNT}:function:hello",  # another Region's function
        f"arn:aws:lambda:{REGION}:999999999999:function:hello",  # another account's
        "other",
        {"Ref": "Param"},
    ],
)
def test_a_version_of_another_function_belongs_to_none(target: Any) -> None:
    index = _index({"Hello": function(FunctionName="hello"), "V": _version(target)}, {"Param": {}})
    assert index.versions_of == {}
    assert "V" not in index.function_of


def test_versions_are_found_whatever_their_logical_ids() -> None:
    index = _index(
        {
            "Hello": function(),
            "HelloVersion0defaefe45": _version({"Ref": "Hello"}),  # SAM's name
            "CurrentVersionABCDEF": _version(getatt("Hello")),  # CDK's name
            "LiveAlias": _alias({"Ref": "Hello"}),
        }
    )
    assert index.versions_of == {"Hello": ["HelloVersion0defaefe45", "CurrentVersionABCDEF"]}
    assert index.aliases_of == {"Hello": ["LiveAlias"]}
    assert index.function_of["LiveAlias"] == "Hello"


# ------------------------------------------------------------------------------ names
def test_a_name_one_function_sets_resolves_to_it() -> None:
    index = _index({"Hello": function(FunctionName="hello"), "World": function()})
    assert index.explicit_names == {"Hello": ("hello",)}
    assert index.by_name == {("hello",): "Hello"}
    assert index.shared_names == {}
    assert index.function_named(("hello",)) == "Hello"


def test_a_name_several_functions_set_under_conditions_is_shared_not_resolved() -> None:
    blue = {**function(FunctionName="hello"), "Condition": "IsBlue"}
    green = {**function(FunctionName="hello"), "Condition": "IsGreen"}
    index = _index({"Blue": blue, "Green": green, "V": _version("hello")})
    assert index.shared_names == {("hello",): ["Blue", "Green"]}
    assert index.by_name == {}
    assert index.function_named(("hello",)) is None
    assert index.versions_of == {}  # a version of "hello" cannot be told to belong to one of them
    # A reference by logical ID is never ambiguous.
    assert index.function_of_reference({"Ref": "Blue"}) == "Blue"


def test_a_name_built_from_pseudo_parameters_is_matched_symbolically() -> None:
    index = _index({"Hello": function(FunctionName={"Fn::Sub": "hello-${AWS::Region}"})})
    assert index.function_of_reference({"Fn::Join": ["-", ["hello", {"Ref": "AWS::Region"}]]}) == "Hello"


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ((Atom(REF, "Hello"),), "Hello"),
        ((Atom(GET_ATT, "Hello", "Arn"),), "Hello"),
        ((Atom(GET_ATT, "Hello", "Version"),), None),  # not the function's ARN
        ((Atom(REF, "Topic"),), None),  # not a function
        (("hello",), "Hello"),
        (("nobody",), None),
        ((), None),
        (None, None),
    ],
)
def test_function_named(value: Any, expected: str | None) -> None:
    index = _index({"Hello": function(FunctionName="hello"), "Topic": {"Type": "AWS::SNS::Topic"}})
    assert index.function_named(value) == expected


def test_function_of_reference_takes_unqualified_names_and_arns_of_this_stack_only() -> None:
    index = _index({"Hello": function(FunctionName="hello")})
    assert index.function_of_reference(f"arn:aws:lambda:{REGION}:{ACCOUNT}:function:hello") == "Hello"
    assert index.function_of_reference(f"arn:aws:lambda:{REGION}:{ACCOUNT}:function:hello:live") is None
    assert index.function_of_reference(f"arn:aws-cn:lambda:{REGION}:{ACCOUNT}:function:hello") is None
    assert index.function_of_reference(None) is None
    assert index.function_of_reference("") is None


# ------------------------------------------------------------------------------ ARNs taken apart
@pytest.mark.parametrize(
    ("text", "bare", "expected"),
    [
        (
            (f"arn:aws:lambda:{REGION}:{ACCOUNT}:function:hello",),
            False,
            LambdaReference(("hello",), None, False),
        ),
        (
            (f"arn:aws:lambda:{REGION}:{ACCOUNT}:function:hello:3",),
            False,
            LambdaReference(("hello",), ("3",), False),
        ),
        ((f"{ACCOUNT}:function:hello",), False, LambdaReference(("hello",), None, False)),
        ((f"{ACCOUNT}:function:hello:live",), False, LambdaReference(("hello",), ("live",), False)),
        (("hello",), True, LambdaReference(("hello",), None, False)),
        (("hello:$LATEST",), True, LambdaReference(("hello",), ("$LATEST",), False)),
        (("hello",), False, None),  # a bare name only where a name is allowed (FunctionName)
        ((f"arn:aws:states:{REGION}:{ACCOUNT}:activity:wait",), True, None),
        ((f"arn:aws:lambda:{REGION}:{ACCOUNT}:function:",), False, None),  # no name
        ((f"arn:aws:lambda:{REGION}:{ACCOUNT}:function:a:b:c",), False, None),  # too many fields
        ((), True, None),
    ],
)
def test_parse_literal_references(text: Any, bare: bool, expected: LambdaReference | None) -> None:
    assert parse_lambda_reference(text, PSEUDO, allow_bare_name=bare) == expected


def test_getatt_arn_with_and_without_a_qualifier() -> None:
    hello = Atom(GET_ATT, "Hello", "Arn")
    assert parse_lambda_reference((hello,), PSEUDO, False) == LambdaReference(
        (Atom(REF, "Hello"),), None, False
    )
    assert parse_lambda_reference((hello, ":live"), PSEUDO, False) == LambdaReference(
        (Atom(REF, "Hello"),), ("live",), False
    )
    assert parse_lambda_reference((hello, "-x"), PSEUDO, False) is None


@pytest.mark.parametrize(
    "arn",
    [
        f"arn:aws:lambda:us-east-1:{ACCOUNT}:function:hello",
        f"arn:aws:lambda:{REGION}:999999999999:function:hello",
        f"arn:aws-cn:lambda:{REGION}:{ACCOUNT}:function:hello",
    ],
)
def test_a_literal_region_account_or_partition_other_than_the_stacks_is_foreign(arn: str) -> None:
    parsed = parse_lambda_reference((arn,), PSEUDO, False)
    assert parsed is not None and parsed.foreign


def test_pseudo_parameters_in_an_arn_are_the_stacks_own() -> None:
    value = ("arn:", Atom(REF, "AWS::Partition"), ":lambda:", Atom(REF, "AWS::Region"), ":")
    value += (Atom(REF, "AWS::AccountId"), ":function:hello")
    assert parse_lambda_reference(value, PSEUDO, False) == LambdaReference(("hello",), None, False)


def test_without_a_known_region_no_literal_region_is_foreign() -> None:
    parsed = parse_lambda_reference(("arn:aws:lambda:us-east-1:1:function:hello",), {}, False)
    assert parsed == LambdaReference(("hello",), None, False)


def test_the_transform_honours_string_opt_outs_and_refuses_unreadable_ones() -> None:
    """``Pin: "false"`` leaves the state machine alone, ``RetainFunction: "false"`` gives up the
    function's Retain; ``RetainFunction: "no"`` fails the transform before anything is pinned."""
    from sfn_exact_version.errors import ProblemReason, TransformError
    from sfn_exact_version.transform import transform

    def fragment(machine_options: Any, function_options: Any) -> dict[str, Any]:
        return {
            "Resources": {
                "Fn": {**function(), "Metadata": {"SfnExactVersion": function_options}},
                "Sm": {
                    "Type": "AWS::StepFunctions::StateMachine",
                    "Metadata": {"SfnExactVersion": machine_options},
                    "Properties": {
                        "RoleArn": "arn:aws:iam::123456789012:role/machine",
                        "Definition": {
                            "StartAt": "A",
                            "States": {"A": {"Type": "Task", "Resource": getatt("Fn"), "End": True}},
                        },
                    },
                },
            }
        }

    report = transform(fragment({"Pin": "false"}, {}), region=REGION, account_id=ACCOUNT).report.to_dict()
    assert report["Pinned"] == [] and [i["Reason"] for i in report["LeftAlone"]] == ["opted-out"]
    result = transform(
        fragment({"Pin": True}, {"RetainFunction": "false"}), region=REGION, account_id=ACCOUNT
    )
    assert [p["Function"] for p in result.report.to_dict()["Pinned"]] == ["Fn"]
    assert "DeletionPolicy" not in result.template["Resources"]["Fn"]
    with pytest.raises(TransformError) as raised:
        transform(fragment({}, {"RetainFunction": "no"}), region=REGION, account_id=ACCOUNT)
    (problem,) = raised.value.problems
    assert problem.reason == ProblemReason.OPTIONS
    assert problem.path == "Resources/Fn/Metadata/SfnExactVersion/RetainFunction"
