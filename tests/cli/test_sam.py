"""Offline SAM translation: what CloudFormation hands the macro after the SAM transform."""

from __future__ import annotations

import copy
import json
import os
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from sfn_exact_version.offline.errors import InputError, SamTranslateError
from sfn_exact_version.offline.packaging import package_template
from sfn_exact_version.offline.sam import (
    SAM_TRANSFORM,
    macro_fragment,
    sam_translate,
    transform_names,
)
from sfn_exact_version.offline.template_io import load_template
from support import corpus_rows

FIXTURES = Path(__file__).resolve().parent / "fixtures"
ACCOUNT = "123456789012"


def translate(template: dict[str, Any], region: str = "eu-west-1", **kwargs: Any) -> dict[str, Any]:
    return sam_translate(template, parameter_values={}, region=region, account_id=ACCOUNT, **kwargs)


@pytest.fixture
def sam_template() -> dict[str, Any]:
    return load_template(FIXTURES / "sam_state_machine.yaml")


# --- transform_names / macro_fragment -------------------------------------------------------------


@pytest.mark.parametrize(
    ("declared", "expected"),
    [
        (SAM_TRANSFORM, True),
        ([SAM_TRANSFORM], True),
        ([SAM_TRANSFORM, "SfnExactVersion"], True),
        (["AWS::LanguageExtensions", SAM_TRANSFORM], True),
        ("SfnExactVersion", False),
        (["SfnExactVersion"], False),
        ("AWS::Serverless-2016-10-32", False),
    ],
)
def test_sam_is_found_among_the_transforms(declared: Any, expected: bool) -> None:
    assert (SAM_TRANSFORM in transform_names({"Transform": declared, "Resources": {}})) is expected


def test_template_without_transform_lists_none() -> None:
    assert transform_names({"Resources": {}}) == []


def test_macro_fragment_drops_transform_without_mutating() -> None:
    template = {"Transform": ["SfnExactVersion"], "Resources": {"Q": {"Type": "AWS::SQS::Queue"}}}
    before = copy.deepcopy(template)
    fragment = macro_fragment(template)
    assert fragment == {"Resources": {"Q": {"Type": "AWS::SQS::Queue"}}}
    assert template == before
    fragment["Resources"]["Q"]["Type"] = "changed"
    assert template == before  # a deep copy


# --- translation --------------------------------------------------------------------------------


def test_inline_definition_becomes_join_with_substitutions(sam_template: dict[str, Any]) -> None:
    out = translate(sam_template)
    resources = out["Resources"]
    assert resources["HelloFunction"]["Type"] == "AWS::Lambda::Function"
    assert resources["HelloStateMachineRole"]["Type"] == "AWS::IAM::Role"

    machine = resources["HelloStateMachine"]
    assert machine["Type"] == "AWS::StepFunctions::StateMachine"
    properties = machine["Properties"]
    assert properties["DefinitionSubstitutions"] == {
        "definition_substitution_1": {"Fn::GetAtt": ["HelloFunction", "Arn"]}
    }
    separator, lines = properties["DefinitionString"]["Fn::Join"]
    assert separator == "\n"
    assert all(isinstance(line, str) for line in lines)
    definition = json.loads("\n".join(lines))
    assert definition["States"]["Hello"]["Parameters"]["FunctionName"] == "${definition_substitution_1}"
    assert properties["RoleArn"] == {"Fn::GetAtt": ["HelloStateMachineRole", "Arn"]}


def test_transforms_after_sam_are_kept(sam_template: dict[str, Any]) -> None:
    out = translate(sam_template)
    assert out["Transform"] == ["SfnExactVersion"]
    assert list(out)[:3] == ["AWSTemplateFormatVersion", "Transform", "Description"]
    assert "Transform" not in macro_fragment(out)
    assert not any(r["Type"].startswith("AWS::Serverless::") for r in out["Resources"].values())


def test_sam_alone_leaves_no_transform(sam_template: dict[str, Any]) -> None:
    sam_template["Transform"] = SAM_TRANSFORM
    out = translate(sam_template)
    assert "Transform" not in out
    sam_template["Transform"] = [SAM_TRANSFORM]
    assert "Transform" not in translate(sam_template)


