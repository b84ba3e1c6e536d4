"""The preflight decision: which executions that may still run would a deploy of ``new_template`` break?

For each execution that may still run or be redriven (Map children included), every Lambda version its
definition may call (``sources``/``calls``) is checked against the processed new template:

- the function is kept: it stays in the template with the same name, or it leaves the template (or is
  replaced) with ``DeletionPolicy``/``UpdateReplacePolicy: Retain``, or it is not a resource of the stack
  at all (retained earlier, or from elsewhere);
- the version is kept: a version that is a resource of the stack stays unchanged, or is retained;
- the role still allows it: the statements the new template attaches to the execution's role, plus the
  policies CloudFormation will not touch (retained grants ``SfnExactVersion-*``, policies from outside the
  stack), allow ``lambda:InvokeFunction`` on what the call invokes, when the role allows it today.

Removal obeys the ``DeletionPolicy`` of the template deployed now (CloudFormation reads it from there);
replacement obeys the new template's ``UpdateReplacePolicy``.

Every call in the definition counts, including those of states the execution has already passed (the
execution history would tell; reading it for every execution was judged too costly).
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from sfn_exact_version.decisions.calls import LATEST, ROLE_AT_RUN_TIME, Reach
from sfn_exact_version.decisions.conditions import Conditions
from sfn_exact_version.decisions.iam import INVOKE, allows
from sfn_exact_version.decisions.sources import Reader, Source, sources
from sfn_exact_version.index import (
    ALIAS,
    FUNCTION,
    MANAGED_POLICY,
    POLICY,
    ROLE,
    ROLE_POLICY,
    VERSION,
    TemplateIndex,
)
from sfn_exact_version.intrinsics import GET_ATT, REF, Atom, symbolic
from sfn_exact_version.live.model import AccountView, Execution, LambdaFunction, Role, Statement
from sfn_exact_version.policies import statements_of

RETAIN = ("Retain", "RetainExceptOnCreate")
GRANT_PREFIX = "SfnExactVersion-"


@dataclass
class Risk:
    """One execution and a function version it may call that the deploy would take away."""

    execution: str  # ARN
    name: str
    status: str
    function: str
    versions: list[str]
    state: str  # the state path of the call
    why: str
    fix: str
    children: int = 0  # Map children of this execution with the same risk
    child_arns: set[str] = field(default_factory=set, repr=False)

    @property
    def target(self) -> str:
        return ", ".join(f"{self.function}:{v}" if v != LATEST else self.function for v in self.versions)

    def line(self) -> str:
        more = f" and {self.children} Map children" if self.children else ""
        return (
            f"{self.name} ({self.status}{more}) at {self.state} calls {self.target}: {self.why}. "
            f"Fix: {self.fix}"
        )

    def to_dict(self) -> dict[str, Any]:
        return {
            "execution": self.execution,
            "name": self.name,
            "status": self.status,
            "state": self.state,
            "function": self.function,
            "versions": list(self.versions),
            "why": self.why,
            "fix": self.fix,
            "map_children": self.children,
        }


@dataclass
class Result:
    risks: list[Risk] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    checked: int = 0  # executions checked
    routed: int = 0  # state machine versions checked because an alias outside the deploy routes to them

    def to_dict(self) -> dict[str, Any]:
        return {
            "checked_executions": self.checked,
            "checked_routed_versions": self.routed,
            "at_risk": [risk.to_dict() for risk in self.risks],
            "warnings": list(self.warnings),
        }


def _policy(template: Mapping[str, Any], logical_id: str, attribute: str) -> str:
    resource = template.get("Resources", {}).get(logical_id)
    value = resource.get(attribute) if isinstance(resource, dict) else None
    return value if isinstance(value, str) else ""


def _resource(template: Mapping[str, Any], logical_id: str) -> dict[str, Any] | None:
    resources = template.get("Resources")
    resource = resources.get(logical_id) if isinstance(resources, dict) else None
    return resource if isinstance(resource, dict) else None


class _Resolver:
    """Concrete text of a template value: parameters, pseudo parameters, and the physical names and ARNs
    of the stack's resources. What cannot be resolved stays a marker that matches no real ARN."""

    def __init__(self, view: AccountView, parameters: Mapping[str, Any]) -> None:
        self.view = view
        self.values = {
            "AWS::Region": view.region,
            "AWS::AccountId": view.account_id,
            "AWS::Partition": view.partition,
            "AWS::StackName": view.stack_name,
            "AWS::URLSuffix": "amazonaws.com.cn" if view.partition == "aws-cn" else "amazonaws.com",
        }
        self.values.update({k: str(v) for k, v in parameters.items()})
        self.physical = {r.logical_id: r for r in view.stack_resources}

    def text(self, value: Any) -> str | None:
        found = symbolic(value)
        if found is None:
            return None
        return "".join(piece if isinstance(piece, str) else self._atom(piece) for piece in found)

    def _atom(self, atom: Atom) -> str:
        if atom.kind == REF:
            if atom.name in self.values:
                return self.values[atom.name]
            resource = self.physical.get(atom.name)
            if resource is not None:
                return resource.physical_id
        if atom.kind == GET_ATT and atom.attribute == "Arn" and atom.name in self.physical:
            resource = self.physical[atom.name]
            if resource.type == FUNCTION:
                function = self.view.function_named(resource.physical_id)
                if function is not None:
                    return function.arn
                return (
                    f"arn:{self.view.partition}:lambda:{self.view.region}:{self.view.account_id}:function:"
                    f"{resource.physical_id}"
                )
            if resource.type == ROLE:
                for role in self.view.roles.values():
                    if role.name == resource.physical_id:
                        return role.arn
                return f"arn:{self.view.partition}:iam::{self.view.account_id}:role/{resource.physical_id}"
        return "\u27e8" + atom.render() + "\u27e9"


