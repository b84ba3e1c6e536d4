"""The states of a parsed definition and the Lambda calls among them, whatever form the definition
was written in: this module sees only parsed JSON and a function that resolves a value."""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from typing import Any, NamedTuple

from sfn_exact_version.intrinsics import (
    GET_ATT,
    REF,
    Atom,
    NestingTooDeepError,
    Symbolic,
    intrinsic,
    ref_target,
)
from sfn_exact_version.targets import FUNCTION_NAME, RESOURCE, lambda_management_action, qualifier_note

Path = tuple[str | int, ...]

INTEGRATION = re.compile(r"^arn:[^:]+:states:::(?:aws-sdk:)?lambda:invoke(?:\.waitForTaskToken)?$")

# How many Parallel/Map levels a definition may nest, whatever its form (Step Functions itself documents
# no limit; its definitions are at most 1 MB).
MAX_STATE_DEPTH = 100

_NESTED = ("Iterator", "ItemProcessor")
_new = tuple.__new__  # builds a named tuple from its fields without the keyword handling of its __new__


class Call(NamedTuple):
    """One Lambda call candidate found in a definition (or, with ``sure`` false, a substitution of a
    definition kept in S3, which is a call only when it names a Lambda function)."""

    state: str  # state path, e.g. "States.Fan.Branches[0].States.Hello"
    context: str  # RESOURCE or FUNCTION_NAME
    value: Any  # the parsed JSON value (strings may hold sentinels)
    json_path: Path  # where the value sits in the parsed definition (or in Properties, when not sure)
    target: Symbolic | None  # what the value resolves to
    dynamic: str = ""  # non-empty: why the target is chosen at run time
    qualified: str = ""  # non-empty: the call already sets a Qualifier
    sure: bool = True  # False: a DefinitionS3Location substitution, a call only if it names a function
    credentials: Any = None  # the state's Credentials (parsed), when it sets one: the role that calls


def alternatives(value: Any, json_path: Path, label: str, branches: bool) -> Iterator[tuple[Any, Path, str]]:
    """``value`` itself, or, when ``branches`` and it is an ``Fn::If`` (a ``Definition`` object, which
    CloudFormation resolves), each of its two values (nested ``Fn::If`` too) with its path and a label
    such as `` (Fn::If IsProd: true)``; ``AWS::NoValue`` is skipped."""
    found = intrinsic(value) if branches else None
    if found is None or found[0] != "Fn::If" or not isinstance(found[1], list) or len(found[1]) != 3:
        yield value, json_path, label
        return
    condition = found[1][0] if isinstance(found[1][0], str) else "?"
    for position, side in ((1, "true"), (2, "false")):
        branch = found[1][position]
        if ref_target(branch) == "AWS::NoValue":
            continue
        yield from alternatives(
            branch, (*json_path, "Fn::If", position), f"{label} (Fn::If {condition}: {side})", branches
        )


def iter_states(
    definition: Any, prefix: str = "", json_prefix: Path = (), depth: int = 0, branches: bool = False
) -> Iterator[tuple[str, Path, dict[str, Any]]]:
    """Every state at any depth: ``(state path, JSON path, state)``; Parallel branches, Map ``Iterator``
    and ``ItemProcessor`` included. ``branches``: follow both values of an ``Fn::If`` written in place
    of a state, a branch or a states object (only a ``Definition`` object can hold one). More than
    :data:`MAX_STATE_DEPTH` nested Parallel/Map levels raise :class:`NestingTooDeepError`.

    >>> [path for path, _, _ in iter_states({"States": {"A": {"Type": "Pass"}}})]
    ['States.A']
    """
    if not branches:
        yield from _plain_states(definition, prefix, json_prefix, depth)
        return
    if depth > MAX_STATE_DEPTH:
        raise NestingTooDeepError(f"more than {MAX_STATE_DEPTH} nested Parallel/Map levels")
    for document, document_path, label in alternatives(definition, json_prefix, "", branches):
        if not isinstance(document, dict):
            continue
        for states, states_path, states_label in alternatives(
            document.get("States"), (*document_path, "States"), label, branches
        ):
            if not isinstance(states, dict):
                continue
            for name, value in states.items():
                for state, json_path, state_label in alternatives(
                    value, (*states_path, name), states_label, branches
                ):
                    if not isinstance(state, dict):
                        continue
                    path = f"{prefix}States.{name}{state_label}"
                    yield path, json_path, state
                    for listed, list_path, list_label in alternatives(
                        state.get("Branches"), (*json_path, "Branches"), "", branches
                    ):
                        if not isinstance(listed, list):
                            continue
                        for position, branch in enumerate(listed):
                            yield from iter_states(
                                branch,
                                f"{path}.Branches{list_label}[{position}].",
                                (*list_path, position),
                                depth + 1,
                                branches,
                            )
                    for key in _NESTED:
                        if state.get(key) is not None:
                            yield from iter_states(
                                state[key], f"{path}.{key}.", (*json_path, key), depth + 1, branches
                            )


