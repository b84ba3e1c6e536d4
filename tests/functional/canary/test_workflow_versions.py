"""The simulation's state machine versions, aliases and rollback on their own (sim/workflow_versions.py):
if these were wrong, the canary story could pass for the wrong reason. Pass states only, no Lambda."""

from __future__ import annotations

import copy
import json
import time
from collections.abc import Iterator
from typing import Any

import pytest
from sim.bluegreen_sim import SimulationError, simulated_aws

from support import require_moto_or_skip, role

require_moto_or_skip()

from sim.workflow_versions import CanaryStack, VersionRouter, weighted_by_name  # noqa: E402


def test_weighted_by_name_is_deterministic_and_follows_the_weights() -> None:
    routes = [("old", 90), ("new", 10)]
    picks = [weighted_by_name(routes, f"run-{i}") for i in range(2000)]
    assert picks == [weighted_by_name(routes, f"run-{i}") for i in range(2000)]
    assert set(picks) == {"old", "new"}
    assert 0.07 < picks.count("new") / len(picks) < 0.13
    assert {weighted_by_name([("only", 100)], f"x{i}") for i in range(50)} == {"only"}


def _template(
    result: str, *, preference: dict[str, Any], extra: dict[str, Any] | None = None
) -> dict[str, Any]:
    resources: dict[str, Any] = {
        "Role": role(),
        "Machine": {
            "Type": "AWS::StepFunctions::StateMachine",
            "Properties": {
                "Definition": {
                    "StartAt": "P",
                    "States": {"P": {"Type": "Pass", "Result": {"day": result}, "End": True}},
                },
                "RoleArn": {"Fn::GetAtt": ["Role", "Arn"]},
            },
        },
        "MachineVersion": {
            "Type": "AWS::StepFunctions::StateMachineVersion",
            "DeletionPolicy": "Retain",
            "UpdateReplacePolicy": "Retain",
            "Properties": {
                "StateMachineArn": {"Ref": "Machine"},
                "StateMachineRevisionId": {"Fn::GetAtt": ["Machine", "StateMachineRevisionId"]},
            },
        },
        "Alarm": {
            "Type": "AWS::CloudWatch::Alarm",
            "Properties": {
                "Namespace": "AWS/States",
                "MetricName": "ExecutionsFailed",
                "Statistic": "Sum",
                "Period": 60,
                "EvaluationPeriods": 1,
                "Threshold": 1,
                "ComparisonOperator": "GreaterThanOrEqualToThreshold",
            },
        },
        "MachineAliaslive": {
            "Type": "AWS::StepFunctions::StateMachineAlias",
            "Properties": {
                "Name": "live",
                "DeploymentPreference": {
                    **preference,
                    "Alarms": [{"Ref": "Alarm"}],
                    "StateMachineVersionArn": {"Ref": "MachineVersion"},
                },
            },
        },
    }
    resources.update(extra or {})
    return {"Resources": resources}


DAY1 = _template("day1", preference={"Type": "CANARY", "Percentage": 10, "Interval": 5})


@pytest.fixture()
def clients() -> Iterator[dict[str, Any]]:
    import boto3

    with simulated_aws(managed_policies=False) as found:
        for name in ("cloudwatch", "events"):
            found[name] = boto3.client(name, region_name="us-east-1")
        yield found


def _output(sfn: Any, arn: str) -> Any:
    deadline = time.monotonic() + 30
    while (described := sfn.describe_execution(executionArn=arn))["status"] == "RUNNING":
        assert time.monotonic() < deadline
        time.sleep(0.05)
    assert described["status"] == "SUCCEEDED", described
    return json.loads(described["output"])


def _routing(sfn: Any, alias_arn: str) -> list[tuple[str, int]]:
    routes = sfn.describe_state_machine_alias(stateMachineAliasArn=alias_arn)["routingConfiguration"]
    return [(r["stateMachineVersionArn"].rsplit(":", 1)[-1], r["weight"]) for r in routes]


def _extra_alarm(policy: str | None) -> dict[str, Any]:
    resource: dict[str, Any] = copy.deepcopy(DAY1["Resources"]["Alarm"])
    if policy:
        resource["DeletionPolicy"] = policy
    return resource


