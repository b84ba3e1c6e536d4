"""Property tests: the macro over generated templates.

Bounded run in the normal suite (derandomized, so CI sees the same cases every time). A long run:

    SFN_FUZZ_EXAMPLES=10000 python3 -m pytest -q -s tests/hardening/test_fuzz.py

prints how many cases each property tried.
"""

from __future__ import annotations

import copy
import re
from collections import Counter
from typing import Any

from hardening_strategies import ALREADY, NOTHING, PIN, Case, junk_fragments, valid_cases
from hardening_support import (
    LONG_RUN,
    TRANSFORM_KWARGS,
    allows_invoke,
    captured_logs,
    cfn_lint_errors,
    check_invariants,
    check_response,
    entries,
    evaluate,
    function_names,
    fuzz_settings,
    get_path,
    glob,
    macro_event,
    rendered_definition,
    roles_of_statement,
    set_path,
    statements,
    token,
)
from hypothesis import given

from sfn_exact_version.handler import handler

TRIED: Counter[str] = Counter()


def _report_tried(name: str) -> None:
    if LONG_RUN:
        print(f"\n{name}: tried {TRIED[name]} cases")


def _call(event: dict[str, Any]) -> dict[str, Any]:
    pristine = copy.deepcopy(event)
    with captured_logs():
        response = handler(event, None)
    assert event == pristine, "the handler mutated its event"
    check_response(event, response)
    return response


def _kwargs(parameter_values: dict[str, Any]) -> dict[str, Any]:
    return {**TRANSFORM_KWARGS, "parameter_values": parameter_values}


# ------------------------------------------------------------------------------ any input at all
def test_any_input_gets_a_well_formed_response() -> None:
    """Junk of the wrong type anywhere: never an exception, always the protocol; a success keeps
    every invariant."""

    @fuzz_settings(150)
    @given(junk_fragments())
    def check(drawn: tuple[Any, dict[str, Any]]) -> None:
        TRIED["junk"] += 1
        fragment, values = drawn
        response = _call(macro_event(fragment, values))
        if response["status"] == "success":
            check_invariants(fragment, response["fragment"], transform_kwargs=_kwargs(values))

    check()
    _report_tried("junk")


# --------------------------------------------------------------------------------- valid input
def test_valid_templates_are_pinned_exactly_as_expected() -> None:
    """Every call is reported as the oracle predicts; the definition CloudFormation will resolve differs
    from the input exactly at the pinned calls; IAM gains only ``:*`` forms of entries that allowed a
    pinned function, and always where an exact entry was there to extend."""

    @fuzz_settings(150)
    @given(valid_cases())
    def check(case: Case) -> None:
        TRIED["valid"] += 1
        _check_valid(case)

    check()
    _report_tried("valid")


def _check_valid(case: Case) -> dict[str, Any] | None:
    event = macro_event(case.template, case.parameter_values)
    response = _call(event)
    failing = case.expected_failure()
    if failing is not None:
        assert response["status"] == "failure", f"{failing} has several versions, yet success"
        message = response["errorMessage"]
        assert failing in message and "several versions" in message, message
        return None
    assert response["status"] == "success", response.get("errorMessage")
    output = response["fragment"]
    check_invariants(case.template, output, transform_kwargs=_kwargs(case.parameter_values))
    report = output["Metadata"]["SfnExactVersion"]
    versions = _check_report(case, report, output)
    _check_definitions(case, output, versions)
    _check_iam_minimal(case.template, output, report, case.parameter_values)
    _check_iam_covers(case, output, report)
    return output


def _unescape(text: str) -> str:
    """Report text is written in CloudFormation's literal form (``${!X}`` for ``${X}``)."""
    return text.replace("${!", "${")


