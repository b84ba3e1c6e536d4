"""Helpers shared by the hardening tests: response checks, fuzz settings, and a small
evaluator of CloudFormation intrinsics that shares no code with the macro (so it can serve as an
oracle for what a definition or a policy means once CloudFormation has resolved it). Macro events and
log capture come from ``tests/support.py`` and are re-exported here."""

from __future__ import annotations

import fnmatch
import json
import os
import re
from collections.abc import Iterator, Mapping
from typing import Any

from hypothesis import HealthCheck, settings

from invariants import cfn_lint_errors, check_invariants
from support import ACCOUNT, REGION, TRANSFORM_KWARGS, captured_logs, macro_event

LONG_RUN = int(os.environ.get("SFN_FUZZ_EXAMPLES", "0"))


def fuzz_settings(bounded: int, share: float = 1.0) -> settings:
    """Hypothesis settings: ``bounded`` derandomized examples in the normal suite (the same cases on
    every run), or a random ``SFN_FUZZ_EXAMPLES * share`` of them in a long run (``make fuzz``)."""
    return settings(
        max_examples=max(1, int(LONG_RUN * share)) if LONG_RUN else bounded,
        deadline=None,
        derandomize=not LONG_RUN,
        database=None,
        suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large, HealthCheck.filter_too_much],
    )


__all__ = [
    "TRANSFORM_KWARGS",
    "captured_logs",
    "cfn_lint_errors",
    "check_invariants",
    "check_response",
    "evaluate",
    "fuzz_settings",
    "macro_event",
]

STACK_NAME = "fuzz-stack"
PSEUDO = {
    "AWS::Region": REGION,
    "AWS::AccountId": ACCOUNT,
    "AWS::Partition": "aws",
    "AWS::StackName": STACK_NAME,
}
FUNCTION = "AWS::Lambda::Function"
VERSION = "AWS::Lambda::Version"
STATE_MACHINE = "AWS::StepFunctions::StateMachine"


def check_response(event: Mapping[str, Any], response: Any, *, deep: bool = False) -> None:
    """The macro protocol, whatever the input: requestId echoed, a known status, a clean message.
    ``deep``: the input nests thousands of levels, too deep to serialise here (and for Lambda's runtime)."""
    assert isinstance(response, dict), f"response is {type(response).__name__}"
    assert response.get("requestId") == event.get("requestId"), "requestId not echoed"
    assert response.get("status") in ("success", "failure"), f"status {response.get('status')!r}"
    if not deep:
        json.dumps(response)  # serialisable, as Lambda must return it
    if response["status"] == "failure":
        message = response.get("errorMessage")
        assert isinstance(message, str) and message.strip(), "failure without errorMessage"
        assert "Traceback" not in message, message
        assert 'File "' not in message, message
        assert message.count("\n") <= 2, f"errorMessage spans many lines: {message!r}"
        fragment = response.get("fragment")
        assert fragment in ({}, None) or fragment == event.get("fragment"), (
            "a failure returned a (partially) changed template"
        )
    else:
        assert isinstance(response.get("fragment"), dict), "success without a template"
        assert "errorMessage" not in response or not response["errorMessage"]


# ------------------------------------------------------------------------------ the evaluator
class Unresolvable(Exception):
    """An intrinsic the evaluator does not know (only raised for junk)."""


def token(kind: str, name: str) -> str:
    return f"\u27e6{kind} {name}\u27e7"


def evaluate(value: Any, parameters: Mapping[str, Any], names: Mapping[str, str] | None = None) -> str:
    """What CloudFormation turns a string-valued expression into. Resource references stay symbolic:
    ``Ref X`` becomes ``⟦Ref X⟧`` (or the function's explicit name when ``names`` has it), ``GetAtt
    X.Arn`` of a function becomes its ARN, any other ``GetAtt`` ``⟦GetAtt X.A⟧``."""
    names = names or {}
    if isinstance(value, str):
        return value
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return json.dumps(value)
    if isinstance(value, dict) and len(value) == 1:
        ((key, args),) = value.items()
        if key == "Ref":
            return _ref(args, parameters, names)
        if key == "Fn::GetAtt":
            resource, attribute = args if isinstance(args, list) else args.split(".", 1)
            return _get_att(resource, attribute, names)
        if key == "Fn::Sub":
            template, variables = (args, {}) if isinstance(args, str) else args

            def replace(match: re.Match[str]) -> str:
                inner = match.group(1)
                if inner.startswith("!"):
                    return "${" + inner[1:] + "}"
                if inner in variables:
                    return evaluate(variables[inner], parameters, names)
                if "." in inner and not inner.startswith("AWS::"):
                    resource, attribute = inner.split(".", 1)
                    return _get_att(resource, attribute, names)
                return _ref(inner, parameters, names)

            return re.sub(r"\$\{([^}]*)\}", replace, template)
        if key == "Fn::Join":
            delimiter, items = args
            return delimiter.join(evaluate(item, parameters, names) for item in items)
    raise Unresolvable(json.dumps(value))


