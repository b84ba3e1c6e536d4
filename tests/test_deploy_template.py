"""Checks on template.yaml, the SAM template that deploys the macro itself.

The macro only rewrites the template it receives, so its function must be able to do nothing
in AWS but write its own log. These tests hold the template to that, and to the settings the
macro needs to run (a Python runtime, a generous timeout, the registered macro name).
"""

from __future__ import annotations

import copy
import json
import re
from pathlib import Path
from typing import Any

import cfnlint.decode
import pytest
from cfnlint.api import ManualArgs, lint

from sfn_exact_version import MACRO_NAME

ROOT = Path(__file__).resolve().parent.parent
TEMPLATE_PATH = ROOT / "template.yaml"

FUNCTION_ID = "MacroFunction"
LOG_ACTIONS = {"logs:CreateLogStream", "logs:PutLogEvents", "logs:CreateLogGroup"}
IAM_POLICY_TYPES = {"AWS::IAM::Policy", "AWS::IAM::ManagedPolicy", "AWS::IAM::RolePolicy"}


def _plain(value: Any) -> Any:
    """cfn-lint's decoded nodes as plain dicts, lists and scalars."""
    return json.loads(json.dumps(value))


@pytest.fixture(scope="module")
def template() -> dict[str, Any]:
    decoded, matches = cfnlint.decode.decode(str(TEMPLATE_PATH))
    assert not matches, [str(match) for match in matches]
    assert decoded is not None
    plain: dict[str, Any] = _plain(decoded)
    return plain


@pytest.fixture(scope="module")
def resources(template: dict[str, Any]) -> dict[str, Any]:
    found: dict[str, Any] = template["Resources"]
    return found


@pytest.fixture(scope="module")
def function(resources: dict[str, Any]) -> dict[str, Any]:
    resource: dict[str, Any] = resources[FUNCTION_ID]
    assert resource["Type"] == "AWS::Serverless::Function"
    return resource


def _resolve(template: dict[str, Any], value: Any) -> Any:
    """A literal, or the default of the parameter that a ``Ref`` names."""
    if isinstance(value, dict) and set(value) == {"Ref"} and value["Ref"] in template.get("Parameters", {}):
        return template["Parameters"][value["Ref"]].get("Default")
    return value


def _get_att_target(value: Any, attribute: str) -> str | None:
    """The logical ID in ``{"Fn::GetAtt": [X, attribute]}`` (or ``"X.attribute"``), else ``None``."""
    if not isinstance(value, dict) or set(value) != {"Fn::GetAtt"}:
        return None
    target = value["Fn::GetAtt"]
    if isinstance(target, str):
        target = target.split(".", 1)
    if isinstance(target, list) and len(target) == 2 and target[1] == attribute:
        return str(target[0])
    return None


def _as_list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else [value]


def _log_group_id(function: dict[str, Any], resources: dict[str, Any]) -> str:
    log_group = function["Properties"]["LoggingConfig"]["LogGroup"]
    assert isinstance(log_group, dict) and set(log_group) == {"Ref"}, log_group
    logical_id = str(log_group["Ref"])
    assert resources[logical_id]["Type"] == "AWS::Logs::LogGroup"
    return logical_id


def test_function_runs_python_on_arm64_with_a_generous_timeout(
    template: dict[str, Any], function: dict[str, Any]
) -> None:
    properties = function["Properties"]
    assert re.fullmatch(r"python3\.\d+", _resolve(template, properties["Runtime"]))
    assert properties["Architectures"] == ["arm64"]
    # Lambda's default of 3 s has rolled back stacks that used other macros.
    assert int(_resolve(template, properties["Timeout"])) > 3
    assert int(_resolve(template, properties["MemorySize"])) >= 128


def test_handler_names_the_real_handler_module(function: dict[str, Any]) -> None:
    properties = function["Properties"]
    module, _, attribute = properties["Handler"].rpartition(".")
    source = ROOT / properties["CodeUri"] / Path(*module.split(".")).with_suffix(".py")
    assert source.is_file(), source
    assert re.search(rf"^def {attribute}\(event", source.read_text(), re.MULTILINE)


def test_function_is_built_by_the_makefile_target(function: dict[str, Any]) -> None:
    assert function["Metadata"]["BuildMethod"] == "makefile"
    context = function["Metadata"].get("ContextPath", function["Properties"]["CodeUri"])
    makefile = ROOT / context / "Makefile"
    assert re.search(rf"^build-{FUNCTION_ID}:", makefile.read_text(), re.MULTILINE)


