"""State machine versions and aliases (``AWS::StepFunctions::StateMachineVersion``/``StateMachineAlias``):
left untouched by the transform, reported under ``StateMachineVersions``, with warnings where a canary or a
rollback of the alias would not cover the Lambda code.

A version publishes the state machine's revision of that moment, so it calls the Lambda versions pinned in
that definition; calls left unpinned run the function's current code in every version.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from sfn_exact_version import report as reasons
from sfn_exact_version.errors import json_type
from sfn_exact_version.index import STATE_MACHINE, TemplateIndex
from sfn_exact_version.intrinsics import (
    NestingTooDeepError,
    get_att_target,
    ref_target,
    references,
    render,
    symbolic,
)
from sfn_exact_version.report import AliasRouting, Report, StateMachineVersioning

STATE_MACHINE_VERSION = "AWS::StepFunctions::StateMachineVersion"
STATE_MACHINE_ALIAS = "AWS::StepFunctions::StateMachineAlias"


def _text(value: Any) -> str:
    """Readable text of a template value for the report (intrinsics as ``${...}``); never fails."""
    try:
        text = symbolic(value)
    except (NestingTooDeepError, RecursionError):
        return "(nested too deeply)"
    if text is not None:
        return render(text)
    return f"({json_type(value)})"


def _plain(value: Any, depth: int = 0) -> Any:
    """A template value for the report: a reference as the logical ID it names, a list item by item (one
    level), other values as text."""
    if isinstance(value, (str, int, float, bool)) or value is None:
        return value
    target = ref_target(value) or (get_att_target(value) or (None,))[0]
    if target is not None:
        return target
    if isinstance(value, list) and depth == 0:
        return [_plain(item, 1) for item in value]
    return _text(value)


def _name(value: Any) -> str:
    """A name for the report: the logical ID a reference names, else the value's text."""
    return value if isinstance(value, str) else ref_target(value) or _text(value)


def _route(target: Any, versions: Mapping[str, str]) -> str:
    """A version an alias routes to: its logical ID when it is a version of the template, else its text."""
    name = ref_target(target)
    if name is not None and name in versions:
        return name
    return _text(target)


def _state_machine_of(version: Mapping[str, Any], index: TemplateIndex) -> str | None:
    try:
        names = list(references(version.get("StateMachineArn")))
    except (NestingTooDeepError, RecursionError):
        return None
    return next((name for name in names if index.type_of(name) == STATE_MACHINE), None)


def report_state_machine_versions(resources: Mapping[str, Any], index: TemplateIndex, report: Report) -> None:
    """Report the state machine versions and aliases of each state machine (left untouched): each version
    runs the Lambda versions pinned in the definition it was published from; warn when some of its calls
    are not pinned, since those run the function's current code in every version."""
    versions: dict[str, list[str]] = {}  # state machine -> its StateMachineVersion resources
    machine_of: dict[str, str] = {}
    for logical_id, resource in resources.items():
        properties = resource.get("Properties")
        if resource["Type"] != STATE_MACHINE_VERSION or not isinstance(properties, dict):
            continue
        machine = _state_machine_of(properties, index)
        if machine is not None:
            versions.setdefault(machine, []).append(logical_id)
            machine_of[logical_id] = machine
    aliases: dict[str, list[AliasRouting]] = {}
    for logical_id, resource in resources.items():
        properties = resource.get("Properties")
        if resource["Type"] != STATE_MACHINE_ALIAS or not isinstance(properties, dict):
            continue
        preference = properties.get("DeploymentPreference")
        preference = preference if isinstance(preference, dict) else {}
        routing = properties.get("RoutingConfiguration")
        targets = (
            [entry.get("StateMachineVersionArn") for entry in routing if isinstance(entry, dict)]
            if isinstance(routing, list)
            else [preference.get("StateMachineVersionArn")]
        )
        routes_to = tuple(_route(target, machine_of) for target in targets if target is not None)
        machine = next((machine_of[t] for t in routes_to if t in machine_of), None)
        if machine is None:
            continue
        alarms = preference.get("Alarms")
        deployment = {
            key: _plain(value)
            for key, value in preference.items()
            if key not in ("StateMachineVersionArn", "Alarms")
        }
        if isinstance(routing, list):
            weights = [_plain(entry.get("Weight")) for entry in routing if isinstance(entry, dict)]
            deployment = {"RoutingConfiguration": weights}
        aliases.setdefault(machine, []).append(
            AliasRouting(
                logical_id,
                _name(properties.get("Name")),
                routes_to,
                deployment,
                tuple(_name(alarm) for alarm in alarms) if isinstance(alarms, list) else (),
            )
        )
    for machine in resources:
        if machine not in versions and machine not in aliases:
            continue
        pinned = sum(1 for call in report.pinned if call.state_machine == machine)
        unpinned = [
            item
            for item in report.left_alone
            if item.state_machine == machine
            and (item.reason in reasons.UNPINNED_REASONS or item.reason == reasons.OPTED_OUT)
        ]
        entry = StateMachineVersioning(
            machine, tuple(versions.get(machine, ())), tuple(aliases.get(machine, ())), pinned, len(unpinned)
        )
        report.state_machine_versions.append(entry)
        if unpinned:
            published = ", ".join([*entry.versions, *(alias.alias for alias in entry.aliases)])
            states = ", ".join(sorted({item.state for item in unpinned}))
            report.warnings.append(
                f"Resources/{machine} is published as state machine versions or aliases ({published}), but "
                f"Lambda calls of it are not pinned ({states}): every version calls the current code of "
                "those functions, so a canary or a rollback of the alias does not cover that code."
            )
        _warn_replaced_in_place(report, entry)


def _warn_replaced_in_place(report: Report, entry: StateMachineVersioning) -> None:
    """A gradual alias plus a pinned version whose logical ID does not follow the fingerprint: when the
    function changes, the version is replaced in place; if an alarm then rolls the deploy back, CloudFormation
    does not document whether it keeps the new instance, which executions on the new state machine version
    call. A created version (``<Function>Version<fingerprint>``) is a new resource instead, kept by Retain."""
    gradual = [
        alias.alias
        for alias in entry.aliases
        if alias.deployment.get("Type") in ("CANARY", "LINEAR") or len(alias.routes_to) > 1
    ]
    if not gradual:
        return
    created = {change.version for change in report.versions if change.created}
    seen: list[str] = []
    for call in report.pinned:
        if call.state_machine != entry.state_machine or call.version in created or call.version in seen:
            continue
        seen.append(call.version)
        report.warnings.append(
            f"Resources/{call.version} ({call.function}'s version, called by {entry.state_machine}, which "
            f"{', '.join(gradual)} shifts gradually) does not carry the fingerprint in its logical ID, so "
            f"some changes of {call.function} replace it in place. If an alarm rolls such a deploy back, "
            "CloudFormation does not document whether it keeps the new version, which executions already "
            "running on the new state machine version call. Let SfnExactVersion create "
            f"{call.function}'s version (drop AutoPublishAlias or the hand-written version): its logical ID "
            "follows every change, and a new resource with DeletionPolicy Retain is kept by a rollback."
        )
