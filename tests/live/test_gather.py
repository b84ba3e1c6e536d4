"""live/ read offline: moto for Lambda, IAM and tags; small fakes for what moto does not model faithfully
(Step Functions versions, aliases, executions and the definitions they run; the processed template)."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import boto3
import pytest
from moto import mock_aws
from tests.live.fakes import (
    ACCOUNT,
    REGION,
    FakeCloudFormation,
    FakeStepFunctions,
    Session,
    client_error,
    zipped,
)

from sfn_exact_version.decisions.prune import (
    FUNCTION,
    LAMBDA_VERSION,
    ROLE_POLICY,
    STATE_MACHINE_VERSION,
    plan,
)
from sfn_exact_version.live.apply import apply
from sfn_exact_version.live.errors import LiveReadError, MissingPermissionError
from sfn_exact_version.live.gather import read_scope, read_stack

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
    with mock_aws():
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


def test_read_stack(world: dict[str, Any]) -> None:
    view = read_stack(world["session"], "app", now=NOW)
    assert (view.account_id, view.region, view.partition, view.stack_status) == (
        ACCOUNT,
        REGION,
        "aws",
        "UPDATE_COMPLETE",
    )
    assert view.deployed_parameters == {"Stage": "prod"}
    assert view.deployed_template["Resources"]["HelloFunction"]["DeletionPolicy"] == "Retain"
    functions = {f.name: f for f in view.functions}
    assert set(functions) == {"hello", "worker", "gone"}  # "elsewhere" belongs to another stack
    assert (functions["gone"].retained, functions["gone"].logical_id, functions["gone"].in_stack) == (
        True,
        "GoneFunction",
        False,
    )
    assert (functions["hello"].in_stack, functions["hello"].logical_id) == (True, "HelloFunction")
    assert [v.version for v in functions["hello"].versions] == ["1", "2", "3", "4"]
    (live,) = functions["hello"].aliases
    assert (live.name, live.version, live.weights) == ("live", "2", {"3": 0.1})
    assert functions["worker"].mapping_qualifiers == ["1"]
    assert functions["hello"].url_qualifiers == ["live"]
    assert functions["hello"].provisioned == {"1": 3}

    by_name = {e.name: e for e in view.executions}
    assert set(by_name) == {"old", "new1", "new2", "new3", "canary1", "canary2", "failed", "child1"}
    assert by_name["failed"].redrive_status == "REDRIVABLE"
    assert by_name["child1"].parent == by_name["new1"].arn
    assert by_name["canary1"].alias_arn.endswith(":approval:live")
    keys = {name: e.definition_key for name, e in by_name.items()}
    assert keys == {
        "old": "rev1",
        "new1": "rev3",
        "new2": "rev3",
        "new3": "rev3",
        "canary1": "rev2",
        "canary2": "rev2",
        "failed": "rev1",
        "child1": "rev3",
    }
    sfn = world["sfn"]
    # one DescribeStateMachineForExecution per version (canary*), and per revision for the others: new1
    # stands for new2 and new3, failed for old
    assert sfn.calls["describe_state_machine_for_execution"] == 3
    # DescribeExecution only for stopped executions inside the 14-day redrive window
    assert sfn.calls["describe_execution"] == 2
    machines = {m.name: m for m in view.state_machines}
    assert machines["fast"].type == "EXPRESS"
    assert any("fast is an EXPRESS state machine" in note for note in view.notes)
    assert [(a.name, a.routing) for a in machines["approval"].aliases] == [
        ("live", {world["v2"]: 90.0, world["v3"]: 10.0})
    ]
    versions = {v.arn: v for v in machines["approval"].versions}
    assert versions[world["v2"]].definition_key == "rev2" and versions[world["v1"]].definition_key is None
    assert versions[world["v3"]].in_stack
    role = view.roles[world["sm_role"]]
    assert set(role.inline) == {"invoke", "SfnExactVersion-aaaa", "SfnExactVersion-bbbb"}
    assert role.managed[world["managed"]][0].resources == (FN + "worker:*",)
    # botocore rewrites max_attempts (retries after the first) as total_max_attempts (calls in all)
    retries = [config.retries for config in world["session"].configs]
    assert all(
        r["mode"] == "adaptive" and 10 in (r.get("max_attempts"), r.get("total_max_attempts", 0) - 1)
        for r in retries
    )


def test_prune_end_to_end_offline(world: dict[str, Any]) -> None:
    from datetime import timedelta as td

    # moto stamps versions with the real clock: read a little later than the fixture's NOW
    view = read_stack(world["session"], "app", now=NOW + td(minutes=5))
    result = plan(view, keep=0, min_age=td(0))
    deleted = {(item.kind, item.arn) for item in result.delete}
    assert deleted == {
        (LAMBDA_VERSION, FN + "hello:4"),
        (FUNCTION, FN + "gone"),
        (STATE_MACHINE_VERSION, world["v1"]),
        (ROLE_POLICY, world["sm_role"] + "#SfnExactVersion-bbbb"),
    }
    outcome = apply(world["session"], result.delete)
    assert outcome.refused == []
    lam, iam = world["lambda"], world["iam"]
    assert [v["Version"] for v in lam.list_versions_by_function(FunctionName="hello")["Versions"]] == [
        "$LATEST",
        "1",
        "2",
        "3",
    ]
    assert "gone" not in {f["FunctionName"] for f in lam.list_functions()["Functions"]}
    assert sorted(iam.list_role_policies(RoleName="sm-role")["PolicyNames"]) == [
        "SfnExactVersion-aaaa",
        "invoke",
    ]
    assert world["sfn"].deleted == [world["v1"]]


def test_a_refused_deletion_is_reported_not_fatal(world: dict[str, Any]) -> None:
    view = read_stack(world["session"], "app", now=NOW + timedelta(minutes=5))
    items = plan(view, keep=0, min_age=timedelta(0)).delete
    world["sfn"].errors["delete_state_machine_version"] = [
        client_error("ConflictException", "DeleteStateMachineVersion", "an alias references it")
    ]
    outcome = apply(world["session"], items)
    ((item, why),) = outcome.refused
    assert item.kind == STATE_MACHINE_VERSION
    assert "ConflictException" in why and "an alias references it" in why
    assert len(outcome.deleted) == 3


def test_read_scope_without_a_stack(world: dict[str, Any]) -> None:
    view = read_scope(
        world["session"], functions=["hello", FN + "worker"], state_machines=[world["machine"]], now=NOW
    )
    assert {f.name for f in view.functions} == {"hello", "worker"}
    assert all(not f.in_stack and not f.retained for f in view.functions)
    assert view.stack_resources == [] and view.account_id == ACCOUNT


def test_missing_permission_names_the_action(world: dict[str, Any]) -> None:
    world["sfn"].errors["list_executions"] = [
        client_error(
            "AccessDeniedException",
            "ListExecutions",
            "User is not authorized to perform states:ListExecutions",
        )
    ]
    with pytest.raises(MissingPermissionError) as raised:
        read_stack(world["session"], "app", now=NOW)
    assert raised.value.action == "states:ListExecutions"
    assert raised.value.message.startswith(
        f"missing IAM permission states:ListExecutions on {world['machine']}"
    )


def test_throttling_that_outlasts_the_retries_is_an_error_naming_the_call(world: dict[str, Any]) -> None:
    world["cfn"].errors["get_template"] = [client_error("Throttling", "GetTemplate", "Rate exceeded")]
    with pytest.raises(LiveReadError, match="cloudformation:GetTemplate was throttled"):
        read_stack(world["session"], "app", now=NOW)


def test_missing_stack(world: dict[str, Any]) -> None:
    with pytest.raises(LiveReadError, match="cloudformation:DescribeStacks: nope does not exist"):
        read_stack(world["session"], "nope", now=NOW)


def test_throttling_is_retried_by_botocore(world: dict[str, Any]) -> None:
    """A real botocore client with our retry configuration: two 429 answers, then moto's."""
    from botocore.awsrequest import AWSResponse

    class Raw:
        def stream(self, **_: Any) -> Iterator[bytes]:
            yield b'{"message": "Rate exceeded"}'

    throttled = {"count": 0}

    def throttle(**_: Any) -> Any:
        if throttled["count"] < 2:
            throttled["count"] += 1
            headers = {"x-amzn-ErrorType": "TooManyRequestsException", "Content-Type": "application/json"}
            return AWSResponse("https://lambda", 429, headers, Raw())
        return None

    session = world["session"]
    original = session.client

    def client(service: str, config: Any = None) -> Any:
        made = original(service, config)
        if service == "lambda":
            made._real.meta.events.register_first("before-send.lambda.ListAliases", throttle)
        return made

    session.client = client
    view = read_stack(session, "app", now=NOW)
    assert throttled["count"] == 2
    assert {f.name for f in view.functions} == {"hello", "worker", "gone"}