def test_several_following_transforms_keep_their_order(sam_template: dict[str, Any]) -> None:
    sam_template["Transform"] = [SAM_TRANSFORM, "SfnExactVersion", "OtherMacro"]
    assert translate(sam_template)["Transform"] == ["SfnExactVersion", "OtherMacro"]


def test_input_is_not_mutated(sam_template: dict[str, Any]) -> None:
    before = copy.deepcopy(sam_template)
    translate(sam_template)
    assert sam_template == before


def test_output_is_deterministic(sam_template: dict[str, Any]) -> None:
    assert json.dumps(translate(sam_template)) == json.dumps(translate(sam_template))


def test_region_is_used_and_environment_restored(
    sam_template: dict[str, Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    from samtranslator.translator.arn_generator import ArnGenerator

    monkeypatch.delenv("AWS_DEFAULT_REGION", raising=False)
    saved_class_region = ArnGenerator.BOTO_SESSION_REGION_NAME

    china = translate(sam_template, region="cn-north-1")
    assert "AWS_DEFAULT_REGION" not in os.environ
    assert saved_class_region == ArnGenerator.BOTO_SESSION_REGION_NAME
    managed = china["Resources"]["HelloFunctionRole"]["Properties"]["ManagedPolicyArns"]
    assert managed == ["arn:aws-cn:iam::aws:policy/service-role/AWSLambdaBasicExecutionRole"]

    monkeypatch.setenv("AWS_DEFAULT_REGION", "ap-southeast-2")
    europe = translate(sam_template, region="eu-west-1")
    assert os.environ["AWS_DEFAULT_REGION"] == "ap-southeast-2"
    managed = europe["Resources"]["HelloFunctionRole"]["Properties"]["ManagedPolicyArns"]
    assert managed == ["arn:aws:iam::aws:policy/service-role/AWSLambdaBasicExecutionRole"]


def test_parameter_values_are_used(sam_template: dict[str, Any]) -> None:
    sam_template["Parameters"] = {"Alias": {"Type": "String"}}
    sam_template["Resources"]["HelloFunction"]["Properties"]["AutoPublishAlias"] = {"Ref": "Alias"}
    out = sam_translate(
        sam_template, parameter_values={"Alias": "live"}, region="eu-west-1", account_id=ACCOUNT
    )
    assert out["Resources"]["HelloFunctionAliaslive"]["Type"] == "AWS::Lambda::Alias"
    versions = [r for r in out["Resources"].values() if r["Type"] == "AWS::Lambda::Version"]
    assert len(versions) == 1
    assert versions[0]["Properties"]["FunctionName"] == {"Ref": "HelloFunction"}


def test_sam_errors_are_all_reported_with_resource_names(sam_template: dict[str, Any]) -> None:
    del sam_template["Resources"]["HelloStateMachine"]["Properties"]["Definition"]
    sam_template["Resources"]["HelloFunction"]["Properties"]["Events"] = {"Bad": {"Type": "NoSuchEvent"}}
    with pytest.raises(SamTranslateError) as caught:
        translate(sam_template)
    problems = caught.value.problems
    assert len(problems) == 2
    assert any("[HelloStateMachine]" in problem for problem in problems)
    assert any("[HelloFunction]" in problem for problem in problems)
    assert caught.value.message == "\n".join(problems)


def test_not_a_sam_template_is_an_error() -> None:
    with pytest.raises(SamTranslateError, match="does not declare"):
        translate({"Transform": "SfnExactVersion", "Resources": {}})


def test_transform_before_sam_is_refused_unless_skipped(sam_template: dict[str, Any]) -> None:
    sam_template["Transform"] = ["AWS::LanguageExtensions", SAM_TRANSFORM, "SfnExactVersion"]
    with pytest.raises(SamTranslateError, match="AWS::LanguageExtensions before"):
        translate(sam_template)
    out = translate(sam_template, skip_preceding_transforms=True)
    assert out["Transform"] == ["SfnExactVersion"]


def test_serverless_repository_application_needs_no_network() -> None:
    template = {
        "Transform": SAM_TRANSFORM,
        "Resources": {
            "Layer": {
                "Type": "AWS::Serverless::Application",
                "Properties": {
                    "Location": {
                        "ApplicationId": "arn:aws:serverlessrepo:us-east-1:111122223333:applications/x",
                        "SemanticVersion": "1.0.0",
                    }
                },
            }
        },
    }
    out = translate(template)
    stack = out["Resources"]["Layer"]
    assert stack["Type"] == "AWS::CloudFormation::Stack"
    url = stack["Properties"]["TemplateURL"]
    assert url.startswith("https://sfn-exact-version-preview.s3.amazonaws.com/serverlessrepo/")
    assert url == translate(template)["Resources"]["Layer"]["Properties"]["TemplateURL"]


# --- the shared corpus --------------------------------------------------------------------------

# Templates of the corpus that are expected not to translate, and why.
CORPUS_FAILURES = {
    # Two resources named VPC: YAML would silently keep the last one; the loader refuses.
    "aws-samples__step-functions-workflows-collection/cqrs/template.yaml": (
        "duplicate key 'VPC' (first written at line 185)"
    ),
    # AWS::LanguageExtensions runs before SAM in CloudFormation and cannot be run offline.
    "aws-cloudformation__cfn-lint/test/fixtures/templates/good/transform/language_extension.yaml": (
        "AWS::LanguageExtensions before"
    ),
    "aws-samples__aws-step-functions-plagiarism-demo-dotnet/src/backend/template.yaml": (
        "AWS::LanguageExtensions before"
    ),
}


def _corpus_rows(kind: str) -> list[str]:
    return [row["path"] for row in corpus_rows() if row["kind"] == kind]


def _translate_corpus_template(path: Path) -> dict[str, Any]:
    template = load_template(path)
    if "Transform" not in template:  # SAM's own translator test inputs declare no transform
        template = {"Transform": SAM_TRANSFORM, **template}
    # The corpus keeps templates and definition files only, not the function code.
    packaged = package_template(template, path.parent, allow_missing=True).template
    return translate(packaged)


@pytest.mark.parametrize("relative", _corpus_rows("sam") or ["(no corpus)"])
def test_corpus_sam_template_translates(shared_corpus: Path, relative: str) -> None:
    path = shared_corpus / relative
    expected_failure = CORPUS_FAILURES.get(relative)
    if expected_failure is None:
        out = _translate_corpus_template(path)
        assert out["Resources"]
        assert not any(r.get("Type", "").startswith("AWS::Serverless::") for r in out["Resources"].values())
        json.dumps(out)
    else:
        with pytest.raises(InputError, match=re.escape(expected_failure)):
            _translate_corpus_template(path)


def test_corpus_has_the_expected_number_of_sam_templates(shared_corpus: Path) -> None:
    rows = _corpus_rows("sam")
    assert len(rows) == 59
    assert set(CORPUS_FAILURES) <= set(rows)


_DEPLOYMENT_ID = re.compile(r"Deployment[0-9a-f]{10}\b|RestApi deployment id: [0-9a-f]{40}")


def _without_deployment_ids(template: dict[str, Any]) -> str:
    """SAM's own golden outputs name API deployments by a hash its test harness computes differently."""
    return _DEPLOYMENT_ID.sub("Deployment<hash>", json.dumps(template, sort_keys=True))


def _golden_pairs() -> Iterator[tuple[str, str]]:
    for relative in _corpus_rows("sam"):
        if "/tests/translator/input/" in relative:
            yield relative, relative.replace("/input/", "/output/").removesuffix(".yaml") + ".json"


@pytest.mark.parametrize(("source", "golden"), list(_golden_pairs()) or [("(no corpus)", "")])
def test_corpus_matches_sam_golden_output(shared_corpus: Path, source: str, golden: str) -> None:
    """The translation equals aws-sam-translator's own expected output for the same input."""
    template = load_template(shared_corpus / source)
    out = translate({"Transform": SAM_TRANSFORM, **template}, region="us-east-1")
    expected = json.loads((shared_corpus / golden).read_text(encoding="utf-8"))
    assert _without_deployment_ids(out) == _without_deployment_ids(expected)
