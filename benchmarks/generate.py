"""Deterministic generator of large, realistic SAM templates and their CloudFormation translations.

The template is made of *units*, one per size step: ``generate_sam(size=4)`` has four units. Each unit
is a small serverless application of its own:

- a DynamoDB table and an SNS topic (targets of the non-Lambda tasks);
- seven ``AWS::Serverless::Function`` s: two with ``AutoPublishAlias: live`` (SAM creates their
  version and alias), three sharing the unit's execution role, two with a role SAM generates;
- two ``AWS::Serverless::StateMachine`` s with an inline ``Definition`` several levels deep: Parallel
  branches holding Maps (``ItemProcessor`` and the legacy ``Iterator``) holding Tasks, Choice states,
  Lambda calls as ``lambda:invoke`` with ``Parameters.FunctionName`` (``!GetAtt Fn.Arn`` or ``!Ref Fn``)
  and as the legacy ``Resource: !GetAtt Fn.Arn``, ``waitForTaskToken`` calls, a few dynamic
  ``FunctionName.$`` calls and alias calls, DynamoDB, SNS and ``aws-sdk`` tasks, Retry and Catch blocks;
  their roles allow the functions through ``LambdaInvokePolicy`` or explicit statements on
  ``!GetAtt Fn.Arn``;
- in every other unit, a third state machine whose definition is in S3 (``DefinitionUri``) with
  ``DefinitionSubstitutions``, the shape of the ``sam init`` Step Functions sample.

Unit 0 also holds a shared layer and a shared function that every other unit's state machines call.
Each unit is drawn from its own seeded generator (``random.Random(f"{seed}:{unit}")``), so the units of
``size=1`` are the first unit of ``size=16``, and nothing depends on the clock or on hash randomisation.

At ``size=16`` the CloudFormation translation stays within CloudFormation's limits after the macro
has run (500 resources, 1 MB template): see ``limits()``.

The CloudFormation form is what CloudFormation hands the macro for
``Transform: [AWS::Serverless-2016-10-31, SfnExactVersion]``: aws-sam-translator run offline on the SAM
form (``sfn_exact_version.offline.sam.sam_translate`` when it is importable, else the small equivalent in
this module, which calls the translator the way cfn-lint does), then ``Transform`` removed.

Usage::

    python benchmarks/generate.py --size 4 --out /tmp/bench   # writes sam-4.json, cfn-4.json, event-4.json
"""

from __future__ import annotations

import argparse
import copy
import json
import os
import random
import sys
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT / "macro") not in sys.path:
    sys.path.insert(0, str(ROOT / "macro"))

SAM_TRANSFORM = "AWS::Serverless-2016-10-31"
MACRO_NAME = "SfnExactVersion"
REGION = "eu-west-1"
ACCOUNT_ID = "123456789012"
PARAMETER_VALUES = {"Stage": "prod", "LogLevel": "INFO"}
DEFAULT_SEED = 20240601

# CloudFormation's limits for one template (after every transform has run).
MAX_RESOURCES = 500
MAX_TEMPLATE_BYTES = 1_000_000

LAMBDA_INVOKE = "arn:aws:states:::lambda:invoke"
BASIC_EXECUTION_POLICY = "arn:${AWS::Partition}:iam::aws:policy/service-role/AWSLambdaBasicExecutionRole"
LAMBDA_INVOKE_TOKEN = "arn:aws:states:::lambda:invoke.waitForTaskToken"

DOMAINS = (
    "Orders", "Billing", "Shipping", "Catalog", "Returns", "Loyalty", "Search", "Reviews",
    "Payments", "Stock", "Pricing", "Invoices", "Accounts", "Alerts", "Reports", "Imports",
)  # fmt: skip
VERBS = ("Validate", "Enrich", "Score", "Persist", "Notify", "Aggregate", "Transform")
LAMBDA_ERRORS = [
    "Lambda.ServiceException",
    "Lambda.AWSLambdaException",
    "Lambda.SdkClientException",
    "Lambda.TooManyRequestsException",
]


def _ref(name: str) -> dict[str, Any]:
    return {"Ref": name}


def _arn(name: str) -> dict[str, Any]:
    return {"Fn::GetAtt": [name, "Arn"]}


