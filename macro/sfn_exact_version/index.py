"""A read-only index of the template: which resources are functions, versions, aliases, roles."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from sfn_exact_version.errors import Problem, ProblemReason
from sfn_exact_version.intrinsics import GET_ATT, REF, Atom, Symbolic, symbolic

FUNCTION = "AWS::Lambda::Function"
VERSION = "AWS::Lambda::Version"
ALIAS = "AWS::Lambda::Alias"
LAYER_VERSION = "AWS::Lambda::LayerVersion"
STATE_MACHINE = "AWS::StepFunctions::StateMachine"
ROLE = "AWS::IAM::Role"
POLICY = "AWS::IAM::Policy"
ROLE_POLICY = "AWS::IAM::RolePolicy"
MANAGED_POLICY = "AWS::IAM::ManagedPolicy"
NESTED_STACK = "AWS::CloudFormation::Stack"

METADATA_KEY = "SfnExactVersion"


def partition_of(region: str) -> str:
    """The AWS partition of a Region name."""
    if region.startswith("cn-"):
        return "aws-cn"
    if region.startswith("us-gov-"):
        return "aws-us-gov"
    if region.startswith("us-iso-"):
        return "aws-iso"
    if region.startswith("us-isob-"):
        return "aws-iso-b"
    return "aws"


# A resource's options (``Metadata.SfnExactVersion``): each a boolean, written as YAML's ``false`` or as
# the string CloudFormation users often write (``"false"``). ``Pin`` on a state machine or a function,
# ``RetainFunction`` on a function.
PIN_OPTION = "Pin"
RETAIN_FUNCTION_OPTION = "RetainFunction"
OPTIONS = {
    PIN_OPTION: (STATE_MACHINE, FUNCTION),
    RETAIN_FUNCTION_OPTION: (FUNCTION,),
}
OPTION_VALUES = {True: True, False: False, "true": True, "false": False}
ACCEPTED_VALUES = 'true or false (a boolean, or the string "true" or "false")'


def option(resource: Mapping[str, Any], name: str) -> bool | None:
    """The boolean value of the resource's ``Metadata.SfnExactVersion.<name>``, or None when it is not
    set or cannot be read (:func:`option_problems` reports those).

    >>> option({"Metadata": {"SfnExactVersion": {"Pin": "false"}}}, "Pin")
    False
    """
    metadata = resource.get("Metadata")
    options = metadata.get(METADATA_KEY) if isinstance(metadata, dict) else None
    if not isinstance(options, dict):
        return None
    value = options.get(name)
    if isinstance(value, str):
        value = value.strip().lower()
    return OPTION_VALUES.get(value) if isinstance(value, bool | str) else None


def opted_out(resource: Mapping[str, Any]) -> bool:
    """True when the resource's ``Metadata.SfnExactVersion.Pin`` is ``false`` (or ``"false"``)."""
    return option(resource, PIN_OPTION) is False


def option_problems(logical_id: str, resource: Mapping[str, Any]) -> list[Problem]:
    """Why the resource's ``Metadata.SfnExactVersion`` cannot be read: not an object, a key the macro does
    not know (``pin``, ``Pinned``) or that does not apply to the resource's type, a value that is not
    true or false. An option the macro ignored would pin what the user asked it to leave alone.

    Only functions and state machines are read: SAM copies a resource's ``Metadata`` to the resources it
    generates from it (a state machine's role, a function's version), where the options mean nothing.

    >>> resource = {"Type": STATE_MACHINE, "Metadata": {"SfnExactVersion": {"pin": False}}}
    >>> print(option_problems("Sm", resource)[0].message)
    Resources/Sm/Metadata/SfnExactVersion: unknown key pin (did you mean Pin?). The options of a \
AWS::StepFunctions::StateMachine: Pin: false.
    """
    metadata = resource.get("Metadata")
    kind = resource.get("Type")
    if (
        kind not in (FUNCTION, STATE_MACHINE)
        or not isinstance(metadata, dict)
        or METADATA_KEY not in metadata
    ):
        return []
    where = f"Resources/{logical_id}/Metadata/{METADATA_KEY}"
    options = metadata[METADATA_KEY]
    known = [name for name, types in OPTIONS.items() if kind in types]
    accepted = ", ".join(f"{name}: false" for name in known)
    if not isinstance(options, dict):
        fix = f"Write an object with the options of a {kind}: {accepted}."
        return [Problem(ProblemReason.OPTIONS, where, f"{where}: must be an object. {fix}", fix)]
    problems = []
    for name, value in options.items():
        if name not in known:
            close = [k for k in OPTIONS if k.lower() == str(name).lower()]
            hint = f" (did you mean {close[0]}?)" if close and close[0] in known else ""
            why = f"{name} does not apply to a {kind}" if name in OPTIONS else f"unknown key {name}{hint}"
            fix = f"The options of a {kind}: {accepted}."
            problems.append(Problem(ProblemReason.OPTIONS, where, f"{where}: {why}. {fix}", fix))
        elif option(resource, name) is None:
            fix = f"Write {name}: false (or {name}: true)."
            problems.append(
                Problem(
                    ProblemReason.OPTIONS,
                    f"{where}/{name}",
                    f"{where}/{name}: {value!r} is not {ACCEPTED_VALUES}. {fix}",
                    fix,
                )
            )
    return problems


