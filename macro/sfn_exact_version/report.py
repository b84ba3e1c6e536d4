"""What the transform did, as plain data: for the log summary, the processed template and the CLI."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any


class Reason(StrEnum):
    """Why a Lambda call was left unpinned. Stable strings (a ``str`` each, so the report's JSON holds the
    plain value): the CLI, the cfn-lint rule and the docs use them."""

    DYNAMIC = "dynamic"  # FunctionName.$ or a JSONata expression: chosen at run time
    QUALIFIED = "qualified"  # already names a version ("name:3", Qualifier, Ref of an AWS::Lambda::Version)
    ALIAS = "alias"  # names an alias, which moves when it is updated
    EXTERNAL = "external"  # a function defined outside this template (parameter, other stack, literal ARN)
    OPTED_OUT = "opted-out"  # the state machine or the function opts out in its Metadata
    UNSUPPORTED = "unsupported"  # a shape the macro cannot rewrite safely (explained in Detail)
    LATEST = "latest"  # qualified with $LATEST: always the newest code


DYNAMIC = Reason.DYNAMIC
QUALIFIED = Reason.QUALIFIED
ALIAS = Reason.ALIAS
EXTERNAL = Reason.EXTERNAL
OPTED_OUT = Reason.OPTED_OUT
UNSUPPORTED = Reason.UNSUPPORTED
LATEST = Reason.LATEST

# "${" that CloudFormation would read as a placeholder (not already the literal "${!").
LITERAL_PLACEHOLDER = re.compile(r"\$\{(?!!)")

# Reasons that mean "this call will run whatever code the function has now".
UNPINNED_REASONS = frozenset({DYNAMIC, ALIAS, EXTERNAL, UNSUPPORTED, LATEST})


@dataclass(frozen=True, order=True)
class PinnedCall:
    """A Lambda call that targets an exact version in the output template."""

    state_machine: str
    state: str  # state path, e.g. "States.Fan.Branches[0].States.Hello"; "(DefinitionS3Location)" if unseen
    function: str  # logical ID of the AWS::Lambda::Function
    version: str  # logical ID of the AWS::Lambda::Version
    location: str  # e.g. "Resources/Sm/Properties/DefinitionString"
    already: bool = False  # True when the template itself already pointed at this version

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {
            "StateMachine": self.state_machine,
            "State": self.state,
            "Function": self.function,
            "Version": self.version,
        }
        return out


@dataclass(frozen=True, order=True)
class LeftAlone:
    """A Lambda call (or likely one) that the macro did not pin, and why."""

    state_machine: str
    state: str
    target: str  # the call target as written, rendered readably
    reason: str  # a Reason
    detail: str  # one sentence: why, and what to do about it
    location: str

    def to_dict(self) -> dict[str, Any]:
        return {
            "StateMachine": self.state_machine,
            "State": self.state,
            "Target": self.target,
            "Reason": str(self.reason),
            "Detail": self.detail,
        }


@dataclass(frozen=True, order=True)
class VersionChange:
    """A version the macro created, or an existing one it fingerprinted and protected."""

    version: str
    function: str
    created: bool
    fingerprint: str

    def to_dict(self) -> dict[str, Any]:
        return {
            "Version": self.version,
            "Function": self.function,
            "Created": self.created,
            "Fingerprint": self.fingerprint,
        }


@dataclass(frozen=True, order=True)
class RetainedFunction:
    """A function whose versions running executions may call, and the policies that keep them: deleting
    or replacing a function deletes all its versions, whatever the versions' own DeletionPolicy."""

    function: str
    deletion_policy: str  # as in the output; "Delete" when the template leaves CloudFormation's default
    update_replace_policy: str
    opted_out: bool = False  # Metadata.SfnExactVersion.RetainFunction: false
    execution_role: str | None = None  # the function's role of the template, retained with it

    @property
    def retained(self) -> bool:
        """True when removing or replacing the function keeps it (and its versions)."""
        return self.deletion_policy == "Retain" and self.update_replace_policy == "Retain"

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {
            "Function": self.function,
            "DeletionPolicy": self.deletion_policy,
            "UpdateReplacePolicy": self.update_replace_policy,
        }
        if self.opted_out:
            out["RetainFunction"] = False
        if self.execution_role is not None:
            out["ExecutionRole"] = self.execution_role
        return out


