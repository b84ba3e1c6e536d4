"""Readable text for ``diff`` and ``check``."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from sfn_exact_version.index import VERSION, TemplateIndex
from sfn_exact_version.intrinsics import render as render_symbolic
from sfn_exact_version.intrinsics import symbolic
from sfn_exact_version.offline.pipeline import Preview
from sfn_exact_version.report import DYNAMIC, LeftAlone, RetainedFunction
from sfn_exact_version.targets import ELSEWHERE
from sfn_exact_version.versions import marker_of


def _entry_text(entry: Any) -> str:
    text = symbolic(entry)
    return render_symbolic(text) if text is not None else repr(entry)


def _statement(template: Mapping[str, Any], location: str) -> Mapping[str, Any] | None:
    parts = location.split("/")[1:]  # drop "Resources"
    node: Any = template.get("Resources", {})
    for part in parts:
        if isinstance(node, list) and part.isdigit() and int(part) < len(node):
            node = node[int(part)]
        elif isinstance(node, dict) and part in node:
            node = node[part]
        else:
            return None
    return node if isinstance(node, dict) else None


def _entries(statement: Mapping[str, Any] | None, key: str = "Resource") -> list[Any]:
    if statement is None:
        return []
    value = statement.get(key, [])
    return value if isinstance(value, list) else [value]


def _added_entries(
    before: Mapping[str, Any],
    after: Mapping[str, Any],
    location: str,
    index: TemplateIndex | None = None,
    function: str | None = None,
) -> str:
    """The entries the statement at ``location`` gained, as text ("" when none). With ``index`` and
    ``function``, only those that allow the versions of ``function`` (``<its ARN>:*``), when the entries
    can be told apart by function; otherwise all of them."""
    statement = _statement(after, location)
    old = _statement(before, location)
    key = "NotResource" if statement is not None and "NotResource" in statement else "Resource"
    old_entries = _entries(old, key)
    added = [entry for entry in _entries(statement, key) if entry not in old_entries]
    if index is not None and function is not None:
        owners = [_versions_of(entry, index) for entry in added]
        if None not in owners:
            added = [entry for entry, owner in zip(added, owners, strict=True) if owner == function]
    return ", ".join(_entry_text(entry) for entry in added)


def _versions_of(entry: Any, index: TemplateIndex) -> str | None:
    """The function of the template whose versions an added ``<function ARN>:*`` entry allows."""
    text = symbolic(entry)
    if not text or not isinstance(text[-1], str) or not text[-1].endswith(":*"):
        return None
    head = text[-1][: -len(":*")]
    unqualified = (*text[:-1], head) if head else text[:-1]
    return index.function_of_reference(_as_value(unqualified))


def _as_value(text: tuple[Any, ...]) -> Any:
    """A symbolic string as a template value again (``Fn::Sub``), for the index's readers."""
    return {"Fn::Sub": render_symbolic(text)} if len(text) != 1 or not isinstance(text[0], str) else text[0]


def _execution_roles(
    before: Mapping[str, Any], after: Mapping[str, Any], functions: list[RetainedFunction]
) -> list[str]:
    """The execution roles the macro retains with their functions (Lambda cannot run a function whose
    role is gone), one line per role."""
    roles: dict[str, list[str]] = {}
    for retained in functions:
        if retained.execution_role is not None:
            roles.setdefault(retained.execution_role, []).append(retained.function)
    lines = []
    for role, users in roles.items():
        old = before["Resources"].get(role, {})
        new = after["Resources"].get(role, {})
        changes = [
            f"{policy} {new.get(policy)}"
            for policy in ("DeletionPolicy", "UpdateReplacePolicy")
            if old.get(policy) != new.get(policy)
        ]
        summary = ", ".join(changes) if changes else "unchanged"
        kept = "kept with it" if len(users) == 1 else "kept with them"
        lines.append(f"  ~ {role}: execution role of {', '.join(users)} ({kept}): {summary}")
    return lines


