"""The benchmark's template generator: deterministic, realistic, and input the transform accepts.

No timing here: benchmarks/run.py measures, these tests only check what it measures on.
"""

from __future__ import annotations

import hashlib
import importlib.util
import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from sfn_exact_version.transform import transform

ROOT = Path(__file__).resolve().parent.parent
GENERATOR = ROOT / "benchmarks" / "generate.py"


def _load_generator() -> Any:
    spec = importlib.util.spec_from_file_location("sfn_exact_version_bench_generate", GENERATOR)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


generate = _load_generator()


def _digest(value: Any) -> str:
    return hashlib.sha256(json.dumps(value, sort_keys=True).encode("utf-8")).hexdigest()


def _states(definition: dict[str, Any]) -> list[tuple[int, str, dict[str, Any]]]:
    """(depth, container kind, state) for every state, nested ones included."""
    found = []

    def walk(body: dict[str, Any], depth: int, kind: str) -> None:
        for state in body.get("States", {}).values():
            found.append((depth, kind, state))
            for branch in state.get("Branches", []):
                walk(branch, depth + 1, "Parallel")
            for key in ("Iterator", "ItemProcessor"):
                if key in state:
                    walk(state[key], depth + 1, "Map")

    walk(definition, 0, "")
    return found


def test_same_arguments_same_template() -> None:
    assert generate.generate_sam(2) == generate.generate_sam(2)
    assert _digest(generate.generate_sam(3, seed=7)) == _digest(generate.generate_sam(3, seed=7))
    assert _digest(generate.generate_sam(2, seed=1)) != _digest(generate.generate_sam(2, seed=2))


def test_independent_of_hash_randomisation_and_of_the_process() -> None:
    code = (
        "import hashlib, json, sys; sys.path.insert(0, sys.argv[1]); import generate; "
        "print(hashlib.sha256(json.dumps(generate.generate_sam(2), sort_keys=True).encode()).hexdigest())"
    )
    digests = set()
    for hash_seed in ("1", "2"):
        env = {**os.environ, "PYTHONHASHSEED": hash_seed}
        out = subprocess.run(
            [sys.executable, "-c", code, str(GENERATOR.parent)],
            capture_output=True,
            text=True,
            env=env,
            check=True,
        )
        digests.add(out.stdout.strip())
    assert digests == {_digest(generate.generate_sam(2))}


def test_a_larger_size_adds_units_and_keeps_the_smaller_ones() -> None:
    small = generate.generate_sam(2)["Resources"]
    large = generate.generate_sam(5)["Resources"]
    assert all(large[name] == resource for name, resource in small.items())
    assert len(large) > len(small)


def test_sam_template_has_the_shapes_the_benchmark_is_about() -> None:
    template = generate.generate_sam(2)
    resources = template["Resources"]
    kinds = [resource["Type"] for resource in resources.values()]
    assert kinds.count("AWS::Serverless::Function") >= 10
    assert kinds.count("AWS::Serverless::StateMachine") >= 4
    functions = [r["Properties"] for r in resources.values() if r["Type"] == "AWS::Serverless::Function"]
    assert any("AutoPublishAlias" in properties for properties in functions)
    machines = [r["Properties"] for r in resources.values() if r["Type"] == "AWS::Serverless::StateMachine"]
    assert any("DefinitionUri" in properties for properties in machines)
    policies = json.dumps([properties.get("Policies") for properties in machines])
    assert "LambdaInvokePolicy" in policies and '"lambda:InvokeFunction"' in policies
    text = json.dumps([properties.get("Definition") for properties in machines])
    assert '"Resource": {"Fn::GetAtt": [' in text  # legacy Resource
    assert "arn:aws:states:::lambda:invoke" in text
    assert any(
        service in text for service in (":::dynamodb:", ":::sns:", ":::aws-sdk:dynamodb:")
    )  # not Lambda
    for properties in machines:
        if "Definition" not in properties:
            continue
        states = _states(properties["Definition"])
        assert any(state["Type"] == "Choice" for _, _, state in states)
        # Parallel branches holding Maps holding Tasks
        assert any(kind == "Map" and depth >= 2 and state["Type"] == "Task" for depth, kind, state in states)


