"""IAM: let a state machine's role invoke every version of the functions it calls, and nothing more.

Running executions are authorised by the role's *current* policy, so after a deploy the role must
still allow the versions that older executions call. Each statement of the role is made to treat a
pinned function's versions (``<ARN>:<n>``) as it treated the function (``<ARN>``): an Allow naming the
function (or one of its versions) gains ``<ARN>:*``, a Deny or a ``NotResource`` naming it gains
``<entry>:*``. A retained grant (an ``AWS::IAM::RolePolicy`` with ``DeletionPolicy: Retain``) per role
and allowed function keeps the permission when a later template stops calling the function.
"""

from __future__ import annotations

import bisect
import fnmatch
import hashlib
import json
import re
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from functools import cached_property
from typing import Any

from sfn_exact_version.errors import json_type
from sfn_exact_version.index import (
    FUNCTION,
    MANAGED_POLICY,
    POLICY,
    ROLE,
    ROLE_POLICY,
    VERSION,
    TemplateIndex,
)
from sfn_exact_version.intrinsics import (
    GET_ATT,
    MAX_DEPTH,
    OTHER,
    REF,
    Atom,
    NestingTooDeepError,
    Symbolic,
    canonical,
    concat,
    condition_names,
    get_att_target,
    intrinsic,
    join_parts,
    ref_target,
    references,
    render,
    resolve_pseudo,
    sub_parts,
    symbolic,
)

INVOKE = "lambda:invokefunction"
ALLOW = "Allow"
DENY = "Deny"
RESOURCE = "Resource"
NOT_RESOURCE = "NotResource"
PSEUDO_NAMES = frozenset(
    {
        "AWS::AccountId",
        "AWS::NotificationARNs",
        "AWS::NoValue",
        "AWS::Partition",
        "AWS::Region",
        "AWS::StackId",
        "AWS::StackName",
        "AWS::URLSuffix",
    }
)
# CloudFormation: resources per stack, and the size of a processed template (1 MB when it comes from S3,
# counted as cfn-lint counts it). IAM: characters of all inline policies of one role together.
MAX_RESOURCES = 500
MAX_TEMPLATE_BYTES = 1_000_000
ROLE_INLINE_QUOTA = 10_240
# Retained grants are inline policies of this name prefix (found again later by preflight and prune).
GRANT_PREFIX = "SfnExactVersion-"
GRANT_ID_PREFIX = "SfnExactVersionGrant"

Path = tuple[str | int, ...]
Branch = tuple[tuple[str, bool], ...]
FN_IF = "Fn::If"
NO_VALUE = "AWS::NoValue"
# A statement whose Effect, Action or resources choose by more template conditions than this is not
# planned (2**n readings of it); a warning says so.
MAX_STATEMENT_CONDITIONS = 4


@dataclass(frozen=True)
class StatementRef:
    """Where a statement lives: the resource, and the path inside it to the statement object."""

    resource: str
    path: Path
    # The template conditions chosen by the Fn::If objects on the way to the statement (the policy, its
    # document, its Statement list), as (condition, value): the statement exists only under them.
    branch: Branch = ()

    @cached_property
    def location(self) -> str:
        return "/".join(("Resources", self.resource, *(str(part) for part in self.path)))


@dataclass(frozen=True)
class RoleRef:
    """What a state machine's ``RoleArn`` names: an in-template role, or why none was found."""

    role: str | None
    # Set when the value refers to a role of the template in a form that cannot be resolved.
    unresolved: str | None = None


def role_of(properties: Mapping[str, Any], index: TemplateIndex) -> RoleRef:
    """The in-template ``AWS::IAM::Role`` named by a state machine's ``RoleArn``.

    Every form the intrinsics module reduces to a symbolic string is understood: ``GetAtt Role.Arn``
    (list or dotted), ``${Role.Arn}`` in ``Fn::Sub`` (variables included), ``Fn::Join`` of the same
    pieces, and ARNs built from ``Ref Role`` or from a role's explicit ``RoleName``.

    >>> from sfn_exact_version.index import TemplateIndex
    >>> index = TemplateIndex.build({"R": {"Type": "AWS::IAM::Role"}}, {}, None, None)
    >>> role_of({"RoleArn": {"Fn::Sub": "${R.Arn}"}}, index).role
    'R'
    """
    value = properties.get("RoleArn")
    if value is None:
        return RoleRef(None)
    text = symbolic(value)
    if text:
        role = _role_in(resolve_pseudo(text, index.pseudo), index)
        if role is not None:
            return RoleRef(role)
    try:
        named = [name for name in references(value) if index.type_of(name) == ROLE]
    except NestingTooDeepError:
        named = []
    if named:
        return RoleRef(
            None,
            f"refers to {', '.join(dict.fromkeys(named))} of this template through {_shape(value)}, which "
            "SfnExactVersion cannot resolve to one role, so it changed none of their policies",
        )
    return RoleRef(None)


def role_in(text: Symbolic, index: TemplateIndex) -> str | None:
    """The in-template role an ARN (a symbolic string) names, in the forms :func:`role_of` reads."""
    return _role_in(resolve_pseudo(text, index.pseudo), index)


# AWS managed policies (path after "arn:<partition>:iam::aws:policy/") that allow lambda:InvokeFunction
# on every resource, versions included: a role with one of them needs no statement of the template.
AWS_MANAGED_INVOKE_ALL = {
    "service-role/AWSLambdaRole": "lambda:InvokeFunction on *",
    "AWSLambda_FullAccess": "lambda:* on *",
    "AdministratorAccess": "* on *",
    "PowerUserAccess": "everything but iam, organizations and account on *",
}


