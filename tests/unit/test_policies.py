"""policies: which role a state machine runs as, which statements are attached to it, and the plan that
makes each statement treat a pinned function's versions (``<ARN>:<n>``) as it treated the function
(DESIGN.md, IAM). Expected plans follow IAM's matching: ``<ARN>`` does not match ``<ARN>:1``."""

from __future__ import annotations

import json
from typing import Any

import pytest

from sfn_exact_version.index import TemplateIndex
from sfn_exact_version.policies import (
    GRANT_PREFIX,
    ArnSpace,
    RoleRef,
    StatementPlan,
    applies_to_invoke,
    attached_policies,
    function_versions_entry,
    grant_digest,
    grant_size,
    is_grant,
    make_grant,
    plan_statement,
    role_of,
    statements_of,
    versions_entry,
)
from support import ACCOUNT, REGION, function, getatt, role, statement

HELLO_ARN = f"arn:aws:lambda:{REGION}:{ACCOUNT}:function:hello"
HELLO_VERSIONS = {"Fn::Sub": "${Hello.Arn}:*"}
SUB_ARN = "arn:${AWS::Partition}:lambda:${AWS::Region}:${AWS::AccountId}:function:hello"


def _index(resources: dict[str, Any] | None = None) -> TemplateIndex:
    base = {
        "Hello": function(FunctionName="hello"),
        "World": function(FunctionName="world"),
        "HelloVersion": {"Type": "AWS::Lambda::Version", "Properties": {"FunctionName": {"Ref": "Hello"}}},
        "SmRole": role(),
    }
    return TemplateIndex.build({**base, **(resources or {})}, {"Param": {"Type": "String"}}, REGION, ACCOUNT)


def _plan(stmt: dict[str, Any], functions: tuple[str, ...] = ("Hello",)) -> StatementPlan:
    return plan_statement(stmt, list(functions), ArnSpace(_index()), "Resources/SmRole/Statement/0")


def _summary(plan: StatementPlan) -> dict[str, Any]:
    return {
        "key": plan.key,
        "additions": plan.additions,
        "allowing": plan.allowing,
        "denying": plan.denying,
        "allows": plan.allows,
        "denies": plan.denies,
    }


def _expect(key: str = "Resource", additions: list[Any] | None = None, **lists: list[str]) -> dict[str, Any]:
    expected: dict[str, Any] = {"key": key, "additions": additions or []}
    for name in ("allowing", "denying", "allows", "denies"):
        expected[name] = lists.get(name, [])
    return expected


# ------------------------------------------------------------------------------ actions
@pytest.mark.parametrize(
    ("stmt", "expected"),
    [
        ({"Action": "lambda:InvokeFunction"}, True),
        ({"Action": "Lambda:invokeFUNCTION"}, True),  # actions are case-insensitive
        ({"Action": ["s3:GetObject", "lambda:Invoke*"]}, True),
        ({"Action": "lambda:*"}, True),
        ({"Action": "*"}, True),
        ({"Action": "lambda:InvokeFunction?"}, False),
        ({"Action": "lambda:InvokeAsync"}, False),
        ({"NotAction": "s3:*"}, True),  # everything but S3
        ({"NotAction": "lambda:*"}, False),
        ({}, False),
    ],
)
def test_applies_to_invoke(stmt: dict[str, Any], expected: bool) -> None:
    assert applies_to_invoke(stmt) is expected


# ------------------------------------------------------------------------------ which role
@pytest.mark.parametrize(
    "value",
    [
        getatt("Runner"),
        {"Fn::GetAtt": "Runner.Arn"},
        {"Fn::Sub": "${Runner.Arn}"},
        {"Fn::Sub": ["${R}", {"R": getatt("Runner")}]},
        {"Fn::Join": ["", [getatt("Runner")]]},
        {"Fn::Sub": "arn:${AWS::Partition}:iam::${AWS::AccountId}:role/${Runner}"},
        f"arn:aws:iam::{ACCOUNT}:role/team/runner-role",  # RoleName with its Path
        {"Fn::Sub": "arn:aws:iam::${AWS::AccountId}:role/team/runner-role"},
    ],
)
def test_role_of_reads_every_form_of_the_same_role(value: Any) -> None:
    index = _index({"Runner": role(RoleName="runner-role", Path="/team/")})
    assert role_of({"RoleArn": value}, index) == RoleRef("Runner")


