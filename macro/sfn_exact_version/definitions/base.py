"""The one interface every definition reader offers, whatever the form it reads."""

from __future__ import annotations

from collections.abc import Callable, Collection, Iterator, Mapping, Sequence
from typing import Any, ClassVar

from sfn_exact_version.definitions.edits import Plan, apply_plan
from sfn_exact_version.definitions.states import Call, Path
from sfn_exact_version.definitions.text import SUBST
from sfn_exact_version.intrinsics import Atom, ref


class Definition:
    """A state machine's definition, read in construction (see :func:`~sfn_exact_version.definitions.
    read_definition`): its call sites, the pins planned on them, and the Properties that result.

    The order of use is fixed by the interface itself: a reader exists only once its definition has
    been read; :meth:`pin` takes only a call this reader returned, and is refused once :meth:`apply`
    has run; :meth:`apply` settles the plan once and gives the same answer every time.
    """

    form: ClassVar[str] = ""  # the Properties key the definition was read from ("" when none)

    def __init__(self, logical_id: str, properties: Mapping[str, Any]) -> None:
        self.logical_id = logical_id
        self.properties = properties
        substitutions = properties.get("DefinitionSubstitutions")
        self.substitutions: Mapping[str, Any] = substitutions if isinstance(substitutions, dict) else {}
        self._condition: Any = None  # the condition of DefinitionSubstitutions written as one Fn::If
        per_key = _per_key(substitutions)
        if per_key is not None:
            self._condition, self.substitutions = per_key
        self._plan = Plan()
        self._calls: list[Call] | None = None
        self._known: set[int] = set()  # ids of the calls this reader returned
        self._applied = False
        self._result: dict[str, Any] | None = None

    @property
    def location(self) -> str:
        """Where the call sites are written, ``Resources/<id>/Properties/<key>``, for messages."""
        return f"Resources/{self.logical_id}/Properties/{self.form or 'Definition'}"

    def calls(self) -> list[Call]:
        """The Lambda call sites of this definition, in document order (found once)."""
        if self._calls is None:
            self._calls = self._find_calls()
            self._known = {id(call) for call in self._calls}
        return list(self._calls)

    def named_in_data(self, names: Collection[str] | None = None) -> Iterator[tuple[str, Atom]]:
        """``(place, atom)`` for each ``Ref``/``GetAtt`` the states hold as data rather than as a call's
        target (see :func:`~sfn_exact_version.definitions.states.data_references`). ``names``: only
        these atoms are wanted (others may be yielded too), which lets a reader skip the walk."""
        return iter(())

    def pin(self, call: Call, version: str) -> bool:
        """Plan to point ``call`` (one of :meth:`calls`) at ``version``; False when its shape cannot be
        rewritten safely. Refused (``RuntimeError``) once :meth:`apply` has run."""
        if self._applied:
            raise RuntimeError(f"{self.logical_id}: the definition's edits were already applied")
        if id(call) not in self._known:
            raise ValueError(f"{self.logical_id}: {call.state} is not a call of this definition")
        return self._pin(call, version)

    def apply(self) -> dict[str, Any] | None:
        """The new Properties with every planned edit, or None when nothing changes. The first call
        settles the plan; every later call returns the same answer."""
        if not self._applied:
            self._applied = True
            self._settle()
            if self._condition is not None:
                _to_sides(self._plan, self.substitutions)
            self._result = apply_plan(self.properties, self._plan)
        return self._result

    # ------------------------------------------------------ what each form provides
    def _find_calls(self) -> list[Call]:
        return []

    def _pin(self, call: Call, version: str) -> bool:
        return False

    def _settle(self) -> None:
        """Turn the pins that wait for :meth:`apply` into edits (see :func:`settle_bindings`)."""


class NoDefinition(Definition):
    """A state machine without a definition property (CloudFormation will refuse it): no calls."""


