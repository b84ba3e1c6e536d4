"""The prune decision: what nothing can still call (delete) and why everything else stays (keep).

Keep set (never deleted), per function version:
- every version a source may call (``sources``): executions that may still run or be redriven, Map
  children, current definitions, state machine versions an alias routes to; a dynamic call counts every
  version of the functions its role may invoke;
- every version a Lambda alias routes to, and versions with an event source mapping or a function URL;
- versions that are resources of the stack (CloudFormation manages them);
- the newest ``keep`` versions of each function still in the stack (or named on the command line);
- versions younger than ``min_age``.

Delete set: the other versions; a retained function (it left the stack) once none of its versions and not
its ``$LATEST`` is needed (the whole function); state machine versions no alias routes to, no execution
runs, not in the stack, not among the newest ``keep`` and not younger than ``min_age``; retained grants
(inline policies ``SfnExactVersion-*`` that left the stack) no source with that role needs.

Provisioned concurrency on a kept version that nothing current uses is reported, never removed: the version
is kept because something may still call it, and the capacity is a person's choice.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from sfn_exact_version.decisions.calls import LATEST, ROLE_AT_RUN_TIME
from sfn_exact_version.decisions.sources import Reader, sources
from sfn_exact_version.live.model import AccountView, LambdaFunction, Statement

DEFAULT_KEEP = 2
DEFAULT_MIN_AGE = timedelta(hours=1)
GRANT_PREFIX = "SfnExactVersion-"

LAMBDA_VERSION = "lambda-version"
FUNCTION = "function"
STATE_MACHINE_VERSION = "state-machine-version"
ROLE_POLICY = "role-policy"


@dataclass
class Item:
    """A thing prune looked at: ``kind``, its ARN (or role ARN + policy name), and the reasons it is kept,
    or the reason it may go."""

    kind: str
    arn: str
    reasons: list[str] = field(default_factory=list)
    role: str = ""  # ROLE_POLICY: the role's name
    name: str = ""  # ROLE_POLICY: the policy name

    def to_dict(self) -> dict[str, object]:
        data: dict[str, object] = {"kind": self.kind, "arn": self.arn, "reasons": list(self.reasons)}
        if self.kind == ROLE_POLICY:
            data.update(role=self.role, policy=self.name)
        return data


@dataclass
class Plan:
    keep: list[Item] = field(default_factory=list)
    delete: list[Item] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)

    def to_dict(self) -> dict[str, object]:
        return {
            "delete": [item.to_dict() for item in self.delete],
            "keep": [item.to_dict() for item in self.keep],
            "notes": list(self.notes),
        }


def _young(when: datetime | None, now: datetime, min_age: timedelta) -> bool:
    return when is None or now - when < min_age


def _age(when: datetime | None, now: datetime) -> str:
    if when is None:
        return "age unknown"
    minutes = int((now - when).total_seconds() // 60)
    return f"{minutes} min old" if minutes < 120 else f"{minutes // 60} h old"


def _newest(items: Iterable[str], keep: int) -> set[str]:
    return set(sorted(items, key=int, reverse=True)[:keep]) if keep > 0 else set()


def plan(view: AccountView, *, keep: int = DEFAULT_KEEP, min_age: timedelta = DEFAULT_MIN_AGE) -> Plan:
    """Decide what may be deleted in ``view`` (read at ``view.now``)."""
    result = Plan(notes=list(view.notes))
    functions = {function.name: function for function in view.functions}
    reader = Reader(view, functions)
    # (function, qualifier) -> reasons; qualifier is a version number or $LATEST
    # (function, qualifier) -> reasons, and (role ARN, function name) -> sources; dicts as ordered sets
    needed: dict[tuple[str, str], dict[str, None]] = {}
    grants_needed: dict[tuple[str, str], dict[str, None]] = {}
    everything = ""
    noted: dict[str, dict[str, None]] = {}  # note -> the sources it applies to
    for source in sources(view):
        reached = reader.reached(source)
        if reached.unreadable:
            everything = everything or f"{source.label}: {reached.unreadable}"
            continue
        for note in reached.notes:
            noted.setdefault(note, {})[source.label] = None
        for found in reached.reaches:
            reason = f"{source.label} may call it ({found.state}{', ' + found.via if found.via else ''})"
            needed.setdefault((found.function, found.qualifier), {})[reason] = None
            # The role that makes the call: the source's, or the one a Task's Credentials name (when
            # they choose it at run time, every role's grant of the function is needed).
            calling = found.role_arn or source.role_arn
            grants_needed.setdefault((calling, found.function), {})[source.label] = None
    for note, labels in noted.items():
        first, *others = labels
        more = f" and {len(others)} more" if others else ""
        result.notes.append(f"{first}{more}: {note}")
    if everything:
        result.notes.append(f"{everything}: every version in scope is kept")
    stack_versions = {r.physical_id: r.logical_id for r in view.stack_resources}
    for function in view.functions:
        _plan_function(view, function, needed, everything, stack_versions, keep, min_age, result)
    _plan_state_machine_versions(view, keep, min_age, result)
    _plan_grants(view, functions, grants_needed, everything, result)
    return result


def _plan_function(
    view: AccountView,
    function: LambdaFunction,
    needed: dict[tuple[str, str], dict[str, None]],
    everything: str,
    stack_versions: dict[str, str],
    keep: int,
    min_age: timedelta,
    result: Plan,
) -> None:
    newest = set() if function.retained else _newest((v.version for v in function.versions), keep)
    alias_of: dict[str, list[str]] = {}
    for alias in function.aliases:
        for number in alias.versions:
            share = alias.weights.get(number)
            label = f"alias {alias.name}" + (f" ({share * 100:g}% of its traffic)" if share else "")
            alias_of.setdefault(number, []).append(label)
    kept_any = False
    deletable = []
    for version in function.versions:
        reasons = list(needed.get((function.name, version.version), {}))
        reasons += [f"target of {label}" for label in alias_of.get(version.version, [])]
        if version.version in function.mapping_qualifiers:
            reasons.append("an event source mapping invokes it")
        if version.version in function.url_qualifiers:
            reasons.append("a function URL points at it")
        if version.arn in stack_versions:
            reasons.append(f"a resource of the stack ({stack_versions[version.arn]})")
        if version.version in newest:
            reasons.append(f"among the newest {keep} versions (--keep)")
        if _young(version.last_modified, view.now, min_age):
            reasons.append(f"younger than --min-age ({_age(version.last_modified, view.now)})")
        if everything:
            reasons.append("a definition could not be read, so every version is kept")
        if reasons:
            kept_any = True
            result.keep.append(Item(LAMBDA_VERSION, version.arn, reasons))
            _report_provisioned(function, version.version, needed, alias_of, result)
        else:
            deletable.append(version)
    # $LATEST: unqualified calls, mappings and URLs on the function itself (URLs and mappings on an
    # alias are covered by the alias's versions above)
    latest = list(needed.get((function.name, LATEST), {}))
    if LATEST in function.mapping_qualifiers:
        latest.append("an event source mapping invokes $LATEST")
    if LATEST in function.url_qualifiers:
        latest.append("a function URL points at $LATEST")
    if function.retained and not kept_any and not latest and not function.aliases and not everything:
        gone = "it left the stack (retained) and nothing may call any of its versions"
        result.delete.append(Item(FUNCTION, function.arn, [gone]))
        return
    if function.retained:
        why = [*latest, *(f"alias {alias.name}" for alias in function.aliases)]
        if kept_any:
            why.append("some of its versions are kept")
        result.keep.append(
            Item(FUNCTION, function.arn, ["retained function still needed: " + "; ".join(why)])
        )
    for version in deletable:
        result.delete.append(Item(LAMBDA_VERSION, version.arn, ["nothing may call it"]))


def _report_provisioned(
    function: LambdaFunction,
    version: str,
    needed: dict[tuple[str, str], dict[str, None]],
    alias_of: dict[str, list[str]],
    result: Plan,
) -> None:
    concurrency = function.provisioned.get(version)
    if not concurrency:
        return
    current = any("current definition" in reason for reason in needed.get((function.name, version), {}))
    if current or version in alias_of:
        return
    result.notes.append(
        f"{function.name}:{version} keeps {concurrency} provisioned concurrency (billed) although no "
        "current definition or alias uses it; it stays while something may still call it. Remove the "
        f"capacity with: aws lambda delete-provisioned-concurrency-config --function-name {function.name} "
        f"--qualifier {version}"
    )


def _plan_state_machine_versions(view: AccountView, keep: int, min_age: timedelta, result: Plan) -> None:
    running: dict[str, list[str]] = {}
    for execution in view.executions:
        if execution.version_arn:
            running.setdefault(execution.version_arn, []).append(f"execution {execution.name} runs it")
    for machine in view.state_machines:
        routed: dict[str, list[str]] = {}
        for alias in machine.aliases:
            for arn, weight in alias.routing.items():
                routed.setdefault(arn, []).append(f"alias {alias.name} routes {weight:g}% to it")
        newest = _newest((v.arn.rsplit(":", 1)[-1] for v in machine.versions), keep)
        for version in machine.versions:
            number = version.arn.rsplit(":", 1)[-1]
            reasons = [*routed.get(version.arn, []), *running.get(version.arn, [])[:3]]
            more = len(running.get(version.arn, [])) - 3
            if more > 0:
                reasons.append(f"and {more} more executions")
            if version.in_stack:
                reasons.append("a resource of the stack")
            if number in newest:
                reasons.append(f"among the newest {keep} versions (--keep)")
            if _young(version.created, view.now, min_age):
                reasons.append(f"younger than --min-age ({_age(version.created, view.now)})")
            if reasons:
                result.keep.append(Item(STATE_MACHINE_VERSION, version.arn, reasons))
            else:
                why = "no alias routes to it and no execution that may still run uses it"
                result.delete.append(Item(STATE_MACHINE_VERSION, version.arn, [why]))


def grant_functions(statements: Iterable[Statement]) -> set[str]:
    """The unqualified function ARNs a retained grant allows versions of (``<ARN>:*``)."""
    found = set()
    for statement in statements:
        for resource in statement.resources:
            if resource.endswith(":*") and ":function:" in resource:
                found.add(resource[:-2])
    return found


def _plan_grants(
    view: AccountView,
    functions: dict[str, LambdaFunction],
    grants_needed: dict[tuple[str, str], dict[str, None]],
    everything: str,
    result: Plan,
) -> None:
    in_stack = {
        r.physical_id for r in view.stack_resources if r.type in ("AWS::IAM::RolePolicy", "AWS::IAM::Policy")
    }
    by_arn = {function.arn: function.name for function in functions.values()}
    for role in view.roles.values():
        for name, statements in sorted(role.inline.items()):
            if not name.startswith(GRANT_PREFIX):
                continue
            target = f"{role.arn}#{name}"
            if any(name in physical for physical in in_stack):
                result.keep.append(Item(ROLE_POLICY, target, ["a resource of the stack"], role.name, name))
                continue
            reasons = []
            for function_arn in sorted(grant_functions(statements)):
                function = by_arn.get(function_arn, function_arn.rsplit(":", 1)[-1])
                for label in grants_needed.get((role.arn, function), {}):
                    reasons.append(f"{label} may call {function} with this role")
                for label in grants_needed.get((ROLE_AT_RUN_TIME, function), {}):
                    reasons.append(
                        f"{label} may call {function} with a role its Credentials choose at run time"
                    )
            if everything:
                reasons.append("a definition could not be read, so every grant is kept")
            if reasons:
                result.keep.append(Item(ROLE_POLICY, target, reasons, role.name, name))
            else:
                why = "retained grant: nothing that runs with this role may call the functions it allows"
                result.delete.append(Item(ROLE_POLICY, target, [why], role.name, name))
