"""The examples in the package's docstrings run and give what they show (doctest, module by module)."""

from __future__ import annotations

import doctest
import importlib
import pkgutil

import pytest

import sfn_exact_version

MODULES = sorted(
    name
    for _, name, _ in pkgutil.walk_packages(sfn_exact_version.__path__, "sfn_exact_version.")
    if not name.endswith("__main__")  # runs the CLI when imported
)


def _run(name: str) -> doctest.TestResults:
    return doctest.testmod(importlib.import_module(name), optionflags=doctest.ELLIPSIS, report=True)


@pytest.mark.parametrize("name", MODULES)
def test_docstring_examples(name: str) -> None:
    assert _run(name).failed == 0


def test_examples_are_collected() -> None:
    assert "sfn_exact_version.offline.pipeline" in MODULES and "sfn_exact_version.transform" in MODULES
    assert sum(_run(name).attempted for name in MODULES) >= 40
