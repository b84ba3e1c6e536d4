"""Templates written as a new user would write them, in shapes the golden cases and corpora do not cover,
run through the CLI (``check``, ``diff``, ``--json``) and the offline pipeline.

Each expected value comes from the contract (README, DESIGN.md, the platform facts), and the output is read
independently of the macro's report (``reading``): which target each Lambda call names, what the role
allows. Tests marked ``xfail(strict=True)`` pin a defect down: they pass once it is fixed (then drop the
mark). The templates are in ``templates/``; ``README.md`` there says what each one exercises.
"""

from __future__ import annotations

import json
import os
import re
import socket
from pathlib import Path
from typing import Any

import pytest

from exploratory.reading import invoke_allowed, lambda_calls, render, version_of
from invariants import cfn_lint_errors, check_invariants
from sfn_exact_version.cli.main import ERROR, FINDINGS, OK, main
from sfn_exact_version.offline.pipeline import Preview, preview

TEMPLATES = Path(__file__).resolve().parent / "templates"
MACHINE_ROLE_ALLOWS = "no statement of this role allows lambda:InvokeFunction"


@pytest.fixture(autouse=True)
def no_network(monkeypatch: pytest.MonkeyPatch) -> None:
    """A new user's preview needs no AWS: packaging, SAM and the macro run offline."""

    def refuse(*args: Any, **kwargs: Any) -> None:
        raise AssertionError(f"network access attempted: {args!r}")

    monkeypatch.setattr(socket.socket, "connect", refuse)
    monkeypatch.setattr(socket, "create_connection", refuse)


def run(capsys: pytest.CaptureFixture[str], *argv: str | os.PathLike[str]) -> tuple[int, str, str]:
    code = main([str(arg) for arg in argv])
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def check_json(capsys: pytest.CaptureFixture[str], name: str, *extra: str) -> tuple[int, dict[str, Any]]:
    code, out, err = run(capsys, "check", "--json", TEMPLATES / name, *extra)
    assert "Traceback" not in err
    return code, json.loads(out) if out else {}


def processed(name: str, **overrides: str) -> Preview:
    """The template as CloudFormation would deploy it, through the offline pipeline; its output passes
    the invariants every transform result has, and cfn-lint without errors."""
    result = preview(TEMPLATES / name, overrides=overrides)
    check_invariants(
        result.fragment,
        result.result.template,
        transform_kwargs={
            "parameter_values": {
                key: overrides.get(key, declared.get("Default"))
                for key, declared in result.fragment.get("Parameters", {}).items()
            },
            "region": "us-east-1",
            "account_id": "123456789012",
        },
    )
    assert cfn_lint_errors(result.result.template) == []
    return result


def pinned_to(template: dict[str, Any], machine: str) -> dict[str, str | None]:
    """State path -> the function whose version the call names (None: not a version of the template)."""
    calls = lambda_calls(template["Resources"][machine])
    return {state: version_of(template, target) for state, target in calls.items()}


def reasons(report: dict[str, Any]) -> dict[str, str]:
    return {item["State"]: item["Reason"] for item in report["LeftAlone"]}


def grant_functions(template: dict[str, Any], role: str) -> set[str]:
    """Functions a retained grant (Retain ``AWS::IAM::RolePolicy``) of ``role`` allows the versions of."""
    found = set()
    for resource in template["Resources"].values():
        properties = resource.get("Properties", {})
        if resource["Type"] == "AWS::IAM::RolePolicy" and properties["RoleName"] == {"Ref": role}:
            assert resource["DeletionPolicy"] == resource["UpdateReplacePolicy"] == "Retain"
            entry = render(properties["PolicyDocument"]["Statement"][0]["Resource"])
            match = re.fullmatch(r"<GetAtt (\w+)\.Arn>:\*", entry)
            assert match, entry
            found.add(match.group(1))
    return found


# --- Shapes that work: kept as regressions, each outcome read from the contract -----------------------


def test_sam_events_and_local_definition_uri(capsys: pytest.CaptureFixture[str]) -> None:
    """README "What the macro does" 1 and 4: for a DefinitionUri, the substitutions are pinned; the
    table name is not a call. SAM's LambdaInvokePolicy (``function:<name>*``) already covers versions, so
    no statement changes; step 7 adds a retained grant per pinned function."""
    code, report = check_json(capsys, "01_sam_events_definition_uri.yaml")
    assert code == OK
    assert report["LeftAlone"] == [] and report["DefinitionFiles"] == []
    template = processed("01_sam_events_definition_uri.yaml").result.template
    substitutions = template["Resources"]["OrdersStateMachine"]["Properties"]["DefinitionSubstitutions"]
    assert version_of(template, render(substitutions["ValidateArn"])) == "ValidateFunction"
    assert version_of(template, render(substitutions["ChargeArn"])) == "ChargeFunction"
    assert substitutions["TableName"] == {"Ref": "OrdersTable"}
    assert grant_functions(template, "OrdersStateMachineRole") == {"ValidateFunction", "ChargeFunction"}


