"""Offline blue-green simulation: two deploys of a SAM app and two overlapping executions, in moto.

The story (``run_story``):

1. Day 1: load ``day1/template.yaml``, package its local ``CodeUri`` into (mocked) S3, translate it with
   SAM offline, run the ``SfnExactVersion`` macro (``sfn_exact_version.transform.transform``), and deploy
   the result with a small deployer (``SimStack``) that calls the IAM, Lambda and Step Functions APIs.
2. Start execution 1; its input makes it wait a few seconds before it calls ``hello``.
3. Day 2, deployed while execution 1 waits: new code and a new definition, same pipeline.
4. Start execution 2, wait for both, and read what each one invoked from its execution history.

With the macro, execution 1 calls the version published on day 1 and execution 2 the one published on
day 2; both succeed. Without the macro (the negative control), both call the function's ``$LATEST``, so
execution 1 gets day 2's answer and fails.

What is real here and what is bridged (moto must be exactly ``MOTO_VERSION``; ``require_moto`` checks):

Real (moto's own implementation, reached through boto3):
    * Step Functions interprets the definitions (``execute_state_machine``): Wait sleeps, Choice branches,
      every execution keeps the definition it started with, history events are moto's.
    * The interpreter invokes Lambda through moto's Lambda API with the ARN written in the definition.
    * Lambda's version registry: ``publish_version`` copies the function as it is at that moment (code
      bytes included), ``get_function``/``invoke`` with a qualifier find that copy. When it publishes
      follows Lambda's rule, not moto's (``sim.lambda_bridge.LambdaPublishRule``): only when the code hash
      or a version-locked setting differs from the latest published version.
    * IAM roles and policies are stored by moto's IAM; S3 holds the packaged code.

Bridged (each one named, each one small):
    * Deployment (``sim.stack.SimStack``). moto's CloudFormation cannot run this story: ``Ref`` of a
      Lambda Version gives the logical ID, state machines created by a stack ignore their definition,
      updates run in template order, removed ``Retain`` resources are deleted. ``SimStack`` creates and
      updates the resources through the service APIs in dependency order (so a function's code is updated
      before the version that references it is published), honours ``DeletionPolicy``/
      ``UpdateReplacePolicy: Retain``, and fails like CloudFormation when a version would be published
      for an unchanged function.
    * Intrinsic functions (``sim.stack.Resolver``): ``Ref``, ``Fn::GetAtt``, ``Fn::Join``, ``Fn::Sub``,
      ``Fn::Select``, ``Fn::Split``, ``Fn::FindInMap`` and pseudo parameters, plus
      ``DefinitionSubstitutions``. Anything else
      is refused with ``SimulationError`` rather than guessed.
    * Running Lambda code (``sim.lambda_bridge.LambdaCodeBridge``). moto runs code only in Docker. The
      bridge replaces ``moto.awslambda.models.LambdaFunction._invoke_lambda``, the one method that starts
      the container, while the simulation runs. ``self`` there is the function or version object moto
      resolved from the invoked ARN, so the bridge unzips *that object's* code bytes and calls its
      handler in-process. Environment variables and layers are not applied.
    * IAM enforcement at invoke time (``sim.lambda_bridge.RoleAuthorizer``, ``sim.iam_policy``). moto
      does not check the state machine's role when Step Functions calls Lambda. The bridge asks an
      authorizer first; it reads the current policies of the role the calling execution started with
      (an execution keeps its role ARN; the role's policies are live) from moto's IAM and evaluates
      them (Allow/Deny, Action/NotAction, Resource/NotResource, ``*``/``?`` wildcards; statements with
      a ``Condition`` never allow). A denied call fails the task with
      ``Lambda.AccessDeniedException``.
    * Packaging and SAM translation (``prepare_template``): the offline pipeline
      (``sfn_exact_version.offline``, as the CLI uses it) computes content-hash S3 locations and runs
      aws-sam-translator; the simulation uploads a zip of each code folder to that location in moto's
      S3. The macro itself is the real ``sfn_exact_version.transform.transform``, called as the Lambda
      handler would call it.

Example::

    from sim.bluegreen_sim import run_story
    result = run_story(use_macro=True, wait_seconds=2)
    assert result.execution1.status == "SUCCEEDED"
"""