class _Unit:
    """Names of one unit's resources, and its private random generator."""

    def __init__(self, seed: int, unit: int) -> None:
        self.unit = unit
        self.rng = random.Random(f"{seed}:{unit}")
        domain = DOMAINS[unit % len(DOMAINS)]
        self.prefix = f"{domain}{unit:02d}"
        self.table = f"{self.prefix}Table"
        self.topic = f"{self.prefix}Topic"
        self.role = f"{self.prefix}FunctionRole"
        self.functions = [f"{self.prefix}{verb}" for verb in VERBS]
        self.aliased = set(self.functions[:2])  # AutoPublishAlias: live
        self.shared_role = set(self.functions[2:5])  # Role: !GetAtt <unit>FunctionRole.Arn


# Top-level states of an inline definition, besides the first call; Parallel and Map states nest more.
TOP_LEVEL_STATES = 4

SHARED_FUNCTION = "SharedAudit"
SHARED_LAYER = "SharedLayer"


class _DefinitionWriter:
    """Writes one inline state machine definition; records the functions it calls."""

    def __init__(self, unit: _Unit, callable_functions: list[str]) -> None:
        self.unit = unit
        self.rng = unit.rng
        self.functions = callable_functions
        self.called: list[str] = []
        self.counter = 0

    def _name(self, kind: str) -> str:
        self.counter += 1
        return f"{kind}{self.counter:03d}"

    def _function(self) -> str:
        function = self.rng.choice(self.functions)
        if function not in self.called:
            self.called.append(function)
        return function

    def _retry(self) -> list[dict[str, Any]]:
        return [
            {"ErrorEquals": list(LAMBDA_ERRORS), "IntervalSeconds": 1, "MaxAttempts": 3, "BackoffRate": 2}
        ]

    def _lambda_task(self, failure: str | None) -> dict[str, Any]:
        function = self._function()
        style = self.rng.random()
        state: dict[str, Any]
        if style < 0.50:  # the form SAM's docs and the console write
            state = {
                "Type": "Task",
                "Resource": LAMBDA_INVOKE,
                "OutputPath": "$.Payload",
                "Parameters": {"FunctionName": _arn(function)},
            }
        elif style < 0.72:  # legacy: the function ARN as Resource
            state = {"Type": "Task", "Resource": _arn(function), "ResultPath": f"$.results.{function}"}
        elif style < 0.82:  # partition written with Fn::Sub, name with Ref
            state = {
                "Type": "Task",
                "Resource": {"Fn::Sub": "arn:${AWS::Partition}:states:::lambda:invoke"},
                "Parameters": {"FunctionName": _ref(function), "Payload": {"input.$": "$", "step": function}},
                "ResultSelector": {"body.$": "$.Payload"},
            }
        elif style < 0.90:  # callback pattern
            state = {
                "Type": "Task",
                "Resource": LAMBDA_INVOKE_TOKEN,
                "HeartbeatSeconds": 600,
                "Parameters": {
                    "FunctionName": _arn(function),
                    "Payload": {"token.$": "$$.Task.Token", "input.$": "$"},
                },
            }
        elif style < 0.95:  # chosen at run time: left alone by the macro
            state = {
                "Type": "Task",
                "Resource": LAMBDA_INVOKE,
                "Parameters": {"FunctionName.$": "$.handler", "Payload.$": "$"},
            }
        else:  # an alias: left alone (with a warning) by the macro
            if function in self.unit.aliased:
                target: Any = _ref(f"{function}Aliaslive")
            else:
                target = {"Fn::Sub": "${" + function + ".Arn}:live"}
            state = {
                "Type": "Task",
                "Resource": LAMBDA_INVOKE,
                "Parameters": {"FunctionName": target, "Payload.$": "$"},
            }
        state["TimeoutSeconds"] = self.rng.choice((30, 60, 300))
        if self.rng.random() < 0.6:
            state["Retry"] = self._retry()
        if failure is not None and self.rng.random() < 0.4:
            state["Catch"] = [{"ErrorEquals": ["States.ALL"], "ResultPath": "$.error", "Next": failure}]
        return state

    def _service_task(self) -> dict[str, Any]:
        choice = self.rng.randrange(3)
        if choice == 0:
            return {
                "Type": "Task",
                "Resource": "arn:aws:states:::dynamodb:putItem",
                "Parameters": {
                    "TableName": _ref(self.unit.table),
                    "Item": {
                        "pk": {"S.$": "$.id"},
                        "sk": {"S": "state"},
                        "payload": {"S.$": "States.JsonToString($)"},
                    },
                },
                "ResultPath": None,
            }
        if choice == 1:
            return {
                "Type": "Task",
                "Resource": "arn:aws:states:::sns:publish",
                "Parameters": {"TopicArn": _ref(self.unit.topic), "Message.$": "States.JsonToString($)"},
                "ResultPath": None,
            }
        return {
            "Type": "Task",
            "Resource": "arn:aws:states:::aws-sdk:dynamodb:getItem",
            "Parameters": {"TableName": _ref(self.unit.table), "Key": {"pk": {"S.$": "$.id"}}},
            "ResultSelector": {"item.$": "$.Item"},
            "ResultPath": "$.existing",
        }

    def _draw(self, allow_nesting: bool) -> str:
        roll = self.rng.random()
        if allow_nesting and roll < 0.16:
            return "Fan"
        if allow_nesting and roll < 0.26:
            return "Each"
        for limit, kind in ((0.38, "Route"), (0.46, "Store"), (0.50, "Shape"), (0.53, "Pause")):
            if roll < limit:
                return kind
        return "Call"

    def _map(self, depth: int) -> dict[str, Any]:
        kinds = ["Call", *(self._draw(allow_nesting=False) for _ in range(self.rng.randint(1, 2)))]
        start, states = self.states(len(kinds), depth + 1, kinds=kinds)
        body = {"StartAt": start, "States": states}
        state: dict[str, Any] = {
            "Type": "Map",
            "ItemsPath": "$.items",
            "MaxConcurrency": self.rng.choice((0, 5, 10, 40)),
            "ResultPath": "$.mapped",
        }
        if self.rng.random() < 0.7:
            state["ItemProcessor"] = {"ProcessorConfig": {"Mode": "INLINE"}, **body}
        else:
            state["Iterator"] = body
        return state

    def _parallel(self, depth: int) -> dict[str, Any]:
        branches = []
        for _ in range(self.rng.randint(2, 3)):
            start, states = self.states(self.rng.randint(1, 2), depth + 1, allow_nesting=False)
            # every branch holds a Map holding Tasks
            map_name = self._name("Map")
            map_state = self._map(depth + 1)
            map_state["End"] = True
            last = [name for name, state in states.items() if state.get("End")]
            for name in last:
                del states[name]["End"]
                states[name]["Next"] = map_name
            states[map_name] = map_state
            branches.append({"StartAt": start, "States": states})
        return {"Type": "Parallel", "Branches": branches, "ResultPath": "$.parallel"}

    def top_level(self) -> tuple[str, dict[str, Any]]:
        """The top level of a definition: the same mix of states in every workflow (one Parallel, one
        Map, a Choice, a service task, Lambda calls), in a drawn order, so units are alike in size."""
        kinds = ["Fan", "Each", "Route", "Store", *["Call"] * (TOP_LEVEL_STATES - 4)]
        self.rng.shuffle(kinds)
        return self.states(len(kinds), 0, kinds=["Call", *kinds])

    def states(
        self, count: int, depth: int, allow_nesting: bool = True, kinds: list[str] | None = None
    ) -> tuple[str, dict[str, Any]]:
        """``count`` states chained by ``Next`` (plus a Fail state), and the name of the first.

        ``kinds`` fixes the kind of each state; otherwise each is drawn."""
        failure = self._name("Failed")
        names: list[str] = []
        bodies: list[dict[str, Any]] = []
        for position in range(count):
            kind = kinds[position] if kinds is not None else self._draw(allow_nesting)
            body: dict[str, Any]
            if kind == "Fan":
                body = self._parallel(depth)
            elif kind == "Each":
                body = self._map(depth)
            elif kind == "Route":
                body = {"Type": "Choice"}
            elif kind == "Store":
                body = self._service_task()
            elif kind == "Shape":
                body = {"Type": "Pass", "Parameters": {"id.$": "$.id", "items.$": "$.items"}}
            elif kind == "Pause":
                body = {"Type": "Wait", "Seconds": 5}
            else:
                body = self._lambda_task(failure)
            names.append(self._name(kind))
            bodies.append(body)
        states: dict[str, Any] = {}
        for position, (name, body) in enumerate(zip(names, bodies, strict=True)):
            following = names[position + 1] if position + 1 < len(names) else None
            if body["Type"] == "Choice":
                target = following or failure
                body["Choices"] = [
                    {"Variable": "$.score", "NumericGreaterThan": self.rng.randint(1, 99), "Next": target},
                    {"Variable": "$.rejected", "BooleanEquals": True, "Next": failure},
                ]
                body["Default"] = target
            elif following is None:
                body["End"] = True
            else:
                body["Next"] = following
            states[name] = body
        states[failure] = {"Type": "Fail", "Error": "StepFailed", "Cause": "A step of the workflow failed"}
        return names[0], states


