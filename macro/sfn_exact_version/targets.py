"""Classify the target of a Lambda call: an in-template function to pin, or why it is left alone."""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from sfn_exact_version import report
from sfn_exact_version.index import (
    ALIAS,
    FUNCTION,
    NESTED_STACK,
    VERSION,
    TemplateIndex,
    parse_lambda_reference,
)
from sfn_exact_version.intrinsics import GET_ATT, OTHER, REF, Atom, Symbolic, render

PIN = "pin"  # an unqualified in-template function: pin it
PINNED = "pinned"  # already an in-template version
NOT_LAMBDA = "not-lambda"  # not a Lambda call at all (another service, an activity)
AMBIGUOUS = "ambiguous"  # a name several functions of the template set: a problem, not a report entry

# Contexts: a legacy Task "Resource" must be an ARN; a "FunctionName" may be a name or an ARN.
RESOURCE = "resource"
FUNCTION_NAME = "function-name"


# What a call's Qualifier says (``Call.qualified``): a fixed Qualifier names a version or an alias the user
# chose; ``Qualifier.$`` or a JSONata Qualifier chooses one at run time, ``$LATEST`` included.
FIXED_QUALIFIER = "the call sets Qualifier"
RUNTIME_QUALIFIER = "Qualifier.$ chooses the version at run time"
JSONATA_QUALIFIER = "a JSONata Qualifier chooses the version at run time"


def qualifier_note(arguments: Mapping[str, Any]) -> str:
    """Why a ``lambda:invoke`` call's ``Parameters``/``Arguments`` leave the version to the call, or "".

    >>> qualifier_note({"FunctionName": "f", "Qualifier.$": "$.version"}) == RUNTIME_QUALIFIER
    True
    >>> qualifier_note({"FunctionName": "f", "Qualifier": "3"})
    'the call sets Qualifier'
    """
    if "Qualifier.$" in arguments:
        return RUNTIME_QUALIFIER
    qualifier = arguments.get("Qualifier")
    if isinstance(qualifier, str) and qualifier.lstrip().startswith("{%"):
        return JSONATA_QUALIFIER
    return FIXED_QUALIFIER if "Qualifier" in arguments else ""


def chosen_at_run_time(note: str) -> bool:
    """True when a call's qualifier note (:func:`qualifier_note`) means the version is chosen at run time:
    the call is ``dynamic``, not ``qualified``."""
    return note in (RUNTIME_QUALIFIER, JSONATA_QUALIFIER)


# Lambda API actions that run the function. Through an ``aws-sdk:lambda:<action>`` Task any other action
# (putFunctionConcurrency, getFunctionConfiguration, ...) names the function to manage, not code to run.
INVOKING_ACTIONS = frozenset({"invoke", "invokeasync", "invokewithresponsestream"})
SDK_LAMBDA = re.compile(r"^arn:[^:]+:states:::aws-sdk:lambda:([A-Za-z0-9]+)(?:\.[A-Za-z]+)?$")


def lambda_management_action(resource: Symbolic | str) -> str | None:
    """The action of a Task ``Resource`` that calls a Lambda API action other than an invocation through
    the AWS SDK integration, else None. Its ``FunctionName`` is neither a call to pin nor data that a call
    reads: a function-level setting (reserved concurrency, configuration) applies to the function itself.

    >>> lambda_management_action("arn:aws:states:::aws-sdk:lambda:putFunctionConcurrency")
    'putFunctionConcurrency'
    >>> lambda_management_action("arn:aws:states:::aws-sdk:lambda:invoke") is None
    True
    """
    text = (
        resource if isinstance(resource, str) else "".join(p if isinstance(p, str) else "x" for p in resource)
    )
    match = SDK_LAMBDA.match(text)
    if match is None or match.group(1).lower() in INVOKING_ACTIONS:
        return None
    return match.group(1)


@dataclass(frozen=True)
class Target:
    """What a call targets. ``kind`` is PIN, PINNED, NOT_LAMBDA or one of the report reasons."""

    kind: str
    text: str
    function: str | None = None
    version: str | None = None
    detail: str = ""


def _atoms(value: Symbolic) -> list[Atom]:
    return [piece for piece in value if isinstance(piece, Atom)]


# Intrinsic functions that read a value another stack exports: ``Fn::ImportValue`` and the
# ``Fn::GetStackOutput`` newer CDK versions write for cross-stack references.
OTHER_STACK_FUNCTIONS = ("Fn::ImportValue", "Fn::GetStackOutput")


def _other_stack(atom: Atom, index: TemplateIndex) -> str | None:
    """Where ``atom`` takes a value from another stack, in words; else None."""
    nested = atom.kind == GET_ATT and index.type_of(atom.name) == NESTED_STACK
    if nested and atom.attribute.startswith("Outputs."):
        return f"output {atom.attribute[len('Outputs.') :]} of nested stack {atom.name}"
    if atom.kind == OTHER:
        for name in OTHER_STACK_FUNCTIONS:
            if f'"{name}"' in atom.name:
                return f"another stack ({name})"
    return None


