"""Run the SAM transform offline, so the CLI can show what CloudFormation would hand the macro.

The translator is called the way cfn-lint 1.x called it (``cfnlint/template/transforms/_sam.py``):
``Translator(managed_policy_map=..., sam_parser=Parser())`` then
``translate(sam_template=..., parameter_values=..., passthrough_metadata=True)``, with the Region taken
from the AWS default mechanisms. Differences, each on purpose:

- The Region is given to the translator through a boto3 session and ``AWS_DEFAULT_REGION`` for the
  duration of the call only; both, and the translator's class-level Region, are restored afterwards.
- The managed-policy map is the one bundled with aws-sam-translator (cfn-lint 1.51 passed its own copy;
  newer cfn-lint releases no longer ship one). Names it does not know stay as written, like the service.
- Nothing is faked: parameter values are the caller's (SAM adds the template defaults), and local paths
  must already be S3 locations (see ``packaging.package_template``). The one exception is an
  ``AWS::Serverless::Application`` from the Serverless Application Repository: resolving it needs the
  network, so its ``Location`` becomes a placeholder ``TemplateURL``. Its functions are in another stack
  either way, so the macro cannot pin them.
- SAM's own resource validation is kept (cfn-lint relaxed it because it reports those problems itself).

samtranslator and boto3 are imported on first use: a plain CloudFormation template never pays for them.
"""

from __future__ import annotations

import copy
import hashlib
import json
import logging
import os
import threading
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from typing import Any

from sfn_exact_version import SAM_TRANSFORM
from sfn_exact_version.offline.errors import SamTranslateError
from sfn_exact_version.offline.template_io import to_plain

# Placeholder TemplateURL for a Serverless Application Repository application (see the module docstring).
SAR_PLACEHOLDER_URL = "https://sfn-exact-version-preview.s3.amazonaws.com/serverlessrepo/{digest}"

# The translator reads the Region from process-wide state; one translation at a time.
_LOCK = threading.Lock()


def transform_names(template: Mapping[str, Any]) -> list[Any]:
    """The template's ``Transform`` as a list (empty when there is none).

    Example::

        >>> transform_names({"Transform": "AWS::Serverless-2016-10-31"})
        ['AWS::Serverless-2016-10-31']
    """
    declared = template.get("Transform")
    if declared is None:
        return []
    if isinstance(declared, list):
        return list(declared)
    return [declared]


def macro_fragment(template: Mapping[str, Any]) -> dict[str, Any]:
    """A copy of the template without ``Transform``: the ``fragment`` CloudFormation sends a macro.

    Example::

        >>> macro_fragment({"Transform": ["SfnExactVersion"], "Resources": {}})
        {'Resources': {}}
    """
    return {key: copy.deepcopy(value) for key, value in template.items() if key != "Transform"}


def sam_translate(
    template: Mapping[str, Any],
    *,
    parameter_values: Mapping[str, Any],
    region: str,
    account_id: str,
    skip_preceding_transforms: bool = False,
) -> dict[str, Any]:
    """Translate a SAM template into plain CloudFormation, offline.

    The result has no ``AWS::Serverless::*`` resources. Its ``Transform`` lists the transforms declared
    after the SAM transform (``SfnExactVersion``, typically), in order, and is absent when there are none.
    ``parameter_values`` are stack parameter values (SAM adds the template's defaults for the others).
    ``account_id`` is handed to the translator's feature toggles; SAM itself resolves only
    ``AWS::Region`` and ``AWS::Partition``, so the account stays ``${AWS::AccountId}`` in the output,
    as in the service. The input is not modified.

    Transforms declared before the SAM transform run first in CloudFormation and cannot be run here:
    they are an error, unless ``skip_preceding_transforms`` is true (then they are left out, and the
    result shows the template as if they were not declared).

    Example::

        >>> template = {
        ...     "Transform": ["AWS::Serverless-2016-10-31", "SfnExactVersion"],
        ...     "Resources": {"MySm": {"Type": "AWS::Serverless::StateMachine", "Properties": {
        ...         "Definition": {"StartAt": "A", "States": {"A": {"Type": "Pass", "End": True}}}}}},
        ... }
        >>> out = sam_translate(template, parameter_values={}, region="eu-west-1", account_id="123456789012")
        >>> out["Resources"]["MySm"]["Type"], out["Transform"]
        ('AWS::StepFunctions::StateMachine', ['SfnExactVersion'])

    Raises ``SamTranslateError`` with every message SAM reported.
    """
    names = transform_names(template)
    if SAM_TRANSFORM not in names:
        raise SamTranslateError([f"The template does not declare the {SAM_TRANSFORM} transform."])
    position = names.index(SAM_TRANSFORM)
    preceding, following = names[:position], names[position + 1 :]
    if preceding and not skip_preceding_transforms:
        listed = ", ".join(str(name) for name in preceding)
        raise SamTranslateError(
            [
                f"Transform lists {listed} before {SAM_TRANSFORM}. CloudFormation runs it first, and it "
                "cannot be run offline, so the result would not be what the macro receives. "
                "Preview the template without it, or deploy to see the real result."
            ]
        )

    sam_input = to_plain(template)
    sam_input["Transform"] = SAM_TRANSFORM
    _replace_repository_locations(sam_input)
    translated = _run_translator(sam_input, dict(parameter_values), region, account_id)
    return _with_transforms(template, to_plain(translated), following)


