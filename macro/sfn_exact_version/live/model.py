"""What ``live/`` reads from an account, as plain data: no boto3 here, so the decision modules and their
tests use these classes without AWS.

Times are timezone-aware ``datetime`` objects; ARNs are strings as AWS returns them.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

# Execution statuses that may still call a Lambda function.
RUNNING = "RUNNING"
PENDING_REDRIVE = "PENDING_REDRIVE"
STOPPED_STATUSES = ("FAILED", "ABORTED", "TIMED_OUT")  # redrivable for 14 days after they stop
REDRIVE_DAYS = 14


def may_still_run(status: str, stop: datetime | None, redrive_status: str, now: datetime) -> bool:
    """True for an execution that may still call Lambda: RUNNING, PENDING_REDRIVE, or FAILED/ABORTED/
    TIMED_OUT less than 14 days ago and not NOT_REDRIVABLE (an unknown redrive status counts as
    redrivable)."""
    if status in (RUNNING, PENDING_REDRIVE):
        return True
    if status not in STOPPED_STATUSES or stop is None:
        return False
    return now - stop < timedelta(days=REDRIVE_DAYS) and redrive_status != "NOT_REDRIVABLE"


@dataclass(frozen=True)
class StackResource:
    """One resource of a CloudFormation stack (ListStackResources)."""

    logical_id: str
    physical_id: str
    type: str
    status: str = ""


@dataclass(frozen=True)
class LambdaVersion:
    """A published version of a function (``$LATEST`` is not one)."""

    version: str
    arn: str  # qualified
    last_modified: datetime | None = None
    description: str = ""


@dataclass(frozen=True)
class LambdaAlias:
    """A Lambda alias and every version it routes to (``weights``: additional versions and their share)."""

    name: str
    arn: str
    version: str
    weights: dict[str, float] = field(default_factory=dict)

    @property
    def versions(self) -> list[str]:
        return [self.version, *self.weights]


@dataclass
class LambdaFunction:
    """A function in scope: of the stack (``logical_id``), retained by it (tagged but no longer a member),
    or named on the command line."""

    name: str
    arn: str  # unqualified
    logical_id: str | None = None
    in_stack: bool = False
    retained: bool = False  # left the stack; carries the stack's aws:cloudformation tags
    versions: list[LambdaVersion] = field(default_factory=list)
    aliases: list[LambdaAlias] = field(default_factory=list)
    # qualifiers ($LATEST, a version or an alias name) with an event source mapping / a function URL
    mapping_qualifiers: list[str] = field(default_factory=list)
    url_qualifiers: list[str] = field(default_factory=list)
    provisioned: dict[str, int] = field(default_factory=dict)  # qualifier -> requested concurrency


@dataclass(frozen=True)
class Definition:
    """A definition some execution runs, a state machine's current one, or a state machine version's."""

    key: str  # revision ID when known, else the ARN it was read for
    text: str
    role_arn: str


@dataclass(frozen=True)
class StateMachineVersion:
    arn: str
    created: datetime | None = None
    definition_key: str | None = None  # read for versions an alias routes to
    in_stack: bool = False  # an AWS::StepFunctions::StateMachineVersion of the stack


@dataclass(frozen=True)
class StateMachineAlias:
    arn: str
    name: str
    routing: dict[str, float]  # version ARN -> weight (percent)


@dataclass
class StateMachine:
    arn: str
    name: str
    type: str  # STANDARD or EXPRESS
    logical_id: str | None = None
    definition_key: str | None = None  # the current definition
    role_arn: str = ""
    versions: list[StateMachineVersion] = field(default_factory=list)
    aliases: list[StateMachineAlias] = field(default_factory=list)


@dataclass(frozen=True)
class Execution:
    """An execution that may still call Lambda: RUNNING, PENDING_REDRIVE, or stopped and still redrivable,
    or a Distributed Map child of one (``parent``)."""

    arn: str
    name: str
    status: str
    state_machine_arn: str
    definition_key: str
    role_arn: str
    start: datetime | None = None
    stop: datetime | None = None
    redrive_status: str = ""
    version_arn: str = ""  # started through (or on) a state machine version
    alias_arn: str = ""  # started through an alias
    parent: str = ""  # Distributed Map child: the parent execution's ARN
    map_run_arn: str = ""


@dataclass(frozen=True)
class Statement:
    """One IAM statement as AWS holds it (the document's JSON, decoded)."""

    effect: str
    actions: tuple[str, ...]
    resources: tuple[str, ...]
    not_actions: tuple[str, ...] = ()
    not_resources: tuple[str, ...] = ()
    conditional: bool = False


@dataclass
class Role:
    """A role executions run with, and the policies it has now."""

    arn: str
    name: str
    inline: dict[str, list[Statement]] = field(default_factory=dict)  # policy name -> statements
    managed: dict[str, list[Statement]] = field(default_factory=dict)  # policy ARN -> statements

    def statements(self) -> list[Statement]:
        """Every statement of its inline and managed policies."""
        return [s for group in (*self.inline.values(), *self.managed.values()) for s in group]


@dataclass
class AccountView:
    """Everything preflight and prune decide on, read at ``now``."""

    region: str
    account_id: str
    partition: str
    now: datetime
    stack_name: str = ""
    stack_status: str = ""
    stack_resources: list[StackResource] = field(default_factory=list)
    # the deployed template as CloudFormation processed it (GetTemplate, Processed) and its parameters
    deployed_template: dict[str, Any] = field(default_factory=dict)
    deployed_parameters: dict[str, str] = field(default_factory=dict)
    functions: list[LambdaFunction] = field(default_factory=list)
    state_machines: list[StateMachine] = field(default_factory=list)
    executions: list[Execution] = field(default_factory=list)
    definitions: dict[str, Definition] = field(default_factory=dict)
    roles: dict[str, Role] = field(default_factory=dict)  # by ARN
    notes: list[str] = field(default_factory=list)  # what could not be seen, and why

    def function_named(self, name: str) -> LambdaFunction | None:
        for function in self.functions:
            if function.name == name:
                return function
        return None

    def resource(self, physical_id: str) -> StackResource | None:
        for resource in self.stack_resources:
            if resource.physical_id == physical_id:
                return resource
        return None


def _strings(value: Any) -> tuple[str, ...]:
    items = value if isinstance(value, list) else [value] if value is not None else []
    return tuple(item for item in items if isinstance(item, str))


def parse_statements(document: Any) -> list[Statement]:
    """The statements of a policy document (already decoded from JSON); malformed entries are skipped."""
    if not isinstance(document, dict):
        return []
    raw = document.get("Statement")
    items = raw if isinstance(raw, list) else [raw]
    statements = []
    for item in items:
        if not isinstance(item, dict):
            continue
        statements.append(
            Statement(
                effect=str(item.get("Effect", "")),
                actions=_strings(item.get("Action")),
                resources=_strings(item.get("Resource")),
                not_actions=_strings(item.get("NotAction")),
                not_resources=_strings(item.get("NotResource")),
                conditional="Condition" in item,
            )
        )
    return statements
