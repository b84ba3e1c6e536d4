"""Carry out a prune plan: the only module of ``live/`` that changes the account.

Lambda versions are deleted with a qualified ``DeleteFunction`` (never the function by accident); a
retained function that left the stack with an unqualified one; state machine versions with
``DeleteStateMachineVersion``; retained grants with ``DeleteRolePolicy``. A deletion AWS refuses (a version
an alias took meanwhile, a missing permission) is reported and the rest goes on.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from sfn_exact_version.decisions.prune import (
    FUNCTION,
    LAMBDA_VERSION,
    ROLE_POLICY,
    STATE_MACHINE_VERSION,
    Item,
)
from sfn_exact_version.live.errors import LiveReadError
from sfn_exact_version.live.gather import Reader


@dataclass
class Outcome:
    deleted: list[Item] = field(default_factory=list)
    refused: list[tuple[Item, str]] = field(default_factory=list)


def apply(session: Any, items: list[Item]) -> Outcome:
    """Delete ``items`` (a plan's delete list) in order; refusals are collected, not raised."""
    reader = Reader(session)
    outcome = Outcome()
    for item in items:
        try:
            _delete(reader, item)
        except LiveReadError as error:
            outcome.refused.append((item, error.message))
        else:
            outcome.deleted.append(item)
    return outcome


def _delete(reader: Reader, item: Item) -> None:
    if item.kind == LAMBDA_VERSION:
        function, _, version = item.arn.rpartition(":")
        if not version.isdigit():
            raise LiveReadError(f"{item.arn} is not a version ARN; not deleted")
        reader.call("lambda", "DeleteFunction", item.arn, FunctionName=function, Qualifier=version)
    elif item.kind == FUNCTION:
        reader.call("lambda", "DeleteFunction", item.arn, FunctionName=item.arn)
    elif item.kind == STATE_MACHINE_VERSION:
        reader.call("stepfunctions", "DeleteStateMachineVersion", item.arn, stateMachineVersionArn=item.arn)
    elif item.kind == ROLE_POLICY:
        reader.call("iam", "DeleteRolePolicy", item.arn, RoleName=item.role, PolicyName=item.name)
    else:
        raise LiveReadError(f"unknown kind {item.kind!r}; not deleted")
