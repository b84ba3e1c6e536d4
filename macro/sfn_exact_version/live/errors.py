"""Errors of the account reader. Each carries a user-facing ``message``."""

from __future__ import annotations


class LiveReadError(Exception):
    """The account cannot be read: credentials, Region, a missing stack, throttling that outlasted the
    retries, or any other AWS error.

    Example::

        LiveReadError("stack 'orders' does not exist in eu-west-1")
    """

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class MissingPermissionError(LiveReadError):
    """AWS refused a call: ``action`` names the IAM action to allow.

    Example::

        MissingPermissionError("states:ListExecutions", "arn:aws:states:...:stateMachine:orders")
    """

    def __init__(self, action: str, resource: str = "", detail: str = "") -> None:
        where = f" on {resource}" if resource else ""
        message = f"missing IAM permission {action}{where}: allow it to the credentials in use"
        if detail:
            message += f" (AWS said: {detail})"
        super().__init__(message)
        self.action = action
        self.resource = resource
