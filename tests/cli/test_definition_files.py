"""Calls written in a local definition file (``DefinitionUri``): the macro sees only
``DefinitionSubstitutions``, so the CLI reads the file and reports every call that would stay unpinned."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from sfn_exact_version.cli.render import check_text, diff_text
from sfn_exact_version.offline.pipeline import preview

FIXTURE = Path(__file__).resolve().parent / "fixtures" / "definition_file"


def _findings(path: Path) -> dict[str, tuple[str, str]]:
    result = preview(path)
    return {finding.state: (finding.reason, finding.message) for finding in result.file_findings}


def test_each_unpinnable_call_of_the_file_is_a_finding() -> None:
    result = preview(FIXTURE / "template.yaml")
    reasons = {finding.state: finding.reason for finding in result.file_findings}
    assert reasons == {
        "States.Audit": "literal-in-file",
        "States.Enrich": "external",
        "States.Notify": "unfilled",
        "States.Route": "dynamic",
    }
    # The call through ${HelloArn} is the macro's to pin (its state's Type is a substitution too).
    assert [(call.state, call.function) for call in result.result.report.pinned] == [
        ("(DefinitionS3Location) ${HelloArn}", "HelloFunction")
    ]
    assert result.unpinned_count == 4


def test_messages_say_what_to_do() -> None:
    findings = _findings(FIXTURE / "template.yaml")
    assert 'Write "${AuditFunctionArn}" there' in findings["States.Audit"][1]
    assert "AuditFunctionArn: !GetAtt AuditFunction.Arn" in findings["States.Audit"][1]
    assert "parameter ExternalFunctionName" in findings["States.Enrich"][1]
    assert "DefinitionSubstitutions has no NotifierArn" in findings["States.Notify"][1]
    assert "FunctionName.$" in findings["States.Route"][1]


def test_a_substitution_naming_an_in_template_function_is_not_a_finding(tmp_path: Path) -> None:
    shutil.copytree(FIXTURE, tmp_path / "app")
    template = tmp_path / "app" / "template.yaml"
    text = template.read_text(encoding="utf-8")
    template.write_text(
        text.replace("EnricherName: !Ref ExternalFunctionName", "EnricherName: !Ref HelloFunction")
    )
    findings = _findings(template)
    assert "States.Enrich" not in findings
    assert len(preview(template).result.report.pinned) == 2


def test_diff_groups_the_file_findings_and_lists_their_warnings() -> None:
    text = diff_text(preview(FIXTURE / "template.yaml"))
    assert text.count("(definition file statemachine/workflow.asl.json)") == 1
    warnings = text.split("\nWarnings\n", 1)[1]
    assert "States.Audit calls arn:aws:lambda:us-east-1:123456789012:function:audit-function" in warnings


def test_check_lists_them() -> None:
    text = check_text(preview(FIXTURE / "template.yaml"))
    assert len(text.splitlines()) == 4
    assert "Workflow States.Notify: stays unpinned [unfilled]" in text


def _opt_out(template: Path, resource: str) -> None:
    text = template.read_text(encoding="utf-8")
    marker = f"  {resource}:\n"
    assert marker in text
    opt_out = marker + "    Metadata:\n      SfnExactVersion:\n        Pin: false\n"
    template.write_text(text.replace(marker, opt_out), encoding="utf-8")


def test_an_opted_out_state_machine_has_no_findings(tmp_path: Path) -> None:
    shutil.copytree(FIXTURE, tmp_path / "app")
    template = tmp_path / "app" / "template.yaml"
    _opt_out(template, "Workflow")
    result = preview(template)
    assert result.file_findings == []
    assert result.unpinned_count == 0


def test_a_literal_call_of_an_opted_out_function_is_not_a_finding(tmp_path: Path) -> None:
    shutil.copytree(FIXTURE, tmp_path / "app")
    template = tmp_path / "app" / "template.yaml"
    _opt_out(template, "AuditFunction")
    assert "States.Audit" not in _findings(template)
    assert set(_findings(template)) == {"States.Enrich", "States.Notify", "States.Route"}


def test_a_pinned_substitution_inside_a_longer_string_is_a_finding(
    capsys: pytest.CaptureFixture[str],
) -> None:
    """``...:function:${HelloName}`` would become ``...:function:<version ARN>``: check must fail."""
    from sfn_exact_version.cli.main import main

    template = Path(__file__).parent / "fixtures" / "embedded_substitution" / "template.yaml"
    assert main(["check", str(template)]) == 1
    out = capsys.readouterr().out
    assert "would break [embedded-substitution]" in out
    assert "${HelloName}" in out


# --- a whole-value placeholder whose substitution is Fn::If ----------------------------------------------
def _if_findings(value: object) -> list[tuple[str, str]]:
    from sfn_exact_version.offline.definition_files import file_findings

    function = {"Type": "AWS::Lambda::Function", "Properties": {"Code": {"ZipFile": "x"}}}
    machine = {
        "Type": "AWS::StepFunctions::StateMachine",
        "Properties": {
            "DefinitionS3Location": "router.asl.json",
            "DefinitionSubstitutions": {"WorkerArn": value},
        },
    }
    fragment = {"Resources": {"Fast": function, "Slow": function, "Router": machine}}
    definition = {
        "StartAt": "Work",
        "States": {"Work": {"Type": "Task", "Resource": "${WorkerArn}", "End": True}},
    }
    found = file_findings(fragment, {"Router": definition}, fragment, "us-east-1", "123456789012")
    return [(finding.state, finding.reason) for finding in found]


@pytest.mark.parametrize(
    "value",
    [
        {"Fn::If": ["IsFast", {"Fn::GetAtt": ["Fast", "Arn"]}, {"Fn::GetAtt": ["Slow", "Arn"]}]},
        {
            "Fn::If": [
                "IsFast",
                {"Fn::GetAtt": ["Fast", "Arn"]},
                {"Fn::If": ["B", {"Ref": "Slow"}, {"Ref": "AWS::NoValue"}]},
            ]
        },
    ],
)
def test_an_fn_if_substitution_the_macro_pins_on_each_side_is_not_a_finding(value: object) -> None:
    """The macro pins each side of the substitution (DESIGN "Fn::If in a Definition object"); the file
    reader must agree rather than call the call unsupported."""
    assert _if_findings(value) == []


def test_an_fn_if_side_the_macro_passes_over_is_a_finding() -> None:
    other = "arn:aws:lambda:us-east-1:999999999999:function:elsewhere"
    assert _if_findings({"Fn::If": ["IsFast", {"Fn::GetAtt": ["Fast", "Arn"]}, other]}) == [
        ("States.Work", "external")
    ]
