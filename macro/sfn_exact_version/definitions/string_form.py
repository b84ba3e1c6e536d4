"""A ``DefinitionString``: a string, ``Fn::Sub``, ``Fn::Join`` or a nesting of these (see
:mod:`~sfn_exact_version.definitions.text`). Edits touch only the characters of the calls they pin."""

from __future__ import annotations

from collections.abc import Collection, Iterator, Mapping
from typing import Any

from sfn_exact_version.definitions.base import Definition, settle_bindings
from sfn_exact_version.definitions.edits import get
from sfn_exact_version.definitions.states import Call, data_references, find_calls
from sfn_exact_version.definitions.text import (
    ELEMENT,
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
from sfn_exact_version.intrinsics import GET_ATT, REF, Atom, NestingTooDeepError, Symbolic, ref


class StringDefinition(Definition):
    """A ``DefinitionString`` in any of its forms."""

    form = "DefinitionString"

    def __init__(self, logical_id: str, properties: Mapping[str, Any]) -> None:
        super().__init__(logical_id, properties)
        self.text = FlatText(logical_id, properties["DefinitionString"], self.substitutions)
        self.document: Any = self.text.document
        self._requests: list[tuple[Call, Occurrence, str]] = []
        self._located: Any = None

    def resolve(self, value: Any) -> Symbolic | None:
        """What a parsed definition value resolves to, sentinels expanded."""
        return self.text.resolve(value)

    def _find_calls(self) -> list[Call]:
        return find_calls(self.document, self.text.resolve)

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
        text = self.text
        pieces, piece_starts = text.layout()
        for item_path, (first, stop) in text.join_items.items():
            if (
                first < stop
                and piece_starts[first] == start
                and (piece_starts[stop - 1] + text.length(pieces[stop - 1]) == end)
            ):
                self._plan.value_edits[item_path] = ref(version)
                return True
        return False

    def _edit_container(self, container: Container, start: int, end: int, version: str) -> None:
        if container.kind == SUB:
            replacement = "${" + version + "}"
        else:
            replacement = "${" + self._plan.substitution_key(version, self.substitutions) + "}"
        self._plan.container_edits.setdefault(container.path, []).append((start, end, replacement))

    def _settle(self) -> None:
        uses = self.text.binding_uses()
        requests = [
            (
                call,
                occurrence,
                version,
                (SUBST, occurrence.name) if occurrence.kind == SUBST else occurrence.binding,
            )
            for call, occurrence, version in self._requests
        ]
        settle_bindings(requests, uses, self._plan, self._single)

    def _single(self, _call: Call, occurrence: Occurrence, version: str) -> None:
        if occurrence.kind == ELEMENT:
            self._plan.value_edits[occurrence.path] = ref(version)
        elif occurrence.container is not None:
            self._edit_container(occurrence.container, *occurrence.span, version)
