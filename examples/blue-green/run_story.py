"""Tell the blue-green story offline: two deploys, two overlapping executions, with and without the macro.

Runs the Day 1 / Day 2 templates of this folder through SAM and the SfnExactVersion macro, deploys them
into moto (see ``sim/bluegreen_sim.py`` for what is real and what is bridged), and prints a timeline.
Needs the dev dependencies (``make install``); ``make demo`` calls it.

    python examples/blue-green/run_story.py                  # with the macro, then without
    python examples/blue-green/run_story.py --mode with-macro --wait-seconds 5
    python examples/blue-green/run_story.py --mode day2      # adoption and removal (scenarios/)

Exit status 0 when every story ends as it should: with the macro both executions succeed, each on its
own version; without it, execution 1 fails because it ran Day 2's code. ``--mode day2`` adopts the macro
on a stack deployed without it and removes ``hello`` while an execution waits, each next to its
negative control, one line each.
"""

from __future__ import annotations

import argparse
import logging
import sys
import time
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[2]
if str(REPO_ROOT) not in sys.path:
    sys.path.insert(0, str(REPO_ROOT))

from sim.bluegreen_sim import (  # noqa: E402
    MotoVersionError,
    SimulationError,
    StoryResult,
    run_story,
    story_matches_promise,
)
from sim.scenarios import (  # noqa: E402
    ScenarioResult,
    run_adoption,
    run_day2,
    without_execution_role_retain,
    without_function_marker,
    without_function_retain,
)


class Timeline:
    """Timeline lines on stdout, with the time since the story began; progress dots on stderr."""

    def __init__(self) -> None:
        self.start = time.monotonic()
        self.dots = 0

    def event(self, text: str) -> None:
        if self.dots:
            print(file=sys.stderr, flush=True)
            self.dots = 0
        print(f"[{time.monotonic() - self.start:5.1f}s] {text}", flush=True)

    def tick(self) -> None:
        if self.dots == 0:
            print("        waiting ", end="", file=sys.stderr, flush=True)
        self.dots += 1
        print(".", end="", file=sys.stderr, flush=True)


def _tell(use_macro: bool, wait_seconds: int) -> bool:
    title = "With SfnExactVersion" if use_macro else "Without the macro (negative control)"
    print(f"\n=== {title} ===", flush=True)
    timeline = Timeline()
    result = run_story(
        use_macro=use_macro, wait_seconds=wait_seconds, on_event=timeline.event, on_tick=timeline.tick
    )
    return _verdict(result)


def _verdict(result: StoryResult) -> bool:
    e1, e2 = result.execution1, result.execution2
    print(f"Final: execution 1 {e1.status}, execution 2 {e2.status}")
    if result.use_macro:
        problems = story_matches_promise(result)
        if problems:
            print("The blue-green promise does NOT hold:")
            for problem in problems:
                print(f"  - {problem}")
            return False
        print(
            f"The promise holds: execution 1 ran version {e1.invoked_version} ({e1.answers[0]!r}), "
            f"execution 2 ran version {e2.invoked_version} ({e2.answers[0]!r}); "
            f"versions still published: {', '.join(sorted(result.function_versions_after_day2, key=int))}; "
            "the role still allows the old one."
        )
        return True
    expected = e1.status == "FAILED" and e1.answers == ("ThumbsUp",) and e2.status == "SUCCEEDED"
    if expected:
        print(
            "As expected without the macro: execution 1 started under Day 1's definition but called the "
            "function's latest code, got 'ThumbsUp' instead of 'Approved', and failed."
        )
    else:
        print("Unexpected: without the macro, execution 1 should have failed on Day 2's answer.")
    return expected


def _execution1(result: ScenarioResult) -> str:
    e1 = result.execution1
    if e1 is None:
        return "execution 1 did not run"
    target = e1.invoked[0].rsplit(":function:", 1)[-1] if e1.invoked else "nothing"
    return f"execution 1 {e1.status}{f' {e1.error}' if e1.error else ''} ({target})"


def _line(ok: bool, text: str) -> bool:
    print(f"  {'ok  ' if ok else 'FAIL'} {text}", flush=True)
    return ok


def _tell_day2() -> bool:
    """Adoption and removal on the simulation, each next to its negative control, one line each."""
    print(
        "\n=== Day 2: adopting the macro, removing a function (examples/blue-green/scenarios) ===", flush=True
    )
    results = []
    adopted = run_adoption("sam-autopublishalias", days=2)
    e2 = adopted.execution2
    version = e2.invoked_version if e2 else None
    results.append(
        _line(
            adopted.failed_deploy is None and version == "2",
            f"Adoption (SAM AutoPublishAlias stack, then + SfnExactVersion): one deploy; execution 2 ran "
            f"hello:{version}; {_execution1(adopted)}, started before: unpinned",
        )
    )
    control = run_adoption("sam-autopublishalias", days=2, hook=without_function_marker)
    error = control.failed_deploy[1].split(": ", 1)[-1] if control.failed_deploy else "deployed"
    results.append(
        _line("A version for this Lambda function exists" in error, f"  without the function marker: {error}")
    )
    removed = run_day2("remove")
    e1 = removed.execution1
    results.append(
        _line(
            e1 is not None and e1.status == "SUCCEEDED",
            f"Removal (Day 2 drops hello while execution 1 waits): {_execution1(removed)}",
        )
    )
    control = run_day2("remove-shared-role", hook=without_function_retain)
    e1 = control.execution1
    results.append(
        _line(
            e1 is not None and e1.error == "Lambda.ResourceNotFoundException",
            f"  without Retain on the function: {_execution1(control)}: deleted with its versions",
        )
    )
    control = run_day2("remove", hook=without_execution_role_retain)
    e1 = control.execution1
    results.append(
        _line(
            e1 is not None and e1.error == "Lambda.InvalidParameterValueException",
            f"  without Retain on its execution role: {_execution1(control)}: Lambda cannot assume it",
        )
    )
    return all(results)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--mode",
        choices=["with-macro", "without-macro", "both", "day2"],
        default="both",
        help="which stories to tell",
    )
    parser.add_argument(
        "--wait-seconds",
        type=int,
        default=3,
        help="how long execution 1 waits before calling hello; Day 2 is deployed meanwhile (default 3)",
    )
    args = parser.parse_args(argv)
    # moto's interpreter logs every failed state with its internals; the timeline already says it.
    logging.getLogger("moto.stepfunctions.parser").setLevel(logging.CRITICAL)
    modes = {"with-macro": [True], "without-macro": [False], "both": [True, False], "day2": []}[args.mode]
    try:
        results = [_tell(use_macro, args.wait_seconds) for use_macro in modes]
        if args.mode == "day2":
            results.append(_tell_day2())
    except MotoVersionError as error:
        print(f"run_story: {error}", file=sys.stderr)
        return 2
    except SimulationError as error:
        print(f"run_story: the simulation stopped: {error}", file=sys.stderr)
        return 1
    return 0 if all(results) else 1


if __name__ == "__main__":
    sys.exit(main())
