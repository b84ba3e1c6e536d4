"""The blue-green story on a real AWS account: the macro stack, Day 1, a long execution, Day 2, another.

Opt-in: ``SFN_EXACT_VERSION_E2E=1`` and AWS credentials with a Region. Creates (and deletes, in
``finally``) two stacks with a random suffix: the macro, registered under a unique macro name, and the
example app from ``examples/blue-green`` with that name in its ``Transform``. See ``tests/e2e/README.md``.

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

REPO_ROOT = Path(__file__).resolve().parents[2]
EXAMPLE_DIR = REPO_ROOT / "examples" / "blue-green"
MACRO_NAME = "SfnExactVersion"
WAIT_SECONDS = int(os.environ.get("SFN_EXACT_VERSION_E2E_WAIT_SECONDS", "90"))
COMMAND_TIMEOUT = 1800  # seconds, per sam command

pytestmark = pytest.mark.e2e


def _skip_reason() -> str | None:
    if os.environ.get("SFN_EXACT_VERSION_E2E") != "1":
        return "live AWS test: set SFN_EXACT_VERSION_E2E=1 (and AWS credentials) to run it"
    try:
        import boto3
    except ImportError:
        return "boto3 is not installed"
    try:
        session = boto3.Session()
        credentials = session.get_credentials()
    except Exception as error:  # e.g. a profile that does not exist
        return f"SFN_EXACT_VERSION_E2E=1 but the AWS configuration is unusable: {error}"
    if credentials is None:
        return "SFN_EXACT_VERSION_E2E=1 but no AWS credentials were found (profile, env or SSO)"
    if not session.region_name:
        return "SFN_EXACT_VERSION_E2E=1 but no AWS Region is set (AWS_REGION / AWS_DEFAULT_REGION / profile)"
    if _sam_cli() is None:
        return "the sam CLI is not installed (make install puts it in .venv/bin)"
    return None


def _sam_cli() -> str | None:
    local = REPO_ROOT / ".venv" / "bin" / "sam"
    return os.environ.get("SAM_CLI") or (str(local) if local.exists() else shutil.which("sam"))


_REASON = _skip_reason()
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
        suffix = secrets.token_hex(4)
        self.macro_name = f"SfnExactVersionE2e{suffix}"
        self.macro_stack = f"sfn-exact-version-e2e-macro-{suffix}"
        self.app_stack = f"sfn-exact-version-e2e-bluegreen-{suffix}"
        self.tmp = tmp
        self.created_stacks: list[str] = []
        self.executions: list[str] = []
        self.function_name: str | None = None

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

    def deploy_app(self, app: Path, day: str) -> None:
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
            "--region", self.region,
            cwd=app,
        )  # fmt: skip

    def outputs(self) -> dict[str, str]:
        stack = self.cfn.describe_stacks(StackName=self.app_stack)["Stacks"][0]
        return {o["OutputKey"]: o["OutputValue"] for o in stack.get("Outputs", [])}

    # -- executions -----------------------------------------------------------------------------

    def start(self, machine_arn: str, name: str, wait_seconds: int) -> str:
        arn: str = self.sfn.start_execution(
            stateMachineArn=machine_arn, name=name, input=json.dumps({"waitSeconds": wait_seconds})
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

    def cleanup(self) -> None:
        """Stop what runs, delete the stacks (newest first), and the hello function's log group."""
        for arn in self.executions:
            try:
                if self.sfn.describe_execution(executionArn=arn)["status"] == "RUNNING":
                    self.sfn.stop_execution(executionArn=arn, cause="e2e cleanup")
            except Exception as error:  # keep cleaning up
                log(f"cleanup: could not stop {arn}: {error}")
        waiter = self.cfn.get_waiter("stack_delete_complete")
        for stack in reversed(self.created_stacks):
            try:
                log(f"deleting stack {stack}")
                self.cfn.delete_stack(StackName=stack)
                waiter.wait(StackName=stack, WaiterConfig={"Delay": 10, "MaxAttempts": 180})
            except Exception as error:
                log(f"cleanup: stack {stack} may be left behind, delete it by hand: {error}")
        if self.function_name:
            try:
                self.logs.delete_log_group(logGroupName=f"/aws/lambda/{self.function_name}")
            except self.logs.exceptions.ResourceNotFoundException:
                pass
            except Exception as error:
                log(f"cleanup: log group /aws/lambda/{self.function_name} left behind: {error}")


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
    live.function_name = outputs["HelloFunctionName"]
    exec1 = live.start(machine_arn, "day1-execution", WAIT_SECONDS)
    log(f"execution 1 started, waits {WAIT_SECONDS} s")

    live.deploy_app(app, "day2")
    log("day 2 deployed")
    assert live.sfn.describe_execution(executionArn=exec1)["status"] == "RUNNING"
    assert live.invoked_and_answers(exec1)[0] == [], (
        f"execution 1 called hello before day 2 was deployed: raise SFN_EXACT_VERSION_E2E_WAIT_SECONDS "
        f"(now {WAIT_SECONDS})"
    )
    exec2 = live.start(machine_arn, "day2-execution", 0)
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
    live.lam.get_function(FunctionName=live.function_name, Qualifier=version1)
