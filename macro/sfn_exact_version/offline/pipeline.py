"""From a template file to what the macro returns, as CloudFormation would run it, offline.

Read (YAML or JSON) → package local paths as ``sam package`` would (content-addressed S3 keys, or
placeholders for a linter) → the SAM transform when the template lists it → the macro's pure core →
the findings of local definition files. One pipeline for the CLI, the cfn-lint rules, the simulation and
the benchmarks.
"""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from sfn_exact_version import MACRO_NAME, SAM_TRANSFORM
from sfn_exact_version.index import STATE_MACHINE
from sfn_exact_version.offline.definition_files import FileFinding, file_findings
from sfn_exact_version.offline.errors import InputError, PackagingError
from sfn_exact_version.offline.packaging import Artifact, package_template, read_local_definitions
from sfn_exact_version.offline.sam import macro_fragment, sam_translate, transform_names
from sfn_exact_version.offline.template_io import load_template
from sfn_exact_version.transform import TransformResult, transform, unread_definitions

DEFAULT_REGION = "us-east-1"
DEFAULT_ACCOUNT = "123456789012"


class ParameterError(InputError):
    """Parameter values name parameters the template does not declare (CloudFormation refuses them)."""


@dataclass
class Preview:
    """Everything a preview shows: the macro's input and output, and what it found in local files.

    ``problems`` say why a deploy would not pin what ``result`` shows (the macro is not listed in
    ``Transform``, or listed before SAM); ``notes`` are informational (missing code given a placeholder,
    transforms after the macro not run).
    """

    source: dict[str, Any]
    fragment: dict[str, Any]
    result: TransformResult
    sam: bool
    notes: list[str] = field(default_factory=list)
    file_findings: list[FileFinding] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)
    # the stack the preview assumed (the macro's AWS::Region and AWS::AccountId)
    region: str = DEFAULT_REGION
    account_id: str = DEFAULT_ACCOUNT
    # state machines whose definition is in S3 with no substitution naming a function, and not a local
    # file this preview read: nobody looked at their calls
    unread: list[str] = field(default_factory=list)
    # nested stacks whose template is a local file: deployed with this one, previewed on their own
    children: list[NestedTemplate] = field(default_factory=list)

    @property
    def unpinned_count(self) -> int:
        """Calls that would keep running the function's newest code (or break, for file findings)."""
        return len(self.result.report.unpinned) + len(self.file_findings)


def macro_placement_problem(names: Sequence[Any], macro_name: str = MACRO_NAME) -> str | None:
    """Why the macro would not run as intended with this ``Transform`` list, or ``None``.

    >>> print(macro_placement_problem(["SfnExactVersion"], "Pin"))
    Transform does not list Pin, so a deploy pins nothing. Add it: Transform: Pin
    >>> macro_placement_problem(["AWS::Serverless-2016-10-31", "SfnExactVersion"]) is None
    True
    """
    sam = SAM_TRANSFORM in names
    fix = f"Transform: [{SAM_TRANSFORM}, {macro_name}]" if sam else f"Transform: {macro_name}"
    if macro_name not in names:
        where = " after SAM" if sam else ""
        return f"Transform does not list {macro_name}, so a deploy pins nothing. Add it{where}: {fix}"
    if sam and names.index(macro_name) < names.index(SAM_TRANSFORM):
        return (
            f"Transform lists {macro_name} before {SAM_TRANSFORM}: CloudFormation runs it first, on "
            f"AWS::Serverless::* resources, and the deploy fails. List it after SAM: {fix}"
        )
    return None


def parameter_values(template: Mapping[str, Any], overrides: Mapping[str, str]) -> dict[str, Any]:
    """The stack's parameter values: overrides, else declared defaults (what the event carries).

    >>> parameter_values({"Parameters": {"A": {"Default": "1"}, "B": {}}}, {"B": "2"})
    {'A': '1', 'B': '2'}
    """
    values: dict[str, Any] = {}
    declared = template.get("Parameters")
    if isinstance(declared, dict):
        for name, declaration in declared.items():
            if name in overrides:
                values[name] = overrides[name]
            elif isinstance(declaration, dict) and "Default" in declaration:
                values[name] = declaration["Default"]
    for name, value in overrides.items():
        values.setdefault(name, value)
    return values


