"""The CLI as a CI gate: the macro's place in Transform, a custom macro name, parameter arguments,
exit codes, ``--version``, previewing before a build."""

from __future__ import annotations

import json
import shutil
import tomllib
from pathlib import Path

import pytest

import sfn_exact_version
from sfn_exact_version.cli.main import ERROR, FINDINGS, OK, USAGE, main

from .conftest import Cli

FIXTURES = Path(__file__).resolve().parent / "fixtures"
APP = FIXTURES / "app"
SAM_AND_MACRO = "Transform: [AWS::Serverless-2016-10-31, SfnExactVersion]"
FIX = "Transform: [AWS::Serverless-2016-10-31, SfnExactVersion]"


def usage_error(capsys: pytest.CaptureFixture[str], *argv: str | Path) -> str:
    with pytest.raises(SystemExit) as exited:
        main([str(arg) for arg in argv])
    assert exited.value.code == USAGE
    return capsys.readouterr().err


def with_transform(template: Path, transform: str) -> Path:
    text = template.read_text()
    assert SAM_AND_MACRO in text
    template.write_text(text.replace(SAM_AND_MACRO, transform))
    return template


# --- the macro's place in Transform ------------------------------------------------------------------
def test_check_fails_when_the_macro_is_not_listed(cli: Cli, app: Path) -> None:
    with_transform(app, "Transform: AWS::Serverless-2016-10-31")
    code, out, _ = cli("check", app)
    assert code == FINDINGS
    assert out == (
        "problem: Transform does not list SfnExactVersion, so a deploy pins nothing. Add it after SAM: "
        f"{FIX}\n"
    )


def test_check_fails_when_the_macro_is_listed_before_sam(cli: Cli, app: Path) -> None:
    with_transform(app, "Transform: [SfnExactVersion, AWS::Serverless-2016-10-31]")
    code, out, err = cli("check", app)
    assert code == FINDINGS
    assert out.startswith(
        "problem: Transform lists SfnExactVersion before AWS::Serverless-2016-10-31: CloudFormation runs it "
        "first, on AWS::Serverless::* resources, and the deploy fails. List it after SAM: "
    )
    assert FIX in out
    assert "offline" not in out + err


def test_plain_cloudformation_without_the_macro_names_the_plain_fix(cli: Cli, tmp_path: Path) -> None:
    machine = {
        "Type": "AWS::StepFunctions::StateMachine",
        "Properties": {
            "RoleArn": "arn:aws:iam::123456789012:role/r",
            "Definition": {"StartAt": "A", "States": {"A": {"Type": "Pass", "End": True}}},
        },
    }
    template = tmp_path / "t.json"
    template.write_text(json.dumps({"Resources": {"Sm": machine}}))
    code, out, _ = cli("check", template)
    assert code == FINDINGS
    assert out.endswith("Add it: Transform: SfnExactVersion\n")


def test_a_template_without_state_machines_needs_no_macro(cli: Cli, tmp_path: Path) -> None:
    template = tmp_path / "t.json"
    template.write_text(json.dumps({"Resources": {"Q": {"Type": "AWS::SQS::Queue"}}}))
    assert cli("check", template) == (OK, "ok: 0 Lambda call(s) pinned, none left unpinned.\n", "")


def test_diff_and_transform_say_it_plainly(cli: Cli, app: Path) -> None:
    with_transform(app, "Transform: AWS::Serverless-2016-10-31")
    code, out, _ = cli("diff", app)
    assert code == OK
    assert out.splitlines()[0].startswith(
        "problem: Transform does not list SfnExactVersion, so a deploy pins"
    )
    code, out, err = cli("transform", app)
    assert code == OK
    assert err.startswith("sfn-exact-version: warning: Transform does not list SfnExactVersion")
    assert json.loads(out)["Metadata"]["SfnExactVersion"]["Pinned"]  # what it does once listed


def test_check_json_carries_the_problem(cli: Cli, app: Path) -> None:
    with_transform(app, "Transform: AWS::Serverless-2016-10-31")
    code, out, _ = cli("check", "--json", app)
    assert code == FINDINGS
    (problem,) = json.loads(out)["Problems"]
    assert problem.startswith("Transform does not list SfnExactVersion")


# --- a custom macro name -------------------------------------------------------------------------------
def test_macro_name_option(cli: Cli, app: Path) -> None:
    with_transform(app, "Transform: [AWS::Serverless-2016-10-31, PinLambdaVersions]")
    code, out, _ = cli("check", app, "--macro-name", "PinLambdaVersions")
    assert (code, out) == (OK, "ok: 1 Lambda call(s) pinned, none left unpinned.\n")
    code, out, _ = cli("check", app)
    assert code == FINDINGS
    assert "Transform does not list SfnExactVersion" in out
    code, out, _ = cli("check", with_transform(fresh_app(app), SAM_AND_MACRO), "--macro-name", "Other")
    assert code == FINDINGS
    assert "Transform does not list Other" in out


def fresh_app(template: Path) -> Path:
    """A fresh copy of the fixture app next to ``template``."""
    copy = template.parent.parent / "fresh"
    shutil.copytree(APP, copy)
    return copy / "template.yaml"


