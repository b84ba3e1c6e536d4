"""Read a processed template the way CloudFormation and Step Functions will, independently of the macro's
report: which target each Lambda call of a state machine names, and what a role's statements allow.

Intrinsics are rendered as readable text, not evaluated: ``{"Ref": "X"}`` is ``<Ref X>``, ``GetAtt X.Arn``
is ``<GetAtt X.Arn>``, ``Fn::If`` is ``<If C a | b>``; a definition string is assembled (``Fn::Join``,
``Fn::Sub``, ``DefinitionSubstitutions``) and parsed as JSON.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator, Mapping
from typing import Any

LAMBDA_SERVICE_CALLS = ("lambda:invoke", "lambda:invoke.waitForTaskToken", "aws-sdk:lambda:invoke")
_PLACEHOLDER = re.compile(r"\$\{([^}!][^}]*)\}")


def render(value: Any, variables: Mapping[str, Any] | None = None) -> Any:
    """An intrinsic as readable text; strings (with ``Fn::Sub`` placeholders resolved) stay strings."""
    if isinstance(value, str):
        return value
    if isinstance(value, list):
        return [render(item, variables) for item in value]
    if not isinstance(value, dict):
        return value
    if len(value) != 1:
        return {key: render(item, variables) for key, item in value.items()}
    ((key, argument),) = value.items()
    if key == "Ref":
        return f"<Ref {argument}>"
    if key == "Fn::GetAtt":
        name = argument if isinstance(argument, str) else ".".join(argument)
        return f"<GetAtt {name}>"
    if key == "Fn::Join":
        separator, parts = argument
        return separator.join(str(render(part, variables)) for part in parts)
    if key == "Fn::Sub":
        text, own = (argument, {}) if isinstance(argument, str) else argument
        return sub(text, own)
    if key == "Fn::If":
        condition, yes, no = argument
        return f"<If {condition} {render(yes, variables)} | {render(no, variables)}>"
    if key.startswith("Fn::") or key == "Condition":
        return f"<{key} {json.dumps(argument, sort_keys=True).replace(chr(34), chr(39))}>"
    return {key: render(argument, variables)}


def sub(text: str, variables: Mapping[str, Any]) -> str:
    """``Fn::Sub`` text with its placeholders rendered (variables first, then references)."""

    def one(match: re.Match[str]) -> str:
        name = match.group(1)
        if name in variables:
            return str(render(variables[name]))
        if name.startswith("AWS::"):
            return {"AWS::Partition": "aws", "AWS::Region": "us-east-1"}.get(name, f"<Ref {name}>")
        return f"<GetAtt {name}>" if "." in name else f"<Ref {name}>"

    return _PLACEHOLDER.sub(one, text).replace("${!", "${")


def definition(resource: Mapping[str, Any]) -> Any:
    """The state machine's definition as a JSON object (placeholders of ``DefinitionSubstitutions`` filled
    with their rendered values); ``None`` when it is in S3."""
    properties = resource["Properties"]
    if "Definition" in properties:
        return render(properties["Definition"])
    if "DefinitionString" not in properties:
        return None
    text = render(properties["DefinitionString"])
    substitutions = properties.get("DefinitionSubstitutions", {})
    for key, value in substitutions.items():
        text = text.replace("${" + key + "}", str(render(value)))
    return json.loads(text)


def _states(states: Mapping[str, Any], prefix: str) -> Iterator[tuple[str, Mapping[str, Any]]]:
    for name, state in states.items():
        path = f"{prefix}.{name}"
        yield path, state
        for index, branch in enumerate(state.get("Branches", [])):
            yield from _states(branch["States"], f"{path}.Branches[{index}].States")
        for key in ("Iterator", "ItemProcessor"):
            if key in state:
                yield from _states(state[key]["States"], f"{path}.{key}.States")


def lambda_calls(resource: Mapping[str, Any]) -> dict[str, Any]:
    """State path -> the target each Lambda call names (``Resource`` of a legacy call, else
    ``FunctionName`` of ``Parameters`` or ``Arguments``), for every Task state that calls Lambda."""
    document = definition(resource)
    calls: dict[str, Any] = {}
    for path, state in _states(document["States"], "States"):
        if state.get("Type") != "Task":
            continue
        target = state.get("Resource", "")
        if isinstance(target, str) and target.split(":::")[-1] in LAMBDA_SERVICE_CALLS:
            arguments = state.get("Parameters") or state.get("Arguments") or {}
            calls[path] = arguments.get("FunctionName", arguments.get("FunctionName.$"))
        elif isinstance(target, str) and (":function:" in target or target.startswith("<")):
            calls[path] = target
    return calls


def version_of(template: Mapping[str, Any], target: Any) -> str | None:
    """The function whose ``AWS::Lambda::Version`` the target names by ``<Ref V>``, else ``None``."""
    match = re.fullmatch(r"<Ref ([A-Za-z0-9]+)>", target) if isinstance(target, str) else None
    if match is None:
        return None
    resource = template["Resources"].get(match.group(1), {})
    if resource.get("Type") != "AWS::Lambda::Version":
        return None
    function = render(resource["Properties"]["FunctionName"])
    found = re.fullmatch(r"<Ref ([A-Za-z0-9]+)>", function)
    return found.group(1) if found else None


def _choose(value: Any, conditions: Mapping[str, bool]) -> Any:
    """``value`` with every ``Fn::If`` resolved and ``AWS::NoValue`` dropped from lists."""
    if isinstance(value, list):
        chosen = [_choose(item, conditions) for item in value]
        return [item for item in chosen if item != {"Ref": "AWS::NoValue"}]
    if isinstance(value, dict):
        if set(value) == {"Fn::If"}:
            condition, yes, no = value["Fn::If"]
            return _choose(yes if conditions[condition] else no, conditions)
        return {key: _choose(item, conditions) for key, item in value.items()}
    return value


def invoke_allowed(template: Mapping[str, Any], role: str, conditions: Mapping[str, bool]) -> set[str]:
    """The ``Resource`` entries (rendered) of every Allow statement of ``role`` that covers
    ``lambda:InvokeFunction``: inline policies, and ``AWS::IAM::Policy``/``RolePolicy`` naming it."""
    # A policy names the role by Ref, by ${Role} in Fn::Sub, or by the role's literal RoleName.
    names = [{"Ref": role}, {"Fn::Sub": "${" + role + "}"}]
    names.append(template["Resources"][role].get("Properties", {}).get("RoleName", {"Ref": role}))
    documents: list[Any] = []
    for logical_id, resource in template["Resources"].items():
        properties = resource.get("Properties", {})
        kind = resource["Type"]
        if logical_id == role:
            policies = _choose(properties.get("Policies", []), conditions)
            documents.extend(policy["PolicyDocument"] for policy in policies)
        elif (kind == "AWS::IAM::Policy" and any(n in properties.get("Roles", []) for n in names)) or (
            kind == "AWS::IAM::RolePolicy" and properties.get("RoleName") in names
        ):
            documents.append(properties["PolicyDocument"])
    allowed: set[str] = set()
    for document in _choose(documents, conditions):
        statements = document["Statement"]
        for statement in statements if isinstance(statements, list) else [statements]:
            actions = statement.get("Action", [])
            actions = actions if isinstance(actions, list) else [actions]
            if statement.get("Effect") != "Allow" or not {"lambda:InvokeFunction", "lambda:*", "*"} & set(
                actions
            ):
                continue
            entries = statement.get("Resource", [])
            for entry in entries if isinstance(entries, list) else [entries]:
                allowed.add(str(render(entry)))
    return allowed
