"""Property tests: the macro over generated templates.

Bounded run in the normal suite (derandomized, so CI sees the same cases every time). A long run:

    SFN_FUZZ_EXAMPLES=10000 python3 -m pytest -q -s tests/hardening/test_fuzz.py

prints how many cases each property tried.
"""

from __future__ import annotations

import copy
import json
import re
from collections import Counter
from typing import Any

from hardening_strategies import ALREADY, NOTHING, PIN, Case, junk_fragments, valid_cases
from hardening_support import (
    LONG_RUN,
    TRANSFORM_KWARGS,
    applies_to_invoke,
    captured_logs,
    cfn_lint_errors,
    check_invariants,
    check_response,
    chosen,
    entries,
    evaluate,
    function_names,
    fuzz_settings,
    get_path,
    glob,
    macro_event,
    rendered_definition,
    role_documents,
    roles_of_statement,
    set_path,
    statements,
    token,
)
from hypothesis import given
from sim.iam_policy import policy_allows

from sfn_exact_version.handler import handler

INVOKE = "lambda:InvokeFunction"

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
    for name in ("iam-allowed", "iam-denied", "iam-fn-if"):
        _report_tried(name)


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
    _check_iam_minimal(case, output, report)
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


def _conditions(parameters: dict[str, Any]) -> dict[str, bool]:
    return {"IsProd": parameters["Stage"] == "prod"}


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
ACCOUNT_ARN = "arn:aws:lambda:eu-west-1:123456789012:function:"
GRANT = "AWS::IAM::RolePolicy"


def _pinned_by_role(case: Case, report: dict[str, Any]) -> dict[str, set[str]]:
    """role -> functions a state machine whose RoleArn names that role calls at an exact version: pinned
    (the report's word), or named by number in its definition (the drawn model's word; a definition in
    S3 is not read, so a number written in a substitution there is no known call)."""
    out: dict[str, set[str]] = {}
    for item in report["Pinned"]:
        role = case.state_machines[item["StateMachine"]].role
        if role is not None:
            out.setdefault(role, set()).add(item["Function"])
    for machine in case.state_machines.values():
        if machine.role is None or machine.form == "s3":
            continue
        for call in machine.calls:
            if call.expect.outcome == "qualified" and call.expect.function is not None:
                out.setdefault(machine.role, set()).add(call.expect.function)
    return out


