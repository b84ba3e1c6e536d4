"""The text of a ``DefinitionString``: flattened into pieces, marked with sentinels, parsed.

A ``DefinitionString`` may be a plain string, ``Fn::Sub`` (either form), ``Fn::Join`` (SAM's form) or a
nesting of these, and any string in it may hold ``${key}`` placeholders of ``DefinitionSubstitutions``.
We flatten it into *pieces*: literal text, each remembering the string it came from and where, and
*occurrences* of placeholders (``${X}`` in ``Fn::Sub``, ``${key}`` of a substitution, an intrinsic
object inside ``Fn::Join``). Each occurrence is written into the text as a unique sentinel, the text is
parsed as JSON, and every sentinel found in a call's target leads back to the exact spot to rewrite.
"""

from __future__ import annotations

import json
import re
from bisect import bisect_right
from collections.abc import Mapping
from itertools import accumulate, chain, compress, repeat
from json import scanner
from operator import attrgetter, contains
from typing import Any, NamedTuple

from sfn_exact_version.definitions.states import Path
from sfn_exact_version.errors import ProblemReason, fail, json_type
from sfn_exact_version.intrinsics import (
    GET_ATT,
    MAX_DEPTH,
    NestingTooDeepError,
    Symbolic,
    concat,
    intrinsic,
    iter_sub,
    join_parts,
    ref,
    sub_name_atom,
    sub_parts,
    symbolic,
    too_deep_json,
)

# The kinds of placeholder occurrence.
SUB_REF = "sub-ref"  # ${X} or ${X.Attr} inside Fn::Sub, naming a resource or parameter
SUB_VAR = "sub-var"  # ${X} inside Fn::Sub, bound by the Fn::Sub variables object
SUBST = "subst"  # ${key} of DefinitionSubstitutions
ELEMENT = "element"  # an intrinsic-function object inside Fn::Join (or a Definition object value)

PLAIN = "plain"  # a string taken as it is
SUB = "sub"  # the template string of an Fn::Sub

JSON_STRING = re.compile(r'"(?:[^"\\]|\\.)*"', re.DOTALL)
PLACEHOLDER = re.compile(r"\$\{([^}]*)\}")


