"""The pure transform: a CloudFormation template in, the pinned template and a report out.

No AWS calls, no clock, no randomness; the input is never mutated; the same input gives the same
output, and transforming the output again changes nothing.
"""

from __future__ import annotations

import copy
import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from sfn_exact_version import report as reasons
from sfn_exact_version.definitions import S3_STATE, Call, Definition
from sfn_exact_version.errors import TransformError, json_type
from sfn_exact_version.index import (
    FUNCTION,
    METADATA_KEY,
    STATE_MACHINE,
    VERSION,
    TemplateIndex,
    opted_out,
)
from sfn_exact_version.intrinsics import NestingTooDeepError, references, render
from sfn_exact_version.policies import (
    GRANT_ID_PREFIX,
    MAX_RESOURCES,
    MAX_TEMPLATE_BYTES,
    ROLE_INLINE_QUOTA,
    ArnSpace,
    StatementRef,
    attached_policies,
    grant_digest,
    grant_size,
    inline_policy_size,
    make_grant,
    plan_statement,
    role_of,
    statements_of,
)
from sfn_exact_version.report import (
    DenyingStatement,
    LeftAlone,
    PinnedCall,
    Report,
    RetainedFunction,
    RetainedGrant,
    VersionChange,
    WidenedStatement,
)
from sfn_exact_version.state_machine_versions import report_state_machine_versions
from sfn_exact_version.targets import FUNCTION_NAME, NOT_LAMBDA, PIN, PINNED, Target, classify
from sfn_exact_version.versions import (
    DESCRIPTION_LIMIT,
    MARKER_LENGTH,
    Fingerprint,
    created_version,
    created_version_id,
    fingerprint,
    keeps_function,
    known_length,
    protect,
    protect_function,
    with_marker,
)

SERVERLESS_PREFIX = "AWS::Serverless::"


@dataclass(frozen=True)
class TransformResult:
    """The processed template (a new object) and what was done to it."""

    template: dict[str, Any]
    report: Report


@dataclass
class _Work:
    """Mutable state of one transform run: copies of changed resources, findings, errors."""

    fragment: Mapping[str, Any]
    index: TemplateIndex
    parameter_values: Mapping[str, Any]
    resources: dict[str, Any] = field(default_factory=dict)  # logical ID -> new resource (copy)
    added: dict[str, Any] = field(default_factory=dict)  # created versions
    report: Report = field(default_factory=Report)
    errors: list[str] = field(default_factory=list)
    # function -> version chosen for it (existing or created)
    chosen: dict[str, str] = field(default_factory=dict)
    # versions that calls name directly but that are not a function's chosen version (its function has
    # several versions, or is not in the template): still called, so still retained
    called: list[str] = field(default_factory=list)  # in first-seen order; see retain()
    prints: dict[str, Fingerprint] = field(default_factory=dict)
    # role -> functions whose versions it must allow; state machine -> role
    role_needs: dict[str, list[str]] = field(default_factory=dict)
    # id -> object, for the shallow copies writable() made (held, so that no id is reused)
    copies: dict[int, Any] = field(default_factory=dict)

    def retain(self, version: str) -> None:
        """Remember that a state machine may call ``version``, so it keeps its Retain policies."""
        if version not in self.called:
            self.called.append(version)

    def resource(self, logical_id: str) -> dict[str, Any]:
        """A private copy of a resource, made on first change (not for a resource already changed
        through :meth:`writable`, whose copy shares what is off the written path)."""
        if logical_id not in self.resources:
            try:
                self.resources[logical_id] = copy.deepcopy(self.fragment["Resources"][logical_id])
            except RecursionError:
                raise _too_deep(f"Resources/{logical_id}") from None
        return self.resources[logical_id]  # type: ignore[no-any-return]

    def writable(self, logical_id: str, path: tuple[str | int, ...]) -> Any:
        """The object at ``path`` in a resource, safe to change: the resource and every object on the
        way are replaced by shallow copies on first write, the rest stays shared with the input (a
        role's deep copy cost more than planning its statements)."""
        if logical_id not in self.resources:
            self.resources[logical_id] = dict(self.fragment["Resources"][logical_id])
        node = self.resources[logical_id]
        self.copies[id(node)] = node
        for key in path:
            child = node[key]
            if id(child) not in self.copies:
                child = copy.copy(child)
                node[key] = child
                self.copies[id(child)] = child
            node = child
        return node

    def replace_properties(self, logical_id: str, properties: dict[str, Any]) -> None:
        """Give a resource new Properties: like :meth:`resource`, without copying the old ones."""
        if logical_id not in self.resources:
            original = self.fragment["Resources"][logical_id]
            self.resources[logical_id] = {
                key: properties if key == "Properties" else copy.deepcopy(value)
                for key, value in original.items()
            }
        self.resources[logical_id]["Properties"] = properties