def _statement(raw: Mapping[str, Any], resolver: _Resolver) -> Statement:
    def strings(key: str) -> tuple[str, ...]:
        value = raw.get(key)
        items = value if isinstance(value, list) else [value] if value is not None else []
        texts = (resolver.text(item) for item in items)
        return tuple(text for text in texts if text is not None)

    return Statement(
        effect=str(raw.get("Effect", "")),
        actions=strings("Action"),
        resources=strings("Resource"),
        not_actions=strings("NotAction"),
        not_resources=strings("NotResource"),
        conditional="Condition" in raw,
    )


class _Deploy:
    """What the deploy of ``new`` does to the resources of the stack in ``view``."""

    def __init__(self, view: AccountView, new: Mapping[str, Any], parameters: Mapping[str, Any]) -> None:
        self.view = view
        self.new = new
        self.deployed = view.deployed_template
        self.new_resolver = _Resolver(view, parameters)
        self.old_resolver = _Resolver(view, view.deployed_parameters)
        resources = _resources(new)
        typed = {k: v for k, v in resources.items() if isinstance(v, dict) and isinstance(v.get("Type"), str)}
        self.index = TemplateIndex.build(typed, new.get("Parameters") or {}, view.region, view.account_id)
        self.conditions = Conditions(new.get("Conditions"), self._known)
        self.warnings: list[str] = []

    def _known(self, value: Any) -> str | None:
        """The concrete text of a value of the new template, or None when the deploy decides it."""
        text = self.new_resolver.text(value)
        return None if text is None or "\u27e8" in text else text

    def _new_type(self, logical_id: str) -> str | None:
        resource = _resource(self.new, logical_id)
        return resource.get("Type") if resource else None

    def removed(self, logical_id: str, type_: str) -> str:
        """Why the resource is deleted because it leaves the template, or "" when it is kept."""
        if self._new_type(logical_id) == type_:
            return ""
        if not self.deployed:
            return (
                f"{logical_id} leaves the template, and the deployed template cannot be read to see its "
                "DeletionPolicy"
            )
        if _policy(self.deployed, logical_id, "DeletionPolicy") in RETAIN:
            return ""
        return (
            f"{logical_id} leaves the template without DeletionPolicy: Retain, so CloudFormation deletes it"
        )

    def function(self, function: LambdaFunction) -> tuple[str, str]:
        """Why the function (with all its versions) is deleted by the deploy, and the fix; ("", "")."""
        if not function.in_stack or function.logical_id is None:
            return "", ""
        logical_id = function.logical_id
        why = self.removed(logical_id, FUNCTION)
        if why:
            return (
                why + " with all its versions",
                f"deploy once with DeletionPolicy: Retain and UpdateReplacePolicy: Retain on {logical_id} "
                "(the macro adds both to every function a pinned call targets) before removing it, or let "
                "the execution end first",
            )
        if self._new_type(logical_id) != FUNCTION:
            return "", ""  # leaves the template, retained
        if self.replaced(logical_id, "FunctionName", function.name):
            return (
                f"{logical_id} gets a new FunctionName, which replaces the function; without "
                "UpdateReplacePolicy: Retain CloudFormation deletes the old one with all its versions",
                f"add UpdateReplacePolicy: Retain and DeletionPolicy: Retain to {logical_id} (the macro adds "
                "both to every function a pinned call targets), or keep its FunctionName",
            )
        return "", ""

    def replaced(self, logical_id: str, name_property: str, live_name: str) -> bool:
        """True when the deploy replaces the resource by giving it another name (the physical name
        property changes, or goes, which makes CloudFormation generate a new one) without
        ``UpdateReplacePolicy: Retain``."""
        new_name = _properties(self.new, logical_id).get(name_property)
        old_name = _properties(self.deployed, logical_id).get(name_property)
        resolved = self.new_resolver.text(new_name) if new_name is not None else None
        renamed = (new_name is None and old_name is not None) or (
            resolved is not None and "\u27e8" not in resolved and resolved != live_name
        )
        return renamed and _policy(self.new, logical_id, "UpdateReplacePolicy") not in RETAIN

    def version(self, function: LambdaFunction, version: str) -> tuple[str, str]:
        """Why a version that is a resource of the stack is deleted by the deploy, and the fix."""
        arn = f"{function.arn}:{version}"
        resource = self.view.resource(arn)
        if resource is None or resource.type != VERSION:
            return "", ""
        logical_id = resource.logical_id
        fix = (
            f"keep DeletionPolicy: Retain and UpdateReplacePolicy: Retain on {logical_id} (the macro sets "
            "both on every version a state machine calls)"
        )
        why = self.removed(logical_id, VERSION)
        if why:
            return why, fix
        if self._new_type(logical_id) != VERSION:
            return "", ""  # leaves the template, retained
        old, new = _properties(self.deployed, logical_id), _properties(self.new, logical_id)
        replaced = self.deployed and _canonical(old) != _canonical(new)
        if replaced and _policy(self.new, logical_id, "UpdateReplacePolicy") not in RETAIN:
            return (
                f"{logical_id} changes, which replaces the version; without UpdateReplacePolicy: Retain "
                "CloudFormation deletes it",
                fix,
            )
        return "", ""

    def role_after(self, role: Role) -> tuple[list[Statement] | None, str]:
        """The role's statements once the deploy is done (None: the role is deleted), and a note."""
        live = role.statements()
        resource = next(
            (r for r in self.view.stack_resources if r.type == ROLE and r.physical_id == role.name), None
        )
        if resource is None:
            return live, ""  # not the stack's: the deploy does not touch it
        logical_id = resource.logical_id
        if self.removed(logical_id, ROLE):
            return None, self.removed(logical_id, ROLE)
        if self._new_type(logical_id) != ROLE:
            return live, ""  # retained: stays as it is
        if self.replaced(logical_id, "RoleName", role.name):
            return None, f"{logical_id} gets a new RoleName, which replaces the role"
        after = self._statements_after(logical_id)
        owned = self._owned_inline(logical_id)
        for name, statements in role.inline.items():
            if name.startswith(GRANT_PREFIX) or (self.deployed and name not in owned):
                after.extend(statements)  # CloudFormation leaves these alone
        managed_now = {
            self.new_resolver.text(arn)
            for arn in _list(_properties(self.new, logical_id).get("ManagedPolicyArns"))
        }
        managed_before = {
            self.old_resolver.text(arn)
            for arn in _list(_properties(self.deployed, logical_id).get("ManagedPolicyArns"))
        }
        stack_policies = {r.physical_id for r in self.view.stack_resources if r.type == MANAGED_POLICY}
        for arn, statements in role.managed.items():
            if arn in stack_policies:
                continue  # the template's own managed policies: read from the new template above
            if arn in managed_now or (self.deployed and arn not in managed_before):
                after.extend(statements)
        return after, ""

    def _statements_after(self, role: str) -> list[Statement]:
        """The statements the new template gives ``role``, read under the deploy's condition values. A
        statement whose conditions read a value not known before the deploy is taken the way that is
        safe for running executions: absent where it allows, present (every reading) where it denies."""
        after: list[Statement] = []
        unsure: list[str] = []  # statement locations read as allowing nothing
        unknown: dict[str, None] = {}  # the conditions that made them so
        for where, raw in statements_of(role, self.index):
            holder = _resource(self.new, where.resource) if where.resource != role else None
            condition = holder.get("Condition") if holder else None
            applies = self.conditions.branch(where.branch, condition)
            if applies is False:
                continue
            readings = self.conditions.choose(raw)
            if readings is None:
                readings, applies = [raw], None
            elif len(readings) != 1:
                applies = None
            for reading in readings:
                if not isinstance(reading, dict):
                    continue
                if applies is None and reading.get("Effect") != "Deny":
                    if where.location not in unsure:
                        unsure.append(where.location)
                        named = [*(n for n, _ in where.branch), *([condition] if condition else [])]
                        for name in [*named, *self.conditions.unknown(raw)]:
                            if isinstance(name, str) and self.conditions.holds(name) is None:
                                unknown[name] = None
                    continue
                after.append(_statement(reading, self.new_resolver))
        if unsure:
            self.warnings.append(
                f"{', '.join(unsure)}: chosen by the template Condition {', '.join(unknown)}, which reads a "
                "value not known before the deploy; read as allowing nothing (give the parameters it reads "
                "with --parameter-overrides)"
            )
        return after

    def _owned_inline(self, role: str) -> set[str]:
        """Inline policy names of the role that the deployed template declares (and the deploy will
        rewrite or delete), leaving out separate policy resources that leave with Retain."""
        owned: set[str] = set()
        for policy in _list(_properties(self.deployed, role).get("Policies")):
            if isinstance(policy, dict) and policy.get("PolicyName") is not None:
                owned.add(self.old_resolver.text(policy["PolicyName"]) or "")
        for logical_id, resource in _resources(self.deployed).items():
            if not isinstance(resource, dict) or resource.get("Type") not in (POLICY, ROLE_POLICY):
                continue
            properties = _properties(self.deployed, logical_id)
            roles = _list(properties.get("Roles")) + _list(properties.get("RoleName"))
            if not any(symbolic(item) == (Atom(REF, role),) for item in roles):
                continue
            if self._new_type(logical_id) is None and resource.get("DeletionPolicy") in RETAIN:
                continue
            owned.add(self.old_resolver.text(properties.get("PolicyName")) or "")
        return owned