def managed_policies_outside(role: str, index: TemplateIndex) -> tuple[list[str], list[str]]:
    """The role's ``ManagedPolicyArns`` that are not policies of this template: the AWS managed ones
    known to allow invoking every function (:data:`AWS_MANAGED_INVOKE_ALL`), and the others, which
    the macro cannot read (both as readable text, in order)."""
    properties = index.resources[role].get("Properties")
    known: list[str] = []
    other: list[str] = []
    if not isinstance(properties, dict):
        return known, other
    for value, _, _ in _items(properties.get("ManagedPolicyArns"), (), ()):
        names = _names(value, attribute="PolicyArn")
        if names and index.type_of(names[0]) == MANAGED_POLICY:
            continue
        try:
            text = symbolic(value)
        except NestingTooDeepError:
            text = None
        fields = _split(resolve_pseudo(text, index.pseudo), ":") if text else []
        path = fields[5] if len(fields) == 6 else ()
        if (
            fields[:4] == [("arn",), fields[1], ("iam",), ()]
            and fields[4] == ("aws",)
            and len(path) == 1
            and isinstance(path[0], str)
            and path[0].startswith("policy/")
            and path[0][len("policy/") :] in AWS_MANAGED_INVOKE_ALL
        ):
            known.append(path[0][len("policy/") :])
        else:
            other.append(render_value(value))
    return known, other


def _shape(value: Any) -> str:
    found = intrinsic(value)
    return found[0] if found is not None else json_type(value)


def _role_in(text: Symbolic, index: TemplateIndex) -> str | None:
    if len(text) == 1 and isinstance(text[0], Atom):
        atom = text[0]
        if atom.kind == GET_ATT and atom.attribute == "Arn" and index.type_of(atom.name) == ROLE:
            return atom.name
        return None
    fields = _split(text, ":")
    if len(fields) != 6 or fields[0] != ("arn",) or fields[2] != ("iam",) or fields[3] != ():
        return None
    for part, pseudo in ((fields[1], "AWS::Partition"), (fields[4], "AWS::AccountId")):
        literal = part[0] if len(part) == 1 and isinstance(part[0], str) else None
        if literal is not None and pseudo in index.pseudo and literal != index.pseudo[pseudo]:
            return None  # a literal partition or account other than the stack's
    resource = fields[5]
    if not resource or not isinstance(resource[0], str) or not resource[0].startswith("role/"):
        return None
    # The role's name: what follows the last "/" (a role's Path sits between "role/" and the name).
    name: list[str | Atom] = list(resource)
    for position in range(len(name) - 1, -1, -1):
        piece = name[position]
        if isinstance(piece, str) and "/" in piece:
            name = [piece.rsplit("/", 1)[1], *name[position + 1 :]]
            break
    key = concat(name)
    if (
        len(key) == 1
        and isinstance(key[0], Atom)
        and key[0].kind == REF
        and index.type_of(key[0].name) == ROLE
    ):
        return key[0].name
    return _role_names(index).get(key)


def _split(text: Symbolic, separator: str) -> list[Symbolic]:
    fields: list[list[str | Atom]] = [[]]
    for piece in text:
        if isinstance(piece, Atom):
            fields[-1].append(piece)
            continue
        for position, chunk in enumerate(piece.split(separator)):
            if position:
                fields.append([])
            if chunk:
                fields[-1].append(chunk)
    return [tuple(field) for field in fields]


def _role_names(index: TemplateIndex) -> dict[Symbolic, str]:
    """Explicit ``RoleName`` -> role, for the roles that set one (the first role of a name wins); made
    once per index: every role ARN written as text asks, and a template may hold hundreds."""
    if index.role_names is not None:
        return index.role_names
    names: dict[Symbolic, str] = {}
    for logical_id, resource in index.resources.items():
        properties = resource.get("Properties")
        if resource["Type"] != ROLE or not isinstance(properties, dict) or "RoleName" not in properties:
            continue
        name = symbolic(properties["RoleName"])
        if name:
            names.setdefault(resolve_pseudo(name, index.pseudo), logical_id)
    index.role_names = names
    return names


def render_value(value: Any) -> str:
    """Readable text of a value, for messages (``${X.Arn}`` for references)."""
    try:
        text = symbolic(value)
    except NestingTooDeepError:
        text = None
    return render(text) if text is not None else json_type(value)


def is_grant(resource: Mapping[str, Any]) -> bool:
    """True for a retained grant the macro wrote: an ``AWS::IAM::RolePolicy`` named
    ``SfnExactVersion-<hash>``."""
    properties = resource.get("Properties")
    name = properties.get("PolicyName") if isinstance(properties, dict) else None
    return resource.get("Type") == ROLE_POLICY and isinstance(name, str) and name.startswith(GRANT_PREFIX)


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


def alternatives(
    value: Any, path: Path, branch: Branch = (), depth: int = 0
) -> Iterator[tuple[Any, Path, Branch]]:
    """The values ``value`` may take under ``Fn::If``, each with its path and the conditions that choose
    it (``branch`` extended); a side that is ``AWS::NoValue`` gives nothing, and a condition already in
    ``branch`` keeps its value. A value without ``Fn::If`` is its only alternative.

    >>> [(v, p, b) for v, p, b in alternatives({"Fn::If": ["C", "a", {"Ref": "AWS::NoValue"}]}, ())]
    [('a', ('Fn::If', 1), (('C', True),))]
    """
    found = intrinsic(value)
    if found is None or found[0] != FN_IF:
        if not (found is not None and found[0] == REF and found[1] == NO_VALUE):
            yield value, path, branch
        return
    args = found[1]
    if not (isinstance(args, list) and len(args) == 3 and isinstance(args[0], str)) or depth >= MAX_DEPTH:
        yield value, path, branch  # malformed or too deep: left to CloudFormation, read as it is
        return
    condition = args[0]
    chosen = dict(branch)
    for position, truth in ((1, True), (2, False)):
        if chosen.get(condition, truth) != truth:
            continue
        taken = branch if condition in chosen else (*branch, (condition, truth))
        yield from alternatives(args[position], (*path, FN_IF, position), taken, depth + 1)