def _validate(fragment: Any) -> Mapping[str, Any]:
    if not isinstance(fragment, dict):
        raise TransformError(
            f"SfnExactVersion: the template must be a JSON object, got {json_type(fragment)}."
        )
    resources = fragment.get("Resources")
    if not isinstance(resources, dict):
        raise TransformError("SfnExactVersion: the template has no Resources object.")
    problems = []
    for logical_id, resource in resources.items():
        if not isinstance(resource, dict):
            problems.append(f"Resources/{logical_id}: must be an object, got {json_type(resource)}.")
            continue
        kind = resource.get("Type")
        if not isinstance(kind, str):
            problems.append(f"Resources/{logical_id}: has no Type string.")
        elif kind.startswith(SERVERLESS_PREFIX):
            problems.append(
                f"Resources/{logical_id} is {kind}: SfnExactVersion ran before the SAM transform. List it "
                "after SAM: Transform: [AWS::Serverless-2016-10-31, SfnExactVersion]."
            )
        elif "Properties" in resource and not isinstance(resource["Properties"], dict):
            problems.append(f"Resources/{logical_id}/Properties: must be an object.")
    if problems:
        raise TransformError(" ".join(problems))
    parameters = fragment.get("Parameters", {})
    if not isinstance(parameters, dict):
        raise TransformError("SfnExactVersion: Parameters must be an object.")
    metadata = fragment.get("Metadata", {})
    if not isinstance(metadata, dict):
        raise TransformError("SfnExactVersion: the template's Metadata must be an object.")
    return resources


def transform(
    fragment: Any,
    *,
    parameter_values: Mapping[str, Any] | None = None,
    region: str | None = None,
    account_id: str | None = None,
) -> TransformResult:
    """Pin every Lambda call of every state machine in ``fragment`` to an exact version.

    >>> result = transform({"Resources": {}})
    >>> result.template["Metadata"]["SfnExactVersion"]["Pinned"]
    []

    Raises :class:`TransformError` with a message naming the resource, the path and the fix.
    """
    resources = _validate(fragment)
    index = TemplateIndex.build(
        resources,
        fragment.get("Parameters", {}),
        region,
        account_id,
        conditions=fragment.get("Conditions"),
        mappings=fragment.get("Mappings"),
    )
    work = _Work(fragment, index, parameter_values or {})
    current = ""
    try:
        for logical_id, resource in resources.items():
            if resource["Type"] == STATE_MACHINE:
                current = f"Resources/{logical_id}"
                try:
                    _state_machine(work, logical_id, resource)
                except TransformError as error:  # reported with every other problem found
                    work.errors.append(error.message)
        current = "Resources"
        _drop_unused(work)
        _versions(work)
        _retain_functions(work)
        _warn_provisioned(work)
        _policies(work)
        report_state_machine_versions(work.fragment["Resources"], work.index, work.report)
        _fit_grants(work)  # last: it measures the finished template
    except (NestingTooDeepError, RecursionError):
        raise _too_deep(current) from None
    if work.errors:
        raise TransformError(" ".join(work.errors))
    return TransformResult(_assemble(work), work.report)


def _assemble(work: _Work) -> dict[str, Any]:
    template = dict(work.fragment)
    resources: dict[str, Any] = {}
    for logical_id, resource in work.fragment["Resources"].items():
        resources[logical_id] = work.resources.get(logical_id, resource)
    resources.update(work.added)
    template["Resources"] = resources
    metadata = dict(template.get("Metadata") or {})
    metadata[METADATA_KEY] = work.report.to_dict()
    template["Metadata"] = metadata
    return template