def test_auto_publish_alias_functions(capsys: pytest.CaptureFixture[str]) -> None:
    """The function ARN call is pinned to SAM's own version (one version: it is used); the calls through
    the alias, by ``!Ref Fn.Alias`` and by ``${Fn.Alias}``, are left alone as ``alias`` and fail check."""
    code, report = check_json(capsys, "02_auto_publish_alias_calls.yaml")
    assert code == FINDINGS
    assert reasons(report) == {"States.Stock": "alias", "States.Ship": "alias"}
    template = processed("02_auto_publish_alias_calls.yaml").result.template
    calls = pinned_to(template, "Flow")
    assert calls["States.Price"] == "PriceFunction"
    (version,) = [p["Version"] for p in report["Pinned"] if p["State"] == "States.Price"]
    assert re.fullmatch(r"PriceFunctionVersion[0-9a-f]{10}", version), "SAM's version, not a new one"
    assert calls["States.Stock"] is None and calls["States.Ship"] is None


def test_substitutions_mixing_arns_names_and_versions(capsys: pytest.CaptureFixture[str]) -> None:
    """An ARN and a name substitution are pinned, a hand-written version is already pinned (it gains
    the fingerprint and Retain), the table stays; the function's name passed as data in a Payload is
    reported at its place (DESIGN "Left alone": passed as data)."""
    code, report = check_json(capsys, "03_substitutions_mixed.yaml")
    assert code == FINDINGS
    assert reasons(report) == {"States.Enrich.Parameters.Payload.source": "unsupported"}
    template = processed("03_substitutions_mixed.yaml").result.template
    calls = lambda_calls(template["Resources"]["Pipeline"])
    assert version_of(template, calls["States.Parse"]) == "ParseFunction"
    assert version_of(template, calls["States.Enrich"]) == "EnrichFunction"
    assert calls["States.Score"] == "<Ref ScoreVersion>"
    score = template["Resources"]["ScoreVersion"]
    assert score["DeletionPolicy"] == "Retain"
    assert score["Properties"]["Description"].startswith("scoring model v7 [SfnExactVersion ")


def test_jsonata_distributed_map_callback_and_sdk(capsys: pytest.CaptureFixture[str]) -> None:
    """JSONata ``Arguments.FunctionName`` inside a Distributed Map, a waitForTaskToken call by a name
    built from the stack name, and aws-sdk:lambda:invoke: all pinned; the role's exact entries gain
    ``<ARN>:*``; JSONata expressions are untouched."""
    code, report = check_json(capsys, "04_jsonata_distributed_map.yaml")
    assert code == OK and report["LeftAlone"] == []
    template = processed("04_jsonata_distributed_map.yaml").result.template
    assert pinned_to(template, "Images") == {
        "States.ResizeAll.ItemProcessor.States.Resize": "ResizeFunction",
        "States.Approve": "ApproveFunction",
        "States.Audit": "AuditFunction",
    }
    approve = template["Resources"]["Images"]["Properties"]["Definition"]["States"]["Approve"]
    assert approve["Arguments"]["Payload"] == {"token": "{% $states.context.Task.Token %}"}
    allowed = invoke_allowed(template, "ImagesRole", {})
    for function in ("ResizeFunction", "ApproveFunction", "AuditFunction"):
        assert f"<GetAtt {function}.Arn>:*" in allowed


def test_fn_if_whole_definition_pins_each_side(capsys: pytest.CaptureFixture[str]) -> None:
    """README: either side of an ``Fn::If`` in a Definition object is pinned in place."""
    code, report = check_json(capsys, "05_fn_if_whole_definition.yaml")
    assert code == OK
    states = sorted(p["State"] for p in report["Pinned"])
    assert states == [
        "States.Checkout (Fn::If IsProd: false)",
        "States.Checkout (Fn::If IsProd: true)",
        "States.Fraud (Fn::If IsProd: true)",
    ]
    definition = processed("05_fn_if_whole_definition.yaml").result.template["Resources"]["Checkout"]
    chosen = definition["Properties"]["Definition"]["Fn::If"]
    assert chosen[0] == "IsProd"
    assert chosen[1]["States"]["Fraud"]["Resource"]["Ref"].startswith("FraudFunctionVersion")
    assert chosen[2]["States"]["Checkout"]["Resource"]["Ref"].startswith("CheckoutFunctionVersion")


