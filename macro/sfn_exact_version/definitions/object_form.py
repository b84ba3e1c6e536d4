"""A ``Definition`` object: JSON in the template, intrinsic functions resolved by CloudFormation."""

from __future__ import annotations

from collections.abc import Collection, Iterator, Mapping
from typing import Any

from sfn_exact_version.definitions.base import Definition, settle_bindings
from sfn_exact_version.definitions.states import Call, data_references, find_calls
from sfn_exact_version.definitions.text import PLACEHOLDER, SUBST
from sfn_exact_version.errors import ProblemReason, fail, json_type
from sfn_exact_version.intrinsics import MAX_JSON_DEPTH, Atom, Symbolic, ref, symbolic, too_deep_json


class ObjectDefinition(Definition):
    """A ``Definition`` object. A call's target is replaced by ``{"Ref": <Version>}``; a target that is
    exactly one ``${key}`` of ``DefinitionSubstitutions`` gets the substitution rewritten instead, when
    every use of the key is a call pinned to one version."""

    form = "Definition"

    def __init__(self, logical_id: str, properties: Mapping[str, Any]) -> None:
        super().__init__(logical_id, properties)
        value = properties["Definition"]
        if not isinstance(value, dict):
            raise fail(
                ProblemReason.DEFINITION,
                self.location,
                f"must be a JSON object (the state machine definition); got {json_type(value)}.",
            )
        self.document: dict[str, Any] = value
        self._requests: list[tuple[Call, str]] = []

    def resolve(self, value: Any) -> Symbolic | None:
        """What a value of the definition resolves to, ``${key}`` substitutions expanded."""
        if not isinstance(value, str) or not self.substitutions or "${" not in value:
            return symbolic(value)
        parts: list[Any] = []
        position = 0
        for match in PLACEHOLDER.finditer(value):
            if match.group(1) not in self.substitutions:
                continue
            parts.append(value[position : match.start()])
            parts.append(self.substitutions[match.group(1)])
            position = match.end()
        parts.append(value[position:])
        return symbolic({"Fn::Join": ["", parts]})

    def _find_calls(self) -> list[Call]:
        return find_calls(self.document, self.resolve, branches=True)

    def named_in_data(self, names: Collection[str] | None = None) -> Iterator[tuple[str, Atom]]:
        skip = {call.json_path for call in self.calls()}
        return data_references(self.document, skip, self.resolve, branches=True)

    def _pin(self, call: Call, version: str) -> bool:
        value = call.value
        if isinstance(value, str):
            keys = [key for key in PLACEHOLDER.findall(value) if key in self.substitutions]
            if len(keys) == 1 and value == "${" + keys[0] + "}":
                self._requests.append((call, version))
                return True
        self._plan.value_edits[("Definition", *call.json_path)] = ref(version)
        return True

    def _settle(self) -> None:
        uses = {
            (SUBST, key): _count_in_strings(self.document, "${" + key + "}") for key in self.substitutions
        }
        requests = [(call, None, version, (SUBST, call.value[2:-1])) for call, version in self._requests]
        settle_bindings(requests, uses, self._plan, self._single)

    def _single(self, call: Call, _occurrence: Any, version: str) -> None:
        self._plan.value_edits[("Definition", *call.json_path)] = ref(version)


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
