"""Hostile and malformed input: the handler answers every request with a well-formed response, fails with
a message naming the resource and the fix, never leaks a traceback, never returns a half-changed
template. One test per row of docs/hostile-input.md."""

from __future__ import annotations

import copy
import json
from typing import Any

import pytest
from hardening_support import (
    TRANSFORM_KWARGS,
    captured_logs,
    check_invariants,
    check_response,
    macro_event,
)

from sfn_exact_version.handler import handler
from sfn_exact_version.transform import transform
from support import big_states, function, limits_template, machine

FUNCTION = function()
GETATT = {"Fn::GetAtt": ["Fn", "Arn"]}
DEFINITION = {"StartAt": "A", "States": {"A": {"Type": "Task", "Resource": GETATT, "End": True}}}
TASK_TEXT = '{"StartAt": "A", "States": {"A": {"Type": "Task", "Resource": "${Fn.Arn}", "End": true}}}'


def call(fragment: Any, deep: bool = False, **event: Any) -> tuple[dict[str, Any], str]:
    """Run the handler on ``fragment``; check the protocol and that the event is left as it was
    (``deep``: too deep for this test to copy or compare; the transform never mutates anyway)."""
    request = macro_event(fragment)
    request.update(event)
    pristine = None if deep else copy.deepcopy(request)
    with captured_logs() as logs:
        response = handler(request, None)
    if pristine is not None:
        assert request == pristine, "the handler changed its event"
    check_response(request, response, deep=deep)
    log = logs.getvalue()
    assert "RecursionError" not in log
    return response, log


def fails(fragment: Any, *expected: str, deep: bool = False) -> str:
    response, log = call(fragment, deep=deep)
    assert response["status"] == "failure", "expected a failure"
    assert response["fragment"] == {}, "a failure must not return a template"
    message: str = response["errorMessage"]
    for text in expected:
        assert text in message, f"{text!r} not in {message!r}"
    assert "Traceback" not in log, "a handled failure logged a traceback"
    return message


def succeeds(fragment: Any, deep: bool = False) -> dict[str, Any]:
    response, _ = call(fragment, deep=deep)
    assert response["status"] == "success", response.get("errorMessage")
    output: dict[str, Any] = response["fragment"]
    return output


def pinned(output: dict[str, Any]) -> list[dict[str, Any]]:
    return output["Metadata"]["SfnExactVersion"]["Pinned"]  # type: ignore[no-any-return]


# ------------------------------------------------------------------------------ template shape
@pytest.mark.parametrize("fragment", [[], ["Resources"], "Resources", "", None, 3, True])
def test_a_fragment_that_is_not_an_object(fragment: Any) -> None:
    fails(fragment, "must be a JSON object")


@pytest.mark.parametrize("resources", ["missing", [], None, "x", 3])
def test_resources_missing_or_not_an_object(resources: Any) -> None:
    fragment = {} if resources == "missing" else {"Resources": resources}
    fails(fragment, "no Resources object")


@pytest.mark.parametrize("resource", [[], "AWS::SNS::Topic", None, 3])
def test_a_resource_that_is_not_an_object(resource: Any) -> None:
    fails({"Resources": {"Fn": FUNCTION, "Bad": resource}}, "Resources/Bad", "must be an object")


@pytest.mark.parametrize("kind", ["missing", None, 3, ["AWS::SNS::Topic"], {"Ref": "Type"}])
def test_a_type_missing_or_not_a_string(kind: Any) -> None:
    resource = {} if kind == "missing" else {"Type": kind}
    fails({"Resources": {"Bad": resource}}, "Resources/Bad", "Type")


@pytest.mark.parametrize("properties", [[], "x", None, 3])
@pytest.mark.parametrize(
    "kind", ["AWS::SNS::Topic", "AWS::StepFunctions::StateMachine", "AWS::Lambda::Function"]
)
def test_properties_of_the_wrong_type(kind: str, properties: Any) -> None:
    fails({"Resources": {"Bad": {"Type": kind, "Properties": properties}}}, "Resources/Bad/Properties")