def _state_machine(work: _Work, logical_id: str, resource: Mapping[str, Any]) -> None:
    properties = resource.get("Properties", {})
    definition = Definition(logical_id, properties)
    skip = opted_out(resource)
    if not skip:
        # A version the definition names anywhere may be called (state data feeding FunctionName.$, an
        # S3 definition's substitution): retained like the versions of pinned calls.
        for name in references(properties):
            if work.index.type_of(name) == VERSION:
                work.retain(name)
    try:
        definition.read()
    except TransformError:
        if skip:
            work.report.left_alone.append(
                LeftAlone(logical_id, "*", "", reasons.OPTED_OUT, "the state machine opts out", "")
            )
            return
        raise
    location = definition.location(definition.form or "Definition")
    needs: list[str] = []
    if definition.form == "DefinitionS3Location":
        _s3_substitutions(work, definition, skip, needs)
    for call in definition.calls():
        target = _target(call, work.index)
        if target.kind == NOT_LAMBDA:
            continue
        if skip:
            work.report.left_alone.append(
                LeftAlone(
                    logical_id,
                    call.state,
                    _call_text(call),
                    reasons.OPTED_OUT,
                    f"{logical_id} sets Metadata.SfnExactVersion.Pin: false",
                    location,
                )
            )
            continue
        if target.kind == PIN:
            version = _version_for(work, target, logical_id, call.state)
            if version is None:
                continue
            assert target.function is not None
            if not definition.pin(call, version):
                work.report.left_alone.append(
                    LeftAlone(
                        logical_id,
                        call.state,
                        target.text,
                        reasons.UNSUPPORTED,
                        "the target is assembled from several pieces the macro cannot rewrite "
                        "together; write it as one reference (GetAtt, Ref or ${Fn.Arn})",
                        location,
                    )
                )
                continue
            work.report.pinned.append(PinnedCall(logical_id, call.state, target.function, version, location))
            needs.append(target.function)
        elif target.kind == PINNED:
            assert target.function is not None and target.version is not None
            _adopt(work, target.function, target.version)
            work.report.pinned.append(
                PinnedCall(logical_id, call.state, target.function, target.version, location, already=True)
            )
            needs.append(target.function)
        else:
            work.report.left_alone.append(
                LeftAlone(logical_id, call.state, target.text, target.kind, target.detail, location)
            )
            if target.version is not None:
                work.retain(target.version)
            if target.kind == reasons.ALIAS:
                work.report.warnings.append(
                    f"{location}: {call.state} calls alias {target.text}, which moves; running executions "
                    "may call new code."
                )
    new_properties = definition.apply()
    if new_properties is not None:
        work.replace_properties(logical_id, new_properties)
    if needs:
        _remember_role(work, logical_id, properties, needs)


def _s3_substitutions(work: _Work, definition: Definition, skip: bool, needs: list[str]) -> None:
    logical_id = definition.logical_id
    location = definition.location("DefinitionSubstitutions")
    for key, value in definition.s3_substitutions():
        target = classify(value, FUNCTION_NAME, work.index)
        state = f"{S3_STATE} ${{{key}}}"
        if skip and target.kind in (PIN, PINNED):
            work.report.left_alone.append(
                LeftAlone(
                    logical_id, state, target.text, reasons.OPTED_OUT, "opted out in Metadata", location
                )
            )
            continue
        if target.kind == PIN and target.function is not None:
            if opted_out(work.index.resources[target.function]):
                work.report.left_alone.append(
                    LeftAlone(
                        logical_id, state, target.text, reasons.OPTED_OUT, "opted out in Metadata", location
                    )
                )
                continue
            version = _version_for(work, target, logical_id, state)
            if version is not None:
                definition.pin_substitution(key, version)
                work.report.pinned.append(PinnedCall(logical_id, state, target.function, version, location))
                needs.append(target.function)
        elif target.kind == PINNED and target.function is not None and target.version is not None:
            _adopt(work, target.function, target.version)
            work.report.pinned.append(
                PinnedCall(logical_id, state, target.function, target.version, location, already=True)
            )
            needs.append(target.function)
        elif target.kind in (reasons.ALIAS, reasons.LATEST):
            work.report.left_alone.append(
                LeftAlone(logical_id, state, target.text, target.kind, target.detail, location)
            )
            if target.kind == reasons.ALIAS:
                work.report.warnings.append(
                    f"{location}: {state} is alias {target.text}, which moves; running executions "
                    "may call new code."
                )
        elif target.version is not None:
            work.retain(target.version)  # a version of a function we cannot see: still retained


