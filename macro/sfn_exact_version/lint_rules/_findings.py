"""What the cfn-lint rules report for one template: the macro's core run on what cfn-lint loaded.

cfn-lint up to 1.53 applies the SAM transform before any rule runs, so ``cfn.template`` is plain
CloudFormation. From 1.54 on, cfn-lint validates SAM templates as written (``AWS::Serverless::*``
resources, ``Globals`` merged into them); then the SAM transform is run here, offline, with the CLI's
``sam_translate``, after local artifact paths are replaced by placeholders (nothing is read or hashed:
a linter runs on every save). Either way the core sees what CloudFormation hands the macro.

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
from typing import Any

from sfn_exact_version import MACRO_NAME
from sfn_exact_version import report as reasons
from sfn_exact_version.errors import TransformError
from sfn_exact_version.index import STATE_MACHINE
from sfn_exact_version.transform import transform

SAM_TRANSFORM = "AWS::Serverless-2016-10-31"
SERVERLESS_PREFIX = "AWS::Serverless::"
SAM_STATE_MACHINE = "AWS::Serverless::StateMachine"

NOT_PINNED = "W9100"
RUNS_NEWEST_CODE = "W9101"
MACRO_WOULD_FAIL = "E9102"
NOT_CHECKED = "W9103"

# The core's detail explains every reason and, except for a dynamic call, also says what to do.
_DYNAMIC_FIX = (
    "to pin it, make the state input carry version ARNs (Ref of an AWS::Lambda::Version), or name the "
    "function in the definition so that SfnExactVersion pins it"
)

_RESOURCE_IN_MESSAGE = re.compile(r"Resources/([A-Za-z0-9]+)")

# A SAM state machine's property that the SAM transform turns into each StepFunctions property.
_SAM_PROPERTY = {
    "DefinitionString": "Definition",
    "DefinitionS3Location": "DefinitionUri",
    "DefinitionSubstitutions": "DefinitionSubstitutions",
}

# Placeholders for local artifact paths, which the SAM transform refuses (it wants S3 locations).
# The lint never deploys, and the version fingerprint the placeholders feed is not reported.
_PLACEHOLDER_BUCKET = "sfn-exact-version-lint"
_PLACEHOLDER_S3 = {"Bucket": _PLACEHOLDER_BUCKET, "Key": "local-artifact"}
_PLACEHOLDER_URL = f"https://{_PLACEHOLDER_BUCKET}.s3.amazonaws.com/local-artifact"
_LOCAL_PATH_PROPERTIES = {
    "AWS::Serverless::Function": ("CodeUri", _PLACEHOLDER_S3),
    "AWS::Serverless::LayerVersion": ("ContentUri", _PLACEHOLDER_S3),
    "AWS::Serverless::StateMachine": ("DefinitionUri", _PLACEHOLDER_S3),
    "AWS::Serverless::Api": ("DefinitionUri", _PLACEHOLDER_S3),
    "AWS::Serverless::HttpApi": ("DefinitionUri", _PLACEHOLDER_S3),
    "AWS::Serverless::Application": ("Location", _PLACEHOLDER_URL),
}
_GLOBAL_LOCAL_PATHS = (("Function", "CodeUri"), ("Api", "DefinitionUri"), ("HttpApi", "DefinitionUri"))
_REMOTE_PREFIXES = ("s3://", "https://", "http://")


@dataclass(frozen=True)
class Finding:
    """One problem for one rule: where (a cfn-lint path, or an explicit location) and what."""

    rule: str
    path: tuple[str | int, ...]
    message: str
    # (line, column, end line, end column), 0-based: used when the path alone cannot be located
    location: tuple[int, int, int, int] | None = None


class _NotChecked(Exception):
    """The template could not be brought into the shape the macro receives."""


def _transforms(cfn: Any) -> list[Any]:
    """The template-level transforms as written (before cfn-lint processed any)."""
    declared = getattr(cfn, "transform_pre", {}).get("Transform")
    if declared is None:
        declared = cfn.template.get("Transform", [])
    return list(declared) if isinstance(declared, list) else [declared]


def _macro_entry_location(transforms: Sequence[Any]) -> tuple[int, int, int, int] | None:
    """Where ``SfnExactVersion`` is written in ``Transform``, from the decoded YAML/JSON node."""
    for name in transforms:
        start, end = getattr(name, "start_mark", None), getattr(name, "end_mark", None)
        if name == MACRO_NAME and start is not None and end is not None:
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


def _error_path(message: str, source: Mapping[str, Any], fallback: tuple[str, ...]) -> tuple[str | int, ...]:
    """The resource a core error message names first, when cfn-lint's template has it."""
    found = _RESOURCE_IN_MESSAGE.search(message)
    if found and found.group(1) in source:
        return ("Resources", found.group(1))
    return fallback


def _is_local(value: Any) -> bool:
    if isinstance(value, str):
        return not value.startswith(_REMOTE_PREFIXES)
    # an intrinsic function: SAM cannot resolve it offline either
    return isinstance(value, dict) and len(value) == 1 and next(iter(value)) in ("Ref", "Fn::Sub", "Fn::Join")


