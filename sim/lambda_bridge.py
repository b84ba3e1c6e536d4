"""Run Lambda code in moto without Docker: each invoked version runs its own handler, in-process.

moto 5.2.5's invoke path: ``LambdaResponse.invoke`` -> ``LambdaBackend.invoke(name, qualifier)`` ->
``get_function(name, qualifier)`` (the copy of the function that ``publish_version`` stored, or
``$LATEST``) -> ``LambdaFunction.invoke`` -> ``LambdaFunction._invoke_lambda(event)``, which would start a
Docker container. Only ``_invoke_lambda`` is replaced, and only while a ``LambdaCodeBridge`` is entered.
Step Functions (``execute_state_machine``) reaches the same path: its Lambda task calls
``boto3.client("lambda").invoke(FunctionName=<the ARN in the definition>, ...)``, which moto intercepts.

Two more of moto's rules are replaced by AWS's while a bridge is entered (each one private, hence the pin):

* Which execution calls: Step Functions' Lambda task runs in the execution's own worker thread and calls
  ``lambda_eval_utils.execute_lambda_function_integration(env, ...)``. The bridge wraps that function to
  note the calling execution and the role ARN it *started* with (``env.aws_execution_details``, which moto
  fills from the state machine at ``StartExecution``), so the authorizer evaluates that role's current
  policies, as AWS does: an execution keeps its role ARN, the role's policies are live.
* When Lambda publishes (``LambdaPublishRule``): moto publishes whenever the function was updated since the
  last ``PublishVersion``, even to the same code and configuration. Lambda publishes only when the code
  hash or a version-locked setting differs from the latest published version.

moto is pinned (``MOTO_VERSION``) because the patched methods are private.
"""

from __future__ import annotations

import copy
import hashlib
import importlib.util
import io
import json
import sys
import tempfile
import threading
import time
import traceback
import types
import zipfile
from collections.abc import Callable, Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from unittest import mock

from sim.errors import MotoVersionError, SimulationError
from sim.iam_policy import role_allows_invoke

MOTO_VERSION = "5.2.5"


def require_moto() -> None:
    """Raise ``MotoVersionError`` unless moto ``MOTO_VERSION`` is importable.

    The bridge patches a private moto method, so it is pinned to the version it was checked against.
    """
    try:
        import moto
    except ImportError as error:
        raise MotoVersionError(
            f"moto=={MOTO_VERSION} is not installed: pip install 'moto[all]=={MOTO_VERSION}'"
        ) from error
    if moto.__version__ != MOTO_VERSION:
        raise MotoVersionError(
            f"the blue-green simulation is pinned to moto=={MOTO_VERSION} (it patches moto's Lambda "
            f"invocation internals); found moto {moto.__version__}. Install moto[all]=={MOTO_VERSION}."
        )


@dataclass(frozen=True)
class Caller:
    """The execution that made a Lambda call, and the role ARN it started with."""

    execution_arn: str
    role_arn: str


_CALLER = threading.local()


def current_caller() -> Caller | None:
    """The Step Functions execution whose Lambda task is invoking now (``None`` for a direct API call)."""
    caller: Caller | None = getattr(_CALLER, "caller", None)
    return caller


@dataclass(frozen=True)
class Invocation:
    """One call that reached the bridge: which function object moto resolved, and what its code did."""

    function_arn: str  # as moto resolved it: qualified for a version, unqualified for $LATEST
    function_name: str
    version: str  # "1", "2", ... or "$LATEST"
    code_sha256: str
    result: Any
    error: str | None
    denied: str | None  # the reason, when the authorizer refused the call
    at: float
    execution_arn: str | None = None  # the calling execution, None for a direct Invoke


