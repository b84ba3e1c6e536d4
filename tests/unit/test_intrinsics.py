"""intrinsics: the one reader of ``Ref``/``Fn::*``. Two spellings of one value give one symbolic string;
nesting beyond the limits is a clear error, never a RecursionError."""

from __future__ import annotations

from typing import Any

import pytest

from sfn_exact_version.intrinsics import (
    GET_ATT,
    OTHER,
    REF,
    Atom,
    NestingTooDeepError,
    canonical,
    concat,
    condition_names,
    dependencies,
    find_in_map_calls,
    get_att_target,
    intrinsic,
    iter_sub,
    join_parts,
    mapping_names,
    ref_target,
    references,
    render,
    resolve_pseudo,
    sub_name_atom,
    sub_parts,
    symbolic,
)
from support import joined_arn

FN_ARN = Atom(GET_ATT, "Fn", "Arn")
PARTITION = Atom(REF, "AWS::Partition")
REGION = Atom(REF, "AWS::Region")
ACCOUNT = Atom(REF, "AWS::AccountId")


def _joins(levels: int) -> Any:
    value: Any = "x"
    for _ in range(levels):
        value = {"Fn::Join": ["", [value]]}
    return value


def _lists(levels: int) -> Any:
    value: Any = {"Ref": "Deep"}
    for _ in range(levels):
        value = [value]
    return value


# ------------------------------------------------------------------------------ recognising functions
@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ({"Ref": "Fn"}, ("Ref", "Fn")),
        ({"Fn::Sub": "x"}, ("Fn::Sub", "x")),
        ({"Condition": "IsProd"}, ("Condition", "IsProd")),
        ({"Ref": "Fn", "Other": 1}, None),  # two keys: an object, not a function
        ({"Name": "Fn"}, None),
        ("Ref", None),
        ([{"Ref": "Fn"}], None),
    ],
)
def test_intrinsic_recognises_one_key_function_objects_only(value: Any, expected: Any) -> None:
    assert intrinsic(value) == expected


def test_getatt_list_and_dotted_forms_name_the_same_target() -> None:
    assert get_att_target({"Fn::GetAtt": ["Fn", "Arn"]}) == ("Fn", "Arn")
    assert get_att_target({"Fn::GetAtt": "Fn.Arn"}) == ("Fn", "Arn")


def test_dotted_getatt_splits_at_the_first_dot() -> None:
    assert get_att_target({"Fn::GetAtt": "Nested.Outputs.FnArn"}) == ("Nested", "Outputs.FnArn")


@pytest.mark.parametrize("args", [["Fn"], ["Fn", "Arn", "x"], "FnArn", ["Fn", 3]])
def test_malformed_getatt_has_no_target(args: Any) -> None:
    assert get_att_target({"Fn::GetAtt": args}) is None


def test_ref_target_needs_a_string() -> None:
    assert ref_target({"Ref": "Fn"}) == "Fn"
    assert ref_target({"Ref": ["Fn"]}) is None
    assert ref_target({"Fn::GetAtt": ["Fn", "Arn"]}) is None


def test_sub_parts_reads_both_forms() -> None:
    assert sub_parts({"Fn::Sub": "${Fn.Arn}"}) == ("${Fn.Arn}", {})
    assert sub_parts({"Fn::Sub": ["${X}", {"X": "y"}]}) == ("${X}", {"X": "y"})
    assert sub_parts({"Fn::Sub": ["${X}"]}) is None
    assert sub_parts({"Fn::Sub": ["${X}", ["y"]]}) is None


def test_join_parts_needs_a_literal_list() -> None:
    assert join_parts({"Fn::Join": [":", ["a", "b"]]}) == (":", ["a", "b"])
    assert join_parts({"Fn::Join": [":", {"Fn::GetAZs": ""}]}) is None


# ------------------------------------------------------------------------------ Fn::Sub templates
def test_iter_sub_splits_literal_text_and_placeholders_with_positions() -> None:
    assert list(iter_sub("a${X}b${Y.Arn}")) == [
        (0, 1, None, "a"),
        (1, 5, "X", "${X}"),
        (5, 6, None, "b"),
        (6, 14, "Y.Arn", "${Y.Arn}"),
    ]


def test_iter_sub_renders_an_escaped_placeholder_as_literal_text() -> None:
    assert list(iter_sub("${!Literal}")) == [(0, 11, None, "${Literal}")]


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        ("Fn", Atom(REF, "Fn")),
        ("Fn.Arn", FN_ARN),
        (" Fn.Arn ", FN_ARN),
        ("AWS::Region", REGION),
        ("Nested.Outputs.X", Atom(GET_ATT, "Nested", "Outputs.X")),
    ],
)
def test_a_sub_name_is_a_ref_or_a_getatt(name: str, expected: Atom) -> None:
    assert sub_name_atom(name) == expected


