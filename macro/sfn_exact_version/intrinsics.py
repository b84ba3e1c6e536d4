"""The one place that recognises CloudFormation intrinsic functions.

Nothing else in the package pattern-matches ``Ref`` or ``Fn::*`` by hand. The central idea is the
*symbolic string*: what a string-valued expression will become once CloudFormation resolves it, as a
tuple of literal text and :class:`Atom` s (references that only CloudFormation can resolve).
``{"Fn::Sub": "arn:${AWS::Partition}:lambda:${AWS::Region}:${AWS::AccountId}:function:${Fn}"}``
becomes ``("arn:", Atom(REF, "AWS::Partition"), ":lambda:", ..., Atom(REF, "Fn"))``. Two spellings of
the same value give the same symbolic string, so references can be compared whatever form they take.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from typing import Any, NamedTuple

REF = "Ref"
GET_ATT = "Fn::GetAtt"
SUB = "Fn::Sub"
JOIN = "Fn::Join"
OTHER = "other"

# ${Name}, ${Name.Attr}, ${!Literal}; CloudFormation allows no "}" inside.
SUB_PLACEHOLDER = re.compile(r"\$\{([^}]*)\}")

MAX_DEPTH = 100  # levels of intrinsic functions within one expression
MAX_JSON_DEPTH = 1000  # levels of JSON a walk over whole documents (a definition object) reads


class NestingTooDeepError(Exception):
    """Input nests deeper than a limit; callers turn it into a TransformError. The message says which
    limit (``more than 100 levels`` by default)."""

    def __init__(self, limit: str = f"more than {MAX_DEPTH} levels") -> None:
        super().__init__(limit)
        self.limit = limit


def too_deep_json() -> NestingTooDeepError:
    """The error for a document nested more than :data:`MAX_JSON_DEPTH` levels."""
    return NestingTooDeepError(f"more than {MAX_JSON_DEPTH} levels of JSON")


@dataclass(frozen=True, order=True)
class Atom:
    """A value only CloudFormation can resolve: ``Ref`` of a name, ``GetAtt`` of a resource, or another
    intrinsic function (``kind == OTHER``, ``name`` holds its canonical JSON)."""

    kind: str
    name: str
    attribute: str = ""

    def render(self) -> str:
        """Readable form, as a user would write it inside ``Fn::Sub``."""
        if self.kind == REF:
            return "${" + self.name + "}"
        if self.kind == GET_ATT:
            return "${" + self.name + "." + self.attribute + "}"
        return self.name


Symbolic = tuple[str | Atom, ...]


def intrinsic(value: Any) -> tuple[str, Any] | None:
    """``("Fn::Sub", args)`` when ``value`` is a one-key intrinsic-function object, else ``None``.

    >>> intrinsic({"Ref": "Fn"})
    ('Ref', 'Fn')
    """
    if isinstance(value, dict) and len(value) == 1:
        ((key, args),) = value.items()
        if key == REF or key.startswith("Fn::") or key == "Condition":
            return key, args
    return None


def ref(name: str) -> dict[str, Any]:
    """``{"Ref": name}``."""
    return {REF: name}


def sub(template: str) -> dict[str, Any]:
    """``{"Fn::Sub": template}``."""
    return {SUB: template}


def get_att_target(value: Any) -> tuple[str, str] | None:
    """``(resource, attribute)`` of a ``Fn::GetAtt`` in list or ``"X.Attr"`` string form."""
    found = intrinsic(value)
    if found is None or found[0] != GET_ATT:
        return None
    return _get_att_args(found[1])


def _get_att_args(args: Any) -> tuple[str, str] | None:
    if isinstance(args, list) and len(args) == 2 and isinstance(args[0], str) and isinstance(args[1], str):
        return args[0], args[1]
    if isinstance(args, str) and "." in args:
        resource, attribute = args.split(".", 1)
        return resource, attribute
    return None


def ref_target(value: Any) -> str | None:
    """The name in ``{"Ref": name}``, else ``None``."""
    found = intrinsic(value)
    if found is not None and found[0] == REF and isinstance(found[1], str):
        return found[1]
    return None


def sub_parts(value: Any) -> tuple[str, dict[str, Any]] | None:
    """``(template, variables)`` of a ``Fn::Sub`` in either form, else ``None``."""
    found = intrinsic(value)
    if found is None or found[0] != SUB:
        return None
    return _sub_args(found[1])


def _sub_args(args: Any) -> tuple[str, dict[str, Any]] | None:
    if isinstance(args, str):
        return args, {}
    if isinstance(args, list) and len(args) == 2 and isinstance(args[0], str) and isinstance(args[1], dict):
        return args[0], args[1]
    return None


def join_parts(value: Any) -> tuple[str, list[Any]] | None:
    """``(delimiter, items)`` of a ``Fn::Join`` whose items are a literal list, else ``None``."""
    found = intrinsic(value)
    if found is None or found[0] != JOIN:
        return None
    return _join_args(found[1])


def _join_args(args: Any) -> tuple[str, list[Any]] | None:
    if isinstance(args, list) and len(args) == 2 and isinstance(args[0], str) and isinstance(args[1], list):
        return args[0], args[1]
    return None


def sub_name_atom(name: str) -> Atom:
    """The atom a ``${name}`` in ``Fn::Sub`` stands for when ``name`` is not a variable."""
    name = name.strip()
    if "." in name and not name.startswith("AWS::"):
        resource, attribute = name.split(".", 1)
        return Atom(GET_ATT, resource, attribute)
    return Atom(REF, name)


def iter_sub(template: str) -> Iterator[tuple[int, int, str | None, str]]:
    """Split a ``Fn::Sub`` template into pieces ``(start, end, name, text)``.

    ``name`` is the placeholder name for ``${name}`` and ``None`` for literal text; ``text`` is what
    the piece renders to when it is literal (``${!X}`` renders as ``${X}``).
    """
    position = 0
    for match in SUB_PLACEHOLDER.finditer(template):
        if match.start() > position:
            yield position, match.start(), None, template[position : match.start()]
        inner = match.group(1)
        if inner.startswith("!"):
            yield match.start(), match.end(), None, "${" + inner[1:] + "}"
        else:
            yield match.start(), match.end(), inner, match.group(0)
        position = match.end()
    if position < len(template):
        yield position, len(template), None, template[position:]


def canonical(value: Any) -> str:
    """Deterministic JSON text of a value (sorted keys, no spaces)."""
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False)


def symbolic(value: Any, depth: int = 0) -> Symbolic | None:
    """What ``value`` resolves to, as literal text and atoms; ``None`` if it is not string-like.

    >>> symbolic({"Fn::Sub": "${Fn.Arn}:*"})
    (Atom(kind='Fn::GetAtt', name='Fn', attribute='Arn'), ':*')
    """
    if depth > MAX_DEPTH:
        raise NestingTooDeepError
    if isinstance(value, str):
        return (value,) if value else ()
    if isinstance(value, bool):
        return ("true" if value else "false",)
    if isinstance(value, int | float):
        return (json.dumps(value),)
    found = intrinsic(value)
    if found is None:
        return None
    # One dispatch on the function's name (this runs for every value the macro compares).
    key, args = found
    parts = None
    joined = None
    if key == REF:
        if isinstance(args, str):
            return (Atom(REF, args),)
    elif key == GET_ATT:
        target = _get_att_args(args)
        if target is not None:
            return (Atom(GET_ATT, target[0], target[1]),)
    elif key == SUB:
        parts = _sub_args(args)
    elif key == JOIN:
        joined = _join_args(args)
    if parts is not None:
        template, variables = parts
        pieces: list[str | Atom] = []
        for _start, _end, placeholder, text in iter_sub(template):
            if placeholder is None:
                pieces.append(text)
            elif placeholder.strip() in variables:
                inner = symbolic(variables[placeholder.strip()], depth + 1)
                pieces.extend(inner if inner is not None else (_other(variables[placeholder.strip()]),))
            else:
                pieces.append(sub_name_atom(placeholder))
        return _merge(pieces)
    if joined is not None:
        delimiter, items = joined
        pieces = []
        for index, item in enumerate(items):
            if index and delimiter:
                pieces.append(delimiter)
            inner = symbolic(item, depth + 1)
            pieces.extend(inner if inner is not None else (_other(item),))
        return _merge(pieces)
    return (_other(value),)


def _other(value: Any) -> Atom:
    return Atom(OTHER, canonical(value))


def concat(pieces: list[str | Atom]) -> Symbolic:
    """Literal text and atoms as one symbolic string: what ``Fn::Join`` with ``""`` of them gives."""
    return _merge(pieces)


def _merge(pieces: list[str | Atom]) -> Symbolic:
    merged: list[str | Atom] = []
    for piece in pieces:
        if isinstance(piece, str):
            if not piece:
                continue
            if merged and isinstance(merged[-1], str):
                merged[-1] = merged[-1] + piece
                continue
        merged.append(piece)
    return tuple(merged)


def render(value: Symbolic) -> str:
    """Readable text of a symbolic string, atoms written as ``${...}``."""
    return "".join(piece if isinstance(piece, str) else piece.render() for piece in value)


def resolve_pseudo(value: Symbolic, known: Mapping[str, str]) -> Symbolic:
    """Replace ``Ref`` of the pseudo parameters in ``known`` by their values."""
    pieces: list[str | Atom] = []
    for piece in value:
        if isinstance(piece, Atom) and piece.kind == REF and piece.name in known:
            pieces.append(known[piece.name])
        else:
            pieces.append(piece)
    return _merge(pieces)


_SCALAR_TYPES = frozenset({str, int, float, bool, type(None)})


def references(value: Any) -> Iterator[str]:
    """Every name a value refers to: ``Ref`` names, ``GetAtt`` resources and ``${...}`` names, in
    document order. Walked with a stack rather than recursion: a definition object nests several JSON
    levels per Parallel/Map level, and reads up to :data:`MAX_JSON_DEPTH`."""
    if not isinstance(value, dict | list):
        return
    stack: list[tuple[Any, int]] = [(value, 0)]
    while stack:
        item, depth = stack.pop()
        children: Any
        if isinstance(item, dict):
            name = ref_target(item)
            if name is not None:
                yield name
                continue
            target = get_att_target(item)
            if target is not None:
                yield target[0]
                continue
            parts = sub_parts(item)
            if parts is not None:
                template, variables = parts
                for _s, _e, placeholder, _t in iter_sub(template):
                    if placeholder is not None and placeholder.strip() not in variables:
                        yield sub_name_atom(placeholder).name
                children = list(variables.values())
            else:
                children = list(item.values())
        else:
            children = item
        if children:
            if depth >= MAX_JSON_DEPTH:  # its children would be deeper than the limit
                raise too_deep_json()
            # Only containers go on the stack: SAM's definitions are lists of thousands of strings,
            # which the test of their types (in C) passes over at once.
            if not _SCALAR_TYPES.issuperset(map(type, children)):
                depth += 1
                stack.extend((child, depth) for child in reversed(children) if isinstance(child, dict | list))


def condition_names(value: Any, depth: int = 0) -> Iterator[str]:
    """Every template condition a value depends on: ``Fn::If`` and ``{"Condition": name}``."""
    if depth > MAX_DEPTH:
        raise NestingTooDeepError
    if isinstance(value, dict):
        found = intrinsic(value)
        if found is not None and found[0] == "Condition" and isinstance(found[1], str):
            yield found[1]
            return
        if found is not None and found[0] == "Fn::If" and isinstance(found[1], list):
            name = found[1][0] if found[1] else None
            if isinstance(name, str):
                yield name
        for item in value.values():
            yield from condition_names(item, depth + 1)
    elif isinstance(value, list):
        for item in value:
            yield from condition_names(item, depth + 1)


class Dependencies(NamedTuple):
    """What :func:`references`, :func:`condition_names` and :func:`mapping_names` find in a value."""

    names: set[str]
    conditions: set[str]
    mappings: set[str | None]


def dependencies(value: Any) -> Dependencies:
    """The names, conditions and mappings ``value`` depends on, in one walk instead of three."""
    found = Dependencies(set(), set(), set())
    _depend(value, found, True, 0)
    return found


def _depend(value: Any, found: Dependencies, names: bool, depth: int) -> None:
    """Walk ``value`` as :func:`condition_names` and :func:`mapping_names` do (everything; they count
    every level, so they are the ones that raise on deep nesting), collecting what
    :func:`references` would where ``names`` is true: it stops below ``Ref`` and ``GetAtt``, whose
    arguments are strings that hold nothing else to find."""
    if depth > MAX_DEPTH:
        raise NestingTooDeepError
    if isinstance(value, dict):
        special = intrinsic(value)
        if special is not None:
            key, args = special
            if key == "Condition" and isinstance(args, str):
                found.conditions.add(args)
                return
            if key == "Fn::If" and isinstance(args, list):
                if args and isinstance(args[0], str):
                    found.conditions.add(args[0])
            elif key == "Fn::FindInMap" and isinstance(args, list) and args:
                found.mappings.add(args[0] if isinstance(args[0], str) else None)
            elif names and key == REF and isinstance(args, str):
                found.names.add(args)
                return
            elif names and key == GET_ATT and (target := _get_att_args(args)) is not None:
                found.names.add(target[0])
                return
            elif names and key == SUB and (parts := _sub_args(args)) is not None:
                template, variables = parts
                for _s, _e, placeholder, _t in iter_sub(template):
                    if placeholder is not None and placeholder.strip() not in variables:
                        found.names.add(sub_name_atom(placeholder).name)
                # references() walks the variables' values, never the variables object as an intrinsic
                # (a variable may be named Ref); conditions and mappings are looked for everywhere.
                for item in variables.values():
                    _depend(item, found, True, depth + 3)
                _depend(args, found, False, depth + 1)
                return
        for item in value.values():
            _depend(item, found, names, depth + 1)
    elif isinstance(value, list):
        for item in value:
            _depend(item, found, names, depth + 1)


def find_in_map_calls(value: Any, depth: int = 0) -> Iterator[list[Any]]:
    """The argument lists of every ``Fn::FindInMap`` in a value, outermost first.

    >>> list(find_in_map_calls({"A": {"Fn::FindInMap": ["Stages", {"Ref": "Stage"}, "Size"]}}))
    [['Stages', {'Ref': 'Stage'}, 'Size']]
    """
    if depth > MAX_DEPTH:
        raise NestingTooDeepError
    if isinstance(value, dict):
        found = intrinsic(value)
        if found is not None and found[0] == "Fn::FindInMap" and isinstance(found[1], list) and found[1]:
            yield found[1]
        for item in value.values():
            yield from find_in_map_calls(item, depth + 1)
    elif isinstance(value, list):
        for item in value:
            yield from find_in_map_calls(item, depth + 1)


def mapping_names(value: Any, depth: int = 0) -> Iterator[str | None]:
    """Every template mapping a value reads with ``Fn::FindInMap``; ``None`` when the map name is
    itself computed (then any mapping may be read)."""
    if depth > MAX_DEPTH:
        raise NestingTooDeepError
    if isinstance(value, dict):
        found = intrinsic(value)
        if found is not None and found[0] == "Fn::FindInMap" and isinstance(found[1], list) and found[1]:
            yield found[1][0] if isinstance(found[1][0], str) else None
        for item in value.values():
            yield from mapping_names(item, depth + 1)
    elif isinstance(value, list):
        for item in value:
            yield from mapping_names(item, depth + 1)
