"""Run the templates of the shared corpus (``../shared/corpus``) through the CLI's path, and check the
result independently of the macro's own report. Used by ``test_corpus.py`` and ``summarise.py``.

The path is the CLI's (``pipeline.preview_template``): load → package local paths (with
``allow_missing``: the corpus keeps templates and definition files, not function code) → SAM offline
when the template lists it → the macro. SAM's own translator test inputs declare no ``Transform``; it is
added, as CloudFormation needs it too.

The independent check walks every state machine definition of a template with
``definitions.read_definition`` and ``targets.classify`` (and, for a definition kept in a local file,
that file with the template's ``DefinitionSubstitutions`` applied), so that what a call *resolves to*
is read from the template itself, not from the report.
"""

from __future__ import annotations

import functools
import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from invariants import cfn_lint_errors
from sfn_exact_version.definitions import S3_STATE, S3Definition, read_definition
from sfn_exact_version.errors import TransformError
from sfn_exact_version.index import FUNCTION, STATE_MACHINE, TemplateIndex, opted_out
from sfn_exact_version.intrinsics import references
from sfn_exact_version.offline.errors import InputError
from sfn_exact_version.offline.packaging import package_template, read_local_definitions
from sfn_exact_version.offline.pipeline import Preview, parameter_values, preview_template
from sfn_exact_version.offline.sam import SAM_TRANSFORM, macro_fragment, sam_translate
from sfn_exact_version.offline.template_io import load_template
from sfn_exact_version.report import ALIAS, DYNAMIC, LATEST, OPTED_OUT, QUALIFIED
from sfn_exact_version.targets import FUNCTION_NAME, NOT_LAMBDA, PIN, PINNED, classify
from sfn_exact_version.transform import transform
from support import CORPUS, CORPUS2, corpus_rows

CORPORA = (CORPUS, CORPUS2)
REGION = "us-east-1"
ACCOUNT = "123456789012"
TRANSFORM_KWARGS: dict[str, Any] = {"region": REGION, "account_id": ACCOUNT}


@dataclass(frozen=True)
class Row:
    """One line of ``MANIFEST.tsv``."""

    path: str
    kind: str  # "sam" or "cfn"
    features: tuple[str, ...]
    root: Path = CORPUS  # the corpus the template belongs to

    @property
    def file(self) -> Path:
        """The template's file."""
        return self.root / self.path

    @property
    def name(self) -> str:
        """``path``, prefixed ``corpus2:`` for the generated corpus (test IDs, tables)."""
        return self.path if self.root == CORPUS else f"{self.root.name}:{self.path}"


def manifest(root: Path = CORPUS) -> list[Row]:
    """A corpus's templates, in manifest order; empty when the corpus is absent."""
    return [
        Row(row["path"], row["kind"], tuple(filter(None, row["features"].split(","))), root)
        for row in corpus_rows(root)
    ]


def load_source(row: Row) -> dict[str, Any]:
    """The template as written; SAM's translator inputs get the ``Transform`` they leave out."""
    source = load_template(row.file)
    if row.kind == "sam" and "Transform" not in source:
        source = {"Transform": SAM_TRANSFORM, **source}
    return source


def run(row: Row) -> Preview:
    """The CLI's path for one template. Raises ``InputError`` or ``TransformError``."""
    path = row.file
    return preview_template(load_source(row), path.parent, allow_missing=True, **TRANSFORM_KWARGS)


def _run_skipping(row: Row) -> Preview:
    source = load_source(row)
    path = row.file
    packaged = package_template(source, path.parent, allow_missing=True).template
    values = parameter_values(source, {})
    translated = sam_translate(
        packaged, parameter_values=values, skip_preceding_transforms=True, **TRANSFORM_KWARGS
    )
    fragment = macro_fragment(translated)
    return Preview(source, fragment, transform(fragment, parameter_values=values, **TRANSFORM_KWARGS), True)


def transform_kwargs(row: Row) -> dict[str, Any]:
    """The keyword arguments the CLI gave ``transform`` for this template (no parameter overrides)."""
    return {"parameter_values": parameter_values(load_source(row), {}), **TRANSFORM_KWARGS}


@dataclass(frozen=True)
class Found:
    """One Lambda call candidate of a template, classified by reading the template itself."""

    state_machine: str
    state: str  # state path; for an unseen S3 definition "(DefinitionS3Location) ${key}"
    kind: str  # PIN (unpinned in-template function), PINNED, or a report reason
    function: str | None
    version: str | None
    text: str


