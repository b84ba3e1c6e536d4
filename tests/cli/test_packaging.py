"""Local artifact paths become S3 locations named by content, as ``sam package`` would upload them."""

from __future__ import annotations

import copy
import hashlib
import json
import os
import re
from pathlib import Path
from typing import Any

import pytest

from sfn_exact_version.offline.errors import InputError, PackagingError
from sfn_exact_version.offline.packaging import (
    PREVIEW_BUCKET,
    content_digest,
    is_local_path,
    package_template,
    read_local_definitions,
)
from sfn_exact_version.offline.sam import SAM_TRANSFORM, sam_translate
from sfn_exact_version.offline.template_io import load_template
from support import corpus_rows

SM_FILE = "statemachine/sm.asl.json"


def write(path: Path, text: str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")
    return path


def function(**properties: Any) -> dict[str, Any]:
    return {"Type": "AWS::Serverless::Function", "Properties": {"Handler": "app.handler", **properties}}


def resource(resource_type: str, **properties: Any) -> dict[str, Any]:
    return {"Type": resource_type, "Properties": properties}


def machine(**properties: Any) -> dict[str, Any]:
    return resource("AWS::Serverless::StateMachine", **properties)


def sam(resources: dict[str, Any], **sections: Any) -> dict[str, Any]:
    return {"Transform": SAM_TRANSFORM, **sections, "Resources": resources}


def code_key(tmp_path: Path, code_uri: str = "src") -> str:
    packaged = package_template(sam({"Fn": function(CodeUri=code_uri)}), tmp_path)
    location = packaged.template["Resources"]["Fn"]["Properties"]["CodeUri"]
    assert location["Bucket"] == PREVIEW_BUCKET
    key: str = location["Key"]
    return key


@pytest.fixture
def project(tmp_path: Path) -> Path:
    write(tmp_path / "src" / "app.py", "def handler(event, context):\n    return 1\n")
    write(tmp_path / "src" / "lib" / "util.py", "X = 1\n")
    write(tmp_path / SM_FILE, '{"StartAt": "A", "States": {"A": {"Type": "Pass", "End": true}}}')
    return tmp_path


# --- keys follow the content ---------------------------------------------------------------------


def test_unchanged_tree_gives_the_same_key(project: Path) -> None:
    assert code_key(project) == code_key(project)
    assert len(code_key(project)) == 64


def test_a_code_change_changes_the_key(project: Path) -> None:
    before = code_key(project)
    write(project / "src" / "app.py", "def handler(event, context):\n    return 2\n")
    after = code_key(project)
    assert after != before
    write(project / "src" / "app.py", "def handler(event, context):\n    return 1\n")
    assert code_key(project) == before  # content, not modification time


def test_adding_or_renaming_a_file_changes_the_key(project: Path) -> None:
    before = code_key(project)
    write(project / "src" / "new.py", "")
    with_new = code_key(project)
    assert with_new != before
    (project / "src" / "new.py").rename(project / "src" / "renamed.py")
    assert code_key(project) not in (before, with_new)


@pytest.mark.parametrize("skipped", ["__pycache__", ".aws-sam", ".git", "lib/__pycache__"])
def test_build_and_cache_directories_are_ignored(project: Path, skipped: str) -> None:
    before = code_key(project)
    write(project / "src" / skipped / "noise.pyc", "bytes")
    assert code_key(project) == before


def test_the_key_does_not_depend_on_where_the_tree_is(
    project: Path, tmp_path_factory: pytest.TempPathFactory
) -> None:
    other = tmp_path_factory.mktemp("elsewhere")
    for path in (project / "src").rglob("*"):
        if path.is_file():
            write(other / "code" / path.relative_to(project / "src"), path.read_text())
    assert code_key(other, "code") == code_key(project, "src")


def test_file_key_is_the_sha256_of_its_bytes(project: Path) -> None:
    path = project / "statemachine" / "sm.asl.json"
    assert content_digest(path) == hashlib.sha256(path.read_bytes()).hexdigest()


def test_symbolic_link_loop_terminates(project: Path) -> None:
    os.symlink(project / "src", project / "src" / "lib" / "loop")
    assert len(code_key(project)) == 64


# --- which properties are packaged ---------------------------------------------------------------


def test_every_supported_property(project: Path) -> None:
    file_key = content_digest(project / "statemachine" / "sm.asl.json")
    dir_key = content_digest(project / "src")
    template = {
        "Transform": SAM_TRANSFORM,
        "Globals": {"Function": {"CodeUri": "src"}, "Api": {"DefinitionUri": SM_FILE}},
        "Resources": {
            "Layer": resource("AWS::Serverless::LayerVersion", ContentUri="src/"),
            "Sm": machine(DefinitionUri=SM_FILE),
            "Api": resource("AWS::Serverless::Api", DefinitionUri=SM_FILE),
            "Http": resource("AWS::Serverless::HttpApi", DefinitionUri=SM_FILE),
            "App": resource("AWS::Serverless::Application", Location=SM_FILE),
            "Plain": resource("AWS::Lambda::Function", Code="src"),
            "PlainLayer": resource("AWS::Lambda::LayerVersion", Content="src"),
            "PlainSm": {
                "Type": "AWS::StepFunctions::StateMachine",
                "Properties": {"DefinitionS3Location": SM_FILE},
            },
            "Stack": resource("AWS::CloudFormation::Stack", TemplateURL=SM_FILE),
        },
    }
    packaged = package_template(template, project)
    out = packaged.template
    bucket_key = {"Bucket": PREVIEW_BUCKET, "Key": dir_key}
    file_location = {"Bucket": PREVIEW_BUCKET, "Key": file_key}
    url = f"https://{PREVIEW_BUCKET}.s3.amazonaws.com/{file_key}"
    assert out["Globals"]["Function"]["CodeUri"] == bucket_key
    assert out["Globals"]["Api"]["DefinitionUri"] == file_location
    resources = out["Resources"]
    assert resources["Layer"]["Properties"]["ContentUri"] == bucket_key
    assert resources["Sm"]["Properties"]["DefinitionUri"] == file_location
    assert resources["Api"]["Properties"]["DefinitionUri"] == file_location
    assert resources["Http"]["Properties"]["DefinitionUri"] == file_location
    assert resources["App"]["Properties"]["Location"] == url
    assert resources["Plain"]["Properties"]["Code"] == {"S3Bucket": PREVIEW_BUCKET, "S3Key": dir_key}
    assert resources["PlainLayer"]["Properties"]["Content"] == {"S3Bucket": PREVIEW_BUCKET, "S3Key": dir_key}
    assert resources["PlainSm"]["Properties"]["DefinitionS3Location"] == file_location
    assert resources["Stack"]["Properties"]["TemplateURL"] == url
    assert len(packaged.artifacts) == 11
    assert packaged.artifacts[0].location == "Globals/Function/CodeUri"
    assert {a.location for a in packaged.artifacts} >= {"Resources/Plain/Properties/Code"}


def test_function_without_code_uri_packages_the_template_directory(project: Path) -> None:
    packaged = package_template(sam({"Fn": function()}), project)
    assert packaged.template["Resources"]["Fn"]["Properties"]["CodeUri"] == {
        "Bucket": PREVIEW_BUCKET,
        "Key": content_digest(project),
    }
    assert packaged.artifacts[0].path == "."


def test_function_without_properties_gets_a_default_code_uri(project: Path) -> None:
    packaged = package_template(sam({"Fn": {"Type": "AWS::Serverless::Function"}}), project)
    assert packaged.template["Resources"]["Fn"]["Properties"]["CodeUri"]["Key"] == content_digest(project)


@pytest.mark.parametrize(
    ("properties", "globals_function"),
    [
        ({"InlineCode": "def handler(e, c): pass"}, {}),
        ({"ImageUri": "111122223333.dkr.ecr.eu-west-1.amazonaws.com/repo:tag"}, {}),
        ({"PackageType": "Image"}, {}),
        ({}, {"PackageType": "Image"}),
        ({}, {"CodeUri": "s3://bucket/code.zip"}),
    ],
)
def test_no_default_code_uri_when_code_comes_from_elsewhere(
    project: Path, properties: dict[str, Any], globals_function: dict[str, Any]
) -> None:
    template = sam({"Fn": function(**properties)}, Globals={"Function": globals_function})
    packaged = package_template(template, project)
    assert packaged.template == template
    assert packaged.artifacts == []


@pytest.mark.parametrize(
    "value",
    [
        "s3://bucket/code.zip",
        "https://bucket.s3.amazonaws.com/code.zip",
        {"Bucket": "bucket", "Key": "code.zip"},
        {"Fn::Sub": "s3://${Bucket}/code.zip"},
        {"Ref": "CodeUriParameter"},
    ],
)
def test_remote_locations_and_intrinsics_are_untouched(project: Path, value: Any) -> None:
    template = sam({"Fn": function(CodeUri=value)})
    assert package_template(template, project).template == template
    assert not is_local_path(value)


def test_lambda_zipfile_code_is_untouched(project: Path) -> None:
    template = {"Resources": {"Fn": resource("AWS::Lambda::Function", Code={"ZipFile": "x"})}}
    assert package_template(template, project).template == template


def test_input_is_not_mutated(project: Path) -> None:
    template = sam({"Fn": function(CodeUri="src"), "Bare": function()}, Globals={"Function": {"Timeout": 3}})
    before = copy.deepcopy(template)
    package_template(template, project)
    assert template == before


def test_paths_are_relative_to_the_base_directory(project: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    expected = code_key(project)
    monkeypatch.chdir(project / "src")
    assert code_key(project) == expected


# --- missing paths -------------------------------------------------------------------------------


def test_missing_paths_are_all_reported(project: Path) -> None:
    template = sam(
        {
            "Fn": function(CodeUri="nope/"),
            "Sm": machine(DefinitionUri="gone.asl.json"),
            "Ok": function(CodeUri="src"),
        }
    )
    with pytest.raises(PackagingError) as caught:
        package_template(template, project)
    problems = caught.value.problems
    assert len(problems) == 2
    assert problems[0].startswith("Resources/Fn/Properties/CodeUri: local path 'nope/' does not exist")
    assert str(project / "nope") in problems[0]
    assert problems[1].startswith("Resources/Sm/Properties/DefinitionUri: local path 'gone.asl.json'")


def test_missing_paths_allowed_get_a_marked_key(project: Path) -> None:
    template = sam({"Fn": function(CodeUri="dist/"), "Ok": function(CodeUri="src")})
    packaged = package_template(template, project, allow_missing=True)
    key = packaged.template["Resources"]["Fn"]["Properties"]["CodeUri"]["Key"]
    assert key == "missing/" + hashlib.sha256(b"dist/").hexdigest()
    assert [a.missing for a in packaged.artifacts] == [True, False]


# --- through the SAM transform -------------------------------------------------------------------


def _published_version(project: Path) -> str:
    template = sam({"Fn": function(Runtime="python3.13", CodeUri="src", AutoPublishAlias="live")})
    packaged = package_template(template, project).template
    out = sam_translate(packaged, parameter_values={}, region="eu-west-1", account_id="123456789012")
    versions = [str(name) for name, r in out["Resources"].items() if r["Type"] == "AWS::Lambda::Version"]
    assert len(versions) == 1
    return versions[0]


def test_a_code_change_publishes_a_new_sam_version(project: Path) -> None:
    before = _published_version(project)
    assert _published_version(project) == before
    write(project / "src" / "app.py", "def handler(event, context):\n    return 3\n")
    assert _published_version(project) != before


# --- local definition files ----------------------------------------------------------------------


def test_read_local_definitions_json_and_yaml(project: Path) -> None:
    write(
        project / "statemachine" / "other.asl.yaml",
        "StartAt: Wait\nStates:\n  Wait:\n    Type: Wait\n"
        "    Timestamp: 2016-03-14T01:59:00Z\n    End: true\n",
    )
    template = sam(
        {
            "Json": machine(DefinitionUri=SM_FILE),
            "Yaml": {
                "Type": "AWS::StepFunctions::StateMachine",
                "Properties": {"DefinitionS3Location": "statemachine/other.asl.yaml"},
            },
            "Remote": machine(DefinitionUri="s3://b/k.json"),
            "Inline": machine(Definition={"StartAt": "A"}),
        }
    )
    definitions = read_local_definitions(template, project)
    assert set(definitions) == {"Json", "Yaml"}
    assert definitions["Json"]["States"]["A"]["Type"] == "Pass"
    assert definitions["Yaml"]["States"]["Wait"]["Timestamp"] == "2016-03-14T01:59:00Z"


def test_read_local_definitions_with_bare_placeholders(project: Path) -> None:
    write(
        project / "sm.json",
        '{"StartAt": "A", "TimeoutSeconds": ${timeout}, "States": {"A": {"Type": "Task",\n'
        ' "Resource": "${FnArn}", "Comment": "see: ${x}", "Retry": [${retry}], "End": true}}}',
    )
    template = sam({"Sm": machine(DefinitionUri="sm.json")})
    definition = read_local_definitions(template, project)["Sm"]
    assert definition["TimeoutSeconds"] == "${timeout}"
    assert definition["States"]["A"]["Resource"] == "${FnArn}"
    assert definition["States"]["A"]["Comment"] == "see: ${x}"
    assert definition["States"]["A"]["Retry"] == ["${retry}"]


def test_read_local_definitions_errors(project: Path) -> None:
    write(project / "broken.json", '{"StartAt": "A",\n "States": {\n}')
    template = sam(
        {
            "Broken": machine(DefinitionUri="broken.json"),
            "Missing": machine(DefinitionUri="missing.json"),
            "Folder": machine(DefinitionUri="src"),
        }
    )
    with pytest.raises(PackagingError) as caught:
        read_local_definitions(template, project)
    broken, missing, folder = caught.value.problems
    assert broken.startswith(f"Resources/Broken/Properties/DefinitionUri: {project / 'broken.json'}:3:")
    assert "'missing.json' does not exist" in missing
    assert "'src' is not a file" in folder
    del template["Resources"]["Broken"], template["Resources"]["Folder"]
    assert read_local_definitions(template, project, allow_missing=True) == {}


def test_read_local_definitions_returns_plain_data(project: Path) -> None:
    template = sam({"Sm": machine(DefinitionUri=SM_FILE)})
    definitions = read_local_definitions(template, project)
    assert json.loads(json.dumps(definitions)) == definitions


# --- the shared corpus --------------------------------------------------------------------------

# Templates whose definition files cannot all be read, and why.
CORPUS_DEFINITION_FAILURES = {
    # DefinitionUri says StateMachine.asl.json; the file is stateMachine.asl.json.
    "aws-samples__serverless-patterns/sfn-lambda/template.yaml": (
        "'statemachine/StateMachine.asl.json' does not exist"
    ),
    # The template itself does not load (two resources named VPC).
    "aws-samples__step-functions-workflows-collection/cqrs/template.yaml": (
        "duplicate key 'VPC' (first written at line 185)"
    ),
}


def _corpus_templates() -> list[str]:
    return [row["path"] for row in corpus_rows()] or ["(no corpus)"]


@pytest.mark.parametrize("relative", _corpus_templates())
def test_corpus_local_definitions_are_readable(shared_corpus: Path, relative: str) -> None:
    path = shared_corpus / relative
    expected_failure = CORPUS_DEFINITION_FAILURES.get(relative)
    if expected_failure is not None:
        with pytest.raises(InputError, match=re.escape(expected_failure)):
            read_local_definitions(load_template(path), path.parent)
        return
    template = load_template(path)
    definitions = read_local_definitions(template, path.parent)
    for logical_id, definition in definitions.items():
        assert isinstance(definition.get("States"), dict), logical_id
    if relative == "alexcasalboni__aws-lambda-power-tuning/template.yml":
        # The file is JSON only once ${totalExecutionTimeout} is substituted.
        initializer = definitions["powerTuningStateMachine"]["States"]["Initializer"]
        assert initializer["TimeoutSeconds"] == "${totalExecutionTimeout}"


def test_corpus_definition_count(shared_corpus: Path) -> None:
    total = 0
    for relative in _corpus_templates():
        if relative in CORPUS_DEFINITION_FAILURES:
            continue
        path = shared_corpus / relative
        total += len(read_local_definitions(load_template(path), path.parent))
    assert total == 42
