"""The Lambda handler: a thin adapter between the CloudFormation macro protocol and the pure transform.

It logs one structured summary line per request and never logs ``templateParameterValues``
or any other parameter value (they may hold ``NoEcho`` secrets).
"""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools import Logger

from sfn_exact_version.errors import TransformError
from sfn_exact_version.transform import transform

logger = Logger(service="sfn-exact-version")


def _failure(request_id: Any, message: str) -> dict[str, Any]:
    return {"requestId": request_id, "status": "failure", "fragment": {}, "errorMessage": message}


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
    try:
        result = transform(
            event.get("fragment"),
            parameter_values=parameter_values if isinstance(parameter_values, dict) else None,
            region=event.get("region") if isinstance(event.get("region"), str) else None,
            account_id=event.get("accountId") if isinstance(event.get("accountId"), str) else None,
        )
    except TransformError as error:
        logger.warning("transform failed", extra={**log_context, "errorMessage": error.message})
        return _failure(request_id, error.message)
    except Exception:  # a bug of ours: fail the deploy cleanly, keep the traceback in our log
        logger.exception("unexpected error", extra=log_context)
        return _failure(
            request_id,
            f"SfnExactVersion: unexpected internal error (requestId {request_id}); "
            "the template was not changed. See the macro function's log for the traceback.",
        )
    report = result.report
    logger.info(
        "transform succeeded",
        extra={
            **log_context,
            "summary": report.summary(),
            "pinned": [p.to_dict() for p in report.pinned],
            "leftAlone": [item.to_dict() for item in report.left_alone],
            "warnings": report.warnings,
        },
    )
    return {"requestId": request_id, "status": "success", "fragment": result.template}
