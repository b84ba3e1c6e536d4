"""Offline whole-workflow canary: state machine versions behind an alias, a 10 % canary, an alarm, a rollback.

The story (``run_canary_story``), on ``examples/canary`` (same pipeline as ``sim.bluegreen_sim``: package,
SAM offline, the real macro, then ``sim.workflow_versions.CanaryStack``):

1. Day 1 is deployed: state machine version 1, alias ``live`` routes 100 % to it. ``day1-waiting`` starts
   through the alias and waits before it calls ``hello``.
2. Day 2 is deployed: new ``hello`` code, new definition, state machine version 2. The alias routes 10 % to
   version 2 (``CANARY``). While it does, executions start through the alias; the injected chooser sends
   ``canary-new-waiting`` and ``canary-new`` to version 2 and ``canary-old`` to version 1.
3. ``outcome="alarm"``: the alarm goes into ``ALARM`` (``SetAlarmState`` in moto's CloudWatch). The alias
   routes 100 % back to version 1; ``after-alarm`` starts then, before the stack's rollback; the stack rolls
   back; ``after-rollback`` starts. ``outcome="promote"``: no alarm; the alias moves to 100 % version 2 and
   ``after-promotion`` starts.
4. Every execution is awaited; what each one ran is read from its history and from the Lambda bridge.

With the macro every execution succeeds: each state machine version calls its own Lambda version, both
versions still exist, and the role allows both. Without it (the negative control) both state machine
versions call the function's current code: version-1 executions fail while the canary runs, and after the
rollback the executions that started on version 2 run the old code and fail.

What is real and what is bridged: ``sim.bluegreen_sim`` (Lambda, IAM, the interpreter) and
``sim.workflow_versions`` (versions, aliases, routing, the rollback).

Example::

    from sim.canary_sim import run_canary_story
    result = run_canary_story(use_macro=True, outcome="alarm")
    assert all(run.status == "SUCCEEDED" for run in result.runs.values())
"""

from __future__ import annotations

import json
import sys
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

REPO_ROOT = Path(__file__).resolve().parent.parent
if str(REPO_ROOT / "macro") not in sys.path:
    sys.path.insert(0, str(REPO_ROOT / "macro"))

from sim.bluegreen_sim import (  # noqa: E402
    ExecutionSummary,
    has_called_lambda,
    prepare_template,
    simulated_aws,
    summarize_execution,
)
from sim.errors import SimulationError  # noqa: E402
from sim.iam_policy import role_allows_invoke  # noqa: E402
from sim.lambda_bridge import RoleAuthorizer  # noqa: E402
from sim.stack import REGION  # noqa: E402
from sim.workflow_versions import CanaryOutcome, CanaryStack, Route, StartedExecution, VersionRouter  # noqa: E402

CANARY_DIR = REPO_ROOT / "examples" / "canary"
MACHINE = "ApprovalStateMachine"
ALIAS = "ApprovalStateMachineAliaslive"
VERSION = "ApprovalStateMachineVersion"
ALARM = "ExecutionsFailedAlarm"
FUNCTION = "HelloFunction"
RULE = "ApprovalStateMachineApprovalRequested"

# Executions whose name contains this go to the canary version (the route with the smaller weight).
TO_NEW = "-new"


def story_chooser(routes: Sequence[Route], execution_name: str) -> str:
    """The story's routing: names with ``-new`` go to the canary (the smaller weight), others to the rest."""
    ordered = sorted(routes, key=lambda route: route[1])
    return ordered[0][0] if TO_NEW in execution_name else ordered[-1][0]


@dataclass(frozen=True)
class Run:
    """One execution of the story: where the alias sent it and what it did."""

    started: StartedExecution
    summary: ExecutionSummary
    machine_version: str  # "1", "2": the state machine version it ran

    @property
    def status(self) -> str:
        return self.summary.status

    @property
    def lambda_version(self) -> str | None:
        """The Lambda version it invoked (``None``: unqualified, the function's current code)."""
        return self.summary.invoked_version

    @property
    def answer(self) -> Any:
        return self.summary.answers[0] if self.summary.answers else None


