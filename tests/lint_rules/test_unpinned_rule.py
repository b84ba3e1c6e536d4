"""The cfn-lint rules of ``sfn_exact_version.lint_rules``, run through cfn-lint itself.

Each bad fixture is listed with the exact matches of our rules (ID, line, path, message parts); each
good fixture must give no match of our rules. cfn-lint up to 1.53 applies the SAM transform before the
rules run and cannot locate the generated properties (a match lands on the state machine's logical
ID); from 1.54 on it keeps the SAM template as written and a match lands on the property the user
wrote (``Definition``, ``DefinitionSubstitutions``). SAM fixtures give both lines.
"""

from __future__ import annotations

import functools
import os
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from cfnlint.api import lint
from cfnlint.config import ConfigMixIn, ManualArgs
from cfnlint.decode.decode import decode_str
from cfnlint.runner import Runner

ROOT = Path(__file__).resolve().parents[2]
TEMPLATES = Path(__file__).resolve().parent / "templates"
RULES_MODULE = "sfn_exact_version.lint_rules"
RULES_DIRECTORY = ROOT / "macro" / "sfn_exact_version" / "lint_rules"
OUR_RULES = {"W9100", "W9101", "E9102", "W9103"}


def _cfn_lint_translates_sam() -> bool:
    try:
        from cfnlint.template.transforms.transform import Transform
    except ImportError:  # pragma: no cover - layout of another cfn-lint major version
        return False
    return "AWS::Serverless-2016-10-31" in Transform().transforms


TRANSLATES_SAM = _cfn_lint_translates_sam()


@dataclass(frozen=True)
class Expected:
    rule: str
    line: int  # 1-based; for SAM fixtures, the line when cfn-lint keeps the template as written
    path: tuple[str | int, ...]
    parts: tuple[str, ...]  # substrings of the message
    translated_line: int | None = None  # SAM fixtures: the line when cfn-lint applied SAM itself
    translated_path: tuple[str | int, ...] | None = None

    def line_here(self) -> int:
        if TRANSLATES_SAM and self.translated_line is not None:
            return self.translated_line
        return self.line

    def path_here(self) -> tuple[str | int, ...]:
        if TRANSLATES_SAM and self.translated_path is not None:
            return self.translated_path
        return self.path


NOT_PINNED_FIX = "or point it at an AWS::Lambda::Version"

