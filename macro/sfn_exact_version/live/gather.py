"""Read an account into an ``AccountView``, read-only, through a boto3 session passed in.

Every list call is paginated; throttling is retried by botocore (adaptive retry mode, 10 attempts); an
``AccessDenied`` becomes a ``MissingPermissionError`` naming the IAM action; EXPRESS state machines are
reported as not listable. Nothing here changes the account.

``DescribeStateMachineForExecution`` is called once per state machine version executions run on, and for
unversioned executions once per revision as far as start times allow (see ``_Definitions``).
"""

from __future__ import annotations

import json
import urllib.parse
from collections.abc import Iterable, Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

from sfn_exact_version.decisions.calls import ROLE_AT_RUN_TIME, UnreadableDefinitionError, call_sites
from sfn_exact_version.live.errors import LiveReadError, MissingPermissionError
from sfn_exact_version.live.model import (
    PENDING_REDRIVE,
    REDRIVE_DAYS,
    RUNNING,
    STOPPED_STATUSES,
    AccountView,
    Definition,
    Execution,
    LambdaAlias,
    LambdaFunction,
    LambdaVersion,
    Role,
    StackResource,
    StateMachine,
    StateMachineAlias,
    StateMachineVersion,
    may_still_run,
    parse_statements,
)

STACK_TAG = "aws:cloudformation:stack-name"
LOGICAL_ID_TAG = "aws:cloudformation:logical-id"
# Executions started within this time of a definition update may still run the old definition.
PROPAGATION = timedelta(minutes=5)
_PREFIX = {
    "cloudformation": "cloudformation",
    "stepfunctions": "states",
    "lambda": "lambda",
    "resourcegroupstaggingapi": "tag",
    "iam": "iam",
    "sts": "sts",
}
# The page tokens of each API, for operations botocore has no paginator for.
_TOKENS = {
    "lambda": ("Marker", "NextMarker"),
    "cloudformation": ("NextToken", "NextToken"),
    "iam": ("Marker", "Marker"),
    "resourcegroupstaggingapi": ("PaginationToken", "PaginationToken"),
}
_DENIED = {"AccessDenied", "AccessDeniedException", "UnauthorizedOperation", "AuthorizationError"}
_THROTTLED = {"Throttling", "ThrottlingException", "TooManyRequestsException", "RequestLimitExceeded"}
_NOT_FOUND = {
    "ResourceNotFoundException",
    "NoSuchEntity",
    "StateMachineDoesNotExist",
    "ExecutionDoesNotExist",
}


def client_config() -> Any:
    """botocore retries for throttling: adaptive mode (client-side rate limiting), 10 attempts."""
    from botocore.config import Config

    return Config(retries={"mode": "adaptive", "max_attempts": 10})


class NotFoundError(LiveReadError):
    """A resource named in a call does not exist (callers decide whether that matters)."""


class Reader:
    """Calls AWS with error translation; one client per service."""

    def __init__(self, session: Any) -> None:
        self.session = session
        self._clients: dict[str, Any] = {}
        self.region = session.region_name or ""
        if not self.region:
            raise LiveReadError(
                "no AWS Region: pass --region, set AWS_REGION or AWS_DEFAULT_REGION, or set it in the profile"
            )

    def client(self, service: str) -> Any:
        if service not in self._clients:
            self._clients[service] = self.session.client(service, config=client_config())
        return self._clients[service]

    def call(self, service: str, operation: str, resource: str = "", **kwargs: Any) -> Any:
        """One call; ``operation`` is the API name (``ListExecutions``)."""
        client = self.client(service)
        method = getattr(client, _snake(operation))
        try:
            return method(**kwargs)
        except Exception as error:  # translated below; anything else is not ours to swallow
            raise _translate(error, service, operation, resource) from error

    def pages(
        self, service: str, operation: str, key: str, resource: str = "", **kwargs: Any
    ) -> Iterator[Any]:
        """Every item of a listed ``key``, over all pages (botocore's paginator when it has one)."""
        client = self.client(service)
        name = _snake(operation)
        try:
            if client.can_paginate(name):
                for page in client.get_paginator(name).paginate(**kwargs):
                    yield from page.get(key, [])
                return
            token_in, token_out = _TOKENS.get(service, ("nextToken", "nextToken"))
            token = None
            while True:
                page = getattr(client, name)(**kwargs, **({token_in: token} if token else {}))
                yield from page.get(key, [])
                token = page.get(token_out)
                if not token:
                    return
        except LiveReadError:
            raise
        except Exception as error:
            raise _translate(error, service, operation, resource) from error


