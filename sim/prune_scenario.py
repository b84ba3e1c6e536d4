"""Prune while an execution waits: Day 1, execution 1 starts and waits; Day 2 and Day 3 each change
hello's code (versions 1, 2, 3); then a prune runs; then execution 1 finishes.

``run_prune_scenario(prune)`` deploys the three days with the real macro, and calls ``prune(clients, view)``
while execution 1 still waits. ``view`` is the ``AccountView`` the real ``plan()`` decides on:

* Lambda (versions, aliases, mappings, URLs): read from moto by the real ``live.gather.read_scope``; moto
  is faithful there.
* Step Functions: moto is not faithful for ``DescribeStateMachineForExecution`` (it answers the current
  definition) nor for an execution's version/alias fields. The adapter below builds those parts from what
  the simulation knows to be true: the simulated executions keep the definition and role they started
  with, and the runner reads them from ``DescribeStateMachine`` right after ``StartExecution`` (before any
  later deploy). The current definition is read from ``DescribeStateMachine`` at prune time.
* moto does not implement ``ListFunctionUrlConfigs``/``ListProvisionedConcurrencyConfigs``;
  ``lambda_session()`` answers them with the empty list that is true here (the scenario creates neither).

Example::

    def prune(clients, view):
        return apply(lambda_session(), plan(view, keep=0, min_age=timedelta(0)).delete)

    result = run_prune_scenario(prune)
    result.execution1.status  # "SUCCEEDED"
"""

from __future__ import annotations

import io
import json
import zipfile
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from sfn_exact_version.live.gather import read_scope
from sfn_exact_version.live.model import RUNNING, AccountView, Definition, Execution, StateMachine
from sim.bluegreen_sim import ExecutionSummary, has_called_lambda, simulated_aws, summarize_execution
from sim.errors import SimulationError
from sim.lambda_bridge import Invocation
from sim.scenarios import (
    ARTIFACT_BUCKET,
    SCENARIO_DIR,
    Day,
    _wait,
    load,
    with_function,
)
from sim.stack import REGION, SimStack

DAYS = ("day1", "day2", "day3")
Prune = Callable[[Mapping[str, Any], AccountView], Any]


@dataclass
class PruneScenarioResult:
    view: AccountView | None = None
    pruned: Any = None  # what ``prune`` returned
    execution1: ExecutionSummary | None = None
    waited_across: bool = False  # execution 1 had not called Lambda when the prune ran
    versions_before: list[str] = field(default_factory=list)  # hello's published versions
    versions_after: list[str] = field(default_factory=list)
    function_name: str = ""
    invocations: list[Invocation] = field(default_factory=list)  # every call that reached hello's code


def hello_zip(day: str) -> bytes:
    """hello's code on ``day``: the same answer, a different body (so Lambda publishes a new version)."""
    source = (SCENARIO_DIR / "hello" / "app.py").read_text() + f"\n\nBUILT_ON = {day!r}\n"
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        info = zipfile.ZipInfo("app.py", date_time=(2020, 1, 1, 0, 0, 0))
        archive.writestr(info, source)
    return buffer.getvalue()


def prune_days() -> list[Day]:
    """``approval.yaml`` three times, hello's code from ``s3://artifacts/<day>/hello.zip``."""
    day1 = load("approval.yaml")
    return [Day(day, with_function(day1, CodeUri=f"s3://{ARTIFACT_BUCKET}/{day}/hello.zip")) for day in DAYS]


def step_functions_view(
    view: AccountView, sfn: Any, machine_arn: str, started: Mapping[str, tuple[str, str]]
) -> None:
    """Adapter: add the state machine (current definition) and the waiting executions to ``view``.

    ``started``: execution ARN -> (definition, role ARN) it started with, as the runner recorded them.
    """
    described = sfn.describe_state_machine(stateMachineArn=machine_arn)
    current = f"{machine_arn}#current"
    view.definitions[current] = Definition(current, described["definition"], described["roleArn"])
    view.state_machines.append(
        StateMachine(
            machine_arn, described["name"], "STANDARD", definition_key=current, role_arn=described["roleArn"]
        )
    )
    for arn, (definition, role) in started.items():
        execution = sfn.describe_execution(executionArn=arn)
        if execution["status"] != RUNNING:
            continue
        key = f"{arn}#started"
        view.definitions[key] = Definition(key, definition, role)
        view.executions.append(
            Execution(arn, execution["name"], RUNNING, machine_arn, key, role, execution.get("startDate"))
        )


