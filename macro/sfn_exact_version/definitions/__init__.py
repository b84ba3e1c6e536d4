"""State machine definitions in every form CloudFormation accepts: read them, find the Lambda calls,
and rewrite exactly those calls.

One interface, :class:`Definition`, over one small reader per form; :func:`read_definition` picks the
reader and reads in construction, so a reader always holds a definition that was read:

- :class:`~sfn_exact_version.definitions.object_form.ObjectDefinition`: a ``Definition`` object;
- :class:`~sfn_exact_version.definitions.string_form.StringDefinition`: a ``DefinitionString`` (a
  string, ``Fn::Sub``, ``Fn::Join`` or a nesting of these; :mod:`~sfn_exact_version.definitions.text`
  flattens, marks and parses it);
- :class:`~sfn_exact_version.definitions.s3_form.S3Definition`: ``DefinitionS3Location``, whose
  ``DefinitionSubstitutions`` are the only call sites the template shows;
- :class:`~sfn_exact_version.definitions.base.NoDefinition`: none of these.

:mod:`~sfn_exact_version.definitions.states` walks parsed definitions (states, calls, data references)
and :mod:`~sfn_exact_version.definitions.edits` writes planned edits into new Properties.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from sfn_exact_version.definitions.base import Definition, NoDefinition
from sfn_exact_version.definitions.object_form import ObjectDefinition
from sfn_exact_version.definitions.s3_form import S3_STATE, S3Definition
from sfn_exact_version.definitions.states import MAX_STATE_DEPTH, Call, Path, find_calls, iter_states
from sfn_exact_version.definitions.string_form import StringDefinition
from sfn_exact_version.errors import ProblemReason, fail

__all__ = [
    "MAX_STATE_DEPTH",
    "S3_STATE",
    "Call",
    "Definition",
    "NoDefinition",
    "ObjectDefinition",
    "Path",
    "S3Definition",
    "StringDefinition",
    "find_calls",
    "iter_states",
    "read_definition",
]

FORMS: dict[str, type[Definition]] = {
    "Definition": ObjectDefinition,
    "DefinitionString": StringDefinition,
    "DefinitionS3Location": S3Definition,
}


def read_definition(logical_id: str, properties: Mapping[str, Any]) -> Definition:
    """The reader for a state machine's definition, whatever its form, the definition read; raise
    :class:`~sfn_exact_version.errors.TransformError` naming the resource when it cannot be read.

    >>> definition = read_definition("Sm", {"Definition": {"States": {"A": {"Type": "Pass"}}}})
    >>> definition.form, definition.calls(), definition.apply()
    ('Definition', [], None)
    """
    present = [key for key in FORMS if key in properties]
    if len(present) > 1:
        raise fail(
            ProblemReason.DEFINITION,
            f"Resources/{logical_id}/Properties",
            f"sets {' and '.join(present)}; a state machine takes exactly one of Definition, "
            "DefinitionString and DefinitionS3Location.",
        )
    if not present:
        return NoDefinition(logical_id, properties)
    return FORMS[present[0]](logical_id, properties)
