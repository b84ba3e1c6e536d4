"""Each definition reader on its own: what ``read_definition`` picks for each form, the call sites it
finds, and the Properties it writes when they are pinned.

Expected texts are written out by hand from the input, character by character, not copied from a run.
"""

from __future__ import annotations

import json
from typing import Any

import pytest

from sfn_exact_version.definitions import (
    S3_STATE,
    NoDefinition,
    ObjectDefinition,
    S3Definition,
    StringDefinition,
    read_definition,
)
from sfn_exact_version.definitions.text import FlatText
from sfn_exact_version.errors import TransformError
from sfn_exact_version.intrinsics import GET_ATT, Atom
from sfn_exact_version.targets import FUNCTION_NAME, RESOURCE

INVOKE = "arn:aws:states:::lambda:invoke"
GET_HELLO = {"Fn::GetAtt": ["Hello", "Arn"]}


def _task(function: Any) -> dict[str, Any]:
    return {"Type": "Task", "Resource": INVOKE, "Parameters": {"FunctionName": function}, "End": True}


# ------------------------------------------------------------------------------------ the factory
@pytest.mark.parametrize(
    ("properties", "reader"),
    [
        ({"Definition": {"StartAt": "A", "States": {}}}, ObjectDefinition),
        ({"DefinitionString": '{"StartAt": "A", "States": {}}'}, StringDefinition),
        ({"DefinitionS3Location": {"Bucket": "b", "Key": "k"}}, S3Definition),
        ({"RoleArn": "arn:aws:iam::123456789012:role/r"}, NoDefinition),
    ],
)
def test_the_factory_picks_one_reader_per_form(properties: dict[str, Any], reader: type) -> None:
    definition = read_definition("Sm", properties)
    assert type(definition) is reader
    assert definition.calls() == []
    assert definition.apply() is None


def test_two_definition_properties_are_refused_naming_both() -> None:
    with pytest.raises(TransformError) as raised:
        read_definition("Sm", {"Definition": {}, "DefinitionString": "{}"})
    assert "Resources/Sm/Properties" in str(raised.value)
    assert "Definition and DefinitionString" in str(raised.value)


def test_a_definition_that_cannot_be_read_fails_in_construction() -> None:
    with pytest.raises(TransformError) as raised:
        read_definition("Sm", {"DefinitionString": '{"States": '})
    assert "Resources/Sm/Properties/DefinitionString" in str(raised.value)
    assert "not valid JSON" in str(raised.value)
    with pytest.raises(TransformError) as raised:
        read_definition("Sm", {"Definition": ["not", "an", "object"]})
    assert "Resources/Sm/Properties/Definition" in str(raised.value)


# ------------------------------------------------------------------------------ Definition object
def test_object_reader_finds_calls_and_writes_ref_of_the_version() -> None:
    properties = {"Definition": {"StartAt": "A", "States": {"A": _task(GET_HELLO)}}}
    definition = read_definition("Sm", properties)
    (call,) = definition.calls()
    assert (call.state, call.context, call.json_path) == (
        "States.A",
        FUNCTION_NAME,
        ("States", "A", "Parameters", "FunctionName"),
    )
    assert call.target == (Atom(GET_ATT, "Hello", "Arn"),)
    assert definition.location == "Resources/Sm/Properties/Definition"
    assert definition.pin(call, "HelloVersion")
    new = definition.apply()
    assert new is not None
    assert new["Definition"]["States"]["A"]["Parameters"]["FunctionName"] == {"Ref": "HelloVersion"}
    assert properties["Definition"]["States"]["A"]["Parameters"]["FunctionName"] == GET_HELLO  # untouched


def test_object_reader_pins_each_side_of_an_fn_if() -> None:
    target = {"Fn::If": ["IsProd", GET_HELLO, {"Fn::GetAtt": ["Other", "Arn"]}]}
    definition = read_definition("Sm", {"Definition": {"States": {"A": _task(target)}}})
    calls = definition.calls()
    assert [call.state for call in calls] == [
        "States.A (Fn::If IsProd: true)",
        "States.A (Fn::If IsProd: false)",
    ]
    for call, version in zip(calls, ("HelloV", "OtherV"), strict=True):
        assert definition.pin(call, version)
    new = definition.apply()
    assert new is not None
    written = new["Definition"]["States"]["A"]["Parameters"]["FunctionName"]
    assert written == {"Fn::If": ["IsProd", {"Ref": "HelloV"}, {"Ref": "OtherV"}]}


