"""IAM: let a state machine's role invoke every version of the functions it calls.

Running executions are authorised by the role's *current* policy, so after a deploy the role must
still allow the versions that older executions call. Wherever a statement of the role allows
``lambda:InvokeFunction`` on a pinned function's unqualified ARN, the same statement gains
``<that ARN>:*``. Nothing else is ever granted.
"""

from __future__ import annotations

import fnmatch
import re
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from typing import Any

from sfn_exact_version.index import MANAGED_POLICY, POLICY, ROLE, ROLE_POLICY, TemplateIndex
from sfn_exact_version.intrinsics import (
    GET_ATT,
    REF,
    Atom,
    Symbolic,
    get_att_target,
    join_parts,
    ref_target,
    resolve_pseudo,
    sub_parts,
    symbolic,
)

Path = tuple[str | int, ...]


@dataclass(frozen=True)
class StatementRef:
    """Where a statement lives: the resource, and the path inside it to the statement object."""

    resource: str
    path: Path

    @property
    def location(self) -> str:
        return "/".join(("Resources", self.resource, *(str(part) for part in self.path)))


def role_of(properties: Mapping[str, Any], index: TemplateIndex) -> str | None:
    """The in-template ``AWS::IAM::Role`` named by a state machine's ``RoleArn``, else None."""
    value = properties.get("RoleArn")
    target = get_att_target(value)
    if target is not None and target[1] == "Arn" and index.type_of(target[0]) == ROLE:
        return target[0]
    text = symbolic(value) if value is not None else None
    if text and isinstance(text[-1], Atom) and text[-1].kind == REF and index.type_of(text[-1].name) == ROLE:
        prefix = "".join(piece if isinstance(piece, str) else "x" for piece in text[:-1])
        if re.fullmatch(r"arn:[^:]+:iam::[^:]*:role/(?:[^:]*/)?", prefix):
            return text[-1].name
    return None


def _names(value: Any, attribute: str = "") -> list[str]:
    """Logical IDs named by ``Ref`` (or by ``GetAtt X.<attribute>`` when given) in a value or list."""
    items = value if isinstance(value, list) else [value]
    names = []
    for item in items:
        name = ref_target(item)
        target = get_att_target(item) if attribute else None
        if name is None and target is not None and target[1] == attribute:
            name = target[0]
        if name is not None:
            names.append(name)
    return names


def attached_policies(index: TemplateIndex) -> dict[str, list[str]]:
    """Role -> the ``AWS::IAM::Policy``, ``RolePolicy`` and ``ManagedPolicy`` resources that name it in
    ``Roles`` or ``RoleName``, in template order: one pass over the resources for all roles."""
    attached: dict[str, list[str]] = {}
    for logical_id, resource in index.resources.items():
        properties = resource.get("Properties")
        if resource["Type"] not in (POLICY, ROLE_POLICY, MANAGED_POLICY) or not isinstance(properties, dict):
            continue
        roles = _names(properties.get("Roles")) + _names(properties.get("RoleName"))
        for role in dict.fromkeys(roles):  # each role once, in order
            attached.setdefault(role, []).append(logical_id)
    return attached


def statements_of(
    role: str, index: TemplateIndex, attached: Mapping[str, list[str]] | None = None
) -> Iterator[tuple[StatementRef, dict[str, Any]]]:
    """Every policy statement attached to ``role`` in the template (``attached``: the result of
    :func:`attached_policies`, when the caller asks for several roles)."""
    if attached is None:
        attached = attached_policies(index)
    documents: list[tuple[str, Path]] = []
    role_properties = index.resources[role].get("Properties")
    if isinstance(role_properties, dict):
        policies = role_properties.get("Policies")
        if isinstance(policies, list):
            for position, policy in enumerate(policies):
                if isinstance(policy, dict):
                    documents.append((role, ("Properties", "Policies", position, "PolicyDocument")))
        for name in _names(role_properties.get("ManagedPolicyArns"), attribute="PolicyArn"):
            if index.type_of(name) == MANAGED_POLICY:
                documents.append((name, ("Properties", "PolicyDocument")))
    for logical_id in attached.get(role, ()):
        if (logical_id, ("Properties", "PolicyDocument")) not in documents:
            documents.append((logical_id, ("Properties", "PolicyDocument")))
    for resource_id, path in documents:
        document: Any = index.resources[resource_id]
        for key in path:
            if isinstance(key, int):
                document = document[key] if isinstance(document, list) and key < len(document) else None
            else:
                document = document.get(key) if isinstance(document, dict) else None
            if document is None:
                break
        if not isinstance(document, dict):
            continue
        statements = document.get("Statement")
        if isinstance(statements, dict):
            yield StatementRef(resource_id, (*path, "Statement")), statements
        elif isinstance(statements, list):
            for position, statement in enumerate(statements):
                if isinstance(statement, dict):
                    yield StatementRef(resource_id, (*path, "Statement", position)), statement