def _without_local_paths(template: dict[str, Any]) -> None:
    """Replace local artifact paths (``CodeUri: src/``) by placeholder S3 locations, in place."""
    template_globals = template.get("Globals")
    function_globals: Mapping[str, Any] = {}
    if isinstance(template_globals, dict):
        for section, name in _GLOBAL_LOCAL_PATHS:
            properties = template_globals.get(section)
            if isinstance(properties, dict) and _is_local(properties.get(name)):
                properties[name] = dict(_PLACEHOLDER_S3)
        if isinstance(template_globals.get("Function"), dict):
            function_globals = template_globals["Function"]
    for resource in template["Resources"].values():
        if not isinstance(resource, dict) or resource.get("Type") not in _LOCAL_PATH_PROPERTIES:
            continue
        properties = resource.get("Properties")
        if not isinstance(properties, dict):
            continue
        name, placeholder = _LOCAL_PATH_PROPERTIES[resource["Type"]]
        if _is_local(properties.get(name)):
            properties[name] = dict(placeholder) if isinstance(placeholder, dict) else placeholder
        elif (
            resource["Type"] == "AWS::Serverless::Function"
            and not any(
                key in source
                for source in (properties, function_globals)
                for key in ("CodeUri", "InlineCode", "ImageUri")
            )
            and properties.get("PackageType", function_globals.get("PackageType")) != "Image"
        ):
            properties["CodeUri"] = dict(_PLACEHOLDER_S3)  # sam build packages "." then


def _as_macro_receives(cfn: Any, transforms: Sequence[Any], region: str) -> dict[str, Any]:
    """The fragment CloudFormation would send the macro: SAM applied, ``Transform`` left out."""
    template = cfn.template
    untranslated = any(
        isinstance(resource, dict) and str(resource.get("Type", "")).startswith(SERVERLESS_PREFIX)
        for resource in template["Resources"].values()
    )
    if SAM_TRANSFORM in transforms and untranslated:
        try:
            from sfn_exact_version.cli.errors import InputError
            from sfn_exact_version.cli.sam import sam_translate
            from sfn_exact_version.cli.template_io import to_plain
        except ImportError as error:  # pragma: no cover - the cli extra is missing
            raise _NotChecked(
                f"the SAM transform needs aws-sam-translator ({error}); pip install 'sfn-exact-version[cli]'"
            ) from error
        try:
            sam_input = to_plain(template)
            _without_local_paths(sam_input)
            translated = sam_translate(
                sam_input,
                parameter_values={},
                region=region,
                account_id="123456789012",
                skip_preceding_transforms=True,
            )
        except (InputError, ValueError) as error:
            problem = getattr(error, "message", str(error)).replace("\n", " ")
            raise _NotChecked(f"the SAM transform failed offline: {problem}") from error
        template = translated
    return {key: value for key, value in template.items() if key != "Transform"}


def findings(cfn: Any) -> list[Finding]:
    """Everything the rules report for the template cfn-lint loaded."""
    template = cfn.template
    if not isinstance(template, dict) or not isinstance(template.get("Resources"), dict):
        return []  # cfn-lint reports a template without Resources itself
    source: Mapping[str, Any] = template["Resources"]
    transforms = _transforms(cfn)
    names = [name for name in transforms if isinstance(name, str)]
    with_macro = MACRO_NAME in names
    macro_entry = _macro_entry_location(transforms)
    out: list[Finding] = []
    if with_macro and SAM_TRANSFORM in names and names.index(MACRO_NAME) < names.index(SAM_TRANSFORM):
        out.append(
            Finding(
                MACRO_WOULD_FAIL,
                ("Transform",),
                f"{MACRO_NAME} is listed before {SAM_TRANSFORM}, so it would receive AWS::Serverless::* "
                "resources and fail the deploy; list it after SAM: "
                f"Transform: [{SAM_TRANSFORM}, {MACRO_NAME}]",
                macro_entry,
            )
        )
    state_machines = any(
        isinstance(resource, dict) and resource.get("Type") in (STATE_MACHINE, SAM_STATE_MACHINE)
        for resource in source.values()
    )
    if not state_machines:
        return out  # nothing to pin; the macro would change nothing either
    region = (getattr(cfn, "regions", None) or ["us-east-1"])[0]
    try:
        result = transform(_as_macro_receives(cfn, names, region), region=region)
    except _NotChecked as problem:
        message = f"Lambda calls of state machines were not checked: {problem}"
        out.append(Finding(NOT_CHECKED, ("Resources",), message))
        return out
    except TransformError as error:
        if with_macro:
            path = _error_path(error.message, source, ("Transform",))
            out.append(
                Finding(
                    MACRO_WOULD_FAIL,
                    path,
                    f"{MACRO_NAME} would fail the deploy: {error.message}",
                    macro_entry if path == ("Transform",) else None,
                )
            )
        else:
            out.append(
                Finding(
                    NOT_CHECKED,
                    _error_path(error.message, source, ("Resources",)),
                    f"Lambda calls of state machines were not checked: {error.message}",
                )
            )
        return out
    if not with_macro:
        fix = f"add {MACRO_NAME} to Transform" + (f" after {SAM_TRANSFORM}" if SAM_TRANSFORM in names else "")
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
    return out


# The four rules run one after another on the same template: compute the findings once. An unexpected
# exception (a bug) is raised to the first rule only, which cfn-lint reports once as E0002.
_last: tuple[Any, Any, list[Finding]] | None = None


def cached_findings(cfn: Any) -> list[Finding]:
    """``findings(cfn)``, computed once per loaded template."""
    global _last
    if _last is None or _last[0] is not cfn or _last[1] is not cfn.template:
        _last = (cfn, cfn.template, [])
        _last = (cfn, cfn.template, findings(cfn))
    return _last[2]