def _adopt(work: _Work, function: str, version: str) -> None:
    """A call the template already points at ``version``: when it is the function's only version,
    manage it like one the macro pinned (fingerprint, Retain, IAM), which keeps a second run a no-op.
    Not for a function that opts out: a fingerprint in the Description would republish its version."""
    if work.index.versions_of.get(function) == [version] and not opted_out(work.index.resources[function]):
        work.chosen.setdefault(function, version)
    else:
        work.retain(version)


def _drop_unused(work: _Work) -> None:
    """Forget a version chosen for calls that could not be rewritten (``unsupported``) and for no
    other call: it is neither created nor adopted, since nothing will call it."""
    used = {call.version for call in work.report.pinned}
    for function, version_id in list(work.chosen.items()):
        if version_id not in used:
            del work.chosen[function]
            work.added.pop(version_id, None)


def _call_text(call: Call) -> str:
    return render(call.target) if call.target is not None else str(call.value)


def _target(call: Call, index: TemplateIndex) -> Target:
    if call.dynamic:
        return Target(reasons.DYNAMIC, str(call.value), detail=call.dynamic)
    target = classify(call.target, call.context, index)
    if call.qualified and target.kind in (PIN, PINNED):
        return Target(reasons.QUALIFIED, target.text, version=target.version, detail=call.qualified)
    if target.kind == PIN and target.function is not None and opted_out(index.resources[target.function]):
        return Target(
            reasons.OPTED_OUT,
            target.text,
            detail=f"{target.function} sets Metadata.SfnExactVersion.Pin: false",
        )
    return target


def _version_for(work: _Work, target: Target, state_machine: str, state: str) -> str | None:
    function = target.function
    assert function is not None
    if function in work.chosen:
        return work.chosen[function]
    existing = work.index.versions_of.get(function, [])
    if len(existing) > 1:
        work.errors.append(
            f"Resources/{state_machine}: {state} calls {function}, which has several versions "
            f"({', '.join(existing)}); SfnExactVersion cannot tell which to pin. Keep one "
            f"AWS::Lambda::Version for {function}, or point the call at the version you want."
        )
        work.chosen[function] = existing[0]
        return None
    if existing:
        work.chosen[function] = existing[0]
        return existing[0]
    print_ = _print(work, function)
    version_id = created_version_id(function, print_)
    if version_id in work.index.resources:
        work.errors.append(
            f"Resources/{version_id} already exists and is not a version of {function}; SfnExactVersion "
            f"needs that logical ID for {function}'s version. Rename Resources/{version_id}."
        )
        return None
    work.added[version_id] = created_version(function, work.index.resources[function], print_)
    work.chosen[function] = version_id
    return version_id


def _print(work: _Work, function: str) -> Fingerprint:
    if function not in work.prints:
        try:
            work.prints[function] = fingerprint(function, work.index, work.parameter_values)
        except (NestingTooDeepError, RecursionError):  # name the function, not the state machine calling it
            raise _too_deep(f"Resources/{function}/Properties") from None
    return work.prints[function]


def _too_deep(where: str) -> TransformError:
    return TransformError(f"{where}: nested too deeply for SfnExactVersion to read (more than 100 levels).")


def _warn_secrets(work: _Work, function: str, print_: Fingerprint) -> None:
    # Emitted while versions are settled, not when the fingerprint is first computed: a created version
    # and the same version adopted on a second run must give the same report (same warning order).
    for name in print_.secret_parameters:
        work.report.warnings.append(
            f"Resources/{function} uses NoEcho parameter {name}: its value is left out of the version "
            "fingerprint, so a change of it alone publishes no new version."
        )
    if print_.timestamped_code:
        work.report.warnings.append(
            f"Resources/{function}/Properties/Code/S3Key: the code is known only by a timestamped location "
            "(a new key on every package), so every deploy publishes a new version of "
            f"{function}, changed or not. Let the template state the code's content: a key named after it, "
            "or a version with CodeSha256 (Serverless Framework: versionFunctions: true)."
        )