# ------------------------------------------------------------------------------ symbolic strings
@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("", ()),
        ("text", ("text",)),
        (True, ("true",)),
        (False, ("false",)),
        (3, ("3",)),
        (1.5, ("1.5",)),
    ],
)
def test_scalars_are_literal_text(value: Any, expected: tuple[str, ...]) -> None:
    assert symbolic(value) == expected


@pytest.mark.parametrize("value", [{"Name": "x"}, ["a"], None])
def test_values_that_are_not_string_like_have_no_symbolic_form(value: Any) -> None:
    assert symbolic(value) is None


@pytest.mark.parametrize(
    "value",
    [
        {"Fn::GetAtt": ["Fn", "Arn"]},
        {"Fn::GetAtt": "Fn.Arn"},
        {"Fn::Sub": "${Fn.Arn}"},
        {"Fn::Sub": "${ Fn.Arn }"},
        {"Fn::Sub": ["${Target}", {"Target": {"Fn::GetAtt": ["Fn", "Arn"]}}]},
        {"Fn::Join": ["", [{"Fn::GetAtt": ["Fn", "Arn"]}]]},
        {"Fn::Join": ["", [{"Fn::Sub": "${Fn.Arn}"}]]},
    ],
)
def test_every_spelling_of_a_functions_arn_is_one_atom(value: Any) -> None:
    assert symbolic(value) == (FN_ARN,)


def test_an_arn_built_by_sub_and_by_join_compares_equal() -> None:
    by_sub = {"Fn::Sub": "arn:${AWS::Partition}:lambda:${AWS::Region}:${AWS::AccountId}:function:${Fn}"}
    by_join = joined_arn("Fn")
    expected = ("arn:", PARTITION, ":lambda:", REGION, ":", ACCOUNT, ":function:", Atom(REF, "Fn"))
    assert symbolic(by_sub) == expected
    assert symbolic(by_join) == expected


def test_sub_variables_bound_to_text_merge_with_the_literal_around_them() -> None:
    value = {"Fn::Sub": ["arn:aws:lambda:eu-west-1:1:function:${Name}:*", {"Name": "hello"}]}
    assert symbolic(value) == ("arn:aws:lambda:eu-west-1:1:function:hello:*",)


def test_a_sub_variable_bound_to_another_function_is_an_opaque_atom() -> None:
    select = {"Fn::Select": [0, ["a", "b"]]}
    assert symbolic({"Fn::Sub": ["${X}:1", {"X": select}]}) == (
        Atom(OTHER, '{"Fn::Select":[0,["a","b"]]}'),
        ":1",
    )


def test_an_escaped_sub_placeholder_stays_literal() -> None:
    assert symbolic({"Fn::Sub": "${!Fn.Arn}"}) == ("${Fn.Arn}",)


def test_join_puts_the_delimiter_between_items_only() -> None:
    assert symbolic({"Fn::Join": ["-", ["a", {"Ref": "B"}, "c"]]}) == ("a-", Atom(REF, "B"), "-c")
    assert symbolic({"Fn::Join": ["-", []]}) == ()


def test_a_function_the_module_does_not_read_is_one_opaque_atom() -> None:
    value = {"Fn::ImportValue": "shared-fn-arn"}
    assert symbolic(value) == (Atom(OTHER, canonical(value)),)


def test_a_malformed_ref_or_getatt_is_opaque_rather_than_a_reference() -> None:
    assert symbolic({"Ref": ["Fn"]}) == (Atom(OTHER, '{"Ref":["Fn"]}'),)
    assert symbolic({"Fn::GetAtt": ["Fn"]}) == (Atom(OTHER, '{"Fn::GetAtt":["Fn"]}'),)


def test_one_hundred_nested_functions_are_read() -> None:
    assert symbolic(_joins(100)) == ("x",)


def test_more_than_one_hundred_nested_functions_fail_naming_the_limit() -> None:
    with pytest.raises(NestingTooDeepError, match="more than 100 levels"):
        symbolic(_joins(101))


def test_nesting_through_sub_variables_counts_too() -> None:
    value: Any = "x"
    for _ in range(101):
        value = {"Fn::Sub": ["${V}", {"V": value}]}
    with pytest.raises(NestingTooDeepError):
        symbolic(value)


# ------------------------------------------------------------------------------ working on symbolic strings
def test_render_writes_atoms_as_sub_placeholders() -> None:
    assert render(("arn:", PARTITION, ":x:", FN_ARN)) == "arn:${AWS::Partition}:x:${Fn.Arn}"
    assert render((Atom(OTHER, '{"Fn::If":[]}'),)) == '{"Fn::If":[]}'


