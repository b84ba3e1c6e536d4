"""Step Functions versions and aliases for the offline simulation: publishing, weighted routing, canary
deployments and the stack rollback an alarm causes.

``CanaryStack`` is a ``SimStack`` that also deploys ``AWS::StepFunctions::StateMachineVersion``,
``AWS::StepFunctions::StateMachineAlias``, ``AWS::CloudWatch::Alarm`` and ``AWS::Events::Rule`` (what SAM
generates for a state machine with ``AutoPublishAlias``, ``DeploymentPreference`` and an EventBridge event).
``VersionRouter`` starts executions through an alias or a version.

Real (moto 5.2.5's own implementation, reached through boto3):
    * The version registry: a version is published with ``UpdateStateMachine(publish=True)``, and moto keeps
      a snapshot of the definition and role ARN of that moment (``DescribeStateMachine`` on the version ARN).
    * The alias registry: ``CreateStateMachineAlias``, ``UpdateStateMachineAlias`` and
      ``DescribeStateMachineAlias`` store and return the routing configuration (version ARNs and weights).
    * Alarms (``PutMetricAlarm``, ``SetAlarmState``, ``DescribeAlarms``) and EventBridge rules and targets
      (``PutRule``, ``PutTargets``, ``ListTargetsByRule``).
    * Every execution: once started, moto's interpreter runs it with the definition it started with.

Bridged (each one small):
    * ``StartExecution`` on a version or alias ARN (moto cannot). ``VersionRouter`` reads the alias's routing
      from moto, picks a version with an injectable ``chooser`` (Step Functions picks at random by weight;
      the default here, ``weighted_by_name``, is a deterministic hash of the execution name), and starts the
      execution on a private state machine that holds that version's snapshot (definition and role read back
      from moto's version). It records which version and alias each execution belongs to, which moto's
      ``DescribeExecution`` does not return.
    * ``StateMachineRevisionId`` (moto has none): a hash of the definition and role ARN, so it changes exactly
      when ``UpdateStateMachine`` changes something.
    * The alias's traffic shifting. CloudFormation's alias resource does it during the update; here the
      ``on_phase`` callback stands for the ``Interval``: it is called while the canary (or each linear step)
      routes part of the traffic to the new version, then the alarms are read from moto's CloudWatch. An
      alarm in ``ALARM`` routes 100 % back to the old version (``on_phase("alarm")`` is called then), and the
      update fails.
    * The rollback of the failed update (``UPDATE_ROLLBACK``): resources updated in place get their previous
      properties back (function code and configuration, definition, role policies), replaced ones their
      previous physical resource, and resources the update created are deleted unless their
      ``DeletionPolicy`` is ``Retain`` (CloudFormation keeps a ``Retain`` resource created by an update that
      rolls back; the stack option ``RetainExceptOnCreate`` would delete it, and is not simulated). Which
      policy CloudFormation applies to the new instance of a *replaced* resource on rollback is not
      documented; here it is ``DeletionPolicy`` (SAM's state machine versions set both to ``Retain``).
      Removals of the failed update had not happened yet: as in CloudFormation, they run in the cleanup
      phase after every update succeeded.
    * A deleted state machine version is only marked deleted here (moto has no ``DeleteStateMachineVersion``);
      the router refuses to start executions on it. Executions already running keep running, as in AWS.
    * EventBridge does not deliver to Step Functions in moto: ``deliver_event`` reads the rule's targets from
      moto and starts each execution through the router with the target's ARN and ``InputPath``.

Example::

    stack = CanaryStack("demo", clients)
    stack.deploy(day1)
    router = VersionRouter(clients["stepfunctions"], stack)
    started = router.start_execution(stack.ref("ApprovalStateMachineAliaslive"), "run-1", "{}")
    started.version_arn  # the version the alias routed it to
"""

from __future__ import annotations

import copy
import hashlib
import json
import threading
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, ClassVar

