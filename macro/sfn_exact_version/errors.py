"""Errors raised by the pure transform. Each problem names the resource, the path and the fix, as text and
as data."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from enum import StrEnum


class ProblemReason(StrEnum):
    """Why the template cannot be transformed. Stable strings, like the report's reasons."""

    TEMPLATE = "template"  # the template's shape: not an object, no Resources, a resource without Type...
    SERVERLESS = "serverless-resource"  # AWS::Serverless::* resources: the macro is listed before SAM
    DEFINITION = "definition"  # a state machine definition the macro cannot read
    TOO_DEEP = "too-deep"  # nested deeper than a limit of the macro
    SEVERAL_VERSIONS = "several-versions"  # a called function has several versions
    SHARED_NAME = "shared-name"  # a call names a FunctionName several functions set
    LOGICAL_ID_TAKEN = "logical-id-taken"  # the logical ID a created version needs is taken
    DEPENDENCY_CYCLE = "dependency-cycle"  # pinning a call would close a dependency cycle
    RESOURCE_LIMIT = "resource-limit"  # the output would pass CloudFormation's 500 resources
    SIZE_LIMIT = "size-limit"  # the output would pass CloudFormation's 1 MB processed template
    OPTIONS = "options"  # a resource's Metadata.SfnExactVersion the macro cannot read
    OTHER = "other"  # a TransformError raised with a message only


@dataclass(frozen=True)
class Problem:
    """One problem: where (``path``, e.g. ``Resources/Sm/Properties/DefinitionString``, empty for the
    template as a whole), why, and what to do.

    >>> where = "Resources/Sm/Properties/Definition"
    >>> problem = Problem.at(ProblemReason.DEFINITION, where, "must be an object.")
    >>> problem.resource, problem.message
    ('Sm', 'Resources/Sm/Properties/Definition: must be an object.')
    """

    reason: ProblemReason
    path: str
    message: str  # the whole text shown to the user, fix included
    fix: str = ""  # the fix alone, when there is one

    @classmethod
    def at(cls, reason: ProblemReason, path: str, text: str, fix: str = "") -> Problem:
        """A problem whose message is ``"<path>: <text> <fix>"`` (``"<text> <fix>"`` without a path)."""
        message = f"{path}: {text}" if path else text
        return cls(reason, path, f"{message} {fix}" if fix else message, fix)

    @property
    def resource(self) -> str | None:
        """The logical ID the path points into, or None for the template as a whole."""
        parts = self.path.split("/")
        return parts[1] if len(parts) > 1 and parts[0] == "Resources" else None

    def to_dict(self) -> dict[str, str | None]:
        """Plain data, e.g. for a JSON report of a failure."""
        return {
            "Path": self.path,
            "Resource": self.resource,
            "Reason": self.reason.value,
            "Message": self.message,
            "Fix": self.fix,
        }


class TransformError(Exception):
    """The template cannot be transformed. ``problems`` holds each problem as data; ``message`` is their
    messages joined, shown to the user as ``errorMessage``.

    Example::

        raise TransformError(problems=[Problem.at(ProblemReason.DEFINITION, path, "not valid JSON ...", fix)])
        raise TransformError("Resources/Sm/Properties/DefinitionString: not valid JSON ...")  # reason OTHER
    """

    def __init__(self, message: str = "", *, problems: Sequence[Problem] = ()) -> None:
        if not problems:
            problems = (Problem(ProblemReason.OTHER, "", message),)
        if not message:
            message = " ".join(problem.message for problem in problems)
        super().__init__(message)
        self.message = message
        self.problems: tuple[Problem, ...] = tuple(problems)


def fail(reason: ProblemReason, path: str, text: str, fix: str = "") -> TransformError:
    """A TransformError with one problem (see :meth:`Problem.at`)."""
    return TransformError(problems=[Problem.at(reason, path, text, fix)])


def json_type(value: object) -> str:
    """The JSON name of a value's type, for messages: ``object``, ``array``, ``string``, ``number``...

    >>> json_type([1])
    'array'
    """
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, int | float):
        return "number"
    if isinstance(value, str):
        return "string"
    if isinstance(value, list):
        return "array"
    if isinstance(value, dict):
        return "object"
    return type(value).__name__