def unknown_parameters(template: Mapping[str, Any], overrides: Mapping[str, str]) -> list[str]:
    """The override keys the template does not declare as parameters.

    >>> unknown_parameters({"Parameters": {"Stage": {}}}, {"Stage": "prod", "Stgae": "x"})
    ['Stgae']
    """
    declared = template.get("Parameters")
    names = declared if isinstance(declared, dict) else {}
    return [key for key in overrides if key not in names]


def preview(
    path: str | os.PathLike[str],
    *,
    overrides: Mapping[str, str] | None = None,
    region: str = DEFAULT_REGION,
    account_id: str = DEFAULT_ACCOUNT,
    macro_name: str = MACRO_NAME,
    defaults: Mapping[str, str] | None = None,
) -> Preview:
    """Run a template file through SAM (if listed) and the macro, offline.

    ``overrides`` must name parameters the template declares (CloudFormation refuses others);
    ``defaults`` are values for the declared parameters the overrides leave out, such as a deployed
    stack's current values (keys the template no longer declares are ignored).

    Raises ``InputError`` (unreadable file, unknown parameters, packaging, SAM) or ``TransformError``
    (the macro fails).
    """
    source = load_template(path)
    unknown = unknown_parameters(source, overrides or {})
    if unknown:
        declared = source.get("Parameters")
        names = ", ".join(declared) if isinstance(declared, dict) and declared else "none"
        raise ParameterError(
            f"{os.fspath(path)} declares no parameter {', '.join(unknown)} (its parameters: {names})"
        )
    kept = {
        key: value for key, value in (defaults or {}).items() if not unknown_parameters(source, {key: value})
    }
    return preview_template(
        source,
        Path(path).resolve().parent,
        overrides={**kept, **(overrides or {})},
        region=region,
        account_id=account_id,
        macro_name=macro_name,
    )


@dataclass
class MacroInput:
    """What CloudFormation would hand the macro (``fragment``, ``parameter_values``), and what the
    pipeline learnt on the way there (see :class:`Preview` for ``notes`` and ``problems``)."""

    source: dict[str, Any]
    fragment: dict[str, Any]
    parameter_values: dict[str, Any]
    sam: bool
    region: str
    account_id: str
    local_definitions: dict[str, dict[str, Any]]
    notes: list[str] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)
    children: list[NestedTemplate] = field(default_factory=list)

    def file_findings(self) -> list[FileFinding]:
        """The findings of the local definition files (see ``definition_files``)."""
        return file_findings(self.fragment, self.local_definitions, self.source, self.region, self.account_id)


def preview_template(
    source: dict[str, Any],
    base: Path,
    *,
    overrides: Mapping[str, str] | None = None,
    region: str = DEFAULT_REGION,
    account_id: str = DEFAULT_ACCOUNT,
    macro_name: str = MACRO_NAME,
    allow_missing: bool = False,
) -> Preview:
    """:func:`preview` of a template already loaded; local paths are relative to ``base``.

    Raises ``InputError`` or ``TransformError`` as :func:`preview` does (see :func:`macro_input`).
    """
    received = macro_input(
        source,
        base,
        overrides=overrides,
        region=region,
        account_id=account_id,
        macro_name=macro_name,
        allow_missing=allow_missing,
    )
    result = transform(
        received.fragment, parameter_values=received.parameter_values, region=region, account_id=account_id
    )
    return Preview(
        source,
        received.fragment,
        result,
        received.sam,
        received.notes,
        received.file_findings(),
        received.problems,
        region,
        account_id,
        [
            name
            for name in unread_definitions(received.fragment["Resources"], result.report)
            if name not in received.local_definitions
        ],
        received.children,
    )