# The pieces are immutable named tuples rather than frozen dataclasses: a SAM definition has several
# per line that holds a placeholder, and a frozen dataclass takes about three times as long to build.
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
    reading cost more than the JSON parse; :meth:`FlatText.expand` gives back the pieces of single
    items (what an edit needs) for just the part of a run it touches."""

    path: Path  # the Fn::Join's list of items
    items: list[Any]
    first: int
    stop: int
    delimiter: str
    text: str  # delimiter.join(items[first:stop])


class Occurrence(NamedTuple):
    """A placeholder in the definition text: it will be replaced by what ``expr`` resolves to."""

    number: int  # its place in FlatText.occurrences, written in its sentinel
    kind: str
    expr: Any
    container: Container | None = None  # SUB_REF, SUB_VAR, SUBST
    span: tuple[int, int] = (0, 0)  # in container.text
    path: Path = ()  # ELEMENT: the object's path; SUB_VAR: the variables object's path
    name: str = ""  # SUB_VAR variable name or SUBST key
    text: str = ""  # always empty: an occurrence holds no literal text (its sentinel is written instead)

    @property
    def binding(self) -> tuple[Any, ...] | None:
        """What to rewrite instead when every use of the placeholder is a pinned call."""
        if self.kind == SUBST:
            return (SUBST, self.name)
        if self.kind == SUB_VAR:
            return (SUB_VAR, self.path, self.name)
        return None


Piece = Text | Run | Occurrence

_TEXT = attrgetter("text")
_new = tuple.__new__  # builds a named tuple from its fields without the keyword handling of its __new__

_UNRESOLVED: Any = object()  # not resolved yet (None means: resolves to nothing string-like)


class _Located(str):
    """A parsed JSON string that remembers where its token was."""

    span: tuple[int, int]


def located_loads(text: str) -> Any:
    """Parse ``text`` as JSON; every string in the result knows its ``span`` in ``text`` (between the
    quotes)."""
    decoder = json.JSONDecoder()

    def parse_string(source: str, end: int, strict: bool = True) -> tuple[str, int]:
        value, stop = json.decoder.scanstring(source, end, strict)  # type: ignore[attr-defined]
        located = _Located(value)
        located.span = (end, stop - 1)  # the characters between the quotes
        return located, stop

    decoder.parse_string = parse_string  # type: ignore[attr-defined]
    decoder.scan_once = scanner.py_make_scanner(decoder)  # type: ignore[attr-defined]
    return decoder.decode(text)


def span_of(value: Any) -> tuple[int, int] | None:
    """The span of a string :func:`located_loads` returned, else None."""
    return value.span if isinstance(value, _Located) else None


def _reference_shape(expr: Any) -> tuple[str, ...] | None:
    """``(name, attribute)`` of ``{"Fn::GetAtt": [name, attribute]}``, ``(name,)`` of ``{"Ref": name}``,
    else None: a key under which equal references share what they resolve to."""
    if expr.__class__ is not dict or len(expr) != 1:
        return None
    found = expr.get(GET_ATT)
    if found is not None:
        if found.__class__ is list and len(found) == 2 and found[0].__class__ is found[1].__class__ is str:
            return (found[0], found[1])
        return None
    found = expr.get("Ref")
    if found.__class__ is str:
        return (found,)
    return None


class FlatText:
    """A ``DefinitionString`` read: its occurrences, the text that was parsed (each occurrence a
    sentinel), the parsed document, and (see :meth:`layout`) the pieces the text was made of.

    A plain string or a ``Fn::Join`` of strings (SAM's form) is read directly: the items holding
    placeholders are written with their sentinels and joined, and the pieces are built only when an edit
    needs them; any other form is flattened piece by piece. Both give the same occurrences and text."""

    def __init__(self, logical_id: str, value: Any, substitutions: Mapping[str, Any]) -> None:
        self.logical_id = logical_id
        self.substitutions = substitutions
        self._value = value
        self.pieces: list[Piece] = []
        self.occurrences: list[Occurrence] = []
        self._slots: list[int] = []  # where each occurrence is in pieces
        self.join_items: dict[Path, tuple[int, int]] = {}  # nested Fn::Join item -> its pieces
        self.open = "\ue000"
        self.close = "\ue001"
        self.sentinel_pattern = re.compile("\ue000" + r"(\d+)" + "\ue001")
        self.parse_text = ""
        self.piece_starts: list[int] = []
        self.by_sentinel: dict[str, Occurrence] = {}  # sentinel -> its occurrence (a value that is one)
        self._laid_out = False  # pieces and piece_starts are built
        self.direct = self._read_directly()
        if not self.direct:
            self._lay_out()
        self.document = self._parse()
        self._resolved: dict[int, Symbolic | None] = {}  # occurrence index -> what its expr resolves to
        self._by_shape: dict[tuple[str, ...], Symbolic | None] = {}  # see _reference_shape

    def layout(self) -> tuple[list[Piece], list[int]]:
        """The pieces the parse text is made of, and where each starts in it."""
        if not self._laid_out:
            self._lay_out()
        return self.pieces, self.piece_starts

    def _lay_out(self) -> None:
        """Flatten the definition into pieces and build the parse text from them (with the sentinels
        :meth:`_read_directly` chose, if it ran: the text comes out the same)."""
        direct = self.parse_text
        self.pieces, self.occurrences, self._slots, self.join_items = [], [], [], {}
        self._flatten(self._value, ("DefinitionString",), 0)
        if not self.direct:
            self._choose_sentinels()
        self._build_text(detect_bare=False)
        self._laid_out = True
        if self.direct and direct != self.parse_text:  # pragma: no cover - the readings disagree
            raise AssertionError(f"{self.location}: the definition text was read two ways differently")

    def _read_directly(self) -> bool:
        """Read a plain string or a ``Fn::Join`` of strings without pieces: each item holding ``${`` is
        searched for ``DefinitionSubstitutions`` placeholders on its own (as :meth:`_flatten_plain` does)
        and written with its sentinels, every other item is taken as it is. False, nothing read, for any
        other form, or when the text leaves no sentinel characters free (the pieces then decide)."""
        value = self._value
        items_path: Path = ("DefinitionString", "Fn::Join", 1)
        if isinstance(value, str):
            items, delimiter, items_path, text = [value], "", (), value
        else:
            joined = join_parts(value)
            if joined is None:
                return False
            delimiter, items = joined
            try:
                text = delimiter.join(items)
            except TypeError:
                return False
        if not self._choose_sentinels(text):
            return False
        substitutions = self.substitutions
        occurrences: list[Occurrence] = []
        by_sentinel: dict[str, Occurrence] = {}
        written: list[str] | None = None  # the items, those with placeholders written with sentinels
        if substitutions and "${" in text:
            open_, close = self.open, self.close
            holding = compress(range(len(items)), map(contains, items, repeat("${")))
            for position in holding:
                item = items[position]
                parts: list[str] = []
                last = 0
                container = None
                for match in PLACEHOLDER.finditer(item):
                    key = match.group(1)
                    if key not in substitutions:
                        continue
                    if container is None:
                        path = (*items_path, position) if items_path else ("DefinitionString",)
                        container = _new(Container, (path, PLAIN, item))
                    start, end = match.span()
                    number = len(occurrences)
                    occurrence = _new(
                        Occurrence,
                        (number, SUBST, substitutions[key], container, (start, end), (), key, ""),
                    )
                    occurrences.append(occurrence)
                    sentinel = f"{open_}{number}{close}"
                    by_sentinel[sentinel] = occurrence
                    parts.append(item[last:start])
                    parts.append(sentinel)
                    last = end
                if parts:
                    parts.append(item[last:])
                    if written is None:
                        written = list(items)
                    written[position] = "".join(parts)
        self.occurrences = occurrences
        self.by_sentinel = by_sentinel
        self.parse_text = text if written is None else delimiter.join(written)
        return True

    @property
    def location(self) -> str:
        return f"Resources/{self.logical_id}/Properties/DefinitionString"

    # ------------------------------------------------------------------ parsing
    def _parse(self) -> Any:
        try:
            try:
                return json.loads(self.parse_text)
            except json.JSONDecodeError:
                # A sentinel outside a JSON string is never valid JSON, so placeholders written outside
                # strings need looking for only now (the scan costs as much as the parse).
                if not self.occurrences:
                    raise
                if not self._laid_out:
                    self._lay_out()
                self._build_text()
                return json.loads(self.parse_text)
        except json.JSONDecodeError as error:
            line = self.parse_text.count("\n", 0, error.pos) + 1
            column = error.pos - (self.parse_text.rfind("\n", 0, error.pos) + 1) + 1
            raise fail(
                ProblemReason.DEFINITION,
                self.location,
                f"the definition is not valid JSON ({error.msg} at line {line} column {column} of the "
                "assembled definition).",
                f"Fix the JSON, or set Metadata.SfnExactVersion.Pin: false on {self.logical_id} to leave it "
                "alone.",
            ) from None
        except RecursionError:
            raise too_deep_json() from None

    # --------------------------------------------------------------- flattening
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
            self.location,
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
                    self.join_items[item_path] = (first, len(self.pieces))
            elif intrinsic(item) is not None:
                self._occurrence(ELEMENT, item, path=item_path)
            else:
                raise fail(
                    ProblemReason.DEFINITION,
                    self.location,
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
        alone: list[int] = []
        if self.substitutions and "${" in text:
            holding = map(contains, items[first:stop], repeat("${"))
            alone = list(compress(range(first, stop), holding))
        pieces = self.pieces
        position = first
        for single in [*alone, stop]:
            if single > position:  # the items from position to single - 1 make a run
                if position > first and delimiter:
                    pieces.append(separator)
                whole = (position, single) == (first, stop)
                run_text = text if whole else delimiter.join(items[position:single])
                if run_text:  # empty items make no piece (as in _flatten_plain)
                    pieces.append(Run(items_path, items, position, single, delimiter, run_text))
            if single == stop:
                break
            if single > first and delimiter:
                pieces.append(separator)
            self._flatten_plain(Container((*items_path, single), PLAIN, items[single]))
            position = single + 1

    def _occurrence(self, kind: str, expr: Any, **where: Any) -> None:
        occurrence = Occurrence(len(self.occurrences), kind, expr, **where)
        self.occurrences.append(occurrence)
        self._slots.append(len(self.pieces))
        self.pieces.append(occurrence)

    def _flatten_plain(self, container: Container) -> None:
        position = 0
        text = container.text
        substitutions = self.substitutions
        pieces = self.pieces
        if substitutions and "${" in text:
            occurrences = self.occurrences
            for match in PLACEHOLDER.finditer(text):
                key = match.group(1)
                if key not in substitutions:
                    continue
                start, end = match.span()
                if start > position:
                    pieces.append(_new(Text, (container, position, text[position:start], True)))
                occurrence = _new(
                    Occurrence,
                    (len(occurrences), SUBST, substitutions[key], container, (start, end), (), key, ""),
                )
                occurrences.append(occurrence)
                self._slots.append(len(pieces))
                pieces.append(occurrence)
                position = end
        if position < len(text):
            pieces.append(_new(Text, (container, position, text[position:], True)))

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

    # --------------------------------------------------------------- sentinels
    def sentinel(self, index: int) -> str:
        return f"{self.open}{index}{self.close}"

    def _choose_sentinels(self, text: str | None = None) -> bool:
        """Choose the sentinel characters: the first pair of private-use characters the literal text
        does not hold. ``text``: a text that holds all of the literal text (then False when every
        pair is taken, and the pieces decide); else the pieces' text (then an error)."""
        given = text is not None
        if text is None:
            text = "".join(map(_TEXT, self.pieces))  # an occurrence's text is empty
        # Private-use characters mark placeholders; the supplementary plane when the text uses every one
        # of the basic plane's.
        for code in chain(range(0xE000, 0xF8FF, 2), range(0xF0000, 0xFFFFD, 2)):
            opening, closing = chr(code), chr(code + 1)
            if opening not in text and closing not in text:
                self.open, self.close = opening, closing
                self.sentinel_pattern = re.compile(re.escape(opening) + r"(\d+)" + re.escape(closing))
                return True
        if given:
            return False
        raise fail(
            ProblemReason.DEFINITION,
            self.location,
            "the definition text uses every private-use character, which SfnExactVersion needs to mark "
            "placeholders while it reads the definition.",
            f"Set Metadata.SfnExactVersion.Pin: false on {self.logical_id} to leave it alone.",
        )

    def _build_text(self, bare: frozenset[int] = frozenset(), detect_bare: bool = True) -> None:
        open_, close = self.open, self.close
        chunks: list[str] = list(map(_TEXT, self.pieces))
        sentinels = self.by_sentinel
        for slot, occurrence in zip(self._slots, self.occurrences, strict=True):
            sentinel = f"{open_}{occurrence.number}{close}"
            sentinels[sentinel] = occurrence
            chunks[slot] = f'"{sentinel}"' if occurrence.number in bare else sentinel
        self.parse_text = "".join(chunks)
        starts = list(accumulate(map(len, chunks), initial=0))
        starts.pop()
        self.piece_starts = starts
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
                found.add(piece.number)
        if found:
            self._build_text(frozenset(found))

    # --------------------------------------------------------------- resolving
    def occurrence_value(self, index: int) -> Symbolic | None:
        """What occurrence ``index`` resolves to (computed once)."""
        resolved = self._resolved.get(index, _UNRESOLVED)
        if resolved is _UNRESOLVED:
            expr = self.occurrences[index].expr
            # SAM gives each call its own substitution, and the calls of a state machine name a few
            # functions: a GetAtt or Ref written alike resolves alike (to one shared tuple).
            shape = _reference_shape(expr)
            if shape is None:
                resolved = symbolic(expr)
            else:
                resolved = self._by_shape.get(shape)
                if resolved is None:
                    resolved = self._by_shape[shape] = symbolic(expr)
            self._resolved[index] = resolved
        return resolved  # type: ignore[no-any-return]

    def binding_uses(self) -> dict[tuple[Any, ...], int]:
        """How many occurrences take their value from each binding (see :attr:`Occurrence.binding`)."""
        uses: dict[tuple[Any, ...], int] = {}
        for occurrence in self.occurrences:
            kind = occurrence.kind
            if kind == SUBST:
                binding: tuple[Any, ...] = (SUBST, occurrence.name)
            elif kind == SUB_VAR:
                binding = (SUB_VAR, occurrence.path, occurrence.name)
            else:
                continue
            uses[binding] = uses.get(binding, 0) + 1
        return uses

    def resolve(self, value: Any) -> Symbolic | None:
        """What a parsed definition value resolves to, sentinels expanded."""
        if isinstance(value, str):
            single = self.by_sentinel.get(value)
            if single is not None:  # SAM's form: "${definition_substitution_1}"
                return self.occurrence_value(single.number)
            if self.open not in value:  # no placeholder: the text itself ("Task", a service ARN)
                return (value,) if value else ()
            pieces: list[str | Any] = []
            position = 0
            for match in self.sentinel_pattern.finditer(value):
                if match.start() > position:
                    pieces.append(value[position : match.start()])
                inner = self.occurrence_value(int(match.group(1)))
                if inner is None:
                    return None
                pieces.extend(inner)
                position = match.end()
            if position < len(value):
                pieces.append(value[position:])
            return concat(pieces)
        return symbolic(value)

    def occurrences_in(self, value: str) -> list[int]:
        """The indices of the occurrences whose sentinels ``value`` holds."""
        if self.open not in value:
            return []
        return [int(found) for found in self.sentinel_pattern.findall(value)]

    # ------------------------------------------------------------ back to raw
    def length(self, piece: Piece) -> int:
        if isinstance(piece, Occurrence):
            return len(self.sentinel(piece.number))
        return len(piece.text)

    def expand(self, run: Run, run_start: int, start: int, end: int) -> list[tuple[Text, int]]:
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