def _plain_states(
    definition: Any, prefix: str, json_prefix: Path, depth: int
) -> Iterator[tuple[str, Path, dict[str, Any]]]:
    """:func:`iter_states` without ``Fn::If`` branches (every definition but a ``Definition`` object):
    the same states in the same order, without a generator per level of each state."""
    if depth > MAX_STATE_DEPTH:
        raise NestingTooDeepError(f"more than {MAX_STATE_DEPTH} nested Parallel/Map levels")
    if not isinstance(definition, dict):
        return
    states = definition.get("States")
    if not isinstance(states, dict):
        return
    states_path = (*json_prefix, "States")
    for name, state in states.items():
        if not isinstance(state, dict):
            continue
        path = f"{prefix}States.{name}"
        json_path = (*states_path, name)
        yield path, json_path, state
        if "Branches" in state:
            listed = state["Branches"]
            if isinstance(listed, list):
                for position, branch in enumerate(listed):
                    yield from _plain_states(
                        branch, f"{path}.Branches[{position}].", (*json_path, "Branches", position), depth + 1
                    )
        for key in _NESTED:
            if state.get(key) is not None:
                yield from _plain_states(state[key], f"{path}.{key}.", (*json_path, key), depth + 1)


def find_calls(
    definition: Any, resolve: Callable[[Any], Symbolic | None], branches: bool = False
) -> list[Call]:
    """The Lambda call candidates of a parsed definition, in document order (``branches``: see
    :func:`iter_states`; a call whose target is an ``Fn::If`` gives one candidate per value).

    >>> from sfn_exact_version.intrinsics import symbolic
    >>> state = {"Type": "Task", "Resource": "arn:aws:lambda:us-east-1:123456789012:function:f"}
    >>> [call.state for call in find_calls({"States": {"A": state}}, symbolic)]
    ['States.A']
    """
    if not branches:
        return _plain_calls(definition, resolve)
    calls: list[Call] = []
    # A definition repeats a few Resource values (the lambda:invoke ARN, say) in many states: each
    # distinct string is resolved and matched once.
    resources: dict[str, tuple[Symbolic | None, bool]] = {}
    for state_path, json_path, state in iter_states(definition, branches=branches):
        if "Resource" not in state:
            continue
        # The Type may itself be a placeholder ("Type": "${task_type}" with task_type: Task).
        kind = state.get("Type")
        if kind != "Task" and resolve(kind) != ("Task",):
            continue
        first = len(calls)
        for written, resource_path, resource_label in alternatives(
            state["Resource"], (*json_path, "Resource"), "", branches
        ):
            resource, integration = _resource(written, resolve, resources)
            if resource is None:
                continue
            if integration:
                for key in ("Parameters", "Arguments"):
                    if state.get(key) is not None:
                        for arguments, arguments_path, label in alternatives(
                            state[key], (*json_path, key), resource_label, branches
                        ):
                            calls.extend(
                                _integration_call(
                                    state_path + label, arguments, arguments_path, resolve, branches
                                )
                            )
                        break
                continue
            calls.append(Call(state_path + resource_label, RESOURCE, written, resource_path, resource))
        if "Credentials" in state:
            calls[first:] = [call._replace(credentials=state["Credentials"]) for call in calls[first:]]
    return calls


def _plain_calls(definition: Any, resolve: Callable[[Any], Symbolic | None]) -> list[Call]:
    """:func:`find_calls` without ``Fn::If`` branches: the same calls in the same order, over
    :func:`_plain_states`, each distinct ``Resource`` string resolved once."""
    calls: list[Call] = []
    resources: dict[str, tuple[Symbolic | None, bool]] = {}
    for state_path, json_path, state in _plain_states(definition, "", (), 0):
        if "Resource" not in state:
            continue
        kind = state.get("Type")
        if kind == "Task" or resolve(kind) == ("Task",):
            first = len(calls)
            _state_call(state, state_path, json_path, resolve, calls, resources)
            if "Credentials" in state:
                calls[first:] = [call._replace(credentials=state["Credentials"]) for call in calls[first:]]
    return calls


def _resource(
    written: Any,
    resolve: Callable[[Any], Symbolic | None],
    resources: dict[str, tuple[Symbolic | None, bool]],
) -> tuple[Symbolic | None, bool]:
    """A Task's ``Resource`` resolved, and whether it is a service integration (``lambda:invoke``)
    rather than a function's ARN; each distinct string once per definition (``resources``)."""
    if not isinstance(written, str):
        resource = resolve(written)
        return resource, resource is not None and _is_integration(resource)
    known = resources.get(written)
    if known is None:
        resolved = resolve(written)
        known = resources[written] = (resolved, resolved is not None and _is_integration(resolved))
    return known