def _check_report(case: Case, report: dict[str, Any], output: dict[str, Any]) -> dict[str, str]:
    pinned = {(item["StateMachine"], _unescape(item["State"])): item for item in report["Pinned"]}
    assert len(pinned) == len(report["Pinned"]), "a call is reported as pinned twice"
    left = {}
    for item in report["LeftAlone"]:
        left.setdefault((item["StateMachine"], _unescape(item["State"])), []).append(item)
    expected_pinned = set()
    chosen: dict[str, str] = {}
    for machine in case.state_machines.values():
        for call in machine.calls:
            key = (call.state_machine, call.state)
            expect = call.expect
            where = f"{key} expected {expect}"
            if expect.outcome in (PIN, ALREADY):
                expected_pinned.add(key)
                assert key in pinned, f"{where}; report: {left.get(key)}"
                item = pinned[key]
                assert item["Function"] == expect.function, where
                version = item["Version"]
                if expect.outcome == ALREADY:
                    assert version == expect.version, where
                else:
                    existing = case.functions[expect.function].versions
                    if existing:
                        assert version == existing[0], where
                    else:
                        assert re.fullmatch(re.escape(expect.function) + r"Version[0-9a-f]{12}", version), (
                            where
                        )
                    assert chosen.setdefault(expect.function, version) == version, (
                        "two versions for one function"
                    )
                resource = output["Resources"][version]
                assert resource["Type"] == "AWS::Lambda::Version", where
                assert key not in left, where
            elif expect.outcome == NOTHING:
                assert key not in pinned and key not in left, (
                    f"{where}; got {pinned.get(key) or left.get(key)}"
                )
            else:
                assert key not in pinned, f"{where}; got {pinned[key]}"
                reasons = [item["Reason"] for item in left.get(key, [])]
                assert reasons == [expect.outcome], f"{where}; got {reasons}"
    assert set(pinned) == expected_pinned, f"unexpected pinned calls {set(pinned) - expected_pinned}"
    return chosen


def _parameters(case: Case) -> dict[str, Any]:
    from hardening_strategies import PARAMETER_DEFAULTS

    return {**PARAMETER_DEFAULTS, **case.parameter_values}


def _check_definitions(case: Case, output: dict[str, Any], chosen: dict[str, str]) -> None:
    parameters = _parameters(case)
    report = {
        (item["StateMachine"], _unescape(item["State"])): item["Version"]
        for item in output["Metadata"]["SfnExactVersion"]["Pinned"]
    }
    for machine in case.state_machines.values():
        before = case.template["Resources"][machine.logical_id]["Properties"]
        after = output["Resources"][machine.logical_id]["Properties"]
        if machine.form == "s3":
            expected = copy.deepcopy(before.get("DefinitionSubstitutions", {}))
            for call in machine.calls:
                if call.expect.outcome == PIN:
                    key = call.state.split("${", 1)[1][:-1]
                    expected[key] = {"Ref": report[(machine.logical_id, call.state)]}
            assert after.get("DefinitionSubstitutions", {}) == expected
            continue
        expected = rendered_definition(before, parameters)
        for call in machine.calls:
            if call.expect.outcome == PIN:
                version = report[(machine.logical_id, call.state)]
                set_path(expected, call.json_path, token("Ref", version))
        got = rendered_definition(after, parameters)
        assert got == expected, _difference(expected, got)
        for call in machine.calls:
            if call.expect.outcome in (PIN, ALREADY):
                assert get_path(got, call.json_path) == token("Ref", report[(machine.logical_id, call.state)])


def _difference(expected: Any, got: Any, path: str = "") -> str:
    if isinstance(expected, dict) and isinstance(got, dict):
        for key in set(expected) | set(got):
            if expected.get(key) != got.get(key):
                return _difference(expected.get(key), got.get(key), f"{path}/{key}")
    if isinstance(expected, list) and isinstance(got, list) and len(expected) == len(got):
        for index, (a, b) in enumerate(zip(expected, got, strict=True)):
            if a != b:
                return _difference(a, b, f"{path}/{index}")
    return f"rendered definition differs at {path}: expected {expected!r}, got {got!r}"


# ------------------------------------------------------------------------------------------ IAM
def _pairs(
    template: dict[str, Any], parameters: dict[str, Any], names: dict[str, str]
) -> set[tuple[str, str]]:
    pairs = set()
    for _resource, _path, statement in statements(template):
        if statement.get("Effect") != "Allow":
            continue
        actions = statement.get("Action")
        for action in actions if isinstance(actions, list) else [actions]:
            for entry in entries(statement):
                pairs.add((str(action), evaluate(entry, parameters, names)))
    return pairs


