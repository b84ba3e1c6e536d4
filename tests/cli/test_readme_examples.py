"""The README's console examples that run offline print what the CLI prints today.

Each ``$ sfn-exact-version ...`` line in a ``console`` block of README.md is run from the repository's
root (the paths in the examples are relative to it); what follows it up to the next ``$`` line or the end
of the block is compared with the command's standard output followed by its standard error. Examples
that need an AWS account (``--stack``) are left out: their output cannot be produced offline.
"""

from __future__ import annotations

import re
import shlex
from pathlib import Path

import pytest
from tests.cli.conftest import Cli

REPO = Path(__file__).resolve().parents[2]
BLOCK = re.compile(r"^```console\n(.*?)^```", re.MULTILINE | re.DOTALL)


def examples() -> list[tuple[str, str]]:
    """(command line, expected output) of each offline example, in README order."""
    found = []
    for block in BLOCK.findall((REPO / "README.md").read_text(encoding="utf-8")):
        for chunk in re.split(r"^(?=\$ )", block, flags=re.MULTILINE):
            if not chunk.startswith("$ sfn-exact-version "):
                continue
            command, _, output = chunk.partition("\n")
            if "--stack" not in command:
                found.append((command.removeprefix("$ "), output))
    return found


EXAMPLES = examples()


def test_the_readme_has_offline_examples() -> None:
    assert len(EXAMPLES) >= 3, EXAMPLES


@pytest.mark.parametrize(("command", "expected"), EXAMPLES, ids=[command for command, _ in EXAMPLES])
def test_readme_example(command: str, expected: str, cli: Cli, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(REPO)
    _, out, err = cli(*shlex.split(command)[1:])
    assert out + err == expected, f"README's example of `{command}` differs from what it prints"
