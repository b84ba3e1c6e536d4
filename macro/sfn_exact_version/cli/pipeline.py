"""The CLI's path from a template file to what the macro returns, as CloudFormation would run it.

Load (YAML or JSON) → package local paths as ``sam package`` would (content-addressed S3 keys) → the SAM
transform offline when the template lists it → the macro's pure core.
"""

from __future__ import annotations

import os
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from sfn_exact_version import MACRO_NAME
from sfn_exact_version.cli.packaging import package_template, read_local_definitions
from sfn_exact_version.cli.sam import is_sam_template, macro_fragment, sam_translate, transform_names
from sfn_exact_version.cli.template_io import load_template
from sfn_exact_version.definitions import find_calls
from sfn_exact_version.index import STATE_MACHINE, TemplateIndex, opted_out
from sfn_exact_version.intrinsics import symbolic
from sfn_exact_version.report import ALIAS, DYNAMIC, LATEST, UNPINNED_REASONS
from sfn_exact_version.targets import FUNCTION_NAME, PIN, PINNED, classify
from sfn_exact_version.transform import TransformResult, transform

DEFAULT_REGION = "us-east-1"
DEFAULT_ACCOUNT = "123456789012"


@dataclass(frozen=True)
class FileFinding:
    """A Lambda call written literally in a local definition file: it would stay unpinned."""

    state_machine: str
    file: str
    state: str
    target: str
    reason: str
    message: str


@dataclass
class Preview:
    """Everything the CLI shows: the macro's input and output, and what it found in local files."""

    source: dict[str, Any]
    fragment: dict[str, Any]
    result: TransformResult
    sam: bool
    notes: list[str] = field(default_factory=list)
    file_findings: list[FileFinding] = field(default_factory=list)

    @property
    def unpinned_count(self) -> int:
        """Calls that would keep running the function's newest code."""
        return len(self.result.report.unpinned) + len(self.file_findings)


def parameter_values(template: Mapping[str, Any], overrides: Mapping[str, str]) -> dict[str, Any]:
    """The stack's parameter values: overrides, else declared defaults (what the event carries)."""
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


def preview(
    path: str | os.PathLike[str],
    *,
    overrides: Mapping[str, str] | None = None,
    region: str = DEFAULT_REGION,
    account_id: str = DEFAULT_ACCOUNT,
    allow_missing: bool = False,
) -> Preview:
    """Run a template file through SAM (if listed) and the macro, offline.

    ``allow_missing``: local paths that do not exist get a placeholder S3 key instead of failing (see
    ``packaging.package_template``); for templates kept without their code.

    Raises ``InputError`` (unreadable file, packaging, SAM) or ``TransformError`` (the macro fails).
    """
    return preview_template(
        load_template(path),
        Path(path).resolve().parent,
        overrides=overrides,
        region=region,
        account_id=account_id,
        allow_missing=allow_missing,
    )


def preview_template(
    source: dict[str, Any],
    base: Path,
    *,
    overrides: Mapping[str, str] | None = None,
    region: str = DEFAULT_REGION,
    account_id: str = DEFAULT_ACCOUNT,
    allow_missing: bool = False,
) -> Preview:
    """:func:`preview` of a template already loaded; local paths are relative to ``base``."""
    values = parameter_values(source, overrides or {})
    local_definitions = read_local_definitions(source, base, allow_missing=True)
    packaged = package_template(source, base, allow_missing=allow_missing).template
    notes: list[str] = []
    sam = is_sam_template(packaged)
    if sam:
        translated = sam_translate(packaged, parameter_values=values, region=region, account_id=account_id)
        remaining = transform_names(translated)
    else:
        translated = packaged
        remaining = transform_names(packaged)
    if MACRO_NAME not in remaining:
        notes.append(
            f"the template's Transform does not list {MACRO_NAME}: "
            "this shows what the macro would do if it did"
        )
    elif remaining[-1] != MACRO_NAME:
        after = remaining[remaining.index(MACRO_NAME) + 1 :]
        notes.append(f"transforms after {MACRO_NAME} ({', '.join(map(str, after))}) are not run here")
    fragment = macro_fragment(translated)
    result = transform(fragment, parameter_values=values, region=region, account_id=account_id)
    findings = _file_findings(fragment, local_definitions, source, region, account_id)
    return Preview(source, fragment, result, sam, notes, findings)


