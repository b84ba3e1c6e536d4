"""Versions and functions: adoption in one deploy (the function's Description carries its version's
fingerprint marker), what the fingerprint follows (code content, selected mapping entries), retained
functions, and the report entries that go with them."""

from __future__ import annotations

import copy
import json
import re
from typing import Any

import pytest

from sfn_exact_version.transform import TransformResult, transform
from sfn_exact_version.versions import DESCRIPTION_LIMIT, MARKER, own_description
from support import getatt, invoke, machine, role, statement, states, transformed

KWARGS: dict[str, Any] = {"parameter_values": {}, "region": "eu-west-1", "account_id": "123456789012"}
MARKER_TEXT = re.compile(r"\[SfnExactVersion ([0-9a-f]{16})\]$")


def _template(**function_properties: Any) -> dict[str, Any]:
    """A function called by one state machine through ``GetAtt Hello.Arn``; its role allows the ARN."""
    properties = {
        "Role": {"Fn::GetAtt": ["FnRole", "Arn"]},
        "Handler": "app.handler",
        "Runtime": "python3.12",
        "Code": {"S3Bucket": "artifacts", "S3Key": "hello.zip"},
        **function_properties,
    }
    return {
        "Resources": {
            "FnRole": {"Type": "AWS::IAM::Role", "Properties": {"AssumeRolePolicyDocument": {}}},
            "Hello": {"Type": "AWS::Lambda::Function", "Properties": properties},
            "SmRole": role(statement(getatt("Hello"))),
            "Sm": machine(states(Call=invoke(getatt("Hello"))), RoleArn=getatt("SmRole")),
        }
    }


def _with_version(template: dict[str, Any], logical_id: str = "HelloVersion", **extra: Any) -> dict[str, Any]:
    """The same template with one existing version of Hello (as SAM, CDK or Serverless write it)."""
    template = copy.deepcopy(template)
    template["Resources"][logical_id] = {
        "Type": "AWS::Lambda::Version",
        "Properties": {"FunctionName": {"Ref": "Hello"}, **extra},
    }
    return template


def _run(template: dict[str, Any], **kwargs: Any) -> TransformResult:
    return transformed(template, **{**KWARGS, **kwargs})


def _marker(value: Any) -> str | None:
    if isinstance(value, dict):  # {"Fn::Join": ["", [X, " [SfnExactVersion ...]"]]}
        value = value["Fn::Join"][1][-1]
    found = MARKER_TEXT.search(value) if isinstance(value, str) else None
    return found.group(1) if found else None


def _function(result: TransformResult) -> dict[str, Any]:
    return result.template["Resources"]["Hello"]  # type: ignore[no-any-return]


def _version(result: TransformResult) -> tuple[str, dict[str, Any]]:
    (change,) = result.report.versions
    return change.version, result.template["Resources"][change.version]


def _digest(template: dict[str, Any], **kwargs: Any) -> str:
    (change,) = transform(template, **{**KWARGS, **kwargs}).report.versions
    return change.fingerprint


# ------------------------------------------------------------------------------ D1: adoption
@pytest.mark.parametrize("existing", [False, True], ids=["created", "adopted"])
def test_function_description_carries_the_version_marker(existing: bool) -> None:
    template = _template()
    if existing:
        template = _with_version(template)
    result = _run(template)
    version_id, version = _version(result)
    function_marker = _marker(_function(result)["Properties"]["Description"])
    assert function_marker is not None
    assert function_marker == _marker(version["Properties"]["Description"])
    assert function_marker == result.report.versions[0].fingerprint[:16]
    assert result.template["Resources"]["Sm"]["Properties"]["Definition"]["States"]["Call"]["Parameters"][
        "FunctionName"
    ] == {"Ref": version_id}


def test_users_description_is_kept_before_the_marker() -> None:
    result = _run(_template(Description="Greets people"))
    description = _function(result)["Properties"]["Description"]
    assert description.startswith("Greets people [SfnExactVersion ")
    assert own_description(description) == "Greets people"


def test_the_users_description_is_part_of_the_fingerprint_and_the_marker_is_not() -> None:
    plain = _digest(_template(Description="Greets people"))
    assert plain != _digest(_template(Description="Greets everyone"))
    marked = _run(_template(Description="Greets people")).template
    assert _digest(marked) == plain  # the output's marker is stripped before hashing


