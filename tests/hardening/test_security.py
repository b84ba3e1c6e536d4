"""Security properties.

(a) No parameter value, above all a NoEcho one, reaches a log line or an errorMessage: on success, on a
    TransformError, on an unexpected exception (even one whose message quotes the value).
(b) A version a pinned call uses never loses Retain (DeletionPolicy and UpdateReplacePolicy), unless the
    template itself chose another value.
(c) A NoEcho parameter's value changes neither the fingerprint nor anything else in the output, and
    never appears in it.
"""

from __future__ import annotations

import contextlib
import copy
import io
import json
import logging
import string
from collections.abc import Iterator
from typing import Any

import pytest
from hardening_strategies import SECRET_PARAMETER, Case, valid_cases
from hardening_support import TRANSFORM_KWARGS, captured_logs, fuzz_settings, macro_event
from hypothesis import given
from hypothesis import strategies as st

from sfn_exact_version import handler as handler_module
from sfn_exact_version import transform as transform_module
from sfn_exact_version.handler import handler
from sfn_exact_version.transform import transform

SECRET = "s3cr3t-VALUE-123"
OTHER_SECRET = "an0ther-SECRET-456"
ROLE = "arn:aws:iam::123456789012:role/outside"
PROPERTY_SETTINGS = fuzz_settings(100, share=0.2)


def template(*, failing: str | None = None) -> dict[str, Any]:
    """A NoEcho parameter used by a pinned function; the same text as a literal elsewhere."""
    resources: dict[str, Any] = {
        "Fn": {
            "Type": "AWS::Lambda::Function",
            "Properties": {
                "Code": {"ZipFile": "def handler(event, context):\n    return event\n"},
                "Handler": "index.handler",
                "Runtime": "python3.12",
                "Role": ROLE,
                "Environment": {
                    "Variables": {"DB_PASSWORD": {"Ref": "DbPassword"}, "STAGE": {"Ref": "Stage"}}
                },
            },
        },
        "Topic": {"Type": "AWS::SNS::Topic", "Properties": {"DisplayName": SECRET}},
        "Sm": {
            "Type": "AWS::StepFunctions::StateMachine",
            "Properties": {
                "RoleArn": ROLE,
                "Definition": {
                    "StartAt": "Seed",
                    "States": {
                        "Seed": {"Type": "Pass", "Result": {"password": SECRET}, "Next": "Call"},
                        "Call": {"Type": "Task", "Resource": {"Fn::GetAtt": ["Fn", "Arn"]}, "End": True},
                    },
                },
            },
        },
    }
    if failing == "json":
        resources["Broken"] = {
            "Type": "AWS::StepFunctions::StateMachine",
            "Properties": {"RoleArn": ROLE, "DefinitionString": '{"Comment": "' + SECRET + '", "StartAt": '},
        }
    elif failing == "form":  # the message names the definition's first key
        resources["Broken"] = {
            "Type": "AWS::StepFunctions::StateMachine",
            "Properties": {"RoleArn": ROLE, "DefinitionString": {SECRET: "x"}},
        }
    elif failing == "name":  # a resource whose logical ID is the secret text
        resources[SECRET.replace("-", "")] = []
    return {
        "Parameters": {
            "DbPassword": {"Type": "String", "NoEcho": True},
            "Stage": {"Type": "String", "Default": "dev"},
        },
        "Resources": resources,
    }


@contextlib.contextmanager
def everything_logged(caplog: pytest.LogCaptureFixture) -> Iterator[list[str]]:
    """The powertools stream, plus every record any logger emits (message, extras, exception text)."""
    texts: list[str] = []
    with captured_logs() as stream, caplog.at_level(logging.DEBUG):
        yield texts
    texts.append(stream.getvalue())
    for record in caplog.records:
        texts.append(
            json.dumps({key: str(value) for key, value in record.__dict__.items()}, ensure_ascii=False)
        )
        if record.exc_info:
            texts.append(logging.Formatter().formatException(record.exc_info))


def assert_absent(secret: str, *texts: str) -> None:
    for text in texts:
        assert secret not in text, f"the secret reached: {text[:300]}"