def _snake(operation: str) -> str:
    out = []
    for position, char in enumerate(operation):
        if char.isupper() and position:
            out.append("_")
        out.append(char.lower())
    return "".join(out)


def _translate(error: Exception, service: str, operation: str, resource: str) -> LiveReadError:
    action = f"{_PREFIX.get(service, service)}:{operation}"
    response = getattr(error, "response", None)
    if isinstance(response, dict):
        code = str(response.get("Error", {}).get("Code", ""))
        text = str(response.get("Error", {}).get("Message", ""))
        if code in _DENIED or "not authorized" in text:
            return MissingPermissionError(action, resource, text)
        if code in _THROTTLED:
            return LiveReadError(f"{action} was throttled and still failed after botocore's retries: {text}")
        if code in _NOT_FOUND or "does not exist" in text:
            return NotFoundError(f"{action}: {resource or 'the resource'} does not exist ({text})")
        return LiveReadError(f"{action} failed: {code}: {text}")
    kind = type(error).__name__
    if kind in ("NoCredentialsError", "PartialCredentialsError", "ProfileNotFound", "NoRegionError"):
        return LiveReadError(f"AWS credentials or configuration: {error}")
    if kind in ("EndpointConnectionError", "ConnectTimeoutError", "ReadTimeoutError"):
        return LiveReadError(f"cannot reach AWS for {action}: {error}")
    if type(error).__module__.startswith("botocore"):
        return LiveReadError(f"{action} failed: {error}")
    raise error


def _partition(region: str) -> str:
    if region.startswith("cn-"):
        return "aws-cn"
    if region.startswith("us-gov-"):
        return "aws-us-gov"
    return "aws"


def _time(value: Any) -> datetime | None:
    if isinstance(value, datetime):
        return value if value.tzinfo else value.replace(tzinfo=UTC)
    if isinstance(value, str) and value:
        text = value.replace("Z", "+00:00")
        if len(text) > 5 and text[-5] in "+-" and text[-3] != ":":
            text = text[:-2] + ":" + text[-2:]  # Lambda writes +0000
        try:
            parsed = datetime.fromisoformat(text)
        except ValueError:
            return None
        return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)
    return None


def _document(value: Any) -> Any:
    if isinstance(value, str):
        try:
            return json.loads(urllib.parse.unquote(value))
        except ValueError:
            return None
    return value


