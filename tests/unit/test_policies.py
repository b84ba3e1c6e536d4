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
    managed_policies_outside,
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


# ------------------------------------------------------------------------------ Fn::If (issue 10)
NO_VALUE = {"Ref": "AWS::NoValue"}
HELLO = getatt("Hello")
WORLD = getatt("World")
WORLD_VERSIONS = {"Fn::Sub": "${World.Arn}:*"}


def _if(condition: str, yes: Any, no: Any) -> dict[str, Any]:
    return {"Fn::If": [condition, yes, no]}


def _extended(stmt: dict[str, Any], functions: tuple[str, ...] = ("Hello",), **kwargs: Any) -> Any:
    plan = plan_statement(stmt, list(functions), ArnSpace(_index()), "here", **kwargs)
    return plan.extend(stmt["Resource" if "Resource" in stmt else "NotResource"])


def test_resource_under_fn_if_gains_versions_on_each_side() -> None:
    """``Resource: !If [C, [Hello, World], [Hello]]``: each side gains what it needs, in place."""
    stmt = statement(_if("IsProd", [HELLO, WORLD], [HELLO]))
    assert _extended(stmt, ("Hello", "World")) == _if(
        "IsProd", [HELLO, WORLD, HELLO_VERSIONS, WORLD_VERSIONS], [HELLO, HELLO_VERSIONS]
    )


def test_resource_fn_if_with_a_single_entry_and_no_value_side() -> None:
    stmt = statement(_if("IsProd", HELLO, NO_VALUE))
    assert _extended(stmt) == _if("IsProd", [HELLO, HELLO_VERSIONS], NO_VALUE)


def test_conditional_entry_gains_a_conditional_versions_entry() -> None:
    """The usual form for a conditional function: ``!If [C, !GetAtt Fn.Arn, !Ref AWS::NoValue]``."""
    stmt = statement([WORLD, _if("IsProd", HELLO, NO_VALUE)])
    assert _extended(stmt, ("Hello", "World")) == [
        WORLD,
        _if("IsProd", HELLO, NO_VALUE),
        WORLD_VERSIONS,
        _if("IsProd", HELLO_VERSIONS, NO_VALUE),
    ]


def test_conditional_entry_on_the_false_side() -> None:
    stmt = statement([_if("IsProd", NO_VALUE, HELLO)])
    assert _extended(stmt) == [_if("IsProd", NO_VALUE, HELLO), _if("IsProd", NO_VALUE, HELLO_VERSIONS)]


def test_entry_chosen_by_two_conditions_gains_a_nested_fn_if() -> None:
    stmt = statement([_if("A", _if("B", HELLO, NO_VALUE), NO_VALUE)])
    assert _extended(stmt)[1] == _if("A", _if("B", HELLO_VERSIONS, NO_VALUE), NO_VALUE)


def test_conditional_entry_is_not_extended_twice() -> None:
    """Transforming the output again changes nothing."""
    stmt = statement([_if("IsProd", HELLO, NO_VALUE), _if("IsProd", HELLO_VERSIONS, NO_VALUE)])
    plan = plan_statement(stmt, ["Hello"], ArnSpace(_index()), "here")
    assert plan.additions == []
    assert plan.allowing == ["Hello"]


def test_conditional_deny_covers_the_versions_on_its_side() -> None:
    """A Deny that applies only when IsProd is true denies the versions exactly then."""
    stmt = statement(HELLO, effect=_if("IsProd", "Deny", "Allow"))
    assert _extended(stmt) == [HELLO, HELLO_VERSIONS]  # Deny on one side, Allow on the other: both
    deny_only = statement([_if("IsProd", HELLO, NO_VALUE)], effect="Deny")
    plan = plan_statement(deny_only, ["Hello"], ArnSpace(_index()), "here")
    assert plan.extend(deny_only["Resource"])[1] == _if("IsProd", HELLO_VERSIONS, NO_VALUE)
    assert plan.denying == ["Hello"]
    assert plan.denies == []  # not outright: the Deny holds only when IsProd is true


def test_deny_on_every_side_denies_outright() -> None:
    stmt = statement(_if("IsProd", [HELLO], [HELLO, WORLD]), effect="Deny")
    plan = plan_statement(stmt, ["Hello"], ArnSpace(_index()), "here")
    assert plan.denies == ["Hello"]


def test_action_under_fn_if_widens_only_where_it_allows_invoking() -> None:
    stmt = statement([HELLO], action=_if("IsProd", "lambda:InvokeFunction", "sns:Publish"))
    assert _extended(stmt) == [HELLO, _if("IsProd", HELLO_VERSIONS, NO_VALUE)]


def test_not_resource_under_fn_if() -> None:
    """An Allow on everything but Hello (on one side) must leave Hello's versions out too."""
    stmt = {"Effect": "Allow", "Action": "lambda:*", "NotResource": _if("IsProd", [HELLO], ["x"])}
    assert _extended(stmt) == _if("IsProd", [HELLO, HELLO_VERSIONS], ["x"])


