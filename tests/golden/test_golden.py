"""Golden tests: every folder in ``cases/`` is a template the macro receives and the exact output it
must produce (``expected.json``), or the error it must raise (``error.txt``: lines that must all appear
in the message). Every output also satisfies the invariants of ``tests/invariants.py`` and adds no
cfn-lint error. Regenerate outputs with ``regenerate.py`` and review them like code.
"""

from __future__ import annotations

import copy
import json
import sys
from pathlib import Path
from typing import Any

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from regenerate import case_dirs, load_input, render, transform_kwargs

from invariants import cfn_lint_errors, check_invariants
from sfn_exact_version.errors import TransformError
from sfn_exact_version.transform import transform

CASES = case_dirs()
SUCCESS = [case for case in CASES if not (case / "error.txt").is_file()]
FAILURE = [case for case in CASES if (case / "error.txt").is_file()]


def _ids(cases: list[Path]) -> list[str]:
    return [case.name for case in cases]


def test_case_folders_are_well_formed() -> None:
    for case in CASES:
        files = {path.name for path in case.iterdir()}
        assert files <= {"input.json", "event.json", "expected.json", "error.txt"}, case.name
        assert ("expected.json" in files) != ("error.txt" in files), f"{case.name}: exactly one expectation"
        assert case.name.split("_")[0] in {
            "definition",
            "call",
            "reference",
            "versions",
            "iam",
            "leftalone",
            "error",
            "multi",
        }, case.name


@pytest.mark.parametrize("case", SUCCESS, ids=_ids(SUCCESS))
def test_output_is_expected(case: Path) -> None:
    fragment = load_input(case)
    pristine = load_input(case)
    kwargs = transform_kwargs(case)
    result = transform(fragment, **kwargs)
    assert render(result.template) == (case / "expected.json").read_text(encoding="utf-8"), (
        f"{case.name}: output differs from expected.json (run regenerate.py and review the diff)"
    )
    assert fragment == pristine
    check_invariants(fragment, result.template, transform_kwargs=kwargs)


@pytest.mark.parametrize("case", SUCCESS, ids=_ids(SUCCESS))
def test_output_adds_no_lint_error(case: Path) -> None:
    before = set(cfn_lint_errors(load_input(case)))
    assert not before, f"{case.name}: keep golden inputs cfn-lint clean: {sorted(before)}"
    after = cfn_lint_errors(json.loads((case / "expected.json").read_text(encoding="utf-8")))
    assert [error for error in after if error not in before] == []


@pytest.mark.parametrize("case", FAILURE, ids=_ids(FAILURE))
def test_error_is_expected(case: Path) -> None:
    fragment = load_input(case)
    pristine = copy.deepcopy(fragment)
    with pytest.raises(TransformError) as caught:
        transform(fragment, **transform_kwargs(case))
    message = caught.value.message
    for line in (case / "error.txt").read_text(encoding="utf-8").splitlines():
        if line.strip():
            assert line.strip() in message, f"{case.name}: {line.strip()!r} not in {message!r}"
    resources = fragment.get("Resources") if isinstance(fragment, dict) else None
    if isinstance(resources, dict) and resources:
        assert any(f"Resources/{logical_id}" in message for logical_id in resources), (
            f"{case.name}: the message names no resource: {message!r}"
        )
    assert fragment == pristine


# ------------------------------------------------------------------------------------ fingerprint
def _created_versions(template: dict[str, Any]) -> set[str]:
    return {
        version["Version"]
        for version in template["Metadata"]["SfnExactVersion"]["Versions"]
        if version["Created"]
    }


def _case(name: str) -> Path:
    return Path(__file__).resolve().parent / "cases" / name


def test_parameter_value_changes_created_version() -> None:
    first = json.loads((_case("versions_parameter_environment") / "expected.json").read_text())
    second = json.loads((_case("versions_parameter_environment_other_value") / "expected.json").read_text())
    assert load_input(_case("versions_parameter_environment")) == load_input(
        _case("versions_parameter_environment_other_value")
    ), "the two cases differ only by the event's parameter value"
    assert _created_versions(first) and _created_versions(second)
    assert _created_versions(first) != _created_versions(second)


BASE = _case("versions_none")