@dataclass
class CanaryStoryResult:
    use_macro: bool
    outcome: str
    day1: CanaryOutcome
    day2: CanaryOutcome
    runs: dict[str, Run]  # by execution name
    alias_routing_after: list[dict[str, Any]]  # the alias's routingConfiguration at the end
    lambda_versions_after: dict[str, str]  # Lambda version -> CodeSha256
    role_allows: dict[str, bool]  # every Lambda version ARN invoked -> does the role allow it now
    waiting_during_deploy: bool  # the waiting executions had not called hello when Day 2 ended
    templates: dict[str, dict[str, Any]]  # "day1", "day2": what was deployed


Event = Callable[[str], None]


@contextmanager
def simulated_aws_with_versions(region: str = REGION) -> Iterator[dict[str, Any]]:
    """``sim.bluegreen_sim.simulated_aws`` plus CloudWatch and EventBridge clients."""
    import boto3

    with simulated_aws(region) as clients:
        for name in ("cloudwatch", "events"):
            clients[name] = boto3.client(name, region_name=region)
        yield clients


def run_canary_story(
    *,
    use_macro: bool = True,
    outcome: str = "alarm",
    wait_seconds: int = 3,
    example_dir: Path = CANARY_DIR,
    chooser: Callable[[Sequence[Route], str], str] = story_chooser,
    on_event: Event | None = None,
    timeout: float = 60,
    poll: float = 0.1,
) -> CanaryStoryResult:
    """Day 1, then Day 2 as a 10 % canary that an alarm rolls back (``outcome="alarm"``) or that is promoted
    (``outcome="promote"``); see the module docstring for the executions started at each step."""
    if outcome not in ("alarm", "promote"):
        raise SimulationError(f"outcome must be 'alarm' or 'promote', not {outcome!r}")
    say = on_event or (lambda text: None)
    with simulated_aws_with_versions() as clients:
        sfn, lam, iam = clients["stepfunctions"], clients["lambda"], clients["iam"]
        stack = CanaryStack("canary", clients)
        router = VersionRouter(sfn, stack, chooser)
        templates = {
            day: prepare_template(example_dir / day, s3=clients["s3"], use_macro=use_macro)
            for day in ("day1", "day2")
        }
        day1 = stack.deploy(templates["day1"], "day1")
        machine_arn, alias_arn = stack.ref(MACHINE), stack.ref(ALIAS)
        clients["bridge"].authorizer = RoleAuthorizer(iam, sfn, machine_arn)
        say(f"Day 1 deployed: state machine version {_number(stack.ref(VERSION))}; alias live -> 100 % of it")

        pending: list[str] = []

        def start(name: str, wait: int, through: str = alias_arn) -> StartedExecution:
            started = router.start_execution(through, name, json.dumps({"waitSeconds": wait}))
            pending.append(started.execution_arn)
            say(f"{name} started through the alias -> version {_number(started.version_arn)}")
            return started

        def finish(arns: Sequence[str]) -> None:
            deadline = time.monotonic() + timeout
            while any(sfn.describe_execution(executionArn=a)["status"] == "RUNNING" for a in arns):
                if time.monotonic() > deadline:
                    raise SimulationError(f"executions still running after {timeout:g} s")
                time.sleep(poll)

        # The first execution arrives by the caller the template declares: the EventBridge rule.
        (waiting1,) = router.deliver_event(
            clients["events"],
            stack.ref(RULE),
            {"source": "sfn-exact-version.canary", "detail": {"waitSeconds": wait_seconds}},
            "day1-waiting",
        )
        pending.append(waiting1.execution_arn)
        say(f"day1-waiting started by the EventBridge rule -> version {_number(waiting1.version_arn)}")
        waiting = [waiting1.execution_arn]

        def on_phase(phase: str) -> None:
            if phase.startswith("canary"):
                say(f"Day 2 canary: alias live -> {_routing(sfn, alias_arn)}")
                waiting.append(start("canary-new-waiting", wait_seconds).execution_arn)
                quick = [start("canary-new", 0).execution_arn, start("canary-old", 0).execution_arn]
                finish(quick)
                if outcome == "alarm":
                    clients["cloudwatch"].set_alarm_state(
                        AlarmName=stack.ref(ALARM), StateValue="ALARM", StateReason="canary story"
                    )
                    say("The alarm fires")
            elif phase == "alarm":
                say(f"The alias routes back: {_routing(sfn, alias_arn)}; the stack rolls back next")
                finish([start("after-alarm", 0).execution_arn])

        day2 = stack.deploy(templates["day2"], "day2", on_phase=on_phase)
        still_waiting = not any(has_called_lambda(sfn, arn) for arn in waiting)
        if day2.rolled_back:
            say(
                "Day 2 rolled back: kept (Retain) "
                + (", ".join(day2.rollback_retained) or "nothing")
                + "; deleted "
                + (", ".join(day2.rollback_deleted) or "nothing")
            )
            start("after-rollback", 0)
        else:
            retained = ", ".join(day2.report.retained)
            say(f"Day 2 promoted: alias live -> {_routing(sfn, alias_arn)}; retained {retained}")
            start("after-promotion", 0)
        try:
            finish(pending)
        finally:
            for arn in pending:
                if sfn.describe_execution(executionArn=arn)["status"] == "RUNNING":
                    sfn.stop_execution(executionArn=arn)

        runs: dict[str, Run] = {}
        for arn in pending:
            started = router.executions[arn]
            summary = summarize_execution(sfn, arn, started.name)
            runs[started.name] = Run(started, summary, _number(started.version_arn))
            say(_describe(runs[started.name]))
        versions = {
            v["Version"]: v["CodeSha256"]
            for v in lam.list_versions_by_function(FunctionName=stack.ref(FUNCTION))["Versions"]
            if v["Version"] != "$LATEST"
        }
        role_name = sfn.describe_state_machine(stateMachineArn=machine_arn)["roleArn"].rsplit("/", 1)[-1]
        invoked = {target for run in runs.values() for target in run.summary.invoked}
        return CanaryStoryResult(
            use_macro=use_macro,
            outcome=outcome,
            day1=day1,
            day2=day2,
            runs=runs,
            alias_routing_after=sfn.describe_state_machine_alias(stateMachineAliasArn=alias_arn)[
                "routingConfiguration"
            ],
            lambda_versions_after=versions,
            role_allows={target: role_allows_invoke(iam, role_name, target) for target in sorted(invoked)},
            waiting_during_deploy=still_waiting,
            templates=templates,
        )