def test_allow_guards_name_the_one_condition_value() -> None:
    stmt = statement([_if("IsProd", HELLO, NO_VALUE), _if("Other", NO_VALUE, WORLD)])
    plan = plan_statement(stmt, ["Hello", "World"], ArnSpace(_index()), "here")
    assert plan.guards == {"Hello": (("IsProd", True),), "World": (("Other", False),)}


def test_branch_of_the_statement_fixes_its_condition() -> None:
    """A statement reached through ``!If [IsProd, ...]`` reads an inner ``!If`` on IsProd on that side."""
    stmt = statement(_if("IsProd", [HELLO], [WORLD]))
    plan = plan_statement(stmt, ["Hello", "World"], ArnSpace(_index()), "here", (("IsProd", True),))
    assert plan.allows == ["Hello"]
    assert plan.extend(stmt["Resource"]) == _if("IsProd", [HELLO, HELLO_VERSIONS], [WORLD])


def test_too_many_conditions_is_a_warning_and_no_change() -> None:
    entries = [_if(f"C{number}", HELLO, NO_VALUE) for number in range(5)]
    plan = plan_statement(statement(entries), ["Hello"], ArnSpace(_index()), "here")
    assert plan.additions == []
    assert "chooses by 5 conditions" in plan.warnings[0]


def test_statements_of_reads_every_fn_if_container() -> None:
    """``Policies`` item, ``PolicyDocument``, ``Statement`` list and item, ``ManagedPolicyArns`` item:
    each side is read, with the conditions that choose it; ``AWS::NoValue`` gives nothing."""
    inline = {"PolicyName": "p", "PolicyDocument": {"Statement": [statement("a")]}}
    document = _if("B", {"Statement": statement("b1")}, {"Statement": [statement("b2")]})
    managed = {"Type": "AWS::IAM::ManagedPolicy", "Properties": {"PolicyDocument": {"Statement": []}}}
    managed["Properties"]["PolicyDocument"]["Statement"] = [_if("D", statement("d"), NO_VALUE)]
    runner = role(
        Policies=[_if("A", inline, NO_VALUE), {"PolicyName": "q", "PolicyDocument": document}],
        ManagedPolicyArns=[_if("M", {"Ref": "Managed"}, NO_VALUE)],
    )
    index = _index({"Runner": runner, "Managed": managed})
    found = [(ref.location, ref.branch, stmt["Resource"]) for ref, stmt in statements_of("Runner", index)]
    assert found == [
        (
            "Resources/Runner/Properties/Policies/0/Fn::If/1/PolicyDocument/Statement/0",
            (("A", True),),
            "a",
        ),
        ("Resources/Runner/Properties/Policies/1/PolicyDocument/Fn::If/1/Statement", (("B", True),), "b1"),
        ("Resources/Runner/Properties/Policies/1/PolicyDocument/Fn::If/2/Statement/0", (("B", False),), "b2"),
        (
            "Resources/Managed/Properties/PolicyDocument/Statement/0/Fn::If/1",
            (("M", True), ("D", True)),
            "d",
        ),
    ]


def test_policies_attached_by_sub_and_role_name() -> None:
    """``Roles: [!Sub "${Runner}"]`` and the role's literal ``RoleName`` attach a policy as ``Ref`` does."""
    runner = role(RoleName="runner-role")
    by_sub = {
        "Type": "AWS::IAM::Policy",
        "Properties": {"Roles": [{"Fn::Sub": "${Runner}"}], "PolicyDocument": {"Statement": []}},
    }
    by_name = {
        "Type": "AWS::IAM::RolePolicy",
        "Properties": {"RoleName": "runner-role", "PolicyDocument": {"Statement": []}},
    }
    managed = {
        "Type": "AWS::IAM::ManagedPolicy",
        "Properties": {"Roles": [_if("C", "runner-role", NO_VALUE)], "PolicyDocument": {"Statement": []}},
    }
    other = {
        "Type": "AWS::IAM::RolePolicy",
        "Properties": {"RoleName": "someone-else", "PolicyDocument": {"Statement": []}},
    }
    index = _index({"Runner": runner, "BySub": by_sub, "ByName": by_name, "Managed": managed, "Other": other})
    assert attached_policies(index) == {
        "Runner": [("BySub", ()), ("ByName", ()), ("Managed", (("C", True),))]
    }


@pytest.mark.parametrize(
    ("arn", "known"),
    [
        ("arn:aws:iam::aws:policy/service-role/AWSLambdaRole", True),
        ({"Fn::Sub": "arn:${AWS::Partition}:iam::aws:policy/service-role/AWSLambdaRole"}, True),
        ("arn:aws:iam::aws:policy/AWSLambda_FullAccess", True),
        ("arn:aws:iam::aws:policy/AWSLambdaRole", False),  # no such policy: it lives under service-role/
        ("arn:aws:iam::123456789012:policy/service-role/AWSLambdaRole", False),  # a customer's policy
        ("arn:aws:iam::aws:policy/CloudWatchLogsFullAccess", False),
    ],
)
def test_aws_managed_policies_known_to_allow_invoking_everything(arn: Any, known: bool) -> None:
    index = _index({"Runner": role(ManagedPolicyArns=[arn])})
    found, other = managed_policies_outside("Runner", index)
    assert bool(found) == known
    assert bool(other) != known
