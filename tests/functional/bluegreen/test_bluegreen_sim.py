"""The simulation's own parts: the IAM evaluator, the resolver, Lambda's publishing rule, the role an
execution uses, and the deployer's fidelity to CloudFormation (publishing, Tags, removal and replacement
of functions, RolePolicy, Retain).

If these were wrong, the story tests could pass for the wrong reason.
"""

from __future__ import annotations

import io
import json
import time
import zipfile
from typing import Any

import pytest
from sim.bluegreen_sim import SimulationError, policy_allows
from sim.stack import SimStack, dependency_order, substitute_definition

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
            "UpdateReplacePolicy": deletion_policy,
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


# --- Lambda's publishing rule (not moto's): code hash and version-locked settings -----------------


def _function(clients: dict[str, Any], name: str = "f", answer: str = "one", **config: Any) -> str:
    clients["iam"].create_role(RoleName=f"{name}-role", AssumeRolePolicyDocument="{}")
    clients["lambda"].create_function(
        FunctionName=name,
        Runtime="python3.13",
        Handler="app.handler",
        Role=f"arn:aws:iam::123456789012:role/{name}-role",
        Code=_code(clients, answer),
        **config,
    )
    return name


def _publish(clients: dict[str, Any], name: str, **kwargs: Any) -> str:
    return str(clients["lambda"].publish_version(FunctionName=name, **kwargs)["Version"])


def test_publish_rule_first_publish_always_publishes(clients: dict[str, Any]) -> None:
    name = _function(clients)
    assert _publish(clients, name) == "1"
    assert _publish(clients, name) == "1", "nothing changed: Lambda returns the latest version"


def test_publish_rule_same_code_under_another_key_publishes_nothing(clients: dict[str, Any]) -> None:
    lam, name = clients["lambda"], _function(clients)
    _publish(clients, name)
    body = clients["s3"].get_object(Bucket="code", Key="one")["Body"].read()
    clients["s3"].put_object(Bucket="code", Key="build-2/one", Body=body)
    lam.update_function_code(FunctionName=name, S3Bucket="code", S3Key="build-2/one")
    assert _publish(clients, name) == "1", "moto would publish 2 here; Lambda compares CodeSha256"


def test_publish_rule_setting_a_value_it_already_has_publishes_nothing(clients: dict[str, Any]) -> None:
    lam, name = clients["lambda"], _function(clients, Timeout=10)
    _publish(clients, name)
    lam.update_function_configuration(FunctionName=name, Timeout=10)
    assert _publish(clients, name) == "1"


@pytest.mark.parametrize(
    "change",
    [
        {"Timeout": 20},
        {"MemorySize": 256},
        {"Handler": "app.other"},
        {"Description": "any text, e.g. a marker"},
        {"Environment": {"Variables": {"A": "1"}}},
    ],
    ids=lambda change: next(iter(change)),
)
def test_publish_rule_version_locked_settings_publish(
    clients: dict[str, Any], change: dict[str, Any]
) -> None:
    lam, name = clients["lambda"], _function(clients, Timeout=10)
    _publish(clients, name)
    lam.update_function_configuration(FunctionName=name, **change)
    assert _publish(clients, name) == "2"


def test_publish_rule_new_code_publishes(clients: dict[str, Any]) -> None:
    lam, name = clients["lambda"], _function(clients)
    _publish(clients, name)
    lam.update_function_code(FunctionName=name, **_code(clients, "two"))
    assert _publish(clients, name) == "2"


def test_publish_rule_tags_and_reserved_concurrency_publish_nothing(clients: dict[str, Any]) -> None:
    lam, name = clients["lambda"], _function(clients)
    _publish(clients, name)
    arn = lam.get_function(FunctionName=name)["Configuration"]["FunctionArn"]
    lam.tag_resource(Resource=arn, Tags={"team": "blue"})
    lam.put_function_concurrency(FunctionName=name, ReservedConcurrentExecutions=5)
    assert _publish(clients, name) == "1"


