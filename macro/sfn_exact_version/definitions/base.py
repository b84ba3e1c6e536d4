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