def test_concat_merges_adjacent_text_and_drops_empty_pieces() -> None:
    assert concat(["a", "", "b", FN_ARN, "", ":*"]) == ("ab", FN_ARN, ":*")


def test_resolve_pseudo_replaces_only_known_pseudo_parameters() -> None:
    value = ("arn:", PARTITION, ":lambda:", REGION, ":", ACCOUNT, ":function:", Atom(REF, "Fn"))
    resolved = resolve_pseudo(value, {"AWS::Partition": "aws", "AWS::Region": "eu-west-1"})
    assert resolved == ("arn:aws:lambda:eu-west-1:", ACCOUNT, ":function:", Atom(REF, "Fn"))


def test_canonical_is_sorted_compact_and_keeps_unicode() -> None:
    assert canonical({"b": 1, "a": ["é", 2]}) == '{"a":["é",2],"b":1}'


# ------------------------------------------------------------------------------ walking documents
def test_references_lists_ref_getatt_and_sub_names_in_document_order() -> None:
    value = {
        "A": {"Ref": "First"},
        "B": [{"Fn::GetAtt": ["Second", "Arn"]}, {"Fn::Sub": "${Third.Arn}-${AWS::Region}-${!Skip}"}],
        "C": {"Fn::Sub": ["${Var}", {"Var": {"Ref": "Fourth"}}]},
    }
    assert list(references(value)) == ["First", "Second", "Third", "AWS::Region", "Fourth"]


def test_references_does_not_read_a_sub_variable_name_as_a_resource() -> None:
    assert list(references({"Fn::Sub": ["${Ref}", {"Ref": "literal"}]})) == []


def test_references_reads_a_thousand_json_levels_and_fails_beyond() -> None:
    assert list(references(_lists(1000))) == ["Deep"]
    with pytest.raises(NestingTooDeepError, match="more than 1000 levels of JSON"):
        list(references(_lists(1001)))


def test_condition_names_finds_fn_if_and_condition_objects() -> None:
    value = {
        "A": {"Fn::If": ["IsProd", "a", {"Fn::If": ["IsEu", "b", "c"]}]},
        "B": {"Fn::And": [{"Condition": "HasBucket"}]},
    }
    assert set(condition_names(value)) == {"IsProd", "IsEu", "HasBucket"}


def test_mapping_names_gives_none_for_a_computed_map_name() -> None:
    value = [
        {"Fn::FindInMap": ["Stages", {"Ref": "Stage"}, "Size"]},
        {"Fn::FindInMap": [{"Ref": "Which"}, "a", "b"]},
    ]
    assert list(mapping_names(value)) == ["Stages", None]


def test_find_in_map_calls_lists_outer_calls_before_inner_ones() -> None:
    inner = {"Fn::FindInMap": ["Inner", "a", "b"]}
    outer = {"Fn::FindInMap": ["Outer", inner, "c"]}
    assert list(find_in_map_calls({"X": outer})) == [["Outer", inner, "c"], ["Inner", "a", "b"]]


def test_dependencies_gathers_names_conditions_and_mappings_in_one_walk() -> None:
    value = {
        "Code": {"S3Key": {"Fn::FindInMap": ["Keys", {"Ref": "Stage"}, "Code"]}},
        "Role": {"Fn::If": ["IsProd", {"Fn::GetAtt": ["ProdRole", "Arn"]}, {"Fn::Sub": "${DevRole.Arn}"}]},
        "Layers": [{"Fn::Sub": ["${L}", {"L": {"Ref": "Layer"}}]}],
    }
    found = dependencies(value)
    assert found.names == {"Stage", "ProdRole", "DevRole", "Layer"}
    assert found.conditions == {"IsProd"}
    assert found.mappings == {"Keys"}


def test_dependencies_agree_with_the_single_purpose_walks() -> None:
    value = {
        "A": {"Fn::Sub": ["${X}-${Y.Arn}", {"X": {"Fn::If": ["C1", {"Ref": "P"}, "z"]}}]},
        "B": {"Fn::FindInMap": [{"Ref": "M"}, "k", "v"]},
        "C": {"Condition": "C2"},
    }
    found = dependencies(value)
    assert found.names == set(references(value))
    assert found.conditions == set(condition_names(value))
    assert found.mappings == set(mapping_names(value))


@pytest.mark.parametrize("walk", [condition_names, mapping_names, find_in_map_calls])
def test_the_walks_fail_clearly_on_deep_nesting(walk: Any) -> None:
    with pytest.raises(NestingTooDeepError):
        list(walk(_lists(200)))