def _function(unit: _Unit, name: str) -> dict[str, Any]:
    rng = unit.rng
    properties: dict[str, Any] = {
        "CodeUri": {"Bucket": "sfn-exact-version-bench-artifacts", "Key": f"{unit.prefix}/{name}.zip"},
        "Handler": f"{name.lower()}.handler",
        "Description": f"{name} step of the {unit.prefix} workflow",
        "MemorySize": rng.choice((128, 256, 512, 1024)),
        "Environment": {"Variables": {"TABLE_NAME": _ref(unit.table), "TOPIC_ARN": _ref(unit.topic)}},
    }
    if name in unit.aliased:
        properties["AutoPublishAlias"] = "live"
    if name in unit.shared_role:
        properties["Role"] = _arn(unit.role)
    else:
        properties["Policies"] = [
            {"DynamoDBCrudPolicy": {"TableName": _ref(unit.table)}},
            {"SNSPublishMessagePolicy": {"TopicName": {"Fn::GetAtt": [unit.topic, "TopicName"]}}},
        ]
    if rng.random() < 0.5:
        properties["Timeout"] = rng.choice((10, 60, 900))
    return {"Type": "AWS::Serverless::Function", "Properties": properties}


def _invoke_policies(rng: random.Random, called: list[str]) -> list[Any]:
    """Half the functions through SAM's LambdaInvokePolicy, the others in one explicit statement."""
    templates: list[Any] = []
    explicit: list[Any] = []
    for function in called:
        if rng.random() < 0.5:
            templates.append({"LambdaInvokePolicy": {"FunctionName": _ref(function)}})
        else:
            explicit.append(_arn(function))
    if explicit:
        templates.append(
            {
                "Statement": [
                    {"Effect": "Allow", "Action": ["lambda:InvokeFunction"], "Resource": explicit},
                ]
            }
        )
    return templates


