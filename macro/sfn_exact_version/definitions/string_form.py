"""A ``DefinitionString``: a string, ``Fn::Sub``, ``Fn::Join`` or a nesting of these (see
:mod:`~sfn_exact_version.definitions.text`). Edits touch only the characters of the calls they pin."""

from __future__ import annotations

from collections.abc import Collection, Iterator, Mapping
from typing import Any

from sfn_exact_version.definitions.base import Definition, settle_bindings
from sfn_exact_version.definitions.edits import get
from sfn_exact_version.definitions.states import Call, Path, alternatives, data_references, find_calls
from sfn_exact_version.definitions.text import (
    ELEMENT,
    PLAIN,
    SUB,
    SUBST,
    Container,
    FlatText,
    Occurrence,
    Run,
    Text,
    located_loads,
    span_of,
)
from sfn_exact_version.intrinsics import GET_ATT, REF, Atom, NestingTooDeepError, Symbolic, ref, symbolic


class StringDefinition(Definition):
    """A ``DefinitionString`` in any of its forms."""

    form = "DefinitionString"

    def __init__(
        self, logical_id: str, properties: Mapping[str, Any], root: Path = ("DefinitionString",)
    ) -> None:
        super().__init__(logical_id, properties)
        self.text = FlatText(logical_id, get(properties, root), self.substitutions, root)
        self.document: Any = self.text.document
        self._requests: list[tuple[Call, Occurrence, str]] = []
        self._located: Any = None
        self._sides: dict[int, Path] = {}  # a side of a conditional substitution -> where that side is
        self.uses_elsewhere: dict[tuple[Any, ...], int] = {}  # placeholders the other sides of an Fn::If use

    def resolve(self, value: Any) -> Symbolic | None:
        """What a parsed definition value resolves to, sentinels expanded."""
        return self.text.resolve(value)

    def _find_calls(self) -> list[Call]:
        calls = find_calls(self.document, self.text.resolve)
        if not any(isinstance(value, dict) and "Fn::If" in value for value in self.substitutions.values()):
            return calls
        return self._split_conditional(calls)

    def _split_conditional(self, calls: list[Call]) -> list[Call]:
        """A call whose target is exactly ``${key}``, where the substitution is an ``Fn::If`` and every
        use of the key is such a call (SAM writes every inline intrinsic so), becomes one call per side,
        labelled `` (Fn::If C: true)``; pinning a side points that side of the value at a version. The
        calls share one target per side, so they are pinned alike."""
        uses = self.text.binding_uses()
        for binding, count in self.uses_elsewhere.items():
            uses[binding] = uses.get(binding, 0) + count
        exact: dict[str, list[Call]] = {}
        for call in calls:
            occurrence = self.text.by_sentinel.get(call.value) if isinstance(call.value, str) else None
            if occurrence is not None and occurrence.kind == SUBST and not call.dynamic:
                exact.setdefault(occurrence.name, []).append(call)
        split: dict[int, list[Call]] = {}
        for key, group in exact.items():
            value = self.substitutions[key]
            if not (isinstance(value, dict) and "Fn::If" in value) or len(group) != uses.get((SUBST, key), 0):
                continue
            if len({call.qualified for call in group}) != 1:
                continue  # a Qualifier on some of them: the value cannot change for those alone
            for call in group:
                sides = []
                for side, path, label in alternatives(value, ("DefinitionSubstitutions", key), "", True):
                    side_call = call._replace(state=call.state + label, target=symbolic(side))
                    self._sides[id(side_call)] = path
                    sides.append(side_call)
                split[id(call)] = sides
        return [side for call in calls for side in split.get(id(call), [call])]

    def named_in_data(self, names: Collection[str] | None = None) -> Iterator[tuple[str, Atom]]:
        calls = self.calls()
        if not self._data_outside_calls(calls, names):
            return iter(())
        return data_references(self.document, {call.json_path for call in calls}, self.text.resolve)

    def _data_outside_calls(self, calls: list[Call], names: Collection[str] | None) -> bool:
        """Whether a placeholder outside the call targets may name a resource (one of ``names``, when
        given): only a placeholder can (the text itself holds no intrinsic function), so when every one
        that resolves to such a ``Ref`` or ``GetAtt`` sits in a call's target, there is nothing to walk
        for."""
        text = self.text
        in_calls: set[int] = set()
        by_sentinel = text.by_sentinel
        for call in calls:
            single = by_sentinel.get(call.value) if isinstance(call.value, str) else None
            if single is not None:
                in_calls.add(single.number)
            elif isinstance(call.value, str):
                in_calls.update(text.occurrences_in(call.value))
        for occurrence in text.occurrences:
            if occurrence.number in in_calls:
                continue
            try:
                resolved = text.occurrence_value(occurrence.number)
            except (NestingTooDeepError, RecursionError):
                return True  # the walk decides (and fails only where it reaches the placeholder)
            if resolved is None or any(
                isinstance(piece, Atom)
                and piece.kind in (REF, GET_ATT)
                and (names is None or piece.name in names)
                for piece in resolved
            ):
                return True
        return False

    # ------------------------------------------------------------------ pins
    def _pin(self, call: Call, version: str) -> bool:
        side = self._sides.get(id(call))
        if side is not None:
            self._plan.value_edits[side] = ref(version)
            return True
        if not isinstance(call.value, str):
            return False
        occurrence = self.text.by_sentinel.get(call.value)
        if occurrence is not None:
            self._requests.append((call, occurrence, version))
            return True
        return self._plan_container_edit(call, version)

    def _plan_container_edit(self, call: Call, version: str) -> bool:
        text = self.text
        if self._located is None:
            self._located = located_loads(text.parse_text)
        span = span_of(get(self._located, call.json_path))
        if span is None:
            return False
        start, end = span
        if start == end:
            return False
        pieces, piece_starts = text.layout()
        covered: list[tuple[Text | Occurrence, int]] = []
        for piece, piece_start in zip(pieces, piece_starts, strict=True):
            if piece_start < end and piece_start + text.length(piece) > start:
                if isinstance(piece, Run):
                    covered.extend(text.expand(piece, piece_start, start, end))
                else:
                    covered.append((piece, piece_start))
        containers = {piece.container for piece, _ in covered}
        if len(containers) != 1:
            return self._plan_join_span_edit(covered, start, end, version)
        (container,) = containers
        if container is None or any(isinstance(piece, Text) and not piece.linear for piece, _ in covered):
            return False
        first, first_start = covered[0]
        last, last_start = covered[-1]
        raw_start = first.start + (start - first_start) if isinstance(first, Text) else first.span[0]
        raw_end = last.start + (end - last_start) if isinstance(last, Text) else last.span[1]
        self._edit_container(container, raw_start, raw_end, version)
        return True

    def _plan_join_span_edit(
        self, covered: list[tuple[Text | Occurrence, int]], start: int, end: int, version: str
    ) -> bool:
        """A target spanning consecutive items of one ``Fn::Join`` (string items split in the middle of
        an ARN, or CDK's ARN of literal text and pseudo-parameter ``Ref`` elements around a name): those
        items become one, ``{"Fn::Join": ["", [<text before>, Ref <version>, <text after>]]}``, which
        renders the same whatever the delimiter, since the delimiters between them are inside the
        target. The first and last item may be cut only when they are plain strings; any other item
        must be covered whole. False when no single ``Fn::Join`` holds the target that way."""
        paths = [_piece_path(piece) for piece, _ in covered]
        if paths[0] is None or paths[-1] is None:
            return False  # the target starts or ends in a delimiter
        known = [path for path in paths if path is not None]
        items_path = _deepest_join(known)
        if items_path is None:
            return False
        depth = len(items_path)
        first_item, last_item = known[0][depth], known[-1][depth]
        if not isinstance(first_item, int) or not isinstance(last_item, int) or first_item >= last_item:
            return False
        item_start, item_end = self._item_bounds(items_path, first_item, last_item)
        first, first_start = covered[0]
        last, last_start = covered[-1]
        cut_first = self._cut(first, first_start, start, (*items_path, first_item), item_start, True)
        cut_last = self._cut(last, last_start, end, (*items_path, last_item), item_end, False)
        if cut_first is None or cut_last is None:
            return False
        plan = self._plan
        for cut, item in ((cut_first, first_item), (cut_last, last_item)):
            if cut >= 0:  # the part of the string inside the target goes; the rest is kept (edited)
                string = get(self.properties, (*items_path, item))
                span = (cut, len(string)) if item == first_item else (0, cut)
                plan.container_edits.setdefault((*items_path, item), []).append((*span, ""))
        plan.splices.setdefault(items_path, []).append(
            (first_item, last_item + 1, version, cut_first >= 0, cut_last >= 0)
        )
        return True

    def _item_bounds(self, items_path: Path, first_item: int, last_item: int) -> tuple[int, int]:
        """Where item ``first_item`` of the ``Fn::Join`` at ``items_path`` starts in the parse text, and
        where item ``last_item`` ends (-1 when not found)."""
        text = self.text
        pieces, piece_starts = text.layout()
        head, tail = (*items_path, first_item), (*items_path, last_item)
        item_start = item_end = -1
        for piece, piece_start in zip(pieces, piece_starts, strict=True):
            if isinstance(piece, Run):
                if piece.path != items_path:
                    path = (*piece.path, piece.first)
                    if path[: len(head)] == head and item_start < 0:
                        item_start = piece_start
                    if path[: len(tail)] == tail:
                        item_end = piece_start + len(piece.text)
                    continue
                # a run of this Join's own string items
                if piece.first <= first_item < piece.stop and item_start < 0:
                    offset = sum(
                        len(item) + len(piece.delimiter) for item in piece.items[piece.first : first_item]
                    )
                    item_start = piece_start + offset
                if piece.first <= last_item < piece.stop:
                    offset = sum(
                        len(item) + len(piece.delimiter) for item in piece.items[piece.first : last_item]
                    )
                    item_end = piece_start + offset + len(piece.items[last_item])
                continue
            where = _piece_path(piece)
            if where is None:
                continue
            if where[: len(head)] == head and item_start < 0:
                item_start = piece_start
            if where[: len(tail)] == tail:
                item_end = piece_start + text.length(piece)
        return item_start, item_end

    @staticmethod
    def _cut(
        piece: Text | Occurrence, piece_start: int, at: int, item_path: Path, bound: int, head: bool
    ) -> int | None:
        """Where the target's edge ``at`` cuts the item at ``item_path``: -1 when the item lies whole
        inside the target (``bound``: the item's start, for the first item, or its end), the offset in
        the item's string when it is a plain string cut there, None when it cannot be cut."""
        if at == bound:
            return -1
        container = piece.container
        if container is None or container.path != item_path or container.kind != PLAIN:
            return None
        if isinstance(piece, Text):
            if not piece.linear:
                return None
            return piece.start + (at - piece_start)
        return piece.span[0] if head else piece.span[1]

    def _edit_container(self, container: Container, start: int, end: int, version: str) -> None:
        if container.kind == SUB:
            replacement = "${" + version + "}"
        else:
            replacement = "${" + self._plan.substitution_key(version, self.substitutions) + "}"
        self._plan.container_edits.setdefault(container.path, []).append((start, end, replacement))

    def _settle(self) -> None:
        settle_bindings(self.binding_requests(), self.text.binding_uses(), self._plan, self._single)

    def binding_requests(self) -> list[tuple[Call, Occurrence, str, tuple[Any, ...] | None]]:
        """The pins that name a placeholder, for :func:`settle_bindings`."""
        return [
            (
                call,
                occurrence,
                version,
                (SUBST, occurrence.name) if occurrence.kind == SUBST else occurrence.binding,
            )
            for call, occurrence, version in self._requests
        ]

    def _single(self, _call: Call, occurrence: Occurrence, version: str) -> None:
        if occurrence.kind == ELEMENT:
            self._plan.value_edits[occurrence.path] = ref(version)
        elif occurrence.container is not None:
            self._edit_container(occurrence.container, *occurrence.span, version)


