"""A simulated CloudFormation stack: deploys a processed template through the IAM, Lambda and Step
Functions APIs (moto's), because moto's own CloudFormation cannot run the blue-green story:

- ``Ref`` of an ``AWS::Lambda::Version`` gives its logical ID, not the qualified ARN; ``GetAtt`` crashes.
- State machines created by a stack ignore ``Definition``/``DefinitionSubstitutions`` and are invisible to
  the Step Functions interpreter.
- Updates run in template order, so a new Version is published before the function's code changes.
- Resources removed from the template are deleted even with ``DeletionPolicy: Retain``.

``SimStack.deploy`` creates or updates resources in dependency order (a function's code and configuration
are updated before a Version that references it is published), then, as CloudFormation's clean-up phase,
deletes the old copies of replaced resources unless their ``UpdateReplacePolicy`` is ``Retain`` and the
resources that left the template unless their ``DeletionPolicy`` is ``Retain``. Replacements simulated:
a Version whose properties change, a function whose ``FunctionName`` changes, an inline ``RolePolicy``
whose ``PolicyName`` or ``RoleName`` changes. Deleting a function deletes all its versions, whatever the
Version resources say. Publishing a version when Lambda would publish nothing (same code hash and
version-locked settings as the latest version: see ``sim.lambda_bridge.LambdaPublishRule``) fails the
deploy, as CloudFormation does. ``Resolver`` evaluates the intrinsic functions the deploy needs and
refuses the others. Resource types and properties it does not know are refused too, never guessed.
"""

from __future__ import annotations

import contextlib
import copy
import hashlib
import json
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, ClassVar

from sim.errors import SimulationError
from sim.iam_policy import as_list

REGION = "us-east-1"
ACCOUNT_ID = "123456789012"  # moto's default account
PARTITION = "aws"


_NO_VALUE = object()


class Resolver:
    """Evaluate the intrinsic functions a deploy needs, against the stack's current physical resources.

    Example::

        Resolver(stack).resolve({"Fn::Sub": "${HelloFunction.Arn}:*"})
    """

    SUPPORTED = ("Ref", "Fn::GetAtt", "Fn::Join", "Fn::Sub", "Fn::Select", "Fn::Split", "Fn::FindInMap")

    def __init__(self, stack: SimStack) -> None:
        self.stack = stack

    def resolve(self, value: Any) -> Any:
        if isinstance(value, list):
            return [item for item in (self.resolve(v) for v in value) if item is not _NO_VALUE]
        if not isinstance(value, dict):
            return value
        if len(value) == 1:
            ((key, argument),) = value.items()
            if key == "Ref":
                return self.ref(argument)
            if key == "Fn::GetAtt":
                logical_id, attribute = argument.split(".", 1) if isinstance(argument, str) else argument
                return self.stack.get_att(logical_id, attribute)
            if key == "Fn::Join":
                delimiter, items = argument
                return delimiter.join(str(item) for item in self.resolve(items))
            if key == "Fn::Sub":
                return self._sub(argument)
            if key == "Fn::Select":
                index, items = self.resolve(argument)
                return items[int(index)]
            if key == "Fn::Split":
                delimiter, text = self.resolve(argument)
                return text.split(delimiter)
            if key == "Fn::FindInMap":
                mapping, top, second = self.resolve(argument)
                try:
                    return self.stack.mappings[mapping][top][second]
                except (KeyError, TypeError):
                    raise SimulationError(f"Fn::FindInMap {[mapping, top, second]}: no such entry") from None
            if key.startswith("Fn::") or key == "Condition":
                raise SimulationError(
                    f"intrinsic {key} is not simulated (supported: {', '.join(self.SUPPORTED)})"
                )
        resolved = {k: self.resolve(v) for k, v in value.items()}
        return {k: v for k, v in resolved.items() if v is not _NO_VALUE}

    def ref(self, name: str) -> Any:
        pseudo = {
            "AWS::Region": self.stack.region,
            "AWS::AccountId": self.stack.account_id,
            "AWS::Partition": PARTITION,
            "AWS::URLSuffix": "amazonaws.com",
            "AWS::StackName": self.stack.name,
            "AWS::StackId": self.stack.stack_id,
            "AWS::NoValue": _NO_VALUE,
        }
        if name in pseudo:
            return pseudo[name]
        if name in self.stack.parameters:
            return self.stack.parameters[name]
        return self.stack.ref(name)

    def _sub(self, argument: Any) -> str:
        text, variables = (argument, {}) if isinstance(argument, str) else argument
        variables = {k: self.resolve(v) for k, v in variables.items()}

        def replace(match: re.Match[str]) -> str:
            name = match.group(1)
            if name.startswith("!"):
                return "${" + name[1:] + "}"
            if name in variables:
                return str(variables[name])
            if "." in name and not name.startswith("AWS::"):
                logical_id, attribute = name.split(".", 1)
                return str(self.stack.get_att(logical_id, attribute))
            return str(self.ref(name))

        return re.sub(r"\$\{([^}]+)\}", replace, text)


