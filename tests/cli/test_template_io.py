"""Reading and writing templates: short tags, plain data, error positions, deterministic output."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from sfn_exact_version.offline.errors import TemplateLoadError
from sfn_exact_version.offline.template_io import dump_template, load_template, parse_template, to_plain

FIXTURES = Path(__file__).resolve().parent / "fixtures"


def _assert_plain(value: Any, path: str = "") -> None:
    """Only exact JSON types, no subclasses (cfn-lint's nodes subclass dict/list/str)."""
    if isinstance(value, dict):
        assert type(value) is dict, path
        for key, child in value.items():
            assert type(key) is str, f"{path}/{key!r}"
            _assert_plain(child, f"{path}/{key}")
    elif isinstance(value, list):
        assert type(value) is list, path
        for index, child in enumerate(value):
            _assert_plain(child, f"{path}/{index}")
    else:
        assert value is None or type(value) in (str, int, float, bool), f"{path}: {type(value)}"


@pytest.fixture(scope="module")
def tags() -> dict[str, Any]:
    return load_template(FIXTURES / "all_short_tags.yaml")


def test_short_tags_become_long_form(tags: dict[str, Any]) -> None:
    conditions = tags["Conditions"]
    assert conditions["IsProd"] == {"Fn::Equals": [{"Ref": "Env"}, "prod"]}
    assert conditions["IsDev"] == {"Fn::Not": [{"Condition": "IsProd"}]}
    assert conditions["Both"] == {"Fn::And": [{"Condition": "IsProd"}, {"Condition": "IsDev"}]}
    assert conditions["Either"] == {"Fn::Or": [{"Condition": "IsProd"}, {"Condition": "IsDev"}]}

    fn = tags["Resources"]["Fn"]["Properties"]
    assert fn["Role"] == {"Fn::GetAtt": ["Role", "Arn"]}
    assert fn["MemorySize"] == {"Fn::FindInMap": ["Sizes", {"Ref": "Env"}, "Memory"]}
    assert fn["Code"] == {"ZipFile": {"Fn::Base64": "print('hi')"}}
    variables = fn["Environment"]["Variables"]
    assert variables["TABLE"] == {"Fn::ImportValue": "shared-table"}
    assert variables["QUEUE"] == {"Fn::Select": [1, {"Fn::Split": [",", "a,b,c"]}]}
    assert variables["AZ"] == {"Fn::Select": [0, {"Fn::GetAZs": ""}]}
    assert variables["CIDR"] == {"Fn::Select": [0, {"Fn::Cidr": ["10.0.0.0/16", 4, 8]}]}
    assert variables["NAME"] == {"Fn::Join": ["-", [{"Ref": "AWS::StackName"}, "fn"]]}
    assert variables["SIZE"] == {"Fn::If": ["IsProd", "large", {"Ref": "AWS::NoValue"}]}
    assert variables["SUB"] == {"Fn::Sub": "arn:${AWS::Partition}:states:::lambda:invoke"}

    sm = tags["Resources"]["Sm"]["Properties"]
    assert sm["RoleArn"] == {"Fn::GetAtt": ["Role", "Arn"]}
    assert sm["Tags"] == {
        "Fn::Transform": {"Name": "AWS::Include", "Parameters": {"Location": "s3://bucket/tags.yaml"}}
    }


def test_sub_with_variables_is_a_two_element_list(tags: dict[str, Any]) -> None:
    sub = tags["Resources"]["Sm"]["Properties"]["DefinitionString"]["Fn::Sub"]
    assert isinstance(sub, list) and len(sub) == 2
    assert json.loads(sub[0])["States"]["A"]["Resource"] == "${Arn}"
    assert sub[1] == {"Arn": {"Fn::GetAtt": ["Fn", "Arn"]}}


def test_getatt_string_form_splits_at_the_first_dot_only(tags: dict[str, Any]) -> None:
    assert tags["Outputs"]["Nested"]["Value"] == {"Fn::GetAtt": ["Stack", "Outputs.FunctionArn"]}


def test_unquoted_dates_stay_text(tags: dict[str, Any]) -> None:
    assert tags["AWSTemplateFormatVersion"] == "2010-09-09"
    document = tags["Resources"]["Role"]["Properties"]["AssumeRolePolicyDocument"]
    assert document["Version"] == "2012-10-17"
    timestamp = parse_template("When: 2001-12-14t21:59:43.10-05:00\n")
    assert timestamp == {"When": "2001-12-14t21:59:43.10-05:00"}


def test_result_is_plain_json_data(tags: dict[str, Any]) -> None:
    _assert_plain(tags)
    assert json.loads(json.dumps(tags)) == tags


def test_yaml_aliases_are_expanded_into_independent_copies() -> None:
    template = parse_template("A: &shared {k: v}\nB: *shared\n")
    assert template == {"A": {"k": "v"}, "B": {"k": "v"}}
    assert template["A"] is not template["B"]


def test_non_string_keys_become_text() -> None:
    assert parse_template("Codes:\n  200: ok\n  true: yes\n") == {"Codes": {"200": "ok", "true": True}}


def test_json_template() -> None:
    template = load_template(FIXTURES / "simple.json")
    assert template["Outputs"]["QueueArn"] == {"Value": {"Fn::GetAtt": ["Queue", "Arn"]}}
    assert template["AWSTemplateFormatVersion"] == "2010-09-09"
    _assert_plain(template)


def test_json_with_byte_order_mark(tmp_path: Path) -> None:
    path = tmp_path / "bom.json"
    path.write_bytes(b"\xef\xbb\xbf" + b'{"Resources": {}}')
    assert load_template(path) == {"Resources": {}}


def test_yaml_syntax_error_names_file_and_line(tmp_path: Path) -> None:
    path = tmp_path / "broken.yaml"
    path.write_text("Resources:\n  Queue:\n    Type: AWS::SQS::Queue\n   Properties: {}\n")
    with pytest.raises(TemplateLoadError) as caught:
        load_template(path)
    assert caught.value.line == 4
    assert caught.value.path == str(path)
    assert caught.value.message.startswith(f"{path}:4:")


def test_unclosed_flow_mapping_reports_a_line(tmp_path: Path) -> None:
    path = tmp_path / "broken.yaml"
    path.write_text("Resources:\n  Queue: {Type: AWS::SQS::Queue\nOutputs: {}\n")
    with pytest.raises(TemplateLoadError) as caught:
        load_template(path)
    assert caught.value.line is not None and caught.value.line >= 2
    assert str(path) in caught.value.message


def test_duplicate_yaml_keys_are_an_error_with_lines(tmp_path: Path) -> None:
    path = tmp_path / "dup.yaml"
    path.write_text("Resources:\n  Queue:\n    Type: AWS::SQS::Queue\n  Queue:\n    Type: AWS::SNS::Topic\n")
    with pytest.raises(TemplateLoadError) as caught:
        load_template(path)
    assert caught.value.line == 4
    assert caught.value.message == f"{path}:4:3: duplicate key 'Queue' (first written at line 2)"


def test_duplicate_keys_in_a_short_tag_and_merge_keys(tmp_path: Path) -> None:
    with pytest.raises(
        TemplateLoadError, match=r"^<string>:3:18: duplicate key 'A' \(first written at line 3\)$"
    ):
        parse_template("X: !Sub\n  - x\n  - {A: 1, B: 2, A: 3}\n")
    # "<<" merges: a key given again next to a merge overrides the merged one, as YAML intends
    assert parse_template("A: &a {k: v, j: 1}\nB:\n  <<: *a\n  k: w\n")["B"] == {"k": "w", "j": 1}


def test_cfn_lint_is_not_needed_to_read_yaml() -> None:
    code = (
        "import sys; sys.modules['cfnlint'] = None\n"
        "from sfn_exact_version.offline.template_io import parse_template\n"
        "print(parse_template('A: !GetAtt B.Arn'))\n"
    )
    macro = str(Path(__file__).resolve().parents[2] / "macro")
    env = {**os.environ, "PYTHONPATH": macro}
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=False, env=env)
    assert (done.returncode, done.stdout) == (0, "{'A': {'Fn::GetAtt': ['B', 'Arn']}}\n"), done.stderr