def _grants(output: dict[str, Any], before: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {
        logical_id: resource
        for logical_id, resource in output["Resources"].items()
        if logical_id not in before["Resources"] and resource["Type"] == GRANT
    }


def _check_iam_minimal(case: Case, after: dict[str, Any], report: dict[str, Any]) -> None:
    """Existing statements only gain ``:*`` forms: an Allow for the versions of a function it names and
    a state machine of its role pins, a Deny or NotResource for an entry that names such a function.
    New policies are only retained grants, each for a function its role already allowed. Statements
    that choose by ``Fn::If`` are read as deployed under the case's value of the condition."""
    parameters = _parameters(case)
    before = chosen(case.template, _conditions(parameters))
    after = chosen(after, _conditions(parameters))
    names = function_names(before, parameters)
    arn_of = {function: ACCOUNT_ARN + name for function, name in names.items()}
    by_role = _pinned_by_role(case, report)
    before_statements = {(r, p): s for r, p, s in statements(before)}
    grants = _grants(after, before)
    for resource, path, statement in statements(after):
        if resource in grants:
            continue
        original = before_statements.pop((resource, path))
        assert {key for key in statement if key not in ("Resource", "NotResource")} == {
            key for key in original if key not in ("Resource", "NotResource")
        }
        gained = entries(statement)[len(entries(original)) :]
        if not gained:
            # (an entry gained only under the other value of a condition leaves a list of one here)
            assert entries(statement) == entries(original)
            assert {k: v for k, v in statement.items() if k not in ("Resource", "NotResource")} == {
                k: v for k, v in original.items() if k not in ("Resource", "NotResource")
            }
            continue
        roles = roles_of_statement(after, resource, path)
        pinned = set().union(*(by_role.get(role, set()) for role in roles))
        assert applies_to_invoke(statement), f"{resource}{path} gained entries but does not apply to invoke"
        old_texts = [evaluate(entry, parameters, names) for entry in entries(original)]
        for entry in gained:
            text = evaluate(entry, parameters, names)
            assert text.endswith(":*"), f"{resource}{path} gained {text}"
            if statement["Effect"] == "Allow" and "Resource" in statement:
                functions = {function for function, arn in arn_of.items() if arn + ":*" == text}
                assert functions & pinned, (
                    f"{resource}{path} gained {text}: no state machine of {roles} pins it"
                )
                assert text[:-2] in old_texts, f"{resource}{path}: {text} is not derived from an entry there"
            else:  # Deny, or NotResource: the same entry, for the versions
                assert text[:-2] in old_texts, f"{resource}{path}: {text} is not derived from an entry there"
                assert any(glob(text[:-2], arn_of[function]) for function in pinned), (
                    f"{resource}{path}: {text} names no function pinned by a state machine of {roles}"
                )
    assert not before_statements, f"statements vanished: {list(before_statements)}"
    for logical_id, grant in grants.items():
        role = grant["Properties"]["RoleName"]["Ref"]
        (statement,) = grant["Properties"]["PolicyDocument"]["Statement"]
        text = evaluate(statement["Resource"], parameters, names)
        (function,) = [function for function, arn in arn_of.items() if arn + ":*" == text]
        assert function in by_role.get(role, set()), (
            f"{logical_id}: no state machine of {role} pins {function}"
        )
        documents = role_documents(before, role, parameters, names)
        allowed_before = policy_allows(documents, INVOKE, arn_of[function]) or policy_allows(
            documents, INVOKE, arn_of[function] + ":1"
        )
        # A grant under a Deny that covers the versions too (a Deny chosen by Fn::If, say) allows nothing.
        harmless = not policy_allows(
            role_documents(after, role, parameters, names), INVOKE, arn_of[function] + ":1"
        )
        assert allowed_before or harmless, f"{logical_id}: {role} did not allow {function} before"
        assert grant["DeletionPolicy"] == grant["UpdateReplacePolicy"] == "Retain"


def _check_iam_covers(case: Case, output: dict[str, Any], report: dict[str, Any]) -> None:
    """Pinning changes no answer of the role (issue 10.10): for every pinned call, the output role allows
    the pinned version exactly when the input role allowed the function, or a warning names the role
    and the function. The one exception is the template's own: an input role that allowed only the
    versions (``${Fn.Arn}:*``) allows them still; the macro itself never allows what was denied."""
    parameters = _parameters(case)
    names = function_names(case.template, parameters)
    template_before = chosen(case.template, _conditions(parameters))
    template_after = chosen(output, _conditions(parameters))
    conditional_iam = any(
        "Fn::If" in json.dumps(resource)
        for resource in case.template["Resources"].values()
        if resource["Type"].startswith("AWS::IAM::")
    )
    for machine in case.state_machines.values():
        if machine.role is None:
            continue
        before = role_documents(template_before, machine.role, parameters, names)
        after = role_documents(template_after, machine.role, parameters, names)
        for call in machine.calls:
            if call.expect.outcome != PIN:
                continue
            function = call.expect.function
            assert function is not None
            arn = ACCOUNT_ARN + names[function]
            was = policy_allows(before, INVOKE, arn)
            now = policy_allows(after, INVOKE, arn + ":1")
            TRIED["iam-" + ("allowed" if was else "denied")] += 1
            if conditional_iam:
                TRIED["iam-fn-if"] += 1
            if was and not now:
                assert any(
                    machine.role in warning and function in warning for warning in report["Warnings"]
                ), f"{machine.role} allowed {function} but denies its pinned version, and no warning says so"
            if now and not was:
                assert policy_allows(before, INVOKE, arn + ":1"), (
                    f"{machine.role} denied {function} but allows its pinned version: pinning widened it"
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
