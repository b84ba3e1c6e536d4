"""index: what each logical ID is, which versions and aliases belong to which function (found by their
``FunctionName``, never by a naming pattern), names several functions share, and ARNs taken apart."""

from __future__ import annotations

from typing import Any

import pytest

from sfn_exact_version.index import (
    LambdaReference,
    TemplateIndex,
    opted_out,
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
        ({"Metadata": {"SfnExactVersion": {"Pin": "false"}}}, False),  # only the boolean opts out
        ({"Metadata": {"SfnExactVersion": {"Pin": True}}}, False),
        ({"Metadata": {"Other": {"Pin": False}}}, False),
        ({"Metadata": "text"}, False),
        ({}, False),
    ],
)
def test_opting_out_takes_pin_false_in_the_resources_metadata(
    resource: dict[str, Any], expected: bool
) -> None:
    assert opted_out(resource) is expected


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
