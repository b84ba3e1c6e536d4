"""Hypothesis strategies: CloudFormation templates with state machines, functions, versions and roles.

``valid_templates()`` draws templates that CloudFormation would accept: one to three functions (with an
explicit ``FunctionName`` or not, zero to two versions, an alias, opt-outs), roles whose policies sit in
every place IAM allows (inline, ``AWS::IAM::Policy``, ``AWS::IAM::RolePolicy``, ``AWS::IAM::ManagedPolicy``
by ``Roles`` or ``ManagedPolicyArns``), and state machines whose definition nests Parallel and Map states
and is written in one of the forms CloudFormation takes (``Definition``, ``DefinitionString`` as a plain
string, ``Fn::Sub`` with or without variables, ``Fn::Join`` in SAM's line form or with intrinsic
elements, ``DefinitionS3Location``). Every Lambda call names its function in one of the ways a user can
(``GetAtt`` list or string, ``Ref``, ``${X.Arn}``, ``Fn::Sub`` variables, ``DefinitionSubstitutions``
values, literal names and ARNs, ARNs built from pseudo parameters). Each drawn case carries the
*expected* outcome of every call, so tests can compare the report with an oracle that does not share
code with the macro.

``junk_templates()`` starts from a valid template and puts values of the wrong type in random places
(numbers, lists, null, unknown intrinsics, broken JSON), deletes keys, or replaces the whole fragment.
"""

from __future__ import annotations

import copy
import json
import re
from dataclasses import dataclass, field
from typing import Any

from hypothesis import strategies as st

from support import joined_arn
from support import role as role_resource

REGION = "eu-west-1"
ACCOUNT = "123456789012"
PARTITION = "aws"
PSEUDO = {"AWS::Region": REGION, "AWS::AccountId": ACCOUNT, "AWS::Partition": PARTITION}
STACK_NAME = "fuzz-stack"
PARAMETER_DEFAULTS = {
    "Stage": "dev",
    "TimeoutParam": 30,
    "ExternalFunctionArn": "arn:aws:lambda:eu-west-1:123456789012:function:outside",
}
SECRET_PARAMETER = "Secret"
OUTSIDE_VERSION = "OutsideVersion"

# What the report should say about a call (besides the reasons of report.py).
PIN = "pin"  # pinned by the macro (a created or the only existing version)
ALREADY = "already"  # already points at an in-template version
NOTHING = "nothing"  # not reported at all (not a Lambda call, or an S3 substitution that is no function)
UNSUPPORTED = "unsupported"  # a call to ``function`` the macro cannot rewrite (its target split unsafely)

RESOURCE = "resource"  # legacy Task Resource: must be an ARN
FUNCTION_NAME = "function-name"  # Parameters/Arguments FunctionName: name or ARN


@dataclass(frozen=True)
class Att:
    """``Fn::GetAtt`` of a resource attribute."""

    resource: str
    attribute: str = "Arn"


@dataclass(frozen=True)
class Name:
    """``Ref`` of a resource, parameter or pseudo parameter."""

    name: str


Piece = str | Att | Name
Pieces = tuple[Piece, ...]


@dataclass(frozen=True)
class Expect:
    """The expected report entry for one call."""

    outcome: str  # PIN, ALREADY, NOTHING or a LeftAlone reason
    function: str | None = None
    version: str | None = None


@dataclass
class FunctionModel:
    logical_id: str
    name: Pieces | None  # explicit FunctionName
    versions: list[str] = field(default_factory=list)
    alias: str | None = None
    opted_out: bool = False


@dataclass
class CallModel:
    """One call hole: where it sits, what it says, what should happen to it."""

    state_machine: str
    state: str  # state path as the macro reports it
    expect: Expect
    json_path: tuple[str | int, ...] = ()  # within the parsed definition (filled in after rendering)
    hole: int = -1


@dataclass
class StateMachineModel:
    logical_id: str
    form: str
    role: str | None  # in-template role logical ID
    opted_out: bool
    calls: list[CallModel] = field(default_factory=list)


@dataclass
class Case:
    """A drawn template and what the macro should do with it."""

    template: dict[str, Any]
    functions: dict[str, FunctionModel]
    state_machines: dict[str, StateMachineModel]
    parameter_values: dict[str, Any]

    def expected_failure(self) -> str | None:
        """The function whose several versions make the transform fail, if any."""
        for machine in self.state_machines.values():
            for call in machine.calls:
                function = call.expect.function
                if (
                    call.expect.outcome in (PIN, UNSUPPORTED)
                    and function is not None
                    and len(self.functions[function].versions) > 1
                ):
                    return function
        return None


FORMS = ("Definition", "plain", "sub", "sub_vars", "join_lines", "join_pieces", "s3")

# State names: unicode, spaces, punctuation, and the private-use characters the macro's own sentinels use.
NAME_ALPHABET = st.characters(
    codec="utf-8",
    exclude_categories=("Cs", "Cc"),
    exclude_characters='${}\\"\n\r\t',
)
STATE_NAMES = st.one_of(
    st.sampled_from(["Hello", "Größe", "日本語の状態", "Fan out", "Ünïcödé ✓", "\ue000\ue001", "a.b[0]"]),
    st.text(NAME_ALPHABET, min_size=1, max_size=12),
)
FREE_TEXT = st.one_of(
    st.sampled_from(["plain", "Ünïcödé — ✓ 日本", "emoji 🚀", "quote ' and `", "\ue000 private use"]),
    st.text(NAME_ALPHABET, max_size=20),
)


