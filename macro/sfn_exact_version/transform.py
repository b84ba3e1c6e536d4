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
from sfn_exact_version.definitions import Call, Definition, read_definition
from sfn_exact_version.errors import Problem, ProblemReason, TransformError, fail, json_type
from sfn_exact_version.index import (
    FUNCTION,
    METADATA_KEY,
    STATE_MACHINE,
    VERSION,
    TemplateIndex,
    opted_out,
    option_problems,
)
from sfn_exact_version.intrinsics import (
    SUB_PLACEHOLDER,
    NestingTooDeepError,
    intrinsic,
    references,
    render,
    symbolic,
)
from sfn_exact_version.policies import (
    GRANT_ID_PREFIX,
    MAX_RESOURCES,
    MAX_TEMPLATE_BYTES,
    ROLE_INLINE_QUOTA,
    ArnSpace,
    Branch,
    StatementRef,
    attached_policies,
    grant_digest,
    grant_size,
    inline_policy_size,
    make_grant,
    managed_policies_outside,
    plan_statement,
    render_value,
    role_in,
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
    literal,
)
from sfn_exact_version.state_machine_versions import report_state_machine_versions
from sfn_exact_version.targets import (
    AMBIGUOUS,
    NOT_LAMBDA,
    PIN,
    PINNED,
    Target,
    chosen_at_run_time,
    classify,
)
from sfn_exact_version.versions import (
    DESCRIPTION_LIMIT,
    MARKER_LENGTH,
    RETAIN_POLICIES,
    Fingerprint,
    created_version,
    created_version_id,
    fingerprint,
    keeps_function,
    known_length,
    protect,
    protect_function,
    retain,
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
    errors: list[Problem] = field(default_factory=list)
    # function -> version chosen for it (existing or created)
    chosen: dict[str, str] = field(default_factory=dict)
    # versions that calls name directly but that are not a function's chosen version (its function has
    # several versions, or is not in the template): still called, so still retained
    called: list[str] = field(default_factory=list)  # in first-seen order; see retain()
    # functions that calls name with a version number of their own ("name:3", Qualifier "3"): that version
    # lives as long as the function does, so the function is retained as for a pinned call
    qualified: list[str] = field(default_factory=list)
    prints: dict[str, Fingerprint] = field(default_factory=dict)
    # role -> functions whose versions it must allow; state machine -> role
    role_needs: dict[str, list[str]] = field(default_factory=dict)
    # id -> object, for the shallow copies writable() made (held, so that no id is reused)
    copies: dict[int, Any] = field(default_factory=dict)
    # state machine -> what its input Properties reference and its DependsOn (see _cycles)
    depends: dict[str, list[str]] = field(default_factory=dict)

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
        raise fail(
            ProblemReason.TEMPLATE,
            "",
            f"SfnExactVersion: the template must be a JSON object, got {json_type(fragment)}.",
        )
    resources = fragment.get("Resources")
    if not isinstance(resources, dict):
        raise fail(ProblemReason.TEMPLATE, "", "SfnExactVersion: the template has no Resources object.")
    problems = []
    for logical_id, resource in resources.items():
        where = f"Resources/{logical_id}"
        if not isinstance(resource, dict):
            problems.append(
                Problem.at(ProblemReason.TEMPLATE, where, f"must be an object, got {json_type(resource)}.")
            )
            continue
        kind = resource.get("Type")
        if not isinstance(kind, str):
            problems.append(Problem.at(ProblemReason.TEMPLATE, where, "has no Type string."))
        elif kind.startswith(SERVERLESS_PREFIX):
            fix = "List it after SAM: Transform: [AWS::Serverless-2016-10-31, SfnExactVersion]."
            problems.append(
                Problem(
                    ProblemReason.SERVERLESS,
                    where,
                    f"{where} is {kind}: SfnExactVersion ran before the SAM transform. {fix}",
                    fix,
                )
            )
        elif "Properties" in resource and not isinstance(resource["Properties"], dict):
            problems.append(Problem.at(ProblemReason.TEMPLATE, f"{where}/Properties", "must be an object."))
        problems.extend(option_problems(logical_id, resource))
    if problems:
        raise TransformError(problems=problems)
    parameters = fragment.get("Parameters", {})
    if not isinstance(parameters, dict):
        raise fail(ProblemReason.TEMPLATE, "", "SfnExactVersion: Parameters must be an object.")
    metadata = fragment.get("Metadata", {})
    if not isinstance(metadata, dict):
        raise fail(ProblemReason.TEMPLATE, "", "SfnExactVersion: the template's Metadata must be an object.")
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
                    work.errors.extend(error.problems)
        current = "Resources"
        work.report.warnings.extend(
            reasons.definition_not_read(name) for name in unread_definitions(resources, work.report)
        )
        _drop_unused(work)
        _versions(work)
        _retain_functions(work)
        _warn_provisioned(work)
        _policies(work)
        _cycles(work)
        report_state_machine_versions(work.fragment["Resources"], work.index, work.report)
        if not work.errors:
            template, size = _fit_grants(work)  # last: it measures the finished template
    except NestingTooDeepError as error:
        raise _too_deep(current, error.limit) from None
    except RecursionError:
        raise _too_deep(current) from None
    if work.errors:
        raise TransformError(problems=work.errors)
    _check_limits(template, size, len(work.added))
    return TransformResult(template, work.report)


def unread_definitions(resources: Mapping[str, Any], report: Report) -> list[str]:
    """State machines (not opted out) whose definition is in S3 and in which the macro found no Lambda call:
    no substitution names a function (of the template, or by an ARN of another), so calls written in the
    definition were not seen at all."""
    seen = {item.state_machine for item in report.pinned} | {item.state_machine for item in report.left_alone}
    found = []
    for logical_id, resource in resources.items():
        properties = resource.get("Properties")
        if (
            resource["Type"] != STATE_MACHINE
            or logical_id in seen
            or not isinstance(properties, dict)
            or "DefinitionS3Location" not in properties
            or "Definition" in properties
            or "DefinitionString" in properties
            or opted_out(resource)
        ):
            continue
        substitutions = properties.get("DefinitionSubstitutions")
        values = substitutions.values() if isinstance(substitutions, dict) else ()
        if not any(":function:" in render(symbolic(value) or ()) for value in values):
            found.append(logical_id)
    return found


def _check_limits(template: dict[str, Any], size: int | None, added: int) -> None:
    """Fail, naming the limit, when CloudFormation would refuse the processed template: more than
    :data:`MAX_RESOURCES` resources, or more than :data:`MAX_TEMPLATE_BYTES` of JSON (``size``, measured
    without whitespace, so only a template that is surely too large fails; None when it could not be
    measured here: CloudFormation will tell)."""
    problems = []
    count = len(template["Resources"])
    if count > MAX_RESOURCES:
        problems.append(
            Problem.at(
                ProblemReason.RESOURCE_LIMIT,
                "",
                f"SfnExactVersion: the processed template would have {count} resources ({added} of them "
                f"versions the macro creates); CloudFormation allows {MAX_RESOURCES} per stack.",
                "Move some functions and the state machines that call them into a nested stack (each stack "
                "is transformed on its own), or set Metadata.SfnExactVersion.Pin: false on state machines "
                "whose calls need not be pinned.",
            )
        )
    if size is not None and size > MAX_TEMPLATE_BYTES:
        problems.append(
            Problem.at(
                ProblemReason.SIZE_LIMIT,
                "",
                f"SfnExactVersion: the processed template would be {size} bytes of JSON; CloudFormation "
                f"accepts a processed template of at most 1 MB ({MAX_TEMPLATE_BYTES} bytes).",
                "Move part of the stack into a nested stack, or shorten what the template carries inline "
                "(ZipFile code, definitions).",
            )
        )
    if problems:
        raise TransformError(problems=problems)


def _json_size(value: Any) -> int:
    """Bytes of ``value`` as compact UTF-8 JSON. A template may carry data nested deeper than the JSON
    encoder recurses (in a part the macro never reads): then counted with a stack."""
    try:
        # A template read from JSON holds no reference loops: no need for the encoder to look for them
        # (half its time). Escaping to ASCII is the encoder's fastest path; a text without "\u" then had
        # only ASCII characters, one byte each (and its other escapes are in the JSON text as they are).
        text = json.dumps(value, separators=(",", ":"), check_circular=False)
        if "\\u" not in text:
            return len(text)
        text = json.dumps(value, separators=(",", ":"), ensure_ascii=False, check_circular=False)
        return len(text.encode("utf-8"))
    except RecursionError:
        pass
    size = 0
    stack = [value]
    while stack:
        item = stack.pop()
        if isinstance(item, dict):
            size += 2 + max(len(item) - 1, 0) + len(item)  # braces, commas, colons
            for key, child in item.items():
                size += _json_size(str(key))
                stack.append(child)
        elif isinstance(item, list):
            size += 2 + max(len(item) - 1, 0)
            stack.extend(item)
        else:
            size += _json_size(item)
    return size


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
    skip = opted_out(resource)
    if not skip:
        # A version the definition names anywhere may be called (state data feeding FunctionName.$, an
        # S3 definition's substitution): retained like the versions of pinned calls.
        names = list(dict.fromkeys(references(properties)))
        for name in names:
            if work.index.type_of(name) == VERSION:
                work.retain(name)
        # Kept for the cycle check, which would otherwise walk the (often large) definition again.
        work.depends[logical_id] = names + _depends_on(resource)
    try:
        definition = read_definition(logical_id, properties)
    except TransformError:
        if skip:
            work.report.left_alone.append(
                LeftAlone(logical_id, "*", "", reasons.OPTED_OUT, "the state machine opts out", "")
            )
            return
        raise
    needs: list[tuple[str, str]] = []  # (state, function) of each call the role must allow
    calls = definition.calls()
    for call in calls:
        _call_site(work, definition, call, skip, needs)
    if not skip:
        _data_references(work, definition)
    new_properties = definition.apply()
    if new_properties is not None:
        work.replace_properties(logical_id, new_properties)
    if needs:
        _remember_role(work, logical_id, properties, needs, definition, calls)


# What a substitution of a definition kept in S3 (a call site that is not ``sure``) must name to count as
# a call; anything else there (a table name, another service's ARN) is data.
_NAMES_A_FUNCTION = (PIN, PINNED, AMBIGUOUS, reasons.ALIAS, reasons.LATEST, reasons.OPTED_OUT)


def _call_site(
    work: _Work, definition: Definition, call: Call, skip: bool, needs: list[tuple[str, str]]
) -> None:
    """Decide one call site: pin it, adopt the version it already names, or report why it is left
    alone; ``needs`` gains ``(state, function)`` for each call the state machine's role must allow."""
    logical_id = definition.logical_id
    location = definition.location
    unfilled = _unfilled(call) if call.sure and not skip else []
    if unfilled:
        _report_unfilled(work, definition, call, unfilled)
        return
    target = _target(call, work.index)
    if target.kind == NOT_LAMBDA or (not call.sure and target.kind not in _NAMES_A_FUNCTION):
        if target.version is not None:
            work.retain(target.version)  # a version of a function we cannot see: still retained
        return
    if skip:
        # Every call of a state machine that opts out is reported opted-out (an S3 substitution too, once
        # it names a function, whether one or several may have that name); a version it names is not
        # adopted (no fingerprint, no Retain).
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
        return
    if target.kind == AMBIGUOUS:
        work.errors.append(_ambiguous(logical_id, call.state, target))
        return
    if target.kind == PIN:
        assert target.function is not None
        version = _version_for(work, target, logical_id, call.state)
        if version is None:
            return
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
            return
        work.report.pinned.append(PinnedCall(logical_id, call.state, target.function, version, location))
        needs.append((call.state, target.function))
    elif target.kind == PINNED:
        assert target.function is not None and target.version is not None
        _adopt(work, target.function, target.version)
        work.report.pinned.append(
            PinnedCall(logical_id, call.state, target.function, target.version, location, already=True)
        )
        needs.append((call.state, target.function))
    else:
        work.report.left_alone.append(
            LeftAlone(logical_id, call.state, target.text, target.kind, target.detail, location)
        )
        if target.version is not None:
            work.retain(target.version)
        elif target.kind == reasons.QUALIFIED and target.function:
            # A version named by number is as exact as a pinned call: the function is retained, and the
            # role must keep allowing its versions (a later deploy may drop the statement that did).
            if target.function not in work.qualified:
                work.qualified.append(target.function)
            if call.sure:
                needs.append((call.state, target.function))
        if target.kind == reasons.ALIAS:
            verb = "calls" if call.sure else "is"
            work.report.warnings.append(
                f"{location}: {call.state} {verb} alias {target.text}, which moves; running executions "
                "may call new code."
            )


def _unfilled(call: Call) -> list[str]:
    """The ``${key}`` placeholders no ``DefinitionSubstitutions`` key fills in a call's target (the
    filled ones were resolved to their values while reading)."""
    if call.dynamic or call.target is None:
        return []
    strings = [piece for piece in call.target if isinstance(piece, str)]
    if not any("$" in piece for piece in strings):  # the usual call: no placeholder to look for
        return []
    text = "".join(strings)
    return list(dict.fromkeys(match.group(0) for match in SUB_PLACEHOLDER.finditer(text)))


def _report_unfilled(work: _Work, definition: Definition, call: Call, unfilled: list[str]) -> None:
    """A call target that holds a placeholder no substitution fills: CloudFormation passes it to Step
    Functions as written, where a Task's Resource or FunctionName then names nothing that exists."""
    names = ", ".join(unfilled)
    logical_id = definition.logical_id
    substitutions = work.index.resources[logical_id].get("Properties", {}).get("DefinitionSubstitutions")
    if isinstance(substitutions, dict) and intrinsic(substitutions) is not None:
        # Fn::If with a side that is no map (AWS::NoValue, say): the macro cannot read the keys
        detail = (
            f"DefinitionSubstitutions is {next(iter(substitutions))}, which the macro cannot read key by "
            f"key, so it cannot tell what fills {names}; write it as a map whose values choose "
            "(Fn::If per key), and the macro pins each side"
        )
        work.report.left_alone.append(
            LeftAlone(
                logical_id, call.state, _call_text(call), reasons.UNSUPPORTED, detail, definition.location
            )
        )
        return
    detail = (
        f"no DefinitionSubstitutions key fills {names}, so Step Functions receives it as written; check "
        "the key's spelling in DefinitionSubstitutions"
    )
    work.report.left_alone.append(
        LeftAlone(
            logical_id,
            call.state,
            _call_text(call),
            reasons.UNSUPPORTED,
            detail,
            definition.location,
        )
    )
    work.report.warnings.append(
        f"{definition.location}: {call.state} names {names}, which no DefinitionSubstitutions key fills; "
        "Step Functions receives the text as written."
    )


def _data_references(work: _Work, definition: Definition) -> None:
    """Report the functions a definition names as data rather than as a call's target (a Pass state's
    Result feeding a FunctionName.$ call, the arguments of a function that invokes it, as CDK's
    CallAwsServiceCrossRegion does): whatever calls them from there runs their newest code."""
    state_machine = definition.logical_id
    named = {
        name
        for name in work.depends.get(state_machine, ())
        if work.index.type_of(name) == FUNCTION and not opted_out(work.index.resources[name])
    }
    if not named:  # the usual case: nothing to look for, no second walk
        return
    seen: set[tuple[str, str]] = set()
    for place, atom in definition.named_in_data(named):
        if atom.name not in named or (place, atom.name) in seen:
            continue
        seen.add((place, atom.name))
        work.report.left_alone.append(
            LeftAlone(
                state_machine,
                place,
                atom.render(),
                reasons.UNSUPPORTED,
                f"the definition passes {atom.name} as data, not as a Task's Resource or FunctionName; "
                "whatever invokes it from there (a FunctionName.$ call, a function that calls it) runs its "
                "newest code. Pass a version instead (Ref of an AWS::Lambda::Version), or opt the function "
                "out if nothing calls it",
                definition.location,
            )
        )


def _ambiguous(state_machine: str, state: str, target: Target) -> Problem:
    return Problem.at(
        ProblemReason.SHARED_NAME,
        f"Resources/{state_machine}",
        f"{state} calls {target.text}, and {target.detail}; SfnExactVersion cannot tell which one the call "
        "reaches, so it cannot pin it.",
        "Give the functions distinct names, or write the call as Fn::If on their Condition with GetAtt "
        "<Function>.Arn on each side (in a Definition object the macro pins each side), or set "
        f"Metadata.SfnExactVersion.Pin: false on {state_machine}.",
    )


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
    if chosen_at_run_time(call.qualified) and target.kind in (PIN, PINNED):
        return Target(reasons.DYNAMIC, target.text, detail=call.qualified)
    if call.qualified and target.kind in (PIN, PINNED):
        return Target(
            reasons.QUALIFIED,
            target.text,
            function=target.function,
            version=target.version,
            detail=call.qualified,
        )
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
            Problem.at(
                ProblemReason.SEVERAL_VERSIONS,
                f"Resources/{state_machine}",
                f"{state} calls {function}, which has several versions ({', '.join(existing)}); "
                "SfnExactVersion cannot tell which to pin.",
                f"Keep one AWS::Lambda::Version for {function}, or point the call at the version you want.",
            )
        )
        work.chosen[function] = existing[0]
        return None
    if existing:
        work.chosen[function] = existing[0]
        return existing[0]
    print_ = _print(work, function)
    version_id = created_version_id(function, print_)
    if version_id in work.index.resources:
        fix = f"Rename Resources/{version_id}."
        work.errors.append(
            Problem(
                ProblemReason.LOGICAL_ID_TAKEN,
                f"Resources/{version_id}",
                f"Resources/{version_id} already exists and is not a version of {function}; SfnExactVersion "
                f"needs that logical ID for {function}'s version. {fix}",
                fix,
            )
        )
        return None
    if version_id in work.added:  # another function's created version (only contrived IDs get here)
        other = work.added[version_id]["Properties"]["FunctionName"]["Ref"]
        fix = "Rename one of the functions."
        work.errors.append(
            Problem(
                ProblemReason.LOGICAL_ID_TAKEN,
                f"Resources/{function}",
                f"Resources/{function} and Resources/{other}: SfnExactVersion would give both versions the "
                f"logical ID {version_id}. {fix}",
                fix,
            )
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


def _too_deep(where: str, limit: str = "") -> TransformError:
    limit = limit or NestingTooDeepError().limit
    return fail(ProblemReason.TOO_DEEP, where, f"nested too deeply for SfnExactVersion to read ({limit}).")


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
    machine may call (a version of the template, or one a call names by number): removing or replacing
    a function deletes all its versions (their own Retain does not help). Pin: false on a function does
    not change this (its versions may still be called by name); RetainFunction: false does."""
    functions: list[str] = []
    for call in work.report.pinned:
        if call.function not in functions:
            functions.append(call.function)
    for version in work.called:
        function = work.index.function_of.get(version)
        if function is not None and function not in functions and work.index.type_of(function) == FUNCTION:
            functions.append(function)
    functions.extend(function for function in work.qualified if function not in functions)
    for function in functions:
        original = work.fragment["Resources"][function]
        keep = keeps_function(original)
        if keep and ("DeletionPolicy" not in original or "UpdateReplacePolicy" not in original):
            resource = work.writable(function, ())
        else:
            resource = dict(original)  # protect_function() only reads it: nothing is missing
        role = None
        if keep:
            work.report.warnings.extend(protect_function(function, resource))
            if "Retain" in (resource.get("DeletionPolicy"), resource.get("UpdateReplacePolicy")):
                role = _retain_execution_role(work, function, original)
        work.report.functions.append(
            RetainedFunction(
                function,
                str(resource.get("DeletionPolicy", "Delete")),
                str(resource.get("UpdateReplacePolicy", "Delete")),
                opted_out=not keep,
                execution_role=role,
            )
        )


def _retain_execution_role(work: _Work, function: str, resource: Mapping[str, Any]) -> str | None:
    """Retain the in-template execution role of a retained function: Lambda cannot run a function whose
    role is gone, so a function kept for running executions needs its role kept too (SAM generates one
    per function, removed with it). Returns the role's logical ID, or None when the role is not one of
    the template's."""
    properties = resource.get("Properties")
    value = properties.get("Role") if isinstance(properties, dict) else None
    role = role_of({"RoleArn": value}, work.index).role if value is not None else None
    if role is None:
        return None
    original = work.fragment["Resources"][role]
    target = work.writable(role, ()) if any(p not in original for p in RETAIN_POLICIES) else dict(original)
    for policy in retain(target):
        warning = (
            f"Resources/{role}: {policy} is {target[policy]!r}, kept as the template asks; it is the "
            f"execution role of {function}, which is retained for running executions, and Lambda cannot "
            "run a function whose role is gone. Use Retain."
        )
        if warning not in work.report.warnings:  # a role shared by several functions: one warning
            work.report.warnings.append(warning)
    return role


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


def _remember_role(
    work: _Work,
    state_machine: str,
    properties: Mapping[str, Any],
    needs: list[tuple[str, str]],
    definition: Definition | None = None,
    calls: list[Call] | tuple[Call, ...] = (),
) -> None:
    """Record which role must allow the versions of which functions (``needs``: the state and function
    of each exact call): the state machine's role, or for a Task with ``Credentials`` the role it names
    (Step Functions calls Lambda as that role)."""
    called = dict(needs)
    plain: set[str] = set()
    by_credentials: set[str] = set()
    for call in calls:
        function = called.get(call.state)
        if function is None:
            continue
        if call.credentials is None:
            plain.add(function)
            continue
        by_credentials.add(function)
        _remember_credentials(work, state_machine, call, function, definition)
    machine_needs = [f for _, f in needs if f in plain or f not in by_credentials]
    if not machine_needs:
        return
    found = role_of(properties, work.index)
    unique = sorted(set(machine_needs))
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


def _remember_credentials(
    work: _Work, state_machine: str, call: Call, function: str, definition: Definition | None
) -> None:
    """The role a Task's ``Credentials.RoleArn`` names must allow the versions of ``function``; when it
    cannot be resolved to a role of the template, a warning names the state."""
    credentials = call.credentials
    value = credentials.get("RoleArn") if isinstance(credentials, dict) else None
    # (the object and string forms resolve a parsed value; only they hold states with Credentials)
    resolve = getattr(definition, "resolve", None)
    text = resolve(value) if resolve is not None and value is not None else None
    role = role_in(text, work.index) if text else None
    if role is not None:
        bucket = work.role_needs.setdefault(role, [])
        if function not in bucket:
            bucket.append(function)
        return
    where = f"Resources/{state_machine}: {call.state}"
    fix = f"make sure that role allows lambda:InvokeFunction on <{function} ARN>:* (its versions)."
    if isinstance(credentials, dict) and value is None and "RoleArn.$" in credentials:
        why = "Credentials.RoleArn.$ chooses the role at run time"
    elif text is None:
        shown = render_value(value) if value is not None else json_type(credentials)
        why = f"SfnExactVersion cannot resolve its Credentials.RoleArn ({shown}) to one role"
    else:
        why = f"its Credentials.RoleArn ({render(text)}) is not a role defined in this template"
    work.report.warnings.append(
        f"{where} calls {function} with the role of its Credentials, and {why}, so no role's policies "
        f"were changed for this call; {fix}"
    )


def _policies(work: _Work) -> None:
    space = ArnSpace(work.index)
    attached = attached_policies(work.index)
    # Grants are new resources and new inline policies: both have limits (see _Room).
    room = _Room(MAX_RESOURCES - len(work.fragment["Resources"]) - len(work.added))
    for role, functions in work.role_needs.items():
        room.quota = ROLE_INLINE_QUOTA - inline_policy_size(role, work.index, attached)
        allowing: set[str] = set()
        denied: set[str] = set()
        allowed_arn: set[str] = set()  # functions some statement allows by their unqualified ARN
        versions_denied: set[str] = set()  # functions whose versions a Deny names outright (input)
        # functions a Deny names under some condition while leaving their versions out (NotResource)
        spared: set[str] = set()
        # function -> the statements that allow it (or a version of it) in the input, each with the
        # template conditions under which it does (None: under none a Condition can express)
        allows: dict[str, list[tuple[StatementRef, Mapping[str, Any], Branch | None]]] = {}
        plans = []
        for statement_ref, statement in list(statements_of(role, work.index, attached)):
            plan = plan_statement(statement, functions, space, statement_ref.location, statement_ref.branch)
            plans.append((statement_ref, statement, plan))
            allowed_arn.update(plan.allows_arn)
            spared.update(plan.spares_versions)
            if not statement_ref.branch:  # a Deny chosen by Fn::If does not deny outright
                denied.update(plan.denies)
                versions_denied.update(plan.denies_versions)
        # Where such a Deny applies, the role denied the call and spares the pinned version: an Allow of
        # the versions, or a grant, would let the pinned call through there. Neither is added, and a
        # warning says so (where the Deny does not apply, the pinned call then needs the user's Allow).
        spared = {f for f in spared if f not in denied and f in functions}
        for function in sorted(spared):
            work.report.warnings.append(
                f"Resources/{role}: a Deny of this role names {function} under some conditions only and "
                f"leaves out its versions there (NotResource), so SfnExactVersion does not extend the "
                f"role's Allows to the versions of {function}: that would let pinned calls through where "
                f"the Deny applies. Where it does not, allow <{function} ARN>:* under the same conditions, "
                "or pinned calls are denied."
            )
        denied |= spared
        # A role that allows a function by its ARN allowed the call before pinning; one that allows only
        # its versions did so only where no Deny names them.
        versions_denied -= allowed_arn
        for statement_ref, statement, plan in plans:
            location = statement_ref.location
            skip: set[str] = set()
            plan_allowing = plan.allowing
            if statement.get("Effect") != "Deny" and denied:  # an Allow, or one chosen by Fn::If
                # The role denies these functions outright: widening an Allow for their versions could
                # only matter where a Deny spares the versions, i.e. let a denied call through.
                skip = {f for f in plan.added_for if f in denied}
                plan_allowing = [f for f in plan.allowing if f not in denied or f not in plan.added_for]
            if statement.get("Effect") == "Deny" and plan.key == "NotResource":
                # Exempting the versions from a Deny as it exempts the function only keeps the call's
                # answer when some Allow let the role call the function: otherwise it was denied, and
                # an Allow of the versions alone must not start to apply.
                spared = {f for f in plan.added_for if f not in allowed_arn}
                skip |= spared
                plan_allowing = [f for f in plan_allowing if f not in spared]
            allowing.update(plan_allowing)
            for function in plan.allows:
                guard = plan.guards.get(function, ())
                branch = None if guard is None else (*statement_ref.branch, *guard)
                allows.setdefault(function, []).append((statement_ref, statement, branch))
            for function in plan_allowing:
                work.report.widened.append(WidenedStatement(role, location, function))
            for function in plan.denying:
                work.report.denying.append(DenyingStatement(role, location, function))
            for warning in plan.warnings:
                if warning not in work.report.warnings:  # a policy attached to several roles
                    work.report.warnings.append(warning)
            if any(f not in skip for f in plan.added_for):
                target = work.writable(statement_ref.resource, statement_ref.path)
                # A policy attached to several roles is planned once per role, and two functions may
                # share one name (under exclusive Conditions): extend() adds each entry once.
                target[plan.key] = plan.extend(target[plan.key], skip)
        room.skipped = []
        known, unreadable = managed_policies_outside(role, work.index)
        for function in functions:
            granted = False
            if function in allows and function not in denied and function not in versions_denied:
                granted = _grant(work, role, function, allows[function], room)
            if function not in allowing and function not in denied and not granted and not known:
                outside = (
                    f" It also has managed policies SfnExactVersion cannot read ({', '.join(unreadable)}): "
                    f"if one of them allows {function}, make sure it allows <{function} ARN>:* too."
                    if unreadable
                    else ""
                )
                work.report.warnings.append(
                    f"Resources/{role}: no statement of this role allows lambda:InvokeFunction on "
                    f"{function}'s ARN in a form SfnExactVersion can extend; make sure the role allows "
                    f"<{function} ARN>:* so that executions can call its versions.{outside}"
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


def _dependencies(resource: Any) -> list[str]:
    """The logical IDs and parameters a resource depends on: what its Properties reference (``Ref``,
    ``GetAtt``, ``${...}``) and its ``DependsOn``, which is what CloudFormation orders resources by."""
    if not isinstance(resource, dict):
        return []
    return list(references(resource.get("Properties"))) + _depends_on(resource)


def _depends_on(resource: Mapping[str, Any]) -> list[str]:
    depends = resource.get("DependsOn")
    return [name for name in (depends if isinstance(depends, list) else [depends]) if isinstance(name, str)]


def _cycles(work: _Work) -> None:
    """Fail when a pinned call closes a dependency cycle: the state machine now depends on a version,
    which depends on its function, which (through whatever it references or ``DependsOn``) depends on
    the state machine. A template that called the function by name avoided exactly this; CloudFormation
    would refuse the output."""
    resources = work.fragment["Resources"]

    def output(name: str) -> Any:
        return work.added.get(name) or work.resources.get(name) or resources.get(name)

    cache: dict[str, list[str]] = {}

    new_edges: dict[tuple[str, str], list[str]] = {}
    for call in work.report.pinned:
        if not call.already:
            new_edges.setdefault((call.state_machine, call.version), []).append(call.state)
    pinned_by: dict[str, list[str]] = {}
    for state_machine, version in new_edges:
        pinned_by.setdefault(state_machine, []).append(version)

    def edges(name: str) -> list[str]:
        if name not in cache:
            if name in work.depends:
                # What the input referenced (a superset of what the output still does: a reference the
                # pin removed could only close a cycle the input already had) and the pinned versions.
                found = [*work.depends[name], *pinned_by.get(name, [])]
            else:
                found = _dependencies(output(name))
            cache[name] = [item for item in dict.fromkeys(found) if output(item) is not None]
        return cache[name]

    for (state_machine, version), states in new_edges.items():
        # (A state machine that already depended on the version and is reached from it was a cycle in
        # the input too; CloudFormation names that one itself.)
        paths = _paths_back(version, state_machine, edges)
        if not paths:
            continue
        cycles = "; ".join(" -> ".join([state_machine, *path]) for path in paths)
        function = paths[0][1] if len(paths[0]) > 2 else version
        reaching = ", ".join(dict.fromkeys(path[-2] for path in paths))
        sam = _created_by_sam(output(state_machine))
        name = "a Name (SAM's AWS::Serverless::StateMachine property)" if sam else "a StateMachineName"
        several = len(paths) > 1
        work.errors.append(
            Problem.at(
                ProblemReason.DEPENDENCY_CYCLE,
                f"Resources/{state_machine}",
                f"pinning {', '.join(states)} to {version} makes "
                f"{f'{len(paths)} dependency cycles' if several else 'a dependency cycle'}, which "
                f"CloudFormation refuses: {cycles}.",
                f"Break {'each' if several else 'it'} where it reaches {state_machine} (from {reaching}): "
                f"give {state_machine} {name} and build its ARN with Fn::Sub "
                "(arn:${AWS::Partition}:states:${AWS::Region}:${AWS::AccountId}:stateMachine:<name>), or "
                "use the name itself, instead of Ref/GetAtt/DependsOn, or set Metadata.SfnExactVersion.Pin: "
                f"false on {function} to leave its calls unpinned.",
            )
        )


def _created_by_sam(resource: Any) -> bool:
    """Whether SAM generated the state machine (it tags each one ``stateMachine:createdBy: SAM``)."""
    tags = resource.get("Properties", {}).get("Tags") if isinstance(resource, dict) else None
    return isinstance(tags, list) and {"Key": "stateMachine:createdBy", "Value": "SAM"} in tags


def _paths_back(start: str, goal: str, edges: Any) -> list[list[str]]:
    """Every way back to ``goal`` from ``start``: for each resource reachable from ``start`` (without
    passing through ``goal``) that depends on ``goal`` directly, the shortest path ``start -> ... -> it
    -> goal``, in the order found (breadth first, template order). Every cycle through ``start`` ends
    with one of these last steps, so breaking them all breaks every cycle.

    >>> graph = {"V": ["F"], "F": ["SM", "Role"], "Role": ["SM"], "SM": ["V"]}
    >>> _paths_back("V", "SM", lambda name: graph.get(name, []))
    [['V', 'F', 'SM'], ['V', 'F', 'Role', 'SM']]
    """
    parents: dict[str, str | None] = {start: None}
    queue = [start]
    found = []
    for node in queue:  # the queue grows while it is read: breadth first
        for child in edges(node):
            if child == goal:
                path = [node]
                while parents[path[-1]] is not None:
                    path.append(parents[path[-1]])  # type: ignore[arg-type]
                found.append([*path[::-1], goal])
            elif child not in parents:
                parents[child] = node
                queue.append(child)
    return found


def _measure(template: dict[str, Any]) -> int | None:
    """:func:`_json_size` of the processed template, or None when it cannot be serialised here."""
    try:
        return _json_size(template)
    except (ValueError, TypeError):
        return None


def _fit_grants(work: _Work) -> tuple[dict[str, Any], int | None]:
    """The processed template and its size, after dropping retained grants, the last first, while it
    would exceed CloudFormation's size limit: a deploy that fails for a grant protects nothing.

    The template is serialised once. Dropping a grant takes its resource and its report entry out, and
    a warning naming the dropped grants goes in; compact JSON is the sum of its parts (commas included,
    and escaping is per character), so each part is measured on its own and the size stays exact."""
    template = _assemble(work)
    size = _measure(template)
    if size is None or size <= MAX_TEMPLATE_BYTES or not work.report.grants:
        return template, size
    grants, warnings = work.report.grants, work.report.warnings
    resources = template["Resources"]
    dropped: list[str] = []  # "<function> (role <role>)", the last grant first
    size += _json_size(_GRANTS_DROPPED[0] + _GRANTS_DROPPED[1]) + (1 if warnings else 0)  # the warning
    while grants and size > MAX_TEMPLATE_BYTES:
        grant = grants.pop()
        size -= _json_size(literal(grant.to_dict())) + (1 if grants else 0)
        if grant.grant in work.added:  # not a grant the input already had (a second run keeps those)
            del work.added[grant.grant]
            resource = resources.pop(grant.grant)
            # ,"Id":{...} (the role is always there too: never the only resource)
            size -= _json_size(grant.grant) + 1 + _json_size(resource) + 1
        named = f"{grant.function} (role {grant.role})"
        size += _json_size(literal(named)) - 2 + (len(", ") if dropped else 0)  # inside the quotes
        dropped.append(named)
    warnings.append(_GRANTS_DROPPED[0] + ", ".join(reversed(dropped)) + _GRANTS_DROPPED[1])
    report = template["Metadata"][METADATA_KEY]
    report["RetainedGrants"] = report["RetainedGrants"][: len(grants)]
    report["Warnings"] = literal(list(warnings))
    return template, size


_GRANTS_DROPPED = (
    "Resources: no retained grant for ",
    f": the processed template would exceed CloudFormation's {MAX_TEMPLATE_BYTES} bytes. The roles' "
    "statements allow the versions for this deploy, but executions still running when a later deploy "
    "stops calling one of them may lose permission to invoke it.",
)


@dataclass
class _Room:
    """What is left for retained grants: resources in the template, characters in one role's inline
    policies (estimated), and the functions of that role left without a grant for lack of room."""

    resources: int
    quota: int = 0
    skipped: list[str] = field(default_factory=list)


def _grant_guard(guards: list[set[tuple[str, bool]] | None]) -> set[str] | None:
    """The template Conditions a retained grant needs so that it holds exactly where one of the
    allowing statements does (each holds where all of its guard is: ``(condition, value)`` pairs; None
    where no Condition can say it): none when together they hold under every value of their
    conditions, ``{C}`` when exactly where ``C`` is true; None when no Condition can express it.
    (Where a Deny chosen by ``Fn::If`` applies, the Deny covers the versions too and wins over the
    grant.)"""
    if set() in guards:
        return set()
    if None in guards:
        return None
    known = [guard for guard in guards if guard is not None]
    names = sorted({name for guard in known for name, _ in guard})
    if len(names) > 8:
        return None
    holds = set()
    for number in range(2 ** len(names)):
        values = {name: bool(number >> i & 1) for i, name in enumerate(names)}
        if any(all(values[name] == truth for name, truth in guard) for guard in known):
            holds.add(number)
    if len(holds) == 2 ** len(names):
        return set()
    for i, name in enumerate(names):
        if holds == {number for number in range(2 ** len(names)) if number >> i & 1}:
            return {name}
    return None


def _grant(
    work: _Work,
    role: str,
    function: str,
    statements: list[tuple[StatementRef, Mapping[str, Any], Branch | None]],
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
    # The grant exists only where an allowing statement does: a policy resource's Condition counts too,
    # and so do the Fn::If sides that choose the statement (the grant's Condition can only say "C is
    # true": a statement allowing only when C is false, or under no single condition, gets no grant).
    guards: list[set[tuple[str, bool]] | None] = []
    for ref, _, branch in statements:
        holder = resources[ref.resource].get("Condition") if ref.resource != role else None
        guard = None if branch is None else set(branch)
        if guard is not None and isinstance(holder, str):
            guard.add((holder, True))
        guards.append(guard)
    needed = _grant_guard(guards)
    if needed is None:
        work.report.warnings.append(
            f"{where}: no retained grant for {function}: the statements that allow it hold only where "
            "no single resource Condition can say (a condition of an Fn::If being false, or one of several "
            f"conditions). Executions still running when a later deploy stops calling {function} may lose "
            "permission to invoke its versions."
        )
        return False
    conditions.update(needed)
    if len(conditions) > 1:
        work.report.warnings.append(
            f"{where}: no retained grant for {function}: it would need the Conditions "
            f"{', '.join(sorted(conditions))} at once. Executions still running when a later deploy "
            f"stops calling {function} may lose permission to invoke its versions."
        )
        return False
    when: Any = None
    if all("Condition" in statement for _, statement, _ in statements):
        first = statements[0][1]["Condition"]
        try:
            same = all(statement["Condition"] == first for _, statement, _ in statements[1:])
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
    digest = grant_digest(role, function, work.index)
    if GRANT_ID_PREFIX + digest not in resources and (room.resources <= 0 or cost > room.quota):
        room.skipped.append(function)
        return True  # the warning is about room, not about the role's statements
    grant = make_grant(role, function, work.index, next(iter(conditions), None), when, digest)
    existing = resources.get(grant.logical_id)
    if existing is not None and existing != grant.resource:
        work.errors.append(
            Problem(
                ProblemReason.LOGICAL_ID_TAKEN,
                f"Resources/{grant.logical_id}",
                f"Resources/{grant.logical_id} already exists and is not SfnExactVersion's grant of "
                f"{function} to {role}; SfnExactVersion needs that logical ID. Rename "
                f"Resources/{grant.logical_id}.",
                f"Rename Resources/{grant.logical_id}.",
            )
        )
        return False
    if existing is None:
        room.resources -= 1
        work.added[grant.logical_id] = grant.resource
    room.quota -= cost  # a grant already there (a second run) takes its room as on the first
    work.report.grants.append(RetainedGrant(grant.logical_id, grant.policy_name, role, function))
    return True
