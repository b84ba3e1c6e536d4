"""Day-2 scenarios on the offline stack (sim/scenarios.py), with the macro's real transform.

Every scenario deploys Day 1 (or Day 0), starts execution 1 (it waits), deploys the next day while
execution 1 waits, and starts execution 2. Each protection has a negative control: the same scenario
with that one protection taken out of the processed template, failing the way AWS would.

Adoption (issue 8, part 1): Day 0 is deployed without the macro (SAM AutoPublishAlias; a CDK-style
hand-written AWS::Lambda::Version), Day 1 is the same template with SfnExactVersion. Then a tags-only
change publishes nothing and a Timeout-only change publishes a new version.

The same code under another S3 key (a per-build prefix): the version identity changes while Lambda sees
no code change; the function's Description marker makes Lambda publish. A mapping entry of another stage
changes: the dev stack sees no change at all.

Removal, rename, stop calling (issue 8, part 2): Day 1 calls ``hello`` pinned; Day 2 removes it, renames
it (a new FunctionName replaces it) or stops calling it (the role statement goes too). Execution 1 must
still run Day 1's ``hello`` version.
"""

from __future__ import annotations

import logging
from typing import Any

import pytest

from support import require_moto_or_skip

require_moto_or_skip()

from sim.scenarios import (  # noqa: E402
    ADOPTION,
    DAY2,
    MACRO_MARKER,
    ScenarioResult,
    run_adoption,
    run_day2,
    without_execution_role_retain,
    without_function_marker,
    without_function_retain,
    without_retained_grants,
)

EXISTS = "A version for this Lambda function exists"

logging.getLogger("moto.stepfunctions.parser").setLevel(logging.CRITICAL)


def _resources(template: dict[str, Any], resource_type: str) -> list[dict[str, Any]]:
    return [r for r in template["Resources"].values() if r["Type"] == resource_type]


# --- 1. adoption in one deploy --------------------------------------------------------------------


@pytest.fixture(scope="module", params=sorted(ADOPTION))
def adoption(request: pytest.FixtureRequest) -> tuple[str, ScenarioResult]:
    return request.param, run_adoption(request.param)


def _only_function(result: ScenarioResult, day: str) -> str:
    (name,) = result.functions_by_day[day].values()
    return name


def test_adoption_deploys_in_one_go(adoption: tuple[str, ScenarioResult]) -> None:
    _, result = adoption
    assert result.failed_deploy is None
    assert list(result.deploys) == ["day0", "day1", "tags-only", "timeout-only"]


def test_adoption_day1_publishes_because_the_function_description_changed(
    adoption: tuple[str, ScenarioResult],
) -> None:
    _, result = adoption
    day1 = result.deploys["day1"]
    name = _only_function(result, "day1")
    assert "HelloFunction" in day1.updated
    assert [op for op in day1.operations if op.startswith("lambda:PublishVersion")] == [
        f"lambda:PublishVersion {name} -> 2"
    ]
    function = result.templates["day1"]["Resources"]["HelloFunction"]["Properties"]
    (version,) = [
        v["Properties"]["Description"] for v in _resources(result.templates["day1"], "AWS::Lambda::Version")
    ]
    assert MACRO_MARKER.search(function["Description"]) and function["Description"].endswith(version)


def test_adoption_execution1_started_before_it_is_not_pinned_and_succeeds(
    adoption: tuple[str, ScenarioResult],
) -> None:
    _, result = adoption
    e1 = result.execution1
    assert e1 is not None and result.execution1_waited_across
    assert e1.status == "SUCCEEDED" and e1.answers == ("Approved",)
    assert e1.invoked_version is None, "started on Day 0: it calls the unqualified ARN"


def test_adoption_new_executions_run_the_pinned_version(adoption: tuple[str, ScenarioResult]) -> None:
    _, result = adoption
    e2 = result.execution2
    assert e2 is not None and e2.status == "SUCCEEDED"
    assert e2.invoked == (
        f"arn:aws:lambda:us-east-1:123456789012:function:{_only_function(result, 'day1')}:2",
    )


def test_adoption_then_tags_only_publishes_nothing(adoption: tuple[str, ScenarioResult]) -> None:
    _, result = adoption
    tags = result.deploys["tags-only"]
    assert "HelloFunction" in tags.updated
    assert not [op for op in tags.operations if op.startswith("lambda:PublishVersion")]
    assert tags.replaced == [] and tags.created == []