from __future__ import annotations

import io
import json
import sys
import time
import zipfile
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

REPO_ROOT = Path(__file__).resolve().parent.parent
if str(REPO_ROOT / "macro") not in sys.path:
    sys.path.insert(0, str(REPO_ROOT / "macro"))

from sim.errors import MotoVersionError, SimulationError  # noqa: E402
from sim.iam_policy import policy_allows, role_allows_invoke  # noqa: E402
from sim.lambda_bridge import (  # noqa: E402
    MOTO_VERSION,
    Invocation,
    LambdaCodeBridge,
    LambdaPublishRule,
    RoleAuthorizer,
    require_moto,
)
from sim.stack import ACCOUNT_ID, REGION, Deployed, DeployReport, SimStack  # noqa: E402

__all__ = [
    "MOTO_VERSION",
    "ExecutionSummary",
    "MotoVersionError",
    "SimStack",
    "SimulationError",
    "StoryResult",
    "policy_allows",
    "prepare_fragment",
    "prepare_template",
    "require_moto",
    "run_story",
    "simulated_aws",
    "story_matches_promise",
]

EXAMPLE_DIR = REPO_ROOT / "examples" / "blue-green"
MACRO_NAME = "SfnExactVersion"


# --------------------------------------------------------------------------------------------------
# From a SAM app folder to the template the macro returns
# --------------------------------------------------------------------------------------------------


def upload_artifacts(packaged: Any, base_dir: Path, s3: Any) -> None:
    """Put the code that ``package_template`` pointed at into (mocked) S3, where Lambda will read it.

    ``sfn_exact_version.offline.packaging`` only computes the locations (content-hash keys in a placeholder
    bucket); this uploads a zip of each local ``CodeUri``/``Code`` path to exactly that location.
    """
    from sfn_exact_version.offline.packaging import PREVIEW_BUCKET

    buckets = {b["Name"] for b in s3.list_buckets()["Buckets"]}
    if PREVIEW_BUCKET not in buckets:
        s3.create_bucket(Bucket=PREVIEW_BUCKET)
    for artifact in packaged.artifacts:
        if not artifact.location.endswith(("/CodeUri", "/Code")):
            raise SimulationError(f"{artifact.location}: only Lambda code artifacts are simulated")
        path = (base_dir / artifact.path).resolve()
        body = _zip_folder(path) if path.is_dir() else path.read_bytes()
        s3.put_object(Bucket=PREVIEW_BUCKET, Key=artifact.key, Body=body)


