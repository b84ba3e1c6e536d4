"""The StateMachineVersions report entry and its warnings, beyond the golden cases: other shapes of versions
and aliases, and malformed ones (the entry is informational: it never fails the transform)."""

from __future__ import annotations

import copy
from typing import Any

import pytest

from sfn_exact_version.transform import transform
from support import golden_input

ROUTING = golden_input("versions_state_machine_alias_routing")
CANARY = golden_input("versions_state_machine_canary")


def _entry(template: dict[str, Any]) -> Any:
    result = transform(template, region="eu-west-1", account_id="123456789012")
    return result.template["Metadata"]["SfnExactVersion"].get("StateMachineVersions"), result.report.warnings


def _nested(depth: int) -> Any:
    value: Any = "x"
    for _ in range(depth):
        value = {"a": value}
    return value


def test_linear_alias_and_getatt_state_machine() -> None:
    template = copy.deepcopy(CANARY)
    resources = template["Resources"]
    resources["ApprovalStateMachineVersion"]["Properties"]["StateMachineArn"] = {
        "Fn::GetAtt": ["ApprovalStateMachine", "Arn"]
    }
    preference = resources["ApprovalStateMachineAliaslive"]["Properties"]["DeploymentPreference"]
    preference.update({"Type": "LINEAR", "Percentage": 20, "Interval": 2})
    (entry,), warnings = _entry(template)
    assert entry["Versions"] == ["ApprovalStateMachineVersion"]
    assert entry["Aliases"][0]["Deployment"] == {"Type": "LINEAR", "Percentage": 20, "Interval": 2}
    assert warnings == []


def test_no_versions_no_entry() -> None:
    template = copy.deepcopy(CANARY)
    for logical_id in ("ApprovalStateMachineVersion", "ApprovalStateMachineAliaslive"):
        del template["Resources"][logical_id]
    del template["Resources"]["ApprovalStateMachineApprovalRequested"]
    del template["Resources"]["ApprovalStateMachineApprovalRequestedRole"]
    entry, _ = _entry(template)
    assert entry is None


def test_alias_of_an_unknown_version_is_not_attributed() -> None:
    template = copy.deepcopy(ROUTING)
    template["Resources"]["MachineAlias"]["Properties"]["RoutingConfiguration"] = [
        {"StateMachineVersionArn": {"Ref": "PreviousVersionArn"}, "Weight": 100}
    ]
    (entry,), _ = _entry(template)
    assert entry["Aliases"] == [] and entry["Versions"] == ["MachineVersion"]


def test_a_single_route_is_not_gradual() -> None:
    template = copy.deepcopy(CANARY)
    template["Resources"]["ApprovalStateMachineAliaslive"]["Properties"]["DeploymentPreference"]["Type"] = (
        "ALL_AT_ONCE"
    )
    # An adopted (hand-written) version: warned only when the alias shifts gradually.
    function_version = {
        "Type": "AWS::Lambda::Version",
        "Properties": {"FunctionName": {"Ref": "HelloFunction"}},
    }
    template["Resources"]["HelloFunctionVersionManual"] = function_version
    _, warnings = _entry(template)
    assert not any("shifts gradually" in warning for warning in warnings)
    template["Resources"]["ApprovalStateMachineAliaslive"]["Properties"]["DeploymentPreference"]["Type"] = (
        "CANARY"
    )
    _, warnings = _entry(template)
    (gradual,) = [w for w in warnings if "shifts gradually" in w]
    assert gradual.startswith("Resources/HelloFunctionVersionManual ")


@pytest.mark.parametrize(
    "mutate",
    [
        lambda r: r["MachineAlias"]["Properties"].__setitem__("Name", {"a": 1}),
        lambda r: r["MachineAlias"]["Properties"].__setitem__("RoutingConfiguration", "x"),
        lambda r: r["MachineAlias"]["Properties"].__setitem__("RoutingConfiguration", [1, None]),
        lambda r: r["MachineAlias"]["Properties"].__setitem__("DeploymentPreference", [1]),
        lambda r: r["MachineAlias"]["Properties"].__setitem__(
            "RoutingConfiguration",
            [
                {"StateMachineVersionArn": _nested(3000), "Weight": 5},
                {"StateMachineVersionArn": {"Ref": "MachineVersion"}},
            ],
        ),
        lambda r: r["MachineVersion"]["Properties"].__setitem__("StateMachineArn", _nested(300)),
        lambda r: r["MachineVersion"].pop("Properties"),
    ],
    ids=[
        "name-object",
        "routing-string",
        "routing-junk",
        "preference-list",
        "route-deep",
        "arn-deep",
        "no-properties",
    ],
)
def test_malformed_versions_and_aliases_never_fail_the_transform(mutate: Any) -> None:
    template = copy.deepcopy(ROUTING)
    mutate(template["Resources"])
    entries, _ = _entry(template)
    assert entries is None or [entry["StateMachine"] for entry in entries] == ["Machine"]