def diff_text(preview: Preview) -> str:
    """What the macro changes, grouped by state machine, then versions, IAM and warnings."""
    report = preview.result.report
    before, after = preview.fragment, preview.result.template
    lines = [f"problem: {problem}" for problem in preview.problems]
    machines = sorted({p.state_machine for p in report.pinned} | {a.state_machine for a in report.left_alone})
    created = {v.version for v in report.versions if v.created}
    for machine in machines:
        lines.append(f"State machine {machine}")
        for call in (p for p in report.pinned if p.state_machine == machine):
            how = "already pinned" if call.already else "pinned"
            tag = " (new version)" if call.version in created else ""
            lines.append(f"  {how:<14} {call.state}: {call.function} -> {call.version}{tag}")
        for item in (a for a in report.left_alone if a.state_machine == machine):
            lines.append(
                f"  left alone     {item.state}: {item.target} [{item.reason}] {_detail(item, preview)}"
            )
    heading = None
    for finding in preview.file_findings:
        if (finding.state_machine, finding.file) != heading:
            heading = (finding.state_machine, finding.file)
            lines.append(f"State machine {finding.state_machine} (definition file {finding.file})")
        lines.append(f"  not pinnable   {finding.state}: {finding.target} [{finding.reason}]")
    if report.versions:
        lines.append("Versions")
        for version in report.versions:
            if version.created:
                lines.append(
                    f"  + {version.version}: new AWS::Lambda::Version of {version.function}, "
                    f"fingerprint {version.fingerprint[:16]}, DeletionPolicy/UpdateReplacePolicy Retain"
                )
                continue
            old = before["Resources"].get(version.version, {})
            new = after["Resources"].get(version.version, {})
            changes = []
            if old.get("Properties", {}).get("Description") != new.get("Properties", {}).get("Description"):
                changes.append(f"Description fingerprint {version.fingerprint[:16]}")
            for policy in ("DeletionPolicy", "UpdateReplacePolicy"):
                if old.get(policy) != new.get(policy):
                    changes.append(f"{policy} {new.get(policy)}")
            summary = ", ".join(changes) if changes else "unchanged"
            lines.append(f"  ~ {version.version}: version of {version.function}: {summary}")
    if report.functions:
        lines.append("Functions")
        for retained in report.functions:
            old = before["Resources"].get(retained.function, {})
            new = after["Resources"].get(retained.function, {})
            changes = []
            if old.get("Properties", {}).get("Description") != new.get("Properties", {}).get("Description"):
                marker = marker_of(new.get("Properties", {}).get("Description"))
                changes.append(f"Description + {marker} (changes with its version)")
            for policy in ("DeletionPolicy", "UpdateReplacePolicy"):
                if old.get(policy) != new.get(policy):
                    changes.append(f"{policy} {new.get(policy)}")
            if retained.opted_out:
                changes.append("not retained (RetainFunction: false)")
            lines.append(f"  ~ {retained.function}: {', '.join(changes) if changes else 'unchanged'}")
        lines.extend(_execution_roles(before, after, report.functions))
    if report.widened or report.denying or report.grants:
        lines.append("IAM")
        index = TemplateIndex.build(
            after["Resources"], after.get("Parameters") or {}, preview.region, preview.account_id
        )
        for widened in report.widened:
            where = widened.location
            added = _added_entries(before, after, where, index, widened.function)
            if added:
                lines.append(f"  ~ {where}: + {added} (role {widened.role}, {widened.function})")
            else:
                lines.append(
                    f"  = {where}: already allows versions of {widened.function} (role {widened.role})"
                )
        for denying in report.denying:
            where = denying.location
            added = _added_entries(before, after, where)
            what = f"+ {added}, so it covers" if added else "already covers"
            lines.append(
                f"  ~ {where}: {what} the versions of {denying.function} as it does the function "
                f"(role {denying.role})"
            )
        for grant in report.grants:
            lines.append(
                f"  + {grant.grant}: retained grant {grant.policy_name} (AWS::IAM::RolePolicy, Retain) lets "
                f"{grant.role} invoke every version of {grant.function}"
            )
    if report.state_machine_versions:
        lines.append("State machine versions")
        for versioning in report.state_machine_versions:
            published = ", ".join(versioning.versions) if versioning.versions else "none in the template"
            lines.append(
                f"  {versioning.state_machine}: versions {published}; {versioning.pinned} pinned call(s), "
                f"{versioning.unpinned} unpinned"
            )
            for alias in versioning.aliases:
                routes = ", ".join(alias.routes_to) or "nothing the macro can read"
                how = f", {alias.deployment.get('Type')}" if alias.deployment.get("Type") else ""
                lines.append(f"    alias {alias.name} ({alias.alias}) routes to {routes}{how}")
    if report.warnings or preview.file_findings:
        lines.append("Warnings")
        lines.extend(f"  ! {warning}" for warning in report.warnings)
    for finding in preview.file_findings:
        lines.append(f"  ! {finding.message}")
    untouched = sum(
        1
        for logical_id, resource in before["Resources"].items()
        if after["Resources"].get(logical_id) is resource and resource.get("Type") != VERSION
    )
    lines.append(
        f"Summary: {sum(1 for p in report.pinned if not p.already)} calls pinned, "
        f"{sum(1 for p in report.pinned if p.already)} already pinned, {len(created)} versions created, "
        f"{len(report.left_alone) + len(preview.file_findings)} left alone, "
        f"{untouched} other resources untouched"
    )
    return "\n".join(lines) + "\n"


