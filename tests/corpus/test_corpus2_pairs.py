"""Pairs of generated templates that package the same, unchanged service twice
(``../shared/corpus2/pairs.json``; the Serverless Framework writes a new, timestamped ``Code.S3Key`` on
every package).

Lambda publishes nothing for unchanged code, so where the template states the code's content (a version's
``CodeSha256``), every pinned version keeps its identity: the same logical ID and the same Description, so
CloudFormation asks for no new version. Where only the timestamped location exists, the identity cannot
follow the content: the report says so, naming the function, and the function's own Description changes
with the version (Lambda then publishes a version of the same code instead of failing the deploy).
"""

from __future__ import annotations

import json
from typing import Any

import pytest

from sfn_exact_version.transform import TransformResult
from support import CORPUS2, transformed

if not (CORPUS2 / "pairs.json").is_file():
    pytest.skip(f"corpus2 not found at {CORPUS2}", allow_module_level=True)

PAIRS = json.loads((CORPUS2 / "pairs.json").read_text(encoding="utf-8"))


def _run(path: str) -> TransformResult:
    template = json.loads((CORPUS2 / path).read_text(encoding="utf-8"))
    return transformed(template, parameter_values={}, region="us-east-1")


def _identities(result: TransformResult) -> dict[tuple[str, str], tuple[str, Any]]:
    """(state machine, state) -> (version logical ID, version Description) for every pinned call."""
    resources = result.template["Resources"]
    return {
        (call.state_machine, call.state): (
            call.version,
            resources[call.version]["Properties"].get("Description"),
        )
        for call in result.report.pinned
    }


def _states_content(result: TransformResult, function: str) -> bool:
    """Whether the template states the code's content for ``function`` (its only version's CodeSha256)."""
    resources = result.template["Resources"]
    versions = [
        resource
        for resource in resources.values()
        if resource["Type"] == "AWS::Lambda::Version"
        and resource["Properties"].get("FunctionName") == {"Ref": function}
    ]
    return len(versions) == 1 and "CodeSha256" in versions[0]["Properties"]


@pytest.mark.parametrize("pair", PAIRS, ids=[pair["cases"][0].split("/")[-2] for pair in PAIRS])
def test_unchanged_service_keeps_its_version_identities(pair: dict[str, Any]) -> None:
    first, second = (_run(path) for path in pair["cases"])
    assert pair["identity"] == "same"
    before, after = _identities(first), _identities(second)
    assert before and set(before) == set(after)
    functions = sorted({call.function for call in first.report.pinned})
    for function in functions:
        keys = [
            key for key, call in zip(before, first.report.pinned, strict=True) if call.function == function
        ]
        warned = [w for w in second.report.warnings if w.startswith(f"Resources/{function}/Properties/Code/")]
        if _states_content(first, function):
            assert [before[key] for key in keys] == [after[key] for key in keys], function
            assert not warned, function
        else:
            # only a timestamped location: said in the report; the function changes with its version
            assert warned and "timestamped" in warned[0], function
            descriptions = [
                result.template["Resources"][function]["Properties"]["Description"]
                for result in (first, second)
            ]
            assert descriptions[0] != descriptions[1]