class LambdaCodeBridge:
    """Run the handler of the exact function object moto resolved for an ``Invoke``, without Docker.

    ``LambdaBackend.invoke`` is wrapped to ask the authorizer first (IAM comes before the function is
    looked up, as in AWS). moto 5.2.5's invoke path: ``LambdaResponse.invoke`` ->
    ``LambdaBackend.invoke(name, qualifier)`` ->
    ``get_function(name, qualifier)`` (the version copy made by ``publish_version``, or ``$LATEST``) ->
    ``LambdaFunction.invoke`` -> ``LambdaFunction._invoke_lambda(event)``, which would start a Docker
    container. ``_invoke_lambda`` is replaced; it must return ``(payload, errored, logs)``. A function
    whose execution role no longer exists does not run (Lambda cannot assume the role).

    ``authorizer(function_arn, caller) -> reason or None`` is asked first (``caller`` is the calling
    execution with the role ARN it started with, or ``None`` for a direct ``Invoke``); a reason becomes an
    ``AccessDeniedException`` (HTTP 403), which Step Functions reports as ``Lambda.AccessDeniedException``.

    Example::

        with LambdaCodeBridge() as bridge:
            ...  # create functions, publish versions, run executions
        bridge.invocations  # what ran
    """

    def __init__(self, authorizer: Callable[[str, Caller | None], str | None] | None = None) -> None:
        self.authorizer = authorizer
        self.invocations: list[Invocation] = []
        self._lock = threading.Lock()
        self._stack = ExitStack()
        self._code_dirs: dict[str, Path] = {}
        self._handlers: dict[tuple[str, str], Callable[..., Any]] = {}
        self._workdir: Path | None = None

    def __enter__(self) -> LambdaCodeBridge:
        require_moto()
        from moto.awslambda.models import LambdaBackend, LambdaFunction

        self._workdir = Path(self._stack.enter_context(tempfile.TemporaryDirectory(prefix="sim-lambda-")))
        bridge = self

        def _invoke_lambda(fn: Any, event: Any = None) -> tuple[str, bool, str]:
            return bridge._run(fn, event)

        original_invoke = LambdaBackend.invoke

        def invoke(backend: Any, function_name: str, qualifier: str | None, *args: Any, **kwargs: Any) -> Any:
            bridge._authorize(_requested_arn(backend, function_name, qualifier))
            return original_invoke(backend, function_name, qualifier, *args, **kwargs)

        self._stack.enter_context(mock.patch.object(LambdaFunction, "_invoke_lambda", _invoke_lambda))
        self._stack.enter_context(mock.patch.object(LambdaBackend, "invoke", invoke))
        self._stack.enter_context(_note_calling_execution())
        return self

    def _authorize(self, arn: str) -> None:
        """IAM before anything else, as in AWS: a caller that may not invoke the ARN is denied whether or
        not the function exists."""
        from moto.awslambda.exceptions import LambdaClientError

        caller = current_caller()
        reason = self.authorizer(arn, caller) if self.authorizer else None
        if not reason:
            return
        tail = arn.split(":function:", 1)[-1]
        name, _, qualifier = tail.partition(":")
        by = caller.execution_arn if caller else None
        self._record(
            Invocation(arn, name, qualifier or "$LATEST", "", None, None, reason, time.monotonic(), by)
        )
        error = LambdaClientError("AccessDeniedException", reason)
        error.code = 403
        raise error

    def __exit__(self, *exc_info: object) -> None:
        self._stack.close()

    def _run(self, fn: Any, event: Any) -> tuple[str, bool, str]:
        from moto.awslambda.exceptions import LambdaClientError

        started = time.monotonic()
        arn = fn.function_arn
        version = str(fn.version)
        caller = current_caller()
        by = caller.execution_arn if caller else None
        missing_role = _execution_role_missing(fn)
        if missing_role:
            self._record(
                Invocation(
                    arn, fn.function_name, version, fn.code_sha_256, None, missing_role, None, started, by
                )
            )
            error = LambdaClientError("InvalidParameterValueException", missing_role)
            error.code = 400
            raise error
        try:
            handler = self._handler_for(fn)
            context = types.SimpleNamespace(
                function_name=fn.function_name,
                function_version=version,
                invoked_function_arn=arn,
                memory_limit_in_mb=fn.memory_size,
                aws_request_id=hashlib.sha256(f"{arn}{started}".encode()).hexdigest()[:32],
                get_remaining_time_in_millis=lambda: int(float(fn.timeout or 3) * 1000),
            )
            result = handler(event, context)
            payload = json.dumps(result)
        except Exception as exc:  # the function's own error: Lambda reports it as a function error
            self._record(
                Invocation(
                    arn, fn.function_name, version, fn.code_sha_256, None, repr(exc), None, started, by
                )
            )
            body = {
                "errorMessage": str(exc),
                "errorType": type(exc).__name__,
                "stackTrace": traceback.format_exception(exc),
            }
            return json.dumps(body), True, ""
        self._record(
            Invocation(arn, fn.function_name, version, fn.code_sha_256, result, None, None, started, by)
        )
        return payload, False, ""

    def _record(self, invocation: Invocation) -> None:
        with self._lock:
            self.invocations.append(invocation)

    def _handler_for(self, fn: Any) -> Callable[..., Any]:
        key = (fn.code_sha_256, fn.handler)
        with self._lock:
            if key in self._handlers:
                return self._handlers[key]
            if not fn.code_bytes:
                raise SimulationError(f"{fn.function_arn}: moto holds no code bytes for this function")
            code_dir = self._code_dirs.get(fn.code_sha_256)
            if code_dir is None:
                assert self._workdir is not None
                code_dir = self._workdir / hashlib.sha256(fn.code_sha_256.encode()).hexdigest()[:16]
                with zipfile.ZipFile(io.BytesIO(fn.code_bytes)) as archive:
                    archive.extractall(code_dir)
                self._code_dirs[fn.code_sha_256] = code_dir
            module_path, _, function_name = fn.handler.rpartition(".")
            source = code_dir / (module_path.replace(".", "/") + ".py")
            if not source.is_file():
                raise SimulationError(
                    f"{fn.function_arn}: handler {fn.handler!r}: no {source.name} in the code"
                )
            unique = f"_sim_lambda_{code_dir.name}_{module_path.replace('.', '_')}"
            spec = importlib.util.spec_from_file_location(unique, source)
            assert spec is not None and spec.loader is not None
            module = importlib.util.module_from_spec(spec)
            sys.path.insert(0, str(code_dir))
            try:
                spec.loader.exec_module(module)
            finally:
                sys.path.remove(str(code_dir))
            handler = getattr(module, function_name)
            self._handlers[key] = handler
            return handler


