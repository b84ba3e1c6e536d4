"""preflight and prune against a real AWS account, with an execution waiting.

Opt-in: ``SFN_EXACT_VERSION_E2E=1`` and AWS credentials with a Region (the AWS way: ``AWS_PROFILE``,
``AWS_REGION``/``AWS_DEFAULT_REGION``). No macro and no sam needed: the stack is plain CloudFormation with a
version the state machine names (what the macro produces), created and deleted by this test under a
random name.

Asserts: preflight of the same template exits 0; preflight of a template that drops the function exits 1
with a line naming the waiting execution and the version; prune's dry run keeps that version because of
the execution, and deletes nothing in the account.
"""

from __future__ import annotations

import json
import secrets
import sys
import time
from pathlib import Path
from typing import Any

import pytest
from e2e_support import skip_reason

pytestmark = pytest.mark.e2e


_REASON = skip_reason()
if _REASON:
    pytest.skip(_REASON, allow_module_level=True)

import boto3  # noqa: E402

from sfn_exact_version.cli.main import main  # noqa: E402

CODE = "def handler(event, context):\n    return 'Approved'\n"


def template(with_function: bool) -> dict[str, Any]:
    resources: dict[str, Any] = {
        "SmRole": {
            "Type": "AWS::IAM::Role",
            "Properties": {
                "AssumeRolePolicyDocument": {
                    "Statement": [
                        {
                            "Effect": "Allow",
                            "Principal": {"Service": "states.amazonaws.com"},
                            "Action": "sts:AssumeRole",
                        }
                    ]
                },
                "Policies": [],
            },
        },
    }
    if with_function:
        resources["FnRole"] = {
            "Type": "AWS::IAM::Role",
            "Properties": {
                "AssumeRolePolicyDocument": {
                    "Statement": [
                        {
                            "Effect": "Allow",
                            "Principal": {"Service": "lambda.amazonaws.com"},
                            "Action": "sts:AssumeRole",
                        }
                    ]
                }
            },
        }
        resources["Hello"] = {
            "Type": "AWS::Lambda::Function",
            "Properties": {
                "Runtime": "python3.12",
                "Handler": "index.handler",
                "Role": {"Fn::GetAtt": ["FnRole", "Arn"]},
                "Code": {"ZipFile": CODE},
            },
        }
        resources["HelloVersion1"] = {
            "Type": "AWS::Lambda::Version",
            "DeletionPolicy": "Retain",
            "UpdateReplacePolicy": "Retain",
            "Properties": {"FunctionName": {"Ref": "Hello"}},
        }
        resources["SmRole"]["Properties"]["Policies"] = [
            {
                "PolicyName": "invoke",
                "PolicyDocument": {
                    "Statement": [
                        {
                            "Effect": "Allow",
                            "Action": "lambda:InvokeFunction",
                            "Resource": [{"Fn::GetAtt": ["Hello", "Arn"]}, {"Fn::Sub": "${Hello.Arn}:*"}],
                        }
                    ]
                },
            }
        ]
        body = (
            '{"StartAt": "Wait", "States": {"Wait": {"Type": "Wait", "Seconds": 900, "Next": "Ask"}, '
            '"Ask": {"Type": "Task", "Resource": "arn:${AWS::Partition}:states:::lambda:invoke", '
            '"Parameters": {"FunctionName": "${HelloVersion1}"}, "End": true}}}'
        )
    else:
        body = '{"StartAt": "Done", "States": {"Done": {"Type": "Pass", "End": true}}}'
    resources["Machine"] = {
        "Type": "AWS::StepFunctions::StateMachine",
        "Properties": {"RoleArn": {"Fn::GetAtt": ["SmRole", "Arn"]}, "DefinitionString": {"Fn::Sub": body}},
    }
    return {"AWSTemplateFormatVersion": "2010-09-09", "Resources": resources}


def log(text: str) -> None:
    print(f"[{time.strftime('%H:%M:%S')}] {text}", file=sys.stderr, flush=True)


def test_preflight_and_prune_see_the_waiting_execution(tmp_path: Path, capsys: Any) -> None:
    session = boto3.Session()
    cfn, sfn = session.client("cloudformation"), session.client("stepfunctions")
    stack = f"sfn-exact-version-e2e-day2-{secrets.token_hex(4)}"
    execution = None
    day1, day2 = tmp_path / "day1.json", tmp_path / "day2.json"
    day1.write_text(json.dumps(template(True)))
    day2.write_text(json.dumps(template(False)))
    region = ["--region", session.region_name]
    try:
        log(f"creating stack {stack}")
        cfn.create_stack(StackName=stack, TemplateBody=day1.read_text(), Capabilities=["CAPABILITY_IAM"])
        cfn.get_waiter("stack_create_complete").wait(StackName=stack)
        resources = cfn.describe_stack_resources(StackName=stack)["StackResources"]
        physical = {r["LogicalResourceId"]: r["PhysicalResourceId"] for r in resources}
        execution = sfn.start_execution(
            stateMachineArn=physical["Machine"], name=f"day1-{secrets.token_hex(3)}"
        )["executionArn"]
        log(f"execution {execution} waits")
        time.sleep(5)

        capsys.readouterr()
        assert main(["preflight", str(day1), "--stack", stack, *region]) == 0, capsys.readouterr().err
        capsys.readouterr()
        assert main(["preflight", str(day2), "--stack", stack, *region]) == 1
        out = capsys.readouterr().out
        log(out)
        assert execution.rsplit(":", 1)[-1] in out
        assert f"{physical['Hello']}:1" in out and "Hello leaves the template" in out

        assert main(["prune", "--stack", stack, "--keep", "0", "--min-age", "0", "--json", *region]) == 0
        plan = json.loads(capsys.readouterr().out)
        kept = {item["arn"]: item["reasons"] for item in plan["keep"]}
        version = physical["HelloVersion1"]
        assert any(execution.rsplit(":", 1)[-1] in reason for reason in kept[version]), kept
        assert plan["applied"] is False
    finally:
        if execution:
            sfn.stop_execution(executionArn=execution)
        log(f"deleting stack {stack}")
        cfn.delete_stack(StackName=stack)
        cfn.get_waiter("stack_delete_complete").wait(StackName=stack)
