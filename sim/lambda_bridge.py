"""Run Lambda code in moto without Docker: each invoked version runs its own handler, in-process.

moto 5.2.5's invoke path: ``LambdaResponse.invoke`` -> ``LambdaBackend.invoke(name, qualifier)`` ->
``get_function(name, qualifier)`` (the copy of the function that ``publish_version`` stored, or
``$LATEST``) -> ``LambdaFunction.invoke`` -> ``LambdaFunction._invoke_lambda(event)``, which would start a
Docker container. Only ``_invoke_lambda`` is replaced, and only while a ``LambdaCodeBridge`` is entered.
Step Functions (``execute_state_machine``) reaches the same path: its Lambda task calls
``boto3.client("lambda").invoke(FunctionName=<the ARN in the definition>, ...)``, which moto intercepts.

moto is pinned (``MOTO_VERSION``) because the patched method is private.
"""

from __future__ import annotations

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
from collections.abc import Callable
from contextlib import ExitStack
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


class LambdaCodeBridge:
    """Run the handler of the exact function object moto resolved for an ``Invoke``, without Docker.

    moto 5.2.5's invoke path: ``LambdaResponse.invoke`` -> ``LambdaBackend.invoke(name, qualifier)`` ->
    ``get_function(name, qualifier)`` (the version copy made by ``publish_version``, or ``$LATEST``) ->
    ``LambdaFunction.invoke`` -> ``LambdaFunction._invoke_lambda(event)``, which would start a Docker
    container. Only ``_invoke_lambda`` is replaced; it must return ``(payload, errored, logs)``.

    ``authorizer(function_arn) -> reason or None`` is asked first; a reason becomes an
    ``AccessDeniedException`` (HTTP 403), which Step Functions reports as ``Lambda.AccessDeniedException``.

    Example::

        with LambdaCodeBridge() as bridge:
            ...  # create functions, publish versions, run executions
        bridge.invocations  # what ran
    """

    def __init__(self, authorizer: Callable[[str], str | None] | None = None) -> None:
        self.authorizer = authorizer
        self.invocations: list[Invocation] = []
        self._lock = threading.Lock()
        self._stack = ExitStack()
        self._code_dirs: dict[str, Path] = {}
        self._handlers: dict[tuple[str, str], Callable[..., Any]] = {}
        self._workdir: Path | None = None

    def __enter__(self) -> LambdaCodeBridge:
        require_moto()
        from moto.awslambda.models import LambdaFunction

        self._workdir = Path(self._stack.enter_context(tempfile.TemporaryDirectory(prefix="sim-lambda-")))
        bridge = self

        def _invoke_lambda(fn: Any, event: Any = None) -> tuple[str, bool, str]:
            return bridge._run(fn, event)

        self._stack.enter_context(mock.patch.object(LambdaFunction, "_invoke_lambda", _invoke_lambda))
        return self

    def __exit__(self, *exc_info: object) -> None:
        self._stack.close()

    def _run(self, fn: Any, event: Any) -> tuple[str, bool, str]:
        from moto.awslambda.exceptions import LambdaClientError

        started = time.monotonic()
        arn = fn.function_arn
        version = str(fn.version)
        reason = self.authorizer(arn) if self.authorizer else None
        if reason:
            self._record(
                Invocation(arn, fn.function_name, version, fn.code_sha_256, None, None, reason, started)
            )
            error = LambdaClientError("AccessDeniedException", reason)
            error.code = 403
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
                Invocation(arn, fn.function_name, version, fn.code_sha_256, None, repr(exc), None, started)
            )
            body = {
                "errorMessage": str(exc),
                "errorType": type(exc).__name__,
                "stackTrace": traceback.format_exception(exc),
            }
            return json.dumps(body), True, ""
        self._record(Invocation(arn, fn.function_name, version, fn.code_sha_256, result, None, None, started))
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


class RoleAuthorizer:
    """Authorizer for ``LambdaCodeBridge``: is the state machine's role allowed to invoke this ARN *now*?

    The role is read from the state machine each time (``describe_state_machine``), and its policies from
    moto's IAM, so a deploy that changes them in the middle of an execution takes effect at once, as in AWS.
    """

    def __init__(self, iam: Any, sfn: Any, state_machine_arn: str) -> None:
        self.iam = iam
        self.sfn = sfn
        self.state_machine_arn = state_machine_arn

    def __call__(self, function_arn: str) -> str | None:
        role_arn = self.sfn.describe_state_machine(stateMachineArn=self.state_machine_arn)["roleArn"]
        role_name = role_arn.rsplit("/", 1)[-1]
        if role_allows_invoke(self.iam, role_name, function_arn):
            return None
        return (
            f"User: {role_arn} is not authorized to perform: lambda:InvokeFunction on resource: "
            f"{function_arn} because no identity-based policy allows the lambda:InvokeFunction action"
        )