# --------------------------------------------------------------------------- the entry points
def read_stack(
    session: Any, stack: str, *, state_machines: Iterable[str] = (), now: datetime | None = None
) -> AccountView:
    """The stack ``stack``: its state machines and functions, the functions it retained (tagged with its
    name, no longer members), and everything that may still call them; ``state_machines``: more state
    machines (of other stacks) whose calls count too."""
    reader = Reader(session)
    described = reader.call("cloudformation", "DescribeStacks", stack, StackName=stack)["Stacks"]
    if not described:
        raise LiveReadError(f"stack {stack!r} does not exist in {reader.region}")
    details = described[0]
    account = str(details.get("StackId", "")).split(":")[4] if details.get("StackId") else ""
    view = _view(reader, account, now)
    view.stack_name = stack
    view.stack_status = str(details.get("StackStatus", ""))
    view.deployed_parameters = {
        p["ParameterKey"]: p.get("ResolvedValue", p.get("ParameterValue", ""))
        for p in details.get("Parameters", [])
    }
    for item in reader.pages(
        "cloudformation", "ListStackResources", "StackResourceSummaries", stack, StackName=stack
    ):
        view.stack_resources.append(
            StackResource(
                item["LogicalResourceId"],
                str(item.get("PhysicalResourceId", "")),
                item["ResourceType"],
                str(item.get("ResourceStatus", "")),
            )
        )
    body = reader.call("cloudformation", "GetTemplate", stack, StackName=stack, TemplateStage="Processed")
    template = body.get("TemplateBody")
    if isinstance(template, str):
        try:
            template = json.loads(template)
        except ValueError:
            view.notes.append("the deployed template is not JSON; its DeletionPolicy attributes are not read")
            template = {}
    view.deployed_template = template if isinstance(template, dict) else {}
    names: dict[str, tuple[str | None, bool]] = {}
    for resource in view.stack_resources:
        if resource.type == "AWS::Lambda::Function" and resource.physical_id:
            names[resource.physical_id] = (resource.logical_id, False)
    for item in reader.pages(
        "resourcegroupstaggingapi",
        "GetResources",
        "ResourceTagMappingList",
        TagFilters=[{"Key": STACK_TAG, "Values": [stack]}],
        ResourceTypeFilters=["lambda:function"],
    ):
        name = str(item["ResourceARN"]).split(":")[6]
        if name not in names:
            tags = {tag["Key"]: tag["Value"] for tag in item.get("Tags", [])}
            names[name] = (tags.get(LOGICAL_ID_TAG), True)
    machines = [r.physical_id for r in view.stack_resources if r.type == "AWS::StepFunctions::StateMachine"]
    machines += [arn for arn in state_machines if arn not in machines]
    stack_versions = {
        r.physical_id for r in view.stack_resources if r.type == "AWS::StepFunctions::StateMachineVersion"
    }
    _read_functions(reader, view, names)
    _read_state_machines(reader, view, machines, stack_versions)
    return view


def read_scope(
    session: Any,
    *,
    functions: Iterable[str] = (),
    state_machines: Iterable[str] = (),
    now: datetime | None = None,
) -> AccountView:
    """Functions and state machines named explicitly (no stack)."""
    reader = Reader(session)
    machines = list(state_machines)
    account = machines[0].split(":")[4] if machines and machines[0].count(":") >= 5 else ""
    view = _view(reader, account, now)
    names: dict[str, tuple[str | None, bool]] = {}
    for name in functions:
        short = name.split(":")[6] if name.startswith("arn:") and name.count(":") >= 6 else name
        names[short] = (None, False)
    _read_functions(reader, view, names, explicit=True)
    _read_state_machines(reader, view, machines, set())
    return view


def _view(reader: Reader, account: str, now: datetime | None) -> AccountView:
    if not account:
        account = str(reader.call("sts", "GetCallerIdentity").get("Account", ""))
    return AccountView(
        region=reader.region,
        account_id=account,
        partition=_partition(reader.region),
        now=now or datetime.now(UTC),
    )


# --------------------------------------------------------------------------- Lambda
def _read_functions(
    reader: Reader, view: AccountView, names: dict[str, tuple[str | None, bool]], *, explicit: bool = False
) -> None:
    mappings: dict[str, list[str]] = {}
    if names:
        for item in reader.pages("lambda", "ListEventSourceMappings", "EventSourceMappings"):
            name, qualifier = _split_function_arn(str(item.get("FunctionArn", "")))
            mappings.setdefault(name, []).append(qualifier)
    for name, (logical_id, retained) in sorted(names.items()):
        try:
            versions = list(
                reader.pages("lambda", "ListVersionsByFunction", "Versions", name, FunctionName=name)
            )
        except NotFoundError:
            view.notes.append(f"function {name} no longer exists")
            continue
        latest = next((v for v in versions if v.get("Version") == "$LATEST"), None)
        arn = str(latest["FunctionArn"]).rsplit(":", 1)[0] if latest else _function_arn(view, name)
        function = LambdaFunction(
            name=name,
            arn=arn,
            logical_id=logical_id,
            in_stack=not retained and not explicit,
            retained=retained,
        )
        for item in versions:
            if item.get("Version") == "$LATEST":
                continue
            function.versions.append(
                LambdaVersion(
                    str(item["Version"]),
                    str(item.get("FunctionArn", f"{arn}:{item['Version']}")),
                    _time(item.get("LastModified")),
                    str(item.get("Description", "")),
                )
            )
        for item in reader.pages("lambda", "ListAliases", "Aliases", name, FunctionName=name):
            weights = (item.get("RoutingConfig") or {}).get("AdditionalVersionWeights") or {}
            function.aliases.append(
                LambdaAlias(
                    str(item["Name"]),
                    str(item.get("AliasArn", "")),
                    str(item["FunctionVersion"]),
                    {str(k): float(v) for k, v in weights.items()},
                )
            )
        function.mapping_qualifiers = mappings.get(name, [])
        for item in reader.pages(
            "lambda", "ListFunctionUrlConfigs", "FunctionUrlConfigs", name, FunctionName=name
        ):
            function.url_qualifiers.append(_split_function_arn(str(item.get("FunctionArn", "")))[1])
        for item in reader.pages(
            "lambda",
            "ListProvisionedConcurrencyConfigs",
            "ProvisionedConcurrencyConfigs",
            name,
            FunctionName=name,
        ):
            qualifier = _split_function_arn(str(item.get("FunctionArn", "")))[1]
            function.provisioned[qualifier] = int(
                item.get("RequestedProvisionedConcurrentExecutions", 0) or 0
            )
        view.functions.append(function)


