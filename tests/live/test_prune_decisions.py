"""The prune keep set and delete set on plain data, rule by rule (no AWS)."""

from __future__ import annotations

from datetime import timedelta

from tests.live.views import (
    FN,
    NOW,
    ROLE,
    SM,
    StateMachineAlias,
    StateMachineVersion,
    alias,
    definition,
    defs,
    execution,
    function,
    invoke,
    invoke_role,
    machine,
    view,
)

from sfn_exact_version.decisions.prune import (
    FUNCTION,
    LAMBDA_VERSION,
    ROLE_POLICY,
    STATE_MACHINE_VERSION,
    Plan,
    plan,
)
from sfn_exact_version.live.model import StackResource, Statement

NO_GRACE = {"keep": 0, "min_age": timedelta(0)}


def kept(result: Plan, kind: str = LAMBDA_VERSION) -> dict[str, list[str]]:
    return {item.arn: item.reasons for item in result.keep if item.kind == kind}


def deleted(result: Plan, kind: str = LAMBDA_VERSION) -> set[str]:
    return {item.arn for item in result.delete if item.kind == kind}


def hello_role() -> dict[str, object]:
    role = invoke_role("sm-role", FN + "hello", FN + "hello:*")
    return {role.arn: role}


def test_an_execution_three_deploys_old_keeps_its_version_and_nothing_else_old_survives() -> None:
    # Day 1 pinned hello:1; Days 2, 3 and 4 each published a new version; execution 1 still waits on Day 1.
    account = view(
        functions=[function("hello", 4)],
        state_machines=[machine("approval", "rev4")],
        executions=[execution("day1", "rev1")],
        definitions=defs(
            ("rev1", definition(invoke(FN + "hello:1"))), ("rev4", definition(invoke(FN + "hello:4")))
        ),
        roles=hello_role(),
    )
    result = plan(account, **NO_GRACE)
    assert deleted(result) == {FN + "hello:2", FN + "hello:3"}
    assert set(kept(result)) == {FN + "hello:1", FN + "hello:4"}
    assert "execution day1 (RUNNING) may call it" in kept(result)[FN + "hello:1"][0]
    assert "current definition of approval" in kept(result)[FN + "hello:4"][0]


def test_state_machine_alias_routing_90_10_keeps_both_versions_and_their_lambda_versions() -> None:
    v1, v2, v3 = (f"{SM}approval:{n}" for n in (1, 2, 3))
    approval = machine(
        "approval",
        "rev3",
        versions=[
            StateMachineVersion(v1, NOW - timedelta(days=9)),
            StateMachineVersion(v2, NOW - timedelta(days=8), "rev2"),
            StateMachineVersion(v3, NOW - timedelta(days=7), "rev3"),
        ],
        aliases=[StateMachineAlias(f"{SM}approval:live", "live", {v2: 90, v3: 10})],
    )
    account = view(
        functions=[function("hello", 3)],
        state_machines=[approval],
        definitions=defs(
            ("rev2", definition(invoke(FN + "hello:2"))),
            ("rev3", definition(invoke(FN + "hello:3"))),
        ),
        roles=hello_role(),
    )
    result = plan(account, **NO_GRACE)
    assert deleted(result) == {FN + "hello:1"}
    assert any("routed by alias live 90%" in reason for reason in kept(result)[FN + "hello:2"])
    assert any("routed by alias live 10%" in reason for reason in kept(result)[FN + "hello:3"])
    assert deleted(result, STATE_MACHINE_VERSION) == {v1}
    assert kept(result, STATE_MACHINE_VERSION)[v2] == ["alias live routes 90% to it"]
    assert kept(result, STATE_MACHINE_VERSION)[v3] == ["alias live routes 10% to it"]


def test_executions_through_an_alias_keep_their_state_machine_version() -> None:
    v1, v2 = f"{SM}approval:1", f"{SM}approval:2"
    approval = machine(
        "approval",
        "rev2",
        versions=[StateMachineVersion(v1, NOW - timedelta(days=9)), StateMachineVersion(v2, NOW, "rev2")],
        aliases=[StateMachineAlias(f"{SM}approval:live", "live", {v2: 100})],
    )
    started = execution("old", "rev1", version_arn=v1, alias_arn=f"{SM}approval:live")
    account = view(
        functions=[function("hello", 2)],
        state_machines=[approval],
        executions=[started],
        definitions=defs(
            ("rev1", definition(invoke(FN + "hello:1"))), ("rev2", definition(invoke(FN + "hello:2")))
        ),
        roles=hello_role(),
    )
    result = plan(account, **NO_GRACE)
    assert kept(result, STATE_MACHINE_VERSION)[v1] == ["execution old runs it"]
    assert "through alias live" in kept(result)[FN + "hello:1"][0]
    assert deleted(result) == set()


