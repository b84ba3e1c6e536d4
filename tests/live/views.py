"""Builders of plain account views for the preflight and prune tests (no AWS)."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from typing import Any

from sfn_exact_version.live.model import (
    AccountView,
    Definition,
    Execution,
    LambdaAlias,
    LambdaFunction,
    LambdaVersion,
    Role,
    StateMachine,
    StateMachineAlias,
    StateMachineVersion,
    Statement,
)

REGION = "eu-west-1"
ACCOUNT = "123456789012"
NOW = datetime(2026, 12, 1, 12, 0, tzinfo=UTC)
OLD = NOW - timedelta(days=30)
FN = f"arn:aws:lambda:{REGION}:{ACCOUNT}:function:"
SM = f"arn:aws:states:{REGION}:{ACCOUNT}:stateMachine:"
EX = f"arn:aws:states:{REGION}:{ACCOUNT}:execution:"
ROLE = f"arn:aws:iam::{ACCOUNT}:role/"


def invoke(target: str, **more: Any) -> dict[str, Any]:
    """A lambda:invoke Task with Parameters.FunctionName ``target`` (or ``FunctionName.$`` via more)."""
    parameters = {"FunctionName": target, **more} if target else dict(more)
    return {"Type": "Task", "Resource": "arn:aws:states:::lambda:invoke", "Parameters": parameters}


def definition(*states: dict[str, Any]) -> str:
    """A definition running ``states`` in sequence."""
    names = [f"S{i}" for i in range(len(states))]
    body = {}
    for position, (name, state) in enumerate(zip(names, states, strict=True)):
        state = dict(state)
        if position + 1 < len(names):
            state["Next"] = names[position + 1]
        else:
            state["End"] = True
        body[name] = state
    return json.dumps({"StartAt": names[0], "States": body})


def function(name: str, versions: int, *, created: datetime = OLD, **fields: Any) -> LambdaFunction:
    return LambdaFunction(
        name=name,
        arn=FN + name,
        logical_id=fields.pop("logical_id", name.capitalize() + "Function"),
        in_stack=fields.pop("in_stack", True),
        versions=[LambdaVersion(str(n), f"{FN}{name}:{n}", created) for n in range(1, versions + 1)],
        **fields,
    )


def alias(name: str, version: str, **weights: float) -> LambdaAlias:
    return LambdaAlias(name, "", version, {k.lstrip("v"): w for k, w in weights.items()})


def invoke_role(name: str, *resources: str, **inline: list[Statement]) -> Role:
    """A role allowing lambda:InvokeFunction on ``resources``."""
    role = Role(ROLE + name, name)
    if resources:
        role.inline["main"] = [Statement("Allow", ("lambda:InvokeFunction",), resources)]
    role.inline.update(inline)
    return role


def view(**fields: Any) -> AccountView:
    base = AccountView(region=REGION, account_id=ACCOUNT, partition="aws", now=NOW, stack_name="app")
    for key, value in fields.items():
        setattr(base, key, value)
    return base


def machine(name: str, key: str, role: str = "sm-role", **fields: Any) -> StateMachine:
    return StateMachine(SM + name, name, "STANDARD", name, key, ROLE + role, **fields)


def execution(
    name: str, key: str, status: str = "RUNNING", role: str = "sm-role", **fields: Any
) -> Execution:
    return Execution(EX + "approval:" + name, name, status, SM + "approval", key, ROLE + role, **fields)


def defs(*items: tuple[str, str], role: str = "sm-role") -> dict[str, Definition]:
    return {key: Definition(key, text, ROLE + role) for key, text in items}


__all__ = [
    "ACCOUNT",
    "EX",
    "FN",
    "NOW",
    "OLD",
    "REGION",
    "ROLE",
    "SM",
    "StateMachineAlias",
    "StateMachineVersion",
    "alias",
    "definition",
    "defs",
    "execution",
    "function",
    "invoke",
    "invoke_role",
    "machine",
    "view",
]