def _mark_function(work: _Work, function: str, print_: Fingerprint) -> None:
    """Write ``print_``'s marker at the end of the function's own Description.

    The Description is version-locked: whenever a version's identity changes because of the macro (a new
    version, or an existing one replaced for its new Description), the function changes in the same
    deploy, so Lambda publishes instead of failing with "A version for this Lambda function exists"."""
    original = work.fragment["Resources"][function].get("Properties")
    if not isinstance(original, dict):
        work.replace_properties(function, {"Description": print_.marker})
        return
    description, shortened = with_marker(original.get("Description"), print_)
    if shortened:
        work.report.warnings.append(
            f"Resources/{function}/Properties/Description: shortened to make room for the fingerprint."
        )
    length = known_length(description, work.index, work.parameter_values)
    if not isinstance(description, str) and length is not None and length > DESCRIPTION_LIMIT:
        work.report.warnings.append(
            f"Resources/{function}/Properties/Description: with this deploy's parameter values it is "
            f"{length} characters with the fingerprint, more than Lambda's {DESCRIPTION_LIMIT}; keep the "
            f"computed text to {DESCRIPTION_LIMIT - MARKER_LENGTH - 1} characters or fewer."
        )
    if original.get("Description") != description:
        work.writable(function, ("Properties",))["Description"] = description


def _versions(work: _Work) -> None:
    for function, version_id in work.chosen.items():
        if version_id in work.added:
            print_ = work.prints[function]
            _warn_secrets(work, function, print_)
            _mark_function(work, function, print_)
            work.report.versions.append(VersionChange(version_id, function, True, print_.digest))
            continue
        if work.index.versions_of.get(function) != [version_id]:
            continue
        print_ = _print(work, function)
        _warn_secrets(work, function, print_)
        _mark_function(work, function, print_)
        resource = work.resource(version_id)
        properties = resource.setdefault("Properties", {})
        description, shortened = with_marker(properties.get("Description"), print_)
        properties["Description"] = description
        if shortened:
            work.report.warnings.append(
                f"Resources/{version_id}/Properties/Description: shortened to make room for the fingerprint."
            )
        work.report.warnings.extend(protect(version_id, resource))
        created = version_id == created_version_id(function, print_) and description == print_.marker
        work.report.versions.append(VersionChange(version_id, function, created, print_.digest))
    for version_id in work.called:
        if version_id in work.chosen.values():
            continue
        resource = work.fragment["Resources"][version_id]
        if "DeletionPolicy" not in resource or "UpdateReplacePolicy" not in resource:
            resource = work.resource(version_id)  # protect() adds what is missing: change a copy
        work.report.warnings.extend(protect(version_id, resource))


def _retain_functions(work: _Work) -> None:
    """Retain every function a pinned call targets, and the function of every other version a state
    machine may call: removing or replacing a function deletes all its versions (their own Retain does
    not help). Pin: false on a function does not change this (its versions may still be called by
    name); RetainFunction: false does."""
    functions: list[str] = []
    for call in work.report.pinned:
        if call.function not in functions:
            functions.append(call.function)
    for version in work.called:
        function = work.index.function_of.get(version)
        if function is not None and function not in functions and work.index.type_of(function) == FUNCTION:
            functions.append(function)
    for function in functions:
        original = work.fragment["Resources"][function]
        keep = keeps_function(original)
        if keep and ("DeletionPolicy" not in original or "UpdateReplacePolicy" not in original):
            resource = work.writable(function, ())
        else:
            resource = dict(original)  # protect_function() only reads it: nothing is missing
        if keep:
            work.report.warnings.extend(protect_function(function, resource))
        work.report.functions.append(
            RetainedFunction(
                function,
                str(resource.get("DeletionPolicy", "Delete")),
                str(resource.get("UpdateReplacePolicy", "Delete")),
                opted_out=not keep,
            )
        )


def _warn_provisioned(work: _Work) -> None:
    """Provisioned concurrency is billed for as long as it is configured: on a version the macro keeps,
    that is until the version is removed by hand (or by prune), long after a newer version took over."""
    versions = [*work.chosen.values(), *(v for v in work.called if v not in work.chosen.values())]
    for version in versions:
        original = work.fragment["Resources"].get(version)
        properties = original.get("Properties") if isinstance(original, dict) else None
        if isinstance(properties, dict) and "ProvisionedConcurrencyConfig" in properties:
            work.report.warnings.append(
                f"Resources/{version}/Properties/ProvisionedConcurrencyConfig: the version is retained, and "
                "keeps its provisioned concurrency (billed) after a newer version replaces it, until it is "
                "removed; remove old versions no execution needs (sfn-exact-version prune)."
            )
    for retained in work.report.functions:
        for alias in work.index.aliases_of.get(retained.function, []):
            properties = work.fragment["Resources"][alias].get("Properties")
            if isinstance(properties, dict) and "ProvisionedConcurrencyConfig" in properties:
                work.report.warnings.append(
                    f"Resources/{alias}/Properties/ProvisionedConcurrencyConfig: state machines call the "
                    f"versions of {retained.function} directly, not through this alias; its provisioned "
                    "concurrency follows the alias to each new version, and the old versions kept for "
                    "running executions run without it."
                )