from sim.errors import SimulationError
from sim.stack import Deployed, DeployReport, SimStack, _physical_name, dependency_order

STATE_MACHINE_VERSION = "AWS::StepFunctions::StateMachineVersion"
STATE_MACHINE_ALIAS = "AWS::StepFunctions::StateMachineAlias"
ALARM = "AWS::CloudWatch::Alarm"
EVENT_RULE = "AWS::Events::Rule"

Route = tuple[str, int]  # (state machine version ARN, weight)
Chooser = Callable[[Sequence[Route], str], str]
Phase = Callable[[str], None]


def weighted_by_name(routes: Sequence[Route], execution_name: str) -> str:
    """Pick a version by weight, deterministically: the execution name's hash decides (0-99).

    >>> weighted_by_name([("v1", 90), ("v2", 10)], "run-1") in ("v1", "v2")
    True
    """
    bucket = int(hashlib.sha256(execution_name.encode()).hexdigest()[:8], 16) % 100
    total = 0
    for version_arn, weight in routes:
        total += weight
        if bucket < total:
            return version_arn
    return routes[-1][0]


class CanaryAlarmError(SimulationError):
    """An alarm fired during the alias's traffic shift: the update fails and the stack rolls back."""


@dataclass
class CanaryOutcome:
    """What a deploy through ``CanaryStack.deploy`` did, beyond ``DeployReport``."""

    report: DeployReport
    rolled_back: bool = False
    alarms: list[str] = field(default_factory=list)  # the alarm names found in ALARM
    rollback_operations: list[str] = field(default_factory=list)
    rollback_retained: list[str] = field(default_factory=list)  # created by the update, kept (Retain)
    rollback_deleted: list[str] = field(default_factory=list)  # created by the update, deleted
    phases: list[str] = field(default_factory=list)  # "canary 10%", "alarm", "linear 20%", ...