def test_function_names_from_a_parameter(capsys: pytest.CaptureFixture[str]) -> None:
    """Names built from a Stage parameter (``!Sub``, ``!Join``) called by name, partial ARN and full ARN
    through a ``Fn::Sub`` variables map: all pinned. The role allows ``function:*-${Stage}``, which does
    not match ``name-dev:1``, so each function gets a retained grant (README step 7)."""
    code, report = check_json(capsys, "06_function_name_parameter.yaml")
    assert code == OK and report["LeftAlone"] == []
    template = processed("06_function_name_parameter.yaml").result.template
    assert pinned_to(template, "Nightly") == {
        "States.Ingest": "IngestFunction",
        "States.Notify": "NotifyFunction",
        "States.Archive": "ArchiveFunction",
    }
    assert grant_functions(template, "MachineRole") == {"IngestFunction", "NotifyFunction", "ArchiveFunction"}


def test_cdk_join_and_import_value(capsys: pytest.CaptureFixture[str]) -> None:
    """CDK's ``Fn::Join`` definition: the local handler pinned; a function of another stack
    (``Fn::ImportValue``) is ``external``, with advice that can be followed."""
    code, report = check_json(capsys, "07_cdk_join_import_value.json")
    assert code == FINDINGS
    assert reasons(report) == {"States.Enrich": "external"}
    (item,) = report["LeftAlone"]
    assert "Fn::ImportValue" in item["Detail"] and "export a version ARN" in item["Detail"]
    template = processed("07_cdk_join_import_value.json").result.template
    calls = pinned_to(template, "StateMachine2E01A3A5")
    assert calls == {"States.Handle": "Handler886CB40B", "States.Enrich": None}


def test_macro_before_sam_fails_check(capsys: pytest.CaptureFixture[str]) -> None:
    """README: check fails when Transform lists the macro before SAM, naming the fix."""
    code, out, _ = run(capsys, "check", TEMPLATES / "08_macro_before_sam.yaml")
    assert code == FINDINGS
    assert "before AWS::Serverless-2016-10-31" in out
    assert "Transform: [AWS::Serverless-2016-10-31, SfnExactVersion]" in out


def test_custom_macro_name(capsys: pytest.CaptureFixture[str]) -> None:
    """Without --macro-name the template does not list the macro (check fails); with it, it does."""
    code, out, _ = run(capsys, "check", TEMPLATES / "09_custom_macro_name.yaml")
    assert code == FINDINGS and "does not list SfnExactVersion" in out
    code, out, _ = run(
        capsys, "check", TEMPLATES / "09_custom_macro_name.yaml", "--macro-name", "PinLambdaVersions"
    )
    assert code == OK and "1 Lambda call(s) pinned" in out


def test_nested_parallel_in_map_short_forms(capsys: pytest.CaptureFixture[str]) -> None:
    """A Parallel inside an inline Map inside a legacy Iterator, YAML short forms throughout: every
    call pinned at its nested path."""
    code, report = check_json(capsys, "10_nested_parallel_in_map.yaml")
    assert code == OK and report["LeftAlone"] == []
    template = processed("10_nested_parallel_in_map.yaml").result.template
    inner = "States.PerAlbum.Iterator.States.PerPhoto.ItemProcessor.States.Both.Branches"
    assert pinned_to(template, "Media") == {
        "States.Split": "SplitFunction",
        f"{inner}[0].States.Thumb": "ThumbFunction",
        f"{inner}[1].States.Tag": "TagFunction",
        "States.Review": "ReviewFunction",
        "States.Fallback": "FallbackFunction",
    }


def test_express_and_sub_lambda_invoke_policy(capsys: pytest.CaptureFixture[str]) -> None:
    """Both calls pinned; the ``LambdaInvokePolicy`` with ``FunctionName: !Sub`` covers the versions."""
    code, report = check_json(capsys, "11_managed_policy_and_express.yaml")
    assert code == OK and report["LeftAlone"] == []
    template = processed("11_managed_policy_and_express.yaml").result.template
    assert pinned_to(template, "Quotes") == {"States.Quote": "QuoteFunction"}
    assert pinned_to(template, "Bookings") == {"States.Book": "BookFunction"}
    assert grant_functions(template, "BookingsRole") == {"BookFunction"}


