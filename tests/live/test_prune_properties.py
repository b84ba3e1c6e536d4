"""Property: prune never deletes what something may still call, and deletes everything else it may.

Accounts are drawn with functions (in the stack or retained), versions, Lambda aliases with weights,
event source mappings, a role allowing some functions, a state machine with versions and an alias, and
executions whose definitions call versions, aliases, unqualified functions or choose at run time, nested in
Parallel branches. Each drawn account carries what every definition calls, so the oracle below does not
share code with the prune decision.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from tests.live.views import FN, NOW, OLD, ROLE, SM, execution, invoke, view

from sfn_exact_version.decisions.prune import FUNCTION, LAMBDA_VERSION, STATE_MACHINE_VERSION, plan
from sfn_exact_version.live.model import (
    AccountView,
    Definition,
    LambdaAlias,
    LambdaFunction,
    LambdaVersion,
    Role,
    StateMachine,
    StateMachineAlias,
    StateMachineVersion,
    Statement,
)

NAMES = ("f0", "f1", "f2")


@dataclass
class Drawn:
    account: AccountView
    keep: int
    min_age: timedelta
    calls: dict[str, list[tuple[str, ...]]] = field(default_factory=dict)  # definition key -> calls


def _call_state(call: tuple[str, ...]) -> dict[str, Any]:
    kind = call[0]
    if kind == "version":
        return invoke(f"{FN}{call[1]}:{call[2]}")
    if kind == "alias":
        return {"Type": "Task", "Resource": f"{FN}{call[1]}:{call[2]}"}
    if kind == "unqualified":
        return invoke(call[1])
    return invoke("", **{"FunctionName.$": "$.target"})


def _definition(calls: list[tuple[str, ...]], nest: bool) -> str:
    states: dict[str, Any] = {}
    names = [f"S{i}" for i in range(len(calls))] or ["Nothing"]
    if not calls:
        states["Nothing"] = {"Type": "Pass", "End": True}
    for position, call in enumerate(calls):
        state = dict(_call_state(call))
        if nest and position == 0:
            state = {
                "Type": "Parallel",
                "Branches": [{"StartAt": "In", "States": {"In": {**state, "End": True}}}],
            }
        if position + 1 < len(calls):
            state["Next"] = names[position + 1]
        else:
            state["End"] = True
        states[names[position]] = state
    return json.dumps({"StartAt": names[0], "States": states})


@st.composite
def accounts(draw: Any) -> Drawn:
    functions = []
    for name in NAMES[: draw(st.integers(1, 3))]:
        count = draw(st.integers(1, 6))
        ages = [draw(st.sampled_from([OLD, NOW - timedelta(minutes=5)])) for _ in range(count)]
        function = LambdaFunction(
            name,
            FN + name,
            logical_id=name,
            in_stack=draw(st.booleans()),
            versions=[LambdaVersion(str(n + 1), f"{FN}{name}:{n + 1}", ages[n]) for n in range(count)],
        )
        function.retained = not function.in_stack
        if draw(st.booleans()):
            target = str(draw(st.integers(1, count)))
            extra = str(draw(st.integers(1, count)))
            weights = {extra: 0.1} if extra != target and draw(st.booleans()) else {}
            function.aliases.append(LambdaAlias("live", "", target, weights))
        if draw(st.booleans()):
            function.mapping_qualifiers.append(str(draw(st.integers(1, count))))
        functions.append(function)
    allowed = draw(st.sets(st.sampled_from([f.name for f in functions])))
    role = Role(ROLE + "r", "r")
    entries = tuple(f"{FN}{name}{suffix}" for name in sorted(allowed) for suffix in ("", ":*"))
    role.inline["main"] = [Statement("Allow", ("lambda:InvokeFunction",), entries)]

    def call() -> tuple[str, ...]:
        function = draw(st.sampled_from(functions))
        kinds = ["version", "unqualified", "dynamic"] + (["alias"] if function.aliases else [])
        kind = draw(st.sampled_from(kinds))
        if kind == "version":
            return ("version", function.name, str(draw(st.integers(1, len(function.versions)))))
        if kind == "alias":
            return ("alias", function.name, "live")
        if kind == "unqualified":
            return ("unqualified", function.name)
        return ("dynamic",)

    definitions: dict[str, Definition] = {}
    calls: dict[str, list[tuple[str, ...]]] = {}

    def new_definition(key: str) -> str:
        made = [call() for _ in range(draw(st.integers(0, 3)))]
        calls[key] = made
        definitions[key] = Definition(key, _definition(made, draw(st.booleans())), role.arn)
        return key

    machine = StateMachine(SM + "m", "m", "STANDARD", "m", new_definition("current"), role.arn)
    for number in range(1, draw(st.integers(0, 3)) + 1):
        created = draw(st.sampled_from([OLD, NOW]))
        key = new_definition(f"smv{number}")
        machine.versions.append(StateMachineVersion(f"{SM}m:{number}", created, key))
    if machine.versions and draw(st.booleans()):
        routed = draw(st.sets(st.sampled_from([v.arn for v in machine.versions]), min_size=1, max_size=2))
        machine.aliases.append(StateMachineAlias(SM + "m:live", "live", {arn: 50 for arn in routed}))
    executions = []
    for number in range(draw(st.integers(0, 4))):
        status = draw(st.sampled_from(["RUNNING", "PENDING_REDRIVE", "FAILED"]))
        version = draw(st.sampled_from(["", *(v.arn for v in machine.versions)]))
        key = next((v.definition_key for v in machine.versions if v.arn == version), None) or new_definition(
            f"e{number}"
        )
        executions.append(
            execution(
                f"e{number}", key, status=status, role="r", version_arn=version, redrive_status="REDRIVABLE"
            )
        )
    account = view(
        functions=functions,
        state_machines=[machine],
        executions=executions,
        definitions=definitions,
        roles={role.arn: role},
    )
    keep = draw(st.integers(0, 3))
    min_age = draw(st.sampled_from([timedelta(0), timedelta(hours=1)]))
    return Drawn(account, keep, min_age, calls)


def needed(drawn: Drawn) -> set[tuple[str, str]]:
    """The oracle: every (function, version or $LATEST) something may call."""
    account = drawn.account
    functions = {f.name: f for f in account.functions}
    allowed = {
        r.split(":function:")[1]
        for r in account.roles[ROLE + "r"].inline["main"][0].resources
        if not r.endswith(":*")
    }
    (machine,) = account.state_machines
    keys = [machine.definition_key, *(e.definition_key for e in account.executions)]
    routed = {arn for alias in machine.aliases for arn in alias.routing}
    keys += [v.definition_key for v in machine.versions if v.arn in routed]
    found: set[tuple[str, str]] = set()
    for key in keys:
        for call in drawn.calls.get(key or "", []):
            if call[0] == "version":
                found.add((call[1], call[2]))
            elif call[0] == "alias":
                alias = functions[call[1]].aliases[0]
                found |= {(call[1], v) for v in [alias.version, *alias.weights]}
            elif call[0] == "unqualified":
                found.add((call[1], "$LATEST"))
            else:
                for name in allowed:
                    found |= {(name, v.version) for v in functions[name].versions} | {(name, "$LATEST")}
    for function in account.functions:
        for alias in function.aliases:
            found |= {(function.name, v) for v in [alias.version, *alias.weights]}
        found |= {(function.name, q) for q in function.mapping_qualifiers}
    return found


@settings(
    max_examples=300,
    deadline=None,
    derandomize=True,
    database=None,
    suppress_health_check=[HealthCheck.too_slow],
)
@given(accounts())
def test_prune_deletes_exactly_what_nothing_may_call(drawn: Drawn) -> None:
    result = plan(drawn.account, keep=drawn.keep, min_age=drawn.min_age)
    must_keep = needed(drawn)
    deleted_versions = {item.arn for item in result.delete if item.kind == LAMBDA_VERSION}
    deleted_functions = {item.arn for item in result.delete if item.kind == FUNCTION}
    for function in drawn.account.functions:
        wanted = {v for name, v in must_keep if name == function.name}
        if function.arn in deleted_functions:
            assert function.retained and not wanted, (function.name, wanted)
            continue
        newest = sorted((int(v.version) for v in function.versions), reverse=True)[: drawn.keep]
        for version in function.versions:
            young = NOW - version.last_modified < drawn.min_age if version.last_modified else True
            protected = (
                version.version in wanted
                or young
                or (not function.retained and int(version.version) in newest)
            )
            # safety: nothing needed goes; completeness: everything else does
            assert (version.arn in deleted_versions) == (not protected), (function.name, version.version)
    (machine,) = drawn.account.state_machines
    routed = {arn for alias in machine.aliases for arn in alias.routing}
    running = {e.version_arn for e in drawn.account.executions}
    for item in result.delete:
        if item.kind == STATE_MACHINE_VERSION:
            assert item.arn not in routed and item.arn not in running