@pytest.mark.parametrize(
    "value",
    [
        "arn:aws:iam::999999999999:role/team/runner-role",  # another account's role of that name
        f"arn:aws-cn:iam::{ACCOUNT}:role/team/runner-role",
        f"arn:aws:iam::{ACCOUNT}:role/outside",
        f"arn:aws:iam::{ACCOUNT}:user/runner-role",
    ],
)
def test_role_of_an_arn_of_another_role_is_none(value: str) -> None:
    index = _index({"Runner": role(RoleName="runner-role", Path="/team/")})
    assert role_of({"RoleArn": value}, index) == RoleRef(None)


def test_role_of_a_form_that_cannot_be_resolved_says_so() -> None:
    index = _index({"Blue": role(), "Green": role()})
    value = {"Fn::If": ["IsBlue", getatt("Blue"), getatt("Green")]}
    found = role_of({"RoleArn": value}, index)
    assert found.role is None
    assert found.unresolved is not None
    assert "refers to Blue, Green of this template through Fn::If" in found.unresolved


def test_role_of_without_a_role_arn_is_none() -> None:
    assert role_of({}, _index()) == RoleRef(None)


# ------------------------------------------------------------------------------ attached statements
def test_statements_of_reads_inline_managed_and_attached_policies_in_order() -> None:
    managed = {
        "Type": "AWS::IAM::ManagedPolicy",
        "Properties": {"PolicyDocument": {"Statement": statement("m")}},  # one statement, not a list
    }
    policy = {
        "Type": "AWS::IAM::Policy",
        "Properties": {"Roles": [{"Ref": "Runner"}], "PolicyDocument": {"Statement": [statement("p")]}},
    }
    role_policy = {
        "Type": "AWS::IAM::RolePolicy",
        "Properties": {"RoleName": {"Ref": "Runner"}, "PolicyDocument": {"Statement": [statement("rp")]}},
    }
    runner = role(statement("inline"), ManagedPolicyArns=[{"Ref": "Managed"}])
    index = _index({"Runner": runner, "Managed": managed, "Policy": policy, "RolePolicy": role_policy})
    found = [(ref.location, stmt["Resource"]) for ref, stmt in statements_of("Runner", index)]
    assert found == [
        ("Resources/Runner/Properties/Policies/0/PolicyDocument/Statement/0", "inline"),
        ("Resources/Managed/Properties/PolicyDocument/Statement", "m"),
        ("Resources/Policy/Properties/PolicyDocument/Statement/0", "p"),
        ("Resources/RolePolicy/Properties/PolicyDocument/Statement/0", "rp"),
    ]


def test_the_macros_own_grants_are_not_attached_statements() -> None:
    index = _index()
    grant = make_grant("SmRole", "Hello", index, None, None)
    index = _index({grant.logical_id: grant.resource})
    assert is_grant(grant.resource)
    assert attached_policies(index) == {}
    assert list(statements_of("SmRole", index)) == []


def test_is_grant_needs_the_prefix_and_the_type() -> None:
    assert not is_grant({"Type": "AWS::IAM::RolePolicy", "Properties": {"PolicyName": "invoke"}})
    assert not is_grant({"Type": "AWS::IAM::Policy", "Properties": {"PolicyName": GRANT_PREFIX + "x"}})


# ------------------------------------------------------------------------------ entries for versions
@pytest.mark.parametrize(
    ("entry", "expected"),
    [
        (getatt("Hello"), HELLO_VERSIONS),
        (HELLO_ARN, HELLO_ARN + ":*"),
        ({"Fn::Sub": SUB_ARN}, {"Fn::Sub": SUB_ARN + ":*"}),
        ({"Fn::Sub": ["${A}", {"A": "x"}]}, {"Fn::Sub": ["${A}:*", {"A": "x"}]}),
        ({"Fn::Join": ["", ["arn:", "x"]]}, {"Fn::Join": ["", ["arn:", "x", ":*"]]}),
        ({"Fn::Join": [":", ["arn", "x"]]}, {"Fn::Join": ["", [{"Fn::Join": [":", ["arn", "x"]]}, ":*"]]}),
        ({"Ref": "Param"}, {"Fn::Join": ["", [{"Ref": "Param"}, ":*"]]}),
    ],
)
def test_versions_entry_keeps_the_entrys_own_style(entry: Any, expected: Any) -> None:
    assert versions_entry(entry) == expected


def test_function_versions_entry() -> None:
    assert function_versions_entry("Hello") == HELLO_VERSIONS


# ------------------------------------------------------------------------------ planning: Allow
@pytest.mark.parametrize(
    ("entry", "addition"),
    [
        (getatt("Hello"), HELLO_VERSIONS),
        (HELLO_ARN, HELLO_ARN + ":*"),
        ({"Fn::Sub": SUB_ARN}, {"Fn::Sub": SUB_ARN + ":*"}),
    ],
)
def test_an_allow_naming_the_function_gains_its_versions_in_the_same_style(entry: Any, addition: Any) -> None:
    assert _summary(_plan(statement([entry]))) == _expect(
        additions=[addition], allowing=["Hello"], allows=["Hello"]
    )


