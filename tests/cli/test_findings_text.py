"""What ``check`` and ``diff`` say where the template alone does not tell the whole story: the Region and
account the preview assumed, definitions it could not read, local child templates, files it cannot write,
and what diff names of the IAM and retention changes. Plain CloudFormation templates written per test."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from sfn_exact_version.cli.main import ERROR, FINDINGS, OK

from .conftest import Cli

FUNCTION = {
    "Type": "AWS::Lambda::Function",
    "Properties": {
        "FunctionName": "orders-fn",
        "Runtime": "python3.13",
        "Handler": "index.handler",
        "Role": "arn:aws:iam::123456789012:role/fn",
        "Code": {"ZipFile": "def handler(event, context):\n    return event\n"},
    },
}


def machine(definition: Any, **properties: Any) -> dict[str, Any]:
    return {
        "Type": "AWS::StepFunctions::StateMachine",
        "Properties": {"RoleArn": "arn:aws:iam::123456789012:role/machine", **definition, **properties},
    }


def task(resource: str, end: bool = True) -> dict[str, Any]:
    return {"StartAt": "Call", "States": {"Call": {"Type": "Task", "Resource": resource, "End": end}}}


def write(tmp_path: Path, resources: dict[str, Any], name: str = "template.json") -> Path:
    path = tmp_path / name
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps({"Transform": "SfnExactVersion", "Resources": resources}))
    return path


FUNCTION_ARN = "arn:aws:lambda:us-east-1:123456789012:function:orders-fn"


# --- a literal ARN in another Region or account than the preview's -------------------------------------
OWN_ARN = "arn:aws:lambda:eu-west-1:111122223333:function:orders-fn"


def test_a_literal_arn_of_a_template_function_elsewhere_names_the_options(cli: Cli, tmp_path: Path) -> None:
    """The preview assumed us-east-1/123456789012: check says the ARN names OrdersFunction elsewhere, and
    how to preview as the stack's Region and account; with them, the call is pinned."""
    path = write(tmp_path, {"OrdersFunction": FUNCTION, "Orders": machine({"Definition": task(OWN_ARN)})})
    code, out, _ = cli("check", path)
    assert code == FINDINGS
    assert "not defined in this template" not in out
    assert "names the FunctionName of OrdersFunction, but in Region eu-west-1, account 111122223333" in out
    assert "assumed Region us-east-1 and account 123456789012" in out
    assert "--region and --account-id" in out
    code, out, _ = cli("diff", path)
    assert "--region and --account-id" in out
    code, out, _ = cli("check", path, "--region", "eu-west-1", "--account-id", "111122223333")
    assert (code, out) == (OK, "ok: 1 Lambda call(s) pinned, none left unpinned.\n")


def test_a_literal_arn_of_another_function_gets_no_region_advice(cli: Cli, tmp_path: Path) -> None:
    other = "arn:aws:lambda:eu-west-1:111122223333:function:somebody-else"
    path = write(tmp_path, {"OrdersFunction": FUNCTION, "Orders": machine({"Definition": task(other)})})
    code, out, _ = cli("check", path)
    assert code == FINDINGS
    assert "not defined in this template" in out and "--region" not in out


# --- transform -o a file that cannot be written ---------------------------------------------------------
@pytest.mark.parametrize("where", ["missing/out.json", "."])
def test_an_output_file_that_cannot_be_written_is_one_line_and_exit_3(
    cli: Cli, tmp_path: Path, where: str
) -> None:
    path = write(tmp_path, {"OrdersFunction": FUNCTION})
    target = tmp_path / where
    code, out, err = cli("transform", path, "-o", target)
    assert (code, out) == (ERROR, "")
    assert err.startswith(f"sfn-exact-version: error: cannot write {target}: ")
    assert len(err.splitlines()) == 1 and "Traceback" not in err
    assert not (tmp_path / "missing").exists()


# --- a definition in S3 that nothing reads ---------------------------------------------------------------
def test_check_fails_on_a_remote_definition_it_cannot_read(cli: Cli, tmp_path: Path) -> None:
    s3 = {"DefinitionS3Location": {"Bucket": "artifacts", "Key": "flows/orders.asl.json"}}
    path = write(tmp_path, {"OrdersFunction": FUNCTION, "Orders": machine(s3)})
    code, out, err = cli("check", path)
    assert code == FINDINGS
    assert out.startswith("Orders: definition not read: it is in S3 (DefinitionS3Location)")
    assert "local DefinitionUri file" in out and "none left unpinned" not in out
    assert "1 state machine definition(s) not read." in err
    code, out, _ = cli("check", "--json", path)
    report = json.loads(out)
    assert report["DefinitionsNotRead"] == ["Orders"]
    assert any(w.startswith("Resources/Orders/Properties/DefinitionS3Location") for w in report["Warnings"])


def test_check_reads_a_local_definition_file_instead(cli: Cli, tmp_path: Path) -> None:
    """The same definition kept beside the template: the CLI reads it and reports its literal call."""
    (tmp_path / "orders.asl.json").write_text(json.dumps(task(OWN_ARN.replace("eu-west-1", "us-east-1"))))
    path = write(
        tmp_path, {"OrdersFunction": FUNCTION, "Orders": machine({"DefinitionS3Location": "orders.asl.json"})}
    )
    code, out, _ = cli("check", "--json", path)
    report = json.loads(out)
    assert report["DefinitionsNotRead"] == []
    assert [finding["State"] for finding in report["DefinitionFiles"]] == ["States.Call"]
    assert code == FINDINGS