def _state_call(
    state: dict[str, Any],
    state_path: str,
    json_path: Path,
    resolve: Callable[[Any], Symbolic | None],
    calls: list[Call],
    resources: dict[str, tuple[Symbolic | None, bool]],
) -> None:
    """The call a Task state makes, if any (see :func:`find_calls`)."""
    written = state["Resource"]
    resource, integration = _resource(written, resolve, resources)
    if resource is None:
        return
    if not integration:
        calls.append(Call(state_path, RESOURCE, written, (*json_path, "Resource"), resource))
        return
    for key in ("Parameters", "Arguments"):
        arguments = state.get(key)
        if arguments is None:
            continue
        if arguments.__class__ is dict and "FunctionName" in arguments and "FunctionName.$" not in arguments:
            # the usual call, built here: one call of _integration_call per state cost as much
            value = arguments["FunctionName"]
            fields = (
                state_path,
                FUNCTION_NAME,
                value,
                (*json_path, key, "FunctionName"),
                resolve(value),
                "",
                qualifier_note(arguments),
                True,
                None,
            )
            calls.append(_new(Call, fields))
        else:
            calls.extend(_integration_call(state_path, arguments, (*json_path, key), resolve, False))
        return


def _integration_call(
    state_path: str,
    arguments: Any,
    json_path: Path,
    resolve: Callable[[Any], Symbolic | None],
    branches: bool,
) -> list[Call]:
    if isinstance(arguments, str):
        return [
            Call(
                state_path,
                FUNCTION_NAME,
                arguments,
                json_path,
                None,
                dynamic="the JSONata Arguments expression chooses the function",
            )
        ]
    if not isinstance(arguments, dict):
        return []
    if "FunctionName.$" in arguments:
        return [
            Call(
                state_path,
                FUNCTION_NAME,
                arguments["FunctionName.$"],
                (*json_path, "FunctionName.$"),
                None,
                dynamic="FunctionName.$ chooses the function at run time",
            )
        ]
    if "FunctionName" not in arguments:
        return []
    qualified = qualifier_note(arguments)
    value = arguments["FunctionName"]
    if not branches:
        return [
            Call(
                state_path, FUNCTION_NAME, value, (*json_path, "FunctionName"), resolve(value), "", qualified
            )
        ]
    return [
        Call(state_path + label, FUNCTION_NAME, side, side_path, resolve(side), "", qualified)
        for side, side_path, label in alternatives(value, (*json_path, "FunctionName"), "", branches)
    ]


def data_references(
    definition: Any,
    skip: set[Path],
    resolve: Callable[[Any], Symbolic | None],
    branches: bool = False,
) -> Iterator[tuple[str, Atom]]:
    """``(place, atom)`` for each ``Ref``/``GetAtt`` the states hold as data: anywhere in a state but
    the JSON paths in ``skip`` (the call targets) and its nested states. ``place`` is the state path
    and the key path inside the state, e.g. ``States.Call.Arguments.parameters.FunctionName``.
    ``branches``: a ``Definition`` object, where an intrinsic-function object is a value, not data to
    walk into."""
    for state_path, json_path, state in iter_states(definition, branches=branches):
        # A Lambda API action other than an invocation (putFunctionConcurrency, say) names the function
        # it configures: neither a call nor data a call reads.
        managed: set[Path] = set()
        if isinstance(state, dict) and isinstance(state.get("Resource"), str | dict):
            resource = resolve(state["Resource"])
            if resource is not None and lambda_management_action(resource) is not None:
                managed = {(*json_path, key, "FunctionName") for key in ("Parameters", "Arguments")}
        stack: list[tuple[Any, Path]] = [(state, json_path)]
        while stack:
            value, path = stack.pop()
            if path in skip or path in managed:
                continue
            if isinstance(value, dict) and (not branches or intrinsic(value) is None):
                # Nested states are visited on their own; a state's own Resource is a call's target
                # (a Task) or nothing Step Functions reads (another type): never data.
                nested = ("Branches", "Iterator", "ItemProcessor", "Resource") if path == json_path else ()
                stack.extend(
                    ((item, (*path, key)) for key, item in reversed(value.items()) if key not in nested)
                )
            elif isinstance(value, list):
                stack.extend((item, (*path, position)) for position, item in reversed(list(enumerate(value))))
            elif isinstance(value, str | dict):
                resolved = resolve(value)
                for piece in resolved or ():
                    if isinstance(piece, Atom) and piece.kind in (REF, GET_ATT):
                        inner = ".".join(str(key) for key in path[len(json_path) :])
                        yield f"{state_path}.{inner}", piece


def _is_integration(resource: Symbolic) -> bool:
    text = "".join(piece if isinstance(piece, str) else "x" for piece in resource)
    return INTEGRATION.match(text) is not None
