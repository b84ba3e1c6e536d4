"""Every template of the shared corpora, through the CLI's path: load → package (the corpora have no
function code: missing paths allowed) → SAM offline → the macro. ``../shared/corpus`` holds real public
SAM and CloudFormation templates, ``../shared/corpus2`` generated ones (CDK and Serverless Framework
output); each is skipped when absent.

Per template:

- it succeeds, or fails as listed in ``EXPECTED_FAILURES`` (each also explained in DESIGN.md, "Real
  templates");
- read from the output itself (not from the report), no call of any state machine still resolves to an
  unqualified function of the template, and each call that did now targets a version *of that same
  function*; calls the macro leaves alone are left as they were;
- the report agrees with what the output holds;
- cfn-lint finds no error in the output that it did not find in the macro's input (the template as SAM
  hands it over), compared as (rule, path);
- the invariants of ``tests/invariants.py`` hold (input untouched, deterministic, idempotent, only
  allowed changes, Retain).

``summarise.py`` prints the numbers (``docs/corpus.md``); the last test checks that the file is what it
prints today.
"""

from __future__ import annotations

import contextlib
import io
from pathlib import Path
from typing import NamedTuple

import corpus_support as corpus
import pytest

from invariants import check_invariants
from sfn_exact_version.definitions import S3_STATE
from sfn_exact_version.report import UNPINNED_REASONS, UNSUPPORTED
from sfn_exact_version.targets import PIN, PINNED

if not any((root / "MANIFEST.tsv").is_file() for root in corpus.CORPORA):
    pytest.skip(f"no corpus found at {', '.join(map(str, corpus.CORPORA))}", allow_module_level=True)

DESIGN = Path(__file__).resolve().parents[2] / "DESIGN.md"
ROWS = [row for root in corpus.CORPORA for row in corpus.manifest(root)]


class Expected(NamedTuple):
    """A template the CLI's path cannot handle: the words its one error must contain, and whether the
    macro is still checked on the template with ``AWS::LanguageExtensions`` left out."""

    error: str
    check_without_language_extensions: bool = False


CIRCULAR_ENV = (
    "corpus2:generated/sls-package/circular-dependency-env/cloudformation-template-update-stack.json"
)
EXPECTED_FAILURES: dict[str, Expected] = {
    # Two resources under the key VPC: YAML would keep the last one silently; the loader (like
    # `cfn-lint`) refuses the template. Broken as published.
    "aws-samples__step-functions-workflows-collection/cqrs/template.yaml": Expected(
        "duplicate key 'VPC' (first written at line 185)"
    ),
    # AWS::LanguageExtensions is listed before SAM: CloudFormation runs it first, and it cannot be run
    # offline. The CLI refuses rather than show a result the macro would not receive.
    "aws-cloudformation__cfn-lint/test/fixtures/templates/good/transform/language_extension.yaml": Expected(
        "AWS::LanguageExtensions before AWS::Serverless-2016-10-31"
    ),
    # Same; its one language extension (Fn::ToJsonString in an API's log format) is away from the state
    # machine, so the macro is also checked on the template without the transform.
    "aws-samples__aws-step-functions-plagiarism-demo-dotnet/src/backend/template.yaml": Expected(
        "AWS::LanguageExtensions before AWS::Serverless-2016-10-31", check_without_language_extensions=True
    ),
    # The function reads !Ref of the state machine that calls it by a literal ARN (how
    # serverless-step-functions avoids the cycle, its issue #470): pinning the call would close the cycle
    # state machine -> version -> function -> state machine, which CloudFormation refuses.
    CIRCULAR_ENV: Expected(
        "makes a dependency cycle, which CloudFormation refuses: CircularMachine -> ParseCSVLambdaVersion"
    ),
}


def test_manifest_lists_every_template() -> None:
    counts = {root.name: len(corpus.manifest(root)) for root in corpus.CORPORA}
    assert counts == {"corpus": 80, "corpus2": 42}
    assert {row.kind for row in ROWS} == {"sam", "cfn"}
    assert set(EXPECTED_FAILURES) <= {row.name for row in ROWS}


def _documented_as(name: str) -> str:
    """The words DESIGN.md names a template by: its repository, or for a generated one its folder."""
    if name.startswith("corpus2:"):
        return name.split("/")[-2]
    return name.split("/")[0].split("__")[1]


def test_expected_failures_are_documented() -> None:
    text = DESIGN.read_text(encoding="utf-8")
    assert "## Real templates" in text
    section = text.split("## Real templates", 1)[1].split("\n## ", 1)[0]
    for name in EXPECTED_FAILURES:
        assert _documented_as(name) in section, f"{name} is not explained in DESIGN.md"


@pytest.mark.parametrize("row", ROWS, ids=[row.name for row in ROWS])
def test_template(row: corpus.Row) -> None:
    expected = EXPECTED_FAILURES.get(row.name)
    outcome = corpus.outcome(row)
    if expected is not None:
        assert outcome.preview is None, f"expected to fail with {expected.error!r}, but it succeeded"
        assert expected.error in outcome.error
        assert "Traceback" not in outcome.error
        if not expected.check_without_language_extensions:
            return
        outcome = corpus.outcome(row, skip_preceding_transforms=True)
    assert outcome.preview is not None, f"failed: {outcome.error}"
    _check_calls(outcome)
    _check_report(outcome)
    _check_lint(outcome)
    preview = outcome.preview
    check_invariants(preview.fragment, preview.result.template, transform_kwargs=corpus.transform_kwargs(row))