def _split_function_arn(arn: str) -> tuple[str, str]:
    parts = arn.split(":")
    if len(parts) >= 8:
        return parts[6], parts[7]
    return (parts[6] if len(parts) >= 7 else arn), "$LATEST"


def _function_arn(view: AccountView, name: str) -> str:
    return f"arn:{view.partition}:lambda:{view.region}:{view.account_id}:function:{name}"


# --------------------------------------------------------------------------- Step Functions
class _Definitions:
    """DescribeStateMachineForExecution, as rarely as is safe.

    Executions on (or through an alias to) a version run that version's definition: one call per version.
    Unversioned executions are read newest first: when an execution started at ``t`` runs a revision that
    became current at ``u``, no other revision became current between ``u`` and ``t - PROPAGATION`` (the
    newer execution would run it), so every execution that started between ``u + PROPAGATION`` and
    ``t - PROPAGATION`` runs the same revision, without a call of its own.
    """

    def __init__(self, reader: Reader, view: AccountView) -> None:
        self.reader = reader
        self.view = view
        self.by_version: dict[str, tuple[str, str]] = {}
        self.calls = 0

    def describe(self, execution_arn: str) -> tuple[str, str, datetime | None]:
        """(definition key, role ARN, when that revision became current) of one execution."""
        self.calls += 1
        found = self.reader.call(
            "stepfunctions", "DescribeStateMachineForExecution", execution_arn, executionArn=execution_arn
        )
        key = str(found.get("revisionId") or f"{found.get('stateMachineArn', '')}@{execution_arn}")
        role = str(found.get("roleArn", ""))
        if key not in self.view.definitions:
            self.view.definitions[key] = Definition(key, str(found.get("definition", "")), role)
        return key, role, _time(found.get("updateDate"))

    def assign(self, items: list[dict[str, Any]]) -> dict[str, tuple[str, str]]:
        """Execution ARN -> (definition key, role ARN) for listed executions of one state machine."""
        assigned: dict[str, tuple[str, str]] = {}
        plain = []
        for item in items:
            version = str(item.get("stateMachineVersionArn") or "")
            if version:
                if version not in self.by_version:
                    key, role, _ = self.describe(item["executionArn"])
                    self.by_version[version] = (key, role)
                assigned[item["executionArn"]] = self.by_version[version]
            else:
                plain.append(item)
        plain.sort(
            key=lambda item: _time(item.get("startDate")) or datetime.min.replace(tzinfo=UTC), reverse=True
        )
        window: tuple[datetime, datetime, str, str] | None = None
        for item in plain:
            start = _time(item.get("startDate"))
            if window is not None and start is not None and window[0] <= start <= window[1]:
                assigned[item["executionArn"]] = (window[2], window[3])
                continue
            key, role, became = self.describe(item["executionArn"])
            assigned[item["executionArn"]] = (key, role)
            if start is not None and became is not None:
                window = (became + PROPAGATION, start - PROPAGATION, key, role)
            else:
                window = None
        return assigned


