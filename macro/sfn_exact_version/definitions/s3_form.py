"""A definition kept in S3 (``DefinitionS3Location``): only its ``DefinitionSubstitutions`` are in the
template, so each substitution is a possible call site."""

from __future__ import annotations

from sfn_exact_version.definitions.base import Definition
from sfn_exact_version.definitions.states import Call, alternatives
from sfn_exact_version.intrinsics import Symbolic, ref, symbolic
from sfn_exact_version.targets import FUNCTION_NAME

S3_STATE = "(DefinitionS3Location)"


class S3Definition(Definition):
    """Each substitution, and each side of one written as ``Fn::If``, is a call site named
    ``(DefinitionS3Location) ${key}`` (`` (Fn::If C: true)`` added for a side), with ``sure`` false:
    it is a call only when it names a Lambda function. Pinning one points the value at a version."""

    form = "DefinitionS3Location"

    @property
    def location(self) -> str:
        return f"Resources/{self.logical_id}/Properties/DefinitionSubstitutions"

    def substitution_values(self) -> list[tuple[str, Symbolic | None]]:
        """``(key, target)`` for each substitution as written (an ``Fn::If`` not split)."""
        return [(key, symbolic(value)) for key, value in self.substitutions.items()]

    def _find_calls(self) -> list[Call]:
        return [
            Call(
                f"{S3_STATE} ${{{key}}}{label}",
                FUNCTION_NAME,
                value,
                path,
                symbolic(value),
                sure=False,
            )
            for key, raw in self.substitutions.items()
            for value, path, label in alternatives(raw, ("DefinitionSubstitutions", key), "", True)
        ]

    def _pin(self, call: Call, version: str) -> bool:
        self._plan.value_edits[call.json_path] = ref(version)
        return True