def _pinned_by_role(output: dict[str, Any], report: dict[str, Any]) -> dict[str, set[str]]:
    """role -> functions pinned by a state machine whose RoleArn names that role."""
    out: dict[str, set[str]] = {}
    for item in report["Pinned"]:
        role_arn = output["Resources"][item["StateMachine"]]["Properties"].get("RoleArn")
        text = evaluate(role_arn, {})
        found = re.search("\u27e6(?:GetAtt|Ref) ([^ .\u27e7]+)", text)
        if found:
            out.setdefault(found.group(1), set()).add(item["Function"])
    return out


def _check_iam_minimal(
    before: dict[str, Any], after: dict[str, Any], report: dict[str, Any], values: dict[str, Any]
) -> None:
    from hardening_strategies import PARAMETER_DEFAULTS

    parameters = {**PARAMETER_DEFAULTS, **values}
    names = function_names(before, parameters)
    arn_of = {
        function: f"arn:aws:lambda:eu-west-1:123456789012:function:{name}" for function, name in names.items()
    }
    by_role = _pinned_by_role(after, report)
    old = _pairs(before, parameters, names)
    new = _pairs(after, parameters, names) - old
    for action, entry in new:
        assert entry.endswith(":*"), f"new grant {action} on {entry}"
        assert (action, entry[:-2]) in old, f"{action} on {entry} is not derived from an existing grant"
        functions = {function for function, arn in arn_of.items() if arn == entry[:-2]}
        assert functions, f"{entry} is not the versions of a function of the template"
    before_statements = {(r, p): s for r, p, s in statements(before)}
    for resource, path, statement in statements(after):
        original = before_statements.pop((resource, path))
        gained = entries(statement)[len(entries(original)) :]
        if not gained:
            assert statement == original
            continue
        assert allows_invoke(statement), f"{resource}{path} gained entries but does not allow invoke"
        roles = roles_of_statement(after, resource, path)
        allowed = set().union(*(by_role.get(role, set()) for role in roles))
        for entry in gained:
            text = evaluate(entry, parameters, names)
            functions = {function for function, arn in arn_of.items() if arn + ":*" == text}
            assert functions & allowed, f"{resource}{path} gained {text}: no state machine of {roles} pins it"
    assert not before_statements, f"statements vanished: {list(before_statements)}"


def _check_iam_covers(case: Case, output: dict[str, Any], report: dict[str, Any]) -> None:
    """Where the role could invoke a pinned function by its exact ARN, it can now invoke its versions."""
    parameters = _parameters(case)
    names = function_names(case.template, parameters)
    for role, functions in _pinned_by_role(output, report).items():
        for function in functions:
            arn = f"arn:aws:lambda:eu-west-1:123456789012:function:{names[function]}"

            def texts(template: dict[str, Any], role: str = role) -> list[str]:
                return [
                    evaluate(entry, parameters, names)
                    for resource, path, statement in statements(template)
                    if allows_invoke(statement) and role in roles_of_statement(template, resource, path)
                    for entry in entries(statement)
                ]

            if any(glob(text, arn + ":1") for text in texts(output)):
                continue
            assert arn not in texts(case.template), f"{role} allowed {function} exactly but not its versions"
            assert any(role in warning and function in warning for warning in report["Warnings"]), (
                f"{role} cannot invoke {function}'s versions and no warning says so"
            )


# ------------------------------------------------------------------------------------- cfn-lint
def test_valid_templates_gain_no_cfn_lint_errors() -> None:
    """cfn-lint finds nothing in the output that it did not find in the input."""

    @fuzz_settings(25, share=0.1)
    @given(valid_cases())
    def check(case: Case) -> None:
        TRIED["lint"] += 1
        if case.expected_failure() is not None:
            return
        response = _call(macro_event(case.template, case.parameter_values))
        assert response["status"] == "success", response.get("errorMessage")
        before = set(cfn_lint_errors(case.template))
        after = set(cfn_lint_errors(response["fragment"]))
        assert after <= before, f"new cfn-lint errors: {sorted(after - before)}"

    check()
    _report_tried("lint")
