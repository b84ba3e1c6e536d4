"""The simulation's own parts: the IAM evaluator, the resolver, and the deployer's fidelity to CloudFormation.

If these were wrong, the story tests could pass for the wrong reason.
"""

from __future__ import annotations

import io
import zipfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

REPO_ROOT = Path(__file__).resolve().parents[3]

from sim.bluegreen_sim import MotoVersionError, SimulationError, policy_allows, require_moto  # noqa: E402
from sim.stack import SimStack, dependency_order, substitute_definition  # noqa: E402

FN = "arn:aws:lambda:us-east-1:123456789012:function:hello"
INVOKE = "lambda:InvokeFunction"


def _policy(*statements: dict[str, Any]) -> list[dict[str, Any]]:
    return [{"Version": "2012-10-17", "Statement": list(statements)}]


def _allow(resource: Any, action: Any = INVOKE, **extra: Any) -> dict[str, Any]:
    return {"Effect": "Allow", "Action": action, "Resource": resource, **extra}


# --- IAM evaluator --------------------------------------------------------------------------------


def test_unqualified_arn_does_not_cover_a_version() -> None:
    assert policy_allows(_policy(_allow(FN)), INVOKE, FN)
    assert not policy_allows(_policy(_allow(FN)), INVOKE, f"{FN}:1")


def test_version_wildcard_covers_every_version_but_not_other_functions() -> None:
    documents = _policy(_allow([FN, f"{FN}:*"]))
    assert policy_allows(documents, INVOKE, f"{FN}:1")
    assert policy_allows(documents, INVOKE, f"{FN}:42")
    assert not policy_allows(documents, INVOKE, f"{FN}-other:1")


def test_sam_lambda_invoke_policy_shape_covers_versions() -> None:
    assert policy_allows(_policy(_allow(f"{FN}*")), INVOKE, f"{FN}:3")


def test_actions_match_case_insensitively_with_wildcards() -> None:
    assert policy_allows(_policy(_allow(FN, action="Lambda:invoke*")), INVOKE, FN)
    assert policy_allows(_policy(_allow(FN, action="*")), INVOKE, FN)
    assert not policy_allows(_policy(_allow(FN, action="lambda:GetFunction")), INVOKE, FN)


def test_deny_wins_and_conditions_never_allow() -> None:
    deny = {"Effect": "Deny", "Action": INVOKE, "Resource": f"{FN}:1"}
    assert not policy_allows(_policy(_allow("*"), deny), INVOKE, f"{FN}:1")
    assert policy_allows(_policy(_allow("*"), deny), INVOKE, f"{FN}:2")
    conditional = _allow("*", Condition={"StringEquals": {"aws:RequestedRegion": "us-east-1"}})
    assert not policy_allows(_policy(conditional), INVOKE, FN)


def test_not_resource_and_not_action() -> None:
    not_resource = {"Effect": "Allow", "Action": INVOKE, "NotResource": f"{FN}:1"}
    assert policy_allows(_policy(not_resource), INVOKE, f"{FN}:2")
    assert not policy_allows(_policy(not_resource), INVOKE, f"{FN}:1")
    not_action = {"Effect": "Allow", "NotAction": "s3:*", "Resource": "*"}
    assert policy_allows(_policy(not_action), INVOKE, FN)


# --- definitions and ordering --------------------------------------------------------------------


def test_definition_substitutions_replace_only_known_keys() -> None:
    text = '{"FunctionName": "${fn}", "Other": "${unknown}"}'
    assert (
        substitute_definition(text, {"fn": f"{FN}:1"})
        == f'{{"FunctionName": "{FN}:1", "Other": "${{unknown}}"}}'
    )


def test_dependency_order_puts_functions_before_their_versions() -> None:
    resources = {
        "AVersion": {"Type": "AWS::Lambda::Version", "Properties": {"FunctionName": {"Ref": "Fn"}}},
        "Fn": {"Type": "AWS::Lambda::Function", "Properties": {"Role": {"Fn::GetAtt": ["Role", "Arn"]}}},
        "Role": {"Type": "AWS::IAM::Role", "Properties": {}},
        "Sm": {"Type": "X", "Properties": {"P": {"Fn::Sub": "${AVersion}-${Fn.Arn}-${AWS::Region}"}}},
    }
    assert dependency_order(resources) == ["Role", "Fn", "AVersion", "Sm"]