def _sub_text(pieces: Pieces) -> str:
    out = []
    for piece in pieces:
        if isinstance(piece, str):
            out.append(piece)
        elif isinstance(piece, Att):
            out.append("${" + piece.resource + "." + piece.attribute + "}")
        else:
            out.append("${" + piece.name + "}")
    return "".join(out)


def _atom_value(piece: Att | Name) -> dict[str, Any]:
    if isinstance(piece, Att):
        return {"Fn::GetAtt": [piece.resource, piece.attribute]}
    return {"Ref": piece.name}


def _literal(pieces: Pieces) -> str | None:
    if all(isinstance(piece, str) for piece in pieces):
        return "".join(piece for piece in pieces if isinstance(piece, str))
    return None


class _Builder:
    """Draws one template. Holds the counters that keep names unique."""

    def __init__(self, draw: Any) -> None:
        self.draw = draw
        self.resources: dict[str, Any] = {}
        self.functions: dict[str, FunctionModel] = {}
        self.state_names: set[str] = set()
        self.conditional = False  # the template has the condition IsProd: statements may choose by it

    # ------------------------------------------------------------------ values
    def value_of(self, pieces: Pieces) -> Any:
        """An intrinsic (or literal) that evaluates to ``pieces``, in one of the ways users write it."""
        draw = self.draw
        literal = _literal(pieces)
        if literal is not None:
            return literal
        if len(pieces) == 1:
            piece = pieces[0]
            if isinstance(piece, Att):
                return draw(
                    st.sampled_from(
                        [
                            {"Fn::GetAtt": [piece.resource, piece.attribute]},
                            {"Fn::GetAtt": f"{piece.resource}.{piece.attribute}"},
                            {"Fn::Sub": _sub_text(pieces)},
                        ]
                    )
                )
            assert isinstance(piece, Name)
            return draw(st.sampled_from([{"Ref": piece.name}, {"Fn::Sub": _sub_text(pieces)}]))
        style = draw(st.sampled_from(["sub", "join", "sub_vars"]))
        if style == "sub":
            return {"Fn::Sub": _sub_text(pieces)}
        if style == "join":
            return {"Fn::Join": ["", [p if isinstance(p, str) else _atom_value(p) for p in pieces]]}
        variables: dict[str, Any] = {}
        text = []
        for piece in pieces:
            if isinstance(piece, str):
                text.append(piece)
            elif isinstance(piece, Name) and piece.name.startswith("AWS::"):
                text.append(_sub_text((piece,)))
            else:
                key = f"v{len(variables)}"
                variables[key] = _atom_value(piece)
                text.append("${" + key + "}")
        return {"Fn::Sub": ["".join(text), variables]}

    # --------------------------------------------------------------- functions
    def function(self, position: int, condition: bool) -> FunctionModel:
        draw = self.draw
        logical_id = f"Fn{position}"
        name_style = draw(st.sampled_from(["none", "none", "literal", "stack"]))
        name: Pieces | None = None
        if name_style == "literal":
            name = (f"fn-{position}-name",)
        elif name_style == "stack":
            name = (Name("AWS::StackName"), f"-fn{position}")
        properties: dict[str, Any] = {
            "Code": {"ZipFile": "def handler(event, context):\n    return event\n"},
            "Handler": "index.handler",
            "Runtime": "python3.12",
            "Role": {"Fn::GetAtt": ["ExecRole", "Arn"]},
        }
        if name is not None:
            properties["FunctionName"] = self.value_of(name)
        if draw(st.booleans()):
            properties["Description"] = draw(FREE_TEXT)
        variables = {}
        if draw(st.booleans()):
            variables["STAGE"] = {"Ref": "Stage"}
        if draw(st.booleans()):
            variables["SECRET"] = {"Ref": SECRET_PARAMETER}
        if variables:
            properties["Environment"] = {"Variables": variables}
        if draw(st.booleans()):
            properties["Layers"] = [{"Ref": "SharedLayer"}]
        resource: dict[str, Any] = {"Type": "AWS::Lambda::Function", "Properties": properties}
        opted_out = draw(st.sampled_from([False, False, False, True]))
        if opted_out:
            resource["Metadata"] = {"SfnExactVersion": {"Pin": False}}
        if condition and draw(st.booleans()):
            resource["Condition"] = "IsProd"
        self.resources[logical_id] = resource
        model = FunctionModel(logical_id, name, opted_out=opted_out)
        for number in range(draw(st.sampled_from([0, 0, 0, 1, 1, 2]))):
            model.versions.append(self.version(model, number, resource.get("Condition")))
        if model.versions and draw(st.booleans()):
            alias = f"{logical_id}Live"
            self.resources[alias] = {
                "Type": "AWS::Lambda::Alias",
                "Properties": {
                    "FunctionName": {"Ref": logical_id},
                    "FunctionVersion": {"Fn::GetAtt": [model.versions[0], "Version"]},
                    "Name": "live",
                },
            }
            if "Condition" in resource:
                self.resources[alias]["Condition"] = resource["Condition"]
            model.alias = alias
        self.functions[logical_id] = model
        return model

    def version(self, model: FunctionModel, number: int, condition: str | None) -> str:
        draw = self.draw
        logical_id = f"{model.logical_id}V{number}"
        choices: list[Any] = [{"Ref": model.logical_id}, {"Fn::GetAtt": [model.logical_id, "Arn"]}]
        if model.name is not None:
            choices.append(self.value_of(model.name))
            choices.append(
                self.value_of(
                    (
                        "arn:",
                        Name("AWS::Partition"),
                        ":lambda:",
                        Name("AWS::Region"),
                        ":",
                        Name("AWS::AccountId"),
                        ":function:",
                        *model.name,
                    )
                )
            )
        resource: dict[str, Any] = {
            "Type": "AWS::Lambda::Version",
            "Properties": {"FunctionName": draw(st.sampled_from(choices))},
        }
        if draw(st.booleans()):
            resource["Properties"]["Description"] = draw(FREE_TEXT)
        for policy in ("DeletionPolicy", "UpdateReplacePolicy"):
            chosen = draw(st.sampled_from([None, None, "Retain", "Delete"]))
            if chosen is not None:
                resource[policy] = chosen
        if condition is not None:
            resource["Condition"] = condition
        self.resources[logical_id] = resource
        return logical_id

    # ----------------------------------------------------------------- targets
    def target(self, context: str) -> tuple[Pieces, Expect]:
        """A call target naming one of the functions (or something else) and what should happen."""
        draw = self.draw
        model = self.functions[draw(st.sampled_from(sorted(self.functions)))]
        function = model.logical_id
        arn_head: Pieces = (
            "arn:",
            Name("AWS::Partition"),
            ":lambda:",
            Name("AWS::Region"),
            ":",
            Name("AWS::AccountId"),
            ":function:",
        )
        literal_head: Pieces = (f"arn:{PARTITION}:lambda:{REGION}:{ACCOUNT}:function:",)
        options = ["getatt", "getatt", "arn_pseudo", "latest", "qualified", "external", "param"]
        if context == FUNCTION_NAME:
            options += ["ref", "ref"]
        if model.name is not None:
            options += ["arn_named", "arn_named"]
            if context == FUNCTION_NAME:
                options += ["name", "partial"]
        if model.versions:
            options += ["version", "version"]
        if model.alias:
            options.append("alias")
        options.append("outside_version")
        kind = draw(st.sampled_from(options))
        pin = Expect("opted-out" if model.opted_out else PIN, function)
        if kind == "getatt":
            return (Att(function),), pin
        if kind == "ref":
            return (Name(function),), pin
        if kind == "arn_pseudo":
            return (*arn_head, Name(function)), pin
        if kind == "arn_named":
            assert model.name is not None
            head = draw(st.sampled_from([arn_head, literal_head]))
            return (*head, *model.name), pin
        if kind == "name":
            assert model.name is not None
            return model.name, pin
        if kind == "partial":
            assert model.name is not None
            head = draw(st.sampled_from([(f"{ACCOUNT}:function:",), (Name("AWS::AccountId"), ":function:")]))
            return (*head, *model.name), pin
        if kind == "version":
            version = draw(st.sampled_from(model.versions))
            return (Name(version),), Expect(ALREADY, function, version)
        if kind == "alias":
            assert model.alias is not None
            return (Name(model.alias),), Expect("alias", function)
        if kind == "latest":
            return (Att(function), ":$LATEST"), Expect("latest", function)
        if kind == "qualified":
            return (Att(function), ":7"), Expect("qualified", function)
        if kind == "outside_version":  # an in-template version of a function that is not in the template
            return (Name(OUTSIDE_VERSION),), Expect("qualified")
        if kind == "external":
            return (f"arn:aws:lambda:{REGION}:999999999999:function:elsewhere",), Expect("external")
        return (Name("ExternalFunctionArn"),), Expect("external")

    # -------------------------------------------------------------- definitions
    def state_name(self) -> str:
        name = self.draw(STATE_NAMES)
        if name.startswith("Fn::") or name in ("Ref", "Condition"):
            name = f"State {name}"  # a one-state States object would read as an intrinsic function
        base, suffix = name, 1
        while name in self.state_names:
            suffix += 1
            name = f"{base}{suffix}"
        self.state_names.add(name)
        return name

    def machine(
        self, model: StateMachineModel, holes: list[Pieces], prefix: str, depth: int
    ) -> dict[str, Any]:
        draw = self.draw
        names = [self.state_name() for _ in range(draw(st.integers(1, 3)))]
        states: dict[str, Any] = {}
        kinds = ["call", "call", "call", "other-task", "pass"]
        if depth < 2:
            kinds += ["parallel", "map"]
        for position, name in enumerate(names):
            path = f"{prefix}States.{name}"
            kind = draw(st.sampled_from(kinds))
            state: dict[str, Any]
            if kind == "call":
                state = self.call_state(model, holes, path)
            elif kind == "other-task":
                state = {
                    "Type": "Task",
                    "Resource": "arn:aws:states:::sns:publish",
                    "Parameters": {"TopicArn": f"arn:aws:sns:{REGION}:{ACCOUNT}:topic", "Message.$": "$"},
                }
            elif kind == "pass":
                state = {"Type": "Pass", "Comment": draw(FREE_TEXT)}
            elif kind == "parallel":
                branches = [
                    self.machine(model, holes, f"{path}.Branches[{index}].", depth + 1)
                    for index in range(draw(st.integers(1, 2)))
                ]
                state = {"Type": "Parallel", "Branches": branches}
            else:
                key = draw(st.sampled_from(["Iterator", "ItemProcessor"]))
                inner = self.machine(model, holes, f"{path}.{key}.", depth + 1)
                if key == "ItemProcessor":
                    inner = {"ProcessorConfig": {"Mode": "INLINE"}, **inner}
                state = {"Type": "Map", key: inner}
            if position + 1 < len(names):
                state["Next"] = names[position + 1]
            else:
                state["End"] = True
            states[name] = state
        return {"StartAt": names[0], "States": states}

    def hole(self, holes: list[Pieces], pieces: Pieces) -> str:
        holes.append(pieces)
        return f"@@H{len(holes) - 1}@@"

    def call_state(self, model: StateMachineModel, holes: list[Pieces], path: str) -> dict[str, Any]:
        draw = self.draw
        style = draw(st.sampled_from(["legacy", "invoke", "invoke", "sdk", "token", "jsonata", "dynamic"]))
        state: dict[str, Any] = {"Type": "Task"}
        if style == "legacy":
            pieces, expect = self.target(RESOURCE)
            state["Resource"] = self.hole(holes, pieces)
        elif style == "dynamic":
            state["Resource"] = "arn:aws:states:::lambda:invoke"
            state["Parameters"] = {"FunctionName.$": "$.function", "Payload.$": "$"}
            pieces, expect = (), Expect("dynamic")
        else:
            service = {
                "invoke": "lambda:invoke",
                "sdk": "aws-sdk:lambda:invoke",
                "jsonata": "lambda:invoke",
                "token": "lambda:invoke.waitForTaskToken",
            }[style]
            if draw(st.booleans()):
                state["Resource"] = self.hole(holes, ("arn:", Name("AWS::Partition"), f":states:::{service}"))
            else:
                state["Resource"] = f"arn:aws:states:::{service}"
            pieces, expect = self.target(FUNCTION_NAME)
            arguments: dict[str, Any] = {"FunctionName": self.hole(holes, pieces)}
            if style == "jsonata":
                state["QueryLanguage"] = "JSONata"
                arguments["Payload"] = "{% $states.input %}"
                state["Arguments"] = arguments
            else:
                arguments["Payload.$"] = "$" if style != "token" else "$$.Task.Token"
                if draw(st.integers(0, 9)) == 0:
                    arguments["Qualifier"] = "7"
                    if expect.outcome in (PIN, ALREADY) or (
                        expect.outcome == "opted-out" and expect.function
                    ):
                        expect = Expect("qualified", expect.function)
                state["Parameters"] = arguments
        if model.opted_out:
            expect = Expect("opted-out")
        call = CallModel(model.logical_id, path, expect, hole=len(holes) - 1 if pieces else -1)
        model.calls.append(call)
        if draw(st.integers(0, 4)) == 0:
            state["TimeoutSeconds"] = "@@B@@"
        return state

    # ---------------------------------------------------------------- rendering
    def render(
        self, model: StateMachineModel, document: dict[str, Any], holes: list[Pieces]
    ) -> dict[str, Any]:
        """The state machine's Properties holding ``document`` in ``model.form``."""
        draw = self.draw
        form = model.form
        substitutions: dict[str, Any] = {}
        if draw(st.booleans()):
            substitutions["Unrelated"] = draw(st.sampled_from([{"Ref": "Topic"}, "text", 5, True]))
        by_value: dict[str, str] = {}

        def subst(value: Any) -> str:
            canonical = json.dumps(value, sort_keys=True)
            if canonical in by_value and draw(st.booleans()):
                return by_value[canonical]
            key = draw(st.sampled_from(["definition_substitution_", "Fn", "k"])) + str(len(substitutions) + 1)
            substitutions[key] = value
            by_value[canonical] = key
            return key

        if form == "Definition":
            properties = {"Definition": self._render_object(document, holes, subst)}
        else:
            indent = draw(st.sampled_from([None, 2, 4])) if form != "join_lines" else 4
            text = json.dumps(document, indent=indent, ensure_ascii=draw(st.booleans()))
            properties = {"DefinitionString": self._render_text(model, text, holes, subst)}
        if substitutions:
            properties["DefinitionSubstitutions"] = substitutions
        return properties

    def _render_object(self, document: Any, holes: list[Pieces], subst: Any) -> Any:
        draw = self.draw
        if isinstance(document, dict):
            return {key: self._render_object(value, holes, subst) for key, value in document.items()}
        if isinstance(document, list):
            return [self._render_object(value, holes, subst) for value in document]
        if document == "@@B@@":
            return 30
        if isinstance(document, str) and (match := re.fullmatch(r"@@H(\d+)@@", document)):
            pieces = holes[int(match.group(1))]
            value = self.value_of(pieces)
            if draw(st.booleans()):
                return "${" + subst(value) + "}"
            return value
        return document

    def _render_text(self, model: StateMachineModel, text: str, holes: list[Pieces], subst: Any) -> Any:
        draw = self.draw
        form = model.form
        chunks = re.split(r'(@@H\d+@@|"@@B@@")', text)
        # pieces of the rendered definition: text (str) or intrinsic elements (dict) for join_pieces
        out: list[Any] = []
        literal_holes: dict[int, int] = {}  # place in out -> the hole written there as literal text
        variables: dict[str, Any] = {}
        in_sub = form in ("sub", "sub_vars")
        for chunk in chunks:
            match = re.fullmatch(r"@@H(\d+)@@", chunk)
            if chunk == '"@@B@@"':
                value: Any = draw(st.sampled_from([30, {"Ref": "TimeoutParam"}]))
                if in_sub and value != 30 and draw(st.booleans()):
                    out.append("${TimeoutParam}")
                elif form == "join_pieces" and value != 30 and draw(st.booleans()):
                    out.append(value)
                else:
                    out.append(("${!" if in_sub else "${") + subst(value) + "}")
                continue
            if match is None:
                out.append(chunk)
                continue
            pieces = holes[int(match.group(1))]
            literal = _literal(pieces)
            carriers = ["subst"]
            if literal is not None:
                carriers.append("literal")
            if in_sub:
                carriers += ["sub", "sub"]
            if form == "sub_vars" and literal is None:
                carriers.append("var")
            if form == "join_pieces":
                carriers += ["element", "element"]
                if literal is not None:  # literal text is what _maybe_nest may split
                    carriers += ["literal", "literal"]
            carrier = draw(st.sampled_from(carriers))
            if carrier == "literal":
                literal_holes[len(out)] = int(match.group(1))
                out.append(literal)
            elif carrier == "subst":
                out.append(("${!" if in_sub else "${") + subst(self.value_of(pieces)) + "}")
            elif carrier == "sub":
                out.append(_sub_text(pieces))
            elif carrier == "var":
                key = f"var{len(variables)}"
                variables[key] = self.value_of(pieces)
                out.append("${" + key + "}")
            else:
                out.append(self.value_of(pieces))
        if form in ("plain", "sub", "sub_vars"):
            joined = "".join(out)
            if form == "plain":
                return joined
            if form == "sub" and not variables and draw(st.booleans()):
                return {"Fn::Sub": joined}
            return {"Fn::Sub": [joined, variables]}
        if form == "join_lines":
            return {"Fn::Join": ["\n", "".join(out).split("\n")]}
        items: list[Any] = []
        spans: list[list[tuple[int, int, int]]] = []  # per item: (start, end, hole) of literal targets
        for position, item in enumerate(out):
            if not (isinstance(item, str) and items and isinstance(items[-1], str)):
                items.append("" if isinstance(item, str) else item)
                spans.append([])
            if isinstance(item, str):
                if position in literal_holes:
                    start = len(items[-1])
                    spans[-1].append((start, start + len(item), literal_holes[position]))
                items[-1] += item
        nested: list[Any] = []
        unpinnable: set[int] = set()
        for item, item_spans in zip(items, spans, strict=True):
            if item != "":
                nested.extend(self._maybe_nest(item, item_spans, unpinnable))
        for call in model.calls:
            if call.hole in unpinnable and call.expect.outcome == PIN:
                call.expect = Expect(UNSUPPORTED, call.expect.function)
        return {"Fn::Join": ["", nested]}

    def _maybe_nest(self, item: Any, spans: list[tuple[int, int, int]], unpinnable: set[int]) -> list[Any]:
        """``item`` as it is, or written as ``Fn::Sub``, or split in two: as a nested ``Fn::Join``, as
        two items, or as an ``Fn::Sub`` item and a string item. A call target split across items of one
        Join is pinned (those items become one); one split between an ``Fn::Sub`` and a string cannot
        be rewritten together: its hole goes into ``unpinnable``."""
        if not isinstance(item, str) or "${" in item or len(item) < 2:
            return [item]
        draw = self.draw
        styles = ["bare", "bare", "sub", "join", "split", "sub_split"]
        if spans:  # a literal call target in the item: split it more often
            styles += ["join", "split", "sub_split", "sub_split"]
        style = draw(st.sampled_from(styles))
        if style == "sub":
            return [{"Fn::Sub": item}]
        if style == "bare":
            return [item]
        if style == "join":
            middle = len(item) // 2
        elif spans and draw(st.integers(0, 3)):  # mostly inside a call target, where it matters
            start, end, _ = draw(st.sampled_from(spans))
            middle = draw(st.integers(max(start, 1), min(end, len(item) - 1)))
        else:
            middle = draw(st.integers(1, len(item) - 1))
        head, rest = item[:middle], item[middle:]
        if style == "join":
            return [{"Fn::Join": ["", [head, rest]]}]
        if style == "split":
            return [head, rest]
        unpinnable.update(hole for start, end, hole in spans if start < middle < end)
        return [{"Fn::Sub": head}, rest]

    # -------------------------------------------------------------------- IAM
    def roles(self) -> list[str]:
        draw = self.draw
        roles = [f"SmRole{index}" for index in range(draw(st.integers(1, 2)))]
        for role in roles:
            self.resources[role] = role_resource()  # a role Step Functions may assume, no policies yet
            properties: dict[str, Any] = self.resources[role]["Properties"]
            for number in range(draw(st.integers(0, 3))):
                statement: Any = self.statement()
                if self.conditional and draw(st.integers(0, 3)) == 0:
                    # the whole statement chosen by Fn::If (SAM writes Policies: [!If ...] alike)
                    other = draw(st.sampled_from([{"Ref": "AWS::NoValue"}, None]))
                    sides = [statement, other if other is not None else self.statement()]
                    if draw(st.booleans()):
                        sides.reverse()
                    statement = {"Fn::If": ["IsProd", *sides]}
                document = {"Version": "2012-10-17", "Statement": [statement]}
                place = draw(
                    st.sampled_from(["inline", "policy", "role_policy", "managed_roles", "managed_arns"])
                )
                if place == "inline":
                    properties.setdefault("Policies", []).append(
                        {"PolicyName": f"inline{number}", "PolicyDocument": document}
                    )
                    continue
                policy_id = f"{role}Policy{number}"
                if place == "policy":
                    self.resources[policy_id] = {
                        "Type": "AWS::IAM::Policy",
                        "Properties": {
                            "PolicyName": policy_id,
                            "PolicyDocument": document,
                            "Roles": [{"Ref": role}],
                        },
                    }
                elif place == "role_policy":
                    self.resources[policy_id] = {
                        "Type": "AWS::IAM::RolePolicy",
                        "Properties": {
                            "PolicyName": policy_id,
                            "PolicyDocument": document,
                            "RoleName": {"Ref": role},
                        },
                    }
                elif place == "managed_roles":
                    self.resources[policy_id] = {
                        "Type": "AWS::IAM::ManagedPolicy",
                        "Properties": {"PolicyDocument": document, "Roles": [{"Ref": role}]},
                    }
                else:
                    self.resources[policy_id] = {
                        "Type": "AWS::IAM::ManagedPolicy",
                        "Properties": {"PolicyDocument": document},
                    }
                    properties.setdefault("ManagedPolicyArns", []).append({"Ref": policy_id})
        return roles

    def statement(self) -> dict[str, Any]:
        draw = self.draw
        entries = [self.entry() for _ in range(draw(st.integers(1, 3)))]
        action: Any = draw(
            st.sampled_from(
                [
                    "lambda:InvokeFunction",
                    "lambda:InvokeFunction",
                    "lambda:Invoke*",
                    "lambda:*",
                    ["lambda:InvokeFunction", "lambda:GetFunction"],
                    "sns:Publish",
                ]
            )
        )
        effect: Any = draw(st.sampled_from(["Allow", "Allow", "Allow", "Deny", "Deny"]))
        resource: Any = entries if len(entries) > 1 or draw(st.booleans()) else entries[0]
        # NotAction / NotResource: "everything but" (a Deny with NotResource exempts its entries)
        action_key = draw(st.sampled_from(["Action", "Action", "Action", "NotAction"]))
        if action_key == "NotAction":
            action = draw(st.sampled_from(["sns:Publish", "lambda:InvokeFunction", ["iam:*", "sts:*"]]))
        resource_key = draw(st.sampled_from(["Resource", "Resource", "Resource", "NotResource"]))
        if self.conditional:
            form = draw(st.sampled_from(["plain", "plain", "resource", "entry", "effect", "action"]))
            if form == "resource":  # Resource: !If [IsProd, [...], [...]]
                other = [self.entry() for _ in range(draw(st.integers(1, 2)))]
                resource = {"Fn::If": ["IsProd", resource, other]}
            elif form == "entry":  # - !If [IsProd, entry, !Ref AWS::NoValue] (either side)
                listed = resource if isinstance(resource, list) else [resource]
                no_value = {"Ref": "AWS::NoValue"}
                sides = [self.entry(), no_value] if draw(st.booleans()) else [no_value, self.entry()]
                resource = [*listed, {"Fn::If": ["IsProd", *sides]}]
            elif form == "effect":
                effect = {"Fn::If": ["IsProd", effect, "Deny" if effect == "Allow" else "Allow"]}
            elif form == "action":
                action = {"Fn::If": ["IsProd", action, "sns:Publish"]}
        return {"Effect": effect, action_key: action, resource_key: resource}

    def entry(self) -> Any:
        draw = self.draw
        model = self.functions[draw(st.sampled_from(sorted(self.functions)))]
        function = model.logical_id
        choices: list[Any] = [
            {"Fn::GetAtt": [function, "Arn"]},
            {"Fn::GetAtt": f"{function}.Arn"},
            {"Fn::Sub": "${" + function + ".Arn}"},
            {
                "Fn::Sub": "arn:${AWS::Partition}:lambda:${AWS::Region}:${AWS::AccountId}:function:${"
                + function
                + "}"
            },
            {"Fn::Join": ["", [f"arn:aws:lambda:{REGION}:{ACCOUNT}:function:", {"Ref": function}]]},
            joined_arn(function),
            {"Fn::Sub": "${" + function + ".Arn}:*"},
            "*",
            {"Fn::Sub": "arn:${AWS::Partition}:lambda:${AWS::Region}:${AWS::AccountId}:function:*"},
            f"arn:aws:sns:{REGION}:{ACCOUNT}:topic",
        ]
        if model.name is not None:
            literal = _literal(model.name)
            choices.append(self.value_of((f"arn:aws:lambda:{REGION}:{ACCOUNT}:function:", *model.name)))
            if literal is not None:
                choices.append(f"arn:aws:lambda:*:{ACCOUNT}:function:{literal}")  # matches, cannot extend
                choices.append(f"arn:aws:lambda:{REGION}:{ACCOUNT}:function:{literal}*")
        return draw(st.sampled_from(choices))

    # ---------------------------------------------------------------- template
    def state_machine(self, position: int, roles: list[str]) -> StateMachineModel:
        draw = self.draw
        logical_id = f"Sm{position}"
        form = draw(st.sampled_from(FORMS))
        role_style = draw(
            st.sampled_from(
                ["getatt", "getatt", "sub", "sub_arn", "sub_var", "join", "external", "unresolved"]
            )
        )
        role = draw(st.sampled_from(roles))
        opted_out = draw(st.sampled_from([False, False, False, False, True]))
        in_template = role_style not in ("external", "unresolved")
        model = StateMachineModel(logical_id, form, role if in_template else None, opted_out)
        if role_style == "getatt":
            role_arn: Any = {"Fn::GetAtt": [role, "Arn"]}
        elif role_style == "sub":
            role_arn = {"Fn::Sub": "arn:${AWS::Partition}:iam::${AWS::AccountId}:role/${" + role + "}"}
        elif role_style == "sub_arn":  # issue 10.1: !Sub "${Role.Arn}"
            role_arn = {"Fn::Sub": "${" + role + ".Arn}"}
        elif role_style == "sub_var":
            role_arn = {"Fn::Sub": ["${R}", {"R": {"Fn::GetAtt": [role, "Arn"]}}]}
        elif role_style == "join":
            role_arn = {
                "Fn::Join": [
                    "",
                    [
                        "arn:",
                        {"Ref": "AWS::Partition"},
                        ":iam::",
                        {"Ref": "AWS::AccountId"},
                        ":role/",
                        {"Ref": role},
                    ],
                ]
            }
        elif role_style == "unresolved":  # names the role, in a form no symbolic string can hold
            role_arn = {"Fn::Select": [0, [{"Fn::GetAtt": [role, "Arn"]}]]}
        else:
            role_arn = f"arn:aws:iam::{ACCOUNT}:role/outside"
        holes: list[Pieces] = []
        if form == "s3":
            properties = self.s3_properties(model)
        else:
            document = self.machine(model, holes, "", 0)
            if draw(st.booleans()):
                document = {"Comment": draw(FREE_TEXT), **document}
            properties = self.render(model, document, holes)
            _locate_holes(document, model)
        properties["RoleArn"] = role_arn
        resource: dict[str, Any] = {"Type": "AWS::StepFunctions::StateMachine", "Properties": properties}
        if opted_out:
            resource["Metadata"] = {"SfnExactVersion": {"Pin": False}}
        self.resources[logical_id] = resource
        return model

    def s3_properties(self, model: StateMachineModel) -> dict[str, Any]:
        draw = self.draw
        substitutions: dict[str, Any] = {}
        for number in range(draw(st.integers(0, 3))):
            key = f"Fn{number}Arn"
            pieces, expect = self.target(FUNCTION_NAME)
            outcome = expect.outcome
            if outcome not in (PIN, ALREADY, "alias", "latest", "opted-out"):
                expect = Expect(NOTHING)
            elif model.opted_out:
                # An opted-out state machine: every call is opted-out, one already naming a version too.
                expect = Expect("opted-out")
            substitutions[key] = self.value_of(pieces)
            model.calls.append(CallModel(model.logical_id, f"(DefinitionS3Location) ${{{key}}}", expect))
        if draw(st.booleans()):
            substitutions["TopicArn"] = {"Ref": "Topic"}
        properties: dict[str, Any] = {
            "DefinitionS3Location": {"Bucket": "definitions-bucket", "Key": "sm.json"}
        }
        if substitutions:
            properties["DefinitionSubstitutions"] = substitutions
        return properties


