"""``pip install sfn-exact-version`` without extras gives a working CLI.

Offline, without building a wheel: a fresh virtual environment sees the package's source and only the
distributions its declared dependencies (``[project] dependencies``, no extra) bring, found from their
installed metadata, transitively. The console script's entry point then previews a SAM template there.
"""

from __future__ import annotations

import re
import subprocess
import sys
import tomllib
from importlib.metadata import Distribution, PackageNotFoundError, distribution
from pathlib import Path

import pytest
from packaging.requirements import Requirement

ROOT = Path(__file__).resolve().parents[2]
APP = Path(__file__).resolve().parent / "fixtures" / "app" / "template.yaml"
PYPROJECT = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))


def _canonical(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def _closure(requirements: list[str]) -> dict[str, Distribution]:
    """The installed distributions these requirements bring, with their own requirements (no extras)."""
    found: dict[str, Distribution] = {}
    todo = [Requirement(line) for line in requirements]
    while todo:
        requirement = todo.pop()
        name = _canonical(requirement.name)
        if name in found:
            continue
        try:
            found[name] = distribution(requirement.name)
        except PackageNotFoundError:  # pragma: no cover - the shared environment has them all
            pytest.skip(f"{requirement.name} is not installed here")
        for line in found[name].requires or []:
            child = Requirement(line)
            if child.marker is None or child.marker.evaluate({"extra": ""}):
                todo.append(child)
    return found


def _top_level(dist: Distribution) -> set[str]:
    names = set()
    for file in dist.files or []:
        first = file.parts[0]
        if first.endswith((".dist-info", ".egg-info", ".pth")) or first in ("..", "__pycache__"):
            continue
        names.add(first)
    return names


def test_cfn_lint_is_only_in_the_lint_extra() -> None:
    plain = {_canonical(Requirement(line).name) for line in PYPROJECT["project"]["dependencies"]}
    assert plain == {"pyyaml", "aws-sam-translator"}
    lint = {
        _canonical(Requirement(line).name) for line in PYPROJECT["project"]["optional-dependencies"]["lint"]
    }
    assert lint == {"cfn-lint"}
    assert "cfn-lint" not in _closure(PYPROJECT["project"]["dependencies"])


def test_plain_install_runs_the_console_script(tmp_path: Path) -> None:
    site = tmp_path / "site"
    site.mkdir()
    for dist in _closure(PYPROJECT["project"]["dependencies"]).values():
        for name in _top_level(dist):
            source = Path(str(dist.locate_file(name)))
            if source.exists() and not (site / name).exists():
                (site / name).symlink_to(source)
    assert not (site / "cfnlint").exists()
    venv = tmp_path / "venv"
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(venv)], check=True, timeout=120)
    (purelib,) = venv.glob("lib/python*/site-packages")
    (purelib / "plain_install.pth").write_text(f"{site}\n{ROOT / 'macro'}\n", encoding="utf-8")

    module, function = PYPROJECT["project"]["scripts"]["sfn-exact-version"].split(":")
    script = (
        "import sys\n"
        f"from {module} import {function} as entry\n"
        "code = entry()\n"
        "assert 'cfnlint' not in sys.modules\n"
        "sys.exit(code)\n"
    )
    python = venv / "bin" / "python"
    done = subprocess.run(
        [str(python), "-c", script, "check", str(APP)],
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
        env={"PATH": "/usr/bin:/bin"},
    )
    assert (done.returncode, done.stdout) == (0, "ok: 1 Lambda call(s) pinned, none left unpinned.\n"), (
        done.stderr
    )
    version = subprocess.run(
        [str(python), "-c", script, "--version"], capture_output=True, text=True, timeout=120, check=False
    )
    assert version.stdout.startswith("sfn-exact-version ")