def _resources(template: Mapping[str, Any]) -> dict[str, Any]:
    resources = template.get("Resources")
    return resources if isinstance(resources, dict) else {}


def _list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else [value] if value is not None else []


def _properties(template: Mapping[str, Any], logical_id: str) -> dict[str, Any]:
    resource = _resource(template, logical_id)
    properties = resource.get("Properties") if resource else None
    return properties if isinstance(properties, dict) else {}


def _canonical(value: Any) -> str:
    return json.dumps(value, sort_keys=True, separators=(",", ":"))


def check(view: AccountView, new_template: Mapping[str, Any], parameters: Mapping[str, Any]) -> Result:
    """The executions of ``view`` that deploying ``new_template`` (processed, as the macro outputs it)
    with ``parameters`` would break."""
    result = Result()
    deploy = _Deploy(view, new_template, parameters)
    functions = {function.name: function for function in view.functions}
    reader = Reader(view, functions)
    found: dict[tuple[str, str, str, str], Risk] = {}
    roles_after: dict[str, tuple[list[Statement] | None, str]] = {}
    problems: dict[tuple[str, str, str, str], tuple[str, str] | None] = {}
    warnings: dict[str, dict[str, None]] = {}  # text -> the executions it applies to, in order

    def warn(text: str, label: str) -> None:
        warnings.setdefault(text, {})[label] = None

    for source in sources(view):
        execution = source.execution
        if execution is None:
            if not _stays_routed(view, deploy, source):
                continue
            # New executions through the alias keep starting on this version after the deploy.
            machine = source.version_arn.rsplit(":", 1)[0]
            name, _, routing = source.label.partition(" (")
            execution = Execution(
                source.version_arn,
                name,
                routing.rstrip(")"),
                machine,
                source.definition_key or "",
                source.role_arn,
            )
            result.routed += 1
        else:
            result.checked += 1
        reached = reader.reached(source)
        root = execution.parent or execution.arn
        if reached.unreadable:
            warn(f"{reached.unreadable}; not checked", source.label)
            continue
        for reach in reached.reaches:
            # The role Step Functions calls Lambda with: the execution's, or the one a Task's
            # Credentials name.
            calling = reach.role_arn or execution.role_arn
            role = view.roles.get(calling)
            if calling == ROLE_AT_RUN_TIME:
                warn(
                    f"calls {reach.function} at {reach.state} with a role its Credentials choose at run "
                    "time: whether that role still allows the call is not checked",
                    source.label,
                )
            elif role is None:
                warn(f"its role {calling} could not be read", source.label)
            elif role.arn not in roles_after:
                roles_after[role.arn] = deploy.role_after(role)
            after, role_note = roles_after[role.arn] if role is not None else (None, "")
            problem_key = (calling, reach.function, reach.qualifier, reach.via)
            if problem_key not in problems:
                problems[problem_key] = _problem(
                    deploy, functions[reach.function], reach, role, after, role_note
                )
            problem = problems[problem_key]
            if problem is None:
                if reach.via == "unqualified":
                    warn(
                        f"calls {reach.function} unqualified at {reach.state}: after the deploy it runs "
                        "the new code (pin the call: the macro does)",
                        source.label,
                    )
                continue
            why, fix = problem
            key = (root, reach.function, why, reach.state)
            risk = found.get(key)
            if risk is None:
                name, status = _identity(view, execution)
                risk = found[key] = Risk(root, name, status, reach.function, [], reach.state, why, fix)
            if reach.qualifier not in risk.versions:
                risk.versions.append(reach.qualifier)
            if execution.parent and execution.arn not in risk.child_arns:
                risk.child_arns.add(execution.arn)
                risk.children += 1
        for note in reached.notes:
            warn(note, source.label)
    result.risks = list(found.values())
    result.warnings.extend(deploy.warnings)
    for text, labels in warnings.items():
        first, *others = labels
        more = f" and {len(others)} more" if others else ""
        result.warnings.append(f"{first}{more}: {text}")
    return result


