"""Instructions per handler call against instructions per JSON round trip, counted by valgrind.

CPU time on a shared machine swings by 2-3x from run to run; the number of instructions a call executes
does not (it moves by a fraction of a percent), so it is the figure to compare two checkouts by. Each
count is taken as the difference between a process that makes the call three times and one that makes it
once, so start-up and imports cancel out. Needs ``valgrind`` (``apt-get install valgrind``); a few
minutes per input.

Usage: ``python benchmarks/instructions.py [--input dense|1|4|16] [--checkout DIR]`` (default: this
checkout). Run it for two checkouts to compare them; the ratio is the figure to quote.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
sys.path.insert(0, str(HERE.parent / "macro"))

CALLER = """
import json, sys
from sfn_exact_version.handler import handler
event = json.load(open(sys.argv[1]))
for _ in range(int(sys.argv[3])):
    if sys.argv[2] == "handler":
        handler(event, None)
    else:
        json.loads(json.dumps(event["fragment"]))
"""


def event_file(which: str, folder: Path) -> Path:
    """The macro's event for the input, written once (the SAM translation stays out of the counts)."""
    import generate

    sam = generate.generate_dense() if which == "dense" else generate.generate_sam(int(which))
    path = folder / f"event-{which}.json"
    path.write_text(json.dumps(generate.macro_event(generate.translate(sam))))
    return path


def instructions(checkout: Path, script: Path, event: Path, what: str, times: int) -> int:
    """Instructions valgrind counts for a process that runs ``what`` ``times`` times."""
    env = {**os.environ, "PYTHONPATH": f"{checkout / 'macro'}"}
    done = subprocess.run(
        [
            "valgrind",
            "--tool=cachegrind",
            "--cache-sim=no",
            "--cachegrind-out-file=/dev/null",
            sys.executable,
            str(script),
            str(event),
            what,
            str(times),
        ],
        capture_output=True,
        text=True,
        env=env,
        check=True,
    )
    found = re.search(r"I\s+refs:\s+([\d,]+)", done.stderr)
    if found is None:
        raise SystemExit(f"valgrind gave no instruction count:\n{done.stderr[-2000:]}")
    return int(found.group(1).replace(",", ""))


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--input", default="dense", help="dense (default), or a size: 1, 4, 16")
    parser.add_argument("--checkout", type=Path, default=HERE.parent, help="the checkout to measure")
    args = parser.parse_args()
    if shutil.which("valgrind") is None:
        print("valgrind is not installed (apt-get install valgrind)", file=sys.stderr)
        return 2
    with tempfile.TemporaryDirectory() as folder:
        script = Path(folder) / "caller.py"
        script.write_text(CALLER)
        event = event_file(args.input, Path(folder))
        per_call = {}
        for what in ("handler", "round-trip"):
            once = instructions(args.checkout, script, event, what, 1)
            thrice = instructions(args.checkout, script, event, what, 3)
            per_call[what] = (thrice - once) / 2
    handler, round_trip = per_call["handler"], per_call["round-trip"]
    print(
        f"{args.checkout} ({args.input}): handler {handler / 1e6:.1f} M instructions, JSON round trip "
        f"{round_trip / 1e6:.1f} M, ratio {handler / round_trip:.2f}x"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
