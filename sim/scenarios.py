"""Day-2 scenarios on the simulated stack: a list of deploys of one stack, with an execution in flight.

A scenario is a list of ``Day`` s (each a template as written, before packaging, SAM and the macro).
``run_scenario`` deploys them in order into one ``SimStack``; right after the day named ``start_after`` it
starts execution 1 (its ``waitSeconds`` input makes it wait before it calls Lambda), deploys the next day
while execution 1 waits, starts execution 2, waits for both, then deploys the remaining days, if any. It
records what each deploy did (or the error that failed it, as CloudFormation would fail it: the later
days are then not deployed), what each execution invoked and how it ended, and which versions each
function has at the end.

``hook(template, day_label)`` edits a processed template just before it is deployed: that is how the
negative controls take one protection away (e.g. the ``Retain`` on functions) and show what AWS would do
without it.

Example::

    result = run_scenario([Day("day1", t1), Day("day2", t2)], base_dir=app_dir, start_after="day1")
    result.execution1.status  # "SUCCEEDED"
"""

from __future__ import annotations

import copy
import json
import re
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from sim.bluegreen_sim import (
    ExecutionSummary,
    has_called_lambda,
    prepare_fragment,
    simulated_aws,
    summarize_execution,
)
from sim.errors import SimulationError
from sim.lambda_bridge import Invocation
from sim.stack import DeployReport, SimStack

Hook = Callable[[dict[str, Any], str], dict[str, Any]]


@dataclass(frozen=True)
class Day:
    """One deploy: a label and the template as the user writes it (``Transform`` decides SAM/macro)."""

    label: str
    template: Mapping[str, Any]


@dataclass
class ScenarioResult:
    """What happened, for the tests and the demo."""

    deploys: dict[str, DeployReport] = field(default_factory=dict)
    failed_deploy: tuple[str, str] | None = None  # (day, error) of the deploy that failed
    templates: dict[str, dict[str, Any]] = field(default_factory=dict)  # processed, as deployed
    execution1: ExecutionSummary | None = None
    execution2: ExecutionSummary | None = None
    execution1_waited_across: bool = False  # had not called Lambda when the next day was deployed
    invocations: list[Invocation] = field(default_factory=list)
    versions: dict[str, list[str]] = field(default_factory=dict)  # function name -> published versions
    functions_by_day: dict[str, dict[str, str]] = field(default_factory=dict)  # day -> logical -> name
    versions_by_day: dict[str, dict[str, str]] = field(default_factory=dict)  # day -> logical -> ARN


def run_scenario(
    days: Sequence[Day],
    *,
    base_dir: Path,
    start_after: str,
    hook: Hook | None = None,
    wait_seconds: int = 2,
    stack_name: str = "day2",
    timeout: float = 60,
    setup: Callable[[Mapping[str, Any]], None] | None = None,
    parameters: Mapping[str, Any] | None = None,
) -> ScenarioResult:
    """Deploy ``days`` in order; execution 1 starts after ``start_after`` and waits across the next deploy.

    Local code paths in the templates are relative to ``base_dir``. ``setup(clients)`` runs first (e.g. to
    put code that templates name by S3 location into the simulated S3).
    """
    labels = [day.label for day in days]
    if start_after not in labels or labels.index(start_after) == len(labels) - 1:
        raise SimulationError(f"start_after={start_after!r} must name a day that has a next day: {labels}")
    result = ScenarioResult()
    with simulated_aws() as clients:
        sfn, s3 = clients["stepfunctions"], clients["s3"]
        stack = SimStack(stack_name, clients, parameters=parameters)
        started: list[str] = []
        if setup:
            setup(clients)

        def deploy(day: Day) -> bool:
            template = prepare_fragment(
                copy.deepcopy(dict(day.template)), base_dir, s3=s3, parameter_values=parameters
            )
            if hook:
                template = hook(template, day.label)
            result.templates[day.label] = template
            try:
                result.deploys[day.label] = stack.deploy(template, day.label)
            except SimulationError as error:
                result.failed_deploy = (day.label, str(error))
                return False
            result.functions_by_day[day.label] = {
                d.logical_id: d.physical_id
                for d in stack.resources.values()
                if d.type == "AWS::Lambda::Function"
            }
            result.versions_by_day[day.label] = {
                d.logical_id: d.physical_id
                for d in stack.resources.values()
                if d.type == "AWS::Lambda::Version"
            }
            return True

        try:
            index = 0
            for index, day in enumerate(days):  # noqa: B007 (index is used after the loop)
                if not deploy(day):
                    return _finish(result, clients, started)
                if day.label == start_after:
                    break
            machine = _state_machine(stack)
            exec1 = sfn.start_execution(
                stateMachineArn=machine, name="execution-1", input=json.dumps({"waitSeconds": wait_seconds})
            )["executionArn"]
            started.append(exec1)
            deployed = deploy(days[index + 1])
            if sfn.describe_execution(executionArn=exec1)["status"] != "RUNNING" or has_called_lambda(
                sfn, exec1
            ):
                raise SimulationError(
                    f"execution 1 did not wait across {days[index + 1].label}'s deploy: raise wait_seconds"
                )
            result.execution1_waited_across = True
            if deployed and any(
                d.type == "AWS::StepFunctions::StateMachine" for d in stack.resources.values()
            ):
                exec2 = sfn.start_execution(
                    stateMachineArn=_state_machine(stack),
                    name="execution-2",
                    input=json.dumps({"waitSeconds": 0}),
                )["executionArn"]
                started.append(exec2)
            _wait(sfn, started, timeout)
            result.execution1 = summarize_execution(sfn, exec1, "Execution 1")
            if len(started) > 1:
                result.execution2 = summarize_execution(sfn, started[1], "Execution 2")
            if deployed:
                for day in days[index + 2 :]:
                    if not deploy(day):
                        break
            return _finish(result, clients, started)
        finally:
            for arn in started:  # never leave an execution thread running once moto stops
                if sfn.describe_execution(executionArn=arn)["status"] == "RUNNING":
                    sfn.stop_execution(executionArn=arn)