def test_two_spellings_of_one_arn_gain_one_entry() -> None:
    plan = _plan(statement([getatt("Hello"), HELLO_ARN]))
    assert plan.additions == [HELLO_VERSIONS]
    assert plan.added_for == ["Hello"]


@pytest.mark.parametrize(
    "entries",
    [
        [getatt("Hello"), HELLO_VERSIONS],
        "*",
        f"arn:aws:lambda:{REGION}:{ACCOUNT}:function:hello*",
        f"arn:aws:lambda:{REGION}:{ACCOUNT}:function:*",
    ],
)
def test_an_allow_that_already_covers_the_versions_is_left_as_it_is(entries: Any) -> None:
    assert _summary(_plan(statement(entries))) == _expect(allowing=["Hello"], allows=["Hello"])


def test_an_allow_that_reaches_the_function_only_through_a_wildcard_missing_its_versions_is_left_alone() -> (
    None
):
    plan = _plan(statement(f"arn:aws:lambda:*:{ACCOUNT}:function:hello"))
    # It allows the function (the retained grant covers the versions), and gains nothing here.
    assert _summary(plan) == _expect(allows=["Hello"])


def test_an_allow_naming_only_a_version_gains_every_version() -> None:
    plan = _plan(statement({"Ref": "HelloVersion"}))
    assert _summary(plan) == _expect(additions=[HELLO_VERSIONS], allowing=["Hello"], allows=["Hello"])


@pytest.mark.parametrize(
    "stmt",
    [
        statement(getatt("Hello"), action="s3:GetObject"),
        statement(getatt("World")),
        {"Effect": "Allow", "Action": "lambda:InvokeFunction"},  # neither Resource nor NotResource
        {"Action": "lambda:InvokeFunction", "Resource": "*"},  # no Effect
    ],
)
def test_a_statement_that_does_not_concern_invoking_the_function_plans_nothing(stmt: dict[str, Any]) -> None:
    assert _summary(_plan(stmt)) == _expect()


def test_only_the_functions_the_statement_names_gain_entries() -> None:
    plan = _plan(statement([getatt("Hello"), getatt("World")]), functions=("Hello",))
    assert plan.additions == [HELLO_VERSIONS]


def test_an_allow_with_not_resource_leaving_the_function_out_gains_its_versions_there() -> None:
    plan = _plan({"Effect": "Allow", "Action": "lambda:InvokeFunction", "NotResource": [getatt("Hello")]})
    assert _summary(plan) == _expect("NotResource", [HELLO_VERSIONS], denying=["Hello"])


def test_an_allow_with_not_resource_naming_another_function_allows_the_versions() -> None:
    plan = _plan({"Effect": "Allow", "Action": "lambda:InvokeFunction", "NotResource": getatt("World")})
    assert _summary(plan) == _expect("NotResource", allowing=["Hello"], allows=["Hello"])


@pytest.mark.parametrize(
    ("not_action", "expected"),
    [
        ("s3:*", _expect(additions=[HELLO_VERSIONS], allowing=["Hello"], allows=["Hello"])),
        (["lambda:Invoke*", "s3:*"], _expect()),  # leaves invoking out: nothing to do
    ],
)
def test_an_allow_with_not_action_is_planned_as_the_actions_it_leaves_in(
    not_action: Any, expected: Any
) -> None:
    stmt = {"Effect": "Allow", "NotAction": not_action, "Resource": getatt("Hello")}
    assert _summary(_plan(stmt)) == expected


def test_a_question_mark_matches_one_character_so_it_misses_the_versions() -> None:
    plan = _plan(statement(f"{HELLO_ARN[:-1]}?"))
    assert _summary(plan) == _expect(allows=["Hello"])


# ------------------------------------------------------------------------------ planning: Deny
def test_a_deny_naming_the_function_gains_its_versions_and_denies_it() -> None:
    plan = _plan(statement(getatt("Hello"), effect="Deny"))
    assert _summary(plan) == _expect(additions=[HELLO_VERSIONS], denying=["Hello"], denies=["Hello"])


def test_a_conditional_deny_is_extended_but_does_not_deny_outright() -> None:
    conditional = statement(
        getatt("Hello"), effect="Deny", Condition={"Bool": {"aws:SecureTransport": "false"}}
    )
    assert _summary(_plan(conditional)) == _expect(additions=[HELLO_VERSIONS], denying=["Hello"])


