"""The blue-green story on a real AWS account: the macro stack, Day 1, a long execution, Day 2, another.

Opt-in: ``SFN_EXACT_VERSION_E2E=1`` and AWS credentials with a Region (``AWS_DEFAULT_REGION`` or the
profile's ``region``: boto3 and the SAM CLI do not read ``AWS_REGION``). Creates (and deletes, in
``finally``) two stacks with a random suffix: the macro, registered under a unique macro name, and the
example app from ``examples/blue-green`` with that name in its ``Transform``. See ``tests/e2e/README.md``.

Timing: Day 2's change set is created (macro and SAM transform included) *before* execution 1 starts;
only its execution has to fit in execution 1's wait. Execution 2 starts only once the state machine
reports Day 2's definition and a few seconds have passed (``UpdateStateMachine``: executions started
immediately after an update may still use the previous definition), and the definition it ran is
checked with ``DescribeStateMachineForExecution``.

Asserts: both executions SUCCEEDED; execution 1 called the version published on Day 1 and got
"Approved", execution 2 the version published on Day 2 and got "ThumbsUp"; Day 1's version still
exists after Day 2.
"""

from __future__ import annotations

import json
import os
import re
import secrets
import shutil
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from e2e_support import skip_reason

REPO_ROOT = Path(__file__).resolve().parents[2]
EXAMPLE_DIR = REPO_ROOT / "examples" / "blue-green"
MACRO_NAME = "SfnExactVersion"
WAIT_SECONDS = int(os.environ.get("SFN_EXACT_VERSION_E2E_WAIT_SECONDS", "300"))
COMMAND_TIMEOUT = 1800  # seconds, per sam command
SETTLE_SECONDS = 10  # after the state machine shows Day 2's definition, before execution 2 starts
DAY2_MARK = "IsThumbsUp"  # a state only Day 2's definition has
GRANT_PREFIX = "SfnExactVersion-"  # inline policies the macro keeps on a role (retained grants)

pytestmark = pytest.mark.e2e


def _sam_cli() -> str | None:
    local = REPO_ROOT / ".venv" / "bin" / "sam"
    return os.environ.get("SAM_CLI") or (str(local) if local.exists() else shutil.which("sam"))


_REASON = skip_reason() or (
    None if _sam_cli() else "the sam CLI is not installed (make install puts it in .venv/bin)"
)
if _REASON:
    pytest.skip(_REASON, allow_module_level=True)

import boto3  # noqa: E402


def log(text: str) -> None:
    print(f"[{time.strftime('%H:%M:%S')}] {text}", file=sys.stderr, flush=True)


def sam(*args: str, cwd: Path) -> None:
    """Run the sam CLI; fail with the end of its output."""
    command = [str(_sam_cli()), *args]
    env = {**os.environ, "SAM_CLI_TELEMETRY": "0"}
    log("$ " + " ".join(command))
    completed = subprocess.run(
        command, cwd=cwd, env=env, capture_output=True, text=True, timeout=COMMAND_TIMEOUT, check=False
    )
    if completed.returncode != 0:
        pytest.fail(
            f"{' '.join(command)} exited {completed.returncode}\n"
            f"--- stdout (end) ---\n{completed.stdout[-4000:]}\n"
            f"--- stderr (end) ---\n{completed.stderr[-4000:]}"
        )


