"""The blue-green promise, end to end and offline (moto 5.2.5; see sim/bluegreen_sim.py).

Day 1 is deployed, execution 1 starts and waits, Day 2 is deployed during the wait, execution 2 starts.
With the macro both succeed, each on the Lambda version of its own day. Without it (negative control)
execution 1 runs Day 2's code and fails. Without the macro's IAM widening, the pinned call is denied.
"""

from __future__ import annotations

import copy
import json
import re
from typing import Any

import pytest
from sim.bluegreen_sim import (
    EXAMPLE_DIR,
    StoryResult,
    prepare_template,
    run_story,
    simulated_aws,
    story_matches_promise,
)

from support import require_moto_or_skip

require_moto_or_skip()

WAIT_SECONDS = 2
VERSION_ID = re.compile(r"^HelloFunctionVersion[0-9a-f]{12}$")


@pytest.fixture(scope="module")
def with_macro() -> StoryResult:
    return run_story(use_macro=True, wait_seconds=WAIT_SECONDS)


@pytest.fixture(scope="module")
def without_macro() -> StoryResult:
    return run_story(use_macro=False, wait_seconds=WAIT_SECONDS)


def _version_ids(template: dict[str, Any]) -> list[str]:
    return sorted(
        logical_id
        for logical_id, resource in template["Resources"].items()
        if resource["Type"] == "AWS::Lambda::Version"
    )


# --- with the macro -----------------------------------------------------------------------------


def test_day2_was_deployed_while_execution1_waited(with_macro: StoryResult) -> None:
    assert with_macro.execution1_was_waiting_during_day2


def test_the_promise_holds(with_macro: StoryResult) -> None:
    assert story_matches_promise(with_macro) == []


def test_both_executions_succeed(with_macro: StoryResult) -> None:
    assert (with_macro.execution1.status, with_macro.execution2.status) == ("SUCCEEDED", "SUCCEEDED")


def test_execution1_invoked_day1_version_and_got_approved(with_macro: StoryResult) -> None:
    e1 = with_macro.execution1
    assert with_macro.day1_version_arn is not None
    assert with_macro.day1_version_arn.endswith(":1")
    assert e1.invoked == (with_macro.day1_version_arn,)
    assert e1.invoked_version == "1"
    assert e1.answers == ("Approved",)
    assert e1.output["hello"] == {"answer": "Approved"}


def test_execution2_invoked_day2_version_and_got_thumbs_up(with_macro: StoryResult) -> None:
    e2 = with_macro.execution2
    assert with_macro.day2_version_arn is not None
    assert with_macro.day2_version_arn.endswith(":2")
    assert e2.invoked == (with_macro.day2_version_arn,)
    assert e2.invoked_version == "2"
    assert e2.answers == ("ThumbsUp",)


def test_each_version_ran_its_own_code(with_macro: StoryResult) -> None:
    ran = {(i.function_arn, i.version, i.result) for i in with_macro.invocations}
    assert ran == {
        (with_macro.day1_version_arn, "1", "Approved"),
        (with_macro.day2_version_arn, "2", "ThumbsUp"),
    }
    assert all(i.denied is None and i.error is None for i in with_macro.invocations)


def test_day1_version_is_kept_after_day2(with_macro: StoryResult) -> None:
    (day1_id,) = _version_ids(with_macro.day1.template)
    (day2_id,) = _version_ids(with_macro.day2.template)
    assert VERSION_ID.match(day1_id) and VERSION_ID.match(day2_id) and day1_id != day2_id
    assert with_macro.day2.retained == [day1_id]
    assert with_macro.day2.deleted == []
    versions = with_macro.function_versions_after_day2
    assert sorted(versions) == ["1", "2"]
    assert versions["1"] != versions["2"], "the two versions must hold different code"


def test_created_versions_are_retained_on_delete_and_replace(with_macro: StoryResult) -> None:
    for report in (with_macro.day1, with_macro.day2):
        for logical_id in _version_ids(report.template):
            resource = report.template["Resources"][logical_id]
            assert resource["DeletionPolicy"] == "Retain"
            assert resource["UpdateReplacePolicy"] == "Retain"
            assert resource["Properties"]["FunctionName"] == {"Ref": "HelloFunction"}


def test_day2_updates_the_code_before_publishing(with_macro: StoryResult) -> None:
    operations = with_macro.day2.operations
    update = next(i for i, op in enumerate(operations) if op.startswith("lambda:UpdateFunctionCode"))
    publish = next(i for i, op in enumerate(operations) if op.startswith("lambda:PublishVersion"))
    assert update < publish, operations
    assert operations[publish].endswith("-> 2")


