"""Fixtures shared by the CLI and offline-pipeline tests: no network, a private copy of the fixture app,
the CLI run in-process."""

from __future__ import annotations

import os
import shutil
import socket
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from sfn_exact_version.cli.main import main

FIXTURES = Path(__file__).resolve().parent / "fixtures"

Cli = Callable[..., tuple[int, str, str]]


@pytest.fixture(autouse=True)
def no_network(monkeypatch: pytest.MonkeyPatch) -> None:
    """Everything here runs offline: packaging, the SAM translation (no SAR, no AppConfig, no IAM)."""

    def refuse(*args: Any, **kwargs: Any) -> None:
        raise AssertionError(f"network access attempted: {args!r}")

    monkeypatch.setattr(socket.socket, "connect", refuse)
    monkeypatch.setattr(socket, "create_connection", refuse)


@pytest.fixture
def app(tmp_path: Path) -> Path:
    """A private copy of the fixture app (tests/cli/fixtures/app), free to edit: its template."""
    shutil.copytree(FIXTURES / "app", tmp_path / "app")
    return tmp_path / "app" / "template.yaml"


@pytest.fixture
def cli(capsys: pytest.CaptureFixture[str]) -> Cli:
    """``cli("check", path, ...)``: run the CLI in-process; returns (exit code, stdout, stderr)."""

    def run(*argv: str | os.PathLike[str]) -> tuple[int, str, str]:
        code = main([str(arg) for arg in argv])
        captured = capsys.readouterr()
        return code, captured.out, captured.err

    return run