def _state_machine(unit: _Unit, number: int) -> tuple[str, dict[str, Any]]:
    callable_functions = list(unit.functions)
    if unit.unit:
        callable_functions.append(SHARED_FUNCTION)
    writer = _DefinitionWriter(unit, callable_functions)
    start, states = writer.top_level()
    definition = {"Comment": f"{unit.prefix} workflow {number}", "StartAt": start, "States": states}
    policies = _invoke_policies(unit.rng, writer.called)
    policies.append({"DynamoDBCrudPolicy": {"TableName": _ref(unit.table)}})
    policies.append({"SNSPublishMessagePolicy": {"TopicName": {"Fn::GetAtt": [unit.topic, "TopicName"]}}})
    resource = {
        "Type": "AWS::Serverless::StateMachine",
        "Properties": {
            "Type": "STANDARD",
            "Definition": definition,
            "Policies": policies,
            "Tracing": {"Enabled": True},
            "Tags": {"workflow": f"{unit.prefix}-{number}"},
        },
    }
    return f"{unit.prefix}Workflow{number}", resource


def _s3_state_machine(unit: _Unit) -> tuple[str, dict[str, Any]]:
    first, second = unit.functions[0], unit.functions[3]
    resource = {
        "Type": "AWS::Serverless::StateMachine",
        "Properties": {
            "DefinitionUri": {
                "Bucket": "sfn-exact-version-bench-artifacts",
                "Key": f"{unit.prefix}/flow.asl.json",
            },
            "DefinitionSubstitutions": {
                "ValidateFunctionArn": _arn(first),
                "PersistFunctionArn": _arn(second),
                "TableName": _ref(unit.table),
            },
            "Policies": [
                {"LambdaInvokePolicy": {"FunctionName": _ref(first)}},
                {"LambdaInvokePolicy": {"FunctionName": _ref(second)}},
                {"DynamoDBWritePolicy": {"TableName": _ref(unit.table)}},
            ],
        },
    }
    return f"{unit.prefix}SampleFlow", resource