def test_publish_rule_a_versions_own_description_is_not_a_change(clients: dict[str, Any]) -> None:
    name = _function(clients)
    assert _publish(clients, name, Description="first") == "1"
    assert _publish(clients, name, Description="second") == "1"


def test_publish_rule_compares_with_the_latest_version(clients: dict[str, Any]) -> None:
    lam, name = clients["lambda"], _function(clients)
    _publish(clients, name)
    lam.update_function_code(FunctionName=name, **_code(clients, "two"))
    _publish(clients, name)
    lam.update_function_code(FunctionName=name, **_code(clients, "one"))
    assert _publish(clients, name) == "3", "back to version 1's code still differs from version 2"


# --- the deployer: publishing, Tags, removal and replacement of functions, RolePolicy -------------


def _fn_template(
    code: dict[str, str],
    versions: dict[str, str],
    *,
    function: dict[str, Any] | None = None,
    function_attributes: dict[str, Any] | None = None,
    extra: dict[str, Any] | None = None,
) -> dict[str, Any]:
    template = _template(code, versions)
    template["Resources"]["Fn"]["Properties"].update(function or {})
    template["Resources"]["Fn"].update(function_attributes or {})
    template["Resources"].update(extra or {})
    return template


def _versions(clients: dict[str, Any], name: str) -> list[str]:
    listed = clients["lambda"].list_versions_by_function(FunctionName=name)["Versions"]
    return sorted(v["Version"] for v in listed if v["Version"] != "$LATEST")


def test_deploy_same_code_under_another_key_with_a_new_version_fails(clients: dict[str, Any]) -> None:
    stack = SimStack("t", clients)
    stack.deploy(_template(_code(clients, "one"), {"V1": "Retain"}))
    body = clients["s3"].get_object(Bucket="code", Key="one")["Body"].read()
    clients["s3"].put_object(Bucket="code", Key="build-2/one", Body=body)
    moved = {"S3Bucket": "code", "S3Key": "build-2/one"}
    with pytest.raises(SimulationError, match=r"A version for this Lambda function exists \(1\)"):
        stack.deploy(_template(moved, {"V1": "Retain", "V2": "Retain"}))


def test_deploy_tags_only_with_a_new_version_fails(clients: dict[str, Any]) -> None:
    stack, code = SimStack("t", clients), _code(clients, "one")
    stack.deploy(_fn_template(code, {"V1": "Retain"}))
    tagged = _fn_template(
        code, {"V1": "Retain", "V2": "Retain"}, function={"Tags": [{"Key": "k", "Value": "v"}]}
    )
    with pytest.raises(SimulationError, match="A version for this Lambda function exists"):
        stack.deploy(tagged)


def test_deploy_tags_only_updates_tags_and_publishes_nothing(clients: dict[str, Any]) -> None:
    stack, code = SimStack("t", clients), _code(clients, "one")
    stack.deploy(_fn_template(code, {"V1": "Retain"}, function={"Tags": [{"Key": "a", "Value": "1"}]}))
    report = stack.deploy(
        _fn_template(code, {"V1": "Retain"}, function={"Tags": [{"Key": "b", "Value": "2"}]})
    )
    arn = stack.get_att("Fn", "Arn")
    tags = clients["lambda"].list_tags(Resource=arn)["Tags"]
    assert (tags.get("a"), tags["b"], tags["aws:cloudformation:logical-id"]) == (None, "2", "Fn")
    assert report.updated == ["Fn"] and not any("Publish" in op for op in report.operations)
    assert _versions(clients, stack.ref("Fn")) == ["1"]


def test_deploy_timeout_only_with_a_new_version_publishes(clients: dict[str, Any]) -> None:
    stack, code = SimStack("t", clients), _code(clients, "one")
    stack.deploy(_fn_template(code, {"V1": "Retain"}, function={"Timeout": 10}))
    stack.deploy(_fn_template(code, {"V1": "Retain", "V2": "Retain"}, function={"Timeout": 20}))
    assert stack.get_att("V2", "Version") == "2"