def test_map_children_keep_what_their_item_processor_calls() -> None:
    processor = {
        "Type": "Map",
        "ItemProcessor": {
            "ProcessorConfig": {"Mode": "DISTRIBUTED", "ExecutionType": "STANDARD"},
            "StartAt": "Work",
            "States": {"Work": {**invoke(FN + "worker:1"), "End": True}},
        },
    }
    child = execution("child-1", "rev1", parent=EX_PARENT, map_run_arn=EX_PARENT + "/run")
    account = view(
        functions=[function("worker", 2)],
        state_machines=[machine("approval", "rev2")],
        executions=[child],
        definitions=defs(("rev1", definition(processor)), ("rev2", definition(invoke(FN + "worker:2")))),
        roles={ROLE + "sm-role": invoke_role("sm-role", FN + "worker:*")},
    )
    result = plan(account, **NO_GRACE)
    reasons = kept(result)[FN + "worker:1"]
    assert "Map child of parent" in reasons[0]
    assert "ItemProcessor.States.Work" in reasons[0]
    assert deleted(result) == set()


EX_PARENT = "arn:aws:states:eu-west-1:123456789012:execution:approval:parent"


def test_redrivable_execution_keeps_its_version() -> None:
    failed = execution(
        "failed", "rev1", status="FAILED", stop=NOW - timedelta(days=13), redrive_status="REDRIVABLE"
    )
    account = view(
        functions=[function("hello", 2)],
        state_machines=[machine("approval", "rev2")],
        executions=[failed],
        definitions=defs(
            ("rev1", definition(invoke(FN + "hello:1"))), ("rev2", definition(invoke(FN + "hello:2")))
        ),
        roles=hello_role(),
    )
    reasons = kept(plan(account, **NO_GRACE))[FN + "hello:1"]
    assert "execution failed (FAILED, redrive REDRIVABLE) may call it" in reasons[0]


def test_dynamic_call_keeps_every_version_its_role_may_invoke_and_says_so() -> None:
    dynamic = definition(invoke("", **{"FunctionName.$": "$.target"}))
    account = view(
        functions=[function("hello", 3), function("other", 2)],
        state_machines=[machine("approval", "rev1")],
        executions=[execution("dyn", "rev1")],
        definitions=defs(("rev1", dynamic)),
        roles={ROLE + "sm-role": invoke_role("sm-role", FN + "hello:*")},
    )
    result = plan(account, **NO_GRACE)
    assert {FN + "hello:1", FN + "hello:2", FN + "hello:3"} <= set(kept(result))
    assert deleted(result) == {FN + "other:1", FN + "other:2"}
    assert any("FunctionName.$ chooses the function at run time" in note for note in result.notes)
    assert any("every version of the functions its role may invoke" in note for note in result.notes)


def test_jsonata_call_is_dynamic_too() -> None:
    jsonata = {
        "Type": "Task",
        "Resource": "arn:aws:states:::lambda:invoke",
        "Arguments": {"FunctionName": "{% $states.input.fn %}"},
    }
    account = view(
        functions=[function("hello", 2)],
        state_machines=[machine("approval", "rev1")],
        definitions=defs(("rev1", definition(jsonata))),
        roles=hello_role(),
    )
    result = plan(account, **NO_GRACE)
    assert deleted(result) == set()
    assert any("JSONata" in note for note in result.notes)


def test_lambda_alias_targets_mappings_and_urls_are_kept() -> None:
    hello = function(
        "hello",
        6,
        aliases=[alias("live", "2", v3=0.1)],
        mapping_qualifiers=["4"],
        url_qualifiers=["5"],
    )
    account = view(functions=[hello], state_machines=[], definitions={})
    result = plan(account, **NO_GRACE)
    assert kept(result)[FN + "hello:2"] == ["target of alias live"]
    assert kept(result)[FN + "hello:3"] == ["target of alias live (10% of its traffic)"]
    assert kept(result)[FN + "hello:4"] == ["an event source mapping invokes it"]
    assert kept(result)[FN + "hello:5"] == ["a function URL points at it"]
    assert deleted(result) == {FN + "hello:1", FN + "hello:6"}