def _items(value: Any, path: Path, branch: Branch) -> Iterator[tuple[Any, Path, Branch]]:
    """The items of a list that may be chosen by ``Fn::If`` as a whole or item by item."""
    for listed, list_path, list_branch in alternatives(value, path, branch):
        if isinstance(listed, list):
            for position, item in enumerate(listed):
                yield from alternatives(item, (*list_path, position), list_branch)


def _attached_role(value: Any, index: TemplateIndex, names: Mapping[Symbolic, str]) -> str | None:
    """The role a policy's ``Roles`` item or ``RoleName`` names: ``Ref``, ``${Role}`` in ``Fn::Sub``, or
    the role's explicit ``RoleName`` (literal or built alike)."""
    name = ref_target(value)
    if name is not None:
        return name
    try:
        text = symbolic(value)
    except NestingTooDeepError:
        return None
    if not text:
        return None
    text = resolve_pseudo(text, index.pseudo)
    if len(text) == 1 and isinstance(text[0], Atom) and text[0].kind == REF:
        return text[0].name if index.type_of(text[0].name) == ROLE else None
    return names.get(text)


def attached_policies(index: TemplateIndex) -> dict[str, list[tuple[str, Branch]]]:
    """Role -> the ``AWS::IAM::Policy``, ``RolePolicy`` and ``ManagedPolicy`` resources that name it in
    ``Roles`` or ``RoleName`` (by ``Ref``, ``Fn::Sub``, or the role's own ``RoleName``), each with the
    conditions under which it is attached (an ``Fn::If`` item), in template order: one pass for all roles."""
    attached: dict[str, list[tuple[str, Branch]]] = {}
    names: dict[Symbolic, str] | None = None
    for logical_id, resource in index.resources.items():
        properties = resource.get("Properties")
        if resource["Type"] not in (POLICY, ROLE_POLICY, MANAGED_POLICY) or not isinstance(properties, dict):
            continue
        if is_grant(resource):  # the macro's own output: planned again from the role's own statements
            continue
        if names is None:
            names = _role_names(index)
        found: dict[str, Branch] = {}
        places = [
            *_items(properties.get("Roles"), (), ()),
            *alternatives(properties.get("RoleName"), (), ()),
        ]
        for value, _, branch in places:
            role = _attached_role(value, index, names)
            if role is not None and (role not in found or len(branch) < len(found[role])):
                found[role] = branch  # each role once, in order; attached without condition wins
        for role, branch in found.items():
            attached.setdefault(role, []).append((logical_id, branch))
    return attached


def statements_of(
    role: str, index: TemplateIndex, attached: Mapping[str, list[tuple[str, Branch]]] | None = None
) -> Iterator[tuple[StatementRef, dict[str, Any]]]:
    """Every policy statement attached to ``role`` in the template (``attached``: the result of
    :func:`attached_policies`, when the caller asks for several roles). A statement chosen by
    ``Fn::If`` (a whole policy, document, ``Statement`` list or item) is yielded for each side, its
    :attr:`StatementRef.branch` naming the conditions that choose it."""
    if attached is None:
        attached = attached_policies(index)
    documents: list[tuple[str, Path, Branch]] = []
    role_properties = index.resources[role].get("Properties")
    if isinstance(role_properties, dict):
        for policy, path, branch in _items(role_properties.get("Policies"), ("Properties", "Policies"), ()):
            if isinstance(policy, dict):
                documents.append((role, (*path, "PolicyDocument"), branch))
        for arn, _, branch in _items(role_properties.get("ManagedPolicyArns"), (), ()):
            for name in _names(arn, attribute="PolicyArn"):
                if index.type_of(name) == MANAGED_POLICY:
                    documents.append((name, ("Properties", "PolicyDocument"), branch))
    for logical_id, branch in attached.get(role, ()):
        documents.append((logical_id, ("Properties", "PolicyDocument"), branch))
    seen: set[tuple[str, Path]] = set()
    for resource_id, path, branch in documents:
        if (resource_id, path) in seen:
            continue
        seen.add((resource_id, path))
        value: Any = index.resources[resource_id]
        for key in path:
            if isinstance(key, int):
                value = value[key] if isinstance(value, list) and key < len(value) else None
            else:
                value = value.get(key) if isinstance(value, dict) else None
            if value is None:
                break
        for document, document_path, document_branch in alternatives(value, path, branch):
            if not isinstance(document, dict):
                continue
            statement_path = (*document_path, "Statement")
            for statements, at, chosen in alternatives(
                document.get("Statement"), statement_path, document_branch
            ):
                if isinstance(statements, dict):
                    yield StatementRef(resource_id, at, chosen), statements
                elif isinstance(statements, list):
                    for position, item in enumerate(statements):
                        for statement, item_path, item_branch in alternatives(item, (*at, position), chosen):
                            if isinstance(statement, dict):
                                yield StatementRef(resource_id, item_path, item_branch), statement


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


def applies_to_invoke(statement: Mapping[str, Any]) -> bool:
    """True when the statement's ``Action`` covers ``lambda:InvokeFunction`` (wildcards understood),
    or its ``NotAction`` leaves it out."""
    if "Action" in statement:
        key, wanted = "Action", True
    elif "NotAction" in statement:
        key, wanted = "NotAction", False
    else:
        return False
    actions = statement[key]
    actions = actions if isinstance(actions, list) else [actions]
    hit = any(isinstance(action, str) and fnmatch.fnmatchcase(INVOKE, action.lower()) for action in actions)
    return hit == wanted