def test_deploy_code_sha256_must_match(clients: dict[str, Any]) -> None:
    stack, code = SimStack("t", clients), _code(clients, "one")
    template = _template(code, {"V1": "Retain"})
    template["Resources"]["V1"]["Properties"]["CodeSha256"] = "not-the-hash"
    with pytest.raises(SimulationError, match="CodeSha256 not-the-hash does not match"):
        stack.deploy(template)


def test_removing_a_function_deletes_it_with_every_version(clients: dict[str, Any]) -> None:
    stack = SimStack("t", clients)
    stack.deploy(_template(_code(clients, "one"), {"V1": "Retain"}))
    name = stack.ref("Fn")
    report = stack.deploy({"Resources": {"Role": _template({}, {})["Resources"]["Role"]}})
    assert report.deleted == ["Fn"] and report.retained == ["V1"]
    with pytest.raises(clients["lambda"].exceptions.ResourceNotFoundException):
        clients["lambda"].get_function(FunctionName=name, Qualifier="1")


def test_removing_a_retained_function_keeps_it_and_its_versions(clients: dict[str, Any]) -> None:
    stack = SimStack("t", clients)
    stack.deploy(
        _fn_template(
            _code(clients, "one"), {"V1": "Retain"}, function_attributes={"DeletionPolicy": "Retain"}
        )
    )
    name = stack.ref("Fn")
    report = stack.deploy({"Resources": {"Role": _template({}, {})["Resources"]["Role"]}})
    assert sorted(report.retained) == ["Fn", "V1"] and report.deleted == []
    assert _versions(clients, name) == ["1"]
    assert clients["lambda"].invoke(FunctionName=f"{name}:1")["Payload"].read() == b'"one"'


@pytest.mark.parametrize("policy", ["Retain", "Delete"])
def test_renaming_a_function_replaces_it(clients: dict[str, Any], policy: str) -> None:
    stack, code = SimStack("t", clients), _code(clients, "one")
    attributes = {"DeletionPolicy": policy, "UpdateReplacePolicy": policy}
    stack.deploy(
        _fn_template(
            code, {"V1": "Retain"}, function={"FunctionName": "hello"}, function_attributes=attributes
        )
    )
    report = stack.deploy(
        _fn_template(
            code, {"V1": "Retain"}, function={"FunctionName": "hello-v2"}, function_attributes=attributes
        )
    )
    assert stack.ref("Fn") == "hello-v2" and sorted(report.replaced) == ["Fn", "V1"]
    assert _versions(clients, "hello-v2") == ["1"]
    if policy == "Retain":
        assert sorted(report.retained) == ["Fn", "V1"]
        assert _versions(clients, "hello") == ["1"]
    else:
        assert report.deleted == ["Fn"] and report.retained == ["V1"]
        with pytest.raises(clients["lambda"].exceptions.ResourceNotFoundException):
            clients["lambda"].get_function(FunctionName="hello", Qualifier="1")


def _role_policy(name: str, resource: str, policy: str = "Delete") -> dict[str, Any]:
    return {
        "Type": "AWS::IAM::RolePolicy",
        "DeletionPolicy": policy,
        "UpdateReplacePolicy": policy,
        "Properties": {
            "RoleName": {"Ref": "Role"},
            "PolicyName": name,
            "PolicyDocument": {
                "Version": "2012-10-17",
                "Statement": [{"Effect": "Allow", "Action": INVOKE, "Resource": resource}],
            },
        },
    }


def _inline(clients: dict[str, Any], stack: SimStack) -> dict[str, Any]:
    iam, role = clients["iam"], stack.ref("Role")
    return {
        name: iam.get_role_policy(RoleName=role, PolicyName=name)["PolicyDocument"]["Statement"][0][
            "Resource"
        ]
        for name in iam.list_role_policies(RoleName=role)["PolicyNames"]
    }