def test_long_description_is_cut_to_lambdas_limit_with_a_warning() -> None:
    text = "x" * 300
    result = _run(_template(Description=text))
    description = _function(result)["Properties"]["Description"]
    assert len(description) == DESCRIPTION_LIMIT
    assert description.startswith("x" * 200)
    assert MARKER.search(description)
    assert any("Resources/Hello/Properties/Description: shortened" in w for w in result.report.warnings)
    # a second run reports the same, and changes nothing
    again = transform(result.template, **KWARGS)
    assert again.template == result.template
    assert again.report.warnings == result.report.warnings


def test_intrinsic_description_is_joined_with_the_marker() -> None:
    template = _template(Description={"Fn::Sub": "Greets in ${AWS::Region}"})
    result = _run(template)
    description = _function(result)["Properties"]["Description"]
    assert description["Fn::Join"][0] == ""
    assert description["Fn::Join"][1][0] == {"Fn::Sub": "Greets in ${AWS::Region}"}
    assert _marker(description) == _marker(_version(result)[1]["Properties"]["Description"])


def test_transforming_the_output_changes_nothing_and_is_deterministic() -> None:
    for template in (
        _template(),
        _template(Description="  spaced  "),
        _with_version(_template(Description="x" * 256), Description="release 3"),
    ):
        first = transform(template, **KWARGS)
        assert json.dumps(transform(template, **KWARGS).template) == json.dumps(first.template)
        second = transform(first.template, **KWARGS)
        assert second.template == first.template
        assert second.report.to_dict() == first.report.to_dict()


NOT_VERSIONED_CHANGES = {
    "Tags": [{"Key": "team", "Value": "payments"}],
    "ReservedConcurrentExecutions": 5,
    "CodeSigningConfigArn": "arn:aws:lambda:eu-west-1:123456789012:code-signing-config:csc-1",
    "TenancyConfig": {"TenantIsolationMode": "PER_TENANT"},
}

VERSIONED_CHANGES = {
    "Timeout": 30,
    "Handler": "app.other",
    "Runtime": "python3.13",
    "Layers": ["arn:aws:lambda:eu-west-1:123456789012:layer:shared:3"],
}


@pytest.mark.parametrize("prop", sorted(NOT_VERSIONED_CHANGES))
def test_unversioned_change_publishes_nothing(prop: str) -> None:
    """Adopted SAM-style version: the same marker, so neither the version nor the function's
    Description changes, and CloudFormation asks Lambda to publish nothing."""
    before = _run(_with_version(_template()))
    after = _run(_with_version(_template(**{prop: NOT_VERSIONED_CHANGES[prop]})))
    assert _version(after) == _version(before)
    assert _function(after)["Properties"]["Description"] == _function(before)["Properties"]["Description"]


@pytest.mark.parametrize("prop", sorted(VERSIONED_CHANGES))
def test_versioned_change_publishes_with_the_function_changed_too(prop: str) -> None:
    before = _run(_with_version(_template()))
    after = _run(_with_version(_template(**{prop: VERSIONED_CHANGES[prop]})))
    assert _version(after)[1] != _version(before)[1]  # the version is replaced (new Description) ...
    assert _function(after)["Properties"]["Description"] != _function(before)["Properties"]["Description"]


def test_opted_out_function_description_is_left_alone() -> None:
    template = _template(Description="mine")
    template["Resources"]["Hello"]["Metadata"] = {"SfnExactVersion": {"Pin": False}}
    result = _run(template)
    assert _function(result)["Properties"]["Description"] == "mine"
    assert result.report.versions == []


# ------------------------------------------------------------------------------ code content
def test_code_sha256_of_the_only_version_is_followed_instead_of_the_key() -> None:
    """The Serverless Framework shape: timestamped key, version with CodeSha256."""
    first = _with_version(
        _template(
            Code={
                "S3Bucket": "b",
                "S3Key": "serverless/svc/dev/1796156448633-2026-12-01T20:20:48.633Z/svc.zip",
            }
        ),
        CodeSha256="tIGAMQDEgBh16LWCYGC1UOtyDAAY/fPVyflTfgC9s5Q=",
    )
    repacked = copy.deepcopy(first)
    repacked["Resources"]["Hello"]["Properties"]["Code"]["S3Key"] = (
        "serverless/svc/dev/1796156459392-2026-12-01T20:20:59.392Z/svc.zip"
    )
    assert _digest(repacked) == _digest(first)
    changed = copy.deepcopy(repacked)
    changed["Resources"]["HelloVersion"]["Properties"]["CodeSha256"] = "other="
    assert _digest(changed) != _digest(first)
    assert not any("timestamped" in w for w in _run(first).report.warnings)


