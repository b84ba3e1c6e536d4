"""A small IAM policy evaluator: enough to say whether a role may invoke a (qualified) Lambda ARN.

Not IAM: no conditions, principals, permission boundaries, SCPs or resource policies. Allow and Deny,
``Action``/``NotAction``, ``Resource``/``NotResource`` and the ``*``/``?`` wildcards are evaluated; a
statement with a ``Condition`` never allows (and, when it is a Deny, denies).
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from typing import Any


def as_list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else [value]


def _wildcard_match(pattern: str, value: str, *, case_sensitive: bool) -> bool:
    """IAM wildcard match: ``*`` any run of characters (``:`` included), ``?`` one character."""
    regex = "".join(".*" if c == "*" else "." if c == "?" else re.escape(c) for c in pattern)
    return re.fullmatch(regex, value, 0 if case_sensitive else re.IGNORECASE) is not None


def _statement_matches(statement: Mapping[str, Any], action: str, resource: str) -> bool:
    if "Action" in statement:
        action_ok = any(
            _wildcard_match(a, action, case_sensitive=False) for a in as_list(statement["Action"])
        )
    elif "NotAction" in statement:
        action_ok = not any(
            _wildcard_match(a, action, case_sensitive=False) for a in as_list(statement["NotAction"])
        )
    else:
        return False
    if "Resource" in statement:
        resource_ok = any(
            _wildcard_match(r, resource, case_sensitive=True) for r in as_list(statement["Resource"])
        )
    elif "NotResource" in statement:
        resource_ok = not any(
            _wildcard_match(r, resource, case_sensitive=True) for r in as_list(statement["NotResource"])
        )
    else:
        return False
    return action_ok and resource_ok


def policy_allows(documents: list[Mapping[str, Any]], action: str, resource: str) -> bool:
    """True when some statement allows ``action`` on ``resource`` and no statement denies it.

    A statement with a ``Condition`` is not evaluated: it never allows, and (to stay on the safe side
    of "allowed") it denies when it is a Deny.

    Example::

        fn = "arn:aws:lambda:us-east-1:123456789012:function:f"
        allow = {"Effect": "Allow", "Action": "lambda:InvokeFunction"}
        policy_allows([{"Statement": [{**allow, "Resource": [fn, fn + ":*"]}]}], allow["Action"], fn + ":3")
        # True
        policy_allows([{"Statement": [{**allow, "Resource": fn}]}], allow["Action"], fn + ":3")
        # False: the unqualified ARN does not cover a version
    """
    allowed = False
    for document in documents:
        for statement in as_list(document.get("Statement", [])):
            if not _statement_matches(statement, action, resource):
                continue
            if statement.get("Effect") == "Deny":
                return False
            if statement.get("Effect") == "Allow" and "Condition" not in statement:
                allowed = True
    return allowed


def role_policy_documents(iam: Any, role_name: str) -> list[dict[str, Any]]:
    """The role's inline and attached managed policy documents, as moto's IAM stores them now."""
    documents: list[dict[str, Any]] = []
    for name in iam.list_role_policies(RoleName=role_name)["PolicyNames"]:
        documents.append(
            _policy_json(iam.get_role_policy(RoleName=role_name, PolicyName=name)["PolicyDocument"])
        )
    for attached in iam.list_attached_role_policies(RoleName=role_name)["AttachedPolicies"]:
        policy = iam.get_policy(PolicyArn=attached["PolicyArn"])["Policy"]
        version = iam.get_policy_version(
            PolicyArn=attached["PolicyArn"], VersionId=policy["DefaultVersionId"]
        )
        documents.append(_policy_json(version["PolicyVersion"]["Document"]))
    return documents


def _policy_json(document: Any) -> dict[str, Any]:
    return json.loads(document) if isinstance(document, str) else document


def role_allows_invoke(iam: Any, role_name: str, function_arn: str) -> bool:
    """Does the role allow ``lambda:InvokeFunction`` on this (possibly qualified) function ARN?"""
    return policy_allows(role_policy_documents(iam, role_name), "lambda:InvokeFunction", function_arn)