class ArnSpace:
    """Renders resource entries and function ARNs as comparable text (atoms as stable tokens)."""

    def __init__(self, index: TemplateIndex) -> None:
        self.index = index
        # Caches for one transform: a statement is planned once per role it is attached to, and each
        # plan compares every needed function with every entry.
        self._arns: dict[str, str] = {}
        self._entries: dict[int, tuple[Any, str | None, bool]] = {}  # id(entry) -> (entry, text, known)
        # Entries written alike (SAM writes the same Fn::Sub for every role allowing a function) are
        # rendered once: keyed by their JSON text, which is all the rendering reads.
        self._renderings: dict[str, tuple[str | None, bool]] = {}
        self._matchers: dict[str, Callable[[str], Any]] = {}
        self._arn_sets: dict[tuple[str, ...], Arns] = {}
        self._compiled: dict[tuple[str | None, ...], Compiled] = {}

    def _text(self, value: Symbolic) -> str:
        value = resolve_pseudo(value, self.index.pseudo)
        out = []
        for piece in value:
            if isinstance(piece, str):
                out.append(piece)
            elif (
                piece.kind == GET_ATT
                and piece.attribute == "Arn"
                and self.index.type_of(piece.name) == FUNCTION
            ):
                out.append(self.function_arn(piece.name))
            elif piece.kind == REF and piece.name in self.index.explicit_names:
                out.append(self._text(self.index.explicit_names[piece.name]))
            elif self._is_version_arn(piece):
                # Ref of a version (or GetAtt .FunctionArn) is the function's ARN with a qualifier.
                function = self.index.function_of[piece.name]
                out.append(self.function_arn(function) + ":\u27e8" + piece.render() + "\u27e9")
            else:
                out.append("\u27e8" + piece.render() + "\u27e9")
        return "".join(out)

    def _is_version_arn(self, piece: Atom) -> bool:
        if self.index.type_of(piece.name) != VERSION or piece.name not in self.index.function_of:
            return False
        return piece.kind == REF or (piece.kind == GET_ATT and piece.attribute == "FunctionArn")

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
        """An entry as comparable text (``None`` when it is not string-like)."""
        return self._entry(value)[1]

    def known(self, value: Any) -> bool:
        """False when the entry depends on something only CloudFormation knows (a parameter, an
        import, another intrinsic): it might name any function."""
        return self._entry(value)[2]

    def _entry(self, value: Any) -> tuple[Any, str | None, bool]:
        # Keyed by identity: entries are objects of the input, alive (and unchanged) for the whole
        # transform; the cache holds each one, so no id is reused.
        cached = self._entries.get(id(value))
        if cached is None:
            try:
                key: str | None = json.dumps(value, check_circular=False)
            except (TypeError, ValueError, RecursionError):
                key = None
            rendering = self._renderings.get(key) if key is not None else None
            if rendering is None:
                rendering = self._render(value)
                if key is not None:
                    self._renderings[key] = rendering
            cached = self._entries[id(value)] = (value, *rendering)
        return cached

    def _render(self, value: Any) -> tuple[str | None, bool]:
        text = symbolic(value)
        known = text is not None and all(
            isinstance(piece, str)
            or piece.name in PSEUDO_NAMES
            or (piece.kind != OTHER and self.index.type_of(piece.name) is not None)
            for piece in text
        )
        return (self._text(text) if text is not None else None), known

    def arns_of(self, functions: list[str]) -> Arns:
        """The ARNs of ``functions``, indexed (made once per list of functions)."""
        key = tuple(functions)
        found = self._arn_sets.get(key)
        if found is None:
            by_arn: dict[str, list[str]] = {}
            for function in functions:  # two functions may share a name (under exclusive Conditions)
                by_arn.setdefault(self.function_arn(function), []).append(function)
            found = self._arn_sets[key] = Arns(by_arn)
        return found

    def compiled(self, entries: list[Any]) -> Compiled:
        """The entries of one statement, ready to be matched against many ARNs."""
        rendered = [self.entry(entry) for entry in entries]
        key = tuple(rendered)
        found = self._compiled.get(key)
        if found is None:  # a policy attached to several roles, or written alike for each, is compiled once
            found = self._compiled[key] = self._compile(rendered)
        return found

    def _compile(self, rendered: list[str | None]) -> Compiled:
        literal: dict[str, list[int]] = {}
        wildcards: list[tuple[int, Callable[[str], Any], str]] = []
        for position, text in enumerate(rendered):
            if text is None:
                continue
            if "*" in text or "?" in text:
                head = re.split(r"[*?]", text, maxsplit=1)[0]
                wildcards.append((position, self.matcher(text), head))
            else:
                literal.setdefault(text, []).append(position)
        bases: dict[str, list[int]] = {}
        for position, text in enumerate(rendered):
            at = text.find(":") if text is not None else -1
            while at >= 0:
                assert text is not None
                found = bases.setdefault(text[:at], [])
                if not found or found[-1] != position:
                    found.append(position)
                at = text.find(":", at + 1)
        return Compiled(rendered, literal, wildcards, bases)

    def matcher(self, pattern: str) -> Callable[[str], Any]:
        """:func:`_matcher` of ``pattern``, made once per transform."""
        match = self._matchers.get(pattern)
        if match is None:
            match = self._matchers[pattern] = _matcher(pattern)
        return match