def _remember_role(work: _Work, state_machine: str, properties: Mapping[str, Any], needs: list[str]) -> None:
    found = role_of(properties, work.index)
    unique = sorted(set(needs))
    if found.role is None:
        where = f"Resources/{state_machine}/Properties/RoleArn"
        what = (
            "make sure it allows lambda:InvokeFunction on the versions of "
            + ", ".join(f"{function} (<{function} ARN>:*)" for function in unique)
            + "."
        )
        if found.unresolved is not None:
            work.report.warnings.append(
                f"{where}: {found.unresolved}: {what[:-1]}, or name one role (!GetAtt Role.Arn)."
            )
        else:
            work.report.warnings.append(f"{where}: the role is not defined in this template; {what}")
        return
    bucket = work.role_needs.setdefault(found.role, [])
    bucket.extend(function for function in unique if function not in bucket)


def _policies(work: _Work) -> None:
    space = ArnSpace(work.index)
    attached = attached_policies(work.index)
    # Grants are new resources and new inline policies: both have limits (see _Room).
    room = _Room(MAX_RESOURCES - len(work.fragment["Resources"]) - len(work.added))
    for role, functions in work.role_needs.items():
        room.quota = ROLE_INLINE_QUOTA - inline_policy_size(role, work.index, attached)
        allowing: set[str] = set()
        denied: set[str] = set()
        # function -> the statements that allow it (or a version of it) in the input
        allows: dict[str, list[tuple[StatementRef, Mapping[str, Any]]]] = {}
        plans = []
        for statement_ref, statement in list(statements_of(role, work.index, attached)):
            plan = plan_statement(statement, functions, space, statement_ref.location)
            plans.append((statement_ref, statement, plan))
            denied.update(plan.denies)
        for statement_ref, statement, plan in plans:
            location = statement_ref.location
            additions = plan.additions
            plan_allowing = plan.allowing
            if statement.get("Effect") == "Allow" and denied:
                # The role denies these functions outright: widening an Allow for their versions could
                # only matter where a Deny spares the versions, i.e. let a denied call through.
                additions = [
                    e for e, f in zip(plan.additions, plan.added_for, strict=True) if f not in denied
                ]
                plan_allowing = [f for f in plan.allowing if f not in denied or f not in plan.added_for]
            allowing.update(plan_allowing)
            for function in plan.allows:
                allows.setdefault(function, []).append((statement_ref, statement))
            for function in plan_allowing:
                work.report.widened.append(WidenedStatement(role, location, function))
            for function in plan.denying:
                work.report.denying.append(DenyingStatement(role, location, function))
            for warning in plan.warnings:
                if warning not in work.report.warnings:  # a policy attached to several roles
                    work.report.warnings.append(warning)
            if additions:
                target = work.writable(statement_ref.resource, statement_ref.path)
                entries = target[plan.key]
                entries = entries if isinstance(entries, list) else [entries]
                # A policy attached to several roles is planned once per role: add each entry once.
                target[plan.key] = [*entries, *(entry for entry in additions if entry not in entries)]
        room.skipped = []
        for function in functions:
            granted = False
            if function in allows and function not in denied:
                granted = _grant(work, role, function, allows[function], room)
            if function not in allowing and function not in denied and not granted:
                work.report.warnings.append(
                    f"Resources/{role}: no statement of this role allows lambda:InvokeFunction on "
                    f"{function}'s ARN in a form SfnExactVersion can extend; make sure the role allows "
                    f"<{function} ARN>:* so that executions can call its versions."
                )
        if room.skipped:
            work.report.warnings.append(
                f"Resources/{role}: no retained grant for {', '.join(room.skipped)}: "
                + (
                    f"the template would exceed CloudFormation's {MAX_RESOURCES} resources"
                    if room.resources <= 0
                    else f"the role's inline policies would exceed IAM's {ROLE_INLINE_QUOTA} characters"
                )
                + ". The role's statements allow the versions for this deploy, but executions still "
                "running when a later deploy stops calling one of them may lose permission to invoke it."
            )


