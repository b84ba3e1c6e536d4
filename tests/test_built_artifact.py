"""Checks on the Lambda package that ``sam build`` makes from template.yaml and the Makefile.

The package must carry the core modules and Powertools, and nothing of the CLI (PyYAML,
aws-sam-translator, cfn-lint). Its handler is then loaded the way Lambda loads it: a fresh
interpreter whose only import path besides the standard library is the package directory.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import tomllib
from pathlib import Path
from typing import Any

import pytest
from packaging.requirements import Requirement

ROOT = Path(__file__).resolve().parent.parent
EVENTS = Path(__file__).resolve().parent / "events"
FUNCTION_ID = "MacroFunction"
SOURCE_PACKAGE = ROOT / "macro" / "sfn_exact_version"
CORE_SUBPACKAGES = ["definitions"]  # the core's own subpackages (the Makefile's CORE_SUBPACKAGES)

# Top-level names that must never be in the Lambda package: the CLI's dependencies, our CLI and
# lint rules, and the AWS SDK (the macro makes no AWS calls).
FORBIDDEN = [
    "yaml",
    "_yaml",
    "samtranslator",
    "cfnlint",
    "boto3",
    "botocore",
    "sfn_exact_version/cli",
    "sfn_exact_version/lint_rules",
    "sfn_exact_version/offline",
    "sfn_exact_version/live",
    "sfn_exact_version/decisions",
]


def _sam_binary() -> str | None:
    beside_python = Path(sys.executable).parent / "sam"
    if beside_python.is_file():
        return str(beside_python)
    return shutil.which("sam")


def test_lambda_requirements_stay_within_the_lambda_extra() -> None:
    pyproject = tomllib.loads((ROOT / "pyproject.toml").read_text())
    extra = {
        Requirement(line).name: Requirement(line)
        for line in pyproject["project"]["optional-dependencies"]["lambda"]
    }
    lines = (ROOT / "requirements-lambda.txt").read_text().splitlines()
    pinned = [Requirement(line) for line in lines if line.strip() and not line.lstrip().startswith("#")]
    assert {requirement.name for requirement in pinned} == set(extra)
    for requirement in pinned:
        (version,) = [spec.version for spec in requirement.specifier if spec.operator == "=="]
        assert extra[requirement.name].specifier.contains(version), (requirement, extra[requirement.name])


@pytest.fixture(scope="module")
def artifact_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    sam = _sam_binary()
    if sam is None:
        pytest.skip("the `sam` binary (aws-sam-cli) is not installed; `make install` installs it")
    build_dir = tmp_path_factory.mktemp("sam-build")
    env = {**os.environ, "SAM_CLI_TELEMETRY": "0"}
    completed = subprocess.run(
        [
            sam,
            "build",
            "--template-file",
            str(ROOT / "template.yaml"),
            "--base-dir",
            str(ROOT),
            "--build-dir",
            str(build_dir),
            FUNCTION_ID,
        ],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )
    assert completed.returncode == 0, f"sam build failed:\n{completed.stdout}\n{completed.stderr}"
    artifact = build_dir / FUNCTION_ID
    assert artifact.is_dir(), sorted(path.name for path in build_dir.iterdir())
    return artifact


def test_artifact_holds_the_core_package_and_powertools(artifact_dir: Path) -> None:
    assert (artifact_dir / "sfn_exact_version" / "handler.py").is_file()
    assert (artifact_dir / "aws_lambda_powertools").is_dir()
    for folder in ["", *CORE_SUBPACKAGES]:
        built = {path.name for path in (artifact_dir / "sfn_exact_version" / folder).glob("*.py")}
        source = {path.name for path in (SOURCE_PACKAGE / folder).glob("*.py")}
        assert built == source, folder


def test_artifact_carries_nothing_of_the_cli(artifact_dir: Path) -> None:
    present = [name for name in FORBIDDEN if (artifact_dir / name).exists()]
    assert present == []
    assert not list(artifact_dir.rglob("*.pyc")), "bytecode for the build host's Python does not belong here"


# Runs in the child interpreter: argv = artifact dir, event file, output file.
_INVOKE = """
import json, sys
artifact, event_path, out_path = sys.argv[1:4]
sys.path.insert(0, artifact)
from sfn_exact_version.handler import handler
with open(event_path) as stream:
    event = json.load(stream)
response = handler(event, None)
modules = {
    name: getattr(module, "__file__", None)
    for name, module in list(sys.modules.items())
    if "." not in name and name not in sys.stdlib_module_names and name != "__main__"
}
with open(out_path, "w") as stream:
    json.dump({"response": response, "modules": modules, "path": sys.path}, stream)
"""


@pytest.fixture(scope="module")
def invocation(artifact_dir: Path, tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    out = tmp_path_factory.mktemp("invoke") / "result.json"
    # -I: no user site, no PYTHON* variables, no script directory; -S: no site-packages.
    completed = subprocess.run(
        [
            sys.executable,
            "-I",
            "-S",
            "-c",
            _INVOKE,
            str(artifact_dir),
            str(EVENTS / "macro_event_minimal.json"),
            str(out),
        ],
        cwd=artifact_dir,
        env={
            "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
            "POWERTOOLS_SERVICE_NAME": "sfn-exact-version",
            "POWERTOOLS_LOG_LEVEL": "INFO",
            "AWS_REGION": "eu-west-1",
        },
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert completed.returncode == 0, f"handler run failed:\n{completed.stdout}\n{completed.stderr}"
    result: dict[str, Any] = json.loads(out.read_text())
    return result


def test_built_handler_answers_a_macro_event(invocation: dict[str, Any]) -> None:
    event = json.loads((EVENTS / "macro_event_minimal.json").read_text())
    response = invocation["response"]
    assert response["status"] == "success", response
    assert response["requestId"] == event["requestId"]
    assert response["fragment"]["Resources"] == event["fragment"]["Resources"]


def test_built_handler_imports_only_from_the_artifact(artifact_dir: Path, invocation: dict[str, Any]) -> None:
    loaded = invocation["modules"]
    assert "sfn_exact_version" in loaded and "aws_lambda_powertools" in loaded
    outside = {
        name: file
        for name, file in loaded.items()
        if file is not None and not Path(file).resolve().is_relative_to(artifact_dir.resolve())
    }
    assert outside == {}
    assert not {"yaml", "samtranslator", "cfnlint", "boto3", "botocore"} & set(loaded)