def walk(template: Mapping[str, Any], local_definitions: Mapping[str, Any]) -> list[Found]:
    """Every Lambda call of every state machine of ``template`` (CloudFormation, no SAM resources).

    A definition in ``DefinitionS3Location`` is read from ``local_definitions`` (by logical ID) when
    there, with the resource's ``DefinitionSubstitutions`` applied; otherwise each substitution is taken
    as a call, which is all the macro can see.
    """
    resources = template.get("Resources", {})
    index = TemplateIndex.build(resources, template.get("Parameters", {}) or {}, REGION, ACCOUNT)
    found: list[Found] = []
    for logical_id, resource in resources.items():
        if resource.get("Type") != STATE_MACHINE:
            continue
        properties = resource.get("Properties", {})
        definition = read_definition(logical_id, properties)
        skip = opted_out(resource)
        if definition.form == "DefinitionS3Location" and logical_id in local_definitions:
            substitutions = properties.get("DefinitionSubstitutions")
            from_file = {"Definition": local_definitions[logical_id]}
            if substitutions is not None:
                from_file["DefinitionSubstitutions"] = substitutions
            definition = read_definition(logical_id, from_file)
        if isinstance(definition, S3Definition):
            for key, value in definition.substitution_values():
                target = classify(value, FUNCTION_NAME, index)
                if target.kind not in (PIN, PINNED, ALIAS, LATEST):
                    continue  # table names, ARNs of other services...: without the file, not a call
                kind = _kind(target.kind, target.function, skip, "", index)
                found.append(
                    Found(
                        logical_id,
                        f"{S3_STATE} ${{{key}}}",
                        kind,
                        target.function,
                        target.version,
                        target.text,
                    )
                )
            continue
        for call in definition.calls():
            if call.dynamic:
                found.append(
                    Found(logical_id, call.state, OPTED_OUT if skip else DYNAMIC, None, None, str(call.value))
                )
                continue
            target = classify(call.target, call.context, index)
            if target.kind == NOT_LAMBDA:
                continue
            kind = _kind(target.kind, target.function, skip, call.qualified, index)
            found.append(Found(logical_id, call.state, kind, target.function, target.version, target.text))
    return found


def _kind(kind: str, function: str | None, skip: bool, qualified: str, index: TemplateIndex) -> str:
    if skip:
        return OPTED_OUT
    if qualified and kind in (PIN, PINNED):
        return QUALIFIED
    if kind == PIN and function is not None and opted_out(index.resources[function]):
        return OPTED_OUT
    return kind


def function_references(template: Mapping[str, Any]) -> set[tuple[str, str]]:
    """``(state machine, function)`` for every ``Ref``/``GetAtt``/``${...}`` of an in-template function
    in a state machine's definition properties, wherever it sits: a second look at what remains
    unpinned that does not depend on recognising states and calls."""
    resources = template.get("Resources", {})
    found: set[tuple[str, str]] = set()
    for logical_id, resource in resources.items():
        if resource.get("Type") != STATE_MACHINE:
            continue
        properties = resource.get("Properties", {})
        for key in ("Definition", "DefinitionString", "DefinitionSubstitutions"):
            for name in references(properties.get(key)):
                if resources.get(name, {}).get("Type") == FUNCTION:
                    found.add((logical_id, name))
    return found


def local_definitions(row: Row) -> dict[str, Any]:
    """The template's state machine definitions kept in local files, by logical ID."""
    return read_local_definitions(load_source(row), row.file.parent, allow_missing=True)


# ------------------------------------------------------------------------------------------- cfn-lint
@functools.cache
def _lint(text: str) -> frozenset[tuple[str, str]]:
    return frozenset(_rule_and_path(error) for error in cfn_lint_errors(json.loads(text)))


def lint_errors(template: Mapping[str, Any]) -> frozenset[tuple[str, str]]:
    """``invariants.cfn_lint_errors`` as ``(rule id, path)``; each distinct template is linted once."""
    return _lint(json.dumps(template, sort_keys=True))


def _rule_and_path(error: str) -> tuple[str, str]:
    """``"E3012 Resources/X/Properties/Y: message"`` → ``("E3012", "Resources/X/Properties/Y")``."""
    rule, _, rest = error.partition(" ")
    return rule, rest.split(": ", 1)[0]


# ------------------------------------------------------------------------------------------- outcome
@dataclass
class Outcome:
    """What happened to one template: the preview, or the error; and the calls before and after."""

    row: Row
    preview: Preview | None = None
    error: str = ""
    before: list[Found] = field(default_factory=list)  # the macro's input, read independently
    after: list[Found] = field(default_factory=list)  # its output


@functools.cache
def outcome(row: Row, *, skip_preceding_transforms: bool = False) -> Outcome:
    """Run one template and walk its definitions before and after the macro (once per process: the
    tests and the check that docs/corpus.md is current read the same outcomes; nothing mutates them).

    ``skip_preceding_transforms``: run SAM as if the transforms listed before it (``AWS::LanguageExtensions``)
    were not declared, which the CLI refuses to do (see ``sam.sam_translate``).
    """
    try:
        preview = _run_skipping(row) if skip_preceding_transforms else run(row)
    except (InputError, TransformError) as error:
        return Outcome(row, error=error.message)
    files = local_definitions(row)
    return Outcome(
        row, preview, before=walk(preview.fragment, files), after=walk(preview.result.template, files)
    )