@dataclass
class TemplateIndex:
    """Facts about the resources that call resolution, versions and IAM need."""

    resources: Mapping[str, Any]
    parameters: Mapping[str, Any]
    pseudo: dict[str, str] = field(default_factory=dict)
    types: dict[str, str] = field(default_factory=dict)
    # function logical ID -> symbolic explicit FunctionName (only functions that set one)
    explicit_names: dict[str, Symbolic] = field(default_factory=dict)
    # symbolic explicit name -> function logical ID, for names exactly one function sets
    by_name: dict[Symbolic, str] = field(default_factory=dict)
    # symbolic explicit name -> the functions that set it, for names several functions set (under
    # mutually exclusive Conditions, say): a call by such a name cannot be resolved
    shared_names: dict[Symbolic, list[str]] = field(default_factory=dict)
    versions_of: dict[str, list[str]] = field(default_factory=dict)
    aliases_of: dict[str, list[str]] = field(default_factory=dict)
    function_of: dict[str, str] = field(default_factory=dict)  # version/alias -> function
    # the template's Conditions and Mappings (what a function's Fn::If / Fn::FindInMap read)
    conditions: Mapping[str, Any] = field(default_factory=dict)
    mappings: Mapping[str, Any] = field(default_factory=dict)
    # targets.classify's answers, by (target, context): a pure function of those and this index, asked
    # once per call, and a call-dense template calls the same few targets from many states
    classified: dict[tuple[Any, str], Any] = field(default_factory=dict, compare=False, repr=False)
    # policies' explicit RoleName -> role table, made on first use (every role ARN written as text asks)
    role_names: dict[Symbolic, str] | None = field(default=None, compare=False, repr=False)

    @classmethod
    def build(
        cls,
        resources: Mapping[str, Any],
        parameters: Mapping[str, Any],
        region: str | None,
        account_id: str | None,
        *,
        conditions: Any = None,
        mappings: Any = None,
    ) -> TemplateIndex:
        """Index ``resources`` (already validated to be objects with a string ``Type``)."""
        pseudo: dict[str, str] = {}
        if region:
            pseudo["AWS::Region"] = region
            pseudo["AWS::Partition"] = partition_of(region)
        if account_id:
            pseudo["AWS::AccountId"] = account_id
        index = cls(
            resources=resources,
            parameters=parameters,
            pseudo=pseudo,
            conditions=conditions if isinstance(conditions, dict) else {},
            mappings=mappings if isinstance(mappings, dict) else {},
        )
        for logical_id, resource in resources.items():
            index.types[logical_id] = resource["Type"]
        for logical_id, resource in resources.items():
            if resource["Type"] != FUNCTION:
                continue
            properties = resource.get("Properties")
            name = properties.get("FunctionName") if isinstance(properties, dict) else None
            if name is not None:
                explicit = symbolic(name)
                if explicit:
                    index.explicit_names[logical_id] = explicit
                    index.shared_names.setdefault(explicit, []).append(logical_id)
        for explicit, named in list(index.shared_names.items()):
            if len(named) == 1:
                index.by_name[explicit] = named[0]
                del index.shared_names[explicit]
        for logical_id, resource in resources.items():
            if resource["Type"] not in (VERSION, ALIAS):
                continue
            properties = resource.get("Properties")
            target = properties.get("FunctionName") if isinstance(properties, dict) else None
            function = index.function_of_reference(target)
            if function is None:
                continue
            index.function_of[logical_id] = function
            bucket = index.versions_of if resource["Type"] == VERSION else index.aliases_of
            bucket.setdefault(function, []).append(logical_id)
        return index

    def type_of(self, name: str) -> str | None:
        """The resource type of a logical ID, or ``None`` for parameters and unknown names."""
        return self.types.get(name)

    def function_named(self, value: Symbolic | None) -> str | None:
        """The in-template function that a name, ARN-less reference or ``GetAtt .Arn`` denotes."""
        if not value:
            return None
        if len(value) == 1 and isinstance(value[0], Atom):
            atom = value[0]
            if atom.kind == REF and self.types.get(atom.name) == FUNCTION:
                return atom.name
            if atom.kind == GET_ATT and atom.attribute == "Arn" and self.types.get(atom.name) == FUNCTION:
                return atom.name
        return self.by_name.get(value)

    def function_of_reference(self, value: Any) -> str | None:
        """The in-template function an unqualified name or ARN value denotes (``FunctionName`` of a
        Version, say), else ``None``."""
        if value is None:
            return None
        text = symbolic(value)
        if not text:
            return None
        direct = self.function_named(text)
        if direct is not None:
            return direct
        parsed = parse_lambda_reference(text, self.pseudo, allow_bare_name=True)
        if parsed is None or parsed.qualifier is not None or parsed.foreign:
            return None
        return self.function_named(parsed.name)

    def is_parameter(self, name: str) -> bool:
        """True for a template parameter name."""
        return name in self.parameters