def test_calls_left_alone_with_their_reasons(capsys: pytest.CaptureFixture[str]) -> None:
    """README's table: ``name:alias`` alias, ``FunctionName.$`` dynamic, ``:$LATEST`` latest, a
    ``Qualifier`` qualified, ``Fn::Select`` unsupported; none of them pinned (only the two sides of
    the ``Fn::If`` substitution of ``States.Work`` are)."""
    code, report = check_json(capsys, "12_if_substitution_and_qualifiers.yaml")
    assert code == FINDINGS
    found = reasons(report)
    assert {state: found[state] for state in found if state != "States.Work"} == {
        "States.ByAliasName": "alias",
        "States.Dynamic": "dynamic",
        "States.Latest": "latest",
        "States.WithQualifier": "qualified",
        "States.Picked": "unsupported",
    }
    assert {item["State"] for item in report["Pinned"]} == {
        "States.Work (Fn::If Fast: true)",
        "States.Work (Fn::If Fast: false)",
    }


def test_function_restarting_its_state_machine_fails_naming_the_cycle(
    capsys: pytest.CaptureFixture[str],
) -> None:
    """README: a pin that would close a dependency cycle fails the deploy naming the cycle and the fix
    (exit 3, no traceback)."""
    code, out, err = run(capsys, "check", TEMPLATES / "14_function_starts_next_execution.yaml")
    assert code == ERROR and out == ""
    assert "Traceback" not in err
    assert "PollLoop -> PollFunctionVersion" in err and "dependency cycle" in err
    assert "Pin: false on PollFunction" in err


def test_canary_state_machine_and_connector(capsys: pytest.CaptureFixture[str]) -> None:
    """SAM's ``!Ref Fn.Version`` is already pinned (and warned about under gradual deployment, README
    "Whole-workflow canary"); the connector's function is pinned and its ManagedPolicy widened."""
    code, report = check_json(capsys, "17_canary_state_machine_fn_version.yaml")
    assert code == OK
    template = processed("17_canary_state_machine_fn_version.yaml").result.template
    assert pinned_to(template, "Settle") == {"States.Rate": "RateFunction", "States.Ledger": "LedgerFunction"}
    assert any("shifts gradually" in warning for warning in report["Warnings"])
    policy = template["Resources"]["SettleToLedgerPolicy"]["Properties"]["PolicyDocument"]
    assert "<GetAtt LedgerFunction.Arn>:*" in [render(e) for e in policy["Statement"][0]["Resource"]]


def test_function_name_parameter_sub_arn_is_pinned(capsys: pytest.CaptureFixture[str]) -> None:
    """A full ARN built with ``${WorkerName}``, the parameter the function takes its name from, is
    pinned (the ``!Ref WorkerName`` form of the same call too: see below)."""
    _, report = check_json(capsys, "16_function_name_is_parameter.yaml")
    calls = {p["State"]: p["Function"] for p in report["Pinned"]}
    assert calls["States.BillAgain"] == "WorkerFunction"


# --- Defects: each fails today; the reason says what should happen -----------------------------------


def test_conditional_statement_resource_allows_the_versions() -> None:
    """05: the role's ``Resource: !If [IsProd, [Checkout, Fraud], [Checkout]]`` is not read, so neither
    function's versions are allowed (only a warning; check says ok) and every pinned call is denied at
    run time. Under each value of the condition, the role must allow what the calls now invoke."""
    template = processed("05_fn_if_whole_definition.yaml").result.template
    assert {"<GetAtt CheckoutFunction.Arn>:*", "<GetAtt FraudFunction.Arn>:*"} <= invoke_allowed(
        template, "MachineRole", {"IsProd": True}
    ) | {f"<GetAtt {f}.Arn>:*" for f in grant_functions(template, "MachineRole")}
    assert "<GetAtt CheckoutFunction.Arn>:*" in invoke_allowed(template, "MachineRole", {"IsProd": False})


def test_conditional_statement_entry_allows_the_versions(tmp_path: Path) -> None:
    """The idiomatic form for a conditional function, ``- !If [IsProd, !GetAtt Fraud.Arn, !Ref
    AWS::NoValue]`` in a Resource list: Checkout's entry gains ``:*``, Fraud's does not, so the pinned
    Fraud call is denied in prod."""
    text = (TEMPLATES / "05_fn_if_whole_definition.yaml").read_text()
    text = text.replace(
        "Resource: !If\n                  - IsProd\n"
        "                  - [!GetAtt CheckoutFunction.Arn, !GetAtt FraudFunction.Arn]\n"
        "                  - [!GetAtt CheckoutFunction.Arn]",
        "Resource:\n                  - !GetAtt CheckoutFunction.Arn\n"
        "                  - !If [IsProd, !GetAtt FraudFunction.Arn, !Ref AWS::NoValue]",
    )
    assert "AWS::NoValue" in text
    (tmp_path / "template.yaml").write_text(text)
    template = preview(tmp_path / "template.yaml").result.template
    allowed = invoke_allowed(template, "MachineRole", {"IsProd": True})
    allowed |= {f"<GetAtt {f}.Arn>:*" for f in grant_functions(template, "MachineRole")}
    assert "<GetAtt FraudFunction.Arn>:*" in allowed