@dataclass(frozen=True)
class Compiled:
    """A statement's entries as text: by exact text, and the wildcard patterns with their matchers."""

    rendered: list[str | None]
    literal: dict[str, list[int]]
    wildcards: list[
        tuple[int, Callable[[str], Any], str]
    ]  # position, matcher, text before the first wildcard
    # every text before a ":" of an entry -> those entries: "<arn>" is here when an entry starts "<arn>:"
    bases: dict[str, list[int]]

    def match(self, position: int, text: str) -> bool:
        """Whether entry ``position`` matches ``text``."""
        entry = self.rendered[position]
        if entry is None:
            return False
        return bool(_matcher(entry)(text)) if "*" in entry or "?" in entry else entry == text

    def of_version(self, arn: str, hit: list[int]) -> list[int]:
        """Entries that name a version of the function ``arn`` (``<arn>:<qualifier>``), not ``arn``."""
        return [position for position in self.bases.get(arn, ()) if position not in hit]


class Arns:
    """Function ARNs (as comparable text) and their functions, sorted for prefix searches."""

    def __init__(self, by_arn: dict[str, list[str]]) -> None:
        self.by_arn = by_arn
        self.sorted = sorted(by_arn)

    def named_by(self, compiled: Compiled) -> set[str]:
        """The functions a Resource list may name, or name a version of: an entry equal to the ARN or
        starting with ``<ARN>:``, or a pattern whose text before its first wildcard starts the version
        ARN ``<ARN>:1`` (the ARN starts with it, or it is the ARN followed by "" or ":" or ":1")."""
        by_arn = self.by_arn
        arns = {text for text in compiled.literal if text in by_arn}
        arns.update(base for base in compiled.bases if base in by_arn)
        for _, _, head in compiled.wildcards:
            start = bisect.bisect_left(self.sorted, head)
            for arn in self.sorted[start:]:
                if not arn.startswith(head):
                    break
                arns.add(arn)
            for tail in ("", ":", ":1"):
                if head.endswith(tail) and head[: len(head) - len(tail)] in by_arn:
                    arns.add(head[: len(head) - len(tail)])
        return {function for arn in arns for function in by_arn[arn]}


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


def function_versions_entry(function: str) -> dict[str, Any]:
    """``<function ARN>:*`` for an in-template function."""
    return {"Fn::Sub": "${" + function + ".Arn}:*"}


@dataclass
class StatementPlan:
    """What one statement does with the pinned functions of one role, and what it must gain."""

    key: str = RESOURCE  # the list the additions go to: Resource or NotResource
    additions: list[Any] = field(default_factory=list)
    allowing: list[str] = field(default_factory=list)  # lets the role invoke the function's versions
    denying: list[str] = field(default_factory=list)  # denies (or leaves out) the function's versions
    allows: list[str] = field(default_factory=list)  # allows the function or a version of it (input)
    denies: list[str] = field(default_factory=list)  # denies the function, unconditionally (input)
    allows_arn: list[str] = field(default_factory=list)  # allows the unqualified function (input)
    denies_versions: list[str] = field(default_factory=list)  # denies its versions, unconditionally (input)
    # a Deny that names the function but leaves its versions out (NotResource), under some reading or
    # condition only: an Allow of the versions would let through there a call that was denied
    spares_versions: list[str] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    _texts: set[str] = field(default_factory=set)
    added_for: list[str] = field(default_factory=list)  # the function each addition is for
    # A statement that chooses by Fn::If (its Effect, Action or resources): the conditions it reads, the
    # readings (one per combination of their values) in which each addition is needed, and for each
    # function it allows, the one condition value under which it does (None: no single one; absent:
    # under every reading).
    conditions: list[str] = field(default_factory=list)
    readings: list[frozenset[int]] = field(default_factory=list)  # per addition
    guards: dict[str, tuple[tuple[str, bool], ...] | None] = field(default_factory=dict)
    fixed: dict[str, bool] = field(default_factory=dict)  # conditions chosen on the way to the statement
    conditional: bool = False  # the statement holds Fn::If: additions are placed by _place

    def add(self, entry: Any, text: str, function: str) -> None:
        """Add ``entry``, whose comparable text is ``text``, unless an entry of that text was added
        (two spellings of one ARN in a statement give one ``:*`` entry)."""
        if text not in self._texts:
            self._texts.add(text)
            self.additions.append(entry)
            self.added_for.append(function)

    def extend(self, current: Any, skip: set[str] | frozenset[str] = frozenset()) -> Any:
        """``current`` (the statement's ``Resource`` or ``NotResource`` as written so far) with the
        additions that are not for a function in ``skip``: appended to the list (a single entry becomes
        a list), each once; in a statement that chooses by ``Fn::If``, placed in the side of the
        ``Fn::If`` it belongs to, or wrapped in an ``Fn::If`` of its own (``AWS::NoValue`` otherwise)."""
        wanted = [
            (position, entry)
            for position, (entry, function) in enumerate(zip(self.additions, self.added_for, strict=True))
            if function not in skip
        ]
        if not wanted:
            return current
        if not self.conditional:
            return _appended(current, [entry for _, entry in wanted])
        return self._place(current, dict(self.fixed), wanted, 0)

    def _place(self, value: Any, chosen: dict[str, bool], wanted: list[tuple[int, Any]], depth: int) -> Any:
        found = intrinsic(value)
        args = found[1] if found is not None and found[0] == FN_IF else None
        if isinstance(args, list) and len(args) == 3 and isinstance(args[0], str) and depth < MAX_DEPTH:
            condition = args[0]
            sides = list(args)
            for position, truth in ((1, True), (2, False)):
                if chosen.get(condition, truth) == truth:
                    sides[position] = self._place(
                        args[position], {**chosen, condition: truth}, wanted, depth + 1
                    )
            return {FN_IF: sides}
        entries = []
        for position, entry in wanted:
            placed = self._tree(entry, self.readings[position], chosen, 0)
            if placed != {REF: NO_VALUE}:
                entries.append(placed)
        if not entries:
            return value
        if found is not None and found[0] == REF and found[1] == NO_VALUE:
            return entries
        return _appended(value, entries)

    def _tree(self, entry: Any, readings: frozenset[int], chosen: dict[str, bool], at: int) -> Any:
        """``entry`` where the readings consistent with ``chosen`` need it, ``AWS::NoValue`` elsewhere,
        deciding on the conditions from position ``at`` on."""
        consistent = [
            number
            for number in range(2 ** len(self.conditions))
            if all(
                bool(number >> i & 1) == chosen[name]
                for i, name in enumerate(self.conditions)
                if name in chosen
            )
        ]
        hits = [number in readings for number in consistent]
        if all(hits):
            return entry
        if not any(hits):
            return {REF: NO_VALUE}
        name = self.conditions[at]
        if name in chosen:
            return self._tree(entry, readings, chosen, at + 1)
        yes = self._tree(entry, readings, {**chosen, name: True}, at + 1)
        no = self._tree(entry, readings, {**chosen, name: False}, at + 1)
        return yes if yes == no else {FN_IF: [name, yes, no]}