CHANGES = {
    "Handler": ("Handler", "other.handler"),
    "Runtime": ("Runtime", "python3.13"),
    "Timeout": ("Timeout", 30),
    "MemorySize": ("MemorySize", 512),
    "Layers": ("Layers", ["arn:aws:lambda:eu-west-1:123456789012:layer:shared:3"]),
    "Environment": ("Environment", {"Variables": {"MODE": "fast"}}),
    "Code": ("Code", {"ZipFile": "def handler(event, context):\n    return {}\n"}),
}


def _fingerprint_of(fragment: dict[str, Any]) -> str:
    (version,) = transform(fragment, region="eu-west-1", account_id="123456789012").report.versions
    return version.fingerprint


@pytest.mark.parametrize("prop", sorted(CHANGES))
def test_versioned_property_changes_fingerprint(prop: str) -> None:
    fragment = load_input(BASE)
    before = _fingerprint_of(fragment)
    changed = copy.deepcopy(fragment)
    key, value = CHANGES[prop]
    changed["Resources"]["HelloFunction"]["Properties"][key] = value
    assert _fingerprint_of(changed) != before


def test_tags_do_not_change_fingerprint() -> None:
    fragment = load_input(BASE)
    changed = copy.deepcopy(fragment)
    changed["Resources"]["HelloFunction"]["Properties"]["Tags"] = [{"Key": "team", "Value": "payments"}]
    assert _fingerprint_of(changed) == _fingerprint_of(fragment)


def test_parameter_behind_a_condition_changes_fingerprint() -> None:
    fragment = load_input(_case("versions_condition_and_mapping"))
    prints = {
        stage: transform(fragment, parameter_values={"Stage": stage}).report.versions[0].fingerprint
        for stage in ("dev", "prod")
    }
    assert prints["dev"] != prints["prod"]


def test_mapping_entry_changes_fingerprint_and_other_mappings_do_not() -> None:
    fragment = load_input(_case("versions_condition_and_mapping"))
    before = _fingerprint_of(fragment)
    edited = copy.deepcopy(fragment)
    edited["Mappings"]["StageSettings"]["dev"]["LogLevel"] = "WARNING"
    assert _fingerprint_of(edited) != before
    unrelated = copy.deepcopy(fragment)
    unrelated["Mappings"]["Unused"] = {"Key": {"Value": "x"}}
    assert _fingerprint_of(unrelated) == before


def test_layer_content_parameter_changes_fingerprint() -> None:
    fragment = load_input(_case("versions_layer_in_template"))
    layer = fragment["Resources"]["SharedLayer"]["Properties"]
    layer["Content"]["S3Key"] = {"Ref": "LayerKey"}
    fragment["Parameters"] = {"LayerKey": {"Type": "String", "Default": "layers/shared-1.zip"}}
    first = transform(fragment, parameter_values={"LayerKey": "layers/shared-1.zip"}).report.versions[0]
    second = transform(fragment, parameter_values={"LayerKey": "layers/shared-2.zip"}).report.versions[0]
    assert first.fingerprint != second.fingerprint


def test_a_change_of_another_stages_mapping_entry_keeps_the_version() -> None:
    """The prod stack reads the prod entry: a change of the dev entry leaves its versions as they are."""
    prod = load_input(_case("versions_condition_and_mapping"))
    changed = load_input(_case("versions_mapping_other_entry_changed"))
    assert transform_kwargs(_case("versions_condition_and_mapping"))["parameter_values"] == {"Stage": "prod"}
    assert transform_kwargs(_case("versions_mapping_other_entry_changed")) == transform_kwargs(
        _case("versions_condition_and_mapping")
    )
    assert changed["Mappings"]["StageSettings"]["prod"] == prod["Mappings"]["StageSettings"]["prod"]
    assert changed["Mappings"] != prod["Mappings"]
    first = json.loads((_case("versions_condition_and_mapping") / "expected.json").read_text())
    second = json.loads((_case("versions_mapping_other_entry_changed") / "expected.json").read_text())
    assert _created_versions(first) and _created_versions(first) == _created_versions(second)
    assert first["Resources"]["HelloFunction"] == second["Resources"]["HelloFunction"]