def _locate_holes(document: Any, model: StateMachineModel) -> None:
    """Fill in each call's JSON path (where its hole sits in the abstract definition)."""
    where: dict[int, tuple[str | int, ...]] = {}

    def walk(value: Any, path: tuple[str | int, ...]) -> None:
        if isinstance(value, dict):
            for key, item in value.items():
                walk(item, (*path, key))
        elif isinstance(value, list):
            for index, item in enumerate(value):
                walk(item, (*path, index))
        elif isinstance(value, str) and (match := re.fullmatch(r"@@H(\d+)@@", value)):
            where[int(match.group(1))] = path

    walk(document, ())
    for call in model.calls:
        if call.hole >= 0:
            call.json_path = where[call.hole]


@st.composite
def valid_cases(draw: Any) -> Case:
    """A template CloudFormation accepts, and the expected outcome of every call in it."""
    builder = _Builder(draw)
    conditional = draw(st.booleans())
    resources = builder.resources
    resources["ExecRole"] = {
        "Type": "AWS::IAM::Role",
        "Properties": {
            "AssumeRolePolicyDocument": {
                "Version": "2012-10-17",
                "Statement": [
                    {
                        "Effect": "Allow",
                        "Principal": {"Service": "lambda.amazonaws.com"},
                        "Action": "sts:AssumeRole",
                    }
                ],
            }
        },
    }
    resources["SharedLayer"] = {
        "Type": "AWS::Lambda::LayerVersion",
        "Properties": {"Content": {"S3Bucket": "layer-bucket", "S3Key": "layer.zip"}},
    }
    resources["Topic"] = {"Type": "AWS::SNS::Topic", "Properties": {"DisplayName": "topic"}}
    resources[OUTSIDE_VERSION] = {
        "Type": "AWS::Lambda::Version",
        "Properties": {"FunctionName": f"arn:aws:lambda:{REGION}:{ACCOUNT}:function:outside"},
    }
    for position in range(draw(st.integers(1, 3))):
        builder.function(position, conditional)
    builder.conditional = conditional
    roles = builder.roles()
    machines = {}
    for position in range(draw(st.integers(1, 3))):
        machine = builder.state_machine(position, roles)
        machines[machine.logical_id] = machine
    parameters: dict[str, Any] = {
        "Stage": {"Type": "String", "Default": PARAMETER_DEFAULTS["Stage"]},
        "TimeoutParam": {"Type": "Number", "Default": PARAMETER_DEFAULTS["TimeoutParam"]},
        "ExternalFunctionArn": {"Type": "String", "Default": PARAMETER_DEFAULTS["ExternalFunctionArn"]},
        SECRET_PARAMETER: {"Type": "String", "NoEcho": True},
    }
    # shuffle the resource order: the macro must not depend on it
    order = draw(st.permutations(sorted(resources)))
    template: dict[str, Any] = {
        "AWSTemplateFormatVersion": "2010-09-09",
        "Description": draw(FREE_TEXT),
        "Parameters": parameters,
        "Resources": {logical_id: resources[logical_id] for logical_id in order},
    }
    if conditional:
        template["Conditions"] = {"IsProd": {"Fn::Equals": [{"Ref": "Stage"}, "prod"]}}
    values = {"Stage": draw(st.sampled_from(["dev", "prod"])), SECRET_PARAMETER: "not-a-real-secret"}
    return Case(template, builder.functions, machines, values)


