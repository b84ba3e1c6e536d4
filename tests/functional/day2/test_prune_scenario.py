"""Issue 9, the scenario proof: prune while an execution waits (sim/prune_scenario.py).

Day 1, execution 1 starts and waits; Day 2 and Day 3 change hello's code (versions 1, 2, 3); the real
``plan()`` decides (``--keep 0 --min-age 0``) and the real ``live.apply`` deletes, still while execution 1
waits. Execution 1 must end SUCCEEDED on Day 1's version; version 2 (nothing calls it) must be gone.
Negative control: a keep-last-N pruner (everything but the newest version goes) makes execution 1 fail.
"""

from __future__ import annotations

import base64
import copy
import dataclasses
import hashlib
import logging
from datetime import timedelta
from typing import Any

import pytest

from support import require_moto_or_skip

require_moto_or_skip()

from sim.prune_scenario import (  # noqa: E402
    PruneScenarioResult,
    hello_zip,
    lambda_session,
    run_prune_scenario,
)

from sfn_exact_version.decisions.prune import LAMBDA_VERSION, Plan, plan  # noqa: E402
from sfn_exact_version.live.apply import Outcome, apply  # noqa: E402
from sfn_exact_version.live.model import AccountView  # noqa: E402

logging.getLogger("moto.stepfunctions.parser").setLevel(logging.CRITICAL)


def _prune_apply(clients: Any, view: AccountView) -> tuple[Plan, Outcome]:
    decided = plan(view, keep=0, min_age=timedelta(0))
    return decided, apply(lambda_session(), decided.delete)


def _keep_last_one(clients: Any, view: AccountView) -> list[str]:
    (function,) = view.functions
    newest = max(int(v.version) for v in function.versions)
    deleted = [v.version for v in function.versions if int(v.version) != newest]
    for version in deleted:
        clients["lambda"].delete_function(FunctionName=function.name, Qualifier=version)
    return deleted


@pytest.fixture(scope="module")
def pruned() -> PruneScenarioResult:
    return run_prune_scenario(_prune_apply)


@pytest.fixture(scope="module")
def keep_last() -> PruneScenarioResult:
    return run_prune_scenario(_keep_last_one)


def _version(arn: str) -> str:
    return arn.rsplit(":", 1)[-1]


def test_three_days_published_three_versions(pruned: PruneScenarioResult) -> None:
    assert pruned.versions_before == ["1", "2", "3"]
    assert pruned.waited_across


def test_plan_deletes_day2_and_keeps_day1_for_the_execution(pruned: PruneScenarioResult) -> None:
    decided, outcome = pruned.pruned
    deletes = [(i.kind, _version(i.arn)) for i in decided.delete]
    assert deletes == [(LAMBDA_VERSION, "2")]
    kept = {_version(i.arn): i.reasons for i in decided.keep if i.kind == LAMBDA_VERSION}
    assert set(kept) == {"1", "3"}
    assert any("execution-1" in reason for reason in kept["1"]), kept["1"]
    assert not any("current definition" in reason for reason in kept["1"]), kept["1"]
    assert any("current definition" in reason for reason in kept["3"]), kept["3"]
    assert [_version(i.arn) for i in outcome.deleted] == ["2"]
    assert outcome.refused == []


def test_execution1_succeeds_on_day1_version_after_prune(pruned: PruneScenarioResult) -> None:
    summary = pruned.execution1
    assert summary is not None
    assert summary.status == "SUCCEEDED", (summary.error, summary.cause)
    assert summary.invoked_version == "1"
    assert summary.answers == ("Approved",)
    (call,) = pruned.invocations
    day1_sha = base64.b64encode(hashlib.sha256(hello_zip("day1")).digest()).decode()
    assert (call.version, call.code_sha256, call.error) == ("1", day1_sha, None)


def test_versions_nothing_calls_are_gone(pruned: PruneScenarioResult) -> None:
    assert pruned.versions_after == ["1", "3"]


def test_negative_control_keep_last_n_breaks_the_waiting_execution(keep_last: PruneScenarioResult) -> None:
    assert keep_last.pruned == ["1", "2"]
    assert keep_last.versions_after == ["3"]
    summary = keep_last.execution1
    assert summary is not None
    assert summary.status == "FAILED"
    assert summary.invoked_version == "1"
    assert "ResourceNotFound" in f"{summary.error} {summary.cause}", (summary.error, summary.cause)


def test_the_adapter_matters_moto_answer_would_delete_day1(pruned: PruneScenarioResult) -> None:
    """Read with moto's DescribeStateMachineForExecution (the current definition), execution 1 would seem
    to call version 3 only, and the plan would delete Day 1's version: why the adapter exists."""
    view = copy.deepcopy(pruned.view)
    assert view is not None
    (execution,) = view.executions
    current = view.state_machines[0].definition_key
    assert current is not None
    view.executions = [dataclasses.replace(execution, definition_key=current)]
    decided = plan(view, keep=0, min_age=timedelta(0))
    assert sorted(_version(i.arn) for i in decided.delete) == ["1", "2"]