@pytest.mark.parametrize("section", ["Parameters", "Metadata"])
@pytest.mark.parametrize("value", [[], "x", None, 3])
def test_parameters_or_metadata_not_an_object(section: str, value: Any) -> None:
    fails({section: value, "Resources": {}}, section)


def test_every_problem_is_reported_at_once() -> None:
    message = fails(
        {"Resources": {"A": [], "B": {"Type": 3}, "C": {"Type": "AWS::SNS::Topic", "Properties": 1}}}
    )
    assert "Resources/A" in message and "Resources/B" in message and "Resources/C" in message


# --------------------------------------------------------------------------------- definitions
@pytest.mark.parametrize(
    "value",
    [
        3,
        1.5,
        True,
        None,
        [],
        ["{}"],
        {},
        {"Fn::Bogus": "x"},
        {"Ref": "Fn"},
        {"Fn::GetAtt": ["Fn", "Arn"]},
        {"Fn::Join": "x"},
        {"Fn::Join": ["", "x"]},
        {"Fn::Join": ["", [1]]},
        {"Fn::Join": ["", [None]]},
        {"Fn::Sub": 3},
        {"Fn::Sub": ["x"]},
        {"Fn::Sub": ["x", []]},
        {"Fn::Sub": "a", "Fn::Join": ["", []]},
    ],
    ids=repr,
)
def test_definition_string_of_the_wrong_type(value: Any) -> None:
    fails(
        {"Resources": {"Fn": FUNCTION, "Sm": machine(DefinitionString=value)}},
        "Resources/Sm/Properties/DefinitionString",
    )


@pytest.mark.parametrize(
    "text", ["", "not json", TASK_TEXT[:-3], TASK_TEXT + "}", "{'StartAt': 'A'}", '{\n  "a": ,\n}']
)
def test_definition_string_that_is_not_json(text: str) -> None:
    message = fails(
        {"Resources": {"Fn": FUNCTION, "Sm": machine(DefinitionString={"Fn::Sub": text})}},
        "Resources/Sm/Properties/DefinitionString",
        "not valid JSON",
        "line",
        "Pin: false",
    )
    assert "\n" not in message


@pytest.mark.parametrize("value", [3, None, [], "{}", True])
def test_definition_of_the_wrong_type(value: Any) -> None:
    fails(
        {"Resources": {"Fn": FUNCTION, "Sm": machine(Definition=value)}}, "Resources/Sm/Properties/Definition"
    )


def test_two_definition_forms_at_once() -> None:
    fails(
        {"Resources": {"Fn": FUNCTION, "Sm": machine(Definition=DEFINITION, DefinitionString=TASK_TEXT)}},
        "Resources/Sm/Properties",
        "exactly one",
    )


@pytest.mark.parametrize("value", [3, None, "not json", {"Fn::Bogus": 1}])
def test_an_opted_out_state_machine_with_a_broken_definition_is_left_alone(value: Any) -> None:
    resource = machine(DefinitionString=value)
    resource["Metadata"] = {"SfnExactVersion": {"Pin": False}}
    fragment = {"Resources": {"Fn": FUNCTION, "Sm": resource}}
    output = succeeds(fragment)
    assert output["Resources"]["Sm"] == resource
    assert output["Metadata"]["SfnExactVersion"]["LeftAlone"][0]["Reason"] == "opted-out"


@pytest.mark.parametrize("key", ["DefinitionSubstitutions", "DefinitionS3Location", "RoleArn"])
@pytest.mark.parametrize("value", [3, None, [], "x"])
def test_other_state_machine_properties_of_the_wrong_type(key: str, value: Any) -> None:
    properties: dict[str, Any] = {"Definition": DEFINITION} if key != "DefinitionS3Location" else {}
    properties[key] = value
    fragment = {
        "Resources": {
            "Fn": FUNCTION,
            "Sm": {"Type": "AWS::StepFunctions::StateMachine", "Properties": properties},
        }
    }
    output = succeeds(fragment)
    assert output["Resources"]["Sm"]["Properties"][key] == value  # kept as it is
    assert len(pinned(output)) == (0 if key == "DefinitionS3Location" else 1)


