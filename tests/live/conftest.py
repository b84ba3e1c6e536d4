"""The offline account of the live/ and command tests: moto (Lambda, IAM, tags, SQS) plus the fakes."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import boto3
import pytest
from moto import mock_aws
from tests.live.fakes import ACCOUNT, REGION, FakeCloudFormation, FakeStepFunctions, Session, zipped

NOW = datetime.now(UTC)
FN = f"arn:aws:lambda:{REGION}:{ACCOUNT}:function:"
DAY = timedelta(days=1)


def task(target: str, next_state: str | None = None) -> dict[str, Any]:
    state: dict[str, Any] = {
        "Type": "Task",
        "Resource": "arn:aws:states:::lambda:invoke",
        "Parameters": {"FunctionName": target},
    }
    state.update({"Next": next_state} if next_state else {"End": True})
    return state


def definition(hello: str, worker: str | None = None) -> str:
    states: dict[str, Any] = {"Hello": task(FN + hello, "Fan" if worker else None)}
    if worker:
        states["Fan"] = {
            "Type": "Map",
            "ItemProcessor": {
                "ProcessorConfig": {"Mode": "DISTRIBUTED", "ExecutionType": "STANDARD"},
                "StartAt": "Work",
                "States": {"Work": task(FN + worker)},
            },
            "End": True,
        }
    return json.dumps({"StartAt": "Hello", "States": states})


def _function(lam: Any, role: str, name: str, versions: int, tags: dict[str, str] | None = None) -> None:
    lam.create_function(
        FunctionName=name,
        Runtime="python3.12",
        Role=role,
        Handler="app.h",
        Code={"ZipFile": zipped("0")},
        Tags=tags or {},
    )
    for number in range(1, versions + 1):
        lam.update_function_code(FunctionName=name, ZipFile=zipped(str(number)))
        lam.publish_version(FunctionName=name)


@pytest.fixture
def world() -> Iterator[dict[str, Any]]:
    with mock_aws(config={"lambda": {"use_docker": False}}):  # no Docker: create_function is instant
        iam = boto3.client("iam", region_name=REGION)
        fn_role = iam.create_role(RoleName="fn-role", AssumeRolePolicyDocument="{}")["Role"]["Arn"]
        sm_role = iam.create_role(RoleName="sm-role", AssumeRolePolicyDocument="{}")["Role"]["Arn"]

        def allow(*resources: str) -> str:
            return json.dumps(
                {
                    "Version": "2012-10-17",
                    "Statement": [
                        {"Effect": "Allow", "Action": "lambda:InvokeFunction", "Resource": list(resources)}
                    ],
                }
            )

        iam.put_role_policy(
            RoleName="sm-role", PolicyName="invoke", PolicyDocument=allow(FN + "hello", FN + "hello:*")
        )
        iam.put_role_policy(
            RoleName="sm-role", PolicyName="SfnExactVersion-aaaa", PolicyDocument=allow(FN + "hello:*")
        )
        iam.put_role_policy(
            RoleName="sm-role", PolicyName="SfnExactVersion-bbbb", PolicyDocument=allow(FN + "gone:*")
        )
        managed = iam.create_policy(PolicyName="workers", PolicyDocument=allow(FN + "worker:*"))["Policy"][
            "Arn"
        ]
        iam.attach_role_policy(RoleName="sm-role", PolicyArn=managed)

        lam = boto3.client("lambda", region_name=REGION)
        _function(lam, fn_role, "hello", 4)
        lam.create_alias(
            FunctionName="hello",
            Name="live",
            FunctionVersion="2",
            RoutingConfig={"AdditionalVersionWeights": {"3": 0.1}},
        )
        _function(lam, fn_role, "worker", 2)
        stack_tags = {"aws:cloudformation:stack-name": "app", "aws:cloudformation:logical-id": "GoneFunction"}
        _function(lam, fn_role, "gone", 1, stack_tags)
        _function(lam, fn_role, "elsewhere", 1, {"aws:cloudformation:stack-name": "other-app"})
        sqs = boto3.client("sqs", region_name=REGION)
        queue = sqs.create_queue(QueueName="q")["QueueUrl"]
        queue_arn = sqs.get_queue_attributes(QueueUrl=queue, AttributeNames=["QueueArn"])["Attributes"][
            "QueueArn"
        ]
        lam.create_event_source_mapping(EventSourceArn=queue_arn, FunctionName="worker:1")

        sfn = FakeStepFunctions()
        machine = sfn.add_machine("approval", definition("hello:3", "worker:2"), sm_role, "rev3")
        v1 = sfn.add_version(machine, 1, definition("hello:1"), "rev1", NOW - 30 * DAY)
        v2 = sfn.add_version(machine, 2, definition("hello:2"), "rev2", NOW - 10 * DAY)
        v3 = sfn.add_version(machine, 3, definition("hello:3", "worker:2"), "rev3", NOW - DAY)
        alias = sfn.add_alias(machine, "live", {v2: 90, v3: 10})
        runs = {
            1: (definition("hello:1"), "rev1", NOW - 30 * DAY),
            2: (definition("hello:2"), "rev2", NOW - 10 * DAY),
            3: (definition("hello:3", "worker:2"), "rev3", NOW - DAY),
        }
        add = sfn.add_execution
        add(machine, "old", "RUNNING", NOW - 20 * DAY, _runs=runs[1])
        parent = add(machine, "new1", "RUNNING", NOW - timedelta(hours=1), _runs=runs[3])
        add(machine, "new2", "RUNNING", NOW - timedelta(hours=2), _runs=runs[3])
        add(machine, "new3", "RUNNING", NOW - timedelta(hours=3), _runs=runs[3])
        for name in ("canary1", "canary2"):
            add(
                machine,
                name,
                "RUNNING",
                NOW - 2 * DAY,
                stateMachineVersionArn=v2,
                stateMachineAliasArn=alias,
                _runs=runs[2],
            )
        add(
            machine,
            "failed",
            "FAILED",
            NOW - 4 * DAY,
            stopDate=NOW - 3 * DAY,
            redriveStatus="REDRIVABLE",
            _runs=runs[1],
        )
        add(
            machine,
            "expired",
            "FAILED",
            NOW - 21 * DAY,
            stopDate=NOW - 20 * DAY,
            redriveStatus="REDRIVABLE",
            _runs=runs[1],
        )
        add(
            machine,
            "aborted",
            "ABORTED",
            NOW - 5 * DAY,
            stopDate=NOW - DAY,
            redriveStatus="NOT_REDRIVABLE",
            _runs=runs[1],
        )
        add(machine, "done", "SUCCEEDED", NOW - 5 * DAY, stopDate=NOW - DAY, _runs=runs[1])
        run = machine.replace(":stateMachine:", ":mapRun:") + "/fan:1"
        sfn.map_runs[parent] = [run]
        add(machine + "/fan:1", "child1", "RUNNING", NOW - timedelta(minutes=50), _mapRun=run, _runs=runs[3])
        add(
            machine + "/fan:1", "child2", "SUCCEEDED", NOW - timedelta(minutes=50), _mapRun=run, _runs=runs[3]
        )
        express = sfn.add_machine("fast", definition("hello:3"), sm_role, "fast1", "EXPRESS")

        cfn = FakeCloudFormation(
            "app",
            [
                ("HelloFunction", "hello", "AWS::Lambda::Function"),
                ("WorkerFunction", "worker", "AWS::Lambda::Function"),
                ("Approval", machine, "AWS::StepFunctions::StateMachine"),
                ("ApprovalVersion", v3, "AWS::StepFunctions::StateMachineVersion"),
                ("Fast", express, "AWS::StepFunctions::StateMachine"),
                ("SmRole", "sm-role", "AWS::IAM::Role"),
            ],
            {"Resources": {"HelloFunction": {"Type": "AWS::Lambda::Function", "DeletionPolicy": "Retain"}}},
        )
        session = Session(
            {"stepfunctions": sfn, "cloudformation": cfn},
            urls={"hello": ["live"]},
            provisioned={"hello": {"1": 3}},
        )
        yield {
            "session": session,
            "sfn": sfn,
            "cfn": cfn,
            "machine": machine,
            "v1": v1,
            "v2": v2,
            "v3": v3,
            "lambda": lam,
            "iam": iam,
            "sm_role": sm_role,
            "managed": managed,
        }
