"""The definition interface cannot be used out of order: a reader exists only read, ``apply`` gives the
same answer every time, a pin after ``apply`` or of another definition's call is refused."""

from __future__ import annotations

import copy
from typing import Any

import pytest

from sfn_exact_version.definitions import read_definition

INVOKE = "arn:aws:states:::lambda:invoke"


def _sam(function_keys: list[str]) -> dict[str, Any]:
    lines = ["{", '  "States": {']
    for position, key in enumerate(function_keys):
        end = "" if position == len(function_keys) - 1 else ","
        lines.append(
            f'    "S{position}": {{"Type": "Task", "Resource": "{INVOKE}", '
            f'"Parameters": {{"FunctionName": "${{{key}}}"}}, "End": true}}{end}'
        )
    lines += ["  }", "}"]
    return {
        "DefinitionString": {"Fn::Join": ["\n", lines]},
        "DefinitionSubstitutions": {key: {"Fn::GetAtt": ["Hello", "Arn"]} for key in function_keys},
    }


FORMS = {
    "object": {
        "Definition": {"States": {"A": {"Type": "Task", "Resource": {"Fn::GetAtt": ["Hello", "Arn"]}}}}
    },
    "string": _sam(["fn_1", "fn_2"]),
    "fn-sub": {
        "DefinitionString": {"Fn::Sub": '{"States": {"A": {"Type": "Task", "Resource": "${Hello.Arn}"}}}'}
    },
    "s3": {
        "DefinitionS3Location": "s3://b/k",
        "DefinitionSubstitutions": {"F": {"Fn::GetAtt": ["Hello", "Arn"]}},
    },
}


@pytest.mark.parametrize("form", FORMS)
def test_apply_twice_gives_the_same_answer(form: str) -> None:
    properties = copy.deepcopy(FORMS[form])
    definition = read_definition("Sm", properties)
    for call in definition.calls():
        assert definition.pin(call, "HelloV")
    first = definition.apply()
    assert first is not None
    snapshot = copy.deepcopy(first)
    second = definition.apply()
    assert second == snapshot
    assert properties == FORMS[form]  # the input is never changed


@pytest.mark.parametrize("form", FORMS)
def test_a_pin_after_apply_is_refused_and_changes_nothing(form: str) -> None:
    definition = read_definition("Sm", copy.deepcopy(FORMS[form]))
    calls = definition.calls()
    assert calls
    applied = definition.apply()
    assert applied is None  # nothing was pinned
    with pytest.raises(RuntimeError, match="already applied"):
        definition.pin(calls[0], "HelloV")
    assert definition.apply() is None


def test_a_call_of_another_definition_is_refused() -> None:
    one = read_definition("One", _sam(["fn_1"]))
    other = read_definition("Other", _sam(["fn_1"]))
    (call,) = other.calls()
    assert call == one.calls()[0]  # equal, yet not one's own call
    with pytest.raises(ValueError, match="not a call of this definition"):
        one.pin(call, "HelloV")


def test_calls_are_found_once_and_a_returned_list_cannot_change_the_reader() -> None:
    definition = read_definition("Sm", _sam(["fn_1", "fn_2"]))
    calls = definition.calls()
    calls.clear()
    again = definition.calls()
    assert [call.state for call in again] == ["States.S0", "States.S1"]
    assert again[0] is definition.calls()[0]


def test_a_shared_substitution_is_rewritten_only_when_every_use_is_pinned_to_one_version() -> None:
    # fn_1 is used by both states: pinning one of them must not rewrite the substitution, which the
    # other state still reads; the pinned state's text gets a new substitution instead.
    definition = read_definition("Sm", _sam(["fn_1", "fn_1"]))
    first, _second = definition.calls()
    assert definition.pin(first, "HelloV")
    new = definition.apply()
    assert new is not None
    assert new["DefinitionSubstitutions"] == {
        "fn_1": {"Fn::GetAtt": ["Hello", "Arn"]},
        "HelloV": {"Ref": "HelloV"},
    }
    lines = new["DefinitionString"]["Fn::Join"][1]
    assert '"FunctionName": "${HelloV}"' in lines[2]
    assert '"FunctionName": "${fn_1}"' in lines[3]