def settle_bindings(
    requests: Sequence[tuple[Call, Any, str, tuple[Any, ...] | None]],
    uses: Mapping[tuple[Any, ...], int],
    plan: Plan,
    single: Callable[[Call, Any, str], None],
) -> None:
    """Plan the pins that name a placeholder (``(call, occurrence, version, binding)``; ``binding``:
    the substitution or ``Fn::Sub`` variable the placeholder takes its value from, or None).

    When every use of a binding is a pinned call and all of them want one version, the binding's value
    becomes ``Ref <version>`` (one edit, the text untouched); every other pin is planned on its own by
    ``single(call, occurrence, version)``: first those without a binding, then the rest, in the order
    they were requested."""
    wanted: dict[tuple[Any, ...], list[tuple[Call, Any, str]]] = {}
    singles: list[tuple[Call, Any, str]] = []
    for call, occurrence, version, binding in requests:
        if binding is None:
            singles.append((call, occurrence, version))
        else:
            wanted.setdefault(binding, []).append((call, occurrence, version))
    edits = plan.value_edits
    for binding, group in wanted.items():
        version = group[0][2]
        if len(group) == uses.get(binding, 0) and (
            len(group) == 1 or all(wants == version for _, _, wants in group)
        ):
            edits[binding_path(binding)] = ref(version)
        else:
            singles.extend(group)
    for call, occurrence, version in singles:
        single(call, occurrence, version)


def binding_path(binding: tuple[Any, ...]) -> Path:
    """Where a binding's value is, in Properties: ``("subst", key)`` is a ``DefinitionSubstitutions``
    entry; ``("sub-var", variables path, name)`` a variable of an ``Fn::Sub``."""
    if binding[0] == SUBST:
        return ("DefinitionSubstitutions", binding[1])
    return (*binding[1], binding[2])


_NO_VALUE = {"Ref": "AWS::NoValue"}
_SUBSTITUTIONS_IF = ("DefinitionSubstitutions", "Fn::If")


def _per_key(substitutions: Any) -> tuple[Any, dict[str, Any]] | None:
    """``DefinitionSubstitutions: !If [C, {k: a}, {k: b}]`` read as ``{k: !If [C, a, b]}`` (a value
    the same on both sides stays as it is; a key one side lacks is ``AWS::NoValue`` there, which no
    edit touches), with ``C``; None for any other value."""
    if not (isinstance(substitutions, dict) and list(substitutions) == ["Fn::If"]):
        return None
    args = substitutions["Fn::If"]
    if not (isinstance(args, list) and len(args) == 3):
        return None
    condition, *sides = args
    maps = sides
    if not all(
        isinstance(side, dict) and side and not any(key.startswith("Fn::") or key == "Ref" for key in side)
        for side in maps
    ):
        return None  # a side that is no map of its own (AWS::NoValue, another Fn::If): left as it is
    per_key: dict[str, Any] = {}
    for key in dict.fromkeys([*maps[0], *maps[1]]):
        first, second = (side.get(key, _NO_VALUE) for side in maps)
        per_key[key] = first if first == second else {"Fn::If": [condition, first, second]}
    return condition, per_key


def _to_sides(plan: Plan, per_key: Mapping[str, Any]) -> None:
    """Move the edits planned on the per-key view of a ``DefinitionSubstitutions`` written as one
    ``Fn::If`` (see :func:`_per_key`) to its sides: ``(key, "Fn::If", n, ...)`` to side ``n``; an edit
    of a whole value, and a new substitution, to both sides."""
    edits = {}
    for path, value in plan.value_edits.items():
        if path[:1] != ("DefinitionSubstitutions",) or len(path) < 2:
            edits[path] = value
        elif (
            path[2:4]
            and path[2] == "Fn::If"
            and isinstance(per_key.get(str(path[1])), dict)
            and ("Fn::If" in per_key[str(path[1])])
        ):
            edits[(*_SUBSTITUTIONS_IF, path[3], path[1], *path[4:])] = value
        else:
            for side in (1, 2):
                edits[(*_SUBSTITUTIONS_IF, side, *path[1:])] = value
    for key, value in plan.new_substitutions.items():
        for side in (1, 2):
            edits[(*_SUBSTITUTIONS_IF, side, key)] = value
    plan.value_edits = edits
    plan.new_substitutions = {}