def substitute_definition(definition: str, substitutions: Mapping[str, Any]) -> str:
    """Apply ``DefinitionSubstitutions`` (already resolved) the way CloudFormation does: ``${key}`` text."""

    def replace(match: re.Match[str]) -> str:
        key = match.group(1)
        if key not in substitutions:
            return match.group(0)
        value = substitutions[key]
        return json.dumps(value) if isinstance(value, bool) else str(value)

    return re.sub(r"\$\{([^}]+)\}", replace, definition)


# --------------------------------------------------------------------------------------------------
# The deployer
# --------------------------------------------------------------------------------------------------


@dataclass
class Deployed:
    """A resource the simulated stack owns."""

    logical_id: str
    type: str
    properties: dict[str, Any]  # resolved
    physical_id: str
    attributes: dict[str, Any]
    deletion_policy: str = "Delete"
    update_replace_policy: str = "Delete"


@dataclass
class DeployReport:
    """What one deploy did, by logical ID. ``retained`` resources left the stack but still exist."""

    label: str
    created: list[str] = field(default_factory=list)
    updated: list[str] = field(default_factory=list)
    replaced: list[str] = field(default_factory=list)
    unchanged: list[str] = field(default_factory=list)
    deleted: list[str] = field(default_factory=list)
    retained: list[str] = field(default_factory=list)
    operations: list[str] = field(default_factory=list)  # API calls, in order
    template: dict[str, Any] = field(default_factory=dict)  # the template that was deployed


def _dependencies(value: Any) -> set[str]:
    found: set[str] = set()
    if isinstance(value, list):
        for item in value:
            found |= _dependencies(item)
    elif isinstance(value, dict):
        if len(value) == 1 and "Ref" in value and isinstance(value["Ref"], str):
            found.add(value["Ref"])
        elif len(value) == 1 and "Fn::GetAtt" in value:
            argument = value["Fn::GetAtt"]
            found.add(argument.split(".", 1)[0] if isinstance(argument, str) else argument[0])
        elif len(value) == 1 and "Fn::Sub" in value:
            argument = value["Fn::Sub"]
            text, variables = (argument, {}) if isinstance(argument, str) else argument
            for name in re.findall(r"\$\{([^}!][^}]*)\}", text):
                if name not in variables:
                    found.add(name.split(".", 1)[0])
            found |= _dependencies(variables)
        else:
            for item in value.values():
                found |= _dependencies(item)
    return found


def dependency_order(resources: Mapping[str, Any]) -> list[str]:
    """Logical IDs so that every resource comes after the ones it references (ties by name)."""
    needs = {
        logical_id: (
            _dependencies(resource.get("Properties", {})) | set(as_list(resource.get("DependsOn", [])))
        )
        & set(resources)
        for logical_id, resource in resources.items()
    }
    order: list[str] = []
    while needs:
        ready = sorted(logical_id for logical_id, deps in needs.items() if not deps - set(order))
        if not ready:
            raise SimulationError(f"circular references between {sorted(needs)}")
        order.extend(ready)
        for logical_id in ready:
            del needs[logical_id]
    return order


def _tags_dict(tags: Any) -> dict[str, str]:
    if isinstance(tags, dict):
        return dict(tags)
    return {tag["Key"]: tag["Value"] for tag in tags or []}


def _physical_name(stack_name: str, logical_id: str, limit: int = 64) -> str:
    suffix = hashlib.sha256(f"{stack_name}/{logical_id}".encode()).hexdigest()[:12].upper()
    head = f"{stack_name}-{logical_id}"[: limit - len(suffix) - 1]
    return f"{head}-{suffix}"