def test_object_reader_rewrites_a_substitution_used_only_by_pinned_calls() -> None:
    properties = {
        "Definition": {"States": {"A": _task("${fn}"), "B": _task("${fn}")}},
        "DefinitionSubstitutions": {"fn": GET_HELLO},
    }
    definition = read_definition("Sm", properties)
    for call in definition.calls():
        definition.pin(call, "HelloV")
    new = definition.apply()
    assert new is not None
    assert new["DefinitionSubstitutions"] == {"fn": {"Ref": "HelloV"}}
    assert new["Definition"] is properties["Definition"]  # the definition itself shared, not copied


# ----------------------------------------------------------------------------- DefinitionString
def test_string_reader_reads_a_plain_string() -> None:
    text = json.dumps(
        {"States": {"A": {"Type": "Task", "Resource": "arn:aws:lambda:us-east-1:1:function:f"}}}
    )
    definition = read_definition("Sm", {"DefinitionString": text})
    (call,) = definition.calls()
    assert (call.state, call.context, call.value) == (
        "States.A",
        RESOURCE,
        "arn:aws:lambda:us-east-1:1:function:f",
    )


def test_string_reader_reads_sams_join_and_rewrites_the_substitution() -> None:
    lines = [
        "{",
        '  "States": {',
        '    "A": {"Type": "Task", "Resource": "arn:aws:states:::lambda:invoke",',
        '          "Parameters": {"FunctionName": "${fn_1}"}, "End": true}',
        "  }",
        "}",
    ]
    properties = {
        "DefinitionString": {"Fn::Join": ["\n", lines]},
        "DefinitionSubstitutions": {"fn_1": GET_HELLO, "table": "t"},
    }
    definition = read_definition("Sm", properties)
    (call,) = definition.calls()
    assert call.state == "States.A"
    assert call.target == (Atom(GET_ATT, "Hello", "Arn"),)
    assert definition.pin(call, "HelloV")
    new = definition.apply()
    assert new is not None
    assert new["DefinitionSubstitutions"] == {"fn_1": {"Ref": "HelloV"}, "table": "t"}
    assert new["DefinitionString"] is properties["DefinitionString"]  # the lines stay as they were


def test_string_reader_reads_fn_sub_with_a_getatt_placeholder() -> None:
    text = '{"States": {"A": {"Type": "Task", "Resource": "${Hello.Arn}", "End": true}}}'
    definition = read_definition("Sm", {"DefinitionString": {"Fn::Sub": text}})
    (call,) = definition.calls()
    assert call.target == (Atom(GET_ATT, "Hello", "Arn"),)
    assert definition.pin(call, "HelloV")
    new = definition.apply()
    assert new is not None
    assert new["DefinitionString"]["Fn::Sub"] == text.replace("${Hello.Arn}", "${HelloV}")


def test_string_reader_reads_a_placeholder_written_outside_a_string() -> None:
    text = '{"States": {"A": {"Type": "Pass", "TimeoutSeconds": ${timeout}, "End": true}}}'
    definition = read_definition("Sm", {"DefinitionString": text, "DefinitionSubstitutions": {"timeout": 30}})
    assert definition.calls() == []
    assert isinstance(definition, StringDefinition)
    assert list(definition.document["States"]) == ["A"]


def test_string_reader_refuses_a_join_item_that_is_not_text_or_a_function() -> None:
    with pytest.raises(TransformError) as raised:
        read_definition("Sm", {"DefinitionString": {"Fn::Join": ["", ["{", 5, "}"]]}})
    assert "Fn::Join item 1 is a JSON number" in str(raised.value)