def _external_detail(value: Symbolic, index: TemplateIndex) -> str:
    for atom in _atoms(value):
        if atom.kind == REF and index.is_parameter(atom.name):
            return (
                f"the function comes from parameter {atom.name}, outside this template; "
                "pin it where it is defined, or pass a version ARN"
            )
        source = _other_stack(atom, index)
        if source is not None:
            return (
                f"the function comes from {source}, which this template's transform does not process; "
                "add SfnExactVersion to the transforms of the stack that defines the function and export a "
                "version ARN from there (Ref of its AWS::Lambda::Version), then call that"
            )
    return "the function is not defined in this template; pass a version ARN (name:N) to pin it"


# The start of an ``external`` detail for an ARN that names a function of the template by its name, in
# another Region, account or partition than the stack's (adapters that choose the Region and account, such
# as the CLI's preview, add how to choose them).
ELSEWHERE = "the ARN names the FunctionName of"


def _elsewhere_detail(value: Symbolic, function: str, index: TemplateIndex) -> str:
    written = parse_arn_place(value)
    places = (("partition", "AWS::Partition"), ("Region", "AWS::Region"), ("account", "AWS::AccountId"))
    differing = [
        (what, written[what], index.pseudo[pseudo])
        for what, pseudo in places
        if pseudo in index.pseudo and what in written and written[what] != index.pseudo[pseudo]
    ]
    there = ", ".join(f"{what} {literal}" for what, literal, _ in differing)
    stack = ", ".join(f"{what} {own}" for what, _, own in differing)
    return (
        f"{ELSEWHERE} {function}, but in {there}, not the stack's ({stack}): a function of that name there "
        "is another function. To call this template's function, write ${AWS::Region} and "
        f"${{AWS::AccountId}} in the ARN (or GetAtt {function}.Arn) and the macro pins it"
    )


def parse_arn_place(value: Symbolic) -> dict[str, str]:
    """The literal partition, Region and account of a function ARN (full or partial), by name.

    >>> parse_arn_place(("arn:aws:lambda:eu-west-1:111122223333:function:f",))
    {'partition': 'aws', 'Region': 'eu-west-1', 'account': '111122223333'}
    """
    text = "".join(piece if isinstance(piece, str) else "\0" for piece in value)
    fields = text.split(":")
    if len(fields) >= 7 and fields[0] == "arn":
        named = {"partition": fields[1], "Region": fields[3], "account": fields[4]}
    elif len(fields) >= 3 and fields[1] == "function":
        named = {"account": fields[0]}
    else:
        return {}
    return {what: literal for what, literal in named.items() if literal and "\0" not in literal}


def _from_other_stack(value: Symbolic, index: TemplateIndex) -> bool:
    return any(_other_stack(atom, index) is not None for atom in _atoms(value))


def _by_name(atom: Atom, text: str, index: TemplateIndex) -> Target | None:
    """A ``FunctionName`` that is exactly the value a function of the template takes its own
    ``FunctionName`` from (``!Ref WorkerName`` on both): that function, or AMBIGUOUS when several set it.
    The same match ``index.by_name`` makes for the ``${WorkerName}`` in an ARN."""
    named = index.by_name.get((atom,))
    if named is not None:
        return Target(PIN, text, function=named)
    sharing = index.shared_names.get((atom,))
    if sharing:
        return Target(AMBIGUOUS, text, detail=f"{' and '.join(sharing)} all set FunctionName {text}")
    return None


def _single_atom(atom: Atom, text: str, context: str, index: TemplateIndex) -> Target:
    kind = index.type_of(atom.name)
    if context == FUNCTION_NAME and kind not in (FUNCTION, VERSION, ALIAS):
        # Before the parameter-means-external rule: the parameter may be the function's own name.
        # (A legacy Resource must be an ARN, which a function's name is not.)
        found = _by_name(atom, text, index)
        if found is not None:
            return found
    if atom.kind == REF:
        if kind == FUNCTION:
            return Target(PIN, text, function=atom.name)
        if kind == VERSION:
            return _pinned(atom.name, text, index)
        if kind == ALIAS:
            return _alias(atom.name, text)
        if kind is None and index.is_parameter(atom.name):
            return Target(report.EXTERNAL, text, detail=_external_detail((atom,), index))
        if context == FUNCTION_NAME:
            return Target(report.UNSUPPORTED, text, detail=f"{atom.name} is not a Lambda function")
        return Target(NOT_LAMBDA, text)
    if _other_stack(atom, index) is not None:
        # The value of another stack: a function there in a call's target (a legacy Resource from another
        # stack is a Lambda function or an activity; either way it is not pinned here).
        return Target(report.EXTERNAL, text, detail=_external_detail((atom,), index))
    if atom.kind == GET_ATT:
        if kind == FUNCTION and atom.attribute == "Arn":
            return Target(PIN, text, function=atom.name)
        if kind == VERSION:
            return _pinned(atom.name, text, index)
        if kind == ALIAS:
            return _alias(atom.name, text)
        if context == FUNCTION_NAME:
            return Target(
                report.UNSUPPORTED, text, detail=f"{atom.name}.{atom.attribute} is not a function ARN"
            )
        return Target(NOT_LAMBDA, text)
    if '"Fn::If"' in atom.name:
        return Target(
            report.UNSUPPORTED,
            text,
            detail="the target is chosen by Fn::If inside a definition string, which cannot name two "
            "versions; write the definition as a Definition object (the macro pins each side of an Fn::If "
            "there), or give each side its own state",
        )
    return Target(
        report.UNSUPPORTED,
        text,
        detail="the target is computed by an intrinsic function the macro does not evaluate; "
        "reference the function with GetAtt, Ref or Fn::Sub",
    )


