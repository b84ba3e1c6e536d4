"""Fixtures every suite may use. The plain helpers behind them (template builders, macro events, paths)
are in ``tests/support.py``; suite-specific fixtures stay in the suite's own ``conftest.py``
(``tests/cli``, ``tests/live``)."""

from __future__ import annotations

import io
from collections.abc import Iterator
from pathlib import Path

import pytest

from support import CORPUS, captured_logs, corpus_or_skip


@pytest.fixture(scope="session")
def shared_corpus() -> Path:
    """``../shared/corpus`` (public SAM and CloudFormation templates); skips the test when absent."""
    return corpus_or_skip(CORPUS)


@pytest.fixture
def handler_logs() -> Iterator[io.StringIO]:
    """Everything the handler's logger writes during the test, one JSON object a line."""
    with captured_logs() as stream:
        yield stream