BAD: dict[str, list[Expected]] = {
    "sam_without_macro.yaml": [
        Expected(
            "W9100",
            20,
            ("Resources", "GreetStateMachine", "Properties", "Definition"),
            (
                "State machine GreetStateMachine",
                "state States.Fan.Branches[0].States.Hello",
                "the call to HelloFunction is not pinned to a version",
                "add SfnExactVersion to Transform after AWS::Serverless-2016-10-31",
                NOT_PINNED_FIX,
            ),
            translated_line=17,
            translated_path=("Resources", "GreetStateMachine", "Properties", "DefinitionString"),
        ),
        Expected(
            "W9100",
            20,
            ("Resources", "GreetStateMachine", "Properties", "Definition"),
            (
                "State machine GreetStateMachine",
                "state States.Fan.Branches[1].States.World",
                "the call to WorldFunction is not pinned to a version",
            ),
            translated_line=17,
            translated_path=("Resources", "GreetStateMachine", "Properties", "DefinitionString"),
        ),
    ],
    "cfn_without_macro.yaml": [
        Expected(
            "W9100",
            46,
            ("Resources", "HelloStateMachine", "Properties", "DefinitionString"),
            (
                "State machine HelloStateMachine",
                "state States.Hello",
                "the call to HelloFunction is not pinned to a version; add SfnExactVersion to Transform or "
                "point it at an AWS::Lambda::Version",
            ),
        ),
    ],
    "sam_local_paths.yaml": [
        Expected(
            "W9100",
            19,
            ("Resources", "StockTradingStateMachine", "Properties", "DefinitionSubstitutions"),
            (
                "State machine StockTradingStateMachine",
                "state (DefinitionS3Location) ${StockCheckerFunctionArn}",
                "the call to StockCheckerFunction is not pinned to a version",
            ),
            translated_line=15,
        ),
    ],
    "sam_function_name_path.yaml": [
        Expected(
            "W9101",
            14,
            ("Resources", "RouterStateMachine", "Properties", "Definition"),
            (
                "State machine RouterStateMachine",
                "state States.Route",
                "the call to $.target",
                "(dynamic)",
                "FunctionName.$ chooses the function at run time",
                "to pin it",
            ),
            translated_line=11,
            translated_path=("Resources", "RouterStateMachine", "Properties", "DefinitionString"),
        ),
    ],
    "sam_alias.yaml": [
        Expected(
            "W9101",
            15,
            ("Resources", "HelloStateMachine", "Properties", "Definition"),
            (
                "State machine HelloStateMachine",
                "state States.Hello",
                "the call to ${HelloFunctionAliaslive}",
                "(alias)",
                "alias HelloFunctionAliaslive moves when it is updated",
            ),
            translated_line=12,
            translated_path=("Resources", "HelloStateMachine", "Properties", "DefinitionString"),
        ),
    ],
    "cfn_macro_external_and_latest.yaml": [
        Expected(
            "W9101",
            55,
            ("Resources", "PipelineStateMachine", "Properties", "Definition"),
            (
                "State machine PipelineStateMachine",
                "state States.Newest",
                "the call to ${HelloFunction.Arn}:$LATEST",
                "(latest)",
                "drop the qualifier",
            ),
        ),
        Expected(
            "W9101",
            55,
            ("Resources", "PipelineStateMachine", "Properties", "Definition"),
            (
                "State machine PipelineStateMachine",
                "state States.Audit",
                "the call to ${AuditFunctionArn}",
                "(external)",
                "parameter AuditFunctionArn",
            ),
        ),
    ],
    "sam_macro_before_sam.yaml": [
        Expected(
            "E9102",
            2,
            ("Transform",),
            (
                "Transform lists SfnExactVersion before AWS::Serverless-2016-10-31: CloudFormation runs it "
                "first, on AWS::Serverless::* resources, and the deploy fails",
                "Transform: [AWS::Serverless-2016-10-31, SfnExactVersion]",
            ),
        ),
    ],
    "cfn_macro_two_versions.yaml": [
        Expected(
            "E9102",
            55,
            ("Resources", "HelloStateMachine"),
            (
                "SfnExactVersion would fail the deploy",
                "States.Hello calls HelloFunction",
                "several versions (HelloVersionOne, HelloVersionTwo)",
            ),
        ),
    ],
    "cfn_without_macro_two_versions.yaml": [
        Expected(
            "W9100",
            58,
            ("Resources", "HelloStateMachine", "Properties", "Definition"),
            (
                "State machine HelloStateMachine",
                "state States.Hello",
                "the call to HelloFunction is not pinned to a version; add SfnExactVersion to Transform",
            ),
        ),
    ],
    "cfn_definition_not_json.yaml": [
        Expected(
            "W9103",
            38,
            ("Resources", "HelloStateMachine", "Properties", "DefinitionString"),
            (
                "Lambda calls of state machines were not checked",
                "Resources/HelloStateMachine/Properties/DefinitionString: the definition is not valid JSON",
            ),
        ),
    ],
}

GOOD = sorted(path.name for path in (TEMPLATES / "good").glob("*.yaml"))


@functools.cache
def _runner(append_rules: str) -> Runner:
    # What cfnlint.api.lint does, with the rules loaded once (loading them takes about a second).
    return Runner(ConfigMixIn(**ManualArgs(append_rules=[append_rules], regions=["us-east-1"])))


def _lint_text(text: str, append_rules: str = RULES_MODULE) -> list[Any]:
    template, errors = decode_str(text)
    assert not errors and template is not None, errors
    return list(_runner(append_rules).validate_template(template))


def _lint(path: Path, append_rules: str = RULES_MODULE) -> list[Any]:
    return _lint_text(path.read_text(encoding="utf-8"), append_rules)


def _ours(matches: list[Any]) -> list[Any]:
    return [match for match in matches if match.rule.id in OUR_RULES]


def test_every_bad_fixture_is_listed() -> None:
    assert sorted(BAD) == sorted(path.name for path in (TEMPLATES / "bad").glob("*.yaml"))


@pytest.mark.parametrize("name", sorted(BAD))
def test_bad_template(name: str) -> None:
    matches = _lint(TEMPLATES / "bad" / name)
    assert not [match for match in matches if match.rule.id == "E0002"], "a rule crashed"
    ours = _ours(matches)
    expected = BAD[name]
    assert len(ours) == len(expected), [f"{m.rule.id} {m.linenumber} {m.message}" for m in ours]
    for match, want in zip(ours, expected, strict=True):
        assert match.rule.id == want.rule
        assert match.linenumber == want.line_here(), match.message
        assert tuple(match.path) == want.path_here()
        for part in want.parts:
            assert part in match.message