@pytest.mark.parametrize(
    "text",
    [
        "[]",
        "null",
        "3",
        '"text"',
        '{"States": 3}',
        '{"States": {"A": 3}}',
        '{"States": {"A": {"Type": 3}}}',
        '{"States": {"A": {"Type": "Task", "Resource": 3}}}',
        '{"States": {"A": {"Type": "Task", "Resource": "arn:aws:states:::lambda:invoke", "Parameters": 3}}}',
        '{"States": {"A": {"Type": "Parallel", "Branches": {"x": 1}}}}',
        '{"States": {"A": {"Type": "Map", "ItemProcessor": [], "Iterator": "x"}}}',
    ],
)
def test_json_that_is_not_a_state_machine(text: str) -> None:
    fragment = {"Resources": {"Fn": FUNCTION, "Sm": machine(DefinitionString=text)}}
    output = succeeds(fragment)
    assert pinned(output) == []
    assert output["Resources"]["Sm"] == fragment["Resources"]["Sm"]


# ------------------------------------------------------------------------------- deep nesting
def nested_parallel_text(depth: int) -> str:
    opening = '{"StartAt": "P", "States": {"P": {"Type": "Parallel", "End": true, "Branches": ['
    return opening * depth + TASK_TEXT + "]}}}" * depth


def nested_parallel(depth: int) -> dict[str, Any]:
    definition: dict[str, Any] = copy.deepcopy(DEFINITION)
    for _ in range(depth):
        definition = {
            "StartAt": "P",
            "States": {"P": {"Type": "Parallel", "End": True, "Branches": [definition]}},
        }
    return definition


def nested_join(depth: int) -> Any:
    value: Any = TASK_TEXT.replace("${Fn.Arn}", "arn:aws:lambda:eu-west-1:123456789012:function:x")
    for _ in range(depth):
        value = {"Fn::Join": ["", [value]]}
    return value


def sub_chain(depth: int) -> Any:
    value: Any = GETATT
    for _ in range(depth):
        value = {"Fn::Sub": ["${x}", {"x": value}]}
    return value


def deep_object(depth: int) -> dict[str, Any]:
    root: dict[str, Any] = {}
    node = root
    for _ in range(depth):
        node["a"] = {}
        node = node["a"]
    return root


DEEP = {
    "arrays-5000-in-string": lambda: machine(
        DefinitionString='{"StartAt": "A", "Comment": ' + "[" * 5000 + "]" * 5000 + ', "States": {}}'
    ),
    "arrays-5000-in-sub": lambda: machine(
        DefinitionString={"Fn::Sub": TASK_TEXT[:-1] + ', "X": ' + "[" * 5000 + "]" * 5000 + "}"}
    ),
    "parallel-500-definition": lambda: machine(Definition=nested_parallel(500)),
    "parallel-500-string": lambda: machine(DefinitionString=nested_parallel_text(500)),
    "parallel-150-string": lambda: machine(DefinitionString=nested_parallel_text(150)),
    "join-5000": lambda: machine(DefinitionString=nested_join(5000)),
    "sub-variables-chain-5000": lambda: machine(
        DefinitionString={"Fn::Sub": [TASK_TEXT.replace("${Fn.Arn}", "${x}"), {"x": sub_chain(5000)}]}
    ),
    "substitution-value-chain-5000": lambda: machine(
        DefinitionString=TASK_TEXT.replace("${Fn.Arn}", "${x}"),
        DefinitionSubstitutions={"x": sub_chain(5000)},
    ),
}


@pytest.mark.parametrize("shape", sorted(DEEP))
def test_a_definition_nested_thousands_of_levels_fails_clearly(shape: str) -> None:
    fails(
        {"Resources": {"Fn": FUNCTION, "Sm": DEEP[shape]()}}, "Resources/Sm", "nested too deeply", deep=True
    )


def nested_map(depth: int) -> dict[str, Any]:
    definition: dict[str, Any] = copy.deepcopy(DEFINITION)
    for _ in range(depth):
        definition = {
            "StartAt": "M",
            "States": {"M": {"Type": "Map", "End": True, "ItemProcessor": definition}},
        }
    return definition