def test_keep_newest_n_and_min_age() -> None:
    hello = function("hello", 5)
    young = hello.versions[0].__class__("6", FN + "hello:6", NOW - timedelta(minutes=10))
    hello.versions.append(young)
    result = plan(view(functions=[hello]), keep=2, min_age=timedelta(hours=1))
    assert set(kept(result)) == {FN + "hello:5", FN + "hello:6"}
    assert kept(result)[FN + "hello:6"] == [
        "among the newest 2 versions (--keep)",
        "younger than --min-age (10 min old)",
    ]
    assert deleted(result) == {FN + f"hello:{n}" for n in range(1, 5)}
    # numeric order, not text order: version 10 is newer than version 9
    many = function("many", 10)
    assert set(kept(plan(view(functions=[many]), keep=1, min_age=timedelta(0)))) == {FN + "many:10"}


def test_versions_of_the_stack_are_left_to_cloudformation() -> None:
    account = view(
        functions=[function("hello", 2)],
        stack_resources=[StackResource("HelloVersionA", FN + "hello:1", "AWS::Lambda::Version")],
    )
    result = plan(account, **NO_GRACE)
    assert kept(result)[FN + "hello:1"] == ["a resource of the stack (HelloVersionA)"]
    assert deleted(result) == {FN + "hello:2"}


def test_retained_function_goes_whole_once_nothing_needs_it() -> None:
    gone = function("gone", 3, in_stack=False, retained=True)
    used = function("used", 3, in_stack=False, retained=True)
    account = view(
        functions=[gone, used],
        state_machines=[machine("approval", "rev2")],
        executions=[execution("e1", "rev1")],
        definitions=defs(("rev1", definition(invoke(FN + "used:2"))), ("rev2", definition({"Type": "Pass"}))),
        roles={ROLE + "sm-role": invoke_role("sm-role", FN + "used:*")},
    )
    # --keep does not hold versions of functions that left the stack
    result = plan(account, keep=5, min_age=timedelta(0))
    assert deleted(result, FUNCTION) == {FN + "gone"}
    assert FN + "gone:1" not in deleted(result)  # deleted with the function, not one by one
    assert deleted(result) == {FN + "used:1", FN + "used:3"}
    assert "retained function still needed" in kept(result, FUNCTION)[FN + "used"][0]


def test_retained_function_called_unqualified_stays() -> None:
    gone = function("gone", 1, in_stack=False, retained=True)
    account = view(
        functions=[gone],
        executions=[execution("e1", "rev1")],
        definitions=defs(("rev1", definition({"Type": "Task", "Resource": FN + "gone"}))),
        roles={ROLE + "sm-role": invoke_role("sm-role", FN + "gone")},
    )
    result = plan(account, **NO_GRACE)
    assert deleted(result, FUNCTION) == set()
    assert deleted(result) == {FN + "gone:1"}


def test_unused_state_machine_versions_follow_keep_and_min_age() -> None:
    versions = [StateMachineVersion(f"{SM}approval:{n}", NOW - timedelta(days=10 - n)) for n in (1, 2, 3)]
    account = view(
        state_machines=[machine("approval", "rev1", versions=versions)], definitions=defs(("rev1", "{}"))
    )
    result = plan(account, keep=1, min_age=timedelta(days=8, hours=1))
    assert deleted(result, STATE_MACHINE_VERSION) == {f"{SM}approval:1"}
    assert kept(result, STATE_MACHINE_VERSION)[f"{SM}approval:2"] == ["younger than --min-age (192 h old)"]