class CanaryStack(SimStack):
    """A ``SimStack`` with state machine versions, aliases (traffic shifting), alarms and EventBridge rules.

    ``deploy(template, on_phase=...)`` calls ``on_phase("canary")`` (or ``"linear"`` per step) while an
    alias routes part of the traffic to a new version, checks the alias's alarms afterwards, and on an alarm
    calls ``on_phase("alarm")`` once traffic is back on the old version, then rolls the stack back and
    returns with ``rolled_back`` set. Nothing else changes in how ``SimStack`` deploys.
    """

    def __init__(self, name: str, clients: Mapping[str, Any], **kwargs: Any) -> None:
        super().__init__(name, clients, **kwargs)
        self.deleted_versions: set[str] = set()  # state machine version ARNs deleted (see docstring)
        self._on_phase: Phase | None = None
        self._outcome: CanaryOutcome | None = None
        self._rolling_back = False
        self._replaced: list[Deployed] = []  # old instances of replaced versions, until cleanup

    # -- deploy, rollback -----------------------------------------------------------------------

    def deploy(  # type: ignore[override]
        self, template: Mapping[str, Any], label: str = "deploy", on_phase: Phase | None = None
    ) -> CanaryOutcome:
        before = {logical_id: copy.deepcopy(d) for logical_id, d in self.resources.items()}
        retained_before = len(self.retained)
        self._on_phase, self._replaced = on_phase, []
        self._outcome = outcome = CanaryOutcome(DeployReport(label))
        try:
            outcome.report = super().deploy(template, label)
        except CanaryAlarmError:
            report = self._report
            assert report is not None
            outcome.report = report
            self._rollback(before, retained_before, outcome)
            outcome.rolled_back = True
        else:
            for old in self._replaced:  # cleanup phase: the old instances of replaced versions
                if old.update_replace_policy == "Retain":
                    self.retained.append(old)
                    outcome.report.retained.append(old.logical_id)
                else:
                    self._delete(old)
        finally:
            self._on_phase, self._outcome, self._report = None, None, None
        return outcome

    def _rollback(self, before: Mapping[str, Deployed], retained_before: int, outcome: CanaryOutcome) -> None:
        operations_before = len(outcome.report.operations)
        self._rolling_back = True
        try:
            template = outcome.report.template.get("Resources") or {}
            current_order = dependency_order({k: template.get(k, {"Properties": {}}) for k in self.resources})
            for logical_id in reversed(current_order):
                current = self.resources[logical_id]
                previous = before.get(logical_id)
                if previous is None:  # created by the failed update
                    del self.resources[logical_id]
                    if current.deletion_policy == "Retain":
                        self.retained.append(current)
                        outcome.rollback_retained.append(logical_id)
                    else:
                        self._delete(current)
                        outcome.rollback_deleted.append(logical_id)
                elif current.physical_id != previous.physical_id:  # replaced: back to the old instance
                    new_instance = Deployed(**vars(current))
                    old = next((d for d in self._replaced if d.physical_id == previous.physical_id), None)
                    if old is None:
                        kept = [
                            d
                            for d in self.retained[retained_before:]
                            if d.physical_id == previous.physical_id
                        ]
                        if not kept:
                            raise SimulationError(
                                f"{logical_id}: rollback needs the replaced instance, which was deleted"
                            )
                        self.retained.remove(kept[0])
                    else:
                        self._replaced.remove(old)
                    self.resources[logical_id] = copy.deepcopy(previous)
                    if new_instance.deletion_policy == "Retain":
                        self.retained.append(new_instance)
                        outcome.rollback_retained.append(logical_id)
                    else:
                        self._delete(new_instance)
                        outcome.rollback_deleted.append(logical_id)
                elif current.properties != previous.properties:  # updated in place: back to before
                    self._update(current, copy.deepcopy(previous.properties))
                    current.deletion_policy = previous.deletion_policy
                    current.update_replace_policy = previous.update_replace_policy
        finally:
            self._rolling_back = False
        outcome.rollback_operations = outcome.report.operations[operations_before:]

    def _phase(self, name: str) -> None:
        if self._outcome is not None:
            self._outcome.phases.append(name)
        if self._on_phase is not None:
            self._on_phase(name)

    # -- dispatch of the extra types ------------------------------------------------------------

    def _create(
        self,
        logical_id: str,
        resource_type: str,
        properties: dict[str, Any],
        deletion_policy: str,
        update_replace_policy: str,
    ) -> Deployed:
        create = {
            STATE_MACHINE_VERSION: self._create_sm_version,
            STATE_MACHINE_ALIAS: self._create_alias,
            ALARM: self._create_alarm,
            EVENT_RULE: self._create_rule,
        }.get(resource_type)
        if create is None:
            return super()._create(
                logical_id, resource_type, properties, deletion_policy, update_replace_policy
            )
        physical_id, attributes = create(logical_id, properties)
        return Deployed(
            logical_id,
            resource_type,
            properties,
            physical_id,
            attributes,
            deletion_policy,
            update_replace_policy,
        )

    def _update(self, existing: Deployed, properties: dict[str, Any]) -> bool:
        if existing.type == STATE_MACHINE_VERSION:
            # Every property of a state machine version requires replacement: publish a new one. The old
            # instance goes in the cleanup phase (``deploy``), or comes back if the update rolls back.
            self._replaced.append(Deployed(**vars(existing)))
            existing.physical_id, existing.attributes = self._create_sm_version(
                existing.logical_id, properties
            )
            existing.properties = properties
            return True
        update = {
            STATE_MACHINE_ALIAS: self._update_alias,
            ALARM: self._update_alarm,
            EVENT_RULE: self._update_rule,
        }.get(existing.type)
        if update is None:
            return super()._update(existing, properties)
        update(existing, properties)
        existing.properties = properties
        return False

    def _delete(self, gone: Deployed) -> None:
        if gone.type == STATE_MACHINE_VERSION:
            for alias in (d for d in self.resources.values() if d.type == STATE_MACHINE_ALIAS):
                routing = self.clients["stepfunctions"].describe_state_machine_alias(
                    stateMachineAliasArn=alias.physical_id
                )["routingConfiguration"]
                if any(r["stateMachineVersionArn"] == gone.physical_id for r in routing):
                    raise SimulationError(  # DeleteStateMachineVersion refuses a version an alias uses
                        f"{gone.logical_id}: version {gone.physical_id} is used by alias {alias.logical_id}"
                    )
            self.deleted_versions.add(gone.physical_id)
            self._op(f"states:DeleteStateMachineVersion {gone.physical_id}")
        elif gone.type == STATE_MACHINE_ALIAS:
            self.clients["stepfunctions"].delete_state_machine_alias(stateMachineAliasArn=gone.physical_id)
            self._op(f"states:DeleteStateMachineAlias {gone.physical_id}")
        elif gone.type == ALARM:
            self.clients["cloudwatch"].delete_alarms(AlarmNames=[gone.physical_id])
            self._op(f"cloudwatch:DeleteAlarms {gone.physical_id}")
        elif gone.type == EVENT_RULE:
            events = self.clients["events"]
            ids = [t["Id"] for t in events.list_targets_by_rule(Rule=gone.physical_id)["Targets"]]
            if ids:
                events.remove_targets(Rule=gone.physical_id, Ids=ids)
            events.delete_rule(Name=gone.physical_id)
            self._op(f"events:DeleteRule {gone.physical_id}")
        else:
            super()._delete(gone)

    # -- IAM: policy documents without Version ---------------------------------------------------

    def _sync_role_policies(self, name: str, old: Mapping[str, Any], new: Mapping[str, Any]) -> None:
        # SAM writes the EventBridge role's policy without "Version"; IAM accepts that (2008-10-17), moto
        # refuses it. Give moto "2012-10-17" (the statements mean the same: no policy variables in them).
        def versioned(properties: Mapping[str, Any]) -> dict[str, Any]:
            policies = [
                {**p, "PolicyDocument": {"Version": "2012-10-17", **p["PolicyDocument"]}}
                for p in properties.get("Policies", [])
            ]
            return {**properties, "Policies": policies} if "Policies" in properties else dict(properties)

        super()._sync_role_policies(name, versioned(old), versioned(new))

    # -- state machines: the revision id --------------------------------------------------------

    def _revision(self, logical_id: str, p: Mapping[str, Any]) -> str:
        text = self._definition(logical_id, p) + "\n" + str(p["RoleArn"])
        digest = hashlib.sha256(text.encode()).hexdigest()
        return f"{digest[:8]}-{digest[8:12]}-{digest[12:16]}-{digest[16:20]}-{digest[20:32]}"

    def _create_state_machine(self, logical_id: str, p: dict[str, Any]) -> tuple[str, dict[str, Any]]:
        arn, attributes = super()._create_state_machine(logical_id, p)
        return arn, {**attributes, "StateMachineRevisionId": self._revision(logical_id, p)}

    def _update_state_machine(self, existing: Deployed, p: dict[str, Any]) -> None:
        super()._update_state_machine(existing, p)
        existing.attributes["StateMachineRevisionId"] = self._revision(existing.logical_id, p)

    # -- versions --------------------------------------------------------------------------------

    def _create_sm_version(self, logical_id: str, p: dict[str, Any]) -> tuple[str, dict[str, Any]]:
        self._check_properties(
            logical_id, STATE_MACHINE_VERSION, p, {"StateMachineArn", "StateMachineRevisionId", "Description"}
        )
        sfn = self.clients["stepfunctions"]
        machine = next(
            (d for d in self.resources.values() if d.physical_id == p["StateMachineArn"]),
            None,
        )
        if machine is None:
            raise SimulationError(f"{logical_id}: StateMachineArn is not a state machine of this stack")
        revision = p.get("StateMachineRevisionId")
        if revision is not None and revision != machine.attributes["StateMachineRevisionId"]:
            raise SimulationError(f"{logical_id}: revision {revision} is not the state machine's current one")
        current = sfn.describe_state_machine(stateMachineArn=p["StateMachineArn"])
        kwargs = {"versionDescription": p["Description"]} if "Description" in p else {}
        arn = sfn.update_state_machine(
            stateMachineArn=p["StateMachineArn"], definition=current["definition"], publish=True, **kwargs
        )["stateMachineVersionArn"]
        self._op(f"states:PublishStateMachineVersion {arn}")
        return arn, {"Arn": arn}

    # -- aliases ---------------------------------------------------------------------------------

    ALIAS_PROPERTIES: ClassVar[set[str]] = {
        "Name",
        "Description",
        "DeploymentPreference",
        "RoutingConfiguration",
    }

    @staticmethod
    def _target_routes(logical_id: str, p: Mapping[str, Any]) -> list[Route]:
        if "RoutingConfiguration" in p:
            return [(r["StateMachineVersionArn"], int(r["Weight"])) for r in p["RoutingConfiguration"]]
        preference = p.get("DeploymentPreference")
        if not preference or "StateMachineVersionArn" not in preference:
            raise SimulationError(
                f"{logical_id}: an alias needs RoutingConfiguration or DeploymentPreference"
            )
        return [(preference["StateMachineVersionArn"], 100)]

    def _route(self, alias_arn: str, routes: Sequence[Route]) -> None:
        configuration = [
            {"stateMachineVersionArn": arn, "weight": weight} for arn, weight in routes if weight
        ]
        self.clients["stepfunctions"].update_state_machine_alias(
            stateMachineAliasArn=alias_arn, routingConfiguration=configuration
        )
        self._op(f"states:UpdateStateMachineAlias {alias_arn} {configuration}")

    def _create_alias(self, logical_id: str, p: dict[str, Any]) -> tuple[str, dict[str, Any]]:
        self._check_properties(logical_id, STATE_MACHINE_ALIAS, p, self.ALIAS_PROPERTIES)
        routes = self._target_routes(logical_id, p)
        kwargs = {"description": p["Description"]} if "Description" in p else {}
        arn = self.clients["stepfunctions"].create_state_machine_alias(
            name=p["Name"],
            routingConfiguration=[{"stateMachineVersionArn": a, "weight": w} for a, w in routes],
            **kwargs,
        )["stateMachineAliasArn"]
        self._op(f"states:CreateStateMachineAlias {arn}")
        return arn, {"Arn": arn}

    def _update_alias(self, existing: Deployed, p: dict[str, Any]) -> None:
        self._check_properties(existing.logical_id, STATE_MACHINE_ALIAS, p, self.ALIAS_PROPERTIES)
        if p["Name"] != existing.properties["Name"]:
            raise SimulationError(f"{existing.logical_id}: renaming (replacing) an alias is not simulated")
        alias_arn = existing.physical_id
        routes = self._target_routes(existing.logical_id, p)
        preference = p.get("DeploymentPreference") or {}
        kind = preference.get("Type", "ALL_AT_ONCE")
        current = self.clients["stepfunctions"].describe_state_machine_alias(stateMachineAliasArn=alias_arn)
        old = [r["stateMachineVersionArn"] for r in current["routingConfiguration"] if r["weight"]]
        new = routes[0][0]
        if self._rolling_back or "RoutingConfiguration" in p or kind == "ALL_AT_ONCE" or old == [new]:
            self._route(alias_arn, routes)
            return
        if len(old) != 1:
            raise SimulationError(
                f"{existing.logical_id}: a traffic shift from a split alias is not simulated"
            )
        percentage = int(preference["Percentage"])
        steps = [percentage] if kind == "CANARY" else list(range(percentage, 100, percentage))
        for step in steps:
            self._route(alias_arn, [(old[0], 100 - step), (new, step)])
            self._phase(f"{kind.lower()} {step}%")
            firing = self._alarms_in_alarm(preference.get("Alarms", []))
            if firing:
                self._route(alias_arn, [(old[0], 100)])
                if self._outcome is not None:
                    self._outcome.alarms = firing
                self._phase("alarm")
                raise CanaryAlarmError(f"{existing.logical_id}: alarms in ALARM during the shift: {firing}")
        self._route(alias_arn, [(new, 100)])

    def _alarms_in_alarm(self, names: Sequence[str]) -> list[str]:
        if not names:
            return []
        alarms = self.clients["cloudwatch"].describe_alarms(AlarmNames=list(names))["MetricAlarms"]
        return sorted(a["AlarmName"] for a in alarms if a["StateValue"] == "ALARM")

    # -- alarms, rules ---------------------------------------------------------------------------

    ALARM_PROPERTIES: ClassVar[tuple[str, ...]] = (
        "AlarmDescription",
        "Namespace",
        "MetricName",
        "Dimensions",
        "Statistic",
        "Period",
        "EvaluationPeriods",
        "DatapointsToAlarm",
        "Threshold",
        "ComparisonOperator",
        "TreatMissingData",
    )

    def _put_alarm(self, name: str, p: Mapping[str, Any]) -> str:
        cloudwatch = self.clients["cloudwatch"]
        kwargs = {k: p[k] for k in self.ALARM_PROPERTIES if k in p}
        for number in ("Period", "EvaluationPeriods", "DatapointsToAlarm"):
            if number in kwargs:
                kwargs[number] = int(kwargs[number])
        if "Threshold" in kwargs:
            kwargs["Threshold"] = float(kwargs["Threshold"])
        cloudwatch.put_metric_alarm(AlarmName=name, **kwargs)
        self._op(f"cloudwatch:PutMetricAlarm {name}")
        return str(cloudwatch.describe_alarms(AlarmNames=[name])["MetricAlarms"][0]["AlarmArn"])

    def _create_alarm(self, logical_id: str, p: dict[str, Any]) -> tuple[str, dict[str, Any]]:
        self._check_properties(logical_id, ALARM, p, {"AlarmName", *self.ALARM_PROPERTIES})
        name = p.get("AlarmName") or _physical_name(self.name, logical_id, 255)
        return name, {"Arn": self._put_alarm(name, p)}

    def _update_alarm(self, existing: Deployed, p: dict[str, Any]) -> None:
        self._check_properties(existing.logical_id, ALARM, p, {"AlarmName", *self.ALARM_PROPERTIES})
        self._put_alarm(existing.physical_id, p)

    def _put_rule(self, name: str, p: Mapping[str, Any]) -> str:
        events = self.clients["events"]
        kwargs = {"EventPattern": json.dumps(p["EventPattern"])} if "EventPattern" in p else {}
        if "State" in p:
            kwargs["State"] = p["State"]
        arn = events.put_rule(Name=name, **kwargs)["RuleArn"]
        old = [t["Id"] for t in events.list_targets_by_rule(Rule=name)["Targets"]]
        if old:
            events.remove_targets(Rule=name, Ids=old)
        if p.get("Targets"):
            events.put_targets(Rule=name, Targets=p["Targets"])
        self._op(f"events:PutRule {name}")
        return str(arn)

    def _create_rule(self, logical_id: str, p: dict[str, Any]) -> tuple[str, dict[str, Any]]:
        self._check_properties(logical_id, EVENT_RULE, p, {"Name", "EventPattern", "State", "Targets"})
        name = p.get("Name") or _physical_name(self.name, logical_id)
        return name, {"Arn": self._put_rule(name, p)}

    def _update_rule(self, existing: Deployed, p: dict[str, Any]) -> None:
        self._check_properties(
            existing.logical_id, EVENT_RULE, p, {"Name", "EventPattern", "State", "Targets"}
        )
        self._put_rule(existing.physical_id, p)