# --- the deployer behaves like CloudFormation where the story depends on it ----------------------


@pytest.fixture
def clients() -> Iterator[dict[str, Any]]:
    try:
        require_moto()
    except MotoVersionError as error:
        pytest.skip(str(error))
    from sim.bluegreen_sim import simulated_aws

    with simulated_aws(managed_policies=False) as clients:
        clients["s3"].create_bucket(Bucket="code")
        yield clients


def _code(clients: dict[str, Any], answer: str) -> dict[str, str]:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("app.py", f"def handler(event, context):\n    return {answer!r}\n")
    clients["s3"].put_object(Bucket="code", Key=answer, Body=buffer.getvalue())
    return {"S3Bucket": "code", "S3Key": answer}


def _template(code: dict[str, str], versions: dict[str, str]) -> dict[str, Any]:
    resources: dict[str, Any] = {
        "Role": {
            "Type": "AWS::IAM::Role",
            "Properties": {"AssumeRolePolicyDocument": {"Version": "2012-10-17", "Statement": []}},
        },
        "Fn": {
            "Type": "AWS::Lambda::Function",
            "Properties": {
                "Code": code,
                "Handler": "app.handler",
                "Runtime": "python3.13",
                "Role": {"Fn::GetAtt": ["Role", "Arn"]},
            },
        },
    }
    for logical_id, deletion_policy in versions.items():
        resources[logical_id] = {
            "Type": "AWS::Lambda::Version",
            "DeletionPolicy": deletion_policy,
            "Properties": {"FunctionName": {"Ref": "Fn"}},
        }
    return {"Resources": resources}


def test_publishing_for_an_unchanged_function_fails_like_cloudformation(clients: dict[str, Any]) -> None:
    stack = SimStack("t", clients)
    code = _code(clients, "one")
    stack.deploy(_template(code, {"V1": "Retain"}))
    with pytest.raises(SimulationError, match="A version for this Lambda function exists"):
        stack.deploy(_template(code, {"V2": "Retain"}))


def test_removed_versions_are_deleted_unless_retained(clients: dict[str, Any]) -> None:
    stack = SimStack("t", clients)
    stack.deploy(_template(_code(clients, "one"), {"Kept": "Retain"}))
    stack.deploy(_template(_code(clients, "two"), {"Kept": "Retain", "Dropped": "Delete"}))
    report = stack.deploy(_template(_code(clients, "three"), {"New": "Retain"}))
    assert (report.retained, report.deleted) == (["Kept"], ["Dropped"])
    versions = clients["lambda"].list_versions_by_function(FunctionName=stack.ref("Fn"))["Versions"]
    assert sorted(v["Version"] for v in versions) == ["$LATEST", "1", "3"]


def test_bridge_runs_the_code_of_the_invoked_version(clients: dict[str, Any]) -> None:
    stack = SimStack("t", clients)
    stack.deploy(_template(_code(clients, "one"), {"V1": "Retain"}))
    stack.deploy(_template(_code(clients, "two"), {"V1": "Retain", "V2": "Retain"}))
    lam = clients["lambda"]
    answers = {
        target: lam.invoke(FunctionName=stack.ref(target))["Payload"].read() for target in ("V1", "V2", "Fn")
    }
    assert answers == {"V1": b'"one"', "V2": b'"two"', "Fn": b'"two"'}
    assert [i.version for i in clients["bridge"].invocations] == ["1", "2", "$LATEST"]


def test_moto_ignores_the_qualifier_parameter_of_invoke(clients: dict[str, Any]) -> None:
    """A known moto 5.2.5 gap (its Invoke reads ``qualifier``, boto3 sends ``Qualifier``).

    The macro pins through ``FunctionName`` (the version's qualified ARN), which moto honours; a call
    that pins with ``Qualifier`` would run ``$LATEST`` in this simulation. If this test starts failing,
    moto fixed it: drop the caveat from examples/blue-green/README.md.
    """
    stack = SimStack("t", clients)
    stack.deploy(_template(_code(clients, "one"), {"V1": "Retain"}))
    stack.deploy(_template(_code(clients, "two"), {"V1": "Retain", "V2": "Retain"}))
    payload = clients["lambda"].invoke(FunctionName=stack.ref("Fn"), Qualifier="1")["Payload"].read()
    assert payload == b'"two"'