@pytest.mark.parametrize("name", GOOD)
def test_good_template(name: str) -> None:
    matches = _lint(TEMPLATES / "good" / name)
    assert not [match for match in matches if match.rule.id == "E0002"], "a rule crashed"
    assert _ours(matches) == []


def test_good_fixtures_are_checked_at_all() -> None:
    """The good fixtures are quiet for a reason: the same calls are flagged once the reason is gone."""
    text = (TEMPLATES / "good" / "sam_with_macro.yaml").read_text(encoding="utf-8")
    without_macro = text.replace(
        "Transform: [AWS::Serverless-2016-10-31, SfnExactVersion]", "Transform: AWS::Serverless-2016-10-31"
    )
    assert [m.rule.id for m in _ours(_lint_text(without_macro))] == ["W9100"]

    text = (TEMPLATES / "good" / "sam_opted_out.yaml").read_text(encoding="utf-8")
    opted_in = text.replace("Pin: false", "Pin: true")
    assert sorted(m.message.split(":")[0] for m in _ours(_lint_text(opted_in))) == [
        "State machine OptedOutStateMachine, state States.Hello",
        "State machine ScratchStateMachine, state States.Scratch",
    ]


def test_public_api() -> None:
    """cfnlint.api.lint with ManualArgs(append_rules=[...]) gives the same matches."""
    text = (TEMPLATES / "bad" / "sam_without_macro.yaml").read_text(encoding="utf-8")
    matches = lint(text, config=ManualArgs(append_rules=[RULES_MODULE], regions=["us-east-1"]))
    assert [(m.rule.id, m.linenumber, m.message) for m in _ours(matches)] == [
        (m.rule.id, m.linenumber, m.message) for m in _ours(_lint_text(text))
    ]
    assert len(_ours(matches)) == 2


def test_directory_path_loads_the_same_rules() -> None:
    by_module = _lint(TEMPLATES / "bad" / "sam_without_macro.yaml")
    by_directory = _lint(TEMPLATES / "bad" / "sam_without_macro.yaml", str(RULES_DIRECTORY))
    assert [(m.rule.id, m.linenumber, m.message) for m in _ours(by_directory)] == [
        (m.rule.id, m.linenumber, m.message) for m in _ours(by_module)
    ]


def test_sam_translation_failure_is_a_match_not_a_crash() -> None:
    text = """\
AWSTemplateFormatVersion: "2010-09-09"
Transform: AWS::Serverless-2016-10-31
Resources:
  Sm:
    Type: AWS::Serverless::StateMachine
    Properties:
      Definition:
        StartAt: A
        States:
          A: {Type: Pass, End: true}
      DefinitionUri: s3://bucket/key.json
"""
    matches = _lint_text(text)
    assert not [match for match in matches if match.rule.id == "E0002"]
    if TRANSLATES_SAM:
        # cfn-lint reports SAM's refusal itself and runs no rule
        assert [m.rule.id for m in matches] == ["E0001"]
    else:
        ours = _ours(matches)
        assert [m.rule.id for m in ours] == ["W9103"]
        assert "the SAM transform failed offline" in ours[0].message


def _cli(*args: str) -> subprocess.CompletedProcess[str]:
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(ROOT / "macro"), env.get("PYTHONPATH")]))
    return subprocess.run(
        [sys.executable, "-c", "import sys; from cfnlint.runner import main; sys.exit(main())", *args],
        capture_output=True,
        text=True,
        env=env,
        cwd=ROOT,
        check=False,
        timeout=300,
    )


@pytest.mark.parametrize("rules", [RULES_MODULE, str(RULES_DIRECTORY)], ids=["module", "directory"])
def test_command_line(rules: str) -> None:
    """The documented invocation: ``cfn-lint --append-rules=<module or directory> template.yaml``."""
    fixture = "tests/lint_rules/templates/bad/cfn_without_macro.yaml"
    result = _cli(f"--append-rules={rules}", "--format", "parseable", fixture)
    assert result.returncode == 4, result.stderr  # warnings only
    assert result.stdout.splitlines() == [
        f"{fixture}:46:7:46:23:W9100:State machine HelloStateMachine, state States.Hello: the call to "
        "HelloFunction is not pinned to a version; add SfnExactVersion to Transform or point it at an "
        "AWS::Lambda::Version"
    ]