@dataclass(frozen=True, order=True)
class WidenedStatement:
    """An IAM statement that allows the versions of a pinned function (``<function ARN>:*``)."""

    role: str  # logical ID of the state machine's role
    location: str  # e.g. "Resources/SmRole/Properties/Policies/0/PolicyDocument/Statement/1"
    function: str

    def to_dict(self) -> dict[str, Any]:
        return {"Role": self.role, "Statement": self.location, "Function": self.function}


@dataclass(frozen=True, order=True)
class DenyingStatement:
    """An IAM statement that denies (or leaves out of an Allow) the versions of a pinned function, as it
    does the function itself: pinning never lets a role do what it could not do before."""

    role: str
    location: str
    function: str

    def to_dict(self) -> dict[str, Any]:
        return {"Role": self.role, "Statement": self.location, "Function": self.function}


@dataclass(frozen=True, order=True)
class RetainedGrant:
    """An ``AWS::IAM::RolePolicy`` with ``DeletionPolicy: Retain`` that lets ``role`` invoke every version
    of ``function``: it stays on the role when a later template stops calling the function, so running
    executions keep their permission."""

    grant: str  # logical ID
    policy_name: str
    role: str
    function: str

    def to_dict(self) -> dict[str, Any]:
        return {
            "Grant": self.grant,
            "PolicyName": self.policy_name,
            "Role": self.role,
            "Function": self.function,
        }


@dataclass(frozen=True)
class AliasRouting:
    """An ``AWS::StepFunctions::StateMachineAlias``: which versions it routes to, and how it shifts."""

    alias: str  # logical ID
    name: str
    routes_to: tuple[str, ...]  # version logical IDs (or the ARN text when not a version of the template)
    deployment: dict[str, Any]  # DeploymentPreference without the target and alarms ({} for routing only)
    alarms: tuple[str, ...]

    def to_dict(self) -> dict[str, Any]:
        return {
            "Alias": self.alias,
            "Name": self.name,
            "RoutesTo": list(self.routes_to),
            "Deployment": dict(self.deployment),
            "Alarms": list(self.alarms),
        }


@dataclass(frozen=True)
class StateMachineVersioning:
    """A state machine published as versions (``AWS::StepFunctions::StateMachineVersion``) or behind aliases.

    Each version runs the definition it was published from, so it calls the Lambda versions pinned in that
    definition; ``unpinned`` calls run the function's current code in every version.
    """

    state_machine: str
    versions: tuple[str, ...]
    aliases: tuple[AliasRouting, ...]
    pinned: int  # Lambda calls of the state machine that target a version
    unpinned: int  # Lambda calls left to the function's current code (unpinned reasons, opted out)

    def to_dict(self) -> dict[str, Any]:
        return {
            "StateMachine": self.state_machine,
            "Versions": list(self.versions),
            "Aliases": [alias.to_dict() for alias in self.aliases],
            "PinnedCalls": self.pinned,
            "UnpinnedCalls": self.unpinned,
        }


def definition_not_read(state_machine: str) -> str:
    """The warning for a state machine whose definition is in S3 and whose substitutions name no Lambda
    function: the macro could not see a single call of it."""
    return (
        f"Resources/{state_machine}/Properties/DefinitionS3Location: the definition is in S3, which the "
        "macro does not read, and no DefinitionSubstitutions value names a Lambda function, so any Lambda "
        'call written in it stays unpinned. Name each function through a substitution ("${HelloArn}" in '
        "the definition, HelloArn: GetAtt Hello.Arn in DefinitionSubstitutions), which the macro pins; keep "
        "the definition in a local DefinitionUri file, which sfn-exact-version check reads; or, if it calls "
        "no Lambda function, say so with Metadata.SfnExactVersion.Pin: false."
    )