def test_role_policy_create_update_delete(clients: dict[str, Any]) -> None:
    stack, role = SimStack("t", clients), _template({}, {})["Resources"]["Role"]
    stack.deploy({"Resources": {"Role": role, "P": _role_policy("p", f"{FN}-a")}})
    assert _inline(clients, stack) == {"p": f"{FN}-a"}
    stack.deploy({"Resources": {"Role": role, "P": _role_policy("p", f"{FN}-b")}})
    assert _inline(clients, stack) == {"p": f"{FN}-b"}
    report = stack.deploy({"Resources": {"Role": role, "P": _role_policy("q", f"{FN}-b")}})
    assert (report.replaced, report.deleted, _inline(clients, stack)) == (["P"], ["P"], {"q": f"{FN}-b"})
    report = stack.deploy({"Resources": {"Role": role}})
    assert (report.deleted, _inline(clients, stack)) == (["P"], {})


def test_retained_role_policy_stays_on_the_role(clients: dict[str, Any]) -> None:
    stack, role = SimStack("t", clients), _template({}, {})["Resources"]["Role"]
    stack.deploy({"Resources": {"Role": role, "P": _role_policy("p", f"{FN}-a", "Retain")}})
    report = stack.deploy({"Resources": {"Role": role, "P": _role_policy("q", f"{FN}-b", "Retain")}})
    assert (report.replaced, report.retained) == (["P"], ["P"])
    assert _inline(clients, stack) == {"p": f"{FN}-a", "q": f"{FN}-b"}
    report = stack.deploy({"Resources": {"Role": role}})
    assert report.retained == ["P"] and _inline(clients, stack) == {"p": f"{FN}-a", "q": f"{FN}-b"}


# --- an execution keeps the role it started with; the role's policies are live ---------------------


def _machine_template(code: dict[str, str], role: str, roles: dict[str, str]) -> dict[str, Any]:
    """A state machine that waits, then calls version 1 of Fn, with ``RoleArn`` = role ``role``;
    ``roles`` maps each role's logical ID to the resource its one inline policy allows."""
    resources = _template(code, {"V1": "Retain"})["Resources"]
    for logical_id, allowed in roles.items():
        resources[logical_id] = {
            "Type": "AWS::IAM::Role",
            "Properties": {
                "AssumeRolePolicyDocument": {"Version": "2012-10-17", "Statement": []},
                "Policies": [
                    {
                        "PolicyName": "invoke",
                        "PolicyDocument": {
                            "Version": "2012-10-17",
                            "Statement": [{"Effect": "Allow", "Action": INVOKE, "Resource": allowed}],
                        },
                    }
                ],
            },
        }
    definition = {
        "StartAt": "Wait",
        "States": {
            "Wait": {"Type": "Wait", "SecondsPath": "$.waitSeconds", "Next": "Call"},
            "Call": {
                "Type": "Task",
                "Resource": "arn:aws:states:::lambda:invoke",
                "Parameters": {"FunctionName": "${fn}", "Payload": {}},
                "End": True,
            },
        },
    }
    resources["Machine"] = {
        "Type": "AWS::StepFunctions::StateMachine",
        "Properties": {
            "DefinitionString": json.dumps(definition),
            "DefinitionSubstitutions": {"fn": {"Ref": "V1"}},
            "RoleArn": {"Fn::GetAtt": [role, "Arn"]},
        },
    }
    return {"Resources": resources}


def _run_across(clients: dict[str, Any], stack: SimStack, day2: dict[str, Any]) -> str:
    sfn = clients["stepfunctions"]
    arn = sfn.start_execution(stateMachineArn=stack.ref("Machine"), input=json.dumps({"waitSeconds": 1}))[
        "executionArn"
    ]
    stack.deploy(day2)
    assert sfn.describe_execution(executionArn=arn)["status"] == "RUNNING"
    deadline = time.monotonic() + 30
    while sfn.describe_execution(executionArn=arn)["status"] == "RUNNING":
        assert time.monotonic() < deadline
        time.sleep(0.1)
    described = sfn.describe_execution(executionArn=arn)
    history = sfn.get_execution_history(executionArn=arn)["events"]
    failed = [
        e["executionFailedEventDetails"]["error"] for e in history if "executionFailedEventDetails" in e
    ]
    return described["status"] + (f" {failed[0]}" if failed else "")