def test_sam_inline_if_substitution_is_pinned_on_each_side(capsys: pytest.CaptureFixture[str]) -> None:
    """12: under SAM every inline ``Definition`` becomes a ``DefinitionString`` with substitutions, so
    the advice "write the definition as a Definition object" cannot be followed. The substitution value
    can name two versions (``Fn::If [Fast, Ref FastVersion, Ref SlowVersion]``), as the macro already
    does for the same value beside a DefinitionUri (13)."""
    _, report = check_json(capsys, "12_if_substitution_and_qualifiers.yaml")
    pinned = {p["State"]: p["Function"] for p in report["Pinned"]}
    assert "States.Work" not in reasons(report)
    assert set(pinned.values()) == {"FastFunction", "SlowFunction"}


def test_definition_file_if_substitution_has_no_false_finding(capsys: pytest.CaptureFixture[str]) -> None:
    """13: the macro pins ``${WorkerArn}`` on each side of its ``Fn::If``, yet the CLI's reading of the
    local file reports the same call as ``unsupported`` (diff shows it both pinned and "not pinnable",
    check exits 1, the cfn-lint rule warns W9101)."""
    code, report = check_json(capsys, "13_if_substitution_definition_uri.yaml")
    assert len(report["Pinned"]) == 2
    assert report["DefinitionFiles"] == []
    assert code == OK


def test_whole_substitutions_if_is_not_a_silent_miss(capsys: pytest.CaptureFixture[str]) -> None:
    """18: ``DefinitionSubstitutions: !If [...]`` (the whole map): check says "ok: 0 Lambda call(s)
    pinned" while the Task calls a function of the template. Pin each side, or report the call."""
    code, report = check_json(capsys, "18_fn_if_whole_substitutions.yaml")
    assert report["Pinned"] or report["LeftAlone"]
    assert code == OK if report["Pinned"] else code == FINDINGS


def test_placeholder_without_substitution_is_reported(capsys: pytest.CaptureFixture[str]) -> None:
    """19: ``"Resource": "${Target}"`` with the substitution key misspelt (``Tagret``): Step Functions
    refuses the definition at deploy; check says ok. The CLI reports this shape in a local definition
    file; the inline form must be reported too (or fail naming the key)."""
    code, out, err = run(capsys, "check", TEMPLATES / "19_placeholder_without_substitution.yaml")
    assert code != OK
    assert "${Target}" in out + err


def test_call_through_the_name_parameter_is_pinned(capsys: pytest.CaptureFixture[str]) -> None:
    """16: the function's ``FunctionName`` is ``!Ref WorkerName`` and the call's is too. The macro pins
    the ``${WorkerName}`` ARN form, but reports ``!Ref WorkerName`` as ``external`` ("outside this
    template; pin it where it is defined"), which is false and cannot be followed."""
    code, report = check_json(capsys, "16_function_name_is_parameter.yaml")
    calls = {p["State"]: p["Function"] for p in report["Pinned"]}
    assert calls == {"States.Bill": "WorkerFunction", "States.BillAgain": "WorkerFunction"}
    assert code == OK


def test_diff_shows_the_retained_grants(capsys: pytest.CaptureFixture[str]) -> None:
    """04 and 06: ``diff`` ("what the macro changes") lists the new ``AWS::IAM::RolePolicy`` grants
    (Retain: they stay on the role after the stack is gone); for 06 they are its only IAM change."""
    for name in ("04_jsonata_distributed_map.yaml", "06_function_name_parameter.yaml"):
        template = processed(name).result.template
        grants = [k for k, r in template["Resources"].items() if r["Type"] == "AWS::IAM::RolePolicy"]
        assert len(grants) == 3
        code, out, _ = run(capsys, "diff", TEMPLATES / name)
        assert code == OK
        for grant in grants:
            assert grant in out, f"{name}: {grant} missing from diff"


def test_diff_shows_the_retained_execution_role(capsys: pytest.CaptureFixture[str]) -> None:
    """04: the functions' execution role ``WorkerRole`` gains ``DeletionPolicy``/``UpdateReplacePolicy:
    Retain`` (README "What is protected") and stays in the account after the stack is deleted; diff
    names it, as the report's ``Functions[].ExecutionRole`` does."""
    template = processed("04_jsonata_distributed_map.yaml").result.template
    assert template["Resources"]["WorkerRole"]["DeletionPolicy"] == "Retain"
    code, out, _ = run(capsys, "diff", TEMPLATES / "04_jsonata_distributed_map.yaml")
    assert code == OK
    assert "WorkerRole" in out