def sam_join(depth: int) -> dict[str, Any]:
    """SAM's shape: pretty-printed lines in a Fn::Join, the function in a substitution."""
    text = nested_parallel_text(depth).replace("${Fn.Arn}", "${definition_substitution_1}")
    lines = json.dumps(json.loads(text), indent=2).split("\n")
    return {
        "DefinitionString": {"Fn::Join": ["\n", lines]},
        "DefinitionSubstitutions": {"definition_substitution_1": GETATT},
    }


STATE_NESTING = {
    "parallel-definition": lambda depth: {"Definition": nested_parallel(depth)},
    "map-definition": lambda depth: {"Definition": nested_map(depth)},
    "definition-with-substitution": lambda depth: {
        "Definition": json.loads(nested_parallel_text(depth).replace("${Fn.Arn}", "${x}")),
        "DefinitionSubstitutions": {"x": GETATT},
    },
    "sub-string": lambda depth: {"DefinitionString": {"Fn::Sub": nested_parallel_text(depth)}},
    "sam-join": sam_join,
}


@pytest.mark.parametrize("form", sorted(STATE_NESTING))
def test_the_state_nesting_limit_is_the_same_for_every_form(form: str) -> None:
    """100 nested Parallel/Map levels are read and pinned whatever the definition's form; 101 fail
    naming that limit (a Definition object once failed at about 25, counting every JSON level)."""
    output = succeeds({"Resources": {"Fn": FUNCTION, "Sm": machine(**STATE_NESTING[form](100))}})
    assert len(pinned(output)) == 1
    fails(
        {"Resources": {"Fn": FUNCTION, "Sm": machine(**STATE_NESTING[form](101))}},
        "Resources/Sm: nested too deeply",
        "more than 100 nested Parallel/Map levels",
    )


def test_a_definition_nested_60_levels_is_pinned() -> None:
    text = nested_parallel_text(60)
    output = succeeds({"Resources": {"Fn": FUNCTION, "Sm": machine(DefinitionString={"Fn::Sub": text})}})
    assert len(pinned(output)) == 1
    assert pinned(output)[0]["State"].count(".Branches[0].") == 60


@pytest.mark.parametrize("where", ["Fn", "Version"])
def test_deep_nesting_elsewhere_names_the_resource(where: str) -> None:
    resources: dict[str, Any] = {"Fn": copy.deepcopy(FUNCTION), "Sm": machine(Definition=DEFINITION)}
    if where == "Fn":
        resources["Fn"]["Properties"]["Environment"] = deep_object(5000)
        expected = "Resources/Fn/Properties"
    else:
        resources["Version"] = {
            "Type": "AWS::Lambda::Version",
            "Properties": {"FunctionName": {"Ref": "Fn"}, "X": deep_object(5000)},
        }
        expected = "Resources/Version"
    fails({"Resources": resources}, expected, "nested too deeply", deep=True)


def test_a_deep_policy_condition_is_carried_along() -> None:
    """The statement gains ``${Fn.Arn}:*``; its 5000-level Condition is neither read nor copied."""
    condition = deep_object(5000)
    statement = {
        "Effect": "Allow",
        "Action": "lambda:InvokeFunction",
        "Resource": [GETATT],
        "Condition": condition,
    }
    role = {
        "Type": "AWS::IAM::Role",
        "Properties": {"Policies": [{"PolicyName": "p", "PolicyDocument": {"Statement": [statement]}}]},
    }
    state_machine = machine(Definition=DEFINITION)
    state_machine["Properties"]["RoleArn"] = {"Fn::GetAtt": ["Role", "Arn"]}
    output = succeeds({"Resources": {"Fn": FUNCTION, "Role": role, "Sm": state_machine}}, deep=True)
    widened = output["Resources"]["Role"]["Properties"]["Policies"][0]["PolicyDocument"]["Statement"][0]
    assert widened["Resource"] == [GETATT, {"Fn::Sub": "${Fn.Arn}:*"}]
    assert widened["Condition"] is condition