def test_retained_grants_go_when_no_one_with_the_role_needs_their_function() -> None:
    grant = [Statement("Allow", ("lambda:InvokeFunction",), (FN + "hello:*",))]
    old_grant = [Statement("Allow", ("lambda:InvokeFunction",), (FN + "gone:*",))]
    role = invoke_role(
        "sm-role",
        FN + "hello:*",
        **{
            "SfnExactVersion-aaaa": grant,
            "SfnExactVersion-bbbb": old_grant,
            "SfnExactVersion-cccc": old_grant,
        },
    )
    account = view(
        functions=[function("hello", 1)],
        executions=[execution("e1", "rev1")],
        definitions=defs(("rev1", definition(invoke(FN + "hello:1")))),
        roles={role.arn: role},
        stack_resources=[StackResource("GrantC", "SfnExactVersion-cccc", "AWS::IAM::RolePolicy")],
    )
    result = plan(account, **NO_GRACE)
    assert deleted(result, ROLE_POLICY) == {role.arn + "#SfnExactVersion-bbbb"}
    assert kept(result, ROLE_POLICY)[role.arn + "#SfnExactVersion-aaaa"] == [
        "execution e1 (RUNNING) may call hello with this role"
    ]
    assert kept(result, ROLE_POLICY)[role.arn + "#SfnExactVersion-cccc"] == ["a resource of the stack"]
    item = next(item for item in result.delete if item.kind == ROLE_POLICY)
    assert (item.role, item.name) == ("sm-role", "SfnExactVersion-bbbb")


def test_an_unreadable_definition_keeps_everything() -> None:
    account = view(
        functions=[function("hello", 3)],
        executions=[execution("e1", "missing")],
        definitions={},
    )
    result = plan(account, **NO_GRACE)
    assert deleted(result) == set()
    assert any("could not be read" in note for note in result.notes)


def test_provisioned_concurrency_on_an_old_kept_version_is_reported_not_removed() -> None:
    hello = function("hello", 2, provisioned={"1": 5})
    account = view(
        functions=[hello],
        state_machines=[machine("approval", "rev2")],
        executions=[execution("e1", "rev1")],
        definitions=defs(
            ("rev1", definition(invoke(FN + "hello:1"))), ("rev2", definition(invoke(FN + "hello:2")))
        ),
        roles=hello_role(),
    )
    result = plan(account, **NO_GRACE)
    assert FN + "hello:1" in kept(result)
    (note,) = [note for note in result.notes if "provisioned concurrency" in note]
    assert "hello:1 keeps 5 provisioned concurrency" in note
    assert "delete-provisioned-concurrency-config --function-name hello --qualifier 1" in note


def test_plan_as_json_names_kind_arn_and_reasons() -> None:
    result = plan(view(functions=[function("hello", 1)]), **NO_GRACE)
    assert result.to_dict() == {
        "delete": [{"kind": "lambda-version", "arn": FN + "hello:1", "reasons": ["nothing may call it"]}],
        "keep": [],
        "notes": [],
    }


def test_a_grant_of_the_role_credentials_name_stays_while_a_call_makes_it() -> None:
    """A Task with Credentials calls Lambda as the role they name: that role's grant is needed, not the
    execution's; a role chosen from the state's data keeps every role's grant of the function."""
    grant = [Statement("Allow", ("lambda:InvokeFunction",), (FN + "hello:*",))]
    sm_role = invoke_role("sm-role", **{"SfnExactVersion-aaaa": grant})
    caller = invoke_role("caller-role", **{"SfnExactVersion-bbbb": grant})
    other = invoke_role("other-role", **{"SfnExactVersion-cccc": grant})
    assumed = {**invoke(FN + "hello:1"), "Credentials": {"RoleArn": caller.arn}}

    def planned(*states: dict[str, object]) -> Plan:
        account = view(
            functions=[function("hello", 1)],
            executions=[execution("e1", "rev1")],
            definitions=defs(("rev1", definition(*states))),
            roles={role.arn: role for role in (sm_role, caller, other)},
        )
        return plan(account, **NO_GRACE)

    result = planned(assumed)
    assert kept(result, ROLE_POLICY) == {
        caller.arn + "#SfnExactVersion-bbbb": ["execution e1 (RUNNING) may call hello with this role"]
    }
    assert deleted(result, ROLE_POLICY) == {
        sm_role.arn + "#SfnExactVersion-aaaa",
        other.arn + "#SfnExactVersion-cccc",
    }
    from_data = {**invoke(FN + "hello:1"), "Credentials": {"RoleArn.$": "$.role"}}
    result = planned(from_data)
    assert deleted(result, ROLE_POLICY) == set()
    assert kept(result, ROLE_POLICY)[other.arn + "#SfnExactVersion-cccc"] == [
        "execution e1 (RUNNING) may call hello with a role its Credentials choose at run time"
    ]
