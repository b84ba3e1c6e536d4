"""Tell the whole-workflow canary story offline: Day 1, a 10 % canary of Day 2, an alarm and a rollback.

Runs the Day 1 / Day 2 templates of this folder through SAM and the SfnExactVersion macro, deploys them into
moto with state machine versions and the alias ``live`` (see ``sim/workflow_versions.py`` for what is real
and what is bridged), starts executions through the alias at each step, and prints what each one ran.

    python examples/canary/run_canary.py                          # alarm: with the macro, then without
    python examples/canary/run_canary.py --outcome promote --mode with-macro

Exit status 0 when every story ends as it should: with the macro every execution runs the Lambda version of
its own state machine version and succeeds; without it, some executions run the other day's code and fail.
"""

from __future__ import annotations

import argparse
import logging
import sys
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[2]
if str(REPO_ROOT) not in sys.path:
    sys.path.insert(0, str(REPO_ROOT))

from sim.bluegreen_sim import MotoVersionError, SimulationError  # noqa: E402
from sim.canary_sim import canary_matches_promise, run_canary_story  # noqa: E402


def _tell(use_macro: bool, outcome: str, wait_seconds: int) -> bool:
    ending = "the alarm rolls the canary back" if outcome == "alarm" else "the canary is promoted"
    title = "With SfnExactVersion" if use_macro else "Without the macro (negative control)"
    print(f"\n=== {title}: {ending} ===", flush=True)
    result = run_canary_story(
        use_macro=use_macro,
        outcome=outcome,
        wait_seconds=wait_seconds,
        on_event=lambda text: print(text, flush=True),
    )
    problems = canary_matches_promise(result)
    if use_macro:
        if problems:
            print("The promise does NOT hold:")
            for problem in problems:
                print(f"  - {problem}")
            return False
        print(
            "The promise holds: every execution ran the Lambda version of its own state machine version; "
            f"Lambda versions still published: {', '.join(sorted(result.lambda_versions_after, key=int))}."
        )
        return True
    failed = sorted(name for name, run in result.runs.items() if run.status != "SUCCEEDED")
    print(
        f"As expected without the macro, both state machine versions called hello's current code: "
        f"{', '.join(failed)} ran the other day's code and failed."
    )
    return bool(failed)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--mode", choices=["with-macro", "without-macro", "both"], default="both")
    parser.add_argument("--outcome", choices=["alarm", "promote"], default="alarm")
    parser.add_argument(
        "--wait-seconds",
        type=int,
        default=3,
        help="how long the waiting executions wait before calling hello (default 3)",
    )
    args = parser.parse_args(argv)
    logging.getLogger("moto.stepfunctions.parser").setLevel(logging.CRITICAL)
    modes = {"with-macro": [True], "without-macro": [False], "both": [True, False]}[args.mode]
    try:
        results = [_tell(use_macro, args.outcome, args.wait_seconds) for use_macro in modes]
    except MotoVersionError as error:
        print(f"run_canary: {error}", file=sys.stderr)
        return 2
    except SimulationError as error:
        print(f"run_canary: the simulation stopped: {error}", file=sys.stderr)
        return 1
    return 0 if all(results) else 1


if __name__ == "__main__":
    sys.exit(main())