def macro_input(
    source: dict[str, Any],
    base: Path,
    *,
    overrides: Mapping[str, str] | None = None,
    region: str = DEFAULT_REGION,
    account_id: str = DEFAULT_ACCOUNT,
    macro_name: str = MACRO_NAME,
    placeholders: bool = False,
    allow_missing: bool = False,
) -> MacroInput:
    """Read local definition files, package local paths, run SAM: what the macro would receive.

    Code paths (``CodeUri``...) that do not exist yet get a placeholder location and a note; other
    missing paths are errors, unless ``allow_missing`` (a corpus kept without its files). With
    ``placeholders`` (a linter) no artifact is read or hashed and transforms listed before SAM are left
    out; local definition files are still read; parameters without a value get one for SAM (which
    refuses, say, an ``AutoPublishAlias`` it cannot resolve), and none for the macro. A macro listed
    before SAM is a problem, and the result shows what it receives once listed after SAM.

    Raises ``InputError`` (packaging, SAM).
    """
    values = parameter_values(source, overrides or {})
    local_definitions = read_local_definitions(source, base, allow_missing=True)
    packaged = package_template(source, base, allow_missing=True, placeholders=placeholders)
    notes: list[str] = []
    missing = [artifact for artifact in packaged.artifacts if artifact.missing]
    not_code = [artifact for artifact in missing if not artifact.is_code and not allow_missing]
    if not_code:
        raise PackagingError(
            [
                f"{artifact.location}: local path {artifact.path!r} does not exist (looked for "
                f"{str(base / artifact.path)!r})"
                for artifact in not_code
            ]
        )
    for artifact in missing:
        notes.append(
            f"{artifact.location}: {artifact.path!r} does not exist yet, previewed with a placeholder, so "
            "version identities here ignore its content (build first, or preview the template that "
            "sam build writes: .aws-sam/build/template.yaml)"
        )
    children = [
        NestedTemplate(child.location, base / child.path, _literal_parameters(source, child.location))
        for child in nested_templates(packaged.artifacts)
    ]
    template = packaged.template
    names = transform_names(template)
    problem = macro_placement_problem(names, macro_name)
    problems = [problem] if problem else []
    sam = SAM_TRANSFORM in names
    if sam and macro_name in names and names.index(macro_name) < names.index(SAM_TRANSFORM):
        template = {**template, "Transform": [name for name in names if name != macro_name] + [macro_name]}
    if sam:
        template = sam_translate(
            template,
            parameter_values={**_placeholder_values(source), **values} if placeholders else values,
            region=region,
            account_id=account_id,
            skip_preceding_transforms=placeholders,
        )
    remaining = transform_names(template)
    if macro_name in remaining and remaining[-1] != macro_name:
        after = remaining[remaining.index(macro_name) + 1 :]
        notes.append(f"transforms after {macro_name} ({', '.join(map(str, after))}) are not run here")
    fragment = macro_fragment(template)
    if macro_name not in names and not _has_state_machines(fragment):
        problems = []  # nothing to pin: the template needs no macro
    return MacroInput(
        source, fragment, values, sam, region, account_id, local_definitions, notes, problems, children
    )


@dataclass(frozen=True)
class NestedTemplate:
    """A nested stack whose template is a local file, deployed with the template that names it."""

    location: str  # Resources/Child/Properties/Location (or TemplateURL)
    path: Path  # the child template file
    parameters: dict[str, str]  # the literal parameter values the parent passes (intrinsics left out)


def _literal_parameters(source: Mapping[str, Any], location: str) -> dict[str, str]:
    resource = source["Resources"][location.split("/")[1]]
    given = resource.get("Properties", {}).get("Parameters")
    if not isinstance(given, dict):
        return {}
    return {
        str(name): str(value).lower() if isinstance(value, bool) else str(value)
        for name, value in given.items()
        if isinstance(value, str | int | float | bool)
    }


def nested_templates(artifacts: Sequence[Artifact]) -> list[Artifact]:
    """The local templates of nested stacks (``AWS::Serverless::Application`` ``Location``,
    ``AWS::CloudFormation::Stack`` ``TemplateURL``) among the packaged paths."""
    return [
        artifact
        for artifact in artifacts
        if not artifact.missing and artifact.location.rsplit("/", 1)[-1] in ("Location", "TemplateURL")
    ]


def _has_state_machines(fragment: Mapping[str, Any]) -> bool:
    resources = fragment.get("Resources")
    return isinstance(resources, dict) and any(
        isinstance(resource, dict) and resource.get("Type") == STATE_MACHINE
        for resource in resources.values()
    )


def _placeholder_values(template: Mapping[str, Any]) -> dict[str, str]:
    """A value for every declared parameter: its name (``1`` for numbers), for a linter's SAM run.

    >>> _placeholder_values({"Parameters": {"Alias": {"Type": "String"}, "Size": {"Type": "Number"}}})
    {'Alias': 'Alias', 'Size': '1'}
    """
    declared = template.get("Parameters")
    if not isinstance(declared, dict):
        return {}
    values: dict[str, str] = {}
    for name, declaration in declared.items():
        kind = declaration.get("Type") if isinstance(declaration, dict) else None
        values[str(name)] = "1" if isinstance(kind, str) and "Number" in kind else str(name)
    return values
