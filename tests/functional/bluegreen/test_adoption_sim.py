"""Adopting the macro on a stack whose function already has a published version, on the offline
simulation (which refuses to publish a version of an unchanged function, as CloudFormation does).

Day 0 is deployed without the macro (one version, with the retention policies SAM's
``AutoPublishAlias``, CDK's ``currentVersion`` or a careful hand-written template give it); Day 1 is the
same template through the macro. The adoption deploy
succeeds because the function's Description carries the version's marker; without it (negative control)
it fails with "A version for this Lambda function exists". After adoption, a tags-only change publishes
nothing and a Timeout-only change publishes a version, whatever tool wrote Day 0's version. (With the SAM
and CDK shapes, the simulation applies the previous deploy's UpdateReplacePolicy to the adoption's
replacement, so version 1 is deleted; the next version is still 3: Lambda never reuses a number.)
"""

from __future__ import annotations

import copy
import io
import zipfile
from typing import Any

import pytest
from sim.bluegreen_sim import SimulationError
from sim.stack import SimStack

from sfn_exact_version.transform import transform
from support import getatt, invoke, machine, role, statement, states

KWARGS: dict[str, Any] = {"region": "us-east-1", "account_id": "123456789012"}


@pytest.fixture
def clients(clients: dict[str, Any]) -> dict[str, Any]:
    """The simulation of ``conftest.py``, with Day 0's code as ``code/one.zip``."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("app.py", "def handler(event, context):\n    return 'one'\n")
    clients["s3"].put_object(Bucket="code", Key="one.zip", Body=buffer.getvalue())
    return clients


# The version's retention policies as each tool writes them: SAM AutoPublishAlias (DeletionPolicy only),
# CDK currentVersion (none by default), and a careful hand-written version (both).
SHAPES = {
    "sam": {"DeletionPolicy": "Retain"},
    "cdk": {},
    "hand-written": {"DeletionPolicy": "Retain", "UpdateReplacePolicy": "Retain"},
}


def _day0(shape: str = "hand-written", **function_properties: Any) -> dict[str, Any]:
    """A function with one version (SAM's logical ID; the policies of ``shape``), called unqualified by a
    state machine whose role allows the function's ARN."""
    template = {
        "Resources": {
            "Role": {
                "Type": "AWS::IAM::Role",
                "Properties": {"AssumeRolePolicyDocument": {"Version": "2012-10-17", "Statement": []}},
            },
            "Fn": {
                "Type": "AWS::Lambda::Function",
                "Properties": {
                    "Code": {"S3Bucket": "code", "S3Key": "one.zip"},
                    "Handler": "app.handler",
                    "Runtime": "python3.13",
                    "Role": {"Fn::GetAtt": ["Role", "Arn"]},
                    **function_properties,
                },
            },
            "FnVersion0defaefe45": {
                "Type": "AWS::Lambda::Version",
                **SHAPES[shape],
                "Properties": {"FunctionName": {"Ref": "Fn"}},
            },
            "SmRole": role(statement(getatt("Fn"))),
            "Sm": machine(states(Call=invoke(getatt("Fn"))), RoleArn=getatt("SmRole")),
        }
    }
    return template


def _macro(template: dict[str, Any]) -> dict[str, Any]:
    return transform(template, **KWARGS).template


def _versions(clients: dict[str, Any], stack: SimStack) -> list[str]:
    listed = clients["lambda"].list_versions_by_function(FunctionName=stack.ref("Fn"))["Versions"]
    return sorted(v["Version"] for v in listed if v["Version"] != "$LATEST")


def test_adoption_is_one_deploy_and_later_changes_publish_as_lambda_does(clients: dict[str, Any]) -> None:
    stack = SimStack("adopt", clients)
    stack.deploy(_day0())
    assert _versions(clients, stack) == ["1"]

    stack.deploy(_macro(_day0()))  # Day 1: the same template, adopted
    assert _versions(clients, stack) == ["1", "2"]

    tags = {"Tags": [{"Key": "team", "Value": "payments"}]}
    stack.deploy(_macro(_day0(**tags)))
    assert _versions(clients, stack) == ["1", "2"]  # nothing to publish, and nothing asked

    stack.deploy(_macro(_day0(**tags, Timeout=30)))
    assert _versions(clients, stack) == ["1", "2", "3"]


@pytest.mark.parametrize("shape", sorted(SHAPES))
def test_adoption_is_one_deploy_whatever_tool_wrote_the_version(clients: dict[str, Any], shape: str) -> None:
    stack = SimStack("adopt", clients)
    stack.deploy(_day0(shape))
    report = stack.deploy(_macro(_day0(shape)))
    assert "FnVersion0defaefe45" in report.replaced
    assert _versions(clients, stack)[-1] == "2"  # published: the same code, a new version
    tags = {"Tags": [{"Key": "team", "Value": "payments"}]}
    stack.deploy(_macro(_day0(shape, **tags)))
    assert _versions(clients, stack)[-1] == "2"
    stack.deploy(_macro(_day0(shape, **tags, Timeout=30)))
    assert _versions(clients, stack)[-1] == "3"


def test_adoption_without_the_function_marker_fails_as_cloudformation_does(clients: dict[str, Any]) -> None:
    """Negative control: the version's new Description alone replaces it while the function is unchanged."""
    stack = SimStack("adopt", clients)
    stack.deploy(_day0())
    day1 = copy.deepcopy(_macro(_day0()))
    del day1["Resources"]["Fn"]["Properties"]["Description"]
    with pytest.raises(SimulationError, match="A version for this Lambda function exists"):
        stack.deploy(day1)
