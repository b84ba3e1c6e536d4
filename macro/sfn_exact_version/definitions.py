"""State machine definitions in every form CloudFormation accepts: read them, find the Lambda calls,
and rewrite exactly those calls.

A ``DefinitionString`` may be a plain string, ``Fn::Sub`` (either form), ``Fn::Join`` (SAM's form) or a
nesting of these, and any string in it may hold ``${key}`` placeholders of ``DefinitionSubstitutions``.
We flatten it into *pieces*: literal text, each remembering the string it came from and where, and
*occurrences* of placeholders (``${X}`` in ``Fn::Sub``, ``${key}`` of a substitution, an intrinsic
object inside ``Fn::Join``). Each occurrence is written into the text as a unique sentinel, the text is
parsed as JSON, and every sentinel found in a call's target leads back to the exact spot to rewrite.
Nothing is re-serialised: edits touch only the characters of the calls they pin.
"""

from __future__ import annotations

import copy
import json
import re
from bisect import bisect_right
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from itertools import accumulate, chain
from json import scanner
from typing import Any, NamedTuple

from sfn_exact_version.errors import ProblemReason, fail, json_type
from sfn_exact_version.intrinsics import (
    GET_ATT,
    MAX_DEPTH,
    MAX_JSON_DEPTH,
    REF,
    Atom,
    NestingTooDeepError,
    Symbolic,
    concat,
    intrinsic,
    iter_sub,
    join_parts,
    ref,
    ref_target,
    sub_name_atom,
    sub_parts,
    symbolic,
    too_deep_json,
)
from sfn_exact_version.targets import FUNCTION_NAME, RESOURCE

Path = tuple[str | int, ...]

# The kinds of placeholder occurrence.
SUB_REF = "sub-ref"  # ${X} or ${X.Attr} inside Fn::Sub, naming a resource or parameter
SUB_VAR = "sub-var"  # ${X} inside Fn::Sub, bound by the Fn::Sub variables object
SUBST = "subst"  # ${key} of DefinitionSubstitutions
ELEMENT = "element"  # an intrinsic-function object inside Fn::Join (or a Definition object value)

PLAIN = "plain"  # a string taken as it is
SUB = "sub"  # the template string of an Fn::Sub

INTEGRATION = re.compile(r"^arn:[^:]+:states:::(?:aws-sdk:)?lambda:invoke(?:\.waitForTaskToken)?$")
JSON_STRING = re.compile(r'"(?:[^"\\]|\\.)*"', re.DOTALL)

S3_STATE = "(DefinitionS3Location)"


# Container and Text are immutable named tuples rather than frozen dataclasses: a SAM definition has one
# of each per line, and a frozen dataclass takes about three times as long to build.
class Container(NamedTuple):
    """A string of the resource that holds definition text."""

    path: Path  # relative to the resource's Properties
    kind: str  # PLAIN or SUB
    text: str


class Text(NamedTuple):
    """Literal definition text taken from a container (``container`` is None for a Join delimiter)."""

    container: Container | None
    start: int  # offset in container.text
    text: str
    linear: bool  # the raw characters are exactly the rendered text


class Run(NamedTuple):
    """String items ``first`` to ``stop - 1`` of one ``Fn::Join``, none holding a placeholder, and the
    delimiters between them: one piece of text. SAM writes one item per line, and a piece per line made
    reading cost more than the JSON parse; :meth:`Definition._expand` gives back the pieces of single
    items (what an edit needs) for just the part of a run it touches."""

    path: Path  # the Fn::Join's list of items
    items: list[Any]
    first: int
    stop: int
    delimiter: str
    text: str  # delimiter.join(items[first:stop])


@dataclass(frozen=True)
class Occurrence:
    """A placeholder in the definition text: it will be replaced by what ``expr`` resolves to."""

    index: int
    kind: str
    expr: Any
    container: Container | None = None  # SUB_REF, SUB_VAR, SUBST
    span: tuple[int, int] = (0, 0)  # in container.text
    path: Path = ()  # ELEMENT: the object's path; SUB_VAR: the variables object's path
    name: str = ""  # SUB_VAR variable name or SUBST key

    @property
    def binding(self) -> tuple[Any, ...] | None:
        """What to rewrite instead when every use of the placeholder is a pinned call."""
        if self.kind == SUBST:
            return (SUBST, self.name)
        if self.kind == SUB_VAR:
            return (SUB_VAR, self.path, self.name)
        return None