def _fit_grants(work: _Work) -> None:
    """Drop retained grants, the last first, while the processed template would exceed CloudFormation's
    size limit: a deploy that fails for a grant protects nothing."""
    dropped: list[RetainedGrant] = []
    warning: str | None = None
    while work.report.grants:
        try:
            size = len(json.dumps(_assemble(work), separators=(",", ":")).encode("utf-8"))
        except (RecursionError, ValueError, TypeError):  # cannot be measured here; CloudFormation will tell
            return
        if size <= MAX_TEMPLATE_BYTES:
            return
        if warning is not None:
            work.report.warnings.remove(warning)
        while size > MAX_TEMPLATE_BYTES and work.report.grants:  # an estimate; measured again above
            grant = work.report.grants.pop()
            resource = work.added.pop(grant.grant, None)
            size -= len(json.dumps(grant.to_dict(), separators=(",", ":"))) + 1
            if resource is not None:
                size -= len(json.dumps({grant.grant: resource}, separators=(",", ":")))
            dropped.append(grant)
        warning = (
            "Resources: no retained grant for "
            + ", ".join(f"{item.function} (role {item.role})" for item in reversed(dropped))
            + f": the processed template would exceed CloudFormation's {MAX_TEMPLATE_BYTES} bytes. The "
            "roles' statements allow the versions for this deploy, but executions still running when a "
            "later deploy stops calling one of them may lose permission to invoke it."
        )
        work.report.warnings.append(warning)


@dataclass
class _Room:
    """What is left for retained grants: resources in the template, characters in one role's inline
    policies (estimated), and the functions of that role left without a grant for lack of room."""

    resources: int
    quota: int = 0
    skipped: list[str] = field(default_factory=list)


def _grant(
    work: _Work,
    role: str,
    function: str,
    statements: list[tuple[StatementRef, Mapping[str, Any]]],
    room: _Room,
) -> bool:
    """Add the retained grant of ``role`` for ``function`` (design decision D3); False when it cannot
    be expressed (a warning then says why)."""
    resources = work.index.resources
    where = f"Resources/{role}"
    conditions = {
        name
        for name in (resources[function].get("Condition"), resources[role].get("Condition"))
        if isinstance(name, str)
    }
    # The grant exists only where an allowing statement does: a policy resource's Condition counts too.
    holders = {resources[ref.resource].get("Condition") for ref, _ in statements if ref.resource != role}
    if None not in holders:  # every allowing statement sits in a policy resource with a Condition
        conditions.update(str(name) for name in holders)
    if len(conditions) > 1:
        work.report.warnings.append(
            f"{where}: no retained grant for {function}: it would need the Conditions "
            f"{', '.join(sorted(conditions))} at once. Executions still running when a later deploy "
            f"stops calling {function} may lose permission to invoke its versions."
        )
        return False
    when: Any = None
    if all("Condition" in statement for _, statement in statements):
        first = statements[0][1]["Condition"]
        try:
            same = all(statement["Condition"] == first for _, statement in statements[1:])
        except RecursionError:
            same = False
        if not same:
            work.report.warnings.append(
                f"{where}: no retained grant for {function}: the statements that allow it carry "
                "different IAM Conditions. Executions still running when a later deploy stops calling "
                f"{function} may lose permission to invoke its versions."
            )
            return False
        when = first
    cost = grant_size(function, work.index)
    if GRANT_ID_PREFIX + grant_digest(role, function, work.index) not in resources and (
        room.resources <= 0 or cost > room.quota
    ):
        room.skipped.append(function)
        return True  # the warning is about room, not about the role's statements
    grant = make_grant(role, function, work.index, next(iter(conditions), None), when)
    existing = resources.get(grant.logical_id)
    if existing is not None and existing != grant.resource:
        work.errors.append(
            f"Resources/{grant.logical_id} already exists and is not SfnExactVersion's grant of {function} "
            f"to {role}; SfnExactVersion needs that logical ID. Rename Resources/{grant.logical_id}."
        )
        return False
    if existing is None:
        room.resources -= 1
        work.added[grant.logical_id] = grant.resource
    room.quota -= cost  # a grant already there (a second run) takes its room as on the first
    work.report.grants.append(RetainedGrant(grant.logical_id, grant.policy_name, role, function))
    return True