# ------------------------------------------------------------------------------------------ junk
JUNK_LEAVES = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(-(2**63), 2**63),
    st.floats(allow_nan=False, allow_infinity=False),
    st.text(max_size=10),
    st.sampled_from(["{", '{"StartAt": ', "[[[", "}", "${", "${!", "${Fn0.Arn", '"', "\ue000", "\x00"]),
)
JUNK = st.recursive(
    JUNK_LEAVES,
    lambda inner: st.one_of(
        st.lists(inner, max_size=3),
        st.dictionaries(
            st.sampled_from(
                [
                    "Ref",
                    "Fn::GetAtt",
                    "Fn::Sub",
                    "Fn::Join",
                    "Fn::Bogus",
                    "Fn::If",
                    "Type",
                    "Properties",
                    "States",
                    "x",
                ]
            ),
            inner,
            max_size=2,
        ),
        inner.map(lambda value: {"Fn::Unknown": value}),
        inner.map(lambda value: {"Ref": value}),
        inner.map(lambda value: {"Fn::GetAtt": value}),
        inner.map(lambda value: {"Fn::Sub": value}),
        inner.map(lambda value: {"Fn::Join": value}),
        inner.map(lambda value: {"Fn::Sub": ["${X}", value]}),
        inner.map(lambda value: {"Fn::Join": ["", value]}),
    ),
    max_leaves=6,
)