# --------------------------------------------------------------------------------------------------
# Starting executions through an alias or a version
# --------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class StartedExecution:
    """An execution started through the router, with the fields AWS's ``DescribeExecution`` adds."""

    execution_arn: str
    name: str
    target_arn: str  # the ARN StartExecution was called with
    version_arn: str | None  # stateMachineVersionArn
    alias_arn: str | None  # stateMachineAliasArn


class VersionRouter:
    """``StartExecution`` on a state machine, version or alias ARN (see the module docstring).

    ``chooser(routes, execution_name)`` picks the version for an alias with two routes; inject one to make
    tests deterministic.
    """

    def __init__(self, sfn: Any, stack: CanaryStack, chooser: Chooser = weighted_by_name) -> None:
        self.sfn = sfn
        self.stack = stack
        self.chooser = chooser
        self.executions: dict[str, StartedExecution] = {}
        self._backing: dict[str, str] = {}  # version ARN -> the private state machine running it
        self._lock = threading.Lock()

    def start_execution(self, target_arn: str, name: str, execution_input: str = "{}") -> StartedExecution:
        qualifier = self._qualifier(target_arn)
        version_arn: str | None = None
        alias_arn: str | None = None
        if qualifier is None:
            run_on = target_arn
        else:
            if qualifier.isdigit():
                version_arn = target_arn
            else:
                alias_arn = target_arn
                alias = self.sfn.describe_state_machine_alias(stateMachineAliasArn=target_arn)
                routes = [
                    (r["stateMachineVersionArn"], int(r["weight"])) for r in alias["routingConfiguration"]
                ]
                version_arn = routes[0][0] if len(routes) == 1 else self.chooser(routes, name)
                if version_arn not in {arn for arn, _ in routes}:
                    raise SimulationError(
                        f"the chooser picked {version_arn}, which {target_arn} does not route to"
                    )
            if version_arn in self.stack.deleted_versions:
                raise SimulationError(f"state machine version {version_arn} was deleted")
            run_on = self._backing_machine(version_arn)
        execution_arn = self.sfn.start_execution(stateMachineArn=run_on, name=name, input=execution_input)[
            "executionArn"
        ]
        started = StartedExecution(execution_arn, name, target_arn, version_arn, alias_arn)
        with self._lock:
            self.executions[execution_arn] = started
        return started

    @staticmethod
    def _qualifier(arn: str) -> str | None:
        parts = arn.split(":")
        if len(parts) < 7 or parts[2] != "states" or parts[5] != "stateMachine":
            raise SimulationError(f"not a state machine ARN: {arn}")
        return parts[7] if len(parts) > 7 else None

    def _backing_machine(self, version_arn: str) -> str:
        with self._lock:
            if version_arn not in self._backing:
                version = self.sfn.describe_state_machine(stateMachineArn=version_arn)  # moto's snapshot
                name, number = version_arn.split(":")[6:8]
                self._backing[version_arn] = self.sfn.create_state_machine(
                    name=f"{name}--version-{number}"[:80],
                    definition=version["definition"],
                    roleArn=version["roleArn"],
                    type=version.get("type", "STANDARD"),
                )["stateMachineArn"]
            return self._backing[version_arn]

    def deliver_event(
        self, events: Any, rule_name: str, event: Mapping[str, Any], name: str
    ) -> list[StartedExecution]:
        """What EventBridge does for a matching event: start each Step Functions target of the rule."""
        started = []
        for target in events.list_targets_by_rule(Rule=rule_name)["Targets"]:
            payload: Any = event
            path = target.get("InputPath")
            if path:
                if not path.startswith("$."):
                    raise SimulationError(f"InputPath {path!r} is not simulated (only $.key)")
                for key in path[2:].split("."):
                    payload = payload[key]
            started.append(self.start_execution(target["Arn"], name, json.dumps(payload)))
        return started
