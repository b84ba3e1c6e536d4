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