def _deploy(stack: SimStack, day: Day, s3: Any) -> None:
    from sim.bluegreen_sim import prepare_fragment

    stack.deploy(prepare_fragment(dict(day.template), SCENARIO_DIR, s3=s3), day.label)


def _hello_versions(lam: Any, name: str) -> list[str]:
    listed = lam.list_versions_by_function(FunctionName=name)["Versions"]
    return sorted((v["Version"] for v in listed if v["Version"] != "$LATEST"), key=int)


# Lambda list calls moto answers "not implemented"; the scenario creates no function URL and no
# provisioned concurrency, so the true answer is an empty list.
UNMODELLED_LAMBDA_LISTS = {
    "ListFunctionUrlConfigs": "FunctionUrlConfigs",
    "ListProvisionedConcurrencyConfigs": "ProvisionedConcurrencyConfigs",
}


def lambda_session() -> Any:
    """A boto3 session on the simulated account; Lambda lists moto does not implement answer empty."""
    import boto3
    from botocore.awsrequest import AWSResponse, HTTPHeaders

    session = boto3.Session(region_name=REGION)
    for operation, key in UNMODELLED_LAMBDA_LISTS.items():

        def empty(key: str = key, **_: Any) -> tuple[AWSResponse, dict[str, Any]]:
            return AWSResponse("", 200, HTTPHeaders(), None), {key: []}

        session.events.register(f"before-call.lambda.{operation}", empty)  # type: ignore[arg-type]
    return session


def run_prune_scenario(prune: Prune, *, wait_seconds: int = 3, timeout: float = 60) -> PruneScenarioResult:
    """Day 1, execution 1 (waits ``wait_seconds``), Day 2, Day 3, ``prune(clients, view)``, then wait."""
    result = PruneScenarioResult()
    with simulated_aws() as clients:
        sfn, s3, lam = clients["stepfunctions"], clients["s3"], clients["lambda"]
        s3.create_bucket(Bucket=ARTIFACT_BUCKET)
        for day in DAYS:
            s3.put_object(Bucket=ARTIFACT_BUCKET, Key=f"{day}/hello.zip", Body=hello_zip(day))
        stack = SimStack("prune", clients)
        days = prune_days()
        _deploy(stack, days[0], s3)
        (machine,) = [
            d.physical_id for d in stack.resources.values() if d.type == "AWS::StepFunctions::StateMachine"
        ]
        (result.function_name,) = [
            d.physical_id for d in stack.resources.values() if d.type == "AWS::Lambda::Function"
        ]
        exec1 = sfn.start_execution(
            stateMachineArn=machine, name="execution-1", input=json.dumps({"waitSeconds": wait_seconds})
        )["executionArn"]
        at_start = sfn.describe_state_machine(stateMachineArn=machine)
        started = {exec1: (at_start["definition"], at_start["roleArn"])}
        try:
            for later in days[1:]:
                _deploy(stack, later, s3)
            result.versions_before = _hello_versions(lam, result.function_name)
            session = lambda_session()
            view = read_scope(session, functions=[result.function_name], now=datetime.now(UTC))
            step_functions_view(view, sfn, machine, started)
            result.view = view
            result.pruned = prune(clients, view)
            if sfn.describe_execution(executionArn=exec1)["status"] != RUNNING or has_called_lambda(
                sfn, exec1
            ):
                raise SimulationError(
                    "execution 1 did not wait across the deploys and the prune: raise wait_seconds"
                )
            result.waited_across = True
            _wait(sfn, [exec1], timeout)
            result.execution1 = summarize_execution(sfn, exec1, "Execution 1")
            result.versions_after = _hello_versions(lam, result.function_name)
            result.invocations = list(clients["bridge"].invocations)
        finally:
            if sfn.describe_execution(executionArn=exec1)["status"] == RUNNING:
                sfn.stop_execution(executionArn=exec1)
    return result