# IAM wildcards: "*" any run of characters, "?" one character; nothing else is special.
def _matcher(pattern: str) -> Callable[[str], Any]:
    """A test of whether a text matches the IAM ``pattern`` (truthy when it does). Most entries have no
    wildcard: then matching is plain equality, and needs no regex."""
    if "*" not in pattern and "?" not in pattern:
        return pattern.__eq__
    # re.escape writes the wildcards as "\*" and "\?"; they become ".*" and ".", everything else stays
    # literal: fnmatch's match with brackets escaped, without fnmatch.translate's loop over characters.
    regex = re.escape(pattern).replace(r"\*", ".*").replace(r"\?", ".")
    return re.compile(regex, re.DOTALL).fullmatch


def allows_invoke(statement: Mapping[str, Any]) -> bool:
    """True for an Allow statement whose Action covers ``lambda:InvokeFunction``."""
    if statement.get("Effect") != "Allow" or "Action" not in statement:
        return False
    actions = statement["Action"]
    actions = actions if isinstance(actions, list) else [actions]
    return any(
        isinstance(action, str) and fnmatch.fnmatchcase("lambda:invokefunction", action.lower())
        for action in actions
    )


class ArnSpace:
    """Renders resource entries and function ARNs as comparable text (atoms as stable tokens)."""

    def __init__(self, index: TemplateIndex) -> None:
        self.index = index
        # Caches for one transform: a statement is planned once per role it is attached to, and each
        # plan compares every needed function with every entry.
        self._arns: dict[str, str] = {}
        self._entries: dict[int, tuple[Any, str | None]] = {}  # id(entry) -> (entry, its text)
        self._matchers: dict[str, Callable[[str], Any]] = {}

    def _text(self, value: Symbolic) -> str:
        value = resolve_pseudo(value, self.index.pseudo)
        out = []
        for piece in value:
            if isinstance(piece, str):
                out.append(piece)
            elif (
                piece.kind == GET_ATT
                and piece.attribute == "Arn"
                and self.index.type_of(piece.name) == "AWS::Lambda::Function"
            ):
                out.append(self.function_arn(piece.name))
            elif piece.kind == REF and piece.name in self.index.explicit_names:
                out.append(self._text(self.index.explicit_names[piece.name]))
            else:
                out.append("\u27e8" + piece.render() + "\u27e9")
        return "".join(out)

    def function_arn(self, function: str) -> str:
        """The unqualified ARN of an in-template function, as comparable text."""
        arn = self._arns.get(function)
        if arn is None:
            arn = self._arns[function] = self._function_arn(function)
        return arn

    def _function_arn(self, function: str) -> str:
        pseudo = self.index.pseudo
        partition = pseudo.get("AWS::Partition", "\u27e8${AWS::Partition}\u27e9")
        region = pseudo.get("AWS::Region", "\u27e8${AWS::Region}\u27e9")
        account = pseudo.get("AWS::AccountId", "\u27e8${AWS::AccountId}\u27e9")
        name = self.index.explicit_names.get(function)
        name_text = self._text(name) if name else "\u27e8${" + function + "}\u27e9"
        return f"arn:{partition}:lambda:{region}:{account}:function:{name_text}"

    def entry(self, value: Any) -> str | None:
        # Keyed by identity: entries are objects of the input, alive (and unchanged) for the whole
        # transform; the cache holds each one, so no id is reused.
        cached = self._entries.get(id(value))
        if cached is None:
            text = symbolic(value)
            cached = self._entries[id(value)] = (value, self._text(text) if text is not None else None)
        return cached[1]

    def matcher(self, pattern: str) -> Callable[[str], Any]:
        """:func:`_matcher` of ``pattern``, made once per transform."""
        match = self._matchers.get(pattern)
        if match is None:
            match = self._matchers[pattern] = _matcher(pattern)
        return match


def versions_entry(entry: Any) -> Any:
    """``<entry>:*`` in the same style as ``entry``."""
    target = get_att_target(entry)
    if target is not None:
        return {"Fn::Sub": "${" + target[0] + "." + target[1] + "}:*"}
    if isinstance(entry, str):
        return entry + ":*"
    parts = sub_parts(entry)
    if parts is not None:
        template, variables = parts
        return {"Fn::Sub": template + ":*"} if not variables else {"Fn::Sub": [template + ":*", variables]}
    joined = join_parts(entry)
    if joined is not None and joined[0] == "":
        return {"Fn::Join": ["", [*joined[1], ":*"]]}
    return {"Fn::Join": ["", [entry, ":*"]]}


def plan_statement(
    statement: Mapping[str, Any], functions: list[str], space: ArnSpace
) -> tuple[list[Any], list[str]]:
    """For one statement: the resource entries to add, and the functions whose versions it now allows
    (added or already)."""
    if not allows_invoke(statement) or "Resource" not in statement:
        return [], []
    entries = statement["Resource"]
    entries = entries if isinstance(entries, list) else [entries]
    rendered = [space.entry(entry) for entry in entries]
    matchers = [space.matcher(text) for text in rendered if text is not None]
    additions: list[Any] = []
    covered: list[str] = []
    for function in functions:
        arn = space.function_arn(function)
        version_arn = arn + ":1"
        if any(match(version_arn) for match in matchers):
            covered.append(function)
            continue
        exact = [entry for entry, text in zip(entries, rendered, strict=True) if text == arn]
        if exact:
            additions.append(versions_entry(exact[0]))
            covered.append(function)
    return additions, covered