def test_deep_nesting_the_macro_never_reads_is_no_problem() -> None:
    topic = {"Type": "AWS::SNS::Topic", "Metadata": deep_object(5000)}
    output = succeeds(
        {"Resources": {"Fn": FUNCTION, "Topic": topic, "Sm": machine(Definition=DEFINITION)}}, deep=True
    )
    assert output["Resources"]["Topic"] is topic  # passed through, not even copied
    assert len(pinned(output)) == 1


# -------------------------------------------------------------------------------------- size
def test_a_900_kb_string_in_an_unrelated_resource() -> None:
    topic = {"Type": "AWS::SNS::Topic", "Properties": {"DisplayName": "é" * 450_000}}
    output = succeeds({"Resources": {"Fn": FUNCTION, "Topic": topic, "Sm": machine(Definition=DEFINITION)}})
    assert output["Resources"]["Topic"] is topic
    assert len(pinned(output)) == 1


@pytest.mark.parametrize("form", ["sub", "sam"])
def test_a_definition_near_1_mb(form: str) -> None:
    """As large as CloudFormation takes a processed template (1 MB); larger fails on that limit."""
    if form == "sub":
        text = json.dumps(big_states(650, "${Fn.Arn}"))
        properties: dict[str, Any] = {"DefinitionString": {"Fn::Sub": text}}
    else:
        text = json.dumps(big_states(650, "${definition_substitution_1}"), indent=2)
        properties = {
            "DefinitionString": {"Fn::Join": ["\n", text.split("\n")]},
            "DefinitionSubstitutions": {"definition_substitution_1": GETATT},
        }
    assert len(text) > 760_000
    fragment = {"Resources": {"Fn": FUNCTION, "Sm": machine(**properties)}}
    output = succeeds(fragment)
    assert len(pinned(output)) == 1
    version = pinned(output)[0]["Version"]
    after = output["Resources"]["Sm"]["Properties"]
    if form == "sub":
        assert after["DefinitionString"]["Fn::Sub"] == text.replace("${Fn.Arn}", "${" + version + "}")
    else:
        assert after["DefinitionString"] == properties["DefinitionString"]
        assert after["DefinitionSubstitutions"] == {"definition_substitution_1": {"Ref": version}}


def test_a_template_at_cloudformation_limits() -> None:
    """An output of exactly 500 resources and close to 1 MB: 400 resources in, 100 versions created."""
    fragment = limits_template(199)
    assert len(fragment["Resources"]) == 400 and len(json.dumps(fragment)) > 800_000
    output = succeeds(fragment)
    assert len(pinned(output)) == 200
    assert len(output["Resources"]) == 500  # one version per function
    assert 900_000 < len(json.dumps(output, separators=(",", ":"))) <= 1_000_000
    assert (
        len(
            output["Resources"]["Role"]["Properties"]["Policies"][0]["PolicyDocument"]["Statement"][0][
                "Resource"
            ]
        )
        == 200
    )
    check_invariants(fragment, output, transform_kwargs=TRANSFORM_KWARGS)


def test_an_output_over_500_resources_fails_naming_the_limit() -> None:
    fails(
        limits_template(200),
        "would have 501 resources (100 of them versions the macro creates)",
        "CloudFormation allows 500 per stack",
        "nested stack",
    )


def test_an_output_over_1_mb_fails_naming_the_limit() -> None:
    output = succeeds(limits_template(199))
    room = 1_000_000 - len(json.dumps(output, separators=(",", ":")))
    assert room > 0
    assert succeeds(limits_template(199, room))
    message = fails(limits_template(199, room + 1), "would be 1000001 bytes of JSON", "at most 1 MB")
    assert "resources" not in message


# ---------------------------------------------------------------------------------- collisions
@pytest.mark.parametrize(
    "occupant",
    [
        {"Type": "AWS::SNS::Topic"},
        {"Type": "AWS::Lambda::Version", "Properties": {"FunctionName": "elsewhere"}},
    ],
    ids=["topic", "version-of-another-function"],
)
def test_a_logical_id_the_macro_needs_is_taken(occupant: dict[str, Any]) -> None:
    fragment: dict[str, Any] = {"Resources": {"Fn": FUNCTION, "Sm": machine(Definition=DEFINITION)}}
    version = transform(fragment, **TRANSFORM_KWARGS).report.versions[0].version
    fragment["Resources"][version] = occupant
    fails(fragment, f"Resources/{version} already exists", "Rename")