def _paths(value: Any, path: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    out = [path]
    if isinstance(value, dict):
        for key, item in value.items():
            out.extend(_paths(item, (*path, key)))
    elif isinstance(value, list):
        for index, item in enumerate(value):
            out.extend(_paths(item, (*path, index)))
    return out


def _mutate(draw: Any, template: Any) -> Any:
    paths = _paths(template)
    path = paths[draw(st.integers(0, len(paths) - 1))]
    operation = draw(st.sampled_from(["replace", "replace", "delete", "add_key", "truncate"]))
    if not path:
        return draw(JUNK)
    parent = template
    for key in path[:-1]:
        parent = parent[key]
    key = path[-1]
    if operation == "delete" and isinstance(parent, dict):
        del parent[key]
    elif operation == "add_key" and isinstance(parent[key], dict):
        parent[key][draw(st.sampled_from(["Fn::Sub", "Ref", "Type", "Properties", "Extra"]))] = draw(JUNK)
    elif operation == "truncate" and isinstance(parent[key], str):
        parent[key] = parent[key][: draw(st.integers(0, max(0, len(parent[key]) - 1)))]
    else:
        parent[key] = draw(JUNK)
    return template


@st.composite
def junk_fragments(draw: Any) -> tuple[Any, dict[str, Any]]:
    """A valid template with one to three pieces made wrong, or a fragment that is not a template."""
    if draw(st.integers(0, 19)) == 0:
        return draw(JUNK), {}
    case = draw(valid_cases())
    template: Any = copy.deepcopy(case.template)
    for _ in range(draw(st.integers(1, 3))):
        template = _mutate(draw, template)
    return template, case.parameter_values
