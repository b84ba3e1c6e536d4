"""prune and preflight on thousands of executions: every execution counted once, none lost.

Reasons and risks are collected per execution; a list membership test there once made 10,000
executions take minutes. What that costs is measured in ``benchmarks/edges.py`` (as a ratio, 8x the
executions against 1x); here the answers at that scale are checked.
"""

from __future__ import annotations

from collections import Counter
from datetime import timedelta

from tests.live.views import FN, ROLE, definition, execution, function, invoke, invoke_role, machine, view

from sfn_exact_version.decisions.preflight import check
from sfn_exact_version.decisions.prune import plan
from sfn_exact_version.live.model import AccountView, Definition

EXECUTIONS = 2400
FUNCTIONS = 10


def account() -> AccountView:
    """Revision ``r`` calls every function at version ``r + 1``, then f0 unqualified; execution ``n``
    runs revision ``n % 3``; the state machine's current revision is rev2."""
    revisions = {
        f"rev{r}": Definition(
            f"rev{r}",
            definition(*[invoke(f"{FN}f{i}:{r + 1}") for i in range(FUNCTIONS)], invoke(FN + "f0")),
            ROLE + "sm-role",
        )
        for r in range(3)
    }
    role = invoke_role("sm-role", *[f"{FN}f{i}:*" for i in range(FUNCTIONS)])
    return view(
        functions=[function(f"f{i}", 20) for i in range(FUNCTIONS)],
        state_machines=[machine("approval", "rev2")],
        executions=[execution(f"e{n}", f"rev{n % 3}") for n in range(EXECUTIONS)],
        definitions=revisions,
        roles={role.arn: role},
    )


def test_prune_names_each_execution_once_for_each_version_it_may_call() -> None:
    result = plan(account(), keep=2, min_age=timedelta(0))
    kept = {item.arn: item for item in result.keep if item.kind == "lambda-version"}
    for i in range(FUNCTIONS):
        for r in range(3):
            reasons = Counter(kept[f"{FN}f{i}:{r + 1}"].reasons)
            executions = [reason for reason in reasons if reason.startswith("execution ")]
            assert len(executions) == EXECUTIONS // 3, (i, r)
            assert set(reasons.values()) == {1}, f"f{i}:{r + 1} names a reason twice"
            assert f"execution e{r} (RUNNING) may call it (States.S{i})" in reasons
    # Versions 4-20 are called by nothing; keep=2 spares the two newest (19, 20) of each function.
    deleted = {item.arn for item in result.delete if item.kind == "lambda-version"}
    assert deleted == {f"{FN}f{i}:{v}" for i in range(FUNCTIONS) for v in range(4, 19)}


def test_preflight_reports_each_execution_at_each_call_it_would_lose() -> None:
    result = check(account(), {"Resources": {}}, {})
    assert result.checked == EXECUTIONS
    risks = Counter((risk.execution.rsplit(":", 1)[-1], risk.state) for risk in result.risks)
    assert set(risks.values()) == {1}, "a risk is reported twice"
    # Every execution calls ten functions pinned, and f0 once more unqualified (States.S10).
    assert len(risks) == EXECUTIONS * (FUNCTIONS + 1)
    assert ("e2399", "States.S10") in risks