def _requested_arn(backend: Any, function_name: str, qualifier: str | None) -> str:
    """The ARN an Invoke asks for (a name, ``name:qualifier``, a partial or full ARN, plus ``Qualifier``)."""
    from moto.utilities.utils import get_partition

    if function_name.startswith("arn:"):
        arn = function_name
    elif ":function:" in function_name:
        arn = f"arn:{get_partition(backend.region_name)}:lambda:{backend.region_name}:{function_name}"
    else:
        arn = (
            f"arn:{get_partition(backend.region_name)}:lambda:{backend.region_name}:{backend.account_id}"
            f":function:{function_name}"
        )
    if qualifier and ":" not in arn.split(":function:", 1)[1]:
        arn = f"{arn}:{qualifier}"
    return arn


def _execution_role_missing(fn: Any) -> str | None:
    """Lambda assumes the function's execution role to run it: a role that no longer exists (deleted with
    a stack, while the function was retained) stops the function from running. The exact error a real
    invoke returns then is not documented; the message is the one Lambda gives for a role it cannot
    assume."""
    from moto.iam.models import iam_backends
    from moto.utilities.utils import get_partition

    role_name = str(fn.role).rsplit("/", 1)[-1]
    iam = iam_backends[fn.account_id][get_partition(fn.region)]
    if any(role.name == role_name for role in iam.get_roles()):
        return None
    return f"The role defined for the function cannot be assumed by Lambda: {fn.role} does not exist."


class RoleAuthorizer:
    """Authorizer for ``LambdaCodeBridge``: may the calling execution's role invoke this ARN *now*?

    The role is the one the execution started with (``Caller.role_arn``: an update of the state machine's
    role does not change it for running executions), and its policies are read from moto's IAM at call
    time, so a deploy that changes them in the middle of an execution takes effect at once, as in AWS.
    A direct ``Invoke`` (no execution) is the account's own call and is allowed.

    Arguments after ``iam`` (the Step Functions client and state machine ARN that an earlier version read
    the role from) are accepted and ignored: the role is the calling execution's.
    """

    def __init__(self, iam: Any, *_ignored: Any) -> None:
        self.iam = iam

    def __call__(self, function_arn: str, caller: Caller | None) -> str | None:
        if caller is None:
            return None
        role_name = caller.role_arn.rsplit("/", 1)[-1]
        if role_allows_invoke(self.iam, role_name, function_arn):
            return None
        return (
            f"User: {caller.role_arn} is not authorized to perform: lambda:InvokeFunction on resource: "
            f"{function_arn} because no identity-based policy allows the lambda:InvokeFunction action"
        )