def _zip_folder(folder: Path) -> bytes:
    """A deterministic zip of a folder: sorted names, fixed timestamps, no caches."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for path in sorted(folder.rglob("*")):
            if path.is_dir() or "__pycache__" in path.parts or path.suffix == ".pyc":
                continue
            info = zipfile.ZipInfo(path.relative_to(folder).as_posix(), date_time=(1980, 1, 1, 0, 0, 0))
            info.external_attr = 0o644 << 16
            info.compress_type = zipfile.ZIP_DEFLATED
            archive.writestr(info, path.read_bytes())
    return buffer.getvalue()


Transform = Callable[[dict[str, Any]], dict[str, Any]]


def real_transform(
    fragment: dict[str, Any],
    *,
    region: str = REGION,
    account_id: str = ACCOUNT_ID,
    parameter_values: Mapping[str, Any] | None = None,
) -> dict[str, Any]:
    """The shipped macro core: ``sfn_exact_version.transform.transform(...).template``."""
    from sfn_exact_version.transform import transform

    values = dict(parameter_values or {})
    return transform(fragment, parameter_values=values, region=region, account_id=account_id).template


def prepare_template(
    day_dir: Path,
    *,
    s3: Any,
    use_macro: bool,
    transform: Transform | None = None,
    region: str = REGION,
    account_id: str = ACCOUNT_ID,
) -> dict[str, Any]:
    """``day_dir/template.yaml`` -> packaged -> SAM -> the macro, as CloudFormation would run them.

    Uses the offline pipeline's helpers (``sfn_exact_version.offline``: ``load_template``,
    ``package_template``, ``sam_translate``, ``macro_fragment``). With ``use_macro=False`` the
    ``SfnExactVersion`` step is skipped and everything else is the same: that is the negative control.
    """
    from sfn_exact_version.offline.template_io import load_template

    return prepare_fragment(
        load_template(day_dir / "template.yaml"),
        day_dir,
        s3=s3,
        use_macro=use_macro,
        transform=transform,
        region=region,
        account_id=account_id,
    )


def prepare_fragment(
    template: dict[str, Any],
    base_dir: Path,
    *,
    s3: Any,
    use_macro: bool = True,
    transform: Transform | None = None,
    region: str = REGION,
    account_id: str = ACCOUNT_ID,
    parameter_values: Mapping[str, Any] | None = None,
) -> dict[str, Any]:
    """A loaded template (local code paths relative to ``base_dir``) -> packaged -> SAM -> the macro.

    The macro runs only when the template's ``Transform`` names ``SfnExactVersion`` (and ``use_macro``).
    ``parameter_values`` are the stack's parameter values, as CloudFormation hands them to SAM and the
    macro (defaults filled in); without them, SAM and the macro get none.
    """
    from sfn_exact_version.offline.packaging import package_template
    from sfn_exact_version.offline.sam import SAM_TRANSFORM as SAM
    from sfn_exact_version.offline.sam import macro_fragment, sam_translate, transform_names

    packaged = package_template(template, base_dir)
    upload_artifacts(packaged, base_dir, s3)
    template = packaged.template
    if SAM in transform_names(template):
        values = _with_defaults(template, parameter_values)
        template = sam_translate(template, parameter_values=values, region=region, account_id=account_id)
    remaining = transform_names(template)
    if remaining not in ([], [MACRO_NAME]):
        raise SimulationError(f"{base_dir}: transforms not simulated: {remaining}")
    fragment = macro_fragment(template)
    if use_macro and remaining:
        values = _with_defaults(fragment, parameter_values)
        macro = transform or (
            lambda f: real_transform(f, region=region, account_id=account_id, parameter_values=values)
        )
        fragment = macro(fragment)
    return fragment


def _with_defaults(template: Mapping[str, Any], values: Mapping[str, Any] | None) -> dict[str, Any]:
    """The stack's parameter values with the template's defaults filled in; ``{}`` when none were given
    (the stories that predate parameter support keep translating exactly as before)."""
    if values is None:
        return {}
    defaults = {
        name: parameter["Default"]
        for name, parameter in (template.get("Parameters") or {}).items()
        if "Default" in parameter
    }
    return {**defaults, **values}


# --------------------------------------------------------------------------------------------------
# Executions
# --------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class ExecutionSummary:
    """What an execution did, read from ``describe_execution`` and ``get_execution_history``."""

    label: str
    arn: str
    status: str
    invoked: tuple[str, ...]  # the FunctionName (plus ":Qualifier" when given) of each Lambda task
    answers: tuple[Any, ...]  # the Payload each Lambda task returned
    error: str | None
    cause: str | None
    output: Any

    @property
    def invoked_version(self) -> str | None:
        """The qualifier of the single function invoked (``None`` for an unqualified ARN)."""
        if len(self.invoked) != 1:
            return None
        tail = self.invoked[0].split(":function:", 1)[-1]
        return tail.split(":", 1)[1] if ":" in tail else None


def summarize_execution(sfn: Any, arn: str, label: str) -> ExecutionSummary:
    described = sfn.describe_execution(executionArn=arn)
    events = sfn.get_execution_history(executionArn=arn, maxResults=1000)["events"]
    invoked: list[str] = []
    answers: list[Any] = []
    error = cause = None
    for event in events:
        details = event.get("taskScheduledEventDetails")
        if details and details.get("resourceType") == "lambda":
            parameters = json.loads(details["parameters"])
            target = parameters["FunctionName"]
            if parameters.get("Qualifier"):
                target = f"{target}:{parameters['Qualifier']}"
            invoked.append(target)
        legacy = event.get("lambdaFunctionScheduledEventDetails")
        if legacy:
            invoked.append(legacy["resource"])
        succeeded = event.get("taskSucceededEventDetails")
        if succeeded and succeeded.get("resourceType") == "lambda":
            answers.append(json.loads(succeeded["output"]).get("Payload"))
        failed = event.get("executionFailedEventDetails")
        if failed:
            error, cause = failed.get("error"), failed.get("cause")
    output = json.loads(described["output"]) if described.get("output") else None
    return ExecutionSummary(
        label, arn, described["status"], tuple(invoked), tuple(answers), error, cause, output
    )


def has_called_lambda(sfn: Any, arn: str) -> bool:
    events = sfn.get_execution_history(executionArn=arn, maxResults=1000)["events"]
    return any(e["type"] in ("TaskScheduled", "LambdaFunctionScheduled") for e in events)


# --------------------------------------------------------------------------------------------------
# The story
# --------------------------------------------------------------------------------------------------


@dataclass
class StoryResult:
    """Everything the tests and the demo need to tell what happened."""

    use_macro: bool
    day1: DeployReport
    day2: DeployReport
    execution1: ExecutionSummary
    execution2: ExecutionSummary
    invocations: list[Invocation]
    day1_version_arn: str | None  # Ref of the Version resource deployed on day 1 (macro only)
    day2_version_arn: str | None
    function_versions_after_day2: dict[str, str]  # version -> CodeSha256, as Lambda lists them
    role_allows_day1_version_after_day2: bool | None
    execution1_was_waiting_during_day2: bool


Event = Callable[[str], None]


def _version_refs(stack: SimStack, function_logical_id: str) -> list[Deployed]:
    return [
        d
        for d in stack.resources.values()
        if d.type == "AWS::Lambda::Version"
        and d.properties.get("FunctionName") == stack.ref(function_logical_id)
    ]


# The AWS managed policies the simulated IAM knows (the ones SAM attaches to generated roles). moto would
# load all of them (over a thousand) into every IAM backend, which costs seconds per simulation; a role
# naming another one fails to deploy (moto: "does not exist or is not attachable"), it is never guessed.
AWS_MANAGED_POLICIES = frozenset(
    {
        "AWSLambdaBasicExecutionRole",
        "AWSLambdaVPCAccessExecutionRole",
        "AWSXrayWriteOnlyAccess",
        "AWSXRayDaemonWriteAccess",
        "AWSLambdaRole",
        "AWSLambdaSQSQueueExecutionRole",
        "AWSLambdaDynamoDBExecutionRole",
        "AWSLambdaKinesisExecutionRole",
        "CloudWatchLambdaInsightsExecutionRolePolicy",
    }
)
_MANAGED_SUBSETS: dict[frozenset[str], str] = {}


@contextmanager
def _only_managed_policies(names: frozenset[str]) -> Iterator[None]:
    from unittest import mock

    import moto.iam.models as iam_models

    if names not in _MANAGED_SUBSETS:
        every = json.loads(iam_models.aws_managed_policies_data)
        _MANAGED_SUBSETS[names] = json.dumps({k: v for k, v in every.items() if k in names})
    with mock.patch.object(iam_models, "aws_managed_policies_data", _MANAGED_SUBSETS[names]):
        yield


@contextmanager
def simulated_aws(region: str = REGION, *, managed_policies: bool = True) -> Iterator[dict[str, Any]]:
    """moto with Step Functions execution on, AWS managed policies loaded, the Lambda code bridge, Lambda's
    publishing rule, and IAM checked at invoke time.

    Yields the boto3 clients and the bridge (``clients["bridge"]``). Every Lambda call an execution makes
    is authorized against the role the execution started with (``RoleAuthorizer``); set
    ``clients["bridge"].authorizer = None`` to switch that off. Only the AWS managed policies in
    ``AWS_MANAGED_POLICIES`` are loaded (SAM attaches ``AWSLambdaBasicExecutionRole``);
    ``managed_policies=False`` loads none.
    """
    require_moto()
    import boto3
    from moto import mock_aws

    config = {
        "stepfunctions": {"execute_state_machine": True},
        "iam": {"load_aws_managed_policies": managed_policies},
    }
    with (
        mock_aws(config=config),
        _only_managed_policies(AWS_MANAGED_POLICIES),
        LambdaCodeBridge() as bridge,
        LambdaPublishRule(),
    ):
        clients: dict[str, Any] = {
            name: boto3.client(name, region_name=region) for name in ("iam", "lambda", "stepfunctions", "s3")
        }
        bridge.authorizer = RoleAuthorizer(clients["iam"])
        clients["bridge"] = bridge
        yield clients


def run_story(
    *,
    use_macro: bool = True,
    wait_seconds: int = 2,
    example_dir: Path = EXAMPLE_DIR,
    transform: Transform | None = None,
    template_hook: Callable[[dict[str, Any], str], dict[str, Any]] | None = None,
    on_event: Event | None = None,
    on_tick: Callable[[], None] | None = None,
    timeout: float = 60,
    poll: float = 0.2,
) -> StoryResult:
    """Deploy day 1, start execution 1 (waits ``wait_seconds``), deploy day 2, start execution 2, wait.

    ``transform`` replaces the real macro (tests); ``template_hook(template, "day1"|"day2")`` edits the
    template just before it is deployed (e.g. to remove the IAM widening); ``on_event`` receives timeline
    lines, ``on_tick`` is called at each poll while waiting.

    Example::

        result = run_story(use_macro=False, wait_seconds=2)
        result.execution1.status  # "FAILED": it ran day 2's code
    """
    if not isinstance(wait_seconds, int) or wait_seconds < 1:
        raise SimulationError(
            f"wait_seconds must be a whole number >= 1 (ASL SecondsPath), not {wait_seconds!r}"
        )
    say = on_event or (lambda text: None)
    with simulated_aws() as clients:
        sfn, lam, iam, s3 = clients["stepfunctions"], clients["lambda"], clients["iam"], clients["s3"]
        bridge: LambdaCodeBridge = clients["bridge"]
        stack = SimStack("bluegreen", clients)

        def prepared(day: str) -> dict[str, Any]:
            template = prepare_template(example_dir / day, s3=s3, use_macro=use_macro, transform=transform)
            return template_hook(template, day) if template_hook else template

        macro = "SAM and SfnExactVersion" if use_macro else "SAM only"
        say(f"Day 1: packaging, translating ({macro}) and deploying {example_dir.name}/day1")
        day1 = stack.deploy(prepared("day1"), "day1")
        machine_ids = [
            d.logical_id for d in stack.resources.values() if d.type == "AWS::StepFunctions::StateMachine"
        ]
        function_ids = [d.logical_id for d in stack.resources.values() if d.type == "AWS::Lambda::Function"]
        if len(machine_ids) != 1 or len(function_ids) != 1:
            raise SimulationError(
                f"expected one state machine and one function, got {machine_ids} {function_ids}"
            )
        machine_arn, function_id = stack.ref(machine_ids[0]), function_ids[0]
        day1_versions = _version_refs(stack, function_id)
        day1_version_arn = day1_versions[0].physical_id if len(day1_versions) == 1 else None
        say(f"Day 1 deployed: {_describe_deploy(day1)}")
        if day1_version_arn:
            say(f"  {function_id} is pinned to {day1_version_arn}")

        started: list[str] = []
        try:
            exec1 = sfn.start_execution(
                stateMachineArn=machine_arn,
                name="execution-1",
                input=json.dumps({"waitSeconds": wait_seconds}),
            )["executionArn"]
            started.append(exec1)
            say(f"Execution 1 started (waits {wait_seconds} s before asking hello)")

            day2 = stack.deploy(prepared("day2"), "day2")
            status = sfn.describe_execution(executionArn=exec1)["status"]
            if status != "RUNNING":
                raise SimulationError(f"execution 1 ended ({status}) before day 2 was deployed")
            waiting = not has_called_lambda(sfn, exec1)
            if not waiting:
                raise SimulationError(
                    f"execution 1 called hello before day 2 was deployed; the story needs a longer wait "
                    f"than {wait_seconds} s on this machine"
                )
            day2_versions = [
                d for d in _version_refs(stack, function_id) if d.physical_id != day1_version_arn
            ]
            day2_version_arn = day2_versions[0].physical_id if len(day2_versions) == 1 else None
            say(f"Day 2 deployed while execution 1 waits: {_describe_deploy(day2)}")
            if day2_version_arn:
                say(f"  {function_id} is pinned to {day2_version_arn}")

            exec2 = sfn.start_execution(
                stateMachineArn=machine_arn, name="execution-2", input=json.dumps({"waitSeconds": 0})
            )["executionArn"]
            started.append(exec2)
            say("Execution 2 started")

            labels = {exec1: "Execution 1", exec2: "Execution 2"}
            summaries: dict[str, ExecutionSummary] = {}
            deadline = time.monotonic() + timeout
            while len(summaries) < 2:
                for arn in (exec2, exec1):
                    if (
                        arn not in summaries
                        and sfn.describe_execution(executionArn=arn)["status"] != "RUNNING"
                    ):
                        summaries[arn] = summarize_execution(sfn, arn, labels[arn])
                        say(_describe_execution(summaries[arn], bridge.invocations))
                if len(summaries) == 2:
                    break
                if time.monotonic() > deadline:
                    raise SimulationError(f"executions still running after {timeout:g} s")
                if on_tick:
                    on_tick()
                time.sleep(poll)
        finally:
            for arn in started:  # never leave an execution thread running once moto stops
                if sfn.describe_execution(executionArn=arn)["status"] == "RUNNING":
                    sfn.stop_execution(executionArn=arn)

        versions = {
            v["Version"]: v["CodeSha256"]
            for v in lam.list_versions_by_function(FunctionName=stack.ref(function_id))["Versions"]
            if v["Version"] != "$LATEST"
        }
        role_name = sfn.describe_state_machine(stateMachineArn=machine_arn)["roleArn"].rsplit("/", 1)[-1]
        return StoryResult(
            use_macro=use_macro,
            day1=day1,
            day2=day2,
            execution1=summaries[exec1],
            execution2=summaries[exec2],
            invocations=list(bridge.invocations),
            day1_version_arn=day1_version_arn,
            day2_version_arn=day2_version_arn,
            function_versions_after_day2=versions,
            role_allows_day1_version_after_day2=(
                role_allows_invoke(iam, role_name, day1_version_arn) if day1_version_arn else None
            ),
            execution1_was_waiting_during_day2=waiting,
        )


def _describe_deploy(report: DeployReport) -> str:
    parts = []
    for name in ("created", "updated", "replaced", "deleted", "retained"):
        items = getattr(report, name)
        if items:
            parts.append(f"{name} {', '.join(items)}")
    return "; ".join(parts) or "no changes"


def _describe_execution(summary: ExecutionSummary, invocations: list[Invocation]) -> str:
    target = summary.invoked[0] if summary.invoked else "nothing"
    answer = f", hello answered {summary.answers[0]!r}" if summary.answers else ""
    ran = [i for i in invocations if i.function_arn == target]
    if not ran:
        code = ""
    elif ran[0].version == "$LATEST":
        code = " (unqualified: runs whatever code the function has now)"
    else:
        code = f" (ran the code of version {ran[0].version})"
    end = summary.status + (f": {summary.error}" if summary.error else "")
    return f"{summary.label} {end} - invoked {target}{code}{answer}"


def story_matches_promise(result: StoryResult) -> list[str]:
    """The blue-green promise, checked: an empty list when it holds, else what broke.

    Example::

        assert story_matches_promise(run_story()) == []
    """
    problems = []
    e1, e2 = result.execution1, result.execution2
    if not result.execution1_was_waiting_during_day2:
        problems.append("day 2 was not deployed while execution 1 was waiting")
    if e1.status != "SUCCEEDED":
        problems.append(f"execution 1 {e1.status} ({e1.error}: {e1.cause})")
    if e2.status != "SUCCEEDED":
        problems.append(f"execution 2 {e2.status} ({e2.error}: {e2.cause})")
    if e1.answers != ("Approved",):
        problems.append(f"execution 1 got {e1.answers}, expected ('Approved',)")
    if e2.answers != ("ThumbsUp",):
        problems.append(f"execution 2 got {e2.answers}, expected ('ThumbsUp',)")
    if not result.day1_version_arn or e1.invoked != (result.day1_version_arn,):
        problems.append(
            f"execution 1 invoked {e1.invoked}, expected the day-1 version {result.day1_version_arn}"
        )
    if not result.day2_version_arn or e2.invoked != (result.day2_version_arn,):
        problems.append(
            f"execution 2 invoked {e2.invoked}, expected the day-2 version {result.day2_version_arn}"
        )
    if e1.invoked_version == e2.invoked_version:
        problems.append("both executions invoked the same version")
    if result.role_allows_day1_version_after_day2 is not True:
        problems.append("after day 2 the state machine role no longer allows invoking the day-1 version")
    return problems
