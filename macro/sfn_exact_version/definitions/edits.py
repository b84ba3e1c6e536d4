"""Planned edits to a state machine's Properties, and writing them into a new Properties object."""

from __future__ import annotations

import copy
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from sfn_exact_version.definitions.states import Path
from sfn_exact_version.intrinsics import ref


@dataclass
class Plan:
    """The edits to one state machine's Properties, written all at once by :func:`apply_plan`.

    ``container_edits``: path of a string -> ``(start, end, replacement)`` character edits in it;
    ``value_edits``: path -> the new value; ``new_substitutions``: ``DefinitionSubstitutions`` to add.
    """

    container_edits: dict[Path, list[tuple[int, int, str]]] = field(default_factory=dict)
    value_edits: dict[Path, Any] = field(default_factory=dict)
    new_substitutions: dict[str, Any] = field(default_factory=dict)

    def substitution_key(self, version: str, taken: Mapping[str, Any]) -> str:
        """The ``DefinitionSubstitutions`` key that stands for ``Ref version``: one planned already, or
        a new one, named after the version and clear of the keys in ``taken``."""
        wanted = ref(version)
        for key, value in self.new_substitutions.items():
            if value == wanted:
                return key
        key, suffix = version, 1
        while key in taken or key in self.new_substitutions:
            suffix += 1
            key = f"{version}{suffix}"
        self.new_substitutions[key] = wanted
        return key

    def __bool__(self) -> bool:
        return bool(self.container_edits or self.value_edits or self.new_substitutions)


def get(document: Any, path: Path) -> Any:
    """The value at ``path`` in ``document``."""
    for key in path:
        document = document[key]
    return document


def set_copied(document: Any, path: Path, value: Any, copied: dict[int, Any]) -> None:
    """Set ``value`` at ``path``, first replacing each object on the way by a shallow copy (once:
    ``copied`` holds the copies by id, kept so that no id is reused), so that the objects ``document``
    shares stay untouched."""
    node = document
    for key in path[:-1]:
        child = node[key]
        if id(child) not in copied:
            child = copy.copy(child)
            node[key] = child
            copied[id(child)] = child
        node = child
    node[path[-1]] = value


def apply_plan(properties: Mapping[str, Any], plan: Plan) -> dict[str, Any] | None:
    """New Properties with every edit of ``plan`` (``properties`` untouched), or None when the plan is
    empty. Only the objects on the way to an edit are copied; the rest is shared with the input (a deep
    copy of a SAM definition, thousands of ``Fn::Join`` lines, cost more than the whole transform).

    >>> plan = Plan(container_edits={("DefinitionString",): [(0, 1, "b")]})
    >>> apply_plan({"DefinitionString": "a!"}, plan)
    {'DefinitionString': 'b!'}
    """
    if not plan:
        return None
    new = dict(properties)
    copied = {id(new): new}
    for path, edits in plan.container_edits.items():
        text = get(new, path)
        for start, end, replacement in sorted(edits, reverse=True):
            text = text[:start] + replacement + text[end:]
        set_copied(new, path, text, copied)
    for path, value in plan.value_edits.items():
        parent = get(new, path[:-1])
        if id(parent) in copied:  # a copy already (SAM's substitutions: every edit after the first)
            parent[path[-1]] = value
        else:
            set_copied(new, path, value, copied)
    if plan.new_substitutions:
        substitutions = new.get("DefinitionSubstitutions")
        substitutions = dict(substitutions) if substitutions else {}
        substitutions.update(plan.new_substitutions)
        new["DefinitionSubstitutions"] = substitutions
    return new
