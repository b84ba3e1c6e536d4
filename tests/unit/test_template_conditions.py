"""decisions.conditions: a template's Conditions under one deploy's values, with "unknown" as an answer."""

from __future__ import annotations

from typing import Any

import pytest

from sfn_exact_version.decisions.conditions import MAX_VARIANTS, Conditions

VALUES = {"Stage": "prod", "Region": "eu-west-1", "Count": "3"}


def text(value: Any) -> str | None:
    """Literal strings, and Ref of the parameters in VALUES; anything else is unknown."""
    if isinstance(value, str):
        return value
    if isinstance(value, dict) and set(value) == {"Ref"}:
        return VALUES.get(value["Ref"])
    return None


def equals(parameter: str, wanted: Any) -> dict[str, Any]:
    return {"Fn::Equals": [{"Ref": parameter}, wanted]}


CONDITIONS = {
    "IsProd": equals("Stage", "prod"),
    "IsDev": equals("Stage", "dev"),
    "Unknown": equals("Missing", "x"),
    "ThreeOfThem": equals("Count", 3),  # a number compares as its text
    "NotProd": {"Fn::Not": [{"Condition": "IsProd"}]},
    "ProdAndUnknown": {"Fn::And": [{"Condition": "IsProd"}, {"Condition": "Unknown"}]},
    "DevAndUnknown": {"Fn::And": [{"Condition": "IsDev"}, {"Condition": "Unknown"}]},
    "ProdOrUnknown": {"Fn::Or": [{"Condition": "IsProd"}, {"Condition": "Unknown"}]},
    "DevOrUnknown": {"Fn::Or": [{"Condition": "IsDev"}, {"Condition": "Unknown"}]},
    "NotUnknown": {"Fn::Not": [{"Condition": "Unknown"}]},
    "Loop": {"Fn::Not": [{"Condition": "Loop"}]},
    "Malformed": {"Fn::Equals": ["only one"]},
    "NotAFunction": {"Fn::Whatever": []},
}


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        ("IsProd", True),
        ("IsDev", False),
        ("Unknown", None),
        ("ThreeOfThem", True),
        ("NotProd", False),
        ("ProdAndUnknown", None),
        ("DevAndUnknown", False),  # one false part decides an And
        ("ProdOrUnknown", True),  # one true part decides an Or
        ("DevOrUnknown", None),
        ("NotUnknown", None),
        ("Loop", None),
        ("Malformed", None),
        ("NotAFunction", None),
        ("Undefined", None),
    ],
)
def test_holds(name: str, expected: bool | None) -> None:
    assert Conditions(CONDITIONS, text).holds(name) is expected


def test_branch_is_false_as_soon_as_one_pair_is_known_not_to_hold() -> None:
    conditions = Conditions(CONDITIONS, text)
    assert conditions.branch((("IsProd", True), ("IsDev", False))) is True
    assert conditions.branch((("Unknown", True), ("IsDev", True))) is False
    assert conditions.branch((("Unknown", True), ("IsProd", True))) is None
    assert conditions.branch((), "IsDev") is False  # a resource's own Condition
    assert conditions.branch((), None) is True


def test_choose_takes_the_side_the_condition_chooses_and_drops_no_value() -> None:
    conditions = Conditions(CONDITIONS, text)
    statement = {
        "Effect": "Allow",
        "Resource": [
            "a",
            {"Fn::If": ["IsProd", "prod-only", {"Ref": "AWS::NoValue"}]},
            {"Fn::If": ["IsDev", "dev-only", {"Ref": "AWS::NoValue"}]},
        ],
        "Condition": {"Fn::If": ["IsDev", {"StringEquals": {}}, {"Ref": "AWS::NoValue"}]},
    }
    assert conditions.choose(statement) == [{"Effect": "Allow", "Resource": ["a", "prod-only"]}]


def test_choose_lists_both_readings_of_an_unknown_condition() -> None:
    conditions = Conditions(CONDITIONS, text)
    value = {"Fn::If": ["Unknown", {"Effect": "Deny"}, {"Ref": "AWS::NoValue"}]}
    assert conditions.choose(value) == [{"Effect": "Deny"}]  # the other reading is nothing at all
    value = {"Resource": {"Fn::If": ["Unknown", "x", "y"]}}
    assert conditions.choose(value) == [{"Resource": "x"}, {"Resource": "y"}]
    assert conditions.unknown(value) == ["Unknown"]


def test_choose_gives_up_past_the_variant_limit() -> None:
    many = {f"C{i}": equals(f"Missing{i}", "x") for i in range(8)}
    conditions = Conditions(many, text)
    value = [{"Fn::If": [name, 1, 2]} for name in many]
    assert 2 ** len(many) > MAX_VARIANTS
    assert conditions.choose(value) is None
    assert len(conditions.choose(value[:4]) or []) == 16


def test_conditions_that_are_not_a_map_read_as_none_defined() -> None:
    assert Conditions(["not", "a", "map"], text).holds("IsProd") is None