def _number(version_arn: str | None) -> str:
    return version_arn.rsplit(":", 1)[-1] if version_arn else "-"


def _routing(sfn: Any, alias_arn: str) -> str:
    routing = sfn.describe_state_machine_alias(stateMachineAliasArn=alias_arn)["routingConfiguration"]
    return ", ".join(f"{r['weight']} % version {_number(r['stateMachineVersionArn'])}" for r in routing)


def _describe(run: Run) -> str:
    end = run.status + (f" ({run.summary.error})" if run.summary.error else "")
    code = f"hello:{run.lambda_version}" if run.lambda_version else "hello (unqualified: its current code)"
    version = run.machine_version
    return f"{run.summary.label}: state machine version {version} called {code}, got {run.answer!r}: {end}"


EXPECTED_ANSWER = {"1": "Approved", "2": "ThumbsUp"}


def canary_matches_promise(result: CanaryStoryResult) -> list[str]:
    """The whole-workflow canary promise, checked: an empty list when it holds, else what broke.

    Every execution ran the Lambda version of the state machine version it started on and succeeded, the
    waiting executions had not called ``hello`` before Day 2 ended, every Lambda version they invoked still
    exists and is allowed by the role.
    """
    problems = []
    if not result.waiting_during_deploy:
        problems.append("a waiting execution called hello before Day 2 ended (raise wait_seconds)")
    for name, run in sorted(result.runs.items()):
        if run.status != "SUCCEEDED":
            problems.append(f"{name} {run.status} ({run.summary.error}: {run.summary.cause})")
        if run.lambda_version != run.machine_version:
            problems.append(
                f"{name} ran state machine version {run.machine_version}, Lambda version {run.lambda_version}"
            )
        if run.answer != EXPECTED_ANSWER.get(run.machine_version):
            problems.append(f"{name} got {run.answer!r}")
        if run.lambda_version is not None and run.lambda_version not in result.lambda_versions_after:
            problems.append(f"{name}: Lambda version {run.lambda_version} no longer exists")
    for target, allowed in result.role_allows.items():
        if not allowed:
            problems.append(f"the role no longer allows {target}")
    return problems
