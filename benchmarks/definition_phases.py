"""CPU time of the definition readers alone, phase by phase, on a benchmark input.

For every state machine of the input: ``read_definition``, ``calls()``, ``named_in_data(functions)``
(as the transform asks: the template's functions), ``pin`` of
every call the transform pins (its target classified ``PIN``; one version per function), ``apply()``;
each phase's CPU time
(``time.process_time``) summed over the state machines, reported as the minimum and the median of the
runs. Run it for two checkouts one after the other (``PYTHONPATH=<checkout>/macro``) to compare them.

Usage: ``python benchmarks/definition_phases.py [--input dense|1|4|16] [--runs 15]``.
"""

from __future__ import annotations

import argparse
import gc
import statistics
import sys
import time
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
for entry in (str(HERE.parent / "macro"), str(HERE)):
    if entry not in sys.path:
        sys.path.insert(0, entry)

import generate  # noqa: E402  (benchmarks/generate.py)

from sfn_exact_version.definitions import Call, read_definition  # noqa: E402
from sfn_exact_version.index import FUNCTION, STATE_MACHINE, TemplateIndex  # noqa: E402
from sfn_exact_version.targets import PIN, classify  # noqa: E402

PHASES = ("read", "calls", "named_in_data", "pin", "apply")


def load(which: str) -> tuple[list[tuple[str, Any]], TemplateIndex]:
    """The state machines of the input (logical ID, Properties) and the index of its template."""
    sam = generate.generate_dense() if which == "dense" else generate.generate_sam(int(which))
    event = generate.macro_event(generate.translate(sam))
    resources = event["fragment"]["Resources"]
    index = TemplateIndex.build(
        resources, event["fragment"].get("Parameters", {}), event["region"], event["accountId"]
    )
    machines = [
        (logical_id, resource["Properties"])
        for logical_id, resource in resources.items()
        if resource["Type"] == STATE_MACHINE
    ]
    return machines, index


def one_run(machines: list[tuple[str, Any]], index: TemplateIndex) -> dict[str, float]:
    clock = time.process_time
    spent = dict.fromkeys(PHASES, 0.0)
    start = clock()
    definitions = [read_definition(logical_id, properties) for logical_id, properties in machines]
    spent["read"] = clock() - start
    start = clock()
    found = [definition.calls() for definition in definitions]
    spent["calls"] = clock() - start
    start = clock()
    functions = {name for name, kind in index.types.items() if kind == FUNCTION}
    for definition in definitions:
        list(definition.named_in_data(functions))
    spent["named_in_data"] = clock() - start
    versions = [[_version(call, index) for call in calls] for calls in found]
    start = clock()
    for definition, calls, chosen in zip(definitions, found, versions, strict=True):
        for call, version in zip(calls, chosen, strict=True):
            if version is not None:
                definition.pin(call, version)
    spent["pin"] = clock() - start
    start = clock()
    for definition in definitions:
        definition.apply()
    spent["apply"] = clock() - start
    return spent


def _version(call: Call, index: TemplateIndex) -> str | None:
    if call.dynamic:
        return None
    target = classify(call.target, call.context, index)
    return f"{target.function}Version" if target.kind == PIN else None


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--input", default="dense", choices=("dense", "1", "4", "16"))
    parser.add_argument("--runs", type=int, default=15)
    args = parser.parse_args()
    machines, index = load(args.input)
    samples: dict[str, list[float]] = {phase: [] for phase in PHASES}
    for _ in range(args.runs):
        gc.collect()
        for phase, seconds in one_run(machines, index).items():
            samples[phase].append(seconds)
    for label, pick in (("min", min), ("median", statistics.median)):
        figures = {phase: pick(values) * 1000 for phase, values in samples.items()}
        row = "  ".join(f"{phase} {ms:.1f}" for phase, ms in figures.items())
        print(f"{args.input} ({label} of {args.runs}, ms CPU): {row}  | total {sum(figures.values()):.1f}")


if __name__ == "__main__":
    main()