class Live:
    """The account under test, with unique names for everything this test creates."""

    def __init__(self, tmp: Path) -> None:
        self.session = boto3.Session()
        self.region: str = self.session.region_name
        self.cfn = self.session.client("cloudformation")
        self.sfn = self.session.client("stepfunctions")
        self.lam = self.session.client("lambda")
        self.logs = self.session.client("logs")
        self.iam = self.session.client("iam")
        suffix = secrets.token_hex(4)
        self.suffix = suffix
        self.macro_name = f"SfnExactVersionE2e{suffix}"
        self.macro_stack = f"sfn-exact-version-e2e-macro-{suffix}"
        self.app_stack = f"sfn-exact-version-e2e-bluegreen-{suffix}"
        self.tmp = tmp
        self.created_stacks: list[str] = []
        self.executions: list[str] = []
        self.function_names: set[str] = set()

    # -- stacks ---------------------------------------------------------------------------------

    def deploy_macro(self) -> None:
        build_dir = self.tmp / "macro-build"
        sam("build", "--build-dir", str(build_dir), cwd=REPO_ROOT)
        self.created_stacks.append(self.macro_stack)
        sam(
            "deploy",
            "--template-file", str(build_dir / "template.yaml"),
            "--stack-name", self.macro_stack,
            "--parameter-overrides", f"MacroName={self.macro_name}", "LogRetentionInDays=1",
            "--capabilities", "CAPABILITY_IAM",
            "--resolve-s3",
            "--s3-prefix", self.macro_stack,
            "--no-confirm-changeset",
            "--no-fail-on-empty-changeset",
            "--region", self.region,
            cwd=REPO_ROOT,
        )  # fmt: skip

    def app_copy(self) -> Path:
        """The example app, with this test's macro name in place of SfnExactVersion in ``Transform``."""
        app = self.tmp / "blue-green"
        shutil.copytree(EXAMPLE_DIR, app, ignore=shutil.ignore_patterns("__pycache__", "run_story.py"))
        for day in ("day1", "day2"):
            template = app / day / "template.yaml"
            text = template.read_text(encoding="utf-8")
            line = re.compile(rf"(?m)^([ \t]*-[ \t]*){MACRO_NAME}[ \t]*$")
            renamed, count = line.subn(rf"\g<1>{self.macro_name}", text)
            assert count == 1, f"{template}: expected one '- {MACRO_NAME}' line in Transform"
            template.write_text(renamed, encoding="utf-8")
        return app

    def deploy_app(self, app: Path, day: str, *, execute: bool = True) -> None:
        """``sam deploy`` the app; ``execute=False`` only creates the change set (``execute_change_set``)."""
        if self.app_stack not in self.created_stacks:
            self.created_stacks.append(self.app_stack)
        sam(
            "deploy",
            "--template-file", str(app / day / "template.yaml"),
            "--stack-name", self.app_stack,
            "--capabilities", "CAPABILITY_IAM", "CAPABILITY_AUTO_EXPAND",
            "--resolve-s3",
            "--s3-prefix", self.app_stack,
            "--no-confirm-changeset",
            "--no-fail-on-empty-changeset",
            *([] if execute else ["--no-execute-changeset"]),
            "--region", self.region,
            cwd=app,
        )  # fmt: skip

    def pending_change_set(self) -> str:
        """The change set ``deploy_app(..., execute=False)`` created: the newest one ready to execute."""
        summaries = self.cfn.list_change_sets(StackName=self.app_stack)["Summaries"]
        ready = [
            c for c in summaries if c["Status"] == "CREATE_COMPLETE" and c["ExecutionStatus"] == "AVAILABLE"
        ]
        assert ready, f"no change set ready to execute on {self.app_stack}: {summaries}"
        return str(max(ready, key=lambda c: c["CreationTime"])["ChangeSetId"])

    def execute_change_set(self, change_set: str) -> float:
        """Execute the change set and wait for the update; the seconds it took."""
        started = time.monotonic()
        self.cfn.execute_change_set(ChangeSetName=change_set)
        self.cfn.get_waiter("stack_update_complete").wait(
            StackName=self.app_stack, WaiterConfig={"Delay": 5, "MaxAttempts": 360}
        )
        return time.monotonic() - started

    def wait_for_definition(self, machine_arn: str, mark: str, timeout: float = 120) -> None:
        """Until DescribeStateMachine shows a definition containing ``mark``, then ``SETTLE_SECONDS``."""
        deadline = time.monotonic() + timeout
        while mark not in self.sfn.describe_state_machine(stateMachineArn=machine_arn)["definition"]:
            assert time.monotonic() < deadline, (
                f"the state machine does not show {mark!r} after {timeout:.0f} s"
            )
            time.sleep(2)
        time.sleep(SETTLE_SECONDS)

    def outputs(self) -> dict[str, str]:
        stack = self.cfn.describe_stacks(StackName=self.app_stack)["Stacks"][0]
        return {o["OutputKey"]: o["OutputValue"] for o in stack.get("Outputs", [])}

    # -- executions -----------------------------------------------------------------------------

    def start(self, machine_arn: str, name: str, wait_seconds: int) -> str:
        """Start an execution; its name gets a fresh suffix, so a rerun or a retry never collides."""
        arn: str = self.sfn.start_execution(
            stateMachineArn=machine_arn,
            name=f"{name}-{secrets.token_hex(4)}",
            input=json.dumps({"waitSeconds": wait_seconds}),
        )["executionArn"]
        self.executions.append(arn)
        return arn

    def history(self, arn: str) -> list[dict[str, Any]]:
        events: list[dict[str, Any]] = []
        for page in self.sfn.get_paginator("get_execution_history").paginate(executionArn=arn):
            events.extend(page["events"])
        return events

    def invoked_and_answers(self, arn: str) -> tuple[list[str], list[Any]]:
        invoked, answers = [], []
        for event in self.history(arn):
            scheduled = event.get("taskScheduledEventDetails")
            if scheduled and scheduled.get("resourceType") == "lambda":
                invoked.append(json.loads(scheduled["parameters"])["FunctionName"])
            succeeded = event.get("taskSucceededEventDetails")
            if succeeded and succeeded.get("resourceType") == "lambda":
                answers.append(json.loads(succeeded["output"])["Payload"])
        return invoked, answers

    def wait_until_done(self, arns: list[str], timeout: float) -> dict[str, dict[str, Any]]:
        deadline = time.monotonic() + timeout
        done: dict[str, dict[str, Any]] = {}
        while len(done) < len(arns):
            for arn in arns:
                if arn not in done:
                    described = self.sfn.describe_execution(executionArn=arn)
                    if described["status"] != "RUNNING":
                        done[arn] = described
                        log(f"{described['name']} {described['status']}")
            if len(done) < len(arns):
                assert time.monotonic() < deadline, f"executions still running after {timeout:.0f} s"
                time.sleep(5)
        return done

    # -- cleanup --------------------------------------------------------------------------------

    def remember_functions(self) -> None:
        """Note the app's functions now: the macro retains them, so the stack delete leaves them behind."""
        for page in self.cfn.get_paginator("list_stack_resources").paginate(StackName=self.app_stack):
            for resource in page["StackResourceSummaries"]:
                if resource["ResourceType"] == "AWS::Lambda::Function":
                    self.function_names.add(resource["PhysicalResourceId"])

    def _remove_retained_grants(self) -> None:
        """Delete the macro's retained inline policies from the app's roles before the stack delete: a
        role that still holds an inline policy the stack no longer manages cannot be deleted."""
        try:
            pages = list(self.cfn.get_paginator("list_stack_resources").paginate(StackName=self.app_stack))
        except Exception as error:  # the stack may not exist
            log(f"cleanup: cannot list {self.app_stack}: {error}")
            return
        for page in pages:
            for resource in page["StackResourceSummaries"]:
                if resource["ResourceType"] != "AWS::IAM::Role":
                    continue
                role = resource["PhysicalResourceId"]
                try:
                    for name in self.iam.list_role_policies(RoleName=role)["PolicyNames"]:
                        if name.startswith(GRANT_PREFIX):
                            self.iam.delete_role_policy(RoleName=role, PolicyName=name)
                            log(f"cleanup: deleted retained grant {role}/{name}")
                except Exception as error:
                    log(f"cleanup: retained grants on {role} left behind: {error}")

    def cleanup(self) -> None:
        """Stop what runs; delete the app stack, then the functions and versions it retained (with their
        log groups), then the macro stack."""
        for arn in self.executions:
            try:
                if self.sfn.describe_execution(executionArn=arn)["status"] == "RUNNING":
                    self.sfn.stop_execution(executionArn=arn, cause="e2e cleanup")
            except Exception as error:  # keep cleaning up
                log(f"cleanup: could not stop {arn}: {error}")
        if self.app_stack in self.created_stacks:
            try:
                self.remember_functions()
            except Exception as error:
                log(f"cleanup: cannot list the functions of {self.app_stack}: {error}")
            self._remove_retained_grants()
        waiter = self.cfn.get_waiter("stack_delete_complete")
        for stack in reversed(self.created_stacks):
            try:
                log(f"deleting stack {stack}")
                self.cfn.delete_stack(StackName=stack)
                waiter.wait(StackName=stack, WaiterConfig={"Delay": 10, "MaxAttempts": 180})
            except Exception as error:
                log(f"cleanup: stack {stack} may be left behind, delete it by hand: {error}")
            if stack == self.app_stack:
                self._delete_retained_functions()

    def _delete_retained_functions(self) -> None:
        # DeletionPolicy: Retain kept them out of the stack delete; deleting a function deletes every version.
        for name in sorted(self.function_names):
            try:
                self.lam.delete_function(FunctionName=name)
                log(f"cleanup: deleted retained function {name} and its versions")
            except self.lam.exceptions.ResourceNotFoundException:
                pass
            except Exception as error:
                log(f"cleanup: function {name} left behind, delete it by hand: {error}")
            try:
                self.logs.delete_log_group(logGroupName=f"/aws/lambda/{name}")
            except self.logs.exceptions.ResourceNotFoundException:
                pass
            except Exception as error:
                log(f"cleanup: log group /aws/lambda/{name} left behind: {error}")


