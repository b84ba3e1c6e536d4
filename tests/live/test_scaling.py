"""prune and preflight grow linearly with the number of executions (a ratio, never a wall-clock limit).

Reasons and warnings are collected per execution; a list membership test there once made 10,000
executions take minutes (quadratic). Eight times the executions must cost well under 64 times as much.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from datetime import timedelta

from tests.live.views import FN, ROLE, definition, execution, function, invoke, invoke_role, machine, view

from sfn_exact_version.decisions.preflight import check
from sfn_exact_version.decisions.prune import plan
from sfn_exact_version.live.model import AccountView, Definition


def account(executions: int) -> AccountView:
    calls = {
        f"rev{r}": Definition(
            f"rev{r}",
            definition(*[invoke(f"{FN}f{i}:{r + 1}") for i in range(10)], invoke(FN + "f0")),
            ROLE + "sm-role",
        )
        for r in range(3)
    }
    role = invoke_role("sm-role", *[f"{FN}f{i}:*" for i in range(10)])
    return view(
        functions=[function(f"f{i}", 20) for i in range(10)],
        state_machines=[machine("approval", "rev2")],
        executions=[execution(f"e{n}", f"rev{n % 3}") for n in range(executions)],
        definitions=calls,
        roles={role.arn: role},
    )


def _best(decide: Callable[[AccountView], object], given: AccountView, repeat: int = 3) -> float:
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        decide(given)
        times.append(time.perf_counter() - start)
    return min(times)


def test_prune_and_preflight_scale_linearly() -> None:
    small, large = account(300), account(2400)
    for decide in (
        lambda a: plan(a, keep=2, min_age=timedelta(0)),
        lambda a: check(a, {"Resources": {}}, {}),
    ):
        ratio = _best(decide, large) / _best(decide, small)
        assert ratio < 24, f"8x the executions cost {ratio:.1f}x the time (linear: about 8)"