def check_text(preview: Preview) -> str:
    """Why the deploy would not pin every call (the macro's place in Transform), then the calls that
    would stay unpinned, each with its reason and fix; empty when there is nothing to say."""
    lines = [f"problem: {problem}" for problem in preview.problems]
    for item in preview.result.report.unpinned:
        detail = _with_fix(item.reason, _detail(item, preview))
        where = f"{item.state_machine} {item.state}: {item.target}"
        lines.append(f"{where} stays unpinned [{item.reason}]: {detail}")
    for machine in preview.unread:
        lines.append(
            f"{machine}: definition not read: it is in S3 (DefinitionS3Location) and no "
            "DefinitionSubstitutions value names a Lambda function, so neither the macro nor this check "
            "sees its calls. Name each function through a substitution (the macro pins it), or keep the "
            "definition in a local DefinitionUri file this check reads; Metadata.SfnExactVersion.Pin: "
            "false says it needs no pinning"
        )
    for finding in preview.file_findings:
        message = _with_fix(finding.reason, finding.message)
        verdict = "would break" if finding.breaks else "stays unpinned"
        lines.append(f"{finding.state_machine} {finding.state}: {verdict} [{finding.reason}]: {message}")
    return "\n".join(lines) + ("\n" if lines else "")


# The macro's report says why a dynamic call is left alone; check also says what to do about it.
DYNAMIC_FIX = (
    "To pin it, name the function in the definition (the macro pins it), or pass a version-qualified "
    "ARN (name:N) in the input."
)


def _with_fix(reason: str, detail: str) -> str:
    return f"{detail.rstrip('.')}. {DYNAMIC_FIX}" if reason == DYNAMIC else detail


def _detail(item: LeftAlone, preview: Preview) -> str:
    """The report's detail, and for an ARN that names a function of the template in another Region or
    account than the preview's, which ones the preview assumed and how to choose the stack's."""
    if not item.detail.startswith(ELSEWHERE):
        return item.detail
    return (
        f"{item.detail.rstrip('.')}. This preview assumed Region {preview.region} and account "
        f"{preview.account_id}: if the stack deploys where the ARN says, rerun with --region and --account-id"
    )
