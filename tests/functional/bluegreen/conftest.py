"""Fixtures of the blue-green simulation tests."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from support import require_moto_or_skip


@pytest.fixture
def clients() -> Iterator[dict[str, Any]]:
    """The offline AWS of ``sim/`` (moto; AWS managed policies left out), with an empty S3 bucket
    ``code`` for function code; skips when moto is not the version the simulation needs."""
    require_moto_or_skip()
    from sim.bluegreen_sim import simulated_aws

    with simulated_aws(managed_policies=False) as found:
        found["s3"].create_bucket(Bucket="code")
        yield found
