"""The Lambda versions a definition may call, read from the definition Step Functions really runs.

The calls are found by the core's ``definitions.find_calls`` (Task ``Resource`` ARNs, ``lambda:invoke``
with ``Parameters``/``Arguments`` ``FunctionName`` and ``Qualifier``, at any depth of Parallel and Map),
then each is resolved against the functions in scope: a version, an alias (every version it routes to),
``$LATEST``, or dynamic (``FunctionName.$``, a JSONata expression): then every version of every function
in scope that the calling role may invoke, and the caller says so. The calling role is the execution's,
or the one a Task's ``Credentials.RoleArn`` names (Step Functions then calls Lambda as that role).
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from sfn_exact_version.decisions.iam import INVOKE, allows
from sfn_exact_version.definitions import find_calls
from sfn_exact_version.index import parse_lambda_reference
from sfn_exact_version.intrinsics import Atom, symbolic
from sfn_exact_version.live.model import LambdaFunction, Role

LATEST = "$LATEST"


@dataclass(frozen=True)
class CallSite:
    """One Lambda call of a definition, as written."""

    state: str
    text: str  # the target as written
    function: str = ""  # the function's name ("" when dynamic or not a Lambda function of this account)
    qualifier: str = ""  # a version number, an alias name, $LATEST, or "" (unqualified)
    dynamic: str = ""  # why the function is chosen at run time
    foreign: bool = False  # another account or Region
    role_arn: str = ""  # Credentials.RoleArn: the role the call is made with ("" the execution's)


@dataclass(frozen=True)
class Reach:
    """A function version a call may invoke: ``qualifier`` is a version number or ``$LATEST``."""

    function: str
    qualifier: str
    state: str
    via: str = ""  # "alias live", "dynamic: ...", "unqualified": how the call gets there
    role_arn: str = ""  # the role the call is made with, when not the execution's (Credentials)


class UnreadableDefinitionError(ValueError):
    """A definition that is not JSON (AWS returns valid JSON; this guards the decisions anyway)."""


def _text(value: Any) -> str:
    found = symbolic(value)
    if found is None or any(isinstance(piece, Atom) for piece in found):
        return json.dumps(value)
    return "".join(piece for piece in found if isinstance(piece, str))


def _is_jsonata(value: Any) -> bool:
    return isinstance(value, str) and value.strip().startswith("{%")


def _get(document: Any, path: tuple[Any, ...]) -> Any:
    for key in path:
        document = document[key]
    return document


# The role of a Task whose Credentials choose it from the state's data (RoleArn.$): unknown before it runs.
ROLE_AT_RUN_TIME = "(chosen at run time)"


def _calling_role(credentials: Any) -> str:
    """The role a Task's ``Credentials`` names ("" without Credentials, :data:`ROLE_AT_RUN_TIME` when
    chosen from the state's data or not written as one ARN)."""
    if credentials is None:
        return ""
    role = credentials.get("RoleArn") if isinstance(credentials, dict) else None
    return role if isinstance(role, str) and not _is_jsonata(role) else ROLE_AT_RUN_TIME


def call_sites(text: str, *, region: str, account_id: str, partition: str) -> list[CallSite]:
    """Every Lambda call of a definition, in document order."""
    try:
        document = json.loads(text)
    except ValueError as error:
        raise UnreadableDefinitionError(f"the definition is not JSON: {error}") from error
    pseudo = {"AWS::Region": region, "AWS::AccountId": account_id, "AWS::Partition": partition}
    sites = []
    for call in find_calls(document, symbolic):
        written = _text(call.value)
        role = _calling_role(call.credentials)
        if call.dynamic or _is_jsonata(call.value):
            reason = call.dynamic or "a JSONata expression chooses the function"
            sites.append(CallSite(call.state, written, dynamic=reason, role_arn=role))
            continue
        if call.target is None:
            continue
        reference = parse_lambda_reference(call.target, pseudo, allow_bare_name=call.context != "resource")
        if reference is None or any(isinstance(piece, Atom) for piece in reference.name):
            continue  # not a Lambda function (another service's Resource)
        name = "".join(str(piece) for piece in reference.name)
        qualifier = "".join(str(piece) for piece in reference.qualifier or ())
        if call.qualified:
            arguments = _get(document, call.json_path[:-1])
            if "Qualifier.$" in arguments or _is_jsonata(arguments.get("Qualifier")):
                dynamic = "Qualifier is chosen at run time"
                sites.append(CallSite(call.state, written, name, dynamic=dynamic, role_arn=role))
                continue
            qualifier = str(arguments.get("Qualifier", qualifier))
        sites.append(CallSite(call.state, written, name, qualifier, foreign=reference.foreign, role_arn=role))
    return sites


def reach(
    site: CallSite,
    functions: Mapping[str, LambdaFunction],
    role: Role | None,
) -> tuple[list[Reach], str]:
    """The function versions in scope ``site`` may invoke, and a note when the answer is an assumption
    (an unknown alias, a dynamic call). ``functions``: the functions in scope by name; ``role``: the role
    the call is made with, as it is now (a dynamic call may reach only what it allows; unknown:
    everything)."""
    if site.foreign:
        return [], ""
    role_arn = site.role_arn
    if site.dynamic:
        found = []
        for function in functions.values():
            for qualifier in [*(v.version for v in function.versions), LATEST]:
                arn = function.arn if qualifier == LATEST else f"{function.arn}:{qualifier}"
                if role is None or allows(role.statements(), INVOKE, arn):
                    via = f"dynamic: {site.dynamic}"
                    found.append(Reach(function.name, qualifier, site.state, via, role_arn))
        limit = "the functions its role may invoke" if role is not None else "every function in scope"
        return found, f"{site.state}: {site.dynamic}; every version of {limit} is counted"
    named = functions.get(site.function)
    if named is None:
        return [], ""
    function = named
    if not site.qualifier or site.qualifier == LATEST:
        via = "unqualified" if not site.qualifier else LATEST
        return [Reach(function.name, LATEST, site.state, via, role_arn)], ""
    if site.qualifier.isdigit():
        return [Reach(function.name, site.qualifier, site.state, "", role_arn)], ""
    for alias in function.aliases:
        if alias.name == site.qualifier:
            via = f"alias {alias.name}"
            return [Reach(function.name, v, site.state, via, role_arn) for v in alias.versions], ""
    # An alias that does not exist (yet): the call fails today; nothing in scope to keep for it.
    return [], f"{site.state}: alias {site.function}:{site.qualifier} does not exist"