def test_content_named_key_is_followed_whatever_the_bucket_or_prefix() -> None:
    asset = "b5c2a7158e57582e84496b24c0499302cec1fd88624535b3dfb629311b3fdc2a.zip"
    first = _template(
        Code={"S3Bucket": {"Fn::Sub": "cdk-hnb659fds-assets-${AWS::AccountId}"}, "S3Key": asset}
    )
    moved = _template(Code={"S3Bucket": "other-bucket", "S3Key": "prefix/" + asset})
    assert _digest(moved) == _digest(first)
    other = _template(Code={"S3Bucket": "other-bucket", "S3Key": "0" * 64 + ".zip"})
    assert _digest(other) != _digest(first)
    sam_md5 = _template(Code={"S3Bucket": "b", "S3Key": "app/0123456789abcdef0123456789abcdef"})
    assert _digest(sam_md5) == _digest(
        _template(Code={"S3Bucket": "c", "S3Key": "0123456789abcdef0123456789abcdef"})
    )


def test_another_key_for_unknown_content_publishes_cleanly() -> None:
    """Same code under another plain key: a new identity, and the function's Description changes with
    it, so Lambda publishes (the Description is version-locked)."""
    first = _run(_with_version(_template(Code={"S3Bucket": "b", "S3Key": "build-1/hello.zip"})))
    second = _run(_with_version(_template(Code={"S3Bucket": "b", "S3Key": "build-2/hello.zip"})))
    assert _version(first)[1] != _version(second)[1]
    assert _function(first)["Properties"]["Description"] != _function(second)["Properties"]["Description"]


def test_timestamped_location_is_reported_naming_the_function() -> None:
    key = "serverless/svc/dev/1796156448633-2026-12-01T20:20:48.633Z/svc.zip"
    result = _run(_template(Code={"S3Bucket": "b", "S3Key": key}))
    (warning,) = [w for w in result.report.warnings if "timestamped" in w]
    assert warning.startswith("Resources/Hello/Properties/Code/S3Key:")
    assert "versionFunctions: true" in warning


# ------------------------------------------------------------------------------ mappings
def _mapped(**kwargs: Any) -> dict[str, Any]:
    template = _template(MemorySize={"Fn::FindInMap": ["Stages", {"Ref": "Stage"}, "Memory"]})
    template["Parameters"] = {"Stage": {"Type": "String", "Default": "dev"}}
    template["Mappings"] = {"Stages": {"dev": {"Memory": 128}, "prod": {"Memory": 1024}}, **kwargs}
    return template


def test_find_in_map_follows_only_the_selected_entry() -> None:
    base = _mapped()
    prod_changed = copy.deepcopy(base)
    prod_changed["Mappings"]["Stages"]["prod"]["Memory"] = 2048
    dev_changed = copy.deepcopy(base)
    dev_changed["Mappings"]["Stages"]["dev"]["Memory"] = 256
    dev = {"parameter_values": {"Stage": "dev"}}
    prod = {"parameter_values": {"Stage": "prod"}}
    assert _digest(prod_changed, **dev) == _digest(base, **dev)
    assert _digest(prod_changed) == _digest(base)  # the Default selects dev too
    assert _digest(dev_changed, **dev) != _digest(base, **dev)
    assert _digest(prod_changed, **prod) != _digest(base, **prod)


def test_find_in_map_on_the_region_uses_the_transforms_region() -> None:
    template = _template(MemorySize={"Fn::FindInMap": ["Regions", {"Ref": "AWS::Region"}, "Memory"]})
    template["Mappings"] = {"Regions": {"eu-west-1": {"Memory": 128}, "us-east-1": {"Memory": 256}}}
    other = copy.deepcopy(template)
    other["Mappings"]["Regions"]["us-east-1"]["Memory"] = 512
    assert _digest(other, region="eu-west-1") == _digest(template, region="eu-west-1")
    assert _digest(other, region="us-east-1") != _digest(template, region="us-east-1")
    assert _digest(other, region=None) != _digest(template, region=None)  # unknown Region: whole mapping