def test_diff_iam_line_names_only_its_function(capsys: pytest.CaptureFixture[str]) -> None:
    """04: one statement gains three entries; each of diff's three lines (one per function) shows what
    was added for its function, not all three."""
    code, out, _ = run(capsys, "diff", TEMPLATES / "04_jsonata_distributed_map.yaml")
    assert code == OK
    lines = [line for line in out.splitlines() if line.startswith("  ~ Resources/ImagesRole")]
    assert len(lines) == 3
    for line in lines:
        function = line.rsplit(", ", 1)[1].rstrip(")")
        assert line.count(".Arn}:*") == 1 and f"${{{function}.Arn}}:*" in line


def test_cycle_error_names_every_path_back(capsys: pytest.CaptureFixture[str]) -> None:
    """14: PollFunction reaches PollLoop twice (``NEXT_RUN: !Ref PollLoop`` and, through its role,
    ``StepFunctionsExecutionPolicy`` on ``!GetAtt PollLoop.Name``). The error names only the first;
    following its fix, the next check fails on the second. Name both (and SAM's ``Name`` property)."""
    code, _, err = run(capsys, "check", TEMPLATES / "14_function_starts_next_execution.yaml")
    assert code == ERROR
    assert "PollFunction -> PollLoop" in err
    assert "PollFunctionRole -> PollLoop" in err
    assert "give PollLoop a Name (SAM's" in err


def test_aws_managed_invoke_policy_is_not_called_missing(capsys: pytest.CaptureFixture[str]) -> None:
    """11: the EXPRESS machine's role attaches the AWS managed ``AWSLambdaRole`` (``lambda:InvokeFunction``
    on ``*``, versions included). The warning says no statement allows the function and asks the user to
    add ``<ARN>:*``. Name the managed policy as outside the template, or recognise the well-known ones."""
    _, report = check_json(capsys, "11_managed_policy_and_express.yaml")
    assert not [w for w in report["Warnings"] if "QuotesRole" in w and MACHINE_ROLE_ALLOWS in w]


def test_definition_string_under_fn_if_is_read_on_both_sides(capsys: pytest.CaptureFixture[str]) -> None:
    """15: ``DefinitionString: !If [IsVerbose, <string>, <string>]`` is valid CloudFormation; the macro
    refuses the whole deploy (exit 3) where it reads the same shape in a ``Definition`` object. Read each
    side (the substitution is shared) and pin the call."""
    code, report = check_json(capsys, "15_fn_if_definition_string.yaml")
    assert code == OK
    assert {p["Function"] for p in report["Pinned"]} == {"PrimaryFunction"}


def test_conditional_machine_and_name_built_statement(capsys: pytest.CaptureFixture[str]) -> None:
    """20: the statement names the function by an ARN built from ``${ReportFunction}``: it gains
    ``<that ARN>:*``; the Deny on a function not called is left alone; the grant carries the condition
    of the role (SAM gives the role the state machine's ``Condition``)."""
    code, report = check_json(capsys, "20_conditional_machine_name_built_statements.yaml")
    assert code == OK
    template = processed("20_conditional_machine_name_built_statements.yaml").result.template
    assert pinned_to(template, "Reporting") == {"States.Report": "ReportFunction"}
    prefix = "arn:aws:lambda:us-east-1:<Ref AWS::AccountId>:function:<Ref ReportFunction>"
    assert f"{prefix}:*" in invoke_allowed(template, "ReportingRole", {"Reports": True})
    statements = template["Resources"]["ReportingRole"]["Properties"]["Policies"][0]["PolicyDocument"]
    assert statements["Statement"][1]["Resource"] == {"Fn::GetAtt": ["PurgeFunction", "Arn"]}
    grants = [r for r in template["Resources"].values() if r["Type"] == "AWS::IAM::RolePolicy"]
    assert [grant.get("Condition") for grant in grants] == ["Reports"]
    assert report["StatementsDenyingVersions"] == []


def test_sdk_lambda_management_calls_are_not_calls(capsys: pytest.CaptureFixture[str]) -> None:
    """21: ``aws-sdk:lambda:putFunctionConcurrency`` and ``getFunctionConfiguration`` name the function
    but invoke nothing. check counts them as "2 Lambda call(s) would stay unpinned" and advises passing a
    version (Lambda refuses reserved concurrency on a version) or opting the function out (which would
    unpin the real call in Drain). Only Drain is a call, and it is pinned."""
    code, report = check_json(capsys, "21_sdk_lambda_management_calls.yaml")
    assert [p["State"] for p in report["Pinned"]] == ["States.Drain"]
    assert report["LeftAlone"] == []
    assert code == OK


