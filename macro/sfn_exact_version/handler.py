"""The Lambda handler: a thin adapter between the CloudFormation macro protocol and the pure transform.

It logs one structured summary line per request and never logs ``templateParameterValues``
or any other parameter value (they may hold ``NoEcho`` secrets).
"""

from __future__ import annotations

import json
import re
import traceback
from typing import Any

from aws_lambda_powertools import Logger

from sfn_exact_version.errors import TransformError
from sfn_exact_version.transform import transform

logger = Logger(service="sfn-exact-version")

REDACTED = "***"
# Values of other parameters shorter than this stay: "dev" or "1" hidden everywhere would garble the
# log and hide nothing. Values of NoEcho parameters are hidden whatever their length.
REDACT_FROM_LENGTH = 4


def _failure(request_id: Any, message: str) -> dict[str, Any]:
    return {"requestId": request_id, "status": "failure", "fragment": {}, "errorMessage": message}


def _secrets(event: dict[str, Any]) -> list[str]:
    """The parameter values that must never be written out, longest first."""
    values = event.get("templateParameterValues")
    if not isinstance(values, dict):
        return []
    fragment = event.get("fragment")
    declared = fragment.get("Parameters") if isinstance(fragment, dict) else None
    declared = declared if isinstance(declared, dict) else {}
    found: set[str] = set()
    for name, value in values.items():
        declaration = declared.get(name)
        no_echo = isinstance(declaration, dict) and str(declaration.get("NoEcho", "")).lower() == "true"
        for item in value if isinstance(value, list) else [value]:
            if isinstance(item, bool) or not isinstance(item, str | int | float):
                continue
            text = str(item)
            for piece in {text, *text.split(",")}:  # a CommaDelimitedList may arrive as one string
                piece = piece.strip()
                if piece and (no_echo or len(piece) >= REDACT_FROM_LENGTH):
                    found.add(piece)
    return sorted(found, key=len, reverse=True)


_JSON_ESCAPED = re.compile(r'["\\\x00-\x1f]')


def _redact(value: Any, secrets: list[str]) -> Any:
    """``value`` with every secret replaced by ``***`` (in strings at any depth)."""
    if not secrets:
        return value
    if not isinstance(value, str) and not any(_JSON_ESCAPED.search(secret) for secret in secrets):
        # One pass in C over the whole value; walking it in Python costs more when no secret is there.
        # (Only for secrets that JSON writes as they are: an escaped one would not be found in the text.)
        text = json.dumps(value, ensure_ascii=False, default=str)
        if not any(secret in text for secret in secrets):
            return value
    if isinstance(value, str):
        for secret in secrets:
            value = value.replace(secret, REDACTED)
        return value
    if isinstance(value, dict):
        return {key: _redact(item, secrets) for key, item in value.items()}
    if isinstance(value, list):
        return [_redact(item, secrets) for item in value]
    return value


def handler(event: Any, context: Any) -> dict[str, Any]:
    """Answer one macro request: ``{"requestId", "status", "fragment", "errorMessage"}``.

    Example event (abridged)::

        {"requestId": "r-1", "fragment": {"Resources": {...}}, "region": "eu-west-1",
         "accountId": "123456789012", "templateParameterValues": {...}, "params": {}}
    """
    request_id = event.get("requestId") if isinstance(event, dict) else None
    if not isinstance(event, dict):
        logger.error("macro event is not an object", extra={"eventType": type(event).__name__})
        return _failure(request_id, "SfnExactVersion: the macro event is not a JSON object.")
    log_context = {
        "requestId": request_id,
        "transformId": event.get("transformId"),
        "region": event.get("region"),
        "accountId": event.get("accountId"),
    }
    parameter_values = event.get("templateParameterValues")
    # Nothing below writes a parameter value on purpose; an exception message quoting one (int("..."),
    # KeyError(value)) or a template that repeats one must not carry it into the log either.
    secrets = _secrets(event)
    try:
        result = transform(
            event.get("fragment"),
            parameter_values=parameter_values if isinstance(parameter_values, dict) else None,
            region=event.get("region") if isinstance(event.get("region"), str) else None,
            account_id=event.get("accountId") if isinstance(event.get("accountId"), str) else None,
        )
    except TransformError as error:
        message = _redact(error.message, secrets)
        logger.warning("transform failed", extra={**log_context, "errorMessage": message})
        return _failure(request_id, message)
    except Exception as error:  # a bug of ours: fail the deploy cleanly, keep the traceback in our log
        logger.error(
            "unexpected error",
            extra={
                **log_context,
                "exception_name": type(error).__name__,
                "exception": _redact(traceback.format_exc(), secrets),
            },
        )
        return _failure(
            request_id,
            f"SfnExactVersion: unexpected internal error (requestId {request_id}); "
            "the template was not changed. See the macro function's log for the traceback.",
        )
    report = result.report
    logger.info(
        "transform succeeded",
        extra=_redact(
            {
                **log_context,
                "summary": report.summary(),
                "pinned": [p.to_dict() for p in report.pinned],
                "leftAlone": [item.to_dict() for item in report.left_alone],
                "warnings": report.warnings,
            },
            secrets,
        ),
    )
    return {"requestId": request_id, "status": "success", "fragment": result.template}