@pytest.mark.parametrize(
    "key",
    [{"Fn::Select": [0, ["dev", "prod"]]}, {"Ref": "Secret"}],
    ids=["computed", "noecho"],
)
def test_find_in_map_with_an_unresolved_key_follows_the_whole_mapping(key: Any) -> None:
    template = _template(MemorySize={"Fn::FindInMap": ["Stages", key, "Memory"]})
    template["Parameters"] = {"Secret": {"Type": "String", "NoEcho": True, "Default": "dev"}}
    template["Mappings"] = {"Stages": {"dev": {"Memory": 128}, "prod": {"Memory": 1024}}}
    other = copy.deepcopy(template)
    other["Mappings"]["Stages"]["prod"]["Memory"] = 2048
    assert _digest(other) != _digest(template)


# ------------------------------------------------------------------------------ D2: retained functions
def test_called_function_is_retained_and_reported() -> None:
    result = _run(_template())
    function = _function(result)
    assert (function["DeletionPolicy"], function["UpdateReplacePolicy"]) == ("Retain", "Retain")
    report = result.template["Metadata"]["SfnExactVersion"]
    assert report["Functions"] == [
        {
            "Function": "Hello",
            "DeletionPolicy": "Retain",
            "UpdateReplacePolicy": "Retain",
            "ExecutionRole": "FnRole",
        }
    ]
    assert result.report.summary()["functionsRetained"] == 1


def test_a_retained_function_keeps_its_execution_role() -> None:
    # Lambda cannot run a function whose role is gone: SAM's <Fn>Role leaves the template with <Fn>.
    result = _run(_template())
    role = result.template["Resources"]["FnRole"]
    assert (role["DeletionPolicy"], role["UpdateReplacePolicy"]) == ("Retain", "Retain")


def test_an_explicit_choice_on_the_execution_role_is_kept_with_a_warning() -> None:
    template = _template()
    template["Resources"]["FnRole"]["DeletionPolicy"] = "Delete"
    result = _run(template)
    role = result.template["Resources"]["FnRole"]
    assert (role["DeletionPolicy"], role["UpdateReplacePolicy"]) == ("Delete", "Retain")
    (warning,) = [w for w in result.report.warnings if w.startswith("Resources/FnRole: DeletionPolicy")]
    assert "execution role of Hello" in warning


def test_no_role_is_retained_for_a_function_that_gives_retention_up() -> None:
    template = _template()
    template["Resources"]["Hello"]["Metadata"] = {"SfnExactVersion": {"RetainFunction": False}}
    role = _run(template).template["Resources"]["FnRole"]
    assert "DeletionPolicy" not in role and "UpdateReplacePolicy" not in role


def test_explicit_other_choice_is_kept_with_a_warning() -> None:
    template = _template()
    template["Resources"]["Hello"]["DeletionPolicy"] = "Delete"
    result = _run(template)
    function = _function(result)
    assert (function["DeletionPolicy"], function["UpdateReplacePolicy"]) == ("Delete", "Retain")
    (warning,) = [w for w in result.report.warnings if w.startswith("Resources/Hello: DeletionPolicy")]
    assert "deletes all its versions" in warning
    assert result.report.summary()["functionsRetained"] == 0


def test_retain_function_false_opts_out_and_is_reported() -> None:
    template = _template()
    template["Resources"]["Hello"]["Metadata"] = {"SfnExactVersion": {"RetainFunction": False}}
    result = _run(template)
    assert "DeletionPolicy" not in _function(result)
    assert "UpdateReplacePolicy" not in _function(result)
    assert result.template["Metadata"]["SfnExactVersion"]["Functions"] == [
        {
            "Function": "Hello",
            "DeletionPolicy": "Delete",
            "UpdateReplacePolicy": "Delete",
            "RetainFunction": False,
        }
    ]
    assert result.report.versions  # still pinned: only the function's retention is given up


def test_function_not_called_is_not_retained() -> None:
    template = _template()
    template["Resources"]["Other"] = copy.deepcopy(template["Resources"]["Hello"])
    result = _run(template)
    assert "DeletionPolicy" not in result.template["Resources"]["Other"]
    assert "Description" not in result.template["Resources"]["Other"]["Properties"]


# ------------------------------------------------------------------------------ provisioned concurrency
def test_provisioned_concurrency_on_a_retained_version_is_warned() -> None:
    template = _with_version(_template(), ProvisionedConcurrencyConfig={"ProvisionedConcurrentExecutions": 2})
    result = _run(template)
    assert any(
        w.startswith("Resources/HelloVersion/Properties/ProvisionedConcurrencyConfig:") and "billed" in w
        for w in result.report.warnings
    )