def test_a_logical_id_taken_by_a_version_of_the_function_itself_is_used() -> None:
    fragment: dict[str, Any] = {"Resources": {"Fn": FUNCTION, "Sm": machine(Definition=DEFINITION)}}
    version = transform(fragment, **TRANSFORM_KWARGS).report.versions[0].version
    fragment["Resources"][version] = {
        "Type": "AWS::Lambda::Version",
        "Properties": {"FunctionName": {"Ref": "Fn"}},
    }
    output = succeeds(fragment)
    assert [item["Version"] for item in pinned(output)] == [version]
    assert len(output["Resources"]) == 3


def test_duplicate_state_names_across_branches() -> None:
    def work(function: str) -> dict[str, Any]:
        return {
            "StartAt": "Work",
            "States": {"Work": {"Type": "Task", "Resource": {"Fn::GetAtt": [function, "Arn"]}, "End": True}},
        }

    definition = {
        "StartAt": "Fan",
        "States": {
            "Fan": {"Type": "Parallel", "Branches": [work("Fn"), work("Other")], "Next": "Work"},
            "Work": {"Type": "Task", "Resource": GETATT, "End": True},
        },
    }
    for form in ("Definition", "DefinitionString"):
        value: Any = (
            definition
            if form == "Definition"
            else {
                "Fn::Sub": json.dumps(definition)
                .replace('{"Fn::GetAtt": ["Fn", "Arn"]}', '"${Fn.Arn}"')
                .replace('{"Fn::GetAtt": ["Other", "Arn"]}', '"${Other.Arn}"')
            }
        )
        fragment = {"Resources": {"Fn": FUNCTION, "Other": FUNCTION, "Sm": machine(**{form: value})}}
        output = succeeds(fragment)
        states = [(item["State"], item["Function"]) for item in pinned(output)]
        assert states == [
            ("States.Fan.Branches[0].States.Work", "Fn"),
            ("States.Fan.Branches[1].States.Work", "Other"),
            ("States.Work", "Fn"),
        ]
        check_invariants(fragment, output, transform_kwargs=TRANSFORM_KWARGS)


# ------------------------------------------------------------------------------------- unicode
UNICODE_NAMES = [
    "Größe prüfen",
    "日本語の状態",
    "emoji 🚀 state",
    "\ue000\ue001 private use",
    "Ωmega\u200bzero-width",
]


