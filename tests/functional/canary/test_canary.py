"""The whole-workflow canary, end to end and offline (moto 5.2.5; see sim/canary_sim.py and
sim/workflow_versions.py for what is real and what is bridged).

Day 1: the alias routes every execution to state machine version 1. Day 2: a 10 % canary routes some to
version 2. With the macro, each state machine version runs its own Lambda version: version-1 executions
keep Day 1's code during the canary, and when the alarm rolls the alias and the stack back, executions
already running on version 2 still finish on Day 2's code while new ones run Day 1's; nothing they call was
deleted. Without the macro (negative control) both state machine versions call the function's current code.
"""

from __future__ import annotations

import logging

import pytest

from support import require_moto_or_skip

require_moto_or_skip()

from sim.canary_sim import CanaryStoryResult, canary_matches_promise, run_canary_story  # noqa: E402

WAIT_SECONDS = 3
# Where the alias sent each execution (state machine version), by name; the story's chooser decides.
ALARM_ROUTES = {
    "after-alarm": "1",
    "after-rollback": "1",
    "canary-new": "2",
    "canary-new-waiting": "2",
    "canary-old": "1",
    "day1-waiting": "1",
}
logging.getLogger("moto.stepfunctions.parser").setLevel(logging.CRITICAL)


@pytest.fixture(scope="module")
def alarm_with_macro() -> CanaryStoryResult:
    return run_canary_story(use_macro=True, outcome="alarm", wait_seconds=WAIT_SECONDS)


@pytest.fixture(scope="module")
def alarm_without_macro() -> CanaryStoryResult:
    return run_canary_story(use_macro=False, outcome="alarm", wait_seconds=WAIT_SECONDS)


@pytest.fixture(scope="module")
def promoted_with_macro() -> CanaryStoryResult:
    return run_canary_story(use_macro=True, outcome="promote", wait_seconds=WAIT_SECONDS)


def _routes(result: CanaryStoryResult) -> dict[str, str]:
    return {name: run.machine_version for name, run in sorted(result.runs.items())}


def _lambda(result: CanaryStoryResult) -> dict[str, tuple[str | None, str, str]]:
    return {name: (run.lambda_version, run.answer, run.status) for name, run in sorted(result.runs.items())}


# --- the alarm rolls back: with the macro --------------------------------------------------------


def test_alarm_story_keeps_the_promise(alarm_with_macro: CanaryStoryResult) -> None:
    assert canary_matches_promise(alarm_with_macro) == []


def test_the_alarm_rolled_the_alias_and_the_stack_back(alarm_with_macro: CanaryStoryResult) -> None:
    day2 = alarm_with_macro.day2
    assert day2.phases == ["canary 10%", "alarm"]
    assert day2.rolled_back and len(day2.alarms) == 1
    (route,) = alarm_with_macro.alias_routing_after
    assert route["weight"] == 100 and route["stateMachineVersionArn"].endswith(":1")


def test_the_alias_routed_each_execution_where_the_chooser_said(alarm_with_macro: CanaryStoryResult) -> None:
    assert _routes(alarm_with_macro) == ALARM_ROUTES
    assert all(run.started.alias_arn for run in alarm_with_macro.runs.values())
    assert alarm_with_macro.waiting_during_deploy, "the waiting executions called hello too early"


def test_each_state_machine_version_ran_its_own_code(alarm_with_macro: CanaryStoryResult) -> None:
    assert _lambda(alarm_with_macro) == {
        "after-alarm": ("1", "Approved", "SUCCEEDED"),
        "after-rollback": ("1", "Approved", "SUCCEEDED"),
        "canary-new": ("2", "ThumbsUp", "SUCCEEDED"),
        # started on version 2 during the canary, called hello after the rollback: still Day 2's code
        "canary-new-waiting": ("2", "ThumbsUp", "SUCCEEDED"),
        "canary-old": ("1", "Approved", "SUCCEEDED"),
        "day1-waiting": ("1", "Approved", "SUCCEEDED"),
    }


def test_nothing_a_running_execution_calls_was_deleted(alarm_with_macro: CanaryStoryResult) -> None:
    versions = alarm_with_macro.lambda_versions_after
    assert sorted(versions) == ["1", "2"] and versions["1"] != versions["2"]
    day2 = alarm_with_macro.day2
    created = [lid for lid in day2.rollback_retained if lid.startswith("HelloFunctionVersion")]
    assert len(created) == 1, "the Lambda version Day 2 created is kept by the rollback (Retain)"
    assert day2.rollback_deleted == []
    assert len(alarm_with_macro.role_allows) == 2 and all(alarm_with_macro.role_allows.values())


def test_the_rollback_restored_day1_code_and_definition(alarm_with_macro: CanaryStoryResult) -> None:
    operations = alarm_with_macro.day2.rollback_operations
    assert any(op.startswith("lambda:UpdateFunctionCode") for op in operations), operations
    assert any(op.startswith("states:UpdateStateMachine ") for op in operations), operations
    assert not any("Delete" in op for op in operations), operations


# --- the alarm rolls back: without the macro (negative control) ---------------------------------


def test_without_macro_both_versions_call_the_newest_code(alarm_without_macro: CanaryStoryResult) -> None:
    assert _routes(alarm_without_macro) == ALARM_ROUTES
    assert _lambda(alarm_without_macro) == {
        # after the alias went back to version 1, before the stack's rollback: Day 2's code
        "after-alarm": (None, "ThumbsUp", "FAILED"),
        "after-rollback": (None, "Approved", "SUCCEEDED"),
        "canary-new": (None, "ThumbsUp", "SUCCEEDED"),
        # started on version 2, called hello after the rollback: Day 1's code under Day 2's definition
        "canary-new-waiting": (None, "Approved", "FAILED"),
        # the 90 % that stayed on version 1 during the canary ran Day 2's code: the canary meant nothing
        "canary-old": (None, "ThumbsUp", "FAILED"),
        "day1-waiting": (None, "Approved", "SUCCEEDED"),
    }
    assert alarm_without_macro.lambda_versions_after == {}
    assert canary_matches_promise(alarm_without_macro) != []


# --- the canary is promoted ---------------------------------------------------------------------


def test_promoted_canary_keeps_the_promise(promoted_with_macro: CanaryStoryResult) -> None:
    assert canary_matches_promise(promoted_with_macro) == []
    assert not promoted_with_macro.day2.rolled_back
    (route,) = promoted_with_macro.alias_routing_after
    assert route["weight"] == 100 and route["stateMachineVersionArn"].endswith(":2")
    assert _lambda(promoted_with_macro)["day1-waiting"] == ("1", "Approved", "SUCCEEDED")
    assert _lambda(promoted_with_macro)["after-promotion"] == ("2", "ThumbsUp", "SUCCEEDED")


def test_promotion_retains_the_old_versions(promoted_with_macro: CanaryStoryResult) -> None:
    retained = promoted_with_macro.day2.report.retained
    assert "ApprovalStateMachineVersion" in retained
    old_lambda = [lid for lid in retained if lid.startswith("HelloFunctionVersion")]
    assert len(old_lambda) == 1 and old_lambda[0] in promoted_with_macro.templates["day1"]["Resources"]
    assert promoted_with_macro.day2.report.deleted == []
