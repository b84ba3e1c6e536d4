"""Errors raised by the pure transform. Each message names the resource, the path and the fix."""

from __future__ import annotations


class TransformError(Exception):
    """The template cannot be transformed; the message is shown to the user as ``errorMessage``.

    Example::

        raise TransformError("Resources/Sm/Properties/DefinitionString: not valid JSON ...")
    """

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


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