def _unit_resources(seed: int, number: int) -> dict[str, Any]:
    unit = _Unit(seed, number)
    resources: dict[str, Any] = {
        unit.table: {
            "Type": "AWS::DynamoDB::Table",
            "Properties": {
                "BillingMode": "PAY_PER_REQUEST",
                "AttributeDefinitions": [
                    {"AttributeName": "pk", "AttributeType": "S"},
                    {"AttributeName": "sk", "AttributeType": "S"},
                ],
                "KeySchema": [
                    {"AttributeName": "pk", "KeyType": "HASH"},
                    {"AttributeName": "sk", "KeyType": "RANGE"},
                ],
            },
        },
        unit.topic: {"Type": "AWS::SNS::Topic", "Properties": {"DisplayName": f"{unit.prefix} events"}},
        unit.role: {
            "Type": "AWS::IAM::Role",
            "Properties": {
                "AssumeRolePolicyDocument": {
                    "Version": "2012-10-17",
                    "Statement": [
                        {
                            "Effect": "Allow",
                            "Principal": {"Service": "lambda.amazonaws.com"},
                            "Action": "sts:AssumeRole",
                        },
                    ],
                },
                "ManagedPolicyArns": [{"Fn::Sub": BASIC_EXECUTION_POLICY}],
                "Policies": [
                    {
                        "PolicyName": "TableAccess",
                        "PolicyDocument": {
                            "Version": "2012-10-17",
                            "Statement": [
                                {
                                    "Effect": "Allow",
                                    "Action": ["dynamodb:GetItem", "dynamodb:PutItem", "dynamodb:Query"],
                                    "Resource": {"Fn::GetAtt": [unit.table, "Arn"]},
                                },
                            ],
                        },
                    }
                ],
            },
        },
    }
    for name in unit.functions:
        resources[name] = _function(unit, name)
    for number_in_unit in (1, 2):
        logical_id, resource = _state_machine(unit, number_in_unit)
        resources[logical_id] = resource
    if number % 2 == 1:
        logical_id, resource = _s3_state_machine(unit)
        resources[logical_id] = resource
    return resources


def generate_sam(size: int, seed: int = DEFAULT_SEED) -> dict[str, Any]:
    """A SAM template with ``size`` units (see the module docstring). Same arguments, same template."""
    if size < 1:
        raise ValueError("size must be at least 1")
    resources: dict[str, Any] = {
        SHARED_LAYER: {
            "Type": "AWS::Serverless::LayerVersion",
            "Properties": {
                "ContentUri": {"Bucket": "sfn-exact-version-bench-artifacts", "Key": "layers/common.zip"},
                "CompatibleRuntimes": ["python3.12"],
                "RetentionPolicy": "Retain",
            },
        },
        SHARED_FUNCTION: {
            "Type": "AWS::Serverless::Function",
            "Properties": {
                "CodeUri": {"Bucket": "sfn-exact-version-bench-artifacts", "Key": "shared/audit.zip"},
                "Handler": "audit.handler",
                "Description": "Writes an audit record for every workflow",
                "MemorySize": 256,
            },
        },
    }
    for number in range(size):
        resources.update(_unit_resources(seed, number))
    return {
        "AWSTemplateFormatVersion": "2010-09-09",
        "Transform": [SAM_TRANSFORM, MACRO_NAME],
        "Description": f"sfn-exact-version benchmark application, size {size}",
        "Parameters": {
            "Stage": {"Type": "String", "Default": "prod", "AllowedValues": ["dev", "staging", "prod"]},
            "LogLevel": {"Type": "String", "Default": "INFO"},
        },
        "Globals": {
            "Function": {
                "Runtime": "python3.12",
                "Architectures": ["arm64"],
                "Timeout": 30,
                "Tracing": "Active",
                "Layers": [_ref(SHARED_LAYER)],
                "Environment": {"Variables": {"STAGE": _ref("Stage"), "LOG_LEVEL": _ref("LogLevel")}},
            }
        },
        "Resources": resources,
        "Outputs": {
            "SharedAuditArn": {"Value": _arn(SHARED_FUNCTION)},
        },
    }


