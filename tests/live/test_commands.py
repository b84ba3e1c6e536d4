"""The preflight and prune commands end to end, offline (moto + fakes, see conftest.py)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from tests.live.conftest import FN
from tests.live.fakes import ACCOUNT, client_error

from sfn_exact_version.cli import aws_session, preflight_command, prune_command
from sfn_exact_version.cli.main import main
from support import getatt, role, statement

REPO = Path(__file__).resolve().parents[2]


@pytest.fixture
def aws(world: dict[str, Any], monkeypatch: pytest.MonkeyPatch) -> dict[str, Any]:
    for module in (preflight_command, prune_command):
        monkeypatch.setattr(module, "session", lambda args, command: world["session"])
    return world


def function(name: str) -> dict[str, Any]:
    return {
        "Type": "AWS::Lambda::Function",
        "Properties": {
            "FunctionName": name,
            "Runtime": "python3.12",
            "Handler": "index.handler",
            "Role": f"arn:aws:iam::{ACCOUNT}:role/fn-role",
            "Code": {"ZipFile": "def handler(event, context):\n    return 1\n"},
        },
    }


def template(*names: str) -> dict[str, Any]:
    """The app: the named functions, a role allowing them, a state machine calling each in turn."""
    states = {}
    for position, name in enumerate(names):
        states[name] = {
            "Type": "Task",
            "Resource": "arn:aws:states:::lambda:invoke",
            "Parameters": {"FunctionName": "${" + name + "Function.Arn}"},
            **({"Next": names[position + 1]} if position + 1 < len(names) else {"End": True}),
        }
    text = json.dumps({"StartAt": names[0], "States": states})
    resources: dict[str, Any] = {f"{n}Function": function(n.lower()) for n in names}
    resources["SmRole"] = role(statement([getatt(f"{n}Function") for n in names]))
    resources["Approval"] = {
        "Type": "AWS::StepFunctions::StateMachine",
        "Properties": {"RoleArn": {"Fn::GetAtt": ["SmRole", "Arn"]}, "DefinitionString": {"Fn::Sub": text}},
    }
    return {"Transform": "SfnExactVersion", "Resources": resources}


def write(tmp_path: Path, body: dict[str, Any]) -> str:
    path = tmp_path / "template.json"
    path.write_text(json.dumps(body))
    return str(path)


def deployed(world: dict[str, Any], worker_policy: str | None) -> None:
    resources = template("Hello", "Worker")["Resources"]
    if worker_policy:
        resources["WorkerFunction"]["DeletionPolicy"] = worker_policy
    world["cfn"].template = {"Resources": resources}


def test_preflight_same_app_nothing_at_risk(aws: dict[str, Any], tmp_path: Path, capsys: Any) -> None:
    deployed(aws, None)
    code = main(["preflight", write(tmp_path, template("Hello", "Worker")), "--stack", "app"])
    out, err = capsys.readouterr()
    assert code == 0, err
    expected = (
        "ok: 8 execution(s) that may still run and 2 state machine version(s) an alias routes to checked"
    )
    assert out == expected + ", none at risk.\n"
    assert "fast is an EXPRESS state machine" in err


def test_preflight_removing_a_function_still_called_exits_1(
    aws: dict[str, Any], tmp_path: Path, capsys: Any
) -> None:
    deployed(aws, None)
    code = main(["preflight", write(tmp_path, template("Hello")), "--stack", "app"])
    out, err = capsys.readouterr()
    assert code == 1
    lines = out.splitlines()
    assert [line.split(" at ")[0] for line in lines] == [
        "new1 (RUNNING and 1 Map children)",
        "new2 (RUNNING)",
        "new3 (RUNNING)",
        "approval version 3 (routed by alias live 10%)",  # the alias is not the stack's: it stays
    ]
    assert all(
        "calls worker:2: WorkerFunction leaves the template without DeletionPolicy: Retain" in line
        for line in lines
    )
    assert all("Fix: deploy once with DeletionPolicy: Retain" in line for line in lines)
    assert "4 call(s) of running executions at risk" in err


def test_preflight_retained_function_is_safe_and_json(
    aws: dict[str, Any], tmp_path: Path, capsys: Any
) -> None:
    deployed(aws, "Retain")
    code = main(["preflight", write(tmp_path, template("Hello")), "--stack", "app", "--json"])
    out, _ = capsys.readouterr()
    assert code == 0
    assert json.loads(out)["at_risk"] == [] and json.loads(out)["checked_executions"] == 8


def test_preflight_exit_codes_for_aws_and_template(aws: dict[str, Any], tmp_path: Path, capsys: Any) -> None:
    deployed(aws, None)
    broken = template("Hello")
    broken["Resources"]["Approval"]["Properties"]["DefinitionString"] = "{not json"
    assert main(["preflight", write(tmp_path, broken), "--stack", "app"]) == 3
    assert "Approval" in capsys.readouterr().err
    aws["sfn"].errors["describe_state_machine"] = [
        client_error("AccessDeniedException", "DescribeStateMachine")
    ]
    assert main(["preflight", write(tmp_path, template("Hello")), "--stack", "app"]) == 4
    assert "missing IAM permission states:DescribeStateMachine" in capsys.readouterr().err


def test_prune_dry_run_changes_nothing(aws: dict[str, Any], capsys: Any) -> None:
    code = main(["prune", "--stack", "app", "--keep", "0", "--min-age", "0"])
    out, _ = capsys.readouterr()
    assert code == 0
    assert f"delete  lambda-version         {FN}hello:4\n" in out
    assert f"delete  function               {FN}gone\n" in out
    assert "delete  role-policy            sm-role: inline policy SfnExactVersion-bbbb" in out
    assert f"keep    lambda-version         {FN}hello:1\n" in out
    # hello:3 has eight reasons: four shown, then a count
    assert "and 4 more reasons (--json lists all)" in out
    assert "Dry run: 4 item(s) would be deleted; rerun with --apply to delete them." in out
    versions = aws["lambda"].list_versions_by_function(FunctionName="hello")["Versions"]
    assert len(versions) == 5


def test_prune_defaults_keep_the_newest_two(aws: dict[str, Any], capsys: Any) -> None:
    assert main(["prune", "--stack", "app", "--min-age", "0", "--json"]) == 0
    data = json.loads(capsys.readouterr().out)
    assert data["applied"] is False
    kept = {item["arn"]: item["reasons"] for item in data["keep"]}
    assert "among the newest 2 versions (--keep)" in kept[FN + "hello:4"]
    assert FN + "hello:4" not in {item["arn"] for item in data["delete"]}


def test_prune_apply(aws: dict[str, Any], capsys: Any) -> None:
    aws["sfn"].errors["delete_state_machine_version"] = [
        client_error("ConflictException", "DeleteStateMachineVersion")
    ]
    code = main(["prune", "--stack", "app", "--keep", "0", "--min-age", "0", "--apply", "--json"])
    data = json.loads(capsys.readouterr().out)
    assert code == 1  # one refusal, reported
    assert {item["kind"] for item in data["deleted"]} == {"lambda-version", "function", "role-policy"}
    (refused,) = data["refused"]
    assert refused["arn"] == aws["v1"] and "ConflictException" in refused["error"]
    versions = [
        v["Version"] for v in aws["lambda"].list_versions_by_function(FunctionName="hello")["Versions"]
    ]
    assert versions == ["$LATEST", "1", "2", "3"]


def test_prune_by_function_warns_without_state_machines(aws: dict[str, Any], capsys: Any) -> None:
    assert main(["prune", "--function", "worker", "--keep", "0", "--min-age", "0"]) == 0
    out = capsys.readouterr().out
    assert f"keep    lambda-version         {FN}worker:1" in out  # its event source mapping
    assert "no --state-machine given" in out


def _usage_error(argv: list[str], capsys: Any) -> str:
    """Run ``argv``, which must stop with a usage error (exit 2): its message, with the usage line."""
    with pytest.raises(SystemExit) as raised:
        main(argv)
    assert raised.value.code == 2
    return str(capsys.readouterr().err)


def test_prune_usage(aws: dict[str, Any], capsys: Any) -> None:
    for argv in (["prune"], ["prune", "--stack", "app", "--function", "x"]):
        err = _usage_error(argv, capsys)
        assert err.startswith("usage: sfn-exact-version prune ") and "give either --stack NAME" in err
    assert "--keep takes a number >= 0" in _usage_error(["prune", "--stack", "app", "--keep", "-1"], capsys)
    assert main(["prune", "--state-machine", aws["machine"]]) == 0  # state machine versions only
    assert "a duration like 30m" in _usage_error(["prune", "--stack", "app", "--min-age", "soon"], capsys)


def test_preflight_reads_parameter_values_as_the_other_commands_do(
    aws: dict[str, Any], tmp_path: Path, capsys: Any
) -> None:
    """The template may follow --parameter-overrides, SAM's ParameterKey= form is read, and a parameter
    the template does not declare is a usage error naming it, shown with preflight's usage."""
    deployed(aws, None)
    body = template("Hello", "Worker")
    body["Parameters"] = {"Stage": {"Type": "String", "Default": "dev"}}
    path = write(tmp_path, body)
    for overrides in (["Stage=prod"], ["ParameterKey=Stage,ParameterValue=prod"]):
        assert main(["preflight", "--stack", "app", "--parameter-overrides", *overrides, path]) == 0
        assert "none at risk" in capsys.readouterr().out
    err = _usage_error(["preflight", path, "--stack", "app", "--parameter-overrides", "Nope=1"], capsys)
    assert err.startswith("usage: sfn-exact-version preflight ") and "Nope" in err
    assert "the following arguments are required: template" in _usage_error(
        ["preflight", "--stack", "app"], capsys
    )