def _ref(name: str, parameters: Mapping[str, Any], names: Mapping[str, str]) -> str:
    if name in PSEUDO:
        return PSEUDO[name]
    if name in parameters:
        return str(parameters[name])
    if name in names:
        return names[name]
    return token("Ref", name)


def _get_att(resource: str, attribute: str, names: Mapping[str, str]) -> str:
    if attribute == "Arn" and resource in names:
        return f"arn:aws:lambda:{REGION}:{ACCOUNT}:function:{names[resource]}"
    return token("GetAtt", f"{resource}.{attribute}")


def function_names(template: Mapping[str, Any], parameters: Mapping[str, Any]) -> dict[str, str]:
    """Each function's name as the evaluator spells it (explicit, else ``⟦Ref X⟧``)."""
    names: dict[str, str] = {}
    for logical_id, resource in template["Resources"].items():
        if resource.get("Type") == FUNCTION:
            explicit = resource.get("Properties", {}).get("FunctionName")
            names[logical_id] = (
                evaluate(explicit, parameters) if explicit is not None else token("Ref", logical_id)
            )
    return names


def _substitute(text: str, substitutions: Mapping[str, str]) -> str:
    return re.sub(r"\$\{([^}]*)\}", lambda m: substitutions.get(m.group(1), m.group(0)), text)


def rendered_definition(properties: Mapping[str, Any], parameters: Mapping[str, Any]) -> Any:
    """The definition Step Functions receives: intrinsics evaluated, substitutions applied, parsed.
    Function references are left as ``⟦Ref X⟧``/``⟦GetAtt X.Arn⟧`` so that versions can be told
    apart from functions."""
    substitutions = {
        key: evaluate(value, parameters)
        for key, value in properties.get("DefinitionSubstitutions", {}).items()
    }
    if "Definition" in properties:
        return _render_object(properties["Definition"], parameters, substitutions)
    text = evaluate(properties["DefinitionString"], parameters)
    return json.loads(_substitute(text, substitutions))


def _render_object(value: Any, parameters: Mapping[str, Any], substitutions: Mapping[str, str]) -> Any:
    if isinstance(value, dict):
        if len(value) == 1 and (next(iter(value)) == "Ref" or next(iter(value)).startswith("Fn::")):
            return _substitute(evaluate(value, parameters), substitutions)
        return {key: _render_object(item, parameters, substitutions) for key, item in value.items()}
    if isinstance(value, list):
        return [_render_object(item, parameters, substitutions) for item in value]
    if isinstance(value, str):
        return _substitute(value, substitutions)
    return value


def get_path(document: Any, path: tuple[Any, ...]) -> Any:
    for key in path:
        document = document[key]
    return document


def set_path(document: Any, path: tuple[Any, ...], value: Any) -> None:
    get_path(document, path[:-1])[path[-1]] = value


# ------------------------------------------------------------------------------------- IAM
IAM_TYPES = ("AWS::IAM::Role", "AWS::IAM::Policy", "AWS::IAM::RolePolicy", "AWS::IAM::ManagedPolicy")


def chosen(template: Mapping[str, Any], conditions: Mapping[str, bool]) -> dict[str, Any]:
    """The template as CloudFormation deploys it when the conditions have these values: every
    ``Fn::If`` replaced by its side, ``AWS::NoValue`` dropped, IAM resources whose ``Condition`` is false
    left out (a policy or retained grant that is not created allows nothing)."""

    def choose(value: Any) -> Any:
        if isinstance(value, list):
            items = [choose(item) for item in value]
            return [item for item in items if item is not _NO_VALUE]
        if isinstance(value, dict):
            if list(value) == ["Fn::If"] and value["Fn::If"][0] in conditions:
                name, yes, no = value["Fn::If"]
                return choose(yes if conditions[name] else no)
            if value == {"Ref": "AWS::NoValue"}:
                return _NO_VALUE
            items = {key: choose(item) for key, item in value.items()}
            return {key: item for key, item in items.items() if item is not _NO_VALUE}
        return value

    resources = {
        logical_id: resource
        for logical_id, resource in template["Resources"].items()
        if not (
            isinstance(resource, dict)
            and resource.get("Type") in IAM_TYPES
            and resource.get("Condition") in conditions
            and not conditions[resource["Condition"]]
        )
    }
    return {**template, "Resources": choose(resources)}