# ------------------------------------------------------------------------------ call-dense form
DENSE_MACHINES = 40
DENSE_STATES = 40
DENSE_FUNCTIONS = 40
DENSE_CALLED_PER_MACHINE = 10


def generate_dense(
    machines: int = DENSE_MACHINES,
    states: int = DENSE_STATES,
    functions: int = DENSE_FUNCTIONS,
    called_per_machine: int = DENSE_CALLED_PER_MACHINE,
) -> dict[str, Any]:
    """A SAM template where every state calls Lambda: the worst case for reading definitions and IAM.

    ``machines`` state machines of ``states`` Task states each, every one a ``lambda:invoke`` call with
    ``Parameters.FunctionName: !GetAtt Fn.Arn`` (SAM turns the definition into its ``Fn::Join`` form with
    one ``DefinitionSubstitutions`` entry per call). Machine ``m`` calls ``called_per_machine`` of the
    ``functions`` functions, in turn; its role allows each through a ``LambdaInvokePolicy``. No
    randomness: same arguments, same template. The defaults give 0.72 MB once translated (compact JSON), and
    0.96 MB after the macro: within CloudFormation's 1 MB.
    """
    resources: dict[str, Any] = {}
    names = [f"Fn{number:02d}" for number in range(functions)]
    for name in names:
        resources[name] = {
            "Type": "AWS::Serverless::Function",
            "Properties": {
                "CodeUri": {"Bucket": "sfn-exact-version-bench-artifacts", "Key": f"dense/{name}.zip"},
                "Handler": "app.handler",
                "Runtime": "python3.12",
                "MemorySize": 256,
            },
        }
    for machine in range(machines):
        called = [names[(machine + offset) % functions] for offset in range(called_per_machine)]
        body: dict[str, Any] = {}
        for number in range(states):
            function = called[number % len(called)]
            body[f"Step{number:02d}"] = {
                "Type": "Task",
                "Resource": LAMBDA_INVOKE,
                "Parameters": {"FunctionName": _arn(function)},
                **({"Next": f"Step{number + 1:02d}"} if number + 1 < states else {"End": True}),
            }
        body["Failed"] = {"Type": "Fail", "Error": "StepFailed"}
        resources[f"Flow{machine:02d}"] = {
            "Type": "AWS::Serverless::StateMachine",
            "Properties": {
                "Definition": {"Comment": f"flow {machine}", "StartAt": "Step00", "States": body},
                "Policies": [{"LambdaInvokePolicy": {"FunctionName": _ref(function)}} for function in called],
            },
        }
    return {
        "AWSTemplateFormatVersion": "2010-09-09",
        "Transform": [SAM_TRANSFORM, MACRO_NAME],
        "Description": f"sfn-exact-version call-dense benchmark: {machines} x {states} Lambda calls",
        "Parameters": {"Stage": {"Type": "String", "Default": "prod"}, "LogLevel": {"Type": "String"}},
        "Resources": resources,
    }


# --------------------------------------------------------------------------------- translation
def translator_name() -> str:
    """Which offline SAM translation ``translate`` uses."""
    try:
        from sfn_exact_version.offline.sam import sam_translate  # noqa: F401
    except ImportError:
        return "benchmarks/generate.py (cfn-lint's way)"
    return "sfn_exact_version.offline.sam.sam_translate"