def _read_state_machines(
    reader: Reader, view: AccountView, arns: list[str], stack_versions: set[str]
) -> None:
    definitions = _Definitions(reader, view)
    logical = {r.physical_id: r.logical_id for r in view.stack_resources}
    for arn in arns:
        try:
            described = reader.call("stepfunctions", "DescribeStateMachine", arn, stateMachineArn=arn)
        except NotFoundError:
            view.notes.append(f"state machine {arn} no longer exists")
            continue
        key = str(described.get("revisionId") or arn)
        role = str(described.get("roleArn", ""))
        view.definitions.setdefault(key, Definition(key, str(described.get("definition", "")), role))
        machine = StateMachine(
            arn=arn,
            name=str(described.get("name", arn.rsplit(":", 1)[-1])),
            type=str(described.get("type", "STANDARD")),
            logical_id=logical.get(arn),
            definition_key=key,
            role_arn=role,
        )
        _read_versions_and_aliases(reader, view, machine, stack_versions)
        if machine.type == "EXPRESS":
            view.notes.append(
                f"{machine.name} is an EXPRESS state machine: Step Functions cannot list its executions "
                "(they last at most 5 minutes); its current definition and versions count, and --min-age "
                "covers executions started just before"
            )
        else:
            _read_executions(reader, view, machine, definitions)
        view.state_machines.append(machine)
    for role_arn in sorted(
        {d.role_arn for d in view.definitions.values()}
        | {e.role_arn for e in view.executions}
        | _credentials_roles(view)
    ):
        if role_arn and role_arn not in view.roles:
            if role_arn.split(":")[4:5] != [view.account_id]:
                view.notes.append(f"role {role_arn} is in another account: its policies are not read")
                continue
            found = _read_role(reader, role_arn)
            if found is None:
                view.notes.append(f"role {role_arn} does not exist (executions running with it fail)")
            else:
                view.roles[role_arn] = found


def _credentials_roles(view: AccountView) -> set[str]:
    """The roles Tasks of the definitions call Lambda with through ``Credentials.RoleArn``: their
    policies decide those calls, not the execution's role."""
    roles: set[str] = set()
    for definition in view.definitions.values():
        if "Credentials" not in definition.text:
            continue
        try:
            sites = call_sites(
                definition.text, region=view.region, account_id=view.account_id, partition=view.partition
            )
        except UnreadableDefinitionError:
            continue  # reported where the definition is read for its calls
        roles.update(site.role_arn for site in sites if site.role_arn not in ("", ROLE_AT_RUN_TIME))
    return roles


def _read_versions_and_aliases(
    reader: Reader, view: AccountView, machine: StateMachine, stack: set[str]
) -> None:
    for item in reader.pages(
        "stepfunctions",
        "ListStateMachineVersions",
        "stateMachineVersions",
        machine.arn,
        stateMachineArn=machine.arn,
    ):
        arn = str(item["stateMachineVersionArn"])
        machine.versions.append(StateMachineVersion(arn, _time(item.get("creationDate")), None, arn in stack))
    for item in reader.pages(
        "stepfunctions",
        "ListStateMachineAliases",
        "stateMachineAliases",
        machine.arn,
        stateMachineArn=machine.arn,
    ):
        alias_arn = str(item["stateMachineAliasArn"])
        described = reader.call(
            "stepfunctions", "DescribeStateMachineAlias", alias_arn, stateMachineAliasArn=alias_arn
        )
        routing = {
            str(route["stateMachineVersionArn"]): float(route.get("weight", 0))
            for route in described.get("routingConfiguration", [])
        }
        machine.aliases.append(StateMachineAlias(alias_arn, str(described.get("name", "")), routing))
    routed = {arn for alias in machine.aliases for arn in alias.routing}
    for position, version in enumerate(machine.versions):
        if version.arn not in routed:
            continue
        described = reader.call(
            "stepfunctions", "DescribeStateMachine", version.arn, stateMachineArn=version.arn
        )
        key = str(described.get("revisionId") or version.arn)
        role = str(described.get("roleArn", machine.role_arn))
        view.definitions.setdefault(key, Definition(key, str(described.get("definition", "")), role))
        machine.versions[position] = StateMachineVersion(version.arn, version.created, key, version.in_stack)