def test_role_still_allows_the_day1_version(with_macro: StoryResult) -> None:
    assert with_macro.role_allows_day1_version_after_day2 is True


def test_state_machine_definition_names_the_version(with_macro: StoryResult) -> None:
    for report in (with_macro.day1, with_macro.day2):
        machine = report.template["Resources"]["ApprovalStateMachine"]["Properties"]
        (version_id,) = _version_ids(report.template)
        assert machine["DefinitionSubstitutions"]["definition_substitution_1"] == {"Ref": version_id}


# --- negative control: the same story without the macro ----------------------------------------


def test_without_macro_execution1_fails_on_day2_answer(without_macro: StoryResult) -> None:
    e1 = without_macro.execution1
    assert without_macro.execution1_was_waiting_during_day2
    assert e1.status == "FAILED"
    assert e1.error == "NotApproved"
    assert e1.answers == ("ThumbsUp",), "execution 1 kept day 1's definition but ran day 2's code"
    assert e1.invoked_version is None, "without the macro the call is unqualified ($LATEST)"


def test_without_macro_execution2_succeeds(without_macro: StoryResult) -> None:
    assert without_macro.execution2.status == "SUCCEEDED"
    assert without_macro.execution2.answers == ("ThumbsUp",)


def test_without_macro_no_version_is_published(without_macro: StoryResult) -> None:
    assert without_macro.function_versions_after_day2 == {}
    assert {i.version for i in without_macro.invocations} == {"$LATEST"}
    assert story_matches_promise(without_macro) != []


# --- the IAM widening matters --------------------------------------------------------------------


def _is_version_wildcard(resource: Any) -> bool:
    text = resource.get("Fn::Sub") if isinstance(resource, dict) else resource
    return isinstance(text, str) and text.endswith(":*")


def _drop_version_wildcards(template: dict[str, Any], day: str) -> dict[str, Any]:
    """Undo the macro's IAM work: remove every ``<arn>:*`` resource from role policies, and the retained
    grants (``AWS::IAM::RolePolicy`` ``SfnExactVersion-...``) that allow the same."""
    template = copy.deepcopy(template)
    grants = [
        logical_id
        for logical_id, resource in template["Resources"].items()
        if resource["Type"] == "AWS::IAM::RolePolicy"
        and str(resource["Properties"]["PolicyName"]).startswith("SfnExactVersion-")
    ]
    assert len(grants) == 1, f"{day}: expected one retained grant for hello, found {grants}"
    for logical_id in grants:
        del template["Resources"][logical_id]
    dropped = 0
    for resource in template["Resources"].values():
        if resource["Type"] != "AWS::IAM::Role":
            continue
        for policy in resource["Properties"].get("Policies", []):
            for statement in policy["PolicyDocument"]["Statement"]:
                if isinstance(statement["Resource"], list):
                    kept = [r for r in statement["Resource"] if not _is_version_wildcard(r)]
                    dropped += len(statement["Resource"]) - len(kept)
                    statement["Resource"] = kept
    assert dropped == 1, f"{day}: expected the macro to have added one <arn>:* resource"
    return template


def test_without_iam_widening_the_pinned_call_is_denied() -> None:
    result = run_story(use_macro=True, wait_seconds=WAIT_SECONDS, template_hook=_drop_version_wildcards)
    e1 = result.execution1
    assert e1.status == "FAILED"
    assert e1.error == "Lambda.AccessDeniedException"
    assert e1.invoked == (result.day1_version_arn,)
    assert result.role_allows_day1_version_after_day2 is False
    assert all(i.denied for i in result.invocations)


# --- the processed templates are valid CloudFormation ------------------------------------------


@pytest.mark.parametrize("day", ["day1", "day2"])
@pytest.mark.parametrize("use_macro", [True, False], ids=["macro", "sam-only"])
def test_processed_template_passes_cfn_lint(day: str, use_macro: bool) -> None:
    from cfnlint.api import ManualArgs, lint

    with simulated_aws(managed_policies=False) as clients:
        template = prepare_template(EXAMPLE_DIR / day, s3=clients["s3"], use_macro=use_macro)
    matches = lint(json.dumps(template), config=ManualArgs(regions=["us-east-1"]))
    errors = [str(m) for m in matches if m.rule.id.startswith("E")]
    assert errors == []
