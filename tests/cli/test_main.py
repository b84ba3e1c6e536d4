"""The ``sfn-exact-version`` commands end to end: transform, diff, check; exit codes; errors."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import yaml

from sfn_exact_version.cli.main import ERROR, FINDINGS, OK, USAGE, main
from sfn_exact_version.offline import pipeline
from sfn_exact_version.offline.template_io import parse_template

FIXTURES = Path(__file__).resolve().parent / "fixtures"
APP = FIXTURES / "app"
FINDINGS_TEMPLATE = FIXTURES / "findings.yaml"
DEFINITION_FILE = FIXTURES / "definition_file"
ROOT = Path(__file__).resolve().parents[2]


def run(capsys: pytest.CaptureFixture[str], *argv: str | os.PathLike[str]) -> tuple[int, str, str]:
    code = main([str(arg) for arg in argv])
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def created_versions(template: dict[str, Any], function: str) -> list[str]:
    return [
        logical_id
        for logical_id, resource in template["Resources"].items()
        if resource["Type"] == "AWS::Lambda::Version"
        and resource["Properties"]["FunctionName"] == {"Ref": function}
    ]


def transformed(capsys: pytest.CaptureFixture[str], template: Path, *options: str) -> dict[str, Any]:
    code, out, err = run(capsys, "transform", template, *options)
    assert code == OK, err
    result: dict[str, Any] = json.loads(out)
    return result


# --- transform ----------------------------------------------------------------------------------
def _assert_pinned_app(template: dict[str, Any]) -> str:
    """The app as CloudFormation would run it: SAM translated, the one call pinned to a new version."""
    assert "Transform" not in template
    resources = template["Resources"]
    assert not any(resource["Type"].startswith("AWS::Serverless::") for resource in resources.values())
    (version,) = created_versions(template, "HelloFunction")
    assert version.startswith("HelloFunctionVersion")
    assert resources[version]["DeletionPolicy"] == "Retain"
    assert resources[version]["UpdateReplacePolicy"] == "Retain"
    machine = resources["HelloStateMachine"]["Properties"]
    assert {"Ref": version} in machine["DefinitionSubstitutions"].values()
    pinned = template["Metadata"]["SfnExactVersion"]["Pinned"]
    assert pinned == [
        {
            "StateMachine": "HelloStateMachine",
            "State": "States.Greet",
            "Function": "HelloFunction",
            "Version": version,
        }
    ]
    return version


def test_transform_prints_json(capsys: pytest.CaptureFixture[str]) -> None:
    _assert_pinned_app(transformed(capsys, APP / "template.yaml"))


def test_transform_prints_yaml_that_reads_back_the_same(capsys: pytest.CaptureFixture[str]) -> None:
    as_json = transformed(capsys, APP / "template.yaml")
    code, out, _ = run(capsys, "transform", APP / "template.yaml", "--format", "yaml")
    assert code == OK
    assert not out.lstrip().startswith("{")
    assert yaml.safe_load(out) == as_json
    assert parse_template(out) == as_json
    _assert_pinned_app(parse_template(out))


@pytest.mark.parametrize("fmt", ["json", "yaml"])
def test_transform_writes_to_a_file(capsys: pytest.CaptureFixture[str], tmp_path: Path, fmt: str) -> None:
    target = tmp_path / f"out.{fmt}"
    code, out, _ = run(capsys, "transform", APP / "template.yaml", "--format", fmt, "-o", target)
    assert (code, out) == (OK, "")
    assert parse_template(target.read_text(encoding="utf-8")) == transformed(capsys, APP / "template.yaml")


def test_transform_is_stable_across_runs(capsys: pytest.CaptureFixture[str]) -> None:
    assert transformed(capsys, APP / "template.yaml") == transformed(capsys, APP / "template.yaml")


def test_parameter_overrides_reach_the_fingerprint(capsys: pytest.CaptureFixture[str]) -> None:
    default = created_versions(transformed(capsys, APP / "template.yaml"), "HelloFunction")
    same = created_versions(
        transformed(capsys, APP / "template.yaml", "--parameter-overrides", "Greeting=hello"), "HelloFunction"
    )
    other = created_versions(
        transformed(capsys, APP / "template.yaml", "--parameter-overrides", "Greeting=bonjour"),
        "HelloFunction",
    )
    assert default == same  # the override equals the declared Default
    assert other != default and len(other) == 1


def test_a_code_change_gives_a_new_version(capsys: pytest.CaptureFixture[str], app: Path) -> None:
    before = _assert_pinned_app(transformed(capsys, app))
    code_file = app.parent / "src" / "app.py"
    code_file.write_text(code_file.read_text(encoding="utf-8") + "# changed\n", encoding="utf-8")
    after = _assert_pinned_app(transformed(capsys, app))
    assert after != before
    code_file.write_text(code_file.read_text(encoding="utf-8").replace("# changed\n", ""), encoding="utf-8")
    assert _assert_pinned_app(transformed(capsys, app)) == before  # same code, same version


def test_a_new_file_in_the_code_folder_gives_a_new_version(
    capsys: pytest.CaptureFixture[str], app: Path
) -> None:
    before = _assert_pinned_app(transformed(capsys, app))
    (app.parent / "src" / "helpers.py").write_text("VALUE = 1\n", encoding="utf-8")
    assert _assert_pinned_app(transformed(capsys, app)) != before


# --- diff ---------------------------------------------------------------------------------------
def test_diff_names_state_function_and_version(capsys: pytest.CaptureFixture[str]) -> None:
    version = _assert_pinned_app(transformed(capsys, APP / "template.yaml"))
    code, out, _ = run(capsys, "diff", APP / "template.yaml")
    assert code == OK
    assert "State machine HelloStateMachine" in out
    assert f"pinned         States.Greet: HelloFunction -> {version} (new version)" in out
    assert f"+ {version}: new AWS::Lambda::Version of HelloFunction" in out
    marker = version.removeprefix("HelloFunctionVersion")
    assert f"~ HelloFunction: Description + [SfnExactVersion {marker}" in out
    assert "DeletionPolicy Retain, UpdateReplacePolicy Retain" in out
    assert out.rstrip().splitlines()[-1].startswith("Summary: 1 calls pinned")


def test_diff_shows_what_is_left_alone_and_exits_0(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run(capsys, "diff", FINDINGS_TEMPLATE)
    assert code == OK  # diff shows; check judges
    assert "pinned         States.Hello: Hello -> HelloVersion" in out
    assert "States.Route: $.handler [dynamic]" in out
    assert "States.Live: ${HelloLive} [alias]" in out
    assert "States.Enrich: ${ExternalFunctionArn} [external]" in out
    assert "+ ${Hello.Arn}:* (role MachineRole, Hello)" in out


def test_diff_shows_every_iam_change_and_state_machine_versions(capsys: pytest.CaptureFixture[str]) -> None:
    """A Deny that now covers the versions, a retained grant, and a state machine published as versions
    behind an alias: each has its line (not only in --json)."""
    repo = Path(__file__).resolve().parents[2]
    code, out, _ = run(capsys, "diff", repo / "tests/golden/cases/iam_deny_statement/input.json")
    assert code == OK
    assert (
        "Statement/1: + ${HelloFunction.Arn}:*, so it covers the versions of HelloFunction as it does the "
        "function (role StateMachineRole)" in out
    )
    assert "retained grant" not in out  # the role denies HelloFunction: nothing to keep allowing
    code, out, _ = run(capsys, "diff", repo / "examples/canary/day2/template.yaml")
    assert code == OK
    (grant,) = [line for line in out.splitlines() if "retained grant SfnExactVersion-" in line]
    assert grant.startswith("  + SfnExactVersionGrant")
    assert grant.endswith("lets ApprovalStateMachineRole invoke every version of HelloFunction")
    assert "  ApprovalStateMachine: versions ApprovalStateMachineVersion; 1 pinned call(s), 0 unpinned" in out
    assert (
        "    alias live (ApprovalStateMachineAliaslive) routes to ApprovalStateMachineVersion, CANARY" in out
    )


def test_diff_json_is_the_report(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run(capsys, "diff", "--json", FINDINGS_TEMPLATE)
    assert code == OK
    report = json.loads(out)
    assert (report.pop("DefinitionFiles"), report.pop("Problems"), report.pop("DefinitionsNotRead")) == (
        [],
        [],
        [],
    )
    assert report == transformed(capsys, FINDINGS_TEMPLATE)["Metadata"]["SfnExactVersion"]


# --- check --------------------------------------------------------------------------------------
def test_check_passes_when_every_call_is_pinned(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, err = run(capsys, "check", APP / "template.yaml")
    assert (code, err) == (OK, "")
    assert out == "ok: 1 Lambda call(s) pinned, none left unpinned.\n"


def test_check_lists_each_unpinned_call_with_its_fix(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, err = run(capsys, "check", FINDINGS_TEMPLATE)
    assert code == FINDINGS
    lines = out.splitlines()
    assert len(lines) == 3
    dynamic, alias, external = lines
    assert dynamic.startswith("Machine States.Route: $.handler stays unpinned [dynamic]")
    assert "name the function in the definition (the macro pins it)" in dynamic
    assert alias.startswith("Machine States.Live: ${HelloLive} stays unpinned [alias]")
    assert "call the function itself (the macro pins it) or a version" in alias
    assert external.startswith("Machine States.Enrich: ${ExternalFunctionArn} stays unpinned [external]")
    assert "parameter ExternalFunctionArn" in external and "pass a version ARN" in external
    assert err == "3 Lambda call(s) would stay unpinned.\n"


def test_check_json_prints_the_report_and_still_fails(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run(capsys, "check", "--json", FINDINGS_TEMPLATE)
    assert code == FINDINGS
    reasons = [item["Reason"] for item in json.loads(out)["LeftAlone"]]
    assert reasons == ["dynamic", "alias", "external"]


# --- definitions in local files -----------------------------------------------------------------
@pytest.fixture
def literal_call(tmp_path: Path, request: pytest.FixtureRequest) -> Path:
    """The definition-file app, reduced to a pinned call and one call of AuditFunction written literally
    (its ARN as a legacy Resource, or its name as FunctionName)."""
    shutil.copytree(DEFINITION_FILE, tmp_path / "app")
    asl = tmp_path / "app" / "statemachine" / "workflow.asl.json"
    audit: dict[str, Any] = {"Type": "Task", "End": True}
    if request.param == "arn":
        audit["Resource"] = "arn:aws:lambda:us-east-1:123456789012:function:audit-function"
    else:
        audit["Resource"] = "arn:aws:states:::lambda:invoke"
        audit["Parameters"] = {"FunctionName": "audit-function", "Payload.$": "$"}
    definition = json.loads(asl.read_text(encoding="utf-8"))
    definition["States"] = {"Hello": {**definition["States"]["Hello"], "Next": "Audit"}, "Audit": audit}
    asl.write_text(json.dumps(definition, indent=2), encoding="utf-8")
    return tmp_path / "app" / "template.yaml"


@pytest.mark.parametrize("literal_call", ["arn", "name"], indirect=True)
def test_literal_call_in_a_definition_file(capsys: pytest.CaptureFixture[str], literal_call: Path) -> None:
    code, out, _ = run(capsys, "diff", literal_call)
    assert code == OK
    assert "pinned         (DefinitionS3Location) ${HelloArn}: HelloFunction -> HelloFunctionVersion" in out
    assert "not pinnable   States.Audit:" in out and "[literal-in-file]" in out
    warnings = out.split("\nWarnings\n", 1)[1]
    assert "! statemachine/workflow.asl.json: States.Audit calls " in warnings
    assert "audit-function written literally" in warnings

    code, out, err = run(capsys, "check", literal_call)
    assert code == FINDINGS
    (line,) = out.splitlines()
    assert line.startswith("Workflow States.Audit: stays unpinned [literal-in-file]")
    assert 'Write "${AuditFunctionArn}" there' in line
    assert "DefinitionSubstitutions: {AuditFunctionArn: !GetAtt AuditFunction.Arn}" in line
    assert err == "1 Lambda call(s) would stay unpinned.\n"


# --- errors and exit codes ----------------------------------------------------------------------
def test_missing_template_argument_is_a_usage_error(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exited:
        main(["check"])
    assert exited.value.code == USAGE
    assert "the following arguments are required: template" in capsys.readouterr().err


def test_no_command_is_a_usage_error(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exited:
        main([])
    assert exited.value.code == USAGE


def test_bad_parameter_override_is_a_usage_error(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exited:
        main(["diff", str(APP / "template.yaml"), "--parameter-overrides", "Greeting"])
    assert exited.value.code == USAGE
    err = capsys.readouterr().err
    assert err.startswith("usage: sfn-exact-version diff ")  # the subcommand's usage
    assert (
        "--parameter-overrides takes KEY=VALUE or ParameterKey=KEY,ParameterValue=VALUE, got 'Greeting'"
        in err
    )


def test_missing_file_is_one_line_without_traceback(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    missing = tmp_path / "nope.yaml"
    code, out, err = run(capsys, "check", missing)
    assert (code, out) == (ERROR, "")
    assert err == f"sfn-exact-version: error: {missing}: file not found\n"


def test_a_template_the_macro_rejects_is_one_clear_failure(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    template = tmp_path / "bad.json"
    template.write_text(
        json.dumps(
            {
                "Resources": {
                    "Sm": {
                        "Type": "AWS::StepFunctions::StateMachine",
                        "Properties": {
                            "RoleArn": "arn:aws:iam::123456789012:role/r",
                            "DefinitionString": "{oops",
                        },
                    }
                }
            }
        ),
        encoding="utf-8",
    )
    code, out, err = run(capsys, "transform", template)
    assert (code, out) == (ERROR, "")
    assert err.startswith("sfn-exact-version: error: Resources/Sm/Properties/DefinitionString: ")
    assert run(capsys, "check", template)[0] == ERROR  # not FINDINGS: CI can tell them apart
    assert "Traceback" not in err


def _boom(*args: Any, **kwargs: Any) -> Any:
    raise RuntimeError("boom")


def test_internal_error_is_one_line(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(pipeline, "preview", _boom)  # what every preview command calls
    code, out, err = run(capsys, "diff", APP / "template.yaml")
    assert (code, out) == (ERROR, "")
    assert err == "sfn-exact-version: internal error: RuntimeError: boom (rerun with --debug)\n"


def test_debug_shows_the_traceback(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(pipeline, "preview", _boom)  # what every preview command calls
    code, _, err = run(capsys, "diff", "--debug", APP / "template.yaml")
    assert code == ERROR
    assert err.startswith("Traceback (most recent call last):")
    assert "RuntimeError: boom" in err
    assert err.rstrip().splitlines()[-1].startswith("sfn-exact-version: internal error: RuntimeError: boom")


# --- entry points and the Lambda's import path --------------------------------------------------
def _python(*args: str, cwd: Path = ROOT) -> subprocess.CompletedProcess[str]:
    env = {
        **os.environ,
        "PYTHONPATH": os.pathsep.join([str(ROOT / "macro"), os.environ.get("PYTHONPATH", "")]),
    }
    return subprocess.run(
        [sys.executable, *args], cwd=cwd, capture_output=True, text=True, timeout=120, check=False, env=env
    )


def test_python_dash_m_runs_the_cli() -> None:
    done = _python("-m", "sfn_exact_version.cli", "check", str(FINDINGS_TEMPLATE))
    assert done.returncode == FINDINGS
    assert "stays unpinned [alias]" in done.stdout
    done = _python("-m", "sfn_exact_version.cli", "--help")
    assert done.returncode == OK
    assert (
        "transform" in done.stdout
        and "exit codes: 0 ok; 1 findings (check: calls left unpinned;" in " ".join(done.stdout.split())
        and "2 usage error; 3 the template could not" in " ".join(done.stdout.split())
    )


def test_the_lambda_handler_imports_no_cli_dependency() -> None:
    code = (
        "import sys, sfn_exact_version.handler\n"
        "heavy = {'yaml', 'samtranslator', 'cfnlint'}\n"
        "ours = ('sfn_exact_version.cli', 'sfn_exact_version.lint_rules', 'sfn_exact_version.offline')\n"
        "print(sorted(m for m in sys.modules if m.split('.')[0] in heavy or m.startswith(ours)))\n"
    )
    done = _python("-c", code)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "[]"
