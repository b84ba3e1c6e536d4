"""Edits land at the exact characters of the call they pin, in whichever string of the resource holds
them, and nowhere else: every other byte of the definition stays as written."""

from __future__ import annotations

from typing import Any

from sfn_exact_version.definitions import read_definition
from sfn_exact_version.definitions.edits import Plan, apply_plan

ARN = "arn:aws:lambda:us-east-1:123456789012:function:hello"


def _pin_all(properties: dict[str, Any], version: str = "HelloV") -> dict[str, Any]:
    definition = read_definition("Sm", properties)
    for call in definition.calls():
        assert definition.pin(call, version)
    new = definition.apply()
    assert new is not None
    return new


def test_a_literal_arn_in_a_plain_string_becomes_a_new_substitution_in_place() -> None:
    text = '{ "States" : {"A": {"Type":"Task",  "Resource": "' + ARN + '", "End":true}}}'
    new = _pin_all({"DefinitionString": text})
    start = text.index(ARN)
    assert new["DefinitionString"] == text[:start] + "${HelloV}" + text[start + len(ARN) :]
    assert new["DefinitionSubstitutions"] == {"HelloV": {"Ref": "HelloV"}}


def test_the_new_substitution_key_avoids_the_keys_already_there() -> None:
    text = '{"States": {"A": {"Type": "Task", "Resource": "' + ARN + '", "End": true}}}'
    new = _pin_all({"DefinitionString": text, "DefinitionSubstitutions": {"HelloV": "taken"}})
    assert "${HelloV2}" in new["DefinitionString"]
    assert new["DefinitionSubstitutions"] == {"HelloV": "taken", "HelloV2": {"Ref": "HelloV"}}


def test_an_edit_inside_one_line_of_a_join_touches_only_that_line() -> None:
    lines = [
        "{",
        '  "States": {',
        '    "A": {"Type": "Task", "Resource": "' + ARN + '", "End": true}',
        "  }",
        "}",
    ]
    new = _pin_all({"DefinitionString": {"Fn::Join": ["\n", lines]}})
    written = new["DefinitionString"]["Fn::Join"][1]
    assert written[:2] == lines[:2] and written[3:] == lines[3:]
    assert written[2] == '    "A": {"Type": "Task", "Resource": "${HelloV}", "End": true}'


def test_a_function_arn_built_in_fn_sub_is_replaced_by_the_version_placeholder() -> None:
    text = (
        '{"States": {"A": {"Type": "Task", '
        '"Resource": "arn:${AWS::Partition}:lambda:${AWS::Region}:${AWS::AccountId}:function:${Hello}", '
        '"End": true}}}'
    )
    new = _pin_all({"DefinitionString": {"Fn::Sub": text}, "DefinitionSubstitutions": {}})
    start = text.index("arn:${AWS::Partition}")
    end = text.index("${Hello}") + len("${Hello}")
    assert new["DefinitionString"]["Fn::Sub"] == text[:start] + "${HelloV}" + text[end:]


def test_a_target_that_is_one_intrinsic_item_of_a_join_becomes_ref_of_the_version() -> None:
    items = ['{"States": {"A": {"Type": "Task", "Resource": "', {"Fn::GetAtt": ["Hello", "Arn"]}, '"}}}']
    new = _pin_all({"DefinitionString": {"Fn::Join": ["", items]}})
    assert new["DefinitionString"]["Fn::Join"][1] == [items[0], {"Ref": "HelloV"}, items[2]]


def test_several_edits_in_one_string_apply_from_the_end() -> None:
    plan = Plan(container_edits={("DefinitionString",): [(0, 3, "X"), (6, 9, "YY")]})
    assert apply_plan({"DefinitionString": "abc---def!"}, plan) == {"DefinitionString": "X---YY!"}


def test_an_empty_plan_writes_nothing_and_shares_the_input() -> None:
    properties = {"DefinitionString": "{}"}
    assert apply_plan(properties, Plan()) is None
    plan = Plan(value_edits={("DefinitionSubstitutions", "a"): {"Ref": "V"}})
    shared = {"x": [1]}
    new = apply_plan({"DefinitionSubstitutions": {"a": 1}, "Other": shared}, plan)
    assert new is not None
    assert new["DefinitionSubstitutions"] == {"a": {"Ref": "V"}}
    assert new["Other"] is shared
