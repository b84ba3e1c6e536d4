"""cfn-lint rules that flag Step Functions Lambda calls not pinned to an exact Lambda version.

Not part of the Lambda package. Load them into cfn-lint (installed in the same environment) by
module path::

    cfn-lint --append-rules=sfn_exact_version.lint_rules template.yaml

cfn-lint imports this module and instantiates the rule classes it exposes; loading the directory
instead (``--append-rules=<path to this directory>``) finds the same classes in ``unpinned_calls.py``.
See docs/cfn-lint-rule.md.
"""

from sfn_exact_version.lint_rules.unpinned_calls import (
    CallsNotChecked,
    LambdaCallNotPinned,
    LambdaCallRunsNewestCode,
    MacroWouldFail,
)

__all__ = ["CallsNotChecked", "LambdaCallNotPinned", "LambdaCallRunsNewestCode", "MacroWouldFail"]