def test_translation_is_plain_cloudformation_in_sams_shape() -> None:
    pytest.importorskip("samtranslator")
    sam = generate.generate_sam(1)
    before = json.dumps(sam, sort_keys=True)
    cfn = generate.translate(sam)
    assert json.dumps(sam, sort_keys=True) == before, "translate modified its input"
    assert generate.translate(sam) == cfn
    assert cfn["Transform"] == ["SfnExactVersion"]
    types = {resource["Type"] for resource in cfn["Resources"].values()}
    assert not any(kind.startswith("AWS::Serverless::") for kind in types)
    machines = [
        r["Properties"] for r in cfn["Resources"].values() if r["Type"] == "AWS::StepFunctions::StateMachine"
    ]
    inline = [properties for properties in machines if "DefinitionString" in properties]
    assert inline and all("Fn::Join" in properties["DefinitionString"] for properties in inline)
    assert all("DefinitionSubstitutions" in properties for properties in inline)
    assert "AWS::Lambda::Version" in types and "AWS::Lambda::Alias" in types


def test_the_transform_accepts_the_event_and_pins_calls() -> None:
    pytest.importorskip("samtranslator")
    event = generate.macro_event(generate.translate(generate.generate_sam(2)))
    assert "Transform" not in event["fragment"]
    result = transform(
        event["fragment"],
        parameter_values=event["templateParameterValues"],
        region=event["region"],
        account_id=event["accountId"],
    )
    report = result.report
    assert len(report.pinned) >= 20
    assert any(version.created for version in report.versions)
    assert any(not version.created for version in report.versions)  # SAM's AutoPublishAlias versions
    assert report.widened
    assert {item.reason for item in report.left_alone} >= {"dynamic"}


def test_largest_size_stays_within_cloudformation_limits_after_the_macro() -> None:
    pytest.importorskip("samtranslator")
    event = generate.macro_event(generate.translate(generate.generate_sam(16)))
    result = transform(
        event["fragment"],
        parameter_values=event["templateParameterValues"],
        region=event["region"],
        account_id=event["accountId"],
    )
    assert generate.limits(result.template)["within"]
    assert generate.limits(event["fragment"])["resources"] >= 300


def test_call_dense_template_calls_lambda_in_every_state() -> None:
    sam = generate.generate_dense(machines=3, states=5, functions=4, called_per_machine=2)
    assert sam == generate.generate_dense(machines=3, states=5, functions=4, called_per_machine=2)
    cfn = generate.translate(sam)
    machines = [r for r in cfn["Resources"].values() if r["Type"] == "AWS::StepFunctions::StateMachine"]
    assert len(machines) == 3
    for machine in machines:  # SAM's Fn::Join form, one substitution per call
        assert "Fn::Join" in machine["Properties"]["DefinitionString"]
        assert len(machine["Properties"]["DefinitionSubstitutions"]) == 5
    report = transform({k: v for k, v in cfn.items() if k != "Transform"}).report
    assert len(report.pinned) == 3 * 5 and not report.left_alone
    assert sorted({call.function for call in report.pinned}) == [f"Fn0{n}" for n in range(4)]


def test_call_dense_defaults_are_the_documented_size() -> None:
    cfn = generate.translate(generate.generate_dense())
    facts = generate.limits(cfn)
    assert facts["resources"] == 160  # 40 functions and their roles, 40 state machines and their roles
    assert 650_000 < facts["bytes"] < 800_000
    out = transform({k: v for k, v in cfn.items() if k != "Transform"}).template
    assert generate.limits(out)["within"]  # the macro's output stays within 500 resources and 1 MB