def test_execution_keeps_the_role_it_started_with(clients: dict[str, Any]) -> None:
    """Day 2 points the state machine at a role that may not call the function: the running execution
    still uses the role it started with, and succeeds."""
    stack, code = SimStack("t", clients), _code(clients, "one")
    fn_arn = "arn:aws:lambda:us-east-1:123456789012:function:*"
    stack.deploy(_machine_template(code, "Allowed", {"Allowed": fn_arn, "Other": "arn:aws:s3:::nothing"}))
    status = _run_across(
        clients, stack, _machine_template(code, "Other", {"Allowed": fn_arn, "Other": "arn:aws:s3:::nothing"})
    )
    assert status == "SUCCEEDED"
    (call,) = [i for i in clients["bridge"].invocations if i.execution_arn]
    assert call.denied is None and call.version == "1"


def test_execution_sees_its_roles_policies_live(clients: dict[str, Any]) -> None:
    """Day 2 keeps the role but narrows its policy: the running execution is denied."""
    stack, code = SimStack("t", clients), _code(clients, "one")
    stack.deploy(
        _machine_template(code, "Allowed", {"Allowed": "arn:aws:lambda:us-east-1:123456789012:function:*"})
    )
    status = _run_across(
        clients, stack, _machine_template(code, "Allowed", {"Allowed": "arn:aws:s3:::nothing"})
    )
    assert status == "FAILED Lambda.AccessDeniedException"
    (call,) = [i for i in clients["bridge"].invocations if i.execution_arn]
    assert call.denied and "is not authorized to perform: lambda:InvokeFunction" in call.denied


def test_publish_rule_never_reuses_a_version_number(clients: dict[str, Any]) -> None:
    lam, name = clients["lambda"], _function(clients)
    _publish(clients, name)
    lam.update_function_code(FunctionName=name, **_code(clients, "two"))
    _publish(clients, name)
    lam.delete_function(FunctionName=name, Qualifier="1")
    lam.update_function_code(FunctionName=name, **_code(clients, "three"))
    assert _publish(clients, name) == "3", "moto alone would publish a second '2'"
    assert _versions(clients, name) == ["2", "3"]


def test_denied_before_not_found(clients: dict[str, Any]) -> None:
    """IAM comes first: a role that may not call a function that is gone gets AccessDenied."""
    stack, code = SimStack("t", clients), _code(clients, "one")
    allowed = "arn:aws:lambda:us-east-1:123456789012:function:*"
    stack.deploy(_machine_template(code, "Allowed", {"Allowed": allowed}))
    day2 = _machine_template(code, "Allowed", {"Allowed": "arn:aws:s3:::nothing"})
    day2["Resources"]["Fn"]["Properties"]["FunctionName"] = "renamed"  # replaced, the old one deleted
    assert _run_across(clients, stack, day2) == "FAILED Lambda.AccessDeniedException"


def test_a_function_whose_execution_role_is_gone_does_not_run(clients: dict[str, Any]) -> None:
    stack = SimStack("t", clients)
    retained = {"DeletionPolicy": "Retain", "UpdateReplacePolicy": "Retain"}
    stack.deploy(_fn_template(_code(clients, "one"), {"V1": "Retain"}, function_attributes=retained))
    name = stack.ref("Fn")
    stack.deploy({"Resources": {}})  # the function and its version are kept, its role is deleted
    with pytest.raises(
        clients["lambda"].exceptions.InvalidParameterValueException, match="cannot be assumed"
    ):
        clients["lambda"].invoke(FunctionName=f"{name}:1")


def test_resolver_find_in_map_follows_the_parameter() -> None:
    from sim.stack import Resolver

    stack = SimStack("t", {}, parameters={"Stage": "dev"})
    stack.mappings = {"Config": {"dev": {"Timeout": 10}, "prod": {"Timeout": 30}}}
    resolver = Resolver(stack)
    assert resolver.resolve({"Fn::FindInMap": ["Config", {"Ref": "Stage"}, "Timeout"]}) == 10
    with pytest.raises(SimulationError, match="no such entry"):
        resolver.resolve({"Fn::FindInMap": ["Config", "test", "Timeout"]})