_NO_VALUE = object()


def statements(template: Mapping[str, Any]) -> Iterator[tuple[str, tuple[Any, ...], dict[str, Any]]]:
    """``(resource, path, statement)`` for every IAM policy statement of the template."""

    def walk(value: Any, path: tuple[Any, ...]) -> Iterator[tuple[tuple[Any, ...], dict[str, Any]]]:
        if isinstance(value, dict):
            if "Effect" in value and ("Resource" in value or "NotResource" in value):
                yield path, value
                return
            for key, item in value.items():
                yield from walk(item, (*path, key))
        elif isinstance(value, list):
            for index, item in enumerate(value):
                yield from walk(item, (*path, index))

    resources = template.get("Resources")
    if not isinstance(resources, dict):
        return
    for logical_id, resource in resources.items():
        if isinstance(resource, dict) and resource.get("Type") in IAM_TYPES:
            for path, statement in walk(resource.get("Properties"), ()):
                yield logical_id, path, statement


def applies_to_invoke(statement: Mapping[str, Any]) -> bool:
    """``Action`` covers lambda:InvokeFunction, or ``NotAction`` leaves it out."""
    key = "Action" if "Action" in statement else "NotAction"
    actions = statement.get(key)
    actions = actions if isinstance(actions, list) else [actions]
    hit = any(
        isinstance(action, str) and fnmatch.fnmatchcase("lambda:invokefunction", action.lower())
        for action in actions
    )
    return hit == (key == "Action")


def allows_invoke(statement: Mapping[str, Any]) -> bool:
    return statement.get("Effect") == "Allow" and "Resource" in statement and applies_to_invoke(statement)


def resource_key(statement: Mapping[str, Any]) -> str:
    return "Resource" if "Resource" in statement else "NotResource"


def entries(statement: Mapping[str, Any]) -> list[Any]:
    value = statement.get(resource_key(statement))
    return value if isinstance(value, list) else [value]


def role_documents(
    template: Mapping[str, Any], role: str, parameters: Mapping[str, Any], names: Mapping[str, str]
) -> list[dict[str, Any]]:
    """The role's statements, their resource entries evaluated, as policy documents for an evaluator."""
    found = []
    for resource, path, statement in statements(template):
        if role in roles_of_statement(template, resource, path):
            key = resource_key(statement)
            evaluated = dict(statement)
            evaluated[key] = [evaluate(entry, parameters, names) for entry in entries(statement)]
            found.append(evaluated)
    return [{"Statement": found}]


def glob(pattern: str, text: str) -> bool:
    escaped = "".join(c if c in "*?" else f"[{c}]" if c in "[]" else c for c in pattern)
    return fnmatch.fnmatchcase(text, escaped)


def roles_of_statement(template: Mapping[str, Any], resource_id: str, path: tuple[Any, ...]) -> set[str]:
    """The roles a statement applies to (inline, Roles, RoleName, or a role's ManagedPolicyArns)."""
    resources = template["Resources"]
    resource = resources[resource_id]
    kind = resource.get("Type")
    properties = resource.get("Properties") or {}
    if kind == "AWS::IAM::Role":
        return {resource_id} if path[:1] == ("Policies",) else set()
    roles: set[str] = set()
    for key in ("Roles", "RoleName"):
        value = properties.get(key)
        for item in value if isinstance(value, list) else [value]:
            if isinstance(item, dict) and isinstance(item.get("Ref"), str):
                roles.add(item["Ref"])
    if kind == "AWS::IAM::ManagedPolicy":
        for role_id, role in resources.items():
            if role.get("Type") == "AWS::IAM::Role":
                arns = (role.get("Properties") or {}).get("ManagedPolicyArns") or []
                if {"Ref": resource_id} in arns:
                    roles.add(role_id)
    return roles