def test_literal_arn_with_other_region_says_why(capsys: pytest.CaptureFixture[str]) -> None:
    """22: the ARN names ``orders-fn``, a function of this template, in eu-west-1 / 111122223333; the
    preview assumes us-east-1 / 123456789012 and reports "the function is not defined in this
    template". With ``--region eu-west-1 --account-id 111122223333`` the call is pinned, so the message
    must name the Region/account difference and the options, not deny the function exists."""
    code, out, _ = run(capsys, "check", TEMPLATES / "22_literal_arn_own_account.yaml")
    assert code == FINDINGS
    assert "not defined in this template" not in out
    assert "--region" in out and "--account-id" in out
    code, _, _ = run(
        capsys,
        "check",
        TEMPLATES / "22_literal_arn_own_account.yaml",
        "--region",
        "eu-west-1",
        "--account-id",
        "111122223333",
    )
    assert code == OK


def test_qualifier_from_the_input_is_dynamic() -> None:
    """``Qualifier.$: $.version`` picks the version at run time (``$LATEST`` included): its true reason
    is ``dynamic``, not ``qualified`` ("the call sets Qualifier" reads as already pinned)."""
    from sfn_exact_version.transform import transform

    state = {
        "Type": "Task",
        "Resource": "arn:aws:states:::lambda:invoke",
        "Parameters": {"FunctionName": {"Ref": "Fn"}, "Qualifier.$": "$.version"},
        "End": True,
    }
    fragment = {
        "Resources": {
            "Fn": {
                "Type": "AWS::Lambda::Function",
                "Properties": {
                    "Runtime": "python3.13",
                    "Handler": "index.handler",
                    "Role": "arn:aws:iam::123456789012:role/fn",
                    "Code": {"ZipFile": "def handler(event, context):\n    return event\n"},
                },
            },
            "Machine": {
                "Type": "AWS::StepFunctions::StateMachine",
                "Properties": {
                    "RoleArn": "arn:aws:iam::123456789012:role/machine",
                    "Definition": {"StartAt": "Call", "States": {"Call": state}},
                },
            },
        }
    }
    report = transform(fragment, parameter_values={}, region="us-east-1", account_id="123456789012").report
    (item,) = report.to_dict()["LeftAlone"]
    assert item["Reason"] == "dynamic"


def test_task_credentials_role_allows_the_pinned_version(capsys: pytest.CaptureFixture[str]) -> None:
    """23: the Task calls Lambda with ``Credentials: {RoleArn: !GetAtt InvokerRole.Arn}``, so Step
    Functions invokes the function as InvokerRole. The macro pins the call, leaves InvokerRole's exact
    ``TenantFunction.Arn`` entry alone (the pinned call is denied at run time) and warns about
    MachineRole, whose statements do not matter for this call. Check says ok."""
    code, report = check_json(capsys, "23_task_credentials_role.yaml")
    assert code == OK
    template = processed("23_task_credentials_role.yaml").result.template
    assert pinned_to(template, "Machine") == {"States.Call": "TenantFunction"}
    allowed = invoke_allowed(template, "InvokerRole", {})
    assert "<GetAtt TenantFunction.Arn>:*" in allowed
    assert grant_functions(template, "InvokerRole") == {"TenantFunction"}
    assert not [w for w in report["Warnings"] if "MachineRole" in w]


def test_nested_stack_output_is_external(capsys: pytest.CaptureFixture[str]) -> None:
    """24: the parent's call to ``!GetAtt Child.Outputs.HelloArn`` is ``external`` (README table)."""
    code, report = check_json(capsys, "24_nested_application/template.yaml")
    assert code == FINDINGS
    assert reasons(report) == {"States.A": "external"}
    assert "nested stack Child" in report["LeftAlone"][0]["Detail"]


def test_check_does_not_ignore_a_local_nested_template(capsys: pytest.CaptureFixture[str]) -> None:
    """24: ``Location: child/template.yaml`` is packaged and deployed with the parent (``sam deploy``
    does both), and the child's state machine has a ``FunctionName.$`` call that ``check`` on the child
    reports. ``check`` on the parent neither follows the child nor says it did not: a CI gate run on the
    parent passes the child's calls unseen. Follow local children, or say which were not checked."""
    code, out, err = run(capsys, "check", TEMPLATES / "24_nested_application/template.yaml")
    assert code == FINDINGS
    assert "child/template.yaml" in out + err
    assert "child/template.yaml: Sm States.A: $.fn stays unpinned [dynamic]" in out
    assert "2 Lambda call(s) would stay unpinned." in err