@pytest.fixture
def live(tmp_path: Path) -> Iterator[Live]:
    account = Live(tmp_path)
    try:
        yield account
    finally:
        # Deleting the function deletes every version, the retained ones included.
        account.cleanup()


def _qualifier(function_arn: str) -> str | None:
    tail = function_arn.split(":function:", 1)[-1]
    return tail.split(":", 1)[1] if ":" in tail else None


def test_overlapping_executions_each_run_their_own_version(live: Live) -> None:
    log(f"Region {live.region}; macro {live.macro_name}; stacks {live.macro_stack}, {live.app_stack}")
    live.deploy_macro()
    app = live.app_copy()

    live.deploy_app(app, "day1")
    outputs = live.outputs()
    machine_arn = outputs["StateMachineArn"]
    live.remember_functions()

    # Day 2's change set first (the macro and SAM run here): only its execution must fit in the wait.
    live.deploy_app(app, "day2", execute=False)
    change_set = live.pending_change_set()
    log(f"day 2 change set ready: {change_set}")

    exec1 = live.start(machine_arn, "day1", WAIT_SECONDS)
    log(f"execution 1 started, waits {WAIT_SECONDS} s")
    took = live.execute_change_set(change_set)
    log(f"day 2 deployed in {took:.0f} s")
    status = live.sfn.describe_execution(executionArn=exec1)["status"]
    called = live.invoked_and_answers(exec1)[0]
    if status != "RUNNING" or called:
        pytest.fail(
            f"execution 1 was not waiting any more when Day 2 was deployed ({status}, called {called}); "
            f"the update took {took:.0f} s: raise SFN_EXACT_VERSION_E2E_WAIT_SECONDS (now {WAIT_SECONDS})"
        )

    live.wait_for_definition(machine_arn, DAY2_MARK)
    for attempt in range(3):
        exec2 = live.start(machine_arn, "day2", 0)
        ran = live.sfn.describe_state_machine_for_execution(executionArn=exec2)["definition"]
        if DAY2_MARK in ran:
            break
        log(f"execution 2 (attempt {attempt + 1}) started on the previous definition; starting another")
        time.sleep(SETTLE_SECONDS)
    else:
        pytest.fail("execution 2 kept starting on Day 1's definition after the update")
    log("execution 2 started")

    finished = live.wait_until_done([exec1, exec2], timeout=WAIT_SECONDS + 600)
    statuses = {arn: finished[arn]["status"] for arn in (exec1, exec2)}
    invoked1, answers1 = live.invoked_and_answers(exec1)
    invoked2, answers2 = live.invoked_and_answers(exec2)
    log(f"execution 1 invoked {invoked1} -> {answers1}; execution 2 invoked {invoked2} -> {answers2}")

    assert statuses == {exec1: "SUCCEEDED", exec2: "SUCCEEDED"}, (statuses, finished)
    assert len(invoked1) == 1 and len(invoked2) == 1
    version1, version2 = _qualifier(invoked1[0]), _qualifier(invoked2[0])
    assert version1 and version1.isdigit(), f"execution 1 called an unpinned ARN: {invoked1[0]}"
    assert version2 and version2.isdigit(), f"execution 2 called an unpinned ARN: {invoked2[0]}"
    assert int(version1) < int(version2)
    assert (answers1, answers2) == (["Approved"], ["ThumbsUp"])
    # Day 1's version is still there after Day 2 (DeletionPolicy/UpdateReplacePolicy: Retain).
    live.lam.get_function(FunctionName=outputs["HelloFunctionName"], Qualifier=version1)
