"""Write ``expected.json`` for golden cases that expect success (no ``error.txt``).

    PYTHONPATH=macro python3 tests/golden/regenerate.py            # every case
    PYTHONPATH=macro python3 tests/golden/regenerate.py iam_policy  # cases whose name starts so

A regenerated output is reviewed like code: read the diff, check it against DESIGN.md, and fix the core
rather than bless a wrong output.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

CASES = Path(__file__).resolve().parent / "cases"
DEFAULT_REGION = "eu-west-1"
DEFAULT_ACCOUNT = "123456789012"


def case_dirs() -> list[Path]:
    """Every case folder, sorted by name."""
    return sorted(path for path in CASES.iterdir() if (path / "input.json").is_file())


def load_input(case: Path) -> Any:
    """The fragment the macro receives."""
    return json.loads((case / "input.json").read_text(encoding="utf-8"))


def transform_kwargs(case: Path) -> dict[str, Any]:
    """Keyword arguments for ``transform`` from the case's ``event.json`` (defaults otherwise)."""
    event_path = case / "event.json"
    event = json.loads(event_path.read_text(encoding="utf-8")) if event_path.is_file() else {}
    return {
        "parameter_values": event.get("templateParameterValues", {}),
        "region": event.get("region", DEFAULT_REGION),
        "account_id": event.get("accountId", DEFAULT_ACCOUNT),
    }


def render(template: Any) -> str:
    """The exact text of an expected.json."""
    return json.dumps(template, indent=2) + "\n"


def main(prefixes: list[str]) -> int:
    sys.path.insert(0, str(CASES.parent.parent.parent / "macro"))
    from sfn_exact_version.transform import transform

    written = 0
    for case in case_dirs():
        if prefixes and not any(case.name.startswith(prefix) for prefix in prefixes):
            continue
        if (case / "error.txt").is_file():
            continue
        result = transform(load_input(case), **transform_kwargs(case))
        target = case / "expected.json"
        text = render(result.template)
        if not target.is_file() or target.read_text(encoding="utf-8") != text:
            target.write_text(text, encoding="utf-8")
            print(f"wrote {target.relative_to(CASES)}")
            written += 1
    print(f"{written} expected.json file(s) changed")
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