def test_opt_out_the_macro_cannot_read_is_not_ignored(capsys: pytest.CaptureFixture[str]) -> None:
    """25: ``Pin: "false"`` and ``pin: false`` both ask to leave the state machine alone. The string form
    is read as the boolean (CloudFormation users write it so); the misspelt key fails the transform
    naming ``Metadata.SfnExactVersion`` of the resource and the accepted form (``Pin: false``), rather
    than pinning the calls against the user's wish."""
    code, out, err = run(capsys, "check", "--json", TEMPLATES / "25_opt_out_misspelt.yaml")
    assert code == ERROR and out == ""
    assert "LowerCaseOptOut/Metadata/SfnExactVersion: unknown key pin" in err and "Pin: false" in err
    assert "QuotedOptOut" not in err


def test_unreadable_s3_definition_is_not_called_ok(capsys: pytest.CaptureFixture[str]) -> None:
    """26: ``DefinitionUri: {Bucket, Key}`` and no substitutions. The macro can see none of the calls
    (DESIGN: only ``DefinitionSubstitutions`` can be pinned there), yet ``check`` prints "ok: 0 Lambda
    call(s) pinned, none left unpinned" and the report has no warning. Say that the definition was not
    read and that calls written in it stay unpinned unless they go through substitutions."""
    code, out, err = run(capsys, "check", TEMPLATES / "26_definition_in_s3_bucket.yaml")
    assert code == FINDINGS
    assert "none left unpinned" not in out
    assert "Orders" in out + err and "S3" in out + err
    _, report = check_json(capsys, "26_definition_in_s3_bucket.yaml")
    assert [w for w in report["Warnings"] if "Orders" in w]


def test_policies_attached_by_role_name_allow_the_versions(capsys: pytest.CaptureFixture[str]) -> None:
    """27: ``PickPolicy`` is attached with ``Roles: [!Sub "${MachineRole}"]``, ``PackPolicy`` (a
    RolePolicy) with the role's literal ``RoleName``. The macro reads the state machine's ``RoleArn`` in
    these forms, but not a policy's ``Roles``/``RoleName``: neither statement gains ``:*``, no grant is
    made, the warning says no statement allows the functions, check says ok, and both pinned calls are
    denied at run time."""
    code, _ = check_json(capsys, "27_policies_attached_by_role_name.yaml")
    assert code == OK
    template = processed("27_policies_attached_by_role_name.yaml").result.template
    assert pinned_to(template, "Warehouse") == {"States.Pick": "PickFunction", "States.Pack": "PackFunction"}
    allowed = invoke_allowed(template, "MachineRole", {})
    assert {"<GetAtt PickFunction.Arn>", "<GetAtt PackFunction.Arn>"} <= allowed  # the reading sees both
    assert {"<GetAtt PickFunction.Arn>:*", "<GetAtt PackFunction.Arn>:*"} <= allowed


def test_conditional_role_policy_allows_the_versions() -> None:
    """28: SAM turns ``Policies: [!If [IsProd, {Statement: ...}, {Statement: ...}]]`` into an ``Fn::If``
    entry of the role's ``Policies``. The macro does not read it: in prod the only statement allows
    ``HelloFunction.Arn``, which does not cover ``HelloFunction:N``, and the pinned call is denied."""
    template = processed("28_sam_policies_fn_if.yaml").result.template
    assert pinned_to(template, "Greeter") == {"States.Greet": "HelloFunction"}
    allowed = invoke_allowed(template, "GreeterRole", {"IsProd": True})
    assert "<GetAtt HelloFunction.Arn>" in allowed  # the reading sees the prod statement
    allowed |= {f"<GetAtt {f}.Arn>:*" for f in grant_functions(template, "GreeterRole")}
    assert "<GetAtt HelloFunction.Arn>:*" in allowed


def test_transform_output_path_that_cannot_be_written(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    """``transform -o missing/dir/out.json`` ends in a ``FileNotFoundError`` traceback (from the console
    script: exit 1, which the README reserves for findings). Say which file could not be written, and
    exit 2 or 3, never with a traceback."""
    target = tmp_path / "missing" / "out.json"
    code, _, err = run(capsys, "transform", TEMPLATES / "04_jsonata_distributed_map.yaml", "-o", target)
    assert code in (2, ERROR)
    assert str(target) in err and "Traceback" not in err