def _check_calls(outcome: corpus.Outcome) -> None:
    unpinned = [found for found in outcome.after if found.kind == PIN]
    assert not unpinned, "calls still resolve to an unqualified in-template function:\n" + "\n".join(
        f"  {found.state_machine} {found.state}: {found.text}" for found in unpinned
    )
    assert outcome.preview is not None
    left_alone = {(found.state_machine, found.function) for found in outcome.after if found.kind != PINNED}
    left_alone |= set(_reported_as_data(outcome).values())
    remaining = corpus.function_references(outcome.preview.result.template) - left_alone
    assert not remaining, f"definitions still refer to functions, not through a call left alone: {remaining}"
    after = {(found.state_machine, found.state): found for found in outcome.after}
    assert len(after) == len(outcome.after), "two calls at one state path"
    assert {(found.state_machine, found.state) for found in outcome.before} == set(after), (
        "the calls found before and after the macro differ"
    )
    versions_of = _versions_of(outcome)
    for found in outcome.before:
        now = after[(found.state_machine, found.state)]
        if found.kind == PIN:
            assert now.kind == PINNED and now.function == found.function, (
                f"{found.state_machine} {found.state}: {found.text} calls {found.function}, "
                f"but after the macro {now.kind} {now.function} {now.version}"
            )
            assert now.version in versions_of.get(found.function, ()), (
                f"{now.version} is not {found.function}'s"
            )
        else:
            assert now == found, (
                f"{found.state_machine} {found.state}: left alone, yet changed: {found} -> {now}"
            )


def _reported_as_data(outcome: corpus.Outcome) -> dict[tuple[str, str], tuple[str, str]]:
    """(state machine, place) -> (state machine, function) for each function the report says a definition
    passes as data (not as a call's target), when the definition does refer to that function."""
    assert outcome.preview is not None
    references = corpus.function_references(outcome.preview.result.template)
    found = {}
    for item in outcome.preview.result.report.left_alone:
        if item.reason == UNSUPPORTED and "as data" in item.detail:
            function = item.target.removeprefix("${").removesuffix("}").split(".")[0]
            assert (item.state_machine, function) in references, f"reported as data, not referenced: {item}"
            found[(item.state_machine, item.state)] = (item.state_machine, function)
    return found


def _versions_of(outcome: corpus.Outcome) -> dict[str, set[str]]:
    """Function → its AWS::Lambda::Version resources in the output, by ``FunctionName: Ref``/``GetAtt``."""
    assert outcome.preview is not None
    out: dict[str, set[str]] = {}
    for logical_id, resource in outcome.preview.result.template["Resources"].items():
        if resource.get("Type") != "AWS::Lambda::Version":
            continue
        name = resource.get("Properties", {}).get("FunctionName")
        target = name.get("Ref") if isinstance(name, dict) else None
        if isinstance(name, dict) and "Fn::GetAtt" in name:
            attribute = name["Fn::GetAtt"]
            target = attribute[0] if isinstance(attribute, list) else str(attribute).split(".")[0]
        if isinstance(target, str):
            out.setdefault(target, set()).add(logical_id)
    return out


def _check_report(outcome: corpus.Outcome) -> None:
    """What the report says matches the output, call by call (a definition in S3 is compared by its
    substitutions: the macro sees those, the walk may see the file's states)."""
    assert outcome.preview is not None
    report = outcome.preview.result.report
    after = {(found.state_machine, found.state): found for found in outcome.after}
    for call in report.pinned:
        if call.state.startswith(S3_STATE):
            continue
        found = after.get((call.state_machine, call.state))
        assert found is not None and found.kind == PINNED, f"reported pinned, not in the output: {call}"
        assert (found.function, found.version) == (call.function, call.version), call
    data = _reported_as_data(outcome)
    for item in report.left_alone:
        if item.state.startswith(S3_STATE) or (item.state_machine, item.state) in data:
            continue
        found = after.get((item.state_machine, item.state))
        assert found is not None and found.kind == item.reason, f"reported {item.reason}, output has {found}"
    reported = {(call.state_machine, call.state) for call in report.pinned}
    reported |= {(item.state_machine, item.state) for item in report.left_alone}
    resources = outcome.preview.result.template["Resources"]
    for key, found in after.items():
        if "DefinitionS3Location" not in resources[found.state_machine].get("Properties", {}):
            assert key in reported, f"a call the report does not mention: {found}"
    # `check` lists every call that keeps running new code, whether the macro or the file reading found it.
    listed = {(item.state_machine, item.state) for item in report.unpinned}
    listed |= {(finding.state_machine, finding.state) for finding in outcome.preview.file_findings}
    for key, found in after.items():
        if found.kind in UNPINNED_REASONS:
            assert key in listed, f"check would not list {found}"


def _check_lint(outcome: corpus.Outcome) -> None:
    assert outcome.preview is not None
    before = corpus.lint_errors(outcome.preview.fragment)
    after = corpus.lint_errors(outcome.preview.result.template)
    assert sorted(after - before) == [], "cfn-lint errors the macro introduced"


def test_docs_corpus_md_is_what_summarise_prints() -> None:
    """docs/corpus.md matches the macro of this commit (after the tests above: their outcomes are reused).
    Regenerate with ``.venv/bin/python tests/corpus/summarise.py > docs/corpus.md`` and read the diff."""
    if not all((root / "MANIFEST.tsv").is_file() for root in corpus.CORPORA):
        pytest.skip("docs/corpus.md covers both corpora; one is absent")
    import summarise

    printed = io.StringIO()
    with contextlib.redirect_stdout(printed):
        summarise.main()
    documented = (DESIGN.parent / "docs" / "corpus.md").read_text(encoding="utf-8")
    assert printed.getvalue() == documented, (
        "docs/corpus.md is out of date: regenerate it (see the docstring)"
    )
