"""Whether IAM statements allow an action on a resource: Allow and Deny, Action/NotAction,
Resource/NotResource and IAM wildcards (``*`` any run, ``?`` one character).

A statement with a ``Condition`` cannot be evaluated offline: an Allow with one counts as allowing (the
condition is reported by the caller when it matters), a Deny with one is ignored. Permission boundaries,
SCPs and resource policies are not read.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from functools import lru_cache

from sfn_exact_version.live.model import Statement, parse_statements

INVOKE = "lambda:InvokeFunction"


@lru_cache(maxsize=4096)
def _pattern(pattern: str, case_sensitive: bool) -> re.Pattern[str]:
    regex = re.escape(pattern).replace(r"\*", ".*").replace(r"\?", ".")
    return re.compile(regex, re.DOTALL if case_sensitive else re.DOTALL | re.IGNORECASE)


def matches(pattern: str, text: str, *, case_sensitive: bool = True) -> bool:
    """IAM wildcard match (actions compare case-insensitively, resources exactly)."""
    return _pattern(pattern, case_sensitive).fullmatch(text) is not None


def _covers(statement: Statement, action: str, resource: str) -> bool:
    if statement.actions:
        action_ok = any(matches(a, action, case_sensitive=False) for a in statement.actions)
    else:
        action_ok = not any(matches(a, action, case_sensitive=False) for a in statement.not_actions)
    if not action_ok:
        return False
    if statement.resources:
        return any(matches(r, resource) for r in statement.resources)
    return bool(statement.not_resources) and not any(matches(r, resource) for r in statement.not_resources)


def allows(statements: Iterable[Statement], action: str, resource: str) -> bool:
    """True when some Allow covers ``action`` on ``resource`` and no unconditional Deny does."""
    allowed = False
    for statement in statements:
        if not _covers(statement, action, resource):
            continue
        if statement.effect == "Deny":
            if not statement.conditional:
                return False
        elif statement.effect == "Allow":
            allowed = True
    return allowed


__all__ = ["INVOKE", "allows", "matches", "parse_statements"]