def _run_translator(
    sam_input: dict[str, Any], parameter_values: dict[str, Any], region: str, account_id: str
) -> dict[str, Any]:
    import boto3
    from samtranslator.feature_toggle.feature_toggle import (
        FeatureToggle,
        FeatureToggleDefaultConfigProvider,
    )
    from samtranslator.metrics.metrics import DummyMetricsPublisher, Metrics
    from samtranslator.model.exceptions import ExceptionWithMessage
    from samtranslator.parser.parser import Parser
    from samtranslator.translator.translator import Translator

    with _LOCK, _default_region(region), _quiet_translator_log():
        session = boto3.session.Session(region_name=region)
        metrics = Metrics("ServerlessTransform", DummyMetricsPublisher())
        translator = Translator(
            managed_policy_map=None, sam_parser=Parser(), boto_session=session, metrics=metrics
        )
        toggles = FeatureToggle(
            FeatureToggleDefaultConfigProvider(), stage=None, account_id=account_id, region=region
        )
        try:
            result: dict[str, Any] = translator.translate(
                sam_template=sam_input,
                parameter_values=parameter_values,
                feature_toggle=toggles,
                passthrough_metadata=True,
            )
        except ExceptionWithMessage as error:
            raise SamTranslateError(_messages(error)) from error
        finally:
            metrics.publish()  # to the dummy publisher; otherwise SAM warns about unpublished metrics
    return result


@contextmanager
def _quiet_translator_log() -> Iterator[None]:
    """Silence the translator's log (feature-toggle and metrics chatter) during the call, as cfn-lint
    does; its problems arrive as exceptions."""
    logger = logging.getLogger("samtranslator")
    saved_level = logger.level
    logger.setLevel(logging.CRITICAL)
    try:
        yield
    finally:
        logger.setLevel(saved_level)


@contextmanager
def _default_region(region: str) -> Iterator[None]:
    """Set the Region for boto3 and the translator's ARN generator; restore both afterwards."""
    from samtranslator.translator.arn_generator import ArnGenerator

    saved_env = os.environ.get("AWS_DEFAULT_REGION")
    saved_class_region = ArnGenerator.BOTO_SESSION_REGION_NAME
    os.environ["AWS_DEFAULT_REGION"] = region
    try:
        yield
    finally:
        ArnGenerator.BOTO_SESSION_REGION_NAME = saved_class_region
        if saved_env is None:
            os.environ.pop("AWS_DEFAULT_REGION", None)
        else:
            os.environ["AWS_DEFAULT_REGION"] = saved_env


def _messages(error: Any) -> list[str]:
    """Every message of a SAM exception; ``InvalidDocumentException`` holds one cause per problem."""
    causes = getattr(error, "causes", None)
    if causes:
        messages: list[str] = []
        for cause in causes:
            messages.extend(_messages(cause))
        return messages
    return [str(getattr(error, "message", error))]


def _replace_repository_locations(sam_input: dict[str, Any]) -> None:
    """Give Serverless Application Repository applications a placeholder URL (no network offline)."""
    resources = sam_input.get("Resources")
    if not isinstance(resources, dict):
        return
    for resource in resources.values():
        if not isinstance(resource, dict) or resource.get("Type") != "AWS::Serverless::Application":
            continue
        properties = resource.get("Properties")
        if not isinstance(properties, dict):
            continue
        location = properties.get("Location")
        if isinstance(location, dict) and "ApplicationId" in location:
            text = json.dumps(location, sort_keys=True)
            digest = hashlib.sha256(text.encode("utf-8")).hexdigest()
            properties["Location"] = SAR_PLACEHOLDER_URL.format(digest=digest)


def _with_transforms(
    original: Mapping[str, Any], translated: dict[str, Any], following: list[Any]
) -> dict[str, Any]:
    """Put back the transforms that follow SAM, where ``Transform`` stood; keep the section order."""
    result: dict[str, Any] = {}
    for key in original:
        if key == "Transform":
            if following:
                result["Transform"] = following
        elif key in translated:
            result[key] = translated[key]
    for key, value in translated.items():
        if key not in result and key != "Transform":
            result[key] = value
    return result