Piece = Text | Run | Occurrence


@dataclass
class Call:
    """One Lambda call candidate found in a definition."""

    state: str  # state path, e.g. "States.Fan.Branches[0].States.Hello"
    context: str  # RESOURCE or FUNCTION_NAME
    value: Any  # the parsed JSON value (strings may hold sentinels)
    json_path: Path  # where the value sits in the parsed definition
    target: Symbolic | None  # what the value resolves to
    dynamic: str = ""  # non-empty: why the target is chosen at run time
    qualified: str = ""  # non-empty: the call already sets a Qualifier
    credentials: Any = None  # the state's Credentials (parsed), when it sets one: the role that calls


class _Located(str):
    """A parsed JSON string that remembers where its token was."""

    span: tuple[int, int]


def _located_loads(text: str) -> Any:
    decoder = json.JSONDecoder()

    def parse_string(source: str, end: int, strict: bool = True) -> tuple[str, int]:
        value, stop = json.decoder.scanstring(source, end, strict)  # type: ignore[attr-defined]
        located = _Located(value)
        located.span = (end, stop - 1)  # the characters between the quotes
        return located, stop

    decoder.parse_string = parse_string  # type: ignore[attr-defined]
    decoder.scan_once = scanner.py_make_scanner(decoder)  # type: ignore[attr-defined]
    return decoder.decode(text)


def _get(document: Any, path: Path) -> Any:
    for key in path:
        document = document[key]
    return document


def _set_copied(document: Any, path: Path, value: Any, copied: set[int]) -> None:
    """Set ``value`` at ``path``, first replacing each object on the way by a shallow copy (once:
    ``copied`` holds the ids of the copies), so that the objects ``document`` shares stay untouched."""
    node = document
    for key in path[:-1]:
        child = node[key]
        if id(child) not in copied:
            child = copy.copy(child)
            node[key] = child
            copied.add(id(child))
        node = child
    node[path[-1]] = value


# How many Parallel/Map levels a definition may nest, whatever its form (Step Functions itself documents
# no limit; its definitions are at most 1 MB).
MAX_STATE_DEPTH = 100


def _alternatives(value: Any, json_path: Path, label: str, branches: bool) -> Iterator[tuple[Any, Path, str]]:
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
        yield from _alternatives(
            branch, (*json_path, "Fn::If", position), f"{label} (Fn::If {condition}: {side})", branches
        )