# --- arguments ---------------------------------------------------------------------------------------
def _version_of(cli: Cli, *argv: str | Path) -> str:
    code, out, err = cli("transform", *argv)
    assert code == OK, err
    pinned = json.loads(out)["Metadata"]["SfnExactVersion"]["Pinned"]
    version: str = pinned[0]["Version"]
    return version


def test_parameter_overrides_before_the_template(cli: Cli) -> None:
    template = APP / "template.yaml"
    after = _version_of(cli, template, "--parameter-overrides", "Greeting=bonjour")
    before = _version_of(cli, "--parameter-overrides", "Greeting=bonjour", template)
    assert before == after
    assert after != _version_of(cli, template)  # the value reached the fingerprint


@pytest.mark.parametrize(
    "values",
    [
        ["ParameterKey=Greeting,ParameterValue=bonjour"],
        ["Greeting=bonjour Unused=1"],  # one quoted string, as sam deploy takes it (Unused: see below)
    ],
)
def test_sam_forms_of_parameter_overrides(
    capsys: pytest.CaptureFixture[str], cli: Cli, values: list[str]
) -> None:
    template = APP / "template.yaml"
    expected = _version_of(cli, template, "--parameter-overrides", "Greeting=bonjour")
    if "Unused=1" in values[0]:
        err = usage_error(capsys, "transform", template, "--parameter-overrides", *values)
        assert "declares no parameter Unused (its parameters: Greeting)" in err
        values = ["Greeting=bonjour"]
    assert _version_of(cli, "--parameter-overrides", *values, template) == expected


def test_unknown_parameter_is_a_usage_error(capsys: pytest.CaptureFixture[str]) -> None:
    err = usage_error(capsys, "check", APP / "template.yaml", "--parameter-overrides", "Greting=hi")
    assert err.startswith("usage: sfn-exact-version check ")
    assert err.rstrip().endswith(
        f"{APP / 'template.yaml'} declares no parameter Greting (its parameters: Greeting)"
    )


def test_usage_errors_show_the_subcommand_usage(capsys: pytest.CaptureFixture[str]) -> None:
    err = usage_error(capsys, "check", "--parameter-overrides", "A=1")
    assert err.startswith("usage: sfn-exact-version check ")
    assert err.rstrip().endswith("error: the following arguments are required: template")
    err = usage_error(capsys, "diff", "--nope", APP / "template.yaml")
    assert err.startswith("usage: sfn-exact-version diff ")


def test_version(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exited:
        main(["--version"])
    assert exited.value.code == 0
    assert capsys.readouterr().out == f"sfn-exact-version {sfn_exact_version.__version__}\n"


def test_the_version_lives_in_one_place() -> None:
    with (Path(__file__).resolve().parents[2] / "pyproject.toml").open("rb") as handle:
        pyproject = tomllib.load(handle)
    assert "version" not in pyproject["project"]
    assert pyproject["project"]["dynamic"] == ["version"]
    assert pyproject["tool"]["setuptools"]["dynamic"]["version"] == {"attr": "sfn_exact_version.__version__"}


# --- exit codes ------------------------------------------------------------------------------------
def test_findings_and_failures_have_different_exit_codes(cli: Cli, tmp_path: Path) -> None:
    assert cli("check", FIXTURES / "findings.yaml")[0] == FINDINGS
    unreadable = tmp_path / "broken.yaml"
    unreadable.write_text("Resources: [\n")
    for command in ("check", "diff", "transform"):
        code, out, err = cli(command, unreadable)
        assert (code, out) == (ERROR, "")
        assert err.startswith(f"sfn-exact-version: error: {unreadable}:")


# --- previewing before a build -------------------------------------------------------------------------
def test_missing_code_is_a_placeholder_with_a_note(cli: Cli, app: Path) -> None:
    shutil.rmtree(app.parent / "src")
    code, out, err = cli("check", app)
    assert (code, out) == (OK, "ok: 1 Lambda call(s) pinned, none left unpinned.\n")
    assert err == (
        "sfn-exact-version: note: Resources/HelloFunction/Properties/CodeUri: 'src/' does not exist yet, "
        "previewed with a placeholder, so version identities here ignore its content (build first, or "
        "preview the template that sam build writes: .aws-sam/build/template.yaml)\n"
    )


def test_a_missing_definition_file_stays_an_error(cli: Cli, tmp_path: Path) -> None:
    shutil.copytree(FIXTURES / "definition_file", tmp_path / "project")
    (tmp_path / "project" / "statemachine" / "workflow.asl.json").unlink()
    code, out, err = cli("check", tmp_path / "project" / "template.yaml")
    assert (code, out) == (ERROR, "")
    assert (
        "Resources/Workflow/Properties/DefinitionUri: local path 'statemachine/workflow.asl.json' does "
        in err
    )


def test_check_json_includes_definition_file_findings(cli: Cli) -> None:
    code, out, _ = cli("check", "--json", FIXTURES / "definition_file" / "template.yaml")
    assert code == FINDINGS
    findings = json.loads(out)["DefinitionFiles"]
    assert {(item["State"], item["Reason"]) for item in findings} == {
        ("States.Audit", "literal-in-file"),
        ("States.Enrich", "external"),
        ("States.Notify", "unfilled"),
        ("States.Route", "dynamic"),
    }
    assert {item["File"] for item in findings} == {"statemachine/workflow.asl.json"}