def run(
    fragment: Any,
    caplog: pytest.LogCaptureFixture,
    capsys: pytest.CaptureFixture[str],
    values: dict[str, Any] | None = None,
) -> tuple[dict[str, Any], list[str]]:
    values = {"DbPassword": SECRET, "Stage": "prod"} if values is None else values
    with everything_logged(caplog) as logged:
        response = handler(macro_event(fragment, values), None)
    out, err = capsys.readouterr()
    return response, [*logged, out, err]


# ------------------------------------------------------------------------------------------ (a)
def test_a_secret_never_reaches_the_log_on_success(
    caplog: pytest.LogCaptureFixture, capsys: pytest.CaptureFixture[str]
) -> None:
    response, logged = run(template(), caplog, capsys)
    assert response["status"] == "success"
    assert any("transform succeeded" in text for text in logged)
    assert_absent(SECRET, *logged)


@pytest.mark.parametrize("failing", ["json", "form", "name"])
def test_a_secret_never_reaches_the_log_or_the_message_on_failure(
    failing: str, caplog: pytest.LogCaptureFixture, capsys: pytest.CaptureFixture[str]
) -> None:
    fragment = template(failing=failing)
    values = {"DbPassword": SECRET.replace("-", "") if failing == "name" else SECRET, "Stage": "prod"}
    response, logged = run(fragment, caplog, capsys, values)
    assert response["status"] == "failure"
    assert any("transform failed" in text for text in logged)
    assert_absent(values["DbPassword"], response["errorMessage"], *logged)


def _quoting(values: dict[str, Any]) -> Any:
    return int(values["DbPassword"])  # ValueError: invalid literal for int() with base 10: '<value>'


@pytest.mark.parametrize(
    "failure",
    [
        lambda values: (_ for _ in ()).throw(RuntimeError("internal failure")),
        _quoting,
        lambda values: values["missing-" + values["DbPassword"]],  # KeyError('missing-<value>')
        lambda values: (_ for _ in ()).throw(ValueError(f"bad parameters {values!r}")),
    ],
    ids=["plain", "int-of-value", "key-error-quoting-value", "repr-of-all-values"],
)
def test_a_secret_never_reaches_the_log_on_an_unexpected_error(
    failure: Any,
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
    capsys: pytest.CaptureFixture[str],
) -> None:
    """An internal error deep in the transform (here: while fingerprinting), whose message may quote the
    value: the log keeps the traceback and the exception name, with the value hidden."""

    def broken_fingerprint(function: str, index: Any, parameter_values: dict[str, Any]) -> Any:
        return failure(parameter_values)

    monkeypatch.setattr(transform_module, "fingerprint", broken_fingerprint)
    response, logged = run(template(), caplog, capsys)
    assert response["status"] == "failure"
    assert "unexpected internal error" in response["errorMessage"]
    assert "Traceback" not in response["errorMessage"]
    joined = "\n".join(logged)
    assert "Traceback" in joined and "broken_fingerprint" in joined
    assert_absent(SECRET, response["errorMessage"], *logged)


def test_short_values_of_ordinary_parameters_stay_readable(
    monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture, capsys: pytest.CaptureFixture[str]
) -> None:
    """Only NoEcho values are hidden whatever their length: "1" hidden everywhere would garble the log."""
    monkeypatch.setattr(
        transform_module, "fingerprint", lambda *args: (_ for _ in ()).throw(RuntimeError("line 1 of abc"))
    )
    _, logged = run(template(), caplog, capsys, {"DbPassword": "abc", "Stage": "1"})
    joined = "\n".join(logged)
    assert "abc" not in joined  # NoEcho, however short
    assert "line 1 of ***" in joined


# Secrets drawn for generated templates carry a marker that neither the templates nor anything the
# macro writes can contain, so that finding one in the output can only mean the value leaked.
SECRETS = st.text(string.ascii_letters + string.digits + "-_!", min_size=4, max_size=20).map(
    lambda s: f"\u00a7{s}"
)


@PROPERTY_SETTINGS
@given(case=valid_cases(), secret=SECRETS)
def test_a_secret_never_reaches_the_log_for_generated_templates(case: Case, secret: str) -> None:
    text = json.dumps(case.template, ensure_ascii=False)
    if "\u00a7" in text:
        return
    values = {**case.parameter_values, SECRET_PARAMETER: secret}
    stream = io.StringIO()
    log_handler = handler_module.logger.registered_handler
    previous = log_handler.setStream(stream)  # type: ignore[attr-defined]
    try:
        response = handler(macro_event(case.template, values), None)
    finally:
        log_handler.setStream(previous)  # type: ignore[attr-defined]
    assert_absent(secret, stream.getvalue(), response.get("errorMessage", ""))
    assert_absent(secret, json.dumps(response, ensure_ascii=False))