def test_json_syntax_error_names_file_and_line(tmp_path: Path) -> None:
    path = tmp_path / "broken.json"
    path.write_text('{\n  "Resources": {\n    "Queue": {"Type": "AWS::SQS::Queue",}\n  }\n}\n')
    with pytest.raises(TemplateLoadError) as caught:
        load_template(path)
    assert caught.value.line == 3
    assert caught.value.message.startswith(f"{path}:3:")


def test_duplicate_json_keys_are_an_error(tmp_path: Path) -> None:
    path = tmp_path / "dup.json"
    path.write_text('{"Resources": {"Q": {"Type": "A"}, "Q": {"Type": "B"}}}')
    with pytest.raises(TemplateLoadError, match="duplicate key 'Q'"):
        load_template(path)


@pytest.mark.parametrize(
    ("content", "expected"),
    [
        ("", "empty"),
        ("   \n", "empty"),
        ("- a\n- b\n", "expected a mapping at the top level, found list"),
        ("just text\n", "expected a mapping at the top level, found str"),
    ],
)
def test_not_a_template(tmp_path: Path, content: str, expected: str) -> None:
    path = tmp_path / "t.yaml"
    path.write_text(content)
    with pytest.raises(TemplateLoadError, match=expected):
        load_template(path)


def test_missing_file(tmp_path: Path) -> None:
    with pytest.raises(TemplateLoadError, match="file not found") as caught:
        load_template(tmp_path / "nope.yaml")
    assert caught.value.path == str(tmp_path / "nope.yaml")