def _stays_routed(view: AccountView, deploy: _Deploy, source: Source) -> bool:
    """A state machine version an alias routes to, where the deploy does not manage that alias (an alias
    of the stack that the new template keeps is moved by the deploy itself; executions that started through
    it are checked as executions)."""
    for alias_arn in source.routed_by:
        resource = view.resource(alias_arn)
        if resource is None or deploy._new_type(resource.logical_id) != resource.type:
            return True
    return False


def _identity(view: AccountView, execution: Execution) -> tuple[str, str]:
    if execution.status.startswith("routed by"):
        return execution.name, execution.status
    if not execution.parent:
        return execution.name, execution.status
    for other in view.executions:
        if other.arn == execution.parent:
            return other.name, other.status
    return execution.parent.rsplit(":", 1)[-1], "parent"


def _problem(
    deploy: _Deploy,
    function: LambdaFunction,
    reach: Reach,
    role: Role | None,
    after: list[Statement] | None,
    role_note: str,
) -> tuple[str, str] | None:
    why, fix = deploy.function(function)
    if why:
        return why, fix
    if reach.qualifier != LATEST:
        why, fix = deploy.version(function, reach.qualifier)
        if why:
            return why, fix
    if reach.via.startswith("alias "):
        name = reach.via.removeprefix("alias ")
        alias = next((a for a in function.aliases if a.name == name), None)
        resource = deploy.view.resource(alias.arn) if alias is not None and alias.arn else None
        if resource is not None and resource.type == ALIAS:
            why = deploy.removed(resource.logical_id, ALIAS)
            if why:
                return (
                    why,
                    f"keep {resource.logical_id} (or give it DeletionPolicy: Retain) until the execution "
                    "ends",
                )
    if role is None:
        return None
    if after is None:
        return (
            f"its role {role.name} is deleted by the deploy ({role_note})",
            f"keep {role.name} in the template with its name (or give it DeletionPolicy: Retain and "
            "UpdateReplacePolicy: Retain) until the execution ends",
        )
    arn = function.arn if reach.via == "unqualified" else f"{function.arn}:{reach.qualifier}"
    live = role.statements()
    if allows(live, INVOKE, arn) and not allows(after, INVOKE, arn):
        return (
            f"role {role.name} will no longer allow lambda:InvokeFunction on it",
            f"keep {function.arn}:* in a statement of {role.name} until the execution ends (the macro's "
            "retained grant SfnExactVersion-* does this for a role that allowed the function)",
        )
    return None


__all__ = ["Result", "Risk", "check"]