def test_preflight_under_a_custom_macro_name(aws: dict[str, Any], tmp_path: Path, capsys: Any) -> None:
    """Deployed under another name, the macro is what CloudFormation runs: preflight judges its output
    when told the name (and SAM's alone, with the calls unpinned, when not)."""
    deployed(aws, "Retain")
    body = template("Hello")
    body["Transform"] = "PinVersions"
    path = write(tmp_path, body)
    assert main(["preflight", path, "--stack", "app", "--macro-name", "PinVersions", "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["at_risk"] == []


def test_prune_refuses_to_apply_during_an_update(aws: dict[str, Any], capsys: Any) -> None:
    aws["cfn"].status = "UPDATE_IN_PROGRESS"
    assert main(["prune", "--stack", "app", "--apply"]) == 4
    assert "UPDATE_IN_PROGRESS; nothing deleted" in capsys.readouterr().err


def test_durations() -> None:
    assert prune_command.duration("1h30m").total_seconds() == 5400
    assert prune_command.duration("2d").days == 2
    assert prune_command.duration("0").total_seconds() == 0


def test_without_boto3_the_cli_starts_and_the_account_commands_say_how_to_install(tmp_path: Path) -> None:
    # A template without SAM (aws-sam-translator itself needs boto3).
    plain = write(tmp_path, template("Hello"))
    script = f"""
import sys
sys.modules["boto3"] = None  # as if boto3 were not installed
from sfn_exact_version.cli.main import main
assert not [name for name in sys.modules if name.startswith("botocore")], "botocore imported"
code = main(["check", {plain!r}])
assert code == 0, code
code = main(["prune", "--stack", "app"])
print("prune", code)
"""
    done = subprocess.run(
        [sys.executable, "-c", script],
        capture_output=True,
        text=True,
        check=False,
        cwd=REPO,
        env={"PYTHONPATH": f"{REPO / 'macro'}:{REPO}", "PATH": "/usr/bin:/bin"},
    )
    assert done.returncode == 0, done.stderr
    assert "prune 4" in done.stdout
    assert aws_session.INSTALL_HINT in done.stderr


def test_preflight_judges_what_cloudformation_will_deploy(
    aws: dict[str, Any], tmp_path: Path, capsys: Any
) -> None:
    """Without the macro in Transform, the role keeps only the unqualified ARNs: pinned executions lose
    their permission. With it, the macro allows the versions and nothing is at risk."""
    deployed(aws, None)
    aws["iam"].delete_role_policy(RoleName="sm-role", PolicyName="SfnExactVersion-aaaa")
    plain = template("Hello", "Worker")
    del plain["Transform"]
    assert main(["preflight", write(tmp_path, plain), "--stack", "app"]) == 1
    out = capsys.readouterr().out
    assert "role sm-role will no longer allow lambda:InvokeFunction on it" in out
    assert "old (RUNNING) at States.Hello calls hello:1" in out
    assert main(["preflight", write(tmp_path, template("Hello", "Worker")), "--stack", "app"]) == 0


def test_prune_stack_with_a_state_machine_of_another_stack(aws: dict[str, Any], capsys: Any) -> None:
    """A state machine outside the stack that calls hello:4 keeps it."""
    other = aws["sfn"].add_machine(
        "other",
        json.dumps(
            {"StartAt": "A", "States": {"A": {"Type": "Task", "Resource": FN + "hello:4", "End": True}}}
        ),
        aws["sm_role"],
        "other1",
    )
    assert main(["prune", "--stack", "app", "--keep", "0", "--min-age", "0", "--json"]) == 0
    assert FN + "hello:4" in {item["arn"] for item in json.loads(capsys.readouterr().out)["delete"]}
    assert (
        main(["prune", "--stack", "app", "--state-machine", other, "--keep", "0", "--min-age", "0", "--json"])
        == 0
    )
    kept = {item["arn"]: item["reasons"] for item in json.loads(capsys.readouterr().out)["keep"]}
    assert kept[FN + "hello:4"] == ["current definition of other may call it (States.A)"]