class SimStack:
    """A CloudFormation stack, simulated with the service APIs (see the module docstring for why).

    ``deploy(template)`` creates or updates resources in dependency order, then deletes the resources that
    left the template unless their ``DeletionPolicy`` is ``Retain``.

    Example::

        stack = SimStack("demo", clients)
        report = stack.deploy(template)
        stack.ref("ApprovalStateMachine")  # the state machine ARN
    """

    # Function properties set through UpdateFunctionConfiguration; all are version-locked.
    FUNCTION_CONFIG: ClassVar[tuple[str, ...]] = (
        "Description",
        "Handler",
        "Runtime",
        "Timeout",
        "MemorySize",
        "Environment",
        "Role",
        "Layers",
        "Architectures",
        "TracingConfig",
    )
    # Function properties that are not version-locked: changing them alone publishes nothing.
    FUNCTION_UNLOCKED: ClassVar[tuple[str, ...]] = ("Tags", "ReservedConcurrentExecutions")
    IGNORED: ClassVar[dict[str, set[str]]] = {}

    def __init__(
        self,
        name: str,
        clients: Mapping[str, Any],
        *,
        region: str = REGION,
        account_id: str = ACCOUNT_ID,
        parameters: Mapping[str, Any] | None = None,
    ) -> None:
        self.name = name
        self.clients = clients
        self.region = region
        self.account_id = account_id
        self.parameters = dict(parameters or {})
        self.stack_id = f"arn:{PARTITION}:cloudformation:{region}:{account_id}:stack/{name}/sim"
        self.resources: dict[str, Deployed] = {}
        self.retained: list[Deployed] = []
        self._report: DeployReport | None = None
        self._replaced_copies: list[Deployed] = []  # old copies of replaced resources, for the clean-up
        self.mappings: dict[str, Any] = {}

    # -- references -------------------------------------------------------------------------------

    def ref(self, logical_id: str) -> Any:
        if logical_id not in self.resources:
            raise SimulationError(f"Ref to {logical_id!r}: no such resource (yet) in stack {self.name}")
        return self.resources[logical_id].physical_id

    def get_att(self, logical_id: str, attribute: str) -> Any:
        if logical_id not in self.resources:
            raise SimulationError(
                f"GetAtt {logical_id}.{attribute}: no such resource (yet) in stack {self.name}"
            )
        attributes = self.resources[logical_id].attributes
        if attribute not in attributes:
            raise SimulationError(
                f"GetAtt {logical_id}.{attribute}: attribute not simulated ({sorted(attributes)})"
            )
        return attributes[attribute]

    # -- deploy -----------------------------------------------------------------------------------

    def deploy(self, template: Mapping[str, Any], label: str = "deploy") -> DeployReport:
        template = copy.deepcopy(dict(template))
        for key in ("Conditions", "Transform"):
            if template.get(key):
                raise SimulationError(f"template section {key} is not simulated")
        for name, parameter in (template.get("Parameters") or {}).items():
            if name not in self.parameters and "Default" in parameter:
                self.parameters[name] = parameter["Default"]
        resources = template.get("Resources") or {}
        report = DeployReport(label=label, template=template)
        self._report = report
        self._replaced_copies: list[Deployed] = []
        self.mappings = dict(template.get("Mappings") or {})
        resolver = Resolver(self)
        for logical_id in dependency_order(resources):
            resource = resources[logical_id]
            resource_type = resource["Type"]
            if "Condition" in resource:
                raise SimulationError(f"{logical_id}: resource conditions are not simulated")
            properties = resolver.resolve(resource.get("Properties") or {})
            policies = (
                resource.get("DeletionPolicy", "Delete"),
                resource.get("UpdateReplacePolicy", "Delete"),
            )
            existing = self.resources.get(logical_id)
            if existing is None:
                self.resources[logical_id] = self._create(logical_id, resource_type, properties, *policies)
                report.created.append(logical_id)
            elif existing.type != resource_type:
                raise SimulationError(f"{logical_id}: changing the type of a resource is not simulated")
            elif existing.properties == properties:
                existing.deletion_policy, existing.update_replace_policy = policies
                report.unchanged.append(logical_id)
            else:
                replaced = self._update(existing, properties)
                existing.deletion_policy, existing.update_replace_policy = policies
                (report.replaced if replaced else report.updated).append(logical_id)
        # Clean-up phase: the old copies of replaced resources, then the resources that left the template.
        for old in self._replaced_copies:
            if old.update_replace_policy == "Retain":
                self.retained.append(old)
                report.retained.append(old.logical_id)
            else:
                self._delete(old)
                report.deleted.append(old.logical_id)
        old_order = [logical_id for logical_id in self.resources if logical_id not in resources]
        for logical_id in reversed(dependency_order({k: {"Properties": {}} for k in old_order})):
            gone = self.resources.pop(logical_id)
            if gone.deletion_policy == "Retain":
                self.retained.append(gone)
                report.retained.append(logical_id)
            else:
                self._delete(gone)
                report.deleted.append(logical_id)
        self._report = None
        return report

    def _op(self, text: str) -> None:
        if self._report is not None:
            self._report.operations.append(text)

    def _check_properties(
        self, logical_id: str, resource_type: str, properties: Mapping[str, Any], known: set[str]
    ) -> None:
        unknown = set(properties) - known - self.IGNORED.get(resource_type, set())
        if unknown:
            raise SimulationError(
                f"{logical_id} ({resource_type}): properties not simulated: {sorted(unknown)}"
            )

    def _create(
        self,
        logical_id: str,
        resource_type: str,
        properties: dict[str, Any],
        deletion_policy: str,
        update_replace_policy: str,
    ) -> Deployed:
        create = {
            "AWS::IAM::Role": self._create_role,
            "AWS::IAM::Policy": self._create_policy,
            "AWS::IAM::RolePolicy": self._create_role_policy,
            "AWS::IAM::ManagedPolicy": self._create_managed_policy,
            "AWS::Lambda::Function": self._create_function,
            "AWS::Lambda::Version": self._create_version,
            "AWS::Lambda::Alias": self._create_alias,
            "AWS::StepFunctions::StateMachine": self._create_state_machine,
        }.get(resource_type)
        if create is None:
            raise SimulationError(f"{logical_id}: resource type {resource_type} is not simulated")
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

    def _needs_replacement(self, existing: Deployed, properties: Mapping[str, Any]) -> bool:
        if existing.type == "AWS::Lambda::Version":
            return True  # every property of a Version requires replacement
        if existing.type == "AWS::Lambda::Function":
            return bool(properties.get("FunctionName", existing.physical_id) != existing.physical_id)
        if existing.type == "AWS::Lambda::Alias" and any(
            properties.get(k) != existing.properties.get(k) for k in ("Name", "FunctionName")
        ):
            raise SimulationError(f"{existing.logical_id}: replacing an alias is not simulated")
        if existing.type == "AWS::IAM::RolePolicy":
            return any(properties.get(k) != existing.properties.get(k) for k in ("PolicyName", "RoleName"))
        return False

    def _update(self, existing: Deployed, properties: dict[str, Any]) -> bool:
        """Update in place, or replace; True when replaced.

        A replacement creates the new physical resource now; the old copy is deleted (or kept, when its
        ``UpdateReplacePolicy`` was ``Retain``) in the clean-up phase at the end of the deploy.
        """
        if self._needs_replacement(existing, properties):
            old = Deployed(**vars(existing))
            create = {
                "AWS::Lambda::Version": self._create_version,
                "AWS::Lambda::Function": self._create_function,
                "AWS::IAM::RolePolicy": self._create_role_policy,
            }[existing.type]
            physical_id, attributes = create(existing.logical_id, properties)
            existing.physical_id, existing.attributes, existing.properties = (
                physical_id,
                attributes,
                properties,
            )
            self._replaced_copies.append(old)
            return True
        update = {
            "AWS::IAM::Role": self._update_role,
            "AWS::IAM::Policy": self._update_policy,
            "AWS::IAM::RolePolicy": self._update_role_policy,
            "AWS::IAM::ManagedPolicy": self._update_managed_policy,
            "AWS::Lambda::Function": self._update_function,
            "AWS::Lambda::Alias": self._update_alias,
            "AWS::StepFunctions::StateMachine": self._update_state_machine,
        }[existing.type]
        update(existing, properties)
        existing.properties = properties
        return False

    # -- IAM --------------------------------------------------------------------------------------

    ROLE_PROPERTIES: ClassVar[set[str]] = {
        "AssumeRolePolicyDocument",
        "ManagedPolicyArns",
        "Policies",
        "Path",
        "RoleName",
        "Description",
        "Tags",
    }

    def _create_role(self, logical_id: str, p: dict[str, Any]) -> tuple[str, dict[str, Any]]:
        self._check_properties(
            logical_id,
            "AWS::IAM::Role",
            p,
            self.ROLE_PROPERTIES,
        )
        iam = self.clients["iam"]
        name = p.get("RoleName") or _physical_name(self.name, logical_id)
        role = iam.create_role(
            RoleName=name,
            Path=p.get("Path", "/"),
            AssumeRolePolicyDocument=json.dumps(p["AssumeRolePolicyDocument"]),
            Tags=[{"Key": k, "Value": v} for k, v in _tags_dict(p.get("Tags")).items()],
        )["Role"]
        self._op(f"iam:CreateRole {name}")
        self._sync_role_policies(name, {}, p)
        return name, {"Arn": role["Arn"], "RoleId": role["RoleId"]}

    def _sync_role_policies(self, name: str, old: Mapping[str, Any], new: Mapping[str, Any]) -> None:
        iam = self.clients["iam"]
        old_inline = {x["PolicyName"]: x["PolicyDocument"] for x in old.get("Policies", [])}
        new_inline = {x["PolicyName"]: x["PolicyDocument"] for x in new.get("Policies", [])}
        for policy_name, document in new_inline.items():
            if old_inline.get(policy_name) != document:
                iam.put_role_policy(
                    RoleName=name, PolicyName=policy_name, PolicyDocument=json.dumps(document)
                )
                self._op(f"iam:PutRolePolicy {name}/{policy_name}")
        for policy_name in set(old_inline) - set(new_inline):
            iam.delete_role_policy(RoleName=name, PolicyName=policy_name)
            self._op(f"iam:DeleteRolePolicy {name}/{policy_name}")
        old_managed, new_managed = (
            set(old.get("ManagedPolicyArns", [])),
            set(new.get("ManagedPolicyArns", [])),
        )
        for arn in sorted(new_managed - old_managed):
            iam.attach_role_policy(RoleName=name, PolicyArn=arn)
            self._op(f"iam:AttachRolePolicy {name} {arn}")
        for arn in sorted(old_managed - new_managed):
            iam.detach_role_policy(RoleName=name, PolicyArn=arn)
            self._op(f"iam:DetachRolePolicy {name} {arn}")

    def _update_role(self, existing: Deployed, p: dict[str, Any]) -> None:
        self._check_properties(
            existing.logical_id,
            existing.type,
            p,
            self.ROLE_PROPERTIES,
        )
        if p.get("RoleName", existing.physical_id) != existing.physical_id or p.get(
            "Path"
        ) != existing.properties.get("Path"):
            raise SimulationError(f"{existing.logical_id}: replacing a role is not simulated")
        if p["AssumeRolePolicyDocument"] != existing.properties["AssumeRolePolicyDocument"]:
            self.clients["iam"].update_assume_role_policy(
                RoleName=existing.physical_id, PolicyDocument=json.dumps(p["AssumeRolePolicyDocument"])
            )
            self._op(f"iam:UpdateAssumeRolePolicy {existing.physical_id}")
        self._sync_role_policies(existing.physical_id, existing.properties, p)
        old_tags, new_tags = _tags_dict(existing.properties.get("Tags")), _tags_dict(p.get("Tags"))
        iam = self.clients["iam"]
        if new_tags != old_tags:
            if set(old_tags) - set(new_tags):
                iam.untag_role(RoleName=existing.physical_id, TagKeys=sorted(set(old_tags) - set(new_tags)))
            if new_tags:
                iam.tag_role(
                    RoleName=existing.physical_id,
                    Tags=[{"Key": k, "Value": v} for k, v in new_tags.items()],
                )
            self._op(f"iam:TagRole {existing.physical_id}")

    def _create_policy(self, logical_id: str, p: dict[str, Any]) -> tuple[str, dict[str, Any]]:
        self._check_properties(logical_id, "AWS::IAM::Policy", p, {"PolicyName", "PolicyDocument", "Roles"})
        for role in p.get("Roles", []):
            self.clients["iam"].put_role_policy(
                RoleName=role, PolicyName=p["PolicyName"], PolicyDocument=json.dumps(p["PolicyDocument"])
            )
            self._op(f"iam:PutRolePolicy {role}/{p['PolicyName']}")
        return _physical_name(self.name, logical_id), {}

    def _update_policy(self, existing: Deployed, p: dict[str, Any]) -> None:
        self._delete_policy(existing)
        self._create_policy(existing.logical_id, p)

    def _delete_policy(self, gone: Deployed) -> None:
        for role in gone.properties.get("Roles", []):
            self.clients["iam"].delete_role_policy(RoleName=role, PolicyName=gone.properties["PolicyName"])
            self._op(f"iam:DeleteRolePolicy {role}/{gone.properties['PolicyName']}")

    ROLE_POLICY_PROPERTIES: ClassVar[set[str]] = {"PolicyName", "PolicyDocument", "RoleName"}

    def _create_role_policy(self, logical_id: str, p: dict[str, Any]) -> tuple[str, dict[str, Any]]:
        """``AWS::IAM::RolePolicy``: one inline policy on one role (PutRolePolicy)."""
        self._check_properties(logical_id, "AWS::IAM::RolePolicy", p, self.ROLE_POLICY_PROPERTIES)
        self.clients["iam"].put_role_policy(
            RoleName=p["RoleName"], PolicyName=p["PolicyName"], PolicyDocument=json.dumps(p["PolicyDocument"])
        )
        self._op(f"iam:PutRolePolicy {p['RoleName']}/{p['PolicyName']}")
        return _physical_name(self.name, logical_id), {}

    def _update_role_policy(self, existing: Deployed, p: dict[str, Any]) -> None:
        self._check_properties(existing.logical_id, existing.type, p, self.ROLE_POLICY_PROPERTIES)
        self.clients["iam"].put_role_policy(
            RoleName=p["RoleName"], PolicyName=p["PolicyName"], PolicyDocument=json.dumps(p["PolicyDocument"])
        )
        self._op(f"iam:PutRolePolicy {p['RoleName']}/{p['PolicyName']}")

    def _delete_role_policy(self, gone: Deployed) -> None:
        iam = self.clients["iam"]
        role, name = gone.properties["RoleName"], gone.properties["PolicyName"]
        # A role that is gone took the policy with it: CloudFormation counts that as deleted.
        with contextlib.suppress(iam.exceptions.NoSuchEntityException):
            iam.delete_role_policy(RoleName=role, PolicyName=name)
        self._op(f"iam:DeleteRolePolicy {role}/{name}")

    def _create_managed_policy(self, logical_id: str, p: dict[str, Any]) -> tuple[str, dict[str, Any]]:
        self._check_properties(
            logical_id,
            "AWS::IAM::ManagedPolicy",
            p,
            {"ManagedPolicyName", "PolicyDocument", "Roles", "Description", "Path"},
        )
        iam = self.clients["iam"]
        name = p.get("ManagedPolicyName") or _physical_name(self.name, logical_id, 128)
        arn = iam.create_policy(
            PolicyName=name, Path=p.get("Path", "/"), PolicyDocument=json.dumps(p["PolicyDocument"])
        )["Policy"]["Arn"]
        self._op(f"iam:CreatePolicy {name}")
        for role in p.get("Roles", []):
            iam.attach_role_policy(RoleName=role, PolicyArn=arn)
            self._op(f"iam:AttachRolePolicy {role} {arn}")
        return arn, {"PolicyArn": arn}

    def _update_managed_policy(self, existing: Deployed, p: dict[str, Any]) -> None:
        iam = self.clients["iam"]
        arn = existing.physical_id
        if p["PolicyDocument"] != existing.properties["PolicyDocument"]:
            for version in iam.list_policy_versions(PolicyArn=arn)["Versions"]:
                if not version["IsDefaultVersion"]:
                    iam.delete_policy_version(PolicyArn=arn, VersionId=version["VersionId"])
            iam.create_policy_version(
                PolicyArn=arn, PolicyDocument=json.dumps(p["PolicyDocument"]), SetAsDefault=True
            )
            self._op(f"iam:CreatePolicyVersion {arn}")
        old_roles, new_roles = set(existing.properties.get("Roles", [])), set(p.get("Roles", []))
        for role in sorted(new_roles - old_roles):
            iam.attach_role_policy(RoleName=role, PolicyArn=arn)
        for role in sorted(old_roles - new_roles):
            iam.detach_role_policy(RoleName=role, PolicyArn=arn)

    # -- Lambda -----------------------------------------------------------------------------------

    def _function_tags(self, logical_id: str, p: Mapping[str, Any]) -> dict[str, str]:
        """The template's tags plus the ones CloudFormation adds (they stay on a retained function)."""
        return {
            **_tags_dict(p.get("Tags")),
            "aws:cloudformation:stack-name": self.name,
            "aws:cloudformation:stack-id": self.stack_id,
            "aws:cloudformation:logical-id": logical_id,
        }

    def _create_function(self, logical_id: str, p: dict[str, Any]) -> tuple[str, dict[str, Any]]:
        self._check_properties(
            logical_id,
            "AWS::Lambda::Function",
            p,
            {"Code", "FunctionName", "PackageType", *self.FUNCTION_CONFIG, *self.FUNCTION_UNLOCKED},
        )
        name = p.get("FunctionName") or _physical_name(self.name, logical_id)
        kwargs = {k: p[k] for k in self.FUNCTION_CONFIG if k in p}
        lam = self.clients["lambda"]
        function = lam.create_function(
            FunctionName=name, Code=self._code(p["Code"]), Tags=self._function_tags(logical_id, p), **kwargs
        )
        self._op(f"lambda:CreateFunction {name}")
        if "ReservedConcurrentExecutions" in p:
            lam.put_function_concurrency(
                FunctionName=name, ReservedConcurrentExecutions=int(p["ReservedConcurrentExecutions"])
            )
            self._op(f"lambda:PutFunctionConcurrency {name}")
        return name, {"Arn": function["FunctionArn"]}

    @staticmethod
    def _code(code: Mapping[str, Any]) -> dict[str, Any]:
        if "ZipFile" in code:
            raise SimulationError("inline ZipFile code is not simulated; package the code to S3 (CodeUri)")
        return {k: code[k] for k in ("S3Bucket", "S3Key", "S3ObjectVersion") if k in code}

    def _update_function(self, existing: Deployed, p: dict[str, Any]) -> None:
        self._check_properties(
            existing.logical_id,
            existing.type,
            p,
            {"Code", "FunctionName", "PackageType", *self.FUNCTION_CONFIG, *self.FUNCTION_UNLOCKED},
        )
        lam = self.clients["lambda"]
        name = existing.physical_id
        if p.get("PackageType") != existing.properties.get("PackageType"):
            raise SimulationError(
                f"{existing.logical_id}: changing PackageType (a replacement) is not simulated"
            )
        if p["Code"] != existing.properties["Code"]:
            lam.update_function_code(FunctionName=name, **self._code(p["Code"]))
            self._op(f"lambda:UpdateFunctionCode {name}")
        config = {k: p[k] for k in self.FUNCTION_CONFIG if k in p}
        old_config = {k: existing.properties[k] for k in self.FUNCTION_CONFIG if k in existing.properties}
        if config != old_config:
            lam.update_function_configuration(FunctionName=name, **config)
            self._op(f"lambda:UpdateFunctionConfiguration {name}")
        arn = existing.attributes["Arn"]
        old_tags = self._function_tags(existing.logical_id, existing.properties)
        new_tags = self._function_tags(existing.logical_id, p)
        if set(old_tags) - set(new_tags):
            lam.untag_resource(Resource=arn, TagKeys=sorted(set(old_tags) - set(new_tags)))
        if new_tags != old_tags:
            lam.tag_resource(Resource=arn, Tags=new_tags)
            self._op(f"lambda:TagResource {name}")
        concurrency = p.get("ReservedConcurrentExecutions")
        if concurrency != existing.properties.get("ReservedConcurrentExecutions"):
            if concurrency is None:
                lam.delete_function_concurrency(FunctionName=name)
                self._op(f"lambda:DeleteFunctionConcurrency {name}")
            else:
                lam.put_function_concurrency(FunctionName=name, ReservedConcurrentExecutions=int(concurrency))
                self._op(f"lambda:PutFunctionConcurrency {name}")

    def _create_version(self, logical_id: str, p: dict[str, Any]) -> tuple[str, dict[str, Any]]:
        self._check_properties(
            logical_id,
            "AWS::Lambda::Version",
            p,
            {"FunctionName", "Description", "CodeSha256", "ProvisionedConcurrencyConfig", "RuntimePolicy"},
        )
        lam = self.clients["lambda"]
        name = p["FunctionName"]
        before = {v["Version"] for v in lam.list_versions_by_function(FunctionName=name)["Versions"]}
        kwargs = {"Description": p["Description"]} if "Description" in p else {}
        if "CodeSha256" in p:
            # Lambda refuses to publish when the hash does not match $LATEST (moto ignores the parameter).
            current = lam.get_function_configuration(FunctionName=name)["CodeSha256"]
            if p["CodeSha256"] != current:
                raise SimulationError(
                    f"{logical_id}: CodeSha256 {p['CodeSha256']} does not match the function's code "
                    f"({current}): Lambda refuses to publish (InvalidParameterValueException)"
                )
            kwargs["CodeSha256"] = p["CodeSha256"]
        published = lam.publish_version(FunctionName=name, **kwargs)
        if published["Version"] in before:
            # moto returns the existing version; CloudFormation fails the deploy instead.
            raise SimulationError(
                f"{logical_id}: A version for this Lambda function exists ({published['Version']}). "
                "Modify the function to create a new version."
            )
        self._op(f"lambda:PublishVersion {name} -> {published['Version']}")
        return published["FunctionArn"], {
            "Version": published["Version"],
            "FunctionArn": published["FunctionArn"],
        }

    ALIAS_PROPERTIES: ClassVar[set[str]] = {"FunctionName", "FunctionVersion", "Name", "Description"}

    def _create_alias(self, logical_id: str, p: dict[str, Any]) -> tuple[str, dict[str, Any]]:
        self._check_properties(logical_id, "AWS::Lambda::Alias", p, self.ALIAS_PROPERTIES)
        alias = self.clients["lambda"].create_alias(
            FunctionName=p["FunctionName"],
            Name=p["Name"],
            FunctionVersion=str(p["FunctionVersion"]),
            **({"Description": p["Description"]} if "Description" in p else {}),
        )
        self._op(f"lambda:CreateAlias {p['FunctionName']}:{p['Name']} -> {p['FunctionVersion']}")
        return alias["AliasArn"], {"AliasArn": alias["AliasArn"]}

    def _update_alias(self, existing: Deployed, p: dict[str, Any]) -> None:
        self._check_properties(existing.logical_id, existing.type, p, self.ALIAS_PROPERTIES)
        self.clients["lambda"].update_alias(
            FunctionName=p["FunctionName"],
            Name=p["Name"],
            FunctionVersion=str(p["FunctionVersion"]),
            Description=p.get("Description", ""),
        )
        self._op(f"lambda:UpdateAlias {p['FunctionName']}:{p['Name']} -> {p['FunctionVersion']}")

    # -- Step Functions ---------------------------------------------------------------------------

    def _definition(self, logical_id: str, p: Mapping[str, Any]) -> str:
        if "DefinitionS3Location" in p:
            raise SimulationError(f"{logical_id}: DefinitionS3Location is not simulated")
        if "Definition" in p:
            definition = json.dumps(p["Definition"])
        elif "DefinitionString" in p:
            definition = p["DefinitionString"]
        else:
            raise SimulationError(f"{logical_id}: no Definition or DefinitionString")
        return substitute_definition(definition, p.get("DefinitionSubstitutions", {}))

    SM_PROPERTIES: ClassVar[set[str]] = {
        "Definition",
        "DefinitionString",
        "DefinitionS3Location",
        "DefinitionSubstitutions",
        "RoleArn",
        "StateMachineName",
        "StateMachineType",
        "Tags",
    }

    def _create_state_machine(self, logical_id: str, p: dict[str, Any]) -> tuple[str, dict[str, Any]]:
        self._check_properties(logical_id, "AWS::StepFunctions::StateMachine", p, self.SM_PROPERTIES)
        name = p.get("StateMachineName") or _physical_name("", logical_id, 80).lstrip("-")
        arn = self.clients["stepfunctions"].create_state_machine(
            name=name,
            definition=self._definition(logical_id, p),
            roleArn=p["RoleArn"],
            type=p.get("StateMachineType", "STANDARD"),
            tags=[{"key": k, "value": v} for k, v in _tags_dict(p.get("Tags")).items()],
        )["stateMachineArn"]
        self._op(f"states:CreateStateMachine {name}")
        return arn, {"Arn": arn, "Name": name}

    def _update_state_machine(self, existing: Deployed, p: dict[str, Any]) -> None:
        self._check_properties(existing.logical_id, existing.type, p, self.SM_PROPERTIES)
        for fixed in ("StateMachineName", "StateMachineType"):
            if p.get(fixed) != existing.properties.get(fixed):
                raise SimulationError(
                    f"{existing.logical_id}: changing {fixed} (a replacement) is not simulated"
                )
        sfn = self.clients["stepfunctions"]
        if {k: v for k, v in p.items() if k != "Tags"} != {
            k: v for k, v in existing.properties.items() if k != "Tags"
        }:
            sfn.update_state_machine(
                stateMachineArn=existing.physical_id,
                definition=self._definition(existing.logical_id, p),
                roleArn=p["RoleArn"],
            )
            self._op(f"states:UpdateStateMachine {existing.attributes['Name']}")
        old_tags, new_tags = _tags_dict(existing.properties.get("Tags")), _tags_dict(p.get("Tags"))
        if set(old_tags) - set(new_tags):
            sfn.untag_resource(
                resourceArn=existing.physical_id, tagKeys=sorted(set(old_tags) - set(new_tags))
            )
        if new_tags != old_tags and new_tags:
            sfn.tag_resource(
                resourceArn=existing.physical_id, tags=[{"key": k, "value": v} for k, v in new_tags.items()]
            )
            self._op(f"states:TagResource {existing.attributes['Name']}")

    # -- delete -----------------------------------------------------------------------------------

    def _delete(self, gone: Deployed) -> None:
        iam, lam = self.clients["iam"], self.clients["lambda"]
        if gone.type == "AWS::Lambda::Version":
            # A version deleted with its function already: CloudFormation counts that as deleted.
            with contextlib.suppress(lam.exceptions.ResourceNotFoundException):
                lam.delete_function(
                    FunctionName=gone.properties["FunctionName"], Qualifier=gone.attributes["Version"]
                )
            self._op(f"lambda:DeleteFunction {gone.physical_id}")
        elif gone.type == "AWS::Lambda::Alias":
            with contextlib.suppress(lam.exceptions.ResourceNotFoundException):
                lam.delete_alias(FunctionName=gone.properties["FunctionName"], Name=gone.properties["Name"])
            self._op(f"lambda:DeleteAlias {gone.physical_id}")
        elif gone.type == "AWS::Lambda::Function":
            # Without a Qualifier: the function goes with every version it has, retained ones included.
            lam.delete_function(FunctionName=gone.physical_id)
            self._op(f"lambda:DeleteFunction {gone.physical_id} (and all its versions)")
        elif gone.type == "AWS::StepFunctions::StateMachine":
            self.clients["stepfunctions"].delete_state_machine(stateMachineArn=gone.physical_id)
            self._op(f"states:DeleteStateMachine {gone.physical_id}")
        elif gone.type == "AWS::IAM::Policy":
            self._delete_policy(gone)
        elif gone.type == "AWS::IAM::RolePolicy":
            self._delete_role_policy(gone)
        elif gone.type == "AWS::IAM::ManagedPolicy":
            for role in gone.properties.get("Roles", []):
                iam.detach_role_policy(RoleName=role, PolicyArn=gone.physical_id)
            iam.delete_policy(PolicyArn=gone.physical_id)
            self._op(f"iam:DeletePolicy {gone.physical_id}")
        elif gone.type == "AWS::IAM::Role":
            self._sync_role_policies(gone.physical_id, gone.properties, {})
            iam.delete_role(RoleName=gone.physical_id)
            self._op(f"iam:DeleteRole {gone.physical_id}")
