"""live/ read offline: moto for Lambda, IAM and tags; small fakes for what moto does not model faithfully
(Step Functions versions, aliases, executions and the definitions they run; the processed template)."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from tests.live.conftest import DAY, FN, NOW
from tests.live.fakes import ACCOUNT, REGION, client_error

from sfn_exact_version.decisions.prune import (
    FUNCTION,
    LAMBDA_VERSION,
    ROLE_POLICY,
    STATE_MACHINE_VERSION,
    plan,
)
from sfn_exact_version.live.apply import apply
from sfn_exact_version.live.errors import LiveReadError, MissingPermissionError
from sfn_exact_version.live.gather import read_scope, read_stack


def test_read_stack(world: dict[str, Any]) -> None:
    view = read_stack(world["session"], "app", now=NOW)
    assert (view.account_id, view.region, view.partition, view.stack_status) == (
        ACCOUNT,
        REGION,
        "aws",
        "UPDATE_COMPLETE",
    )
    assert view.deployed_parameters == {"Stage": "prod"}
    assert view.deployed_template["Resources"]["HelloFunction"]["DeletionPolicy"] == "Retain"
    functions = {f.name: f for f in view.functions}
    assert set(functions) == {"hello", "worker", "gone"}  # "elsewhere" belongs to another stack
    assert (functions["gone"].retained, functions["gone"].logical_id, functions["gone"].in_stack) == (
        True,
        "GoneFunction",
        False,
    )
    assert (functions["hello"].in_stack, functions["hello"].logical_id) == (True, "HelloFunction")
    assert [v.version for v in functions["hello"].versions] == ["1", "2", "3", "4"]
    (live,) = functions["hello"].aliases
    assert (live.name, live.version, live.weights) == ("live", "2", {"3": 0.1})
    assert functions["worker"].mapping_qualifiers == ["1"]
    assert functions["hello"].url_qualifiers == ["live"]
    assert functions["hello"].provisioned == {"1": 3}

    by_name = {e.name: e for e in view.executions}
    assert set(by_name) == {"old", "new1", "new2", "new3", "canary1", "canary2", "failed", "child1"}
    assert by_name["failed"].redrive_status == "REDRIVABLE"
    assert by_name["child1"].parent == by_name["new1"].arn
    assert by_name["canary1"].alias_arn.endswith(":approval:live")
    keys = {name: e.definition_key for name, e in by_name.items()}
    assert keys == {
        "old": "rev1",
        "new1": "rev3",
        "new2": "rev3",
        "new3": "rev3",
        "canary1": "rev2",
        "canary2": "rev2",
        "failed": "rev1",
        "child1": "rev3",
    }
    sfn = world["sfn"]
    # one DescribeStateMachineForExecution per version (canary*), and per revision for the others: new1
    # stands for new2 and new3, failed for old
    assert sfn.calls["describe_state_machine_for_execution"] == 3
    # DescribeExecution only for stopped executions inside the 14-day redrive window
    assert sfn.calls["describe_execution"] == 2
    machines = {m.name: m for m in view.state_machines}
    assert machines["fast"].type == "EXPRESS"
    assert any("fast is an EXPRESS state machine" in note for note in view.notes)
    assert [(a.name, a.routing) for a in machines["approval"].aliases] == [
        ("live", {world["v2"]: 90.0, world["v3"]: 10.0})
    ]
    versions = {v.arn: v for v in machines["approval"].versions}
    assert versions[world["v2"]].definition_key == "rev2" and versions[world["v1"]].definition_key is None
    assert versions[world["v3"]].in_stack
    role = view.roles[world["sm_role"]]
    assert set(role.inline) == {"invoke", "SfnExactVersion-aaaa", "SfnExactVersion-bbbb"}
    assert role.managed[world["managed"]][0].resources == (FN + "worker:*",)
    # botocore rewrites max_attempts (retries after the first) as total_max_attempts (calls in all)
    retries = [config.retries for config in world["session"].configs]
    assert all(
        r["mode"] == "adaptive" and 10 in (r.get("max_attempts"), r.get("total_max_attempts", 0) - 1)
        for r in retries
    )


def test_prune_end_to_end_offline(world: dict[str, Any]) -> None:
    from datetime import timedelta as td

    # moto stamps versions with the real clock (NOW is taken when the tests are collected, possibly
    # minutes earlier): read just after now, so that every version is older than --min-age 0
    view = read_stack(world["session"], "app", now=datetime.now(UTC) + td(minutes=1))
    result = plan(view, keep=0, min_age=td(0))
    deleted = {(item.kind, item.arn) for item in result.delete}
    assert deleted == {
        (LAMBDA_VERSION, FN + "hello:4"),
        (FUNCTION, FN + "gone"),
        (STATE_MACHINE_VERSION, world["v1"]),
        (ROLE_POLICY, world["sm_role"] + "#SfnExactVersion-bbbb"),
    }
    outcome = apply(world["session"], result.delete)
    assert outcome.refused == []
    lam, iam = world["lambda"], world["iam"]
    assert [v["Version"] for v in lam.list_versions_by_function(FunctionName="hello")["Versions"]] == [
        "$LATEST",
        "1",
        "2",
        "3",
    ]
    assert "gone" not in {f["FunctionName"] for f in lam.list_functions()["Functions"]}
    assert sorted(iam.list_role_policies(RoleName="sm-role")["PolicyNames"]) == [
        "SfnExactVersion-aaaa",
        "invoke",
    ]
    assert world["sfn"].deleted == [world["v1"]]


def test_a_refused_deletion_is_reported_not_fatal(world: dict[str, Any]) -> None:
    view = read_stack(world["session"], "app", now=datetime.now(UTC) + timedelta(minutes=1))
    items = plan(view, keep=0, min_age=timedelta(0)).delete
    world["sfn"].errors["delete_state_machine_version"] = [
        client_error("ConflictException", "DeleteStateMachineVersion", "an alias references it")
    ]
    outcome = apply(world["session"], items)
    ((item, why),) = outcome.refused
    assert item.kind == STATE_MACHINE_VERSION
    assert "ConflictException" in why and "an alias references it" in why
    assert len(outcome.deleted) == 3


def test_read_scope_without_a_stack(world: dict[str, Any]) -> None:
    view = read_scope(
        world["session"], functions=["hello", FN + "worker"], state_machines=[world["machine"]], now=NOW
    )
    assert {f.name for f in view.functions} == {"hello", "worker"}
    assert all(not f.in_stack and not f.retained for f in view.functions)
    assert view.stack_resources == [] and view.account_id == ACCOUNT


def test_missing_permission_names_the_action(world: dict[str, Any]) -> None:
    world["sfn"].errors["list_executions"] = [
        client_error(
            "AccessDeniedException",
            "ListExecutions",
            "User is not authorized to perform states:ListExecutions",
        )
    ]
    with pytest.raises(MissingPermissionError) as raised:
        read_stack(world["session"], "app", now=NOW)
    assert raised.value.action == "states:ListExecutions"
    assert raised.value.message.startswith(
        f"missing IAM permission states:ListExecutions on {world['machine']}"
    )


def test_throttling_that_outlasts_the_retries_is_an_error_naming_the_call(world: dict[str, Any]) -> None:
    world["cfn"].errors["get_template"] = [client_error("Throttling", "GetTemplate", "Rate exceeded")]
    with pytest.raises(LiveReadError, match="cloudformation:GetTemplate was throttled"):
        read_stack(world["session"], "app", now=NOW)


def test_missing_stack(world: dict[str, Any]) -> None:
    with pytest.raises(LiveReadError, match="cloudformation:DescribeStacks: nope does not exist"):
        read_stack(world["session"], "nope", now=NOW)


def test_throttling_is_retried_by_botocore(world: dict[str, Any], monkeypatch: pytest.MonkeyPatch) -> None:
    """A real botocore client with our retry configuration: two 429 answers, then moto's."""
    slept: list[float] = []
    monkeypatch.setattr("time.sleep", slept.append)  # botocore's backoff, without the wait
    from botocore.awsrequest import AWSResponse

    class Raw:
        def stream(self, **_: Any) -> Iterator[bytes]:
            yield b'{"message": "Rate exceeded"}'

    throttled = {"count": 0}

    def throttle(**_: Any) -> Any:
        if throttled["count"] < 2:
            throttled["count"] += 1
            headers = {"x-amzn-ErrorType": "TooManyRequestsException", "Content-Type": "application/json"}
            return AWSResponse("https://lambda", 429, headers, Raw())
        return None

    session = world["session"]
    original = session.client

    def client(service: str, config: Any = None) -> Any:
        made = original(service, config)
        if service == "lambda":
            made._real.meta.events.register_first("before-send.lambda.ListAliases", throttle)
        return made

    session.client = client
    view = read_stack(session, "app", now=NOW)
    assert throttled["count"] == 2
    assert len(slept) >= 2  # botocore backed off before each retry
    assert {f.name for f in view.functions} == {"hello", "worker", "gone"}


