"""Lambda calls written in local definition files (``DefinitionUri``, ``DefinitionS3Location``).

At deploy time such a definition lives in S3: the macro sees only ``DefinitionSubstitutions`` and can pin
nothing written in the file itself. Reading the file offline finds the calls that would stay unpinned
(a function's ARN written literally, a ``${placeholder}`` no substitution fills, a call chosen at run time)
and the pinned substitutions the file uses inside a longer string (which would become a malformed ARN).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from sfn_exact_version.definitions import find_calls
from sfn_exact_version.index import STATE_MACHINE, TemplateIndex, opted_out
from sfn_exact_version.intrinsics import symbolic
from sfn_exact_version.report import ALIAS, DYNAMIC, LATEST, UNPINNED_REASONS
from sfn_exact_version.targets import FUNCTION_NAME, PIN, PINNED, Target, classify

# Reasons of a FileFinding besides the report's (UNPINNED_REASONS).
LITERAL_IN_FILE = "literal-in-file"
UNFILLED = "unfilled"
EMBEDDED_SUBSTITUTION = "embedded-substitution"


@dataclass(frozen=True)
class FileFinding:
    """A problem of a Lambda call written in a local definition file.

    ``reason`` is ``literal-in-file``, ``unfilled``, ``embedded-substitution`` (the call would break:
    a malformed ARN) or one of the report's unpinned reasons; ``message`` says what and how to fix it.
    """

    state_machine: str
    file: str
    state: str
    target: str
    reason: str
    message: str

    @property
    def breaks(self) -> bool:
        """Whether the macro would make the call fail (rather than leave it unpinned)."""
        return self.reason == EMBEDDED_SUBSTITUTION

    def to_dict(self) -> dict[str, Any]:
        return {
            "StateMachine": self.state_machine,
            "File": self.file,
            "State": self.state,
            "Target": self.target,
            "Reason": self.reason,
            "Detail": self.message,
        }


def file_findings(
    fragment: Mapping[str, Any],
    local_definitions: Mapping[str, dict[str, Any]],
    source: Mapping[str, Any],
    region: str,
    account_id: str,
) -> list[FileFinding]:
    """The findings of every local definition file.

    ``fragment`` is what the macro receives (SAM applied), ``local_definitions`` the parsed files by the
    state machine's logical ID, ``source`` the template as written (for the file names).
    """
    resources = fragment.get("Resources", {})
    parameters = fragment.get("Parameters", {}) or {}
    index = TemplateIndex.build(resources, parameters, region, account_id)
    findings: list[FileFinding] = []
    for logical_id, definition in local_definitions.items():
        resource = resources.get(logical_id)
        if not isinstance(resource, dict) or resource.get("Type") != STATE_MACHINE or opted_out(resource):
            continue
        written = source["Resources"][logical_id].get("Properties", {})
        file = str(written.get("DefinitionUri") or written.get("DefinitionS3Location"))
        substitutions = resource.get("Properties", {}).get("DefinitionSubstitutions")
        substitutions = substitutions if isinstance(substitutions, dict) else {}
        findings.extend(_calls(logical_id, file, definition, substitutions, index))
        findings.extend(_embedded_substitutions(logical_id, file, definition, substitutions, index))
    return findings


def _calls(
    logical_id: str,
    file: str,
    definition: Any,
    substitutions: Mapping[str, Any],
    index: TemplateIndex,
) -> list[FileFinding]:
    findings: list[FileFinding] = []
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
            findings.append(FileFinding(logical_id, file, call.state, str(call.value), UNFILLED, message))
            continue
        target = classify(call.target, call.context, index)
        sides = _sides(substitutions[keys[0]]) if keys and call.value == "${" + keys[0] + "}" else []
        if len(sides) > 1:
            # A whole-value placeholder whose substitution is an Fn::If: the macro reads each side of the
            # substitution (and pins or reports it), as it does any other; only a side it passes over
            # silently is a finding here.
            unseen = [
                t for t in (classify(symbolic(side), call.context, index) for side in sides) if not _seen(t)
            ]
            if not unseen:
                continue
            target = unseen[0]
        if keys and _seen(target):
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
            reason = LITERAL_IN_FILE
        else:
            message = f"{file}: {call.state} calls {target.text}: {target.detail}"
            reason = target.kind
        findings.append(FileFinding(logical_id, file, call.state, target.text, reason, message))
    return findings


def _seen(target: Target) -> bool:
    """Whether the macro pins or reports a substitution with this target."""
    return target.kind in (PIN, PINNED, ALIAS, LATEST)


def _sides(value: Any) -> list[Any]:
    """The values an ``Fn::If`` (nested ones too) may take, ``AWS::NoValue`` left out; else ``[value]``.

    >>> _sides({"Fn::If": ["C", "a", {"Fn::If": ["D", "b", {"Ref": "AWS::NoValue"}]}]})
    ['a', 'b']
    """
    if isinstance(value, dict) and len(value) == 1 and "Fn::If" in value:
        branches = value["Fn::If"]
        if isinstance(branches, list) and len(branches) == 3:
            return [side for branch in branches[1:] for side in _sides(branch)]
    if value == {"Ref": "AWS::NoValue"}:
        return []
    return [value]


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
                findings.append(FileFinding(logical_id, file, "*", text, EMBEDDED_SUBSTITUTION, message))
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
