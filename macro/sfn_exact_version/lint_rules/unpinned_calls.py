"""cfn-lint rules: Lambda calls of Step Functions state machines that are not pinned to a version.

The rules run the macro's own pure core (``sfn_exact_version.transform.transform``) on the template
cfn-lint has loaded, SAM transform applied (by cfn-lint up to 1.53, offline by ``_findings`` from 1.54
on), so they judge exactly what CloudFormation hands the macro when it is listed after SAM.

Which calls are flagged depends on whether the template lists ``SfnExactVersion`` in ``Transform``:

* listed: the macro pins every call it can, so only the calls it leaves running the newest code are
  flagged (W9101), plus anything that would make the macro fail the deploy (E9102);
* not listed: every call to a function of the template that is not pinned yet is flagged (W9100),
  plus the calls the macro could not pin either (W9101); a template the core cannot read is W9103.

Calls opted out with ``Metadata: {SfnExactVersion: {Pin: false}}`` (on the state machine or on the
function) and calls that already name a version are never flagged.

The analysis lives in ``_findings.py``; it runs once per template and the four rules share it.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any, ClassVar

from cfnlint.rules import CloudFormationLintRule, RuleMatch

from sfn_exact_version import MACRO_NAME
from sfn_exact_version.lint_rules._findings import (
    MACRO_WOULD_FAIL,
    NOT_CHECKED,
    NOT_PINNED,
    RUNS_NEWEST_CODE,
    cached_findings,
)

# The macro name each rule was configured with (``--configure-rule E9102:macro_name=Pin``); cfn-lint
# configures every rule before each run. The four rules share one analysis, so a name given to any one of
# them applies to all.
_CONFIGURED_NAMES: dict[str, str] = {}


def macro_name() -> str:
    """The macro name configured on any of the rules, else ``SfnExactVersion``."""
    custom = sorted({name for name in _CONFIGURED_NAMES.values() if name != MACRO_NAME})
    return custom[0] if custom else MACRO_NAME


class _ReportsFindings:
    """Shared behaviour: report this rule's share of the findings.

    A mixin rather than a CloudFormationLintRule subclass: cfn-lint instantiates every subclass it
    finds in a rules module, and this one has no rule ID.
    """

    id: str
    config: dict[str, Any]
    tags: ClassVar[list[str]] = ["resources", "stepfunctions", "lambda", "sfn-exact-version"]
    config_definition: dict[str, Any]

    def __init__(self) -> None:
        super().__init__()
        self.config_definition = {"macro_name": {"default": MACRO_NAME, "type": "string"}}
        self.configure()

    def configure(self, configs: Any = None, experimental: bool = False) -> None:
        super().configure(configs, experimental)  # type: ignore[misc]
        _CONFIGURED_NAMES[self.id] = self.config.get("macro_name", MACRO_NAME)

    def match(self, cfn: Any) -> list[RuleMatch]:
        return list(self._matches(cfn))

    def _matches(self, cfn: Any) -> Iterator[RuleMatch]:
        for finding in cached_findings(cfn, macro_name()):
            if finding.rule != self.id:
                continue
            if finding.location is None:
                yield RuleMatch(list(finding.path), finding.message)
            else:
                yield RuleMatch(list(finding.path), finding.message, location=finding.location)


class LambdaCallNotPinned(_ReportsFindings, CloudFormationLintRule):  # type: ignore[misc]
    """A state machine calls a function of the template without naming a version.

    Only checked when the template does not list SfnExactVersion (with the macro, such calls are pinned
    at deploy time). A warning, not an error: the template deploys and works, but a running execution
    calls whatever code the function has when each state runs, so a deploy in the middle of an
    execution changes the code under it.
    """

    id = NOT_PINNED
    shortdesc = "State machine Lambda call is not pinned to a version"
    description = (
        "A Step Functions state machine calls a Lambda function of this template without naming an "
        "AWS::Lambda::Version, so running executions call whatever code the function has now. "
        "Add the SfnExactVersion transform, or point the call at a version."
    )


class LambdaCallRunsNewestCode(_ReportsFindings, CloudFormationLintRule):  # type: ignore[misc]
    """A call SfnExactVersion leaves unpinned: dynamic, alias, external, $LATEST or unsupported.

    A warning: the template deploys, and the call may be meant this way (an alias shifted on purpose, a
    function owned by another stack); ignore the rule for that resource if so. It is reported with or
    without the transform, since the macro cannot pin such calls either.
    """

    id = RUNS_NEWEST_CODE
    shortdesc = "State machine Lambda call runs the newest code even with SfnExactVersion"
    description = (
        "A Step Functions state machine calls Lambda in a way SfnExactVersion leaves alone (function "
        "chosen at run time, an alias, $LATEST, a function from outside the template, or a shape the "
        "macro cannot rewrite), so running executions may call new code."
    )


class MacroWouldFail(_ReportsFindings, CloudFormationLintRule):  # type: ignore[misc]
    """The template lists SfnExactVersion and the macro would reject it.

    An error: CloudFormation runs the macro at deploy (or change set) time, and the whole deploy fails
    with this message.
    """

    id = MACRO_WOULD_FAIL
    shortdesc = "SfnExactVersion would fail on this template"
    description = (
        "The template lists the SfnExactVersion transform, and the macro would reject the template "
        "(transform order, several versions of a called function, a definition that is not JSON, ...)."
    )


class CallsNotChecked(_ReportsFindings, CloudFormationLintRule):  # type: ignore[misc]
    """The state machines could not be read: a template without SfnExactVersion that the macro's reader
    rejects, or a SAM template that the SAM transform rejects offline (with or without the macro).

    A warning: without the macro nothing of ours fails at deploy time (and cfn-lint's own rules report
    what SAM rejects), but the Lambda calls were not checked.
    """

    id = NOT_CHECKED
    shortdesc = "State machine Lambda calls could not be checked"
    description = (
        "SfnExactVersion's reader could not analyse a state machine of this template (for example a "
        "definition that is not JSON), so its Lambda calls were not checked for versions."
    )