def test_adoption_then_timeout_only_publishes_a_new_version(adoption: tuple[str, ScenarioResult]) -> None:
    _, result = adoption
    name = _only_function(result, "timeout-only")
    operations = result.deploys["timeout-only"].operations
    assert f"lambda:PublishVersion {name} -> 3" in operations
    assert result.versions[name][-1] == "3"


@pytest.mark.parametrize("case", sorted(ADOPTION))
def test_adoption_without_the_function_marker_fails_like_cloudformation(case: str) -> None:
    """Negative control: the version is replaced, the function is not changed, Lambda publishes nothing."""
    result = run_adoption(case, hook=without_function_marker, days=2)
    assert result.failed_deploy is not None
    day, error = result.failed_deploy
    assert day == "day1"
    assert f"{EXISTS} (1). Modify the function to create a new version." in error
    assert result.execution1 is not None and result.execution1.status == "SUCCEEDED"


# --- 2. removal, rename, stop calling -------------------------------------------------------------


def _day1_version(result: ScenarioResult) -> str:
    (arn,) = result.versions_by_day["day1"].values()
    return arn


KEEPS = ["remove", "remove-shared-role", "rename", "stop-calling"]  # Day 2 drops hello in some way
assert set(KEEPS) <= set(DAY2)


@pytest.fixture(scope="module", params=KEEPS)
def protected(request: pytest.FixtureRequest) -> tuple[str, ScenarioResult]:
    return request.param, run_day2(request.param)


def test_day2_deploys(protected: tuple[str, ScenarioResult]) -> None:
    case, result = protected
    assert result.failed_deploy is None, case
    assert result.execution1_waited_across


def test_day2_keeps_the_function_and_day1_version(protected: tuple[str, ScenarioResult]) -> None:
    case, result = protected
    name = result.functions_by_day["day1"]["HelloFunction"]
    assert result.versions.get(name) == ["1"], f"{case}: {name} and its version 1 must still exist"


def test_day2_execution1_succeeds_on_day1_code(protected: tuple[str, ScenarioResult]) -> None:
    case, result = protected
    e1 = result.execution1
    assert e1 is not None
    assert (e1.status, e1.error, e1.cause) == ("SUCCEEDED", None, None), case
    assert e1.invoked == (_day1_version(result),)
    assert e1.answers == ("Approved",)


def test_day2_execution2_runs_day2(protected: tuple[str, ScenarioResult]) -> None:
    case, result = protected
    e2 = result.execution2
    assert e2 is not None and e2.status == "SUCCEEDED"
    if case == "rename":
        assert e2.invoked == ("arn:aws:lambda:us-east-1:123456789012:function:day2-hello-v2:1",)
    else:
        assert e2.invoked == ()


def test_day2_remove_keeps_the_execution_role() -> None:
    """Removing a SAM function would also remove the execution role SAM generated for it: the macro
    retains that role with the function, so Lambda can still run hello:1."""
    result = run_day2("remove")
    assert "HelloFunctionRole" in result.deploys["day2"].retained


def test_day2_remove_without_execution_role_retain_fails() -> None:
    """Negative control: without Retain on the function's role, the Day-2 removal deletes it and Lambda
    cannot run the retained hello:1 for execution 1."""
    result = run_day2("remove", hook=without_execution_role_retain)
    assert "HelloFunctionRole" in result.deploys["day2"].deleted
    e1 = result.execution1
    assert e1 is not None and e1.status == "FAILED"
    assert e1.error == "Lambda.InvalidParameterValueException"
    assert e1.cause is not None and "cannot be assumed by Lambda" in e1.cause


@pytest.mark.parametrize("case", ["remove-shared-role", "rename"])
def test_day2_without_function_retain_the_function_is_deleted(case: str) -> None:
    """Negative control (D2): deleting or replacing the function deletes all its versions."""
    result = run_day2(case, hook=without_function_retain)
    name = result.functions_by_day["day1"]["HelloFunction"]
    assert name not in result.versions, f"{name} should be gone with every version"
    e1 = result.execution1
    assert e1 is not None and e1.status == "FAILED"
    assert e1.invoked == (_day1_version(result),)
    assert e1.error == "Lambda.ResourceNotFoundException", (e1.error, e1.cause)


@pytest.mark.parametrize("case", KEEPS)
def test_day2_without_retained_grants_execution1_is_denied(case: str) -> None:
    """Negative control (D3): the role's statement for hello goes on Day 2; without a retained grant
    the running execution's role no longer allows hello:1."""
    result = run_day2(case, hook=without_retained_grants)
    e1 = result.execution1
    assert e1 is not None and e1.status == "FAILED"
    assert e1.invoked == (_day1_version(result),)
    assert e1.error == "Lambda.AccessDeniedException", (e1.error, e1.cause)