def _file_findings(
    fragment: Mapping[str, Any],
    local_definitions: Mapping[str, dict[str, Any]],
    source: Mapping[str, Any],
    region: str,
    account_id: str,
) -> list[FileFinding]:
    resources = fragment.get("Resources", {})
    index = TemplateIndex.build(resources, fragment.get("Parameters", {}) or {}, region, account_id)
    findings: list[FileFinding] = []
    for logical_id, definition in local_definitions.items():
        resource = resources.get(logical_id)
        if not isinstance(resource, dict) or resource.get("Type") != STATE_MACHINE or opted_out(resource):
            continue
        written = source["Resources"][logical_id].get("Properties", {})
        file = str(written.get("DefinitionUri") or written.get("DefinitionS3Location"))
        substitutions = resource.get("Properties", {}).get("DefinitionSubstitutions")
        substitutions = substitutions if isinstance(substitutions, dict) else {}
        for call in find_calls(definition, _file_value(substitutions)):
            if call.dynamic:
                message = f"{file}: {call.state}: {call.dynamic}"
                findings.append(FileFinding(logical_id, file, call.state, str(call.value), DYNAMIC, message))
                continue
            if call.target is None:
                continue
            keys = _PLACEHOLDER.findall(call.value) if isinstance(call.value, str) else []
            unfilled = [key for key in keys if key not in substitutions]
            if unfilled:
                message = (
                    f"{file}: {call.state} calls {call.value}, but DefinitionSubstitutions has no "
                    f"{unfilled[0]}, so no function of this template is called. Add the substitution "
                    "(the macro pins it when its value is a function of the template)."
                )
                text = str(call.value)
                findings.append(FileFinding(logical_id, file, call.state, text, "unfilled", message))
                continue
            target = classify(call.target, call.context, index)
            if keys and target.kind in (PIN, PINNED, ALIAS, LATEST):
                continue  # through DefinitionSubstitutions, which the macro pins (or reports)
            if target.function is not None and opted_out(index.resources[target.function]):
                continue
            if target.kind != PIN and target.kind not in UNPINNED_REASONS:
                continue  # not a Lambda call, already a version, or qualified
            if target.kind == PIN:
                message = (
                    f"{file}: {call.state} calls {target.text} written literally. At deploy time the "
                    "definition lives in S3 and only DefinitionSubstitutions can be pinned, so this call "
                    f'would stay unpinned. Write "${{{target.function}Arn}}" there and add '
                    f"DefinitionSubstitutions: {{{target.function}Arn: !GetAtt {target.function}.Arn}}."
                )
                reason = "literal-in-file"
            else:
                message = f"{file}: {call.state} calls {target.text}: {target.detail}"
                reason = target.kind
            findings.append(FileFinding(logical_id, file, call.state, target.text, reason, message))
        findings.extend(_embedded_substitutions(logical_id, file, definition, substitutions, index))
    return findings


def _embedded_substitutions(
    logical_id: str,
    file: str,
    definition: Any,
    substitutions: Mapping[str, Any],
    index: TemplateIndex,
) -> list[FileFinding]:
    """Substitutions the macro pins (their value becomes a version ARN) but that the file uses inside a
    longer string, such as an ARN built around a function name: the result would be malformed."""
    pinned = {
        key
        for key, value in substitutions.items()
        if classify(symbolic(value), FUNCTION_NAME, index).kind == PIN
    }
    findings = []
    for text in sorted(_strings(definition)):
        for key in _PLACEHOLDER.findall(text):
            if key in pinned and text != "${" + key + "}":
                message = (
                    f"{file}: {text!r} uses ${{{key}}} inside a longer string. The macro replaces "
                    f"{key} with the pinned version's ARN, so this string would become malformed. Use "
                    f'"${{{key}}}" alone as the whole value (a function ARN), or opt out with Metadata.'
                )
                findings.append(FileFinding(logical_id, file, "*", text, "embedded-substitution", message))
    return findings


def _strings(value: Any) -> set[str]:
    if isinstance(value, str):
        return {value}
    items = value.values() if isinstance(value, dict) else value if isinstance(value, list) else []
    found: set[str] = set()
    for item in items:
        found |= _strings(item)
    return found


_PLACEHOLDER = re.compile(r"\$\{([^}]*)\}")


def _file_value(substitutions: Mapping[str, Any]) -> Callable[[Any], Any]:
    """Read a value of a local definition file as Step Functions will: each ``${key}`` replaced by its
    ``DefinitionSubstitutions`` value (other placeholders become atoms, and are reported as unfilled)."""

    def read(value: Any) -> Any:
        if isinstance(value, str) and "${" in value:
            return symbolic({"Fn::Sub": [value, dict(substitutions)]})
        return symbolic(value)

    return read