def iter_states(
    definition: Any, prefix: str = "", json_prefix: Path = (), depth: int = 0, branches: bool = False
) -> Iterator[tuple[str, Path, dict[str, Any]]]:
    """Every state at any depth: ``(state path, JSON path, state)``; Parallel branches, Map ``Iterator``
    and ``ItemProcessor`` included. ``branches``: follow both values of an ``Fn::If`` written in place
    of a state, a branch or a states object (only a ``Definition`` object can hold one). More than
    :data:`MAX_STATE_DEPTH` nested Parallel/Map levels raise :class:`NestingTooDeepError`."""
    if depth > MAX_STATE_DEPTH:
        raise NestingTooDeepError(f"more than {MAX_STATE_DEPTH} nested Parallel/Map levels")
    for document, document_path, label in _alternatives(definition, json_prefix, "", branches):
        if not isinstance(document, dict):
            continue
        for states, states_path, states_label in _alternatives(
            document.get("States"), (*document_path, "States"), label, branches
        ):
            if not isinstance(states, dict):
                continue
            for name, value in states.items():
                for state, json_path, state_label in _alternatives(
                    value, (*states_path, name), states_label, branches
                ):
                    if not isinstance(state, dict):
                        continue
                    path = f"{prefix}States.{name}{state_label}"
                    yield path, json_path, state
                    for listed, list_path, list_label in _alternatives(
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
                    for key in ("Iterator", "ItemProcessor"):
                        if state.get(key) is not None:
                            yield from iter_states(
                                state[key], f"{path}.{key}.", (*json_path, key), depth + 1, branches
                            )


def find_calls(
    definition: Any, resolve: Callable[[Any], Symbolic | None], branches: bool = False
) -> list[Call]:
    """The Lambda call candidates of a parsed definition, in document order (``branches``: see
    :func:`iter_states`; a call whose target is an ``Fn::If`` gives one candidate per value)."""
    calls: list[Call] = []
    for state_path, json_path, state in iter_states(definition, branches=branches):
        # The Type may itself be a placeholder ("Type": "${task_type}" with task_type: Task).
        if "Resource" not in state or resolve(state.get("Type")) != ("Task",):
            continue
        first = len(calls)
        for written, resource_path, resource_label in _alternatives(
            state["Resource"], (*json_path, "Resource"), "", branches
        ):
            resource = resolve(written)
            if resource is None:
                continue
            where = state_path + resource_label
            if _is_integration(resource):
                for key in ("Parameters", "Arguments"):
                    if state.get(key) is not None:
                        for arguments, arguments_path, label in _alternatives(
                            state[key], (*json_path, key), resource_label, branches
                        ):
                            calls.extend(
                                _integration_call(
                                    state_path + label, arguments, arguments_path, resolve, branches
                                )
                            )
                        break
                continue
            calls.append(Call(where, RESOURCE, written, resource_path, resource))
        if "Credentials" in state:
            for call in calls[first:]:
                call.credentials = state["Credentials"]
    return calls


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
    calls = []
    for value, value_path, label in _alternatives(
        arguments["FunctionName"], (*json_path, "FunctionName"), "", branches
    ):
        call = Call(state_path + label, FUNCTION_NAME, value, value_path, resolve(value))
        if "Qualifier" in arguments or "Qualifier.$" in arguments:
            call.qualified = "the call sets Qualifier"
        calls.append(call)
    return calls


def _is_integration(resource: Symbolic) -> bool:
    text = "".join(piece if isinstance(piece, str) else "x" for piece in resource)
    return INTEGRATION.match(text) is not None


@dataclass
class Plan:
    """The edits to one state machine, applied all at once by :meth:`apply`."""

    container_edits: dict[Path, list[tuple[int, int, str]]] = field(default_factory=dict)
    value_edits: dict[Path, Any] = field(default_factory=dict)
    new_substitutions: dict[str, Any] = field(default_factory=dict)


class Definition:
    """A state machine's definition, readable and rewritable whatever its form."""

    def __init__(self, logical_id: str, properties: Mapping[str, Any]) -> None:
        self.logical_id = logical_id
        self.properties = properties
        substitutions = properties.get("DefinitionSubstitutions")
        self.substitutions: Mapping[str, Any] = substitutions if isinstance(substitutions, dict) else {}
        self.pieces: list[Piece] = []
        self.occurrences: list[Occurrence] = []
        self.form = ""
        self.document: Any = None
        self.parse_text = ""
        self._piece_starts: list[int] = []
        self._open = "\ue000"
        self._close = "\ue001"
        self._sentinel_pattern = re.compile("\ue000" + r"(\d+)" + "\ue001")
        self._requests: list[tuple[Call, str]] = []
        self._plan = Plan()
        self._located: Any = None
        self._join_items: dict[Path, tuple[int, int]] = {}  # nested Fn::Join item -> its pieces

    # ----------------------------------------------------------------- reading
    def location(self, key: str) -> str:
        """``Resources/<id>/Properties/<key>``, for messages."""
        return f"Resources/{self.logical_id}/Properties/{key}"

    def read(self) -> None:
        """Parse the definition; raise TransformError naming the resource when it cannot be read."""
        present = [
            key
            for key in ("Definition", "DefinitionString", "DefinitionS3Location")
            if key in self.properties
        ]
        if len(present) > 1:
            raise fail(
                ProblemReason.DEFINITION,
                f"Resources/{self.logical_id}/Properties",
                f"sets {' and '.join(present)}; a state machine takes exactly one of Definition, "
                "DefinitionString and DefinitionS3Location.",
            )
        if not present:
            self.form = ""
            return
        self.form = present[0]
        if self.form == "DefinitionS3Location":
            return
        if self.form == "Definition":
            value = self.properties["Definition"]
            if not isinstance(value, dict):
                raise fail(
                    ProblemReason.DEFINITION,
                    self.location("Definition"),
                    f"must be a JSON object (the state machine definition); got {json_type(value)}.",
                )
            self.document = value
            return
        self._flatten(self.properties["DefinitionString"], ("DefinitionString",), 0)
        self._choose_sentinels()
        self._build_text(detect_bare=False)
        try:
            try:
                self.document = json.loads(self.parse_text)
            except json.JSONDecodeError:
                # A sentinel outside a JSON string is never valid JSON, so placeholders written outside
                # strings need looking for only now (the scan costs as much as the parse).
                if not self.occurrences:
                    raise
                self._build_text()
                self.document = json.loads(self.parse_text)
        except json.JSONDecodeError as error:
            line = self.parse_text.count("\n", 0, error.pos) + 1
            column = error.pos - (self.parse_text.rfind("\n", 0, error.pos) + 1) + 1
            raise fail(
                ProblemReason.DEFINITION,
                self.location("DefinitionString"),
                f"the definition is not valid JSON ({error.msg} at line {line} column {column} of the "
                "assembled definition).",
                f"Fix the JSON, or set Metadata.SfnExactVersion.Pin: false on {self.logical_id} to leave it "
                "alone.",
            ) from None
        except RecursionError:
            raise too_deep_json() from None

    def _flatten(self, value: Any, path: Path, depth: int) -> None:
        if depth > MAX_DEPTH:
            raise NestingTooDeepError
        if isinstance(value, str):
            self._flatten_plain(Container(path, PLAIN, value))
            return
        parts = sub_parts(value)
        if parts is not None:
            template, variables = parts
            template_path = (*path, "Fn::Sub") if isinstance(value["Fn::Sub"], str) else (*path, "Fn::Sub", 0)
            variables_path = (*path, "Fn::Sub", 1)
            self._flatten_sub(Container(template_path, SUB, template), variables, variables_path)
            return
        joined = join_parts(value)
        if joined is not None:
            delimiter, items = joined
            self._flatten_join(delimiter, items, (*path, "Fn::Join", 1), depth)
            return
        raise fail(
            ProblemReason.DEFINITION,
            self.location("DefinitionString"),
            "the macro reads a definition given as a string, Fn::Sub or Fn::Join (and nestings of these), "
            f"not {next(iter(value)) if isinstance(value, dict) and value else json_type(value)}.",
            f"Set Metadata.SfnExactVersion.Pin: false on {self.logical_id} to leave it alone.",
        )

    def _flatten_join(self, delimiter: str, items: list[Any], items_path: Path, depth: int) -> None:
        separator = Text(None, 0, delimiter, False)  # immutable: one for every gap
        if depth < MAX_DEPTH:  # at the limit a string item is one level too deep (_flatten raises)
            try:
                text = delimiter.join(items)  # SAM's form: every item a string (one per line)
            except TypeError:
                pass
            else:
                self._flatten_strings(items, items_path, 0, len(items), delimiter, text)
                return
        first_string = None  # the first of the string items just before ``position``
        for position, item in enumerate([*items, None]):
            if isinstance(item, str) and depth < MAX_DEPTH:
                if first_string is None:
                    first_string = position
                continue
            if first_string is not None:
                if first_string and delimiter:
                    self.pieces.append(separator)
                self._flatten_strings(items, items_path, first_string, position, delimiter)
                first_string = None
            if position == len(items):
                break
            if position and delimiter:
                self.pieces.append(separator)
            item_path = (*items_path, position)
            if isinstance(item, str) or sub_parts(item) is not None or join_parts(item) is not None:
                first = len(self.pieces)
                self._flatten(item, item_path, depth + 1)
                if join_parts(item) is not None:  # pieces from several containers: remember the item
                    self._join_items[item_path] = (first, len(self.pieces))
            elif intrinsic(item) is not None:
                self._occurrence(ELEMENT, item, path=item_path)
            else:
                raise fail(
                    ProblemReason.DEFINITION,
                    self.location("DefinitionString"),
                    f"Fn::Join item {position} is a JSON {json_type(item)}, not a string or an intrinsic "
                    "function.",
                )

    def _flatten_strings(
        self,
        items: list[Any],
        items_path: Path,
        first: int,
        stop: int,
        delimiter: str,
        text: str | None = None,
    ) -> None:
        """String items ``first`` to ``stop - 1`` of a ``Fn::Join`` (``text``: them joined, when known).

        An item holding ``${`` may hold a ``DefinitionSubstitutions`` placeholder and is read on its own
        (:meth:`_flatten_plain`); each stretch of items between those becomes one :class:`Run`."""
        separator = Text(None, 0, delimiter, False)
        if text is None:
            text = delimiter.join(items[first:stop])
        alone = []
        if self.substitutions and "${" in text:
            alone = [position for position in range(first, stop) if "${" in items[position]]
        position = first
        for single in [*alone, stop]:
            if single > position:  # the items from position to single - 1 make a run
                if position > first and delimiter:
                    self.pieces.append(separator)
                whole = (position, single) == (first, stop)
                run_text = text if whole else delimiter.join(items[position:single])
                if run_text:  # empty items make no piece (as in _flatten_plain)
                    self.pieces.append(Run(items_path, items, position, single, delimiter, run_text))
            if single == stop:
                break
            if single > first and delimiter:
                self.pieces.append(separator)
            self._flatten_plain(Container((*items_path, single), PLAIN, items[single]))
            position = single + 1

    def _occurrence(self, kind: str, expr: Any, **where: Any) -> None:
        occurrence = Occurrence(len(self.occurrences), kind, expr, **where)
        self.occurrences.append(occurrence)
        self.pieces.append(occurrence)

    def _flatten_plain(self, container: Container) -> None:
        position = 0
        text = container.text
        if self.substitutions and "${" in text:
            for match in re.finditer(r"\$\{([^}]*)\}", text):
                key = match.group(1)
                if key not in self.substitutions:
                    continue
                if match.start() > position:
                    self.pieces.append(Text(container, position, text[position : match.start()], True))
                self._occurrence(
                    SUBST,
                    self.substitutions[key],
                    container=container,
                    span=(match.start(), match.end()),
                    name=key,
                )
                position = match.end()
        if position < len(text):
            self.pieces.append(Text(container, position, text[position:], True))

    def _flatten_sub(self, container: Container, variables: Mapping[str, Any], variables_path: Path) -> None:
        for start, end, name, text in iter_sub(container.text):
            if name is None:
                escaped = text != container.text[start:end]
                key = text[2:-1] if escaped else ""
                if escaped and key in self.substitutions:
                    self._occurrence(
                        SUBST, self.substitutions[key], container=container, span=(start, end), name=key
                    )
                else:
                    self.pieces.append(Text(container, start, text, not escaped))
                continue
            stripped = name.strip()
            if stripped in variables:
                bound = variables[stripped]
                if isinstance(bound, str):
                    self.pieces.append(Text(container, start, bound, False))
                else:
                    self._occurrence(
                        SUB_VAR,
                        bound,
                        container=container,
                        span=(start, end),
                        path=variables_path,
                        name=stripped,
                    )
            else:
                atom = sub_name_atom(stripped)
                expr = ref(atom.name) if atom.kind != GET_ATT else {GET_ATT: [atom.name, atom.attribute]}
                self._occurrence(SUB_REF, expr, container=container, span=(start, end), name=stripped)

    def _sentinel(self, index: int) -> str:
        return f"{self._open}{index}{self._close}"

    def _choose_sentinels(self) -> None:
        text = "".join(piece.text for piece in self.pieces if not isinstance(piece, Occurrence))
        # Private-use characters mark placeholders; the supplementary plane when the text uses every one
        # of the basic plane's.
        for code in chain(range(0xE000, 0xF8FF, 2), range(0xF0000, 0xFFFFD, 2)):
            opening, closing = chr(code), chr(code + 1)
            if opening not in text and closing not in text:
                self._open, self._close = opening, closing
                self._sentinel_pattern = re.compile(re.escape(opening) + r"(\d+)" + re.escape(closing))
                return
        raise fail(
            ProblemReason.DEFINITION,
            self.location("DefinitionString"),
            "the definition text uses every private-use character, which SfnExactVersion needs to mark "
            "placeholders while it reads the definition.",
            f"Set Metadata.SfnExactVersion.Pin: false on {self.logical_id} to leave it alone.",
        )

    def _build_text(self, bare: frozenset[int] = frozenset(), detect_bare: bool = True) -> None:
        chunks: list[str] = []
        starts: list[int] = []
        position = 0
        for piece in self.pieces:
            starts.append(position)
            if not isinstance(piece, Occurrence):
                chunk = piece.text
            else:
                chunk = self._sentinel(piece.index)
                if piece.index in bare:
                    chunk = f'"{chunk}"'
            chunks.append(chunk)
            position += len(chunk)
        self.parse_text = "".join(chunks)
        self._piece_starts = starts
        if bare or not self.occurrences or not detect_bare:
            return
        # Placeholders written outside JSON strings (e.g. "TimeoutSeconds": ${Timeout}) become strings.
        inside = [match.span() for match in JSON_STRING.finditer(self.parse_text)]
        found: set[int] = set()
        cursor = 0
        for piece, start in zip(self.pieces, starts, strict=True):
            if not isinstance(piece, Occurrence):
                continue
            while cursor < len(inside) and inside[cursor][1] <= start:
                cursor += 1
            if cursor >= len(inside) or not inside[cursor][0] < start < inside[cursor][1]:
                found.add(piece.index)
        if found:
            self._build_text(frozenset(found))

    # ------------------------------------------------------------ resolution
    def resolve(self, value: Any) -> Symbolic | None:
        """What a parsed definition value resolves to, sentinels and substitutions expanded."""
        if isinstance(value, str):
            if self.form == "Definition":
                return self._resolve_plain(value)
            if self._open not in value:  # no placeholder: the text itself ("Task", a service ARN)
                return symbolic(value)
            pieces: list[str | Any] = []
            position = 0
            for match in self._sentinel_pattern.finditer(value):
                if match.start() > position:
                    pieces.append(value[position : match.start()])
                inner = symbolic(self.occurrences[int(match.group(1))].expr)
                if inner is None:
                    return None
                pieces.extend(inner)
                position = match.end()
            if position < len(value):
                pieces.append(value[position:])
            return concat(pieces)
        return symbolic(value)

    def _resolve_plain(self, value: str) -> Symbolic | None:
        if not self.substitutions or "${" not in value:
            return symbolic(value)
        parts: list[Any] = []
        position = 0
        for match in re.finditer(r"\$\{([^}]*)\}", value):
            if match.group(1) not in self.substitutions:
                continue
            parts.append(value[position : match.start()])
            parts.append(self.substitutions[match.group(1)])
            position = match.end()
        parts.append(value[position:])
        return symbolic({"Fn::Join": ["", parts]})

    def calls(self) -> list[Call]:
        """The Lambda call candidates of this definition."""
        if self.document is None:
            return []
        return find_calls(self.document, self.resolve, branches=self.form == "Definition")

    def named_in_data(self, skip: set[Path]) -> Iterator[tuple[str, Atom]]:
        """``(place, atom)`` for each ``Ref``/``GetAtt`` the states hold as data: anywhere in a state but
        the JSON paths in ``skip`` (the call targets) and its nested states. ``place`` is the state path
        and the key path inside the state, e.g. ``States.Call.Arguments.parameters.FunctionName``."""
        if self.document is None:
            return
        for state_path, json_path, state in iter_states(self.document, branches=self.form == "Definition"):
            stack: list[tuple[Any, Path]] = [(state, json_path)]
            while stack:
                value, path = stack.pop()
                if path in skip:
                    continue
                if isinstance(value, dict) and (self.form != "Definition" or intrinsic(value) is None):
                    # Nested states are visited on their own; a state's own Resource is a call's target
                    # (a Task) or nothing Step Functions reads (another type): never data.
                    nested = (
                        ("Branches", "Iterator", "ItemProcessor", "Resource") if path == json_path else ()
                    )
                    stack.extend(
                        ((item, (*path, key)) for key, item in reversed(value.items()) if key not in nested)
                    )
                elif isinstance(value, list):
                    stack.extend(
                        (item, (*path, position)) for position, item in reversed(list(enumerate(value)))
                    )
                else:
                    resolved = self.resolve(value) if isinstance(value, str | dict) else None
                    inner = ".".join(str(key) for key in path[len(json_path) :])
                    for piece in resolved or ():
                        if isinstance(piece, Atom) and piece.kind in (REF, GET_ATT):
                            yield f"{state_path}.{inner}", piece

    def s3_substitutions(self) -> list[tuple[str, Symbolic | None]]:
        """``(key, target)`` for each substitution, when the definition itself is in S3."""
        return [(key, symbolic(value)) for key, value in self.substitutions.items()]

    def s3_targets(self) -> list[tuple[str, Path, Symbolic | None]]:
        """``(name, path, target)`` for each substitution, and for each side of one written as
        ``Fn::If`` (``${key} (Fn::If C: true)``): what :meth:`pin_substitution` can point at a version."""
        return [
            ("${" + key + "}" + label, path, symbolic(value))
            for key, raw in self.substitutions.items()
            for value, path, label in _alternatives(raw, ("DefinitionSubstitutions", key), "", True)
        ]

    # --------------------------------------------------------------- editing
    def pin(self, call: Call, version: str) -> bool:
        """Plan to point ``call`` at ``version``; False when its shape cannot be rewritten safely."""
        value = call.value
        if self.form == "Definition":
            if isinstance(value, str):
                keys = [
                    m.group(1)
                    for m in re.finditer(r"\$\{([^}]*)\}", value)
                    if m.group(1) in self.substitutions
                ]
                if len(keys) == 1 and value == "${" + keys[0] + "}":
                    self._requests.append((call, version))
                    return True
            self._plan.value_edits[("Definition", *call.json_path)] = ref(version)
            return True
        if not isinstance(value, str):
            return False
        occurrence = self._single_occurrence(value)
        if occurrence is not None:
            self._requests.append((call, version))
            return True
        return self._plan_container_edit(call, version)

    def pin_substitution(self, path: Path, version: str) -> None:
        """Point the substitution value at ``path`` (from :meth:`s3_targets`) at ``version``
        (definitions kept in S3)."""
        self._plan.value_edits[path] = ref(version)

    def _single_occurrence(self, value: str) -> Occurrence | None:
        if value.startswith(self._open) and value.endswith(self._close):
            inner = value[1:-1]
            if inner.isdigit():
                return self.occurrences[int(inner)]
        return None

    def _plan_container_edit(self, call: Call, version: str) -> bool:
        if self._located is None:
            self._located = _located_loads(self.parse_text)
        token = _get(self._located, call.json_path)
        if not isinstance(token, _Located):
            return False
        start, end = token.span
        if start == end:
            return False
        covered: list[tuple[Text | Occurrence, int]] = []
        for piece, piece_start in zip(self.pieces, self._piece_starts, strict=True):
            if piece_start < end and piece_start + self._length(piece) > start:
                if isinstance(piece, Run):
                    covered.extend(self._expand(piece, piece_start, start, end))
                else:
                    covered.append((piece, piece_start))
        containers = {piece.container for piece, _ in covered}
        if len(containers) != 1:
            return self._plan_join_item_edit(start, end, version)
        (container,) = containers
        if container is None or any(isinstance(piece, Text) and not piece.linear for piece, _ in covered):
            return False
        first, first_start = covered[0]
        last, last_start = covered[-1]
        raw_start = first.start + (start - first_start) if isinstance(first, Text) else first.span[0]
        raw_end = last.start + (end - last_start) if isinstance(last, Text) else last.span[1]
        self._edit_container(container, raw_start, raw_end, version)
        return True

    def _plan_join_item_edit(self, start: int, end: int, version: str) -> bool:
        """A target that is exactly one nested ``Fn::Join`` item (an ARN joined from pseudo parameters
        and a ``Ref``, say): that item becomes ``Ref <version>``."""
        for item_path, (first, stop) in self._join_items.items():
            if (
                first < stop
                and self._piece_starts[first] == start
                and (self._piece_starts[stop - 1] + self._length(self.pieces[stop - 1]) == end)
            ):
                self._plan.value_edits[item_path] = ref(version)
                return True
        return False

    def _expand(self, run: Run, run_start: int, start: int, end: int) -> list[tuple[Text, int]]:
        """The pieces ``run`` stands for that overlap ``start:end`` of the parse text, with their starts:
        a Text per non-empty item and one per delimiter, as if each item had been read on its own."""
        step = len(run.delimiter)
        # starts[k]: where item first + k begins in run.text
        lengths = (len(item) + step for item in run.items[run.first : run.stop - 1])
        starts = list(accumulate(lengths, initial=0))
        separator = Text(None, 0, run.delimiter, False)
        pieces: list[tuple[Text, int]] = []
        for k in range(max(bisect_right(starts, start - run_start) - 1, 0), len(starts)):
            item_start = run_start + starts[k]
            if k and step:
                pieces.append((separator, item_start - step))
            item = run.items[run.first + k]
            if item:
                container = Container((*run.path, run.first + k), PLAIN, item)
                pieces.append((Text(container, 0, item, True), item_start))
            if item_start + len(item) >= end:
                break
        return [(piece, at) for piece, at in pieces if at < end and at + len(piece.text) > start]

    def _length(self, piece: Piece) -> int:
        if isinstance(piece, Occurrence):
            return len(self._sentinel(piece.index))
        return len(piece.text)

    def _edit_container(self, container: Container, start: int, end: int, version: str) -> None:
        if container.kind == SUB:
            replacement = "${" + version + "}"
        else:
            replacement = "${" + self._substitution_key(version) + "}"
        self._plan.container_edits.setdefault(container.path, []).append((start, end, replacement))

    def _substitution_key(self, version: str) -> str:
        for key, value in self._plan.new_substitutions.items():
            if value == ref(version):
                return key
        key, suffix = version, 1
        while key in self.substitutions or key in self._plan.new_substitutions:
            suffix += 1
            key = f"{version}{suffix}"
        self._plan.new_substitutions[key] = ref(version)
        return key

    def _settle_bindings(self) -> None:
        uses: dict[Any, int] = {}
        if self.form == "Definition":
            for key in self.substitutions:
                uses[(SUBST, key)] = _count_in_strings(self.document, "${" + key + "}")
        else:
            for placeholder in self.occurrences:
                if placeholder.binding is not None:
                    uses[placeholder.binding] = uses.get(placeholder.binding, 0) + 1
        wanted: dict[Any, list[tuple[Call, Occurrence | None, str]]] = {}
        singles: list[tuple[Call, Occurrence | None, str]] = []
        for call, version in self._requests:
            occurrence = None if self.form == "Definition" else self._single_occurrence(call.value)
            if occurrence is None:
                binding: Any = (SUBST, call.value[2:-1])
            else:
                binding = occurrence.binding
            if binding is None:
                singles.append((call, occurrence, version))
            else:
                wanted.setdefault(binding, []).append((call, occurrence, version))
        for binding, requests in wanted.items():
            versions = {version for _, _, version in requests}
            if len(requests) == uses.get(binding, 0) and len(versions) == 1:
                if binding[0] == SUBST:
                    self._plan.value_edits[("DefinitionSubstitutions", binding[1])] = ref(versions.pop())
                else:
                    self._plan.value_edits[(*binding[1], binding[2])] = ref(versions.pop())
            else:
                singles.extend(requests)
        for call, occurrence, version in singles:
            if occurrence is None:
                self._plan.value_edits[("Definition", *call.json_path)] = ref(version)
            elif occurrence.kind == ELEMENT:
                self._plan.value_edits[occurrence.path] = ref(version)
            elif occurrence.container is not None:
                self._edit_container(occurrence.container, *occurrence.span, version)

    def apply(self) -> dict[str, Any] | None:
        """The new Properties with every planned edit, or None when nothing changes."""
        self._settle_bindings()
        plan = self._plan
        if not (plan.container_edits or plan.value_edits or plan.new_substitutions):
            return None
        # Only the objects on the way to an edit are copied; the rest is shared with the input (a deep
        # copy of a SAM definition, thousands of Fn::Join lines, cost more than the whole transform).
        properties = dict(self.properties)
        copied = {id(properties)}
        for path, edits in plan.container_edits.items():
            text = _get(properties, path)
            for start, end, replacement in sorted(edits, reverse=True):
                text = text[:start] + replacement + text[end:]
            _set_copied(properties, path, text, copied)
        for path, value in plan.value_edits.items():
            _set_copied(properties, path, value, copied)
        if plan.new_substitutions:
            substitutions = properties.get("DefinitionSubstitutions")
            substitutions = dict(substitutions) if substitutions else {}
            substitutions.update(plan.new_substitutions)
            properties["DefinitionSubstitutions"] = substitutions
        return properties


def _count_in_strings(value: Any, needle: str) -> int:
    """How often ``needle`` occurs in the strings of ``value`` (walked with a stack, as
    :func:`~sfn_exact_version.intrinsics.references` is)."""
    count = 0
    stack: list[tuple[Any, int]] = [(value, 0)]
    while stack:
        item, depth = stack.pop()
        if depth > MAX_JSON_DEPTH:
            raise too_deep_json()
        if isinstance(item, str):
            count += item.count(needle)
        elif isinstance(item, dict):
            stack.extend((child, depth + 1) for child in item.values())
        elif isinstance(item, list):
            stack.extend((child, depth + 1) for child in item)
    return count