def translate(sam: dict[str, Any], *, region: str = REGION, account_id: str = ACCOUNT_ID) -> dict[str, Any]:
    """The CloudFormation template SAM makes of ``sam``, offline (``sam`` is not modified).

    ``Transform`` of the result lists the transforms after SAM's (``["SfnExactVersion"]``).
    """
    try:
        from sfn_exact_version.offline.sam import sam_translate
    except ImportError:
        return _translate_like_cfn_lint(sam, region=region)
    return sam_translate(sam, parameter_values=dict(PARAMETER_VALUES), region=region, account_id=account_id)


def _translate_like_cfn_lint(sam: dict[str, Any], *, region: str) -> dict[str, Any]:
    """aws-sam-translator called as cfn-lint's ``template/transforms/_sam.py`` calls it: a
    ``Translator`` with a managed-policy map and a ``Parser``, the Region from ``AWS_DEFAULT_REGION``."""
    import logging

    from samtranslator.parser.parser import Parser
    from samtranslator.translator.translator import Translator

    logging.getLogger("samtranslator").setLevel(logging.CRITICAL)
    template = copy.deepcopy(sam)
    transforms = template.pop("Transform")
    following = transforms[transforms.index(SAM_TRANSFORM) + 1 :]
    template["Transform"] = SAM_TRANSFORM
    saved = os.environ.get("AWS_DEFAULT_REGION")
    os.environ["AWS_DEFAULT_REGION"] = region
    try:
        translator = Translator(managed_policy_map=_managed_policy_map(), sam_parser=Parser())
        result: dict[str, Any] = translator.translate(
            sam_template=template, parameter_values=dict(PARAMETER_VALUES), passthrough_metadata=True
        )
    finally:
        if saved is None:
            os.environ.pop("AWS_DEFAULT_REGION", None)
        else:
            os.environ["AWS_DEFAULT_REGION"] = saved
    result = json.loads(json.dumps(result))
    result.pop("Transform", None)
    if following:
        result["Transform"] = following
    return result


def _managed_policy_map() -> dict[str, str] | None:
    try:
        from cfnlint.data import Serverless
        from cfnlint.helpers import load_resource
    except ImportError:
        return None
    try:
        loaded: dict[str, str] = load_resource(Serverless, "ManagedPolicies.json")
    except Exception:  # an older or newer cfn-lint without the bundled map
        return None
    return loaded


def macro_event(cfn: dict[str, Any], *, request_id: str = "bench-request") -> dict[str, Any]:
    """The event CloudFormation sends the macro for the translated template."""
    fragment = {key: value for key, value in cfn.items() if key != "Transform"}
    return {
        "region": REGION,
        "accountId": ACCOUNT_ID,
        "fragment": fragment,
        "transformId": f"{ACCOUNT_ID}::{MACRO_NAME}",
        "params": {},
        "requestId": request_id,
        "templateParameterValues": dict(PARAMETER_VALUES),
    }


def template_bytes(template: dict[str, Any]) -> int:
    """Size of a template as compact JSON (how CloudFormation counts a JSON template body)."""
    return len(json.dumps(template, separators=(",", ":")).encode("utf-8"))


def limits(template: dict[str, Any]) -> dict[str, Any]:
    """Resource count and size against CloudFormation's limits."""
    resources = len(template.get("Resources", {}))
    size = template_bytes(template)
    return {
        "resources": resources,
        "bytes": size,
        "within": resources <= MAX_RESOURCES and size <= MAX_TEMPLATE_BYTES,
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--size", type=int, action="append", help="size factor (repeatable); default 1 4 16")
    parser.add_argument("--seed", type=int, default=DEFAULT_SEED)
    parser.add_argument(
        "--out", type=Path, required=True, help="directory for sam-N.json, cfn-N.json, event-N.json"
    )
    args = parser.parse_args(argv)
    args.out.mkdir(parents=True, exist_ok=True)
    for size in args.size or [1, 4, 16]:
        sam = generate_sam(size, args.seed)
        cfn = translate(sam)
        event = macro_event(cfn)
        for name, value in (("sam", sam), ("cfn", cfn), ("event", event)):
            (args.out / f"{name}-{size}.json").write_text(
                json.dumps(value, indent=1) + "\n", encoding="utf-8"
            )
        facts = limits(event["fragment"])
        print(f"size {size}: {facts['resources']} resources, {facts['bytes']:,} bytes -> {args.out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