def test_string_reader_finds_data_references_outside_call_targets_only() -> None:
    lines = [
        '{"States": {',
        '  "P": {"Type": "Pass", "Result": {"fn": "${fn_data}"}, "Next": "A"},',
        '  "A": {"Type": "Task", "Resource": "arn:aws:states:::lambda:invoke",',
        '        "Parameters": {"FunctionName": "${fn_call}"}, "End": true}}}',
    ]
    properties = {
        "DefinitionString": {"Fn::Join": ["\n", lines]},
        "DefinitionSubstitutions": {"fn_data": GET_HELLO, "fn_call": GET_HELLO},
    }
    named = list(read_definition("Sm", properties).named_in_data())
    assert named == [("States.P.Result.fn", Atom(GET_ATT, "Hello", "Arn"))]
    properties["DefinitionSubstitutions"] = {"fn_data": "just text", "fn_call": GET_HELLO}
    assert list(read_definition("Sm", properties).named_in_data()) == []


# ------------------------------------------------------------------------- DefinitionS3Location
def test_s3_reader_offers_each_substitution_as_a_possible_call() -> None:
    properties = {
        "DefinitionS3Location": {"Bucket": "b", "Key": "k"},
        "DefinitionSubstitutions": {
            "HelloArn": GET_HELLO,
            "Either": {"Fn::If": ["C", GET_HELLO, {"Ref": "AWS::NoValue"}]},
        },
    }
    definition = read_definition("Sm", properties)
    calls = definition.calls()
    assert [call.state for call in calls] == [
        f"{S3_STATE} ${{HelloArn}}",
        f"{S3_STATE} ${{Either}} (Fn::If C: true)",
    ]
    assert all(not call.sure and call.context == FUNCTION_NAME for call in calls)
    assert definition.location == "Resources/Sm/Properties/DefinitionSubstitutions"
    for call in calls:
        assert definition.pin(call, "HelloV")
    new = definition.apply()
    assert new is not None
    assert new["DefinitionSubstitutions"] == {
        "HelloArn": {"Ref": "HelloV"},
        "Either": {"Fn::If": ["C", {"Ref": "HelloV"}, {"Ref": "AWS::NoValue"}]},
    }
    assert properties["DefinitionSubstitutions"]["HelloArn"] == GET_HELLO  # untouched


# ------------------------------------------------------------- SAM's form read directly or by pieces
def _lines_with(function_line: str) -> list[str]:
    return [
        '{"States": {"A": {"Type": "Task", "Resource": "arn:aws:states:::lambda:invoke",',
        function_line,
        '"End": true}}}',
    ]


@pytest.mark.parametrize("delimiter", ["", "\n", " ", "\t"])
def test_a_join_of_strings_read_directly_gives_what_the_pieces_give(delimiter: str) -> None:
    items = _lines_with('"Parameters": {"FunctionName": "${fn_1}", "Payload": {"t": "${table}"}},')
    substitutions = {"fn_1": GET_HELLO, "table": {"Ref": "Table"}}
    text = FlatText("Sm", {"Fn::Join": [delimiter, items]}, substitutions)
    assert text.direct
    direct = (list(text.occurrences), text.parse_text)
    pieces, starts = text.layout()  # the piece-by-piece reading, checked against the direct one
    assert (list(text.occurrences), text.parse_text) == direct
    assert [occurrence.name for occurrence in text.occurrences] == ["fn_1", "table"]
    (first, second) = text.occurrences
    assert first.container is not None and first.container.path == ("DefinitionString", "Fn::Join", 1, 1)
    line = items[1]
    assert first.span == (line.index("${fn_1}"), line.index("${fn_1}") + len("${fn_1}"))
    assert second.span[0] == line.index("${table}")
    assert len(pieces) == len(starts) > 2


def test_a_placeholder_split_across_join_items_is_read_item_by_item() -> None:
    # "${fn" and "_1}" are two items: CloudFormation substitutes in the joined string, but the macro reads
    # placeholders item by item (as before the direct reading), so neither item holds one.
    items = [*_lines_with('"Parameters": {"FunctionName": "${fn'), '_1}"},', '"End": true}}}']
    items = [items[0], items[1], items[3], '"End": true}}}']
    text = FlatText("Sm", {"Fn::Join": ["", items]}, {"fn_1": GET_HELLO})
    assert text.occurrences == []
    text.layout()
    assert text.occurrences == []
    definition = read_definition(
        "Sm", {"DefinitionString": {"Fn::Join": ["", items]}, "DefinitionSubstitutions": {"fn_1": GET_HELLO}}
    )
    (call,) = definition.calls()
    assert call.value == "${fn_1}"
