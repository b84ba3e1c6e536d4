"""A definition in S3 whose substitutions name no Lambda function: the macro sees none of its calls, and
the report says so rather than reporting nothing."""

from __future__ import annotations

from typing import Any

import pytest

from sfn_exact_version.report import definition_not_read
from sfn_exact_version.transform import transform
from support import ACCOUNT, REGION, function, getatt

S3 = {"Bucket": "artifacts", "Key": "flows/orders.asl.json"}


def _template(**properties: Any) -> dict[str, Any]:
    metadata = properties.pop("Metadata", None)
    machine: dict[str, Any] = {
        "Type": "AWS::StepFunctions::StateMachine",
        "Properties": {
            "RoleArn": "arn:aws:iam::123456789012:role/m",
            "DefinitionS3Location": S3,
            **properties,
        },
    }
    if metadata:
        machine["Metadata"] = metadata
    return {"Resources": {"Hello": function(), "Orders": machine}}


def _warnings(template: dict[str, Any]) -> list[str]:
    return [
        w
        for w in transform(template, region=REGION, account_id=ACCOUNT).report.warnings
        if "DefinitionS3Location" in w
    ]


@pytest.mark.parametrize(
    "properties",
    [
        {},
        {"DefinitionSubstitutions": {"TableName": {"Ref": "Table"}, "Size": "3"}},
    ],
)
def test_no_substitution_naming_a_function_is_a_warning(properties: dict[str, Any]) -> None:
    assert _warnings(_template(**properties)) == [definition_not_read("Orders")]
    assert definition_not_read("Orders").startswith(
        "Resources/Orders/Properties/DefinitionS3Location: the definition is in S3, which the macro does "
        "not read"
    )


@pytest.mark.parametrize(
    "properties",
    [
        {"DefinitionSubstitutions": {"HelloArn": getatt("Hello")}},  # pinned
        {
            "DefinitionSubstitutions": {"Other": "arn:aws:lambda:us-east-1:999999999999:function:x"}
        },  # external
        {"Metadata": {"SfnExactVersion": {"Pin": False}}},  # the user said so
    ],
)
def test_a_substitution_the_macro_reads_or_an_opt_out_is_no_warning(properties: dict[str, Any]) -> None:
    assert _warnings(_template(**properties)) == []


def test_the_warning_stays_on_a_second_run() -> None:
    first = transform(_template(), region=REGION, account_id=ACCOUNT)
    second = transform(first.template, region=REGION, account_id=ACCOUNT)
    assert second.report.warnings == first.report.warnings
