"""What the cfn-lint rules report for one template: the offline pipeline run on what cfn-lint loaded.

cfn-lint up to 1.53 applies the SAM transform before any rule runs, so ``cfn.template`` is plain
CloudFormation. From 1.54 on, cfn-lint validates SAM templates as written (``AWS::Serverless::*``
resources, ``Globals`` merged into them); then the offline pipeline (``sfn_exact_version.offline``) runs
SAM, with local artifact paths given placeholder locations (nothing is hashed: a linter runs on every
save). Either way the core sees what CloudFormation hands the macro. Local definition files
(``DefinitionUri``) are read, as the CLI reads them.

Paths point at the state machine's definition property. In a SAM template read as written, the
property the SAM transform produced is mapped back to the one the user wrote (``DefinitionString`` to
``Definition``, ``DefinitionS3Location`` to ``DefinitionUri``); a path cfn-lint cannot find in its
template falls back to the resource.

This module is private (cfn-lint's directory loader skips files starting with ``_``) and its import
path is absolute, so the rules load the same way from a module path and from a directory.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sfn_exact_version import MACRO_NAME, SAM_TRANSFORM
from sfn_exact_version import report as reasons
from sfn_exact_version.errors import TransformError
from sfn_exact_version.index import STATE_MACHINE, VERSION
from sfn_exact_version.intrinsics import references
from sfn_exact_version.offline.errors import InputError, SamTranslateError
from sfn_exact_version.offline.pipeline import macro_input, macro_placement_problem
from sfn_exact_version.offline.template_io import to_plain
from sfn_exact_version.transform import transform

SERVERLESS_PREFIX = "AWS::Serverless::"
SAM_STATE_MACHINE = "AWS::Serverless::StateMachine"

NOT_PINNED = "W9100"
RUNS_NEWEST_CODE = "W9101"
MACRO_WOULD_FAIL = "E9102"
NOT_CHECKED = "W9103"

# The core's detail explains every reason and, except for a dynamic call, also says what to do.
_DYNAMIC_FIX = (
    "to pin it, make the state input carry version ARNs (Ref of an AWS::Lambda::Version), or name the "
    "function in the definition so that the macro pins it"
)

_RESOURCE_IN_MESSAGE = re.compile(r"Resources/([A-Za-z0-9]+)")

# A SAM state machine's property that the SAM transform turns into each StepFunctions property.
_SAM_PROPERTY = {
    "DefinitionString": "Definition",
    "DefinitionS3Location": "DefinitionUri",
    "DefinitionSubstitutions": "DefinitionSubstitutions",
}
_FILE_PROPERTIES = ("DefinitionUri", "DefinitionS3Location")


@dataclass(frozen=True)
class Finding:
    """One problem for one rule: where (a cfn-lint path, or an explicit location) and what."""

    rule: str
    path: tuple[str | int, ...]
    message: str
    # (line, column, end line, end column), 0-based: used when the path alone cannot be located
    location: tuple[int, int, int, int] | None = None


def _transforms(cfn: Any) -> list[Any]:
    """The template-level transforms as written (before cfn-lint processed any)."""
    declared = getattr(cfn, "transform_pre", {}).get("Transform")
    if declared is None:
        declared = cfn.template.get("Transform", [])
    return list(declared) if isinstance(declared, list) else [declared]


def _macro_entry_location(transforms: Sequence[Any], macro_name: str) -> tuple[int, int, int, int] | None:
    """Where the macro is written in ``Transform``, from the decoded YAML/JSON node."""
    for name in transforms:
        start, end = getattr(name, "start_mark", None), getattr(name, "end_mark", None)
        if name == macro_name and start is not None and end is not None:
            return (start.line, start.column, end.line, end.column)
    return None


def _source_path(location: str, state_machine: str, source: Mapping[str, Any]) -> tuple[str | int, ...]:
    """The cfn-lint path of a core ``location`` (``Resources/Sm/Properties/DefinitionString``), in the
    template cfn-lint holds; the state machine itself when that template has no such property."""
    resource = source.get(state_machine)
    fallback: tuple[str | int, ...] = ("Resources", state_machine)
    parts = location.split("/")
    if len(parts) != 4 or parts[:3] != ["Resources", state_machine, "Properties"]:
        return fallback
    if not isinstance(resource, dict) or not isinstance(resource.get("Properties"), dict):
        return fallback
    key = parts[3]
    if resource.get("Type") == SAM_STATE_MACHINE:
        key = _SAM_PROPERTY.get(key, key)
    if key in resource["Properties"]:
        return ("Resources", state_machine, "Properties", key)
    return fallback


def _file_path(state_machine: str, source: Mapping[str, Any]) -> tuple[str | int, ...]:
    properties = source.get(state_machine, {}).get("Properties", {})
    for key in _FILE_PROPERTIES:
        if isinstance(properties, dict) and key in properties:
            return ("Resources", state_machine, "Properties", key)
    return ("Resources", state_machine)


def _problems(error: TransformError) -> list[tuple[str, str | None, str]]:
    """Each problem of a core error as (message, resource, path), the last two when the error names them
    (``TransformError.problems``: records with ``message``, ``resource`` and ``path``)."""
    problems = getattr(error, "problems", None)
    if not problems:
        return [(error.message, None, "")]
    out: list[tuple[str, str | None, str]] = []
    for problem in problems:
        message = getattr(problem, "message", None) or str(problem)
        resource = getattr(problem, "resource", None)
        path = getattr(problem, "path", "")
        out.append(
            (
                str(message),
                resource if isinstance(resource, str) else None,
                path if isinstance(path, str) else "",
            )
        )
    return out


def _problem_path(
    message: str, resource: str | None, location: str, source: Mapping[str, Any], fallback: tuple[str, ...]
) -> tuple[str | int, ...]:
    """Where a problem points in cfn-lint's template: the property its path names, else the resource it
    (or its message, first) names, else ``fallback``."""
    if resource is None:
        found = _RESOURCE_IN_MESSAGE.search(message)
        resource = found.group(1) if found else None
    if resource is not None and resource in source:
        return _source_path(location, resource, source) if location else ("Resources", resource)
    return fallback


def _cfn_template(cfn: Any, names: list[str]) -> dict[str, Any]:
    """The template as the pipeline reads it: plain data, ``Transform`` as written, or without SAM when
    cfn-lint already applied it."""
    template: dict[str, Any] = to_plain(cfn.template)
    untranslated = any(
        isinstance(resource, dict) and str(resource.get("Type", "")).startswith(SERVERLESS_PREFIX)
        for resource in template["Resources"].values()
    )
    listed = [name for name in names if untranslated or name != SAM_TRANSFORM]
    template["Transform"] = listed
    return template


def _without_unnamed_versions(fragment: dict[str, Any]) -> dict[str, Any]:
    """The fragment without the versions no state machine names, of functions that have several.

    Without the macro the question is only which calls are pinned; a version no state machine names
    plays no part in it, and the core would refuse to choose among several (which matters only when the
    macro runs).
    """
    resources = fragment["Resources"]
    named: set[str] = set()
    for resource in resources.values():
        if isinstance(resource, dict) and resource.get("Type") == STATE_MACHINE:
            named.update(references(resource.get("Properties")))
    by_function: dict[str, list[str]] = {}
    for logical_id, resource in resources.items():
        if isinstance(resource, dict) and resource.get("Type") == VERSION:
            properties = resource.get("Properties")
            function = properties.get("FunctionName") if isinstance(properties, dict) else None
            by_function.setdefault(repr(function), []).append(logical_id)
    dropped = {
        version
        for versions in by_function.values()
        if len(versions) > 1
        for version in versions
        if version not in named
    }
    if not dropped:
        return fragment
    kept = {key: value for key, value in resources.items() if key not in dropped}
    return {**fragment, "Resources": kept}


def findings(cfn: Any, macro_name: str = MACRO_NAME) -> list[Finding]:
    """Everything the rules report for the template cfn-lint loaded."""
    template = cfn.template
    if not isinstance(template, dict) or not isinstance(template.get("Resources"), dict):
        return []  # cfn-lint reports a template without Resources itself
    source: Mapping[str, Any] = template["Resources"]
    transforms = _transforms(cfn)
    names = [name for name in transforms if isinstance(name, str)]
    with_macro = macro_name in names
    macro_entry = _macro_entry_location(transforms, macro_name)
    out: list[Finding] = []
    problem = macro_placement_problem(names, macro_name)
    if with_macro and problem is not None:  # listed before SAM
        out.append(Finding(MACRO_WOULD_FAIL, ("Transform",), problem, macro_entry))
    state_machines = any(
        isinstance(resource, dict) and resource.get("Type") in (STATE_MACHINE, SAM_STATE_MACHINE)
        for resource in source.values()
    )
    if not state_machines:
        return out  # nothing to pin; the macro would change nothing either
    region = (getattr(cfn, "regions", None) or ["us-east-1"])[0]
    filename = getattr(cfn, "filename", None)
    base = Path(filename).resolve().parent if filename else Path.cwd()
    try:
        received = macro_input(
            _cfn_template(cfn, names),
            base,
            region=region,
            macro_name=macro_name,
            placeholders=True,
        )
    except InputError as error:
        problem_text = error.message.replace("\n", " ")
        if isinstance(error, SamTranslateError):
            problem_text = f"the SAM transform failed offline: {problem_text}"
        message = f"Lambda calls of state machines were not checked: {problem_text}"
        out.append(Finding(NOT_CHECKED, ("Resources",), message))
        return out
    fragment = received.fragment if with_macro else _without_unnamed_versions(received.fragment)
    try:
        result = transform(fragment, parameter_values=received.parameter_values, region=region)
    except TransformError as error:
        for message, resource, where in _problems(error):
            if with_macro:
                path = _problem_path(message, resource, where, source, ("Transform",))
                location = macro_entry if path == ("Transform",) else None
                text = f"{macro_name} would fail the deploy: {message}"
                out.append(Finding(MACRO_WOULD_FAIL, path, text, location))
            else:
                path = _problem_path(message, resource, where, source, ("Resources",))
                text = f"Lambda calls of state machines were not checked: {message}"
                out.append(Finding(NOT_CHECKED, path, text))
        return out
    if not with_macro:
        fix = f"add {macro_name} to Transform" + (f" after {SAM_TRANSFORM}" if SAM_TRANSFORM in names else "")
        for call in result.report.pinned:
            if not call.already:
                out.append(
                    Finding(
                        NOT_PINNED,
                        _source_path(call.location, call.state_machine, source),
                        f"State machine {call.state_machine}, state {call.state}: the call to "
                        f"{call.function} is not pinned to a version; {fix} or point it at an "
                        "AWS::Lambda::Version",
                    )
                )
    for item in result.report.unpinned:
        detail = item.detail
        if item.reason == reasons.DYNAMIC:
            detail = f"{detail}; {_DYNAMIC_FIX}"
        out.append(
            Finding(
                RUNS_NEWEST_CODE,
                _source_path(item.location, item.state_machine, source),
                f"State machine {item.state_machine}, state {item.state}: the call to {item.target} is not "
                f"pinned to a version ({item.reason}): {detail}",
            )
        )
    for finding in received.file_findings():
        if finding.breaks and not with_macro:
            continue  # without the macro the substitution is not pinned, so nothing breaks
        rule = MACRO_WOULD_FAIL if finding.breaks else RUNS_NEWEST_CODE
        text = f"State machine {finding.state_machine}, definition file {finding.message}"
        out.append(Finding(rule, _file_path(finding.state_machine, source), text))
    return out


# The four rules run one after another on the same template: compute the findings once. An unexpected
# exception (a bug) is raised to the first rule only, which cfn-lint reports once as E0002.
_last: tuple[Any, Any, str, list[Finding]] | None = None


def cached_findings(cfn: Any, macro_name: str = MACRO_NAME) -> list[Finding]:
    """``findings(cfn, macro_name)``, computed once per loaded template."""
    global _last
    if _last is None or _last[0] is not cfn or _last[1] is not cfn.template or _last[2] != macro_name:
        _last = (cfn, cfn.template, macro_name, [])
        _last = (cfn, cfn.template, macro_name, findings(cfn, macro_name))
    return _last[3]
