"""examples/canary through the offline pipeline (package, SAM, the macro), checked as templates: the macro
leaves the state machine versions and the alias alone, and everything either state machine version calls
survives Day 2, its promotion and its rollback (Retain on both policies, allowed by the role)."""

from __future__ import annotations

import json
from typing import Any

import pytest

from sfn_exact_version.offline.pipeline import Preview, preview
from support import REPO

EXAMPLE = REPO / "examples" / "canary"
SM_TYPES = ("AWS::StepFunctions::StateMachineVersion", "AWS::StepFunctions::StateMachineAlias")


@pytest.fixture(scope="module")
def days() -> dict[str, Preview]:
    return {day: preview(EXAMPLE / day / "template.yaml") for day in ("day1", "day2")}


def _of_type(template: dict[str, Any], kind: str) -> dict[str, Any]:
    return {k: v for k, v in template["Resources"].items() if v["Type"] == kind}


@pytest.mark.parametrize("day", ["day1", "day2"])
def test_versions_and_alias_are_untouched(days: dict[str, Preview], day: str) -> None:
    before, after = days[day].fragment, days[day].result.template
    for kind in SM_TYPES:
        found = _of_type(before, kind)
        assert len(found) == 1, kind
        assert _of_type(after, kind) == found
    (version,) = _of_type(after, SM_TYPES[0]).values()
    assert (version["DeletionPolicy"], version["UpdateReplacePolicy"]) == ("Retain", "Retain")  # SAM's own


@pytest.mark.parametrize("day", ["day1", "day2"])
def test_report_names_the_versions_and_alias(days: dict[str, Preview], day: str) -> None:
    report = days[day].result.template["Metadata"]["SfnExactVersion"]
    assert report["StateMachineVersions"] == [
        {
            "StateMachine": "ApprovalStateMachine",
            "Versions": ["ApprovalStateMachineVersion"],
            "Aliases": [
                {
                    "Alias": "ApprovalStateMachineAliaslive",
                    "Name": "live",
                    "RoutesTo": ["ApprovalStateMachineVersion"],
                    "Deployment": {"Type": "CANARY", "Percentage": 10, "Interval": 10},
                    "Alarms": ["ExecutionsFailedAlarm"],
                }
            ],
            "PinnedCalls": 1,
            "UnpinnedCalls": 0,
        }
    ]
    assert report["Warnings"] == []


def test_every_lambda_version_either_day_calls_survives(days: dict[str, Preview]) -> None:
    day1, day2 = (days[d].result.template for d in ("day1", "day2"))
    (v1,) = _of_type(day1, "AWS::Lambda::Version")
    (v2,) = _of_type(day2, "AWS::Lambda::Version")
    assert v1 != v2, "Day 2 changes hello's code: a new version identity"
    # v1 leaves the template on Day 2 (promotion): CloudFormation applies Day 1's DeletionPolicy.
    assert day1["Resources"][v1]["DeletionPolicy"] == "Retain"
    # v2 is created by Day 2; if an alarm rolls Day 2 back, Retain keeps it for executions on version 2.
    assert day2["Resources"][v2]["DeletionPolicy"] == "Retain"
    assert day2["Resources"][v2]["UpdateReplacePolicy"] == "Retain"
    for template, version in ((day1, v1), (day2, v2)):
        machine = template["Resources"]["ApprovalStateMachine"]["Properties"]
        assert machine["DefinitionSubstitutions"]["definition_substitution_1"] == {"Ref": version}


@pytest.mark.parametrize("day", ["day1", "day2"])
def test_role_allows_every_version_on_both_days(days: dict[str, Preview], day: str) -> None:
    """Both days' role (the rollback restores Day 1's) allows ``hello:*``, so both Lambda versions."""
    role = days[day].result.template["Resources"]["ApprovalStateMachineRole"]["Properties"]
    (statement,) = role["Policies"][0]["PolicyDocument"]["Statement"]
    assert {"Fn::Sub": "${HelloFunction.Arn}:*"} in statement["Resource"]


def test_callers_go_through_the_alias(days: dict[str, Preview]) -> None:
    template = days["day1"].result.template
    (rule,) = _of_type(template, "AWS::Events::Rule").values()
    assert [target["Arn"] for target in rule["Properties"]["Targets"]] == [
        {"Ref": "ApprovalStateMachineAliaslive"}
    ]
    assert template["Outputs"]["AliasArn"]["Value"] == {"Ref": "ApprovalStateMachineAliaslive"}


@pytest.mark.parametrize("day", ["day1", "day2"])
def test_processed_template_passes_cfn_lint(days: dict[str, Preview], day: str) -> None:
    from cfnlint.api import ManualArgs, lint

    matches = lint(json.dumps(days[day].result.template), config=ManualArgs(regions=["us-east-1"]))
    assert [str(m) for m in matches if m.rule.id.startswith("E")] == []