def test_definitions_are_read_once_per_revision_not_per_execution() -> None:
    """300 unversioned executions over three revisions, plus 100 on two versions: a handful of calls."""
    from tests.live.fakes import FakeStepFunctions, Session

    from sfn_exact_version.live.gather import Reader, _Definitions
    from sfn_exact_version.live.model import AccountView

    sfn = FakeStepFunctions()
    machine = sfn.add_machine("busy", "{}", "arn:aws:iam::123456789012:role/r", "rev3")
    updates = {"rev1": NOW - 30 * DAY, "rev2": NOW - 20 * DAY, "rev3": NOW - 10 * DAY}
    items = []
    for n in range(300):
        start = NOW - timedelta(hours=n * 2 + 1)  # 25 days back: three revisions
        revision = "rev3" if start > updates["rev3"] else "rev2" if start > updates["rev2"] else "rev1"
        arn = sfn.add_execution(machine, f"e{n}", "RUNNING", start, _runs=("{}", revision, updates[revision]))
        items.append({"executionArn": arn, "startDate": start})
    for n in range(100):
        version = f"{machine}:{1 + n % 2}"
        runs = ("{}", f"v{1 + n % 2}", NOW - 40 * DAY)
        arn = sfn.add_execution(
            machine, f"v{n}", "RUNNING", NOW - DAY, stateMachineVersionArn=version, _runs=runs
        )
        items.append({"executionArn": arn, "startDate": NOW - DAY, "stateMachineVersionArn": version})
    view = AccountView(REGION, ACCOUNT, "aws", NOW)
    definitions = _Definitions(Reader(Session({"stepfunctions": sfn})), view)
    assigned = definitions.assign(items)
    expected = {item["executionArn"]: item["_runs"][1] for item in sfn.executions}
    assert {arn: key for arn, (key, _) in assigned.items()} == expected
    # one per version (2) and one per revision of the unversioned executions (3); none starts within 5
    # minutes of an update or of the execution that stands for its revision
    assert sfn.calls["describe_state_machine_for_execution"] == 5, sfn.calls