def _state_machine(stack: SimStack) -> str:
    machines = [
        d.physical_id for d in stack.resources.values() if d.type == "AWS::StepFunctions::StateMachine"
    ]
    if len(machines) != 1:
        raise SimulationError(f"expected one state machine in the stack, found {len(machines)}")
    return machines[0]


def _wait(sfn: Any, arns: list[str], timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while any(sfn.describe_execution(executionArn=arn)["status"] == "RUNNING" for arn in arns):
        if time.monotonic() > deadline:
            raise SimulationError(f"executions still running after {timeout:g} s")
        time.sleep(0.1)


def _finish(result: ScenarioResult, clients: Mapping[str, Any], started: list[str]) -> ScenarioResult:
    lam = clients["lambda"]
    result.invocations = list(clients["bridge"].invocations)
    names = {name for functions in result.functions_by_day.values() for name in functions.values()}
    for name in sorted(names):
        try:
            lam.get_function(FunctionName=name)  # moto lists no versions, where AWS says not found
        except lam.exceptions.ResourceNotFoundException:
            continue  # the function is gone, with every version
        listed = lam.list_versions_by_function(FunctionName=name)["Versions"]
        result.versions[name] = sorted((v["Version"] for v in listed if v["Version"] != "$LATEST"), key=int)
    return result


# --------------------------------------------------------------------------------------------------
# The scenarios of examples/blue-green/scenarios: templates, Day-2 changes, negative controls
# --------------------------------------------------------------------------------------------------

SCENARIO_DIR = Path(__file__).resolve().parent.parent / "examples" / "blue-green" / "scenarios"
MACRO_MARKER = re.compile(r" ?\[SfnExactVersion [0-9a-f]{16}\]$")
GRANT_PREFIX = "SfnExactVersion-"

Template = dict[str, Any]


def load(name: str) -> Template:
    """A template of ``examples/blue-green/scenarios`` as the user wrote it."""
    from sfn_exact_version.offline.template_io import load_template

    return load_template(SCENARIO_DIR / name)


def with_macro(template: Mapping[str, Any]) -> Template:
    """The same template with ``SfnExactVersion`` added to ``Transform``, nothing else changed."""
    changed = copy.deepcopy(dict(template))
    transform = changed.get("Transform", [])
    changed["Transform"] = [*([transform] if isinstance(transform, str) else transform), "SfnExactVersion"]
    return changed


def with_function(template: Mapping[str, Any], **properties: Any) -> Template:
    """``HelloFunction`` with some properties set (a Timeout, Tags, a new FunctionName)."""
    changed = copy.deepcopy(dict(template))
    changed["Resources"]["HelloFunction"]["Properties"].update(properties)
    return changed


def stop_calling_hello(template: Mapping[str, Any]) -> Template:
    """Day 2: ``AskHello`` no longer calls hello (a Pass state answers), and the role statement goes."""
    changed = copy.deepcopy(dict(template))
    machine = changed["Resources"]["ApprovalStateMachine"]["Properties"]
    machine["Definition"]["States"]["AskHello"] = {
        "Type": "Pass",
        "Result": {"answer": "Approved"},
        "ResultPath": "$.hello",
        "Next": "IsApproved",
    }
    machine["Policies"] = []
    return changed


def remove_hello(template: Mapping[str, Any]) -> Template:
    """Day 2: hello leaves the template (with its call and the role statement)."""
    changed = stop_calling_hello(template)
    del changed["Resources"]["HelloFunction"]
    return changed


def rename_hello(template: Mapping[str, Any]) -> Template:
    """Day 2: hello gets a new ``FunctionName``, which replaces the function."""
    return with_function(template, FunctionName={"Fn::Sub": "${AWS::StackName}-hello-v2"})


def call_hello_by_number(template: Mapping[str, Any]) -> Template:
    """Day 1 written by hand the exact way: SAM publishes hello's version 1 (``AutoPublishAlias``) and
    ``AskHello`` names it by number, ``${HelloFunction.Arn}:1``; the role allows that version."""
    changed = with_function(template, AutoPublishAlias="live")
    machine = changed["Resources"]["ApprovalStateMachine"]["Properties"]
    by_number = {"Fn::Sub": "${HelloFunction.Arn}:1"}
    machine["Definition"]["States"]["AskHello"]["Parameters"]["FunctionName"] = by_number
    machine["Policies"][0]["Statement"][0]["Resource"] = by_number
    return changed


ADOPTION = {  # Day 0 template, and the Tags written the way its function type takes them
    "sam-autopublishalias": ("adoption_sam.yaml", {"team": "blue"}),
    "cdk-hand-written-version": ("adoption_cdk.yaml", [{"Key": "team", "Value": "blue"}]),
}


def adoption_days(kind: str) -> list[Day]:
    """Day 0 without the macro; Day 1 the same with it; then a tags-only and a Timeout-only change."""
    name, tags = ADOPTION[kind]
    day0 = load(name)
    day1 = with_macro(day0)
    tagged = with_function(day1, Tags=tags)
    return [
        Day("day0", day0),
        Day("day1", day1),
        Day("tags-only", tagged),
        Day("timeout-only", with_function(tagged, Timeout=20)),
    ]


def with_shared_role(template: Mapping[str, Any]) -> Template:
    """hello runs with a role of its own in the template (``HelloRole``) instead of the one SAM
    generates for it: removing hello then leaves the role in place."""
    changed = with_function(template, Role={"Fn::GetAtt": ["HelloRole", "Arn"]})
    changed["Resources"]["HelloRole"] = {
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
    return changed


ARTIFACT_BUCKET = "artifacts"


def upload_hello_builds(clients: Mapping[str, Any]) -> None:
    """The same ``hello`` zip under two per-build keys, as a CI pipeline uploads an unchanged function."""
    from sim.bluegreen_sim import _zip_folder

    s3 = clients["s3"]
    s3.create_bucket(Bucket=ARTIFACT_BUCKET)
    body = _zip_folder(SCENARIO_DIR / "hello")
    for build in ("build-1", "build-2"):
        s3.put_object(Bucket=ARTIFACT_BUCKET, Key=f"{build}/hello.zip", Body=body)


def at_build(build: str) -> Callable[[Mapping[str, Any]], Template]:
    """hello's code from ``s3://artifacts/<build>/hello.zip`` instead of the local folder."""
    return lambda template: with_function(template, CodeUri=f"s3://{ARTIFACT_BUCKET}/{build}/hello.zip")


def with_stage_mapping(template: Mapping[str, Any]) -> Template:
    """hello's Timeout from a mapping entry selected by the ``Stage`` parameter (the stack is ``dev``)."""
    changed = with_function(template, Timeout={"Fn::FindInMap": ["StageConfig", {"Ref": "Stage"}, "Timeout"]})
    changed["Parameters"] = {"Stage": {"Type": "String", "Default": "dev", "AllowedValues": ["dev", "prod"]}}
    changed["Mappings"] = {"StageConfig": {"dev": {"Timeout": 10}, "prod": {"Timeout": 30}}}
    return changed


def change_prod_entry(template: Mapping[str, Any]) -> Template:
    """Day 2: only the prod entry of the mapping changes (a dev stack must not notice)."""
    changed = copy.deepcopy(dict(template))
    changed["Mappings"]["StageConfig"]["prod"]["Timeout"] = 60
    return changed


DAY2 = {  # case -> (Day 1 from approval.yaml, Day 2 from Day 1)
    "remove": (lambda t: t, remove_hello),
    "remove-shared-role": (with_shared_role, remove_hello),
    "rename": (lambda t: t, rename_hello),
    "remove-called-by-number": (call_hello_by_number, remove_hello),
    "stop-calling": (lambda t: t, stop_calling_hello),
    "same-code-new-key": (at_build("build-1"), at_build("build-2")),  # nothing else changes
    "other-stage-mapping-entry": (with_stage_mapping, change_prod_entry),
}


def day2_days(case: str) -> list[Day]:
    """Day 1 (``approval.yaml``) and its Day 2 for ``case`` (a key of ``DAY2``)."""
    make_day1, make_day2 = DAY2[case]
    day1 = make_day1(load("approval.yaml"))
    return [Day("day1", day1), Day("day2", make_day2(day1))]


def _typed(template: Template, resource_type: str) -> list[dict[str, Any]]:
    return [r for r in template["Resources"].values() if r["Type"] == resource_type]


def without_function_marker(template: Template, day: str) -> Template:
    """Negative control for adoption: strip the macro's marker from every function's ``Description``."""
    changed = copy.deepcopy(template)
    stripped = 0
    for function in _typed(changed, "AWS::Lambda::Function"):
        properties = function["Properties"]
        description = properties.get("Description")
        if isinstance(description, str) and MACRO_MARKER.search(description):
            rest = MACRO_MARKER.sub("", description)
            if rest:
                properties["Description"] = rest
            else:
                del properties["Description"]
            stripped += 1
    if not stripped and day != "day0":
        raise SimulationError(f"{day}: no function Description carries the macro's marker")
    return changed


def without_function_retain(template: Template, day: str) -> Template:
    """Negative control for removal/rename: no ``DeletionPolicy``/``UpdateReplacePolicy`` on functions."""
    changed = copy.deepcopy(template)
    dropped = 0
    for function in _typed(changed, "AWS::Lambda::Function"):
        dropped += function.pop("DeletionPolicy", None) == "Retain"
        function.pop("UpdateReplacePolicy", None)
    if not dropped and day == "day1":
        raise SimulationError(f"{day}: the macro retained no function")
    return changed


def without_execution_role_retain(template: Template, day: str) -> Template:
    """Negative control for a removed function's execution role: no ``DeletionPolicy``/
    ``UpdateReplacePolicy`` on the roles the macro retained with their functions."""
    changed = copy.deepcopy(template)
    report = changed.get("Metadata", {}).get("SfnExactVersion", {})
    roles = {item["ExecutionRole"] for item in report.get("Functions", []) if "ExecutionRole" in item}
    for role in roles:
        changed["Resources"][role].pop("DeletionPolicy", None)
        changed["Resources"][role].pop("UpdateReplacePolicy", None)
    if not roles and day == "day1":
        raise SimulationError(f"{day}: the macro retained no execution role")
    return changed


def retained_grants(template: Template) -> list[dict[str, Any]]:
    """The macro's grants: ``AWS::IAM::RolePolicy`` resources named ``SfnExactVersion-...``."""
    return [
        r
        for r in _typed(template, "AWS::IAM::RolePolicy")
        if str(r["Properties"].get("PolicyName", "")).startswith(GRANT_PREFIX)
    ]


def without_retained_grants(template: Template, day: str) -> Template:
    """Negative control for a running execution's permissions: the grants lose their ``Retain``, so
    CloudFormation deletes them when the template stops calling the function."""
    changed = copy.deepcopy(template)
    grants = retained_grants(changed)
    for grant in grants:
        grant.pop("DeletionPolicy", None)
        grant.pop("UpdateReplacePolicy", None)
    if not grants and day == "day1":
        raise SimulationError(f"{day}: the macro wrote no retained grant (AWS::IAM::RolePolicy)")
    return changed


def run_adoption(
    kind: str, *, hook: Hook | None = None, days: int = 4, wait_seconds: int = 2
) -> ScenarioResult:
    """The adoption scenario ``kind``; execution 1 starts on Day 0 and waits across Day 1."""
    return run_scenario(
        adoption_days(kind)[:days],
        base_dir=SCENARIO_DIR,
        start_after="day0",
        hook=hook,
        wait_seconds=wait_seconds,
    )


def run_day2(
    case: str,
    *,
    hook: Hook | None = None,
    wait_seconds: int = 2,
    parameters: Mapping[str, Any] | None = None,
) -> ScenarioResult:
    """The Day-2 scenario ``case``; execution 1 starts on Day 1 and waits across Day 2."""
    return run_scenario(
        day2_days(case),
        base_dir=SCENARIO_DIR,
        start_after="day1",
        hook=hook,
        wait_seconds=wait_seconds,
        setup=upload_hello_builds if case == "same-code-new-key" else None,
        parameters={"Stage": "dev", **(parameters or {})}
        if case == "other-stage-mapping-entry"
        else parameters,
    )