def _appended(current: Any, additions: list[Any]) -> list[Any]:
    merged = list(current) if isinstance(current, list) else [current]
    for entry in additions:
        if entry not in merged:
            merged.append(entry)
    return merged


# The keys of a statement whose Fn::If objects decide what it does to a call.
_CHOOSING_KEYS = ("Effect", "Action", "NotAction", RESOURCE, NOT_RESOURCE)


def _choose(value: Any, chosen: Mapping[str, bool], depth: int = 0) -> Any:
    """``value`` with each ``Fn::If`` on a condition of ``chosen`` replaced by its side, and
    ``AWS::NoValue`` dropped from lists (``_NONE`` when the value itself is ``AWS::NoValue``)."""
    if depth > MAX_DEPTH:
        raise NestingTooDeepError
    found = intrinsic(value)
    if found is not None:
        args = found[1]
        if (
            found[0] == FN_IF
            and isinstance(args, list)
            and len(args) == 3
            and isinstance(args[0], str)
            and args[0] in chosen
        ):
            return _choose(args[1] if chosen[args[0]] else args[2], chosen, depth + 1)
        if found[0] == REF and args == NO_VALUE:
            return _NONE
        return value
    if isinstance(value, list):
        items = [_choose(item, chosen, depth + 1) for item in value]
        return [item for item in items if item is not _NONE]
    return value


_NONE = object()


def plan_statement(
    statement: Mapping[str, Any],
    functions: list[str],
    space: ArnSpace,
    location: str = "",
    branch: Branch = (),
) -> StatementPlan:
    """For one statement of a role whose state machines call ``functions`` pinned: make it treat each
    function's versions (``<ARN>:<n>``) as it treats the function (``<ARN>``), which is what the call
    named before it was pinned (``branch``: the conditions that chose the statement, see
    :attr:`StatementRef.branch`).

    A statement that chooses its ``Effect``, actions or resources by ``Fn::If`` is read once for each
    combination of the conditions it uses; each addition goes where the readings that need it are
    (into the side of an ``Fn::If`` ``Resource``, or in an ``Fn::If`` of its own).

    >>> from sfn_exact_version.index import TemplateIndex
    >>> index = TemplateIndex.build({"Fn": {"Type": "AWS::Lambda::Function"}}, {}, None, None)
    >>> entry = {"Fn::GetAtt": ["Fn", "Arn"]}
    >>> statement = {"Effect": "Allow", "Action": "lambda:InvokeFunction",
    ...              "Resource": [{"Fn::If": ["C", entry, {"Ref": "AWS::NoValue"}]}]}
    >>> plan = plan_statement(statement, ["Fn"], ArnSpace(index))
    >>> plan.extend(statement["Resource"])[1]
    {'Fn::If': ['C', {'Fn::Sub': '${Fn.Arn}:*'}, {'Ref': 'AWS::NoValue'}]}
    """
    fixed = dict(branch)
    try:
        names = list(
            dict.fromkeys(
                name for key in _CHOOSING_KEYS if key in statement for name in condition_names(statement[key])
            )
        )
    except NestingTooDeepError:
        names = []
    if not names:
        return _plan_plain(statement, functions, space, location)
    conditions = [name for name in names if name not in fixed]
    plan = StatementPlan(
        key=RESOURCE if RESOURCE in statement else NOT_RESOURCE, fixed=fixed, conditional=True
    )
    if len(conditions) > MAX_STATEMENT_CONDITIONS:
        plan.warnings.append(
            f"{location}: this statement chooses by {len(conditions)} conditions ({', '.join(conditions)}); "
            f"SfnExactVersion reads at most {MAX_STATEMENT_CONDITIONS} and changed nothing in it. If it "
            "allows or denies invoking a pinned function, give it the same entries followed by :* on the "
            "same side."
        )
        return plan
    plan.conditions = conditions
    total = 2 ** len(conditions)
    readings: dict[str, list[int]] = {}  # addition text -> readings that need it
    allowed: dict[str, set[int]] = {}
    denied_in: dict[str, set[int]] = {}
    versions_denied_in: dict[str, set[int]] = {}
    texts: dict[int, str] = {}
    for number in range(total):
        chosen = {**fixed, **{name: bool(number >> i & 1) for i, name in enumerate(conditions)}}
        try:
            view = _view(statement, chosen)
        except NestingTooDeepError:
            return StatementPlan()
        reading = _plan_plain(view, functions, space, location)
        for entry, function in zip(reading.additions, reading.added_for, strict=True):
            text = canonical(entry)
            if text not in readings:
                readings[text] = []
                plan.additions.append(entry)
                plan.added_for.append(function)
                texts[len(plan.additions) - 1] = text
            readings[text].append(number)
        for name in ("allowing", "denying", "allows", "allows_arn", "spares_versions"):
            target = getattr(plan, name)
            target.extend(f for f in getattr(reading, name) if f not in target)
        for function in reading.allows:
            allowed.setdefault(function, set()).add(number)
        for function in reading.denies:
            denied_in.setdefault(function, set()).add(number)
        for function in dict.fromkeys([*reading.denies, *reading.denies_versions]):
            versions_denied_in.setdefault(function, set()).add(number)
        plan.warnings.extend(w for w in reading.warnings if w not in plan.warnings)
    plan.readings = [frozenset(readings[texts[i]]) for i in range(len(plan.additions))]
    # Denied outright only when denied under every reading.
    plan.denies = [function for function, numbers in denied_in.items() if len(numbers) == total]
    plan.guards = _guards(allowed, conditions)
    plan.denies_versions = [f for f, numbers in versions_denied_in.items() if len(numbers) == total]
    return plan