@dataclass
class Report:
    """Everything a user needs to see: pinned calls, versions, the functions kept for them, IAM
    statements, what was left alone."""

    pinned: list[PinnedCall] = field(default_factory=list)
    versions: list[VersionChange] = field(default_factory=list)
    functions: list[RetainedFunction] = field(default_factory=list)
    widened: list[WidenedStatement] = field(default_factory=list)
    denying: list[DenyingStatement] = field(default_factory=list)
    grants: list[RetainedGrant] = field(default_factory=list)
    left_alone: list[LeftAlone] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    state_machine_versions: list[StateMachineVersioning] = field(default_factory=list)

    @property
    def unpinned(self) -> list[LeftAlone]:
        """Calls that will keep running whatever code the function has now."""
        return [item for item in self.left_alone if item.reason in UNPINNED_REASONS]

    def to_dict(self) -> dict[str, Any]:
        """The report as stored under the processed template's ``Metadata.SfnExactVersion``.

        Text such as ``${Fn.Arn}`` is written ``${!Fn.Arn}`` (CloudFormation's literal form): in the
        processed template, cfn-lint reads a bare ``${Fn.Arn}`` outside ``Fn::Sub`` as an error (E1029).
        """
        report: dict[str, Any] = {
            "Pinned": _literal_entries([item.to_dict() for item in self.pinned]),
            "Versions": _literal_entries([item.to_dict() for item in self.versions]),
            "Functions": _literal_entries([item.to_dict() for item in self.functions]),
            "StatementsAllowingVersions": _literal_entries([item.to_dict() for item in self.widened]),
            "StatementsDenyingVersions": _literal_entries([item.to_dict() for item in self.denying]),
            "RetainedGrants": _literal_entries([item.to_dict() for item in self.grants]),
            "LeftAlone": _literal_entries([item.to_dict() for item in self.left_alone]),
            "Warnings": literal(list(self.warnings)),
        }
        if self.state_machine_versions:  # only for templates that publish state machine versions or aliases
            report["StateMachineVersions"] = _literal_entries(
                [item.to_dict() for item in self.state_machine_versions]
            )
        return report

    def summary(self) -> dict[str, int]:
        """Counts for the one-line log summary."""
        return {
            "pinned": len(self.pinned),
            "versionsCreated": sum(1 for v in self.versions if v.created),
            "functionsRetained": sum(1 for f in self.functions if f.retained),
            "statementsAllowingVersions": len(self.widened),
            "statementsDenyingVersions": len(self.denying),
            "retainedGrants": len(self.grants),
            "leftAlone": len(self.left_alone),
            "warnings": len(self.warnings),
        }


def literal(value: Any) -> Any:
    """``value`` with every ``${`` not already literal written ``${!``.

    >>> literal({"Target": "${Fn.Arn}", "Done": ["${!Fn.Arn}", 3]})
    {'Target': '${!Fn.Arn}', 'Done': ['${!Fn.Arn}', 3]}
    """
    if isinstance(value, str):
        return LITERAL_PLACEHOLDER.sub("${!", value) if "${" in value else value
    if isinstance(value, dict):
        return {key: literal(item) for key, item in value.items()}
    if isinstance(value, list):
        return [literal(item) for item in value]
    return value


def _literal_entries(entries: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """:func:`literal` for fresh report entries, in place: a report may list thousands of calls, and
    most of their values are short strings without ``${``."""
    for entry in entries:
        for key, value in entry.items():
            if value.__class__ is str:
                if "${" in value:
                    entry[key] = LITERAL_PLACEHOLDER.sub("${!", value)
            elif isinstance(value, dict | list):
                entry[key] = literal(value)
    return entries