# --- 2b. a call that names the version by number -------------------------------------------------


def test_day2_remove_a_function_called_by_number_keeps_execution1_running() -> None:
    """Day 1 calls ``${HelloFunction.Arn}:1`` (SAM published version 1) and the role allows exactly
    that; Day 2 removes hello, the call and the statement. The call was never pinned by the macro, yet
    the function is retained and a retained grant keeps the role allowing hello's versions."""
    result = run_day2("remove-called-by-number")
    assert result.failed_deploy is None and result.execution1_waited_across
    name = result.functions_by_day["day1"]["HelloFunction"]
    day2 = result.deploys["day2"]
    assert "HelloFunction" in day2.retained
    assert [g for g in day2.retained if g.startswith("SfnExactVersionGrant")], day2.retained
    assert result.versions.get(name) == ["1"]
    e1 = result.execution1
    assert e1 is not None
    assert (e1.status, e1.error) == ("SUCCEEDED", None)
    assert e1.invoked == (f"arn:aws:lambda:us-east-1:123456789012:function:{name}:1",)


@pytest.mark.parametrize(
    ("hook", "error"),
    [
        (without_function_retain, "Lambda.ResourceNotFoundException"),
        (without_retained_grants, "Lambda.AccessDeniedException"),
    ],
)
def test_day2_remove_a_function_called_by_number_without_each_protection_fails(hook: Any, error: str) -> None:
    """Negative controls: without Retain on hello, removing it deletes version 1 with it; without the
    retained grant, the role's only statement for hello:1 goes with the call."""
    result = run_day2("remove-called-by-number", hook=hook)
    assert result.failed_deploy is None
    e1 = result.execution1
    assert e1 is not None and e1.status == "FAILED"
    assert e1.invoked == (
        f"arn:aws:lambda:us-east-1:123456789012:function:{result.functions_by_day['day1']['HelloFunction']}:1",
    )
    assert e1.error == error, (e1.error, e1.cause)


# --- 1b. the same code under another S3 key (a per-build prefix) ---------------------------------


def test_same_code_under_a_new_key_publishes_cleanly() -> None:
    """Lambda sees no code change (same CodeSha256), the version identity changes with the location:
    the function's Description marker changes with it, so Lambda publishes and the deploy succeeds."""
    result = run_day2("same-code-new-key")
    assert result.failed_deploy is None
    assert "lambda:PublishVersion day2-hello -> 2" in result.deploys["day2"].operations
    e1, e2 = result.execution1, result.execution2
    assert e1 is not None and e2 is not None
    assert (e1.status, e1.invoked[0].rsplit(":", 1)[-1]) == ("SUCCEEDED", "1")
    assert (e2.status, e2.invoked[0].rsplit(":", 1)[-1]) == ("SUCCEEDED", "2")


def test_same_code_under_a_new_key_without_the_function_marker_fails() -> None:
    """Negative control (D1): the version is replaced, the function's code hash and settings are not."""
    result = run_day2("same-code-new-key", hook=without_function_marker)
    assert result.failed_deploy is not None
    day, error = result.failed_deploy
    assert day == "day2" and f"{EXISTS} (1)." in error


# --- 1c. a mapping entry of another stage changes ------------------------------------------------


def test_other_stage_mapping_entry_changes_nothing_on_the_dev_stack() -> None:
    """hello's Timeout is FindInMap [StageConfig, !Ref Stage, Timeout]; Day 2 changes only the prod entry.
    The dev stack's fingerprint follows what its function resolves to: nothing is updated or published."""
    result = run_day2("other-stage-mapping-entry")
    day2 = result.deploys["day2"]
    assert result.failed_deploy is None
    assert (day2.created, day2.updated, day2.replaced, day2.operations) == ([], [], [], [])
    e1, e2 = result.execution1, result.execution2
    assert e1 is not None and e2 is not None
    assert e1.status == e2.status == "SUCCEEDED"
    assert e1.invoked == e2.invoked == ("arn:aws:lambda:us-east-1:123456789012:function:day2-hello:1",)


def test_other_stage_mapping_entry_is_this_stages_entry_on_the_prod_stack() -> None:
    """The same change on the prod stack changes hello's Timeout: a new version is published."""
    result = run_day2("other-stage-mapping-entry", parameters={"Stage": "prod"})
    assert result.failed_deploy is None
    assert "lambda:PublishVersion day2-hello -> 2" in result.deploys["day2"].operations
    e2 = result.execution2
    assert e2 is not None and e2.invoked == ("arn:aws:lambda:us-east-1:123456789012:function:day2-hello:2",)