def test_powertools_environment(template: dict[str, Any], function: dict[str, Any]) -> None:
    variables = function["Properties"]["Environment"]["Variables"]
    assert variables["POWERTOOLS_SERVICE_NAME"] == "sfn-exact-version"
    level = variables["POWERTOOLS_LOG_LEVEL"]
    assert isinstance(level, dict) and set(level) == {"Ref"}, "log level should be a stack parameter"
    assert _resolve(template, level) == "INFO"


def test_log_group_keeps_events_for_a_limited_time(
    template: dict[str, Any], function: dict[str, Any], resources: dict[str, Any]
) -> None:
    log_group = resources[_log_group_id(function, resources)]
    retention = _resolve(template, log_group["Properties"]["RetentionInDays"])
    assert isinstance(retention, int) and retention > 0
    assert retention == 30


def test_role_may_only_write_the_macro_log(
    template: dict[str, Any], function: dict[str, Any], resources: dict[str, Any]
) -> None:
    properties = function["Properties"]
    # SAM would otherwise generate a role with AWSLambdaBasicExecutionRole (logs on any group).
    assert "Policies" not in properties
    role_id = _get_att_target(properties["Role"], "Arn")
    assert role_id is not None, properties["Role"]
    role = resources[role_id]
    assert role["Type"] == "AWS::IAM::Role"

    role_properties = role["Properties"]
    assert not role_properties.get("ManagedPolicyArns"), "no managed policies: they grant more than logs"
    assert role_properties["AssumeRolePolicyDocument"]["Statement"] == [
        {"Effect": "Allow", "Principal": {"Service": "lambda.amazonaws.com"}, "Action": "sts:AssumeRole"}
    ]

    log_group_id = _log_group_id(function, resources)
    statements = [
        statement
        for policy in role_properties.get("Policies", [])
        for statement in _as_list(policy["PolicyDocument"]["Statement"])
    ]
    assert statements, "the function needs to write its log"
    for statement in statements:
        assert set(statement) <= {"Sid", "Effect", "Action", "Resource"}, statement
        assert statement["Effect"] == "Allow"
        assert set(_as_list(statement["Action"])) <= LOG_ACTIONS, statement
        for resource in _as_list(statement["Resource"]):
            assert _get_att_target(resource, "Arn") == log_group_id, (
                f"{resource!r} is not the macro's own log group {log_group_id}"
            )

    for logical_id, resource in resources.items():
        assert resource["Type"] not in IAM_POLICY_TYPES, f"{logical_id} could widen the role"


def test_translated_template_adds_no_permissions(
    template: dict[str, Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    """What CloudFormation deploys after the SAM transform: still one role, nothing else of IAM."""
    from samtranslator.translator.transform import transform

    class NoManagedPolicies:
        def load(self) -> dict[str, str]:
            return {}

    monkeypatch.setenv("AWS_DEFAULT_REGION", "eu-west-1")
    packaged = copy.deepcopy(template)
    packaged["Resources"][FUNCTION_ID]["Properties"]["CodeUri"] = "s3://bucket/macro.zip"
    translated = transform(packaged, {}, NoManagedPolicies())

    types = {logical_id: resource["Type"] for logical_id, resource in translated["Resources"].items()}
    assert sorted(types.values()) == sorted(
        ["AWS::Logs::LogGroup", "AWS::IAM::Role", "AWS::Lambda::Function", "AWS::CloudFormation::Macro"]
    ), types
    role = translated["Resources"][FUNCTION_ID]["Properties"]["Role"]
    assert role == template["Resources"][FUNCTION_ID]["Properties"]["Role"]
    assert lint(json.dumps(translated), config=ManualArgs(regions=["eu-west-1", "us-east-1"])) == []


def test_macro_name_is_a_parameter_defaulting_to_sfn_exact_version(
    template: dict[str, Any], resources: dict[str, Any]
) -> None:
    macros = {key: value for key, value in resources.items() if value["Type"] == "AWS::CloudFormation::Macro"}
    assert len(macros) == 1, macros
    (macro,) = macros.values()
    assert macro["Properties"]["Name"] == {"Ref": "MacroName"}
    assert template["Parameters"]["MacroName"]["Default"] == "SfnExactVersion" == MACRO_NAME
    assert _get_att_target(macro["Properties"]["FunctionName"], "Arn") == FUNCTION_ID


def test_outputs_name_the_macro_and_its_function(template: dict[str, Any]) -> None:
    values = [output["Value"] for output in template["Outputs"].values()]
    assert {"Ref": "MacroName"} in values
    assert {"Fn::GetAtt": [FUNCTION_ID, "Arn"]} in values


def test_cfn_lint_reports_nothing() -> None:
    matches = lint(TEMPLATE_PATH.read_text(), config=ManualArgs(regions=["eu-west-1", "us-east-1"]))
    assert matches == [], [str(match) for match in matches]