def _guards(readings: Mapping[str, set[int]], conditions: list[str]) -> dict[str, Branch | None]:
    """For each function that holds under some readings but not all: the one condition value that
    chooses exactly those readings, or None."""
    total = 2 ** len(conditions)
    guards: dict[str, Branch | None] = {}
    for function, numbers in readings.items():
        if len(numbers) == total:
            continue
        guards[function] = None
        for i, name in enumerate(conditions):
            for truth in (True, False):
                if numbers == {n for n in range(total) if bool(n >> i & 1) == truth}:
                    guards[function] = ((name, truth),)
    return guards


def _view(statement: Mapping[str, Any], chosen: Mapping[str, bool]) -> dict[str, Any]:
    """The statement as it reads when the conditions have the values ``chosen``."""
    view: dict[str, Any] = {}
    for key, value in statement.items():
        if key in _CHOOSING_KEYS:
            value = _choose(value, chosen)
            if value is _NONE:
                continue
        view[key] = value
    return view


def _plan_plain(
    statement: Mapping[str, Any], functions: list[str], space: ArnSpace, location: str = ""
) -> StatementPlan:
    """:func:`plan_statement` for a statement without ``Fn::If``."""
    plan = StatementPlan()
    effect = statement.get("Effect")
    if effect not in (ALLOW, DENY) or not applies_to_invoke(statement):
        return plan
    if RESOURCE in statement:
        key = RESOURCE
    elif NOT_RESOURCE in statement:
        key = NOT_RESOURCE
    else:
        return plan
    plan.key = key
    entries = statement[key]
    entries = entries if isinstance(entries, list) else [entries]
    compiled = space.compiled(entries)
    rendered, literal, wildcards = compiled.rendered, compiled.literal, compiled.wildcards
    unconditional = "Condition" not in statement
    positive = key == RESOURCE
    uncertain: list[str] = []
    # A Resource list concerns few of the functions: find them through the ARNs (no loop over all of
    # them per entry). A NotResource list concerns every function.
    relevant = space.arns_of(functions).named_by(compiled) if positive else None
    for function in functions:
        if relevant is not None and function not in relevant:
            if effect == DENY:
                uncertain.append(function)
            continue
        arn = space.function_arn(function)
        version_arn = arn + ":1"
        # Entries without a wildcard match by equality (a dict lookup); the others by their pattern.
        hit_arn = literal.get(arn, [])
        # A pattern can match the ARN or a version only if the version ARN starts with its literal head.
        candidates = [(i, match) for i, match, head in wildcards if version_arn.startswith(head)]
        if positive and not hit_arn and not candidates and arn not in compiled.bases:
            # Names neither the function nor one of its versions (the common case, made cheap).
            if effect == DENY:
                uncertain.append(function)
            continue
        hit_wild = [i for i, match in candidates if match(arn)]
        if hit_wild:
            hit_arn = sorted([*hit_arn, *hit_wild])
        hit_version = version_arn in literal or any(match(version_arn) for _, match in candidates)
        names_arn = bool(hit_arn) == positive  # the statement applies to the unqualified ARN
        names_version = hit_version == positive  # ... and to the versions
        if effect == ALLOW and names_arn:
            plan.allows_arn.append(function)
        if effect == DENY and names_version and unconditional:
            plan.denies_versions.append(function)
        if effect == ALLOW and positive:
            if names_version:
                plan.allows.append(function)
                plan.allowing.append(function)
                continue
            exact = [entries[i] for i in hit_arn if rendered[i] == arn]
            of_version = compiled.of_version(arn, hit_arn) if not exact else []
            if names_arn or of_version:
                plan.allows.append(function)
            if exact:
                plan.add(versions_entry(exact[0]), f"{arn}:*", function)
                plan.allowing.append(function)
            elif of_version:  # CDK's LambdaInvoke(fn.currentVersion) allows that one version only
                plan.add(function_versions_entry(function), f"{arn}:*", function)
                plan.allowing.append(function)
            continue
        if effect == ALLOW:  # NotResource: allows all but the entries
            if names_arn:
                plan.allows.append(function)
            if names_arn and names_version:
                plan.allowing.append(function)
            elif not names_arn and names_version:  # leaves the function out, not its versions
                for i in hit_arn:
                    if not compiled.match(i, version_arn):
                        plan.add(versions_entry(entries[i]), f"{rendered[i]}:*", function)
                plan.denying.append(function)
            elif not names_arn:
                plan.denying.append(function)
            continue
        # Deny
        if names_arn and unconditional:
            plan.denies.append(function)
        if names_arn and not names_version and positive:
            for i in hit_arn:
                if not compiled.match(i, version_arn):
                    plan.add(versions_entry(entries[i]), f"{rendered[i]}:*", function)
            plan.denying.append(function)
        elif names_arn and names_version:
            plan.denying.append(function)
        elif names_arn:  # a NotResource Deny whose entries leave out the versions, not the function
            plan.spares_versions.append(function)
        elif names_version and not positive:  # leaves the function out of the Deny, not its versions
            exact = [entries[i] for i in hit_arn if rendered[i] == arn]
            if exact:
                plan.add(versions_entry(exact[0]), f"{arn}:*", function)
                plan.allowing.append(function)
            else:
                plan.warnings.append(
                    f"{location}: this Deny leaves {function} out (NotResource) through a wildcard but "
                    f"not its versions, so pinned calls to {function} are denied; add <{function} ARN>:* "
                    "to its NotResource."
                )
        elif not positive:  # leaves out the function and its versions
            plan.allowing.append(function)
        elif names_version:
            plan.warnings.append(
                f"{location}: this Deny names the versions of {function} but not {function} itself, so "
                f"pinned calls to {function} are denied; remove the Deny or opt {function} out."
            )
        if positive and not names_arn and not names_version:
            uncertain.append(function)
    unknown = [entry for entry in entries if not space.known(entry)] if uncertain else []
    if unknown:
        plan.warnings.append(
            f"{location}: SfnExactVersion cannot tell whether this Deny names "
            f"{', '.join(uncertain)} ({render_value(unknown[0])} is known only at deploy time); an entry "
            "that names a function's ARN does not cover its versions, which pinned calls invoke: add "
            "the same entry followed by :* to it."
        )
    return plan