# ------------------------------------------------------------------------------------------ (b)
@PROPERTY_SETTINGS
@given(valid_cases())
def test_versions_called_by_pinned_calls_stay_retained(case: Case) -> None:
    if case.expected_failure() is not None:
        return
    result = transform(case.template, parameter_values=case.parameter_values, **TRANSFORM_KWARGS)
    resources = result.template["Resources"]
    for item in result.report.pinned:
        before = case.template["Resources"].get(item.version, {})
        after = resources[item.version]
        assert after["Type"] == "AWS::Lambda::Version"
        for policy in ("DeletionPolicy", "UpdateReplacePolicy"):
            if policy in before and before[policy] != "Retain":
                assert after[policy] == before[policy], (
                    f"{item.version}: the template's own {policy} was changed"
                )
                assert any(
                    item.version in warning and policy in warning for warning in result.report.warnings
                )
            else:
                assert after.get(policy) == "Retain", f"{item.version} ({item.state}) lost {policy}: Retain"


def test_an_explicit_retain_survives_every_rewrite() -> None:
    version = {
        "Type": "AWS::Lambda::Version",
        "DeletionPolicy": "Retain",
        "UpdateReplacePolicy": "Retain",
        "Properties": {"FunctionName": {"Ref": "Fn"}, "Description": "release 7"},
    }
    fragment = template()
    fragment["Resources"]["Release"] = version
    output = transform(fragment, **TRANSFORM_KWARGS).template
    again = transform(output, **TRANSFORM_KWARGS).template
    for result in (output, again):
        assert result["Resources"]["Release"]["DeletionPolicy"] == "Retain"
        assert result["Resources"]["Release"]["UpdateReplacePolicy"] == "Retain"


# ------------------------------------------------------------------------------------------ (c)
@pytest.mark.parametrize("no_echo", [True, "true", "TRUE", "True"])
def test_a_noecho_value_changes_nothing_and_appears_nowhere(no_echo: Any) -> None:
    fragment = template()
    fragment["Parameters"]["DbPassword"]["NoEcho"] = no_echo
    outputs = [
        transform(
            fragment, parameter_values={"DbPassword": value, "Stage": "prod"}, **TRANSFORM_KWARGS
        ).template
        for value in (SECRET, OTHER_SECRET)
    ]
    assert outputs[0] == outputs[1]
    for output in outputs:
        created = [v for v in output["Metadata"]["SfnExactVersion"]["Versions"] if v["Created"]]
        assert len(created) == 1
        text = json.dumps({key: value for key, value in output.items()}, ensure_ascii=False)
        # the literal copies in Topic and the Pass state are the template's own text; nothing else has it
        assert text.count(SECRET) == json.dumps(fragment, ensure_ascii=False).count(SECRET)
        assert OTHER_SECRET not in text
        assert any(
            "DbPassword" in warning and "NoEcho" in warning
            for warning in output["Metadata"]["SfnExactVersion"]["Warnings"]
        )


def test_an_ordinary_parameter_value_does_change_the_fingerprint() -> None:
    fragment = template()
    versions = {
        stage: transform(
            fragment, parameter_values={"DbPassword": SECRET, "Stage": stage}, **TRANSFORM_KWARGS
        )
        .report.versions[0]
        .version
        for stage in ("dev", "prod")
    }
    assert versions["dev"] != versions["prod"]


@PROPERTY_SETTINGS
@given(case=valid_cases(), secrets=st.lists(SECRETS, min_size=2, max_size=2, unique=True))
def test_noecho_values_never_change_or_enter_the_output_of_generated_templates(
    case: Case, secrets: list[str]
) -> None:
    if case.expected_failure() is not None or "\u00a7" in json.dumps(case.template, ensure_ascii=False):
        return
    outputs = []
    for secret in secrets:
        values = {**case.parameter_values, SECRET_PARAMETER: secret}
        output = transform(copy.deepcopy(case.template), parameter_values=values, **TRANSFORM_KWARGS).template
        serialised = json.dumps(output, ensure_ascii=False)
        assert secret not in serialised
        outputs.append(output)
    assert outputs[0] == outputs[1]