@pytest.mark.parametrize("ensure_ascii", [False, True], ids=["raw", "escaped"])
@pytest.mark.parametrize("form", ["Definition", "plain", "sub", "sam"])
def test_unicode_in_state_names_descriptions_and_definition_text(form: str, ensure_ascii: bool) -> None:
    states: dict[str, Any] = {}
    for position, name in enumerate(UNICODE_NAMES):
        states[name] = {"Type": "Task", "Comment": f"Kommentar {name} ✓", "Resource": "@CALL@"}
        if position + 1 < len(UNICODE_NAMES):
            states[name]["Next"] = UNICODE_NAMES[position + 1]
        else:
            states[name]["End"] = True
    document = {"Comment": "Zustandsautomat — ünïcödé 🚀", "StartAt": UNICODE_NAMES[0], "States": states}
    function = copy.deepcopy(FUNCTION)
    function["Properties"]["Description"] = "Funktion für Größen 🚀"
    text = json.dumps(document, ensure_ascii=ensure_ascii, indent=2)
    substitutions = {"fn": GETATT}
    if form == "Definition":
        properties: dict[str, Any] = {
            "Definition": json.loads(json.dumps(document).replace('"@CALL@"', json.dumps(GETATT)))
        }
    elif form == "plain":
        properties = {
            "DefinitionString": text.replace("@CALL@", "${fn}"),
            "DefinitionSubstitutions": substitutions,
        }
    elif form == "sub":
        properties = {"DefinitionString": {"Fn::Sub": text.replace("@CALL@", "${Fn.Arn}")}}
    else:
        properties = {
            "DefinitionString": {"Fn::Join": ["\n", text.replace("@CALL@", "${fn}").split("\n")]},
            "DefinitionSubstitutions": substitutions,
        }
    fragment = {
        "Description": "Vorlage — テンプレート",
        "Resources": {"Fn": function, "Sm": machine(**properties)},
    }
    output = succeeds(fragment)
    assert [item["State"] for item in pinned(output)] == [f"States.{name}" for name in UNICODE_NAMES]
    version = pinned(output)[0]["Version"]
    after = output["Resources"]["Sm"]["Properties"]
    if form == "sub":
        assert after["DefinitionString"]["Fn::Sub"] == text.replace("@CALL@", "${" + version + "}")
    elif form in ("plain", "sam"):
        assert after["DefinitionString"] == properties["DefinitionString"]  # byte for byte
        assert after["DefinitionSubstitutions"] == {"fn": {"Ref": version}}
    else:
        assert all(state["Resource"] == {"Ref": version} for state in after["Definition"]["States"].values())
    # the function keeps its own Description text, followed by its version's marker, and is retained
    marker = output["Resources"][version]["Properties"]["Description"]
    expected = copy.deepcopy(function)
    expected["Properties"]["Description"] = f"Funktion für Größen 🚀 {marker}"
    expected.update(DeletionPolicy="Retain", UpdateReplacePolicy="Retain")
    assert output["Resources"]["Fn"] == expected
    check_invariants(fragment, output, transform_kwargs=TRANSFORM_KWARGS)


def test_a_definition_using_every_basic_private_use_character() -> None:
    """The macro marks placeholders with private-use characters; it finds free ones elsewhere."""
    pua = "".join(chr(code) for code in range(0xE000, 0xF900))
    text = json.dumps({"Comment": pua, **json.loads(TASK_TEXT)}, ensure_ascii=False)
    fragment = {"Resources": {"Fn": FUNCTION, "Sm": machine(DefinitionString={"Fn::Sub": text})}}
    output = succeeds(fragment)
    version = pinned(output)[0]["Version"]
    assert output["Resources"]["Sm"]["Properties"]["DefinitionString"]["Fn::Sub"] == text.replace(
        "${Fn.Arn}", "${" + version + "}"
    )


# ------------------------------------------------------------------------------------ protocol
def test_an_event_that_is_not_an_object() -> None:
    for event in ([], "event", None, 3):
        with captured_logs():
            response = handler(event, None)
        assert response["status"] == "failure" and response["requestId"] is None
        assert "Traceback" not in response["errorMessage"]


@pytest.mark.parametrize(
    "event",
    [
        {"templateParameterValues": "x"},
        {"templateParameterValues": None},
        {"region": 3, "accountId": []},
        {"params": "x", "transformId": 5},
    ],
    ids=repr,
)
def test_event_fields_of_the_wrong_type_are_ignored(event: dict[str, Any]) -> None:
    response, _ = call({"Resources": {"Fn": FUNCTION, "Sm": machine(Definition=DEFINITION)}}, **event)
    assert response["status"] == "success"


@pytest.mark.parametrize("request_id", [None, 5, "", "ü-🚀"])
def test_any_request_id_is_echoed(request_id: Any) -> None:
    response, _ = call({"Resources": {}}, requestId=request_id)
    assert response["requestId"] == request_id


def test_a_failure_after_a_pinned_state_machine_returns_no_template() -> None:
    """The first state machine is rewritten in the transform's private copy; the second one fails. The
    response carries no template at all, and the input is untouched."""
    fragment = {
        "Resources": {
            "Fn": FUNCTION,
            "Good": machine(Definition=DEFINITION),
            "Bad": machine(DefinitionString="{broken"),
        }
    }
    pristine = copy.deepcopy(fragment)
    fails(fragment, "Resources/Bad")
    assert fragment == pristine
