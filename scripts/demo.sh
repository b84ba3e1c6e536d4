#!/usr/bin/env bash
# `make demo`: what SfnExactVersion does to the bundled example, then the Day 1 / Day 2 story, then
# adoption and a Day-2 removal, all offline.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
CLI=(.venv/bin/python -m sfn_exact_version.cli)

echo "== 1. What the macro changes in examples/blue-green/day1/template.yaml =="
echo "   (SAM transform offline, then SfnExactVersion; nothing is deployed)"
"${CLI[@]}" diff examples/blue-green/day1/template.yaml
echo
echo "== 2. Day 2 changes hello's code: the pinned version gets a new identity =="
"${CLI[@]}" diff examples/blue-green/day2/template.yaml
echo
echo "== 3. CI gate: every Lambda call pinned? =="
"${CLI[@]}" check examples/blue-green/day2/template.yaml
echo
echo "== 4. The Day 1 / Day 2 story, run offline on moto's Step Functions interpreter =="
.venv/bin/python examples/blue-green/run_story.py
echo
echo "== 5. Other Day-2 changes on the same simulation: adopting the macro, removing a function =="
.venv/bin/python examples/blue-green/run_story.py --mode day2
echo
echo "== 6. Whole-workflow canary: state machine versions behind an alias, a 10 % canary, an alarm, a rollback =="
echo "   (examples/canary; each state machine version calls its own Lambda version)"
.venv/bin/python examples/canary/run_canary.py