def test_command_line_error_exit_code() -> None:
    fixture = "tests/lint_rules/templates/bad/sam_macro_before_sam.yaml"
    result = _cli(fixture, "--append-rules", RULES_MODULE)
    assert result.returncode == 2, result.stdout + result.stderr  # an error, no warning
    assert result.stdout.startswith("E9102 Transform lists SfnExactVersion before AWS::Serverless-2016-10-31")


def test_unexpected_exception_is_reported_once(monkeypatch: pytest.MonkeyPatch) -> None:
    from sfn_exact_version.lint_rules import _findings

    def broken(*args: Any, **kwargs: Any) -> Any:
        raise RuntimeError("boom")

    monkeypatch.setattr(_findings, "transform", broken)
    matches = _lint(TEMPLATES / "bad" / "cfn_without_macro.yaml")
    crashes = [match for match in matches if match.rule.id == "E0002"]
    assert len(crashes) == 1 and "boom" in crashes[0].message
    assert _ours(matches) == []


# --- one finding per problem, definition files, the macro name ---------------------------------------
class _Problem:
    """The shape of the core's problem records: message, resource, path."""

    def __init__(self, message: str, resource: str, path: str = "") -> None:
        self.message, self.resource, self.path = message, resource, path


def test_each_core_problem_is_its_own_finding_at_its_own_resource(monkeypatch: pytest.MonkeyPatch) -> None:
    """A core error carrying several problems (``problems``: message, resource) gives one E9102 each."""
    from sfn_exact_version.errors import TransformError
    from sfn_exact_version.lint_rules import _findings

    def failing(*args: Any, **kwargs: Any) -> Any:
        error = TransformError("first. second.")
        error.problems = [  # type: ignore[attr-defined]
            _Problem(
                "first problem", "HelloStateMachine", "Resources/HelloStateMachine/Properties/Definition"
            ),
            _Problem("second problem", "HelloFunction"),
        ]
        raise error

    monkeypatch.setattr(_findings, "transform", failing)
    text = (TEMPLATES / "bad" / "cfn_macro_two_versions.yaml").read_text(encoding="utf-8")
    ours = _ours(_lint_text(text))
    assert [(m.rule.id, m.linenumber, m.message) for m in ours] == [
        ("E9102", 59, "SfnExactVersion would fail the deploy: first problem"),  # at its Definition
        ("E9102", 15, "SfnExactVersion would fail the deploy: second problem"),
    ]


def test_calls_written_in_a_local_definition_file_are_read() -> None:
    fixture = "tests/cli/fixtures/definition_file/template.yaml"
    result = _cli("--append-rules=" + RULES_MODULE, "--format", "parseable", fixture)
    lines = result.stdout.splitlines()
    assert all(line.startswith(f"{fixture}:25:7:25:20:W9101:State machine Workflow, ") for line in lines), (
        lines
    )
    states = sorted(line.split("statemachine/workflow.asl.json: ")[1].split(" ")[0] for line in lines)
    assert states == ["States.Audit", "States.Enrich", "States.Notify", "States.Route:"]


def test_a_pinned_substitution_inside_a_longer_string_of_a_file_is_an_error() -> None:
    fixture = "tests/cli/fixtures/embedded_substitution/template.yaml"
    result = _cli("--append-rules=" + RULES_MODULE, "--format", "parseable", fixture)
    assert result.returncode == 2, result.stdout + result.stderr
    (line,) = result.stdout.splitlines()
    assert ":E9102:State machine Machine, definition file statemachine/sm.asl.json: " in line
    assert "uses ${HelloName} inside a longer string" in line


CUSTOM_NAME_TEMPLATE = (TEMPLATES / "good" / "sam_with_macro.yaml").read_text(encoding="utf-8")


@pytest.mark.parametrize("rule", ["W9100", "E9102"])
def test_macro_name_rule_option(tmp_path: Path, rule: str) -> None:
    template = tmp_path / "custom.yaml"
    template.write_text(CUSTOM_NAME_TEMPLATE.replace(", SfnExactVersion]", ", PinLambdaVersions]"))
    assert ", PinLambdaVersions]" in template.read_text()
    default = _cli(f"--append-rules={RULES_MODULE}", "--format", "parseable", str(template))
    assert ":W9100:" in default.stdout  # the default name is not listed: the calls are not pinned
    configured = _cli(
        f"--append-rules={RULES_MODULE}",
        "--configure-rule",
        f"{rule}:macro_name=PinLambdaVersions",
        "--",
        str(template),
    )
    assert (configured.returncode, configured.stdout) == (0, ""), configured.stdout + configured.stderr