def test_node_budget() -> None:
    nested: Any = "x"
    for _ in range(5):
        nested = [nested, nested]
    assert len(json.dumps(to_plain(nested, max_nodes=63))) > 0
    with pytest.raises(ValueError, match="more than 62 nodes"):
        to_plain(nested, max_nodes=62)


def test_dump_json_format(tags: dict[str, Any]) -> None:
    text = dump_template(tags, "json")
    assert text.endswith("}\n") and not text.endswith("\n\n")
    assert text.startswith('{\n  "AWSTemplateFormatVersion": "2010-09-09",\n')
    assert json.loads(text) == tags


def test_dump_yaml_round_trips_and_is_deterministic(tags: dict[str, Any]) -> None:
    text = dump_template(tags, "yaml")
    assert text == dump_template(tags, "yaml")
    assert text.endswith("\n")
    assert "Fn::GetAtt:" in text and "!GetAtt" not in text  # long form
    assert parse_template(text) == tags
    assert list(parse_template(text)) == list(tags)  # key order kept


def test_dump_yaml_quotes_date_like_strings() -> None:
    text = dump_template({"Version": "2012-10-17"}, "yaml")
    assert text == "Version: '2012-10-17'\n"


def test_dump_yaml_never_uses_aliases() -> None:
    shared = {"Ref": "Fn"}
    text = dump_template({"A": shared, "B": shared}, "yaml")
    assert "&" not in text and "*" not in text
    assert text == "A:\n  Ref: Fn\nB:\n  Ref: Fn\n"


def test_dump_yaml_writes_multiline_strings_as_blocks() -> None:
    definition = '{\n  "StartAt": "A"\n}'
    text = dump_template({"DefinitionString": definition}, "yaml")
    assert text.startswith("DefinitionString: |-\n")
    assert parse_template(text) == {"DefinitionString": definition}


def test_dump_yaml_keeps_long_lines_on_one_line() -> None:
    long_value = "x" * 500 + " " + "y" * 500
    assert dump_template({"A": long_value}, "yaml") == f"A: {long_value}\n"


def test_dump_rejects_unknown_format() -> None:
    with pytest.raises(ValueError, match="unknown template format"):
        dump_template({}, "toml")  # type: ignore[arg-type]