@dataclass(frozen=True)
class Grant:
    """A retained grant: an inline policy that lets ``role`` invoke every version of ``function``."""

    logical_id: str
    policy_name: str
    role: str
    function: str
    resource: dict[str, Any]


def grant_digest(role: str, function: str, index: TemplateIndex) -> str:
    """What names a grant: the role, the function, and what decides the function's physical identity
    (its ``FunctionName``): a renamed or replaced function gets a new grant, and the old one stays."""
    properties = index.resources[function].get("Properties")
    name = properties.get("FunctionName") if isinstance(properties, dict) else None
    return hashlib.sha256(canonical([role, function, name]).encode("utf-8")).hexdigest()[:16]


def make_grant(
    role: str,
    function: str,
    index: TemplateIndex,
    condition: str | None,
    when: Any,
    digest: str | None = None,
) -> Grant:
    """The ``AWS::IAM::RolePolicy`` (Retain) allowing ``<function ARN>:*`` to ``role``; ``condition``
    is the template Condition it needs (its function's or role's), ``when`` an IAM Condition to copy;
    ``digest`` is :func:`grant_digest`'s, when the caller has it already."""
    digest = digest or grant_digest(role, function, index)
    statement: dict[str, Any] = {
        "Effect": ALLOW,
        "Action": "lambda:InvokeFunction",
        "Resource": function_versions_entry(function),
    }
    if when is not None:
        statement["Condition"] = when
    resource: dict[str, Any] = {"Type": ROLE_POLICY}
    if condition is not None:
        resource["Condition"] = condition
    resource["DeletionPolicy"] = "Retain"
    resource["UpdateReplacePolicy"] = "Retain"
    resource["Properties"] = {
        "PolicyName": GRANT_PREFIX + digest,
        "RoleName": {REF: role},
        "PolicyDocument": {"Version": "2012-10-17", "Statement": [statement]},
    }
    return Grant(GRANT_ID_PREFIX + digest, GRANT_PREFIX + digest, role, function, resource)


def inline_policy_size(
    role: str, index: TemplateIndex, attached: Mapping[str, list[tuple[str, Branch]]]
) -> int:
    """About how many characters of the role's inline-policy quota the template already uses (the role's
    ``Policies``, ``AWS::IAM::Policy`` and ``AWS::IAM::RolePolicy``; intrinsics counted as written)."""
    documents: list[Any] = []
    properties = index.resources[role].get("Properties")
    if isinstance(properties, dict) and isinstance(properties.get("Policies"), list):
        documents.extend(properties["Policies"])
    for logical_id, _ in attached.get(role, ()):
        resource = index.resources[logical_id]
        if resource["Type"] in (POLICY, ROLE_POLICY):
            documents.append(resource["Properties"].get("PolicyDocument"))
    try:
        return sum(len(canonical(document)) for document in documents)
    except (RecursionError, ValueError):  # nested too deep to measure: certainly no room left
        return ROLE_INLINE_QUOTA


def grant_size(function: str, index: TemplateIndex) -> int:
    """Characters a grant takes of its role's inline-policy quota, once its ARN is resolved (a generated
    function name counted at its longest, 64)."""
    name = index.explicit_names.get(function)
    name_length = len(name[0]) if name and len(name) == 1 and isinstance(name[0], str) else 64
    arn = len("arn:aws-us-gov:lambda:ap-southeast-1:123456789012:function::*") + name_length
    return _GRANT_DOCUMENT_SIZE + arn + len(GRANT_PREFIX) + 16


# The grant's policy document without its Resource (compact JSON, as IAM counts it).
_GRANT_DOCUMENT_SIZE = len(
    canonical(
        {
            "Version": "2012-10-17",
            "Statement": [{"Effect": ALLOW, "Action": "lambda:InvokeFunction", "Resource": ""}],
        }
    )
)