@contextmanager
def _note_calling_execution() -> Iterator[None]:
    """Wrap moto's Lambda task integration so the bridge knows which execution (and role) calls."""
    from moto.stepfunctions.parser.asl.component.state.exec.state_task import lambda_eval_utils

    original = lambda_eval_utils.execute_lambda_function_integration

    def execute_lambda_function_integration(env: Any, *args: Any, **kwargs: Any) -> Any:
        execution = env.states.context_object.context_object_data["Execution"]
        previous = getattr(_CALLER, "caller", None)
        _CALLER.caller = Caller(execution["Id"], env.aws_execution_details.role_arn)
        try:
            return original(env, *args, **kwargs)
        finally:
            _CALLER.caller = previous

    with mock.patch.object(
        lambda_eval_utils, "execute_lambda_function_integration", execute_lambda_function_integration
    ):
        yield


# Settings of GetFunctionConfiguration that are not part of a version's identity: where the function
# lives, when and how it was changed, and code signing (CodeSigningConfigArn is not version-locked).
# Everything else moto reports (CodeSha256, Description, Handler, Runtime, Timeout, MemorySize, Role,
# Environment, Layers, VpcConfig, TracingConfig, Architectures, EphemeralStorage, PackageType, ...) is.
# Tags and reserved concurrency are not in the configuration at all. Sources: Lambda's PublishVersion
# ("Lambda doesn't publish a version if the function's configuration and code haven't changed since the
# last version"), and the version-locked property list of the AWS CDK (function-hash.ts).
_NOT_VERSION_LOCKED = frozenset(
    {
        "FunctionArn",
        "Version",
        "LastModified",
        "LastUpdateStatus",
        "State",
        "CodeSize",
        "RevisionId",
        "SigningProfileVersionArn",
        "SigningJobArn",
    }
)


def version_locked_state(fn: Any) -> str:
    """The code hash and version-locked settings of a moto function object, as one comparable string."""
    config = {k: v for k, v in fn.get_configuration().items() if k not in _NOT_VERSION_LOCKED}
    return json.dumps(config, sort_keys=True, default=str)


class LambdaPublishRule:
    """Lambda's publishing rule in moto: ``PublishVersion`` publishes only when the function's code hash
    or a version-locked setting differs from the latest published version; otherwise it returns that
    version (and CloudFormation's ``AWS::Lambda::Version`` fails, see ``sim.stack``).

    moto's own rule is "updated since the last publish": the same code uploaded under another S3 key, or a
    configuration set to the value it already had, would publish. The state compared is taken from
    ``$LATEST`` when each version is published (a version's own ``Description`` is the version's, not the
    function's, and is not part of the comparison). Version numbers are never reused, even after the
    latest version was deleted. Not known, and taken as: when the latest version was deleted, Lambda
    compares with the latest version that is left.

    Example::

        with mock_aws(), LambdaPublishRule():
            lam.update_function_code(FunctionName="f", S3Bucket="b", S3Key="same-zip-other-key")
            lam.publish_version(FunctionName="f")["Version"]  # the existing "1", as Lambda answers
    """

    def __init__(self) -> None:
        self._stack = ExitStack()

    def __enter__(self) -> LambdaPublishRule:
        require_moto()
        from moto.awslambda.models import LambdaStorage

        def publish_version(storage: Any, name_or_arn: str, description: str = "") -> Any:
            function = storage.get_function_by_name_or_arn_forbid_qualifier(name_or_arn)
            entry = storage._functions.get(function.function_name)
            if not entry or not entry["latest"]:
                return None
            versions = entry["versions"]
            state = version_locked_state(function)
            if versions:
                latest = versions[-1]
                published_state = getattr(latest, "_sim_published_state", None)
                if state == (published_state or version_locked_state(latest)):
                    return latest
            # Version numbers are never reused, even after a version is deleted (moto would count the
            # versions that are left and publish a second "2" after "1" was deleted).
            number = 1 + max([getattr(function, "_sim_last_version", 0), *(int(v.version) for v in versions)])
            published = copy.copy(function)
            published.set_version(number)
            if description:
                published.description = description
            versions.append(published)
            storage._arns[published.function_arn] = published
            setattr(published, "_sim_published_state", state)  # noqa: B010 (moto's object)
            setattr(function, "_sim_last_version", number)  # noqa: B010
            function.code_or_config_updated = False
            return published

        self._stack.enter_context(mock.patch.object(LambdaStorage, "publish_version", publish_version))
        return self

    def __exit__(self, *exc_info: object) -> None:
        self._stack.close()