def _listed(reader: Reader, view: AccountView, **where: str) -> list[dict[str, Any]]:
    """Executions that may still run: RUNNING, PENDING_REDRIVE, and stopped within 14 days and redrivable."""
    resource = where.get("stateMachineArn") or where.get("mapRunArn", "")
    found: list[dict[str, Any]] = []
    for status in (RUNNING, PENDING_REDRIVE):
        found.extend(
            reader.pages(
                "stepfunctions", "ListExecutions", "executions", resource, statusFilter=status, **where
            )
        )
    horizon = view.now - timedelta(days=REDRIVE_DAYS)
    for status in STOPPED_STATUSES:
        for item in reader.pages(
            "stepfunctions", "ListExecutions", "executions", resource, statusFilter=status, **where
        ):
            stop = _time(item.get("stopDate"))
            if stop is None or stop < horizon:
                continue  # the redrive window is over: no DescribeExecution needed
            described = reader.call(
                "stepfunctions", "DescribeExecution", item["executionArn"], executionArn=item["executionArn"]
            )
            redrive = str(described.get("redriveStatus", ""))
            if may_still_run(status, stop, redrive, view.now):
                found.append({**item, "redriveStatus": redrive or "unknown"})
    return found


def _read_executions(
    reader: Reader, view: AccountView, machine: StateMachine, definitions: _Definitions
) -> None:
    items = _listed(reader, view, stateMachineArn=machine.arn)
    assigned = definitions.assign(items)
    for item in items:
        key, role = assigned[item["executionArn"]]
        execution = _execution(item, machine.arn, key, role)
        view.executions.append(execution)
        definition = view.definitions.get(key)
        if definition is not None and '"DISTRIBUTED"' in definition.text:
            _read_children(reader, view, execution)


def _execution(
    item: dict[str, Any], machine: str, key: str, role: str, parent: str = "", map_run: str = ""
) -> Execution:
    return Execution(
        arn=str(item["executionArn"]),
        name=str(item.get("name", "")),
        status=str(item.get("status", "")),
        state_machine_arn=machine,
        definition_key=key,
        role_arn=role,
        start=_time(item.get("startDate")),
        stop=_time(item.get("stopDate")),
        redrive_status=str(item.get("redriveStatus", "")),
        version_arn=str(item.get("stateMachineVersionArn") or ""),
        alias_arn=str(item.get("stateMachineAliasArn") or ""),
        parent=parent,
        map_run_arn=map_run,
    )


def _read_children(reader: Reader, view: AccountView, parent: Execution) -> None:
    """Distributed Map children run the parent's ItemProcessor: the parent's definition and role."""
    for run in reader.pages("stepfunctions", "ListMapRuns", "mapRuns", parent.arn, executionArn=parent.arn):
        run_arn = str(run["mapRunArn"])
        for item in _listed(reader, view, mapRunArn=run_arn):
            view.executions.append(
                _execution(
                    item,
                    parent.state_machine_arn,
                    parent.definition_key,
                    parent.role_arn,
                    parent.arn,
                    run_arn,
                )
            )


# --------------------------------------------------------------------------- IAM
def _read_role(reader: Reader, arn: str) -> Role | None:
    name = arn.rsplit("/", 1)[-1]
    role = Role(arn, name)
    try:
        for policy in reader.pages("iam", "ListRolePolicies", "PolicyNames", name, RoleName=name):
            document = reader.call("iam", "GetRolePolicy", name, RoleName=name, PolicyName=policy)
            role.inline[str(policy)] = parse_statements(_document(document.get("PolicyDocument")))
        for attached in reader.pages(
            "iam", "ListAttachedRolePolicies", "AttachedPolicies", name, RoleName=name
        ):
            policy_arn = str(attached["PolicyArn"])
            policy = reader.call("iam", "GetPolicy", policy_arn, PolicyArn=policy_arn)["Policy"]
            version = reader.call(
                "iam",
                "GetPolicyVersion",
                policy_arn,
                PolicyArn=policy_arn,
                VersionId=policy["DefaultVersionId"],
            )
            role.managed[policy_arn] = parse_statements(_document(version["PolicyVersion"].get("Document")))
    except NotFoundError:
        return None
    return role
