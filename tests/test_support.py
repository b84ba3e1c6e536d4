"""The shared test helpers do what the suites rely on: a missing corpus skips, builders chain states."""

from __future__ import annotations

from pathlib import Path

import pytest

from support import corpus_or_skip, corpus_rows, states


def test_a_missing_corpus_skips_the_test(tmp_path: Path) -> None:
    with pytest.raises(pytest.skip.Exception, match="corpus not found"):
        corpus_or_skip(tmp_path / "corpus")
    assert corpus_rows(tmp_path / "corpus") == []


def test_a_present_corpus_gives_its_root_and_manifest_rows(tmp_path: Path) -> None:
    (tmp_path / "MANIFEST.tsv").write_text("path\tkind\tfeatures\na.yaml\tsam\tx,y\n", encoding="utf-8")
    assert corpus_or_skip(tmp_path) == tmp_path
    assert corpus_rows(tmp_path) == [{"path": "a.yaml", "kind": "sam", "features": "x,y"}]


def test_states_run_in_the_order_given() -> None:
    assert states(A={"Type": "Pass"}, B={"Type": "Pass"}) == {
        "StartAt": "A",
        "States": {"A": {"Type": "Pass", "Next": "B"}, "B": {"Type": "Pass", "End": True}},
    }