def test_a_deny_that_covers_the_versions_already_gains_nothing() -> None:
    assert _summary(_plan(statement("*", effect="Deny"))) == _expect(denying=["Hello"], denies=["Hello"])


def test_a_deny_naming_only_the_versions_is_warned() -> None:
    plan = _plan(statement(HELLO_VERSIONS, effect="Deny"))
    assert plan.additions == []
    assert len(plan.warnings) == 1
    assert "names the versions of Hello but not Hello itself" in plan.warnings[0]
    assert plan.warnings[0].startswith("Resources/SmRole/Statement/0: ")


def test_a_deny_with_an_entry_known_only_at_deploy_time_is_warned() -> None:
    plan = _plan(statement({"Ref": "Param"}, effect="Deny"))
    assert plan.additions == []
    (warning,) = plan.warnings
    assert "cannot tell whether this Deny names Hello" in warning
    assert "${Param} is known only at deploy time" in warning


def test_a_deny_of_another_function_by_a_known_arn_is_silent() -> None:
    assert _plan(statement(getatt("World"), effect="Deny")).warnings == []


def test_a_deny_exempting_the_function_by_its_exact_arn_exempts_its_versions_too() -> None:
    plan = _plan({"Effect": "Deny", "Action": "lambda:*", "NotResource": [getatt("Hello")]})
    assert _summary(plan) == _expect("NotResource", [HELLO_VERSIONS], allowing=["Hello"])


def test_a_deny_exempting_the_function_through_a_wildcard_missing_its_versions_is_warned() -> None:
    plan = _plan({"Effect": "Deny", "Action": "lambda:*", "NotResource": f"{HELLO_ARN[:-1]}?"})
    assert plan.additions == []
    (warning,) = plan.warnings
    assert "leaves Hello out (NotResource) through a wildcard but not its versions" in warning


def test_a_deny_exempting_everything_allows_the_versions() -> None:
    plan = _plan({"Effect": "Deny", "Action": "lambda:*", "NotResource": "*"})
    assert _summary(plan) == _expect("NotResource", allowing=["Hello"])


# ------------------------------------------------------------------------------ retained grants
def test_a_grant_is_a_retained_role_policy_allowing_every_version() -> None:
    grant = make_grant("SmRole", "Hello", _index(), None, None)
    assert grant.logical_id.startswith("SfnExactVersionGrant")
    assert grant.policy_name == GRANT_PREFIX + grant.logical_id[len("SfnExactVersionGrant") :]
    assert grant.resource == {
        "Type": "AWS::IAM::RolePolicy",
        "DeletionPolicy": "Retain",
        "UpdateReplacePolicy": "Retain",
        "Properties": {
            "PolicyName": grant.policy_name,
            "RoleName": {"Ref": "SmRole"},
            "PolicyDocument": {
                "Version": "2012-10-17",
                "Statement": [
                    {"Effect": "Allow", "Action": "lambda:InvokeFunction", "Resource": HELLO_VERSIONS}
                ],
            },
        },
    }


def test_a_grant_carries_the_template_condition_and_the_iam_condition_it_needs() -> None:
    when = {"StringEquals": {"aws:RequestedRegion": REGION}}
    grant = make_grant("SmRole", "Hello", _index(), "IsProd", when)
    assert grant.resource["Condition"] == "IsProd"
    assert grant.resource["Properties"]["PolicyDocument"]["Statement"][0]["Condition"] == when


def test_a_renamed_function_gets_a_new_grant_and_the_same_function_the_same_one() -> None:
    index = _index()
    renamed = _index({"Hello": function(FunctionName="hello-v2")})
    assert grant_digest("SmRole", "Hello", index) == grant_digest("SmRole", "Hello", _index())
    assert grant_digest("SmRole", "Hello", index) != grant_digest("SmRole", "Hello", renamed)
    assert grant_digest("SmRole", "Hello", index) != grant_digest("SmRole", "World", index)
    assert grant_digest("SmRole", "Hello", index) != grant_digest("OtherRole", "Hello", index)


def test_grant_size_is_at_least_what_iam_counts_for_the_resolved_grant() -> None:
    index = _index({"Anonymous": function()})
    grant = make_grant("SmRole", "Hello", index, None, None)
    document = grant.resource["Properties"]["PolicyDocument"]
    document["Statement"][0]["Resource"] = HELLO_ARN + ":*"
    resolved = len(json.dumps(document, separators=(",", ":"))) + len(grant.policy_name)
    assert grant_size("Hello", index) >= resolved
    # A generated name can be up to 64 characters: counted at its longest.
    assert grant_size("Anonymous", index) - grant_size("Hello", index) == 64 - len("hello")