def test_alarm_during_canary_rolls_alias_and_stack_back(clients: dict[str, Any]) -> None:
    sfn = clients["stepfunctions"]
    stack = CanaryStack("unit", clients)
    stack.deploy(DAY1)
    alias = stack.ref("MachineAliaslive")
    assert _routing(sfn, alias) == [("1", 100)]
    router = VersionRouter(sfn, stack, chooser=lambda routes, name: routes[-1][0])  # always the canary
    day2 = _template(
        "day2",
        preference={"Type": "CANARY", "Percentage": 10, "Interval": 5},
        extra={"Dropped": _extra_alarm(None), "Kept": _extra_alarm("Retain")},
    )
    seen: dict[str, Any] = {}

    def on_phase(phase: str) -> None:
        seen[phase] = _routing(sfn, alias)
        if phase == "canary 10%":
            seen["canary run"] = router.start_execution(alias, "during-canary")
            clients["cloudwatch"].set_alarm_state(
                AlarmName=stack.ref("Alarm"), StateValue="ALARM", StateReason="test"
            )

    outcome = stack.deploy(day2, "day2", on_phase=on_phase)

    assert outcome.rolled_back and outcome.phases == ["canary 10%", "alarm"]
    assert seen["canary 10%"] == [("1", 90), ("2", 10)]
    assert seen["alarm"] == [("1", 100)]
    assert _routing(sfn, alias) == [("1", 100)]
    assert sorted(outcome.rollback_retained) == ["Kept", "MachineVersion"]
    assert outcome.rollback_deleted == ["Dropped"]
    names = {a["AlarmName"] for a in clients["cloudwatch"].describe_alarms()["MetricAlarms"]}
    assert any("Kept" in name for name in names) and not any("Dropped" in name for name in names)
    assert "Dropped" not in stack.resources and "Kept" not in stack.resources
    # The stack is back on Day 1: definition, version, and the alias's target.
    machine = sfn.describe_state_machine(stateMachineArn=stack.ref("Machine"))
    assert json.loads(machine["definition"])["States"]["P"]["Result"] == {"day": "day1"}
    assert stack.ref("MachineVersion").endswith(":1")
    assert seen["canary run"].version_arn.endswith(":2")
    assert _output(sfn, seen["canary run"].execution_arn) == {"day": "day2"}
    after = router.start_execution(alias, "after-rollback")
    assert after.version_arn is not None and after.version_arn.endswith(":1")
    assert _output(sfn, after.execution_arn) == {"day": "day1"}


def test_linear_shift_without_alarm_is_promoted_step_by_step(clients: dict[str, Any]) -> None:
    sfn = clients["stepfunctions"]
    stack = CanaryStack("unit", clients)
    linear = {"Type": "LINEAR", "Percentage": 25, "Interval": 1}
    stack.deploy(_template("day1", preference=linear))
    alias = stack.ref("MachineAliaslive")
    steps: list[list[tuple[str, int]]] = []
    outcome = stack.deploy(
        _template("day2", preference=linear), on_phase=lambda _: steps.append(_routing(sfn, alias))
    )
    assert not outcome.rolled_back
    assert outcome.phases == ["linear 25%", "linear 50%", "linear 75%"]
    assert steps == [[("1", 75), ("2", 25)], [("1", 50), ("2", 50)], [("1", 25), ("2", 75)]]
    assert _routing(sfn, alias) == [("2", 100)]
    assert outcome.report.retained == ["MachineVersion"], (
        "the replaced version 1 is kept (UpdateReplacePolicy)"
    )


def test_unchanged_state_machine_publishes_no_version(clients: dict[str, Any]) -> None:
    stack = CanaryStack("unit", clients)
    stack.deploy(DAY1)
    outcome = stack.deploy(DAY1)
    assert outcome.report.created == outcome.report.replaced == outcome.report.updated == []
    assert stack.ref("MachineVersion").endswith(":1")


def test_router_refuses_what_aws_refuses(clients: dict[str, Any]) -> None:
    sfn = clients["stepfunctions"]
    stack = CanaryStack("unit", clients)
    stack.deploy(DAY1)
    alias = stack.ref("MachineAliaslive")
    stray = "arn:aws:states:us-east-1:123456789012:stateMachine:other:9"
    wrong = VersionRouter(sfn, stack, chooser=lambda routes, name: stray)
    refused: list[str] = []

    def on_phase(phase: str) -> None:
        with pytest.raises(SimulationError, match="does not route to") as caught:
            wrong.start_execution(alias, "stray")
        refused.append(str(caught.value))

    stack.deploy(
        _template("day2", preference={"Type": "CANARY", "Percentage": 10, "Interval": 5}), on_phase=on_phase
    )
    assert len(refused) == 1
    (version1,) = [d.physical_id for d in stack.retained if d.logical_id == "MachineVersion"]
    stack.deleted_versions.add(version1)
    with pytest.raises(SimulationError, match="was deleted"):
        VersionRouter(sfn, stack).start_execution(version1, "b")