def _piece_path(piece: Text | Occurrence) -> Path | None:
    """The Properties path of what a piece was read from (None for a ``Fn::Join`` delimiter)."""
    if piece.container is not None:
        return piece.container.path
    if isinstance(piece, Occurrence) and piece.kind == ELEMENT:
        return piece.path
    return None


def _deepest_join(paths: list[Path]) -> Path | None:
    """The items path (``..., "Fn::Join", 1``) of the deepest ``Fn::Join`` whose items hold all of
    ``paths``, or None."""
    common = paths[0]
    for path in paths[1:]:
        size = 0
        for mine, theirs in zip(common, path, strict=False):
            if mine != theirs:
                break
            size += 1
        common = common[:size]
    for size in range(len(common), 1, -1):
        if common[size - 2 : size] == ("Fn::Join", 1) and all(len(path) > size for path in paths):
            return common[:size]
    return None


class ConditionalStringDefinition(Definition):
    """A ``DefinitionString`` written as ``Fn::If`` (CloudFormation resolves it): each side is read as
    a ``DefinitionString`` of its own, its calls labelled `` (Fn::If C: true)``, and pinned in place,
    inside the same ``Fn::If``. The sides share ``DefinitionSubstitutions``: a substitution's value
    changes only when every use of its key, on every side, is a call pinned to one version."""

    form = "DefinitionString"

    def __init__(self, logical_id: str, properties: Mapping[str, Any]) -> None:
        super().__init__(logical_id, properties)
        self.sides: list[tuple[StringDefinition, str]] = []
        for _, path, label in alternatives(properties["DefinitionString"], ("DefinitionString",), "", True):
            side = StringDefinition(logical_id, properties, path)
            side._plan = self._plan  # one plan: the paths are the Properties' own
            self.sides.append((side, label))
        for side, _ in self.sides:
            for other, _ in self.sides:
                if other is not side:
                    for binding, count in other.text.binding_uses().items():
                        side.uses_elsewhere[binding] = side.uses_elsewhere.get(binding, 0) + count
        self._origin: dict[int, tuple[StringDefinition, Call]] = {}

    def _find_calls(self) -> list[Call]:
        calls = []
        for side, label in self.sides:
            for call in side.calls():
                labelled = call._replace(state=call.state + label)
                self._origin[id(labelled)] = (side, call)
                calls.append(labelled)
        return calls

    def named_in_data(self, names: Collection[str] | None = None) -> Iterator[tuple[str, Atom]]:
        for side, label in self.sides:
            for place, atom in side.named_in_data(names):
                yield f"{place}{label}", atom

    def _pin(self, call: Call, version: str) -> bool:
        side, original = self._origin[id(call)]
        return side._pin(original, version)

    def _settle(self) -> None:
        uses: dict[tuple[Any, ...], int] = {}
        requests: list[tuple[Call, Any, str, tuple[Any, ...] | None]] = []
        for side, _ in self.sides:
            for binding, count in side.text.binding_uses().items():
                uses[binding] = uses.get(binding, 0) + count
            requests.extend(
                (call, (side, occurrence), version, binding)
                for call, occurrence, version, binding in side.binding_requests()
            )

        def single(call: Call, where: tuple[StringDefinition, Occurrence], version: str) -> None:
            where[0]._single(call, where[1], version)

        settle_bindings(requests, uses, self._plan, single)
