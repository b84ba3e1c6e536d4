"""A template's Conditions, evaluated for the parameter values of one deploy.

``preflight`` reads what a deploy will leave in the account. A statement written under ``Fn::If`` (or in
a policy resource with a ``Condition``) exists only where its condition holds, and what holds depends on
the values the deploy is given. Three answers: true, false, and None where a value the condition reads
is not known (a parameter without a value, an attribute known only after the deploy); the caller then
takes the reading that is safe for running executions.

Example::

    conditions = Conditions({"IsProd": {"Fn::Equals": [{"Ref": "Stage"}, "prod"]}}, text)
    conditions.holds("IsProd")  # True, False, or None when Stage has no known value
"""

from __future__ import annotations

import itertools
from collections.abc import Callable, Mapping
from typing import Any

from sfn_exact_version.policies import Branch

FN_IF = "Fn::If"
NO_VALUE = {"Ref": "AWS::NoValue"}
# Beyond this many readings of one value (2 per unknown condition it chooses by), choose() gives up:
# the caller reads the value as unknown.
MAX_VARIANTS = 16


class Conditions:
    """``Conditions`` of one template; ``text(value)`` is the concrete string of a value (a parameter,
    a pseudo parameter, a ``Fn::Sub``...) or None when it is not known before the deploy."""

    def __init__(self, conditions: Any, text: Callable[[Any], str | None]) -> None:
        self.conditions = conditions if isinstance(conditions, dict) else {}
        self.text = text
        self.known: dict[str, bool | None] = {}

    def holds(self, name: str) -> bool | None:
        """The value of the condition ``name`` (None: unknown, undefined, or defined in a loop)."""
        if name in self.known:
            return self.known[name]
        self.known[name] = None  # a condition that reads itself stays unknown
        value = self.evaluate(self.conditions.get(name)) if name in self.conditions else None
        self.known[name] = value
        return value

    def evaluate(self, expression: Any) -> bool | None:
        """One condition expression: ``Fn::Equals``, ``Fn::And``, ``Fn::Or``, ``Fn::Not``, ``Condition``."""
        if not isinstance(expression, dict) or len(expression) != 1:
            return None
        ((key, argument),) = expression.items()
        if key == "Condition":
            return self.holds(argument) if isinstance(argument, str) else None
        if key == "Fn::Equals":
            if not isinstance(argument, list) or len(argument) != 2:
                return None
            left, right = (self._scalar(side) for side in argument)
            return None if left is None or right is None else left == right
        if key == "Fn::Not":
            items = argument if isinstance(argument, list) else []
            inner = self.evaluate(items[0]) if len(items) == 1 else None
            return None if inner is None else not inner
        if key in ("Fn::And", "Fn::Or") and isinstance(argument, list) and argument:
            values = [self.evaluate(item) for item in argument]
            decisive: bool = key == "Fn::Or"  # True decides an Or, False decides an And
            if decisive in values:
                return decisive
            return None if None in values else not decisive
        return None

    def _scalar(self, value: Any) -> str | None:
        if isinstance(value, bool):
            return "true" if value else "false"
        if isinstance(value, int | float):
            return str(value)
        if isinstance(value, dict) and set(value) == {"Condition"}:
            held = self.evaluate(value)
            return None if held is None else ("true" if held else "false")
        return self.text(value)

    def branch(self, branch: Branch, condition: Any = None) -> bool | None:
        """Whether every ``(condition, value)`` of ``branch`` holds, and the resource ``condition`` (a
        name) when given: False as soon as one is known not to, None when one is unknown."""
        pairs = [*branch, *([(condition, True)] if isinstance(condition, str) else [])]
        answer: bool | None = True
        for name, wanted in pairs:
            value = self.holds(name)
            if value is None:
                answer = None
            elif value != wanted:
                return False
        return answer

    def choose(self, value: Any) -> list[Any] | None:
        """Every reading of ``value`` with each ``Fn::If`` replaced by the side its condition chooses
        (both sides where the condition is unknown) and ``AWS::NoValue`` left out: one reading when all
        is known. None when a value chooses by too many unknown conditions to list its readings."""
        unknown = self.unknown(value)
        if 2 ** len(unknown) > MAX_VARIANTS:
            return None
        readings = []
        for values in itertools.product((True, False), repeat=len(unknown)):
            chosen = self._choose(value, dict(zip(unknown, values, strict=True)))
            if chosen is not _NOTHING:
                readings.append(chosen)
        return readings

    def unknown(self, value: Any) -> list[str]:
        """The conditions an ``Fn::If`` in ``value`` chooses by whose value is unknown, in order."""
        found: list[str] = []
        self._unknown(value, found, 0)
        return found

    def _unknown(self, value: Any, found: list[str], depth: int) -> None:
        if depth > 64:
            return
        if isinstance(value, dict):
            argument = value.get(FN_IF) if len(value) == 1 else None
            name = argument[0] if isinstance(argument, list) and len(argument) == 3 else None
            if isinstance(name, str) and self.holds(name) is None and name not in found:
                found.append(name)
            for item in value.values():
                self._unknown(item, found, depth + 1)
        elif isinstance(value, list):
            for item in value:
                self._unknown(item, found, depth + 1)

    def _choose(self, value: Any, assumed: Mapping[str, bool]) -> Any:
        if isinstance(value, dict):
            if value == NO_VALUE:
                return _NOTHING
            argument = value.get(FN_IF) if len(value) == 1 else None
            if isinstance(argument, list) and len(argument) == 3 and isinstance(argument[0], str):
                held = self.holds(argument[0])
                held = assumed.get(argument[0], False) if held is None else held
                return self._choose(argument[1] if held else argument[2], assumed)
            chosen = {key: self._choose(item, assumed) for key, item in value.items()}
            return {key: item for key, item in chosen.items() if item is not _NOTHING}
        if isinstance(value, list):
            items = (self._choose(item, assumed) for item in value)
            return [item for item in items if item is not _NOTHING]
        return value


_NOTHING = object()  # what AWS::NoValue leaves: the key or list item is absent

__all__ = ["Conditions"]