@dataclass(frozen=True)
class LambdaReference:
    """A reference to a Lambda function taken apart: its name, qualifier and where it lives."""

    name: Symbolic
    qualifier: Symbolic | None
    foreign: bool  # a literal Region or account that differs from the stack's


def _fields(value: Symbolic) -> list[Symbolic]:
    fields: list[list[str | Atom]] = [[]]
    for piece in value:
        if isinstance(piece, Atom):
            fields[-1].append(piece)
            continue
        chunks = piece.split(":")
        for position, chunk in enumerate(chunks):
            if position:
                fields.append([])
            if chunk:
                fields[-1].append(chunk)
    return [tuple(field) for field in fields]


def _is(field: Symbolic, literal: str) -> bool:
    return field == (literal,)


def _differs(field: Symbolic, pseudo_name: str, pseudo: Mapping[str, str]) -> bool:
    if len(field) == 1 and isinstance(field[0], str) and pseudo_name in pseudo:
        return field[0] != pseudo[pseudo_name]
    return False


def parse_lambda_reference(
    value: Symbolic, pseudo: Mapping[str, str], allow_bare_name: bool
) -> LambdaReference | None:
    """Take apart a function ARN (full or partial), a ``GetAtt X.Arn`` or, if allowed, a bare name.

    >>> parse_lambda_reference(("arn:aws:lambda:eu-west-1:123456789012:function:hello:3",), {}, False)
    LambdaReference(name=('hello',), qualifier=('3',), foreign=False)
    """
    if not value:
        return None
    head = value[0]
    if isinstance(head, Atom) and head.kind == GET_ATT and head.attribute == "Arn":
        rest = _fields(value[1:]) if len(value) > 1 else []
        if not rest:
            return LambdaReference((Atom(REF, head.name),), None, False)
        if len(rest) == 2 and rest[0] == () and rest[1]:
            return LambdaReference((Atom(REF, head.name),), rest[1], False)
        return None
    fields = _fields(value)
    if (
        len(fields) in (7, 8)
        and _is(fields[0], "arn")
        and _is(fields[2], "lambda")
        and _is(fields[5], "function")
    ):
        foreign = _differs(fields[3], "AWS::Region", pseudo) or _differs(fields[4], "AWS::AccountId", pseudo)
        foreign = foreign or _differs(fields[1], "AWS::Partition", pseudo)
        qualifier = fields[7] if len(fields) == 8 else None
        return LambdaReference(fields[6], qualifier, foreign) if fields[6] else None
    if len(fields) in (3, 4) and _is(fields[1], "function"):
        foreign = _differs(fields[0], "AWS::AccountId", pseudo)
        qualifier = fields[3] if len(fields) == 4 else None
        return LambdaReference(fields[2], qualifier, foreign) if fields[2] else None
    if allow_bare_name and len(fields) in (1, 2) and fields[0] and not _is(fields[0], "arn"):
        qualifier = fields[1] if len(fields) == 2 else None
        return LambdaReference(fields[0], qualifier, False)
    return None
