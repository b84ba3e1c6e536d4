"""The macro protocol: what CloudFormation sends and must get back, and what the handler logs."""

from __future__ import annotations

import copy
import io
import json
from typing import Any

import pytest

from sfn_exact_version import handler as handler_module
from sfn_exact_version.handler import handler
from support import macro_event

FUNCTION = {
    "Type": "AWS::Lambda::Function",
    "Properties": {
        "Handler": "app.handler",
        "Runtime": "python3.13",
        "Role": {"Fn::GetAtt": ["FunctionRole", "Arn"]},
        "Code": {"ZipFile": "def handler(event, context):\n    return 'ok'\n"},
    },
}
STATE_MACHINE = {
    "Type": "AWS::StepFunctions::StateMachine",
    "Properties": {
        "RoleArn": "arn:aws:iam::123456789012:role/existing",
        "Definition": {
            "StartAt": "Hello",
            "States": {"Hello": {"Type": "Task", "Resource": {"Fn::GetAtt": ["Hello", "Arn"]}, "End": True}},
        },
    },
}


def event(fragment: Any, **extra: Any) -> dict[str, Any]:
    return macro_event(fragment, request_id="req-42", **extra)


def log_lines(text: str) -> list[dict[str, Any]]:
    return [json.loads(line) for line in text.splitlines() if line.startswith("{")]


def test_success_echoes_request_id_and_returns_the_pinned_fragment(handler_logs: io.StringIO) -> None:
    fragment = {"Resources": {"Hello": FUNCTION, "Machine": STATE_MACHINE}}
    original = copy.deepcopy(fragment)
    response = handler(event(fragment), None)
    assert response["requestId"] == "req-42"
    assert response["status"] == "success"
    assert "errorMessage" not in response
    resources = response["fragment"]["Resources"]
    state = resources["Machine"]["Properties"]["Definition"]["States"]["Hello"]
    version = state["Resource"]["Ref"]
    assert resources[version]["Type"] == "AWS::Lambda::Version"
    assert fragment == original
    lines = log_lines(handler_logs.getvalue())
    summaries = [line for line in lines if line["message"] == "transform succeeded"]
    assert len(summaries) == 1
    assert summaries[0]["summary"]["pinned"] == 1
    assert summaries[0]["requestId"] == "req-42"
    assert summaries[0]["level"] == "INFO"


def test_serverless_resources_fail_with_the_fix() -> None:
    fragment = {"Resources": {"Fn": {"Type": "AWS::Serverless::Function", "Properties": {}}}}
    response = handler(event(fragment), None)
    assert response["status"] == "failure"
    assert response["requestId"] == "req-42"
    assert "Resources/Fn" in response["errorMessage"]
    assert "[AWS::Serverless-2016-10-31, SfnExactVersion]" in response["errorMessage"]


@pytest.mark.parametrize("fragment", [None, [], "text", 3])
def test_a_fragment_that_is_not_an_object_fails_clearly(fragment: Any) -> None:
    response = handler(event(fragment), None)
    assert response["status"] == "failure"
    assert "JSON object" in response["errorMessage"]


def test_an_event_that_is_not_an_object_fails_without_raising() -> None:
    response = handler(["not", "an", "event"], None)
    assert response["status"] == "failure"
    assert response["requestId"] is None


def test_an_unexpected_error_fails_with_the_request_id_and_logs_the_traceback(
    monkeypatch: pytest.MonkeyPatch, handler_logs: io.StringIO
) -> None:
    def broken(*_args: Any, **_kwargs: Any) -> Any:
        raise KeyError("boom")

    monkeypatch.setattr(handler_module, "transform", broken)
    response = handler(event({"Resources": {}}), None)
    assert response["status"] == "failure"
    assert "req-42" in response["errorMessage"]
    assert "Traceback" not in response["errorMessage"]
    assert response["fragment"] == {}
    logged = handler_logs.getvalue()
    assert "Traceback" in logged or "exception" in logged
    assert "KeyError" in logged


def test_parameter_values_never_reach_the_log(handler_logs: io.StringIO) -> None:
    fragment = {
        "Parameters": {"Secret": {"Type": "String", "NoEcho": True}},
        "Resources": {"Hello": FUNCTION, "Machine": STATE_MACHINE},
    }
    handler(event(fragment, templateParameterValues={"Secret": "hunter2-secret-value"}), None)
    assert "hunter2-secret-value" not in handler_logs.getvalue()


def test_the_report_is_in_the_processed_template_metadata() -> None:
    fragment = {"Resources": {"Hello": FUNCTION, "Machine": STATE_MACHINE}}
    response = handler(event(fragment), None)
    report = response["fragment"]["Metadata"]["SfnExactVersion"]
    assert report["Pinned"] == [
        {
            "StateMachine": "Machine",
            "State": "States.Hello",
            "Function": "Hello",
            "Version": report["Versions"][0]["Version"],
        }
    ]
    assert report["Versions"][0]["Created"] is True