# --- diff: the execution role retained, the IAM entries per function ------------------------------------
def test_diff_names_the_execution_role_and_each_functions_own_entries(cli: Cli, tmp_path: Path) -> None:
    """Two functions share one execution role of the template and one statement allows both: diff names
    the role (retained with them) once, and each IAM line shows only its own function's ``:*`` entry."""
    worker = {
        **FUNCTION,
        "Properties": {**FUNCTION["Properties"], "Role": {"Fn::GetAtt": ["WorkerRole", "Arn"]}},
    }
    del worker["Properties"]["FunctionName"]
    trust = {
        "Statement": [
            {"Effect": "Allow", "Principal": {"Service": "lambda.amazonaws.com"}, "Action": "sts:AssumeRole"}
        ]
    }
    allow = {
        "Effect": "Allow",
        "Action": "lambda:InvokeFunction",
        "Resource": [{"Fn::GetAtt": ["A", "Arn"]}, {"Fn::GetAtt": ["B", "Arn"]}],
    }
    role = {
        "Type": "AWS::IAM::Role",
        "Properties": {
            "AssumeRolePolicyDocument": trust,
            "Policies": [{"PolicyName": "invoke", "PolicyDocument": {"Statement": [allow]}}],
        },
    }
    definition = {
        "StartAt": "One",
        "States": {
            "One": {"Type": "Task", "Resource": {"Fn::GetAtt": ["A", "Arn"]}, "Next": "Two"},
            "Two": {"Type": "Task", "Resource": {"Fn::GetAtt": ["B", "Arn"]}, "End": True},
        },
    }
    flow = machine({"Definition": definition}, RoleArn={"Fn::GetAtt": ["FlowRole", "Arn"]})
    resources = {
        "A": worker,
        "B": worker,
        "WorkerRole": {"Type": "AWS::IAM::Role", "Properties": {"AssumeRolePolicyDocument": trust}},
        "FlowRole": role,
        "Flow": flow,
    }
    code, out, _ = cli("diff", write(tmp_path, resources))
    assert code == OK
    assert (
        "  ~ WorkerRole: execution role of A, B (kept with them): DeletionPolicy Retain, "
        "UpdateReplacePolicy Retain\n" in out
    )
    statement = "Resources/FlowRole/Properties/Policies/0/PolicyDocument/Statement/0"
    assert f"  ~ {statement}: + ${{A.Arn}}:* (role FlowRole, A)\n" in out
    assert f"  ~ {statement}: + ${{B.Arn}}:* (role FlowRole, B)\n" in out


# --- nested stacks whose template is a local file ----------------------------------------------------
def _parent_and_child(tmp_path: Path, child_resources: dict[str, Any]) -> Path:
    child = {
        "Transform": "SfnExactVersion",
        "Parameters": {"Stage": {"Type": "String"}},
        "Resources": child_resources,
    }
    (tmp_path / "nested").mkdir()
    (tmp_path / "nested" / "child.json").write_text(json.dumps(child))
    stack = {
        "Type": "AWS::CloudFormation::Stack",
        "Properties": {
            "TemplateURL": "nested/child.json",
            "Parameters": {"Stage": "prod", "Table": {"Ref": "T"}},
        },
    }
    return write(tmp_path, {"OrdersFunction": FUNCTION, "Child": stack})


def test_check_follows_a_local_nested_template(cli: Cli, tmp_path: Path) -> None:
    """The child is deployed with the parent: its calls are checked too, with the literal parameter values
    the parent passes (an intrinsic one is left to the child's default)."""
    flow = machine({"Definition": task(FUNCTION_ARN)})
    path = _parent_and_child(tmp_path, {"Fn": FUNCTION, "Flow": flow})
    code, out, err = cli("check", path)
    assert (code, out) == (
        OK,
        "ok: 1 Lambda call(s) pinned (with 1 nested template(s)), none left unpinned.\n",
    )
    code, out, _ = cli("check", "--json", path)
    (nested,) = json.loads(out)["NestedStacks"]
    assert nested["Template"] == str(tmp_path / "nested" / "child.json")
    assert [p["Function"] for p in nested["Pinned"]] == ["Fn"]
    code, _, err = cli("diff", path)
    assert "Resources/Child/Properties/TemplateURL: the nested stack's template" in err
    assert f"sfn-exact-version diff {tmp_path / 'nested' / 'child.json'}" in err


def test_a_nested_template_with_unpinned_calls_fails_check_naming_it(cli: Cli, tmp_path: Path) -> None:
    dynamic = {
        "StartAt": "A",
        "States": {
            "A": {
                "Type": "Task",
                "Resource": "arn:aws:states:::lambda:invoke",
                "Parameters": {"FunctionName.$": "$.fn"},
                "End": True,
            }
        },
    }
    path = _parent_and_child(tmp_path, {"Flow": machine({"Definition": dynamic})})
    code, out, err = cli("check", path)
    assert code == FINDINGS
    assert out.startswith(
        f"{tmp_path / 'nested' / 'child.json'}: Flow States.A: $.fn stays unpinned [dynamic]"
    )
    assert "1 Lambda call(s) would stay unpinned." in err


def test_a_nested_template_that_cannot_be_checked_is_exit_3(cli: Cli, tmp_path: Path) -> None:
    flow = {**machine({"Definition": task(FUNCTION_ARN)}), "Metadata": {"SfnExactVersion": {"pin": False}}}
    path = _parent_and_child(tmp_path, {"Fn": FUNCTION, "Flow": flow})
    code, _, err = cli("check", path)
    assert code == ERROR
    assert "error: Resources/Child/Properties/TemplateURL: nested template" in err
    assert "could not be checked: " in err and "unknown key pin" in err
    child = tmp_path / "nested" / "child.json"
    assert (
        f"Check it on its own, with the parameter values the parent passes: sfn-exact-version check {child}"
        in err
    )