def test_provisioned_concurrency_on_an_alias_is_warned() -> None:
    template = _with_version(_template())
    template["Resources"]["HelloAliaslive"] = {
        "Type": "AWS::Lambda::Alias",
        "Properties": {
            "Name": "live",
            "FunctionName": {"Ref": "Hello"},
            "FunctionVersion": {"Fn::GetAtt": ["HelloVersion", "Version"]},
            "ProvisionedConcurrencyConfig": {"ProvisionedConcurrentExecutions": 2},
        },
    }
    result = _run(template)
    assert any(
        w.startswith("Resources/HelloAliaslive/Properties/ProvisionedConcurrencyConfig:")
        for w in result.report.warnings
    )
    assert not any(
        "Resources/HelloVersion/Properties/ProvisionedConcurrencyConfig" in w for w in result.report.warnings
    )


def test_a_new_identity_of_an_existing_version_changes_the_function_too() -> None:
    """SAM names its version after a hash of the code's location, CDK after the function's properties:
    the same code moved to another bucket gives a new version resource (so a publish) while the code's
    content, and so the rest of the fingerprint, is unchanged. The function must change with it."""
    asset = {"S3Bucket": "bucket-a", "S3Key": "0123456789abcdef0123456789abcdef"}
    moved = {"S3Bucket": "bucket-b", "S3Key": "0123456789abcdef0123456789abcdef"}
    first = _run(_with_version(_template(Code=asset), "HelloVersion0defaefe45"))
    second = _run(_with_version(_template(Code=moved), "HelloVersion1a2b3c4d5e"))
    assert _function(first)["Properties"]["Description"] != _function(second)["Properties"]["Description"]
    # the user's own text on the version replaces it too
    noted = _run(_with_version(_template(Code=asset), "HelloVersion0defaefe45", Description="release 4"))
    assert _function(noted)["Properties"]["Description"] != _function(first)["Properties"]["Description"]
    # and an unchanged template keeps everything as it was
    again = _run(_with_version(_template(Code=moved), "HelloVersion1a2b3c4d5e"))
    assert again.template == second.template


@pytest.mark.parametrize("description", [2, 1.5, True])
def test_a_number_or_boolean_description_becomes_text_before_the_marker(description: Any) -> None:
    result = _run(_template(Description=description))
    text = _function(result)["Properties"]["Description"]
    assert isinstance(text, str)
    assert text.startswith(json.dumps(description) + " [SfnExactVersion ")


def test_conditional_description_gets_the_marker_in_each_branch() -> None:
    """A branch may be AWS::NoValue (no Description at all): it becomes the marker alone, so the
    function carries the marker whichever way the condition goes."""
    template = _template(Description={"Fn::If": ["IsProd", "Production greeter", {"Ref": "AWS::NoValue"}]})
    template["Parameters"] = {"Stage": {"Type": "String", "Default": "dev"}}
    template["Conditions"] = {"IsProd": {"Fn::Equals": [{"Ref": "Stage"}, "prod"]}}
    result = _run(template)
    marker = _version(result)[1]["Properties"]["Description"]
    assert _function(result)["Properties"]["Description"] == {
        "Fn::If": ["IsProd", f"Production greeter {marker}", marker]
    }
    other = copy.deepcopy(template)
    other["Resources"]["Hello"]["Properties"]["Description"]["Fn::If"][1] = "Greeter"
    assert _digest(other) != _digest(template)


def test_computed_description_too_long_with_this_deploys_values_is_warned() -> None:
    template = _template(Description={"Fn::Sub": "Greets ${Audience}"})
    template["Parameters"] = {"Audience": {"Type": "String", "Default": "people"}}
    assert not [w for w in _run(template).report.warnings if "characters with the fingerprint" in w]
    result = _run(template, parameter_values={"Audience": "x" * 220})
    (warning,) = [w for w in result.report.warnings if "characters with the fingerprint" in w]
    assert warning.startswith("Resources/Hello/Properties/Description: with this deploy's parameter values")
    assert f"it is {len('Greets ') + 220 + 1 + 34} characters" in warning
    assert "x" * 20 not in warning  # the value itself is never repeated
    secret = copy.deepcopy(template)
    secret["Parameters"]["Audience"]["NoEcho"] = True
    assert not [
        w
        for w in _run(secret, parameter_values={"Audience": "x" * 220}).report.warnings
        if "characters with the fingerprint" in w
    ]
