"""Tell the blue-green story offline: two deploys, two overlapping executions, with and without the macro.

Runs the Day 1 / Day 2 templates of this folder through SAM and the SfnExactVersion macro, deploys them
into moto (see ``sim/bluegreen_sim.py`` for what is real and what is bridged), and prints a timeline.
Needs the dev dependencies (``make install``); ``make demo`` calls it.

    python examples/blue-green/run_story.py                  # with the macro, then without
    python examples/blue-green/run_story.py --mode with-macro --wait-seconds 5

Exit status 0 when every story ends as it should: with the macro both executions succeed, each on its
own version; without it, execution 1 fails because it ran Day 2's code.
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


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--mode",
        choices=["with-macro", "without-macro", "both"],
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
    modes = {"with-macro": [True], "without-macro": [False], "both": [True, False]}[args.mode]
    try:
        results = [_tell(use_macro, args.wait_seconds) for use_macro in modes]
    except MotoVersionError as error:
        print(f"run_story: {error}", file=sys.stderr)
        return 2
    except SimulationError as error:
        print(f"run_story: the simulation stopped: {error}", file=sys.stderr)
        return 1
    return 0 if all(results) else 1


if __name__ == "__main__":
    sys.exit(main())