def _pinned(version: str, text: str, index: TemplateIndex) -> Target:
    function = index.function_of.get(version)
    if function is None:
        return Target(report.QUALIFIED, text, version=version, detail=f"already names version {version}")
    return Target(PINNED, text, function=function, version=version)


def _alias(alias: str, text: str) -> Target:
    return Target(
        report.ALIAS,
        text,
        detail=f"alias {alias} moves when it is updated, so running executions may call new code; "
        "call the function itself (the macro pins it) or a version",
    )


def classify(value: Symbolic | None, context: str, index: TemplateIndex) -> Target:
    """Classify one call target given as a symbolic string (each distinct target once per index).

    >>> # {"Fn::GetAtt": ["Hello", "Arn"]} where Hello is an AWS::Lambda::Function -> Target(PIN, ...)
    """
    key = (value, context)
    found: Target | None = index.classified.get(key)
    if found is None:
        found = index.classified[key] = _classify(value, context, index)
    return found


def _classify(value: Symbolic | None, context: str, index: TemplateIndex) -> Target:
    if value is None:
        if context == FUNCTION_NAME:
            return Target(report.UNSUPPORTED, "?", detail="FunctionName is not a string")
        return Target(NOT_LAMBDA, "?")
    text = render(value)
    if value and isinstance(value[0], str) and value[0].lstrip().startswith("{%"):
        return Target(report.DYNAMIC, text, detail="a JSONata expression chooses the function at run time")
    if len(value) == 1 and isinstance(value[0], Atom):
        return _single_atom(value[0], text, context, index)
    parsed = parse_lambda_reference(value, index.pseudo, allow_bare_name=context == FUNCTION_NAME)
    if parsed is None:
        if context == FUNCTION_NAME or _from_other_stack(value, index):
            if _from_other_stack(value, index) or any(
                atom.kind == REF and index.is_parameter(atom.name) for atom in _atoms(value)
            ):
                return Target(report.EXTERNAL, text, detail=_external_detail(value, index))
            return Target(report.UNSUPPORTED, text, detail="the macro cannot read this function reference")
        if ":lambda:" in text and ":function:" in text:
            return Target(report.UNSUPPORTED, text, detail="the macro cannot read this function ARN")
        return Target(NOT_LAMBDA, text)
    sharing = [] if parsed.foreign else index.shared_names.get(parsed.name, [])
    function = None if parsed.foreign else index.function_named(parsed.name)
    if function is None and not sharing:
        if parsed.foreign:
            same_name = index.by_name.get(parsed.name) or index.shared_names.get(parsed.name, [None])[0]
            if same_name is not None:
                return Target(report.EXTERNAL, text, detail=_elsewhere_detail(value, same_name, index))
        return Target(report.EXTERNAL, text, detail=_external_detail(value, index))
    if parsed.qualifier is None:
        if sharing:
            return Target(
                AMBIGUOUS, text, detail=f"{' and '.join(sharing)} all set FunctionName {render(parsed.name)}"
            )
        return Target(PIN, text, function=function)
    qualifier = parsed.qualifier
    if qualifier == ("$LATEST",):
        return Target(
            report.LATEST,
            text,
            function=function,
            detail="$LATEST always runs the newest code; drop the qualifier and the macro pins the call",
        )
    if len(qualifier) == 1 and isinstance(qualifier[0], str) and qualifier[0].isdigit():
        return Target(
            report.QUALIFIED, text, function=function, detail=f"already names version {qualifier[0]}"
        )
    if (
        len(qualifier) == 1
        and isinstance(qualifier[0], Atom)
        and qualifier[0].kind == GET_ATT
        and index.type_of(qualifier[0].name) == VERSION
    ):
        return Target(
            report.QUALIFIED,
            text,
            function=function,
            version=qualifier[0].name,
            detail=f"already names version {qualifier[0].name}",
        )
    return Target(
        report.ALIAS,
        text,
        function=function,
        detail=f"qualifier {render(qualifier)} names an alias, which moves when it is updated; "
        "drop the qualifier and the macro pins the call",
    )
