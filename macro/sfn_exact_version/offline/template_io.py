"""Read CloudFormation templates (YAML or JSON) into plain long-form data, and write them back.

YAML is read with PyYAML's safe loader plus a small CloudFormation layer:

- the short tags (``!Ref``, ``!GetAtt A.B``, ``!Sub``, ``!If``...) become their long form
  (``{"Ref": ...}``, ``{"Fn::GetAtt": ["A", "B"]}``, ``{"Fn::Sub": ...}``);
- a key written twice in one mapping is an error naming both lines (PyYAML would keep the last one
  silently, and CloudFormation rejects the template);
- YAML timestamps (``Version: 2012-10-17`` unquoted) stay the text they were written as, as
  CloudFormation reads them, instead of becoming ``datetime.date`` objects;
- the result is plain ``dict``/``list``/``str``/``int``/``float``/``bool``/``None``, so it can be passed
  to ``json.dumps`` and compared with ``==``.

JSON templates are read with the standard library, duplicate keys refused too.
"""

from __future__ import annotations

import datetime
import json
import os
from collections.abc import Mapping
from typing import Any, Literal

import yaml

from sfn_exact_version.offline.errors import TemplateLoadError

# YAML aliases are expanded into copies; refuse a document that expands beyond this many nodes
# (a few nested aliases can otherwise produce an exponentially large structure).
MAX_NODES = 2_000_000

_TIMESTAMP_TAG = "tag:yaml.org,2002:timestamp"


def load_template(path: str | os.PathLike[str]) -> dict[str, Any]:
    """Read a YAML or JSON template file into plain long-form data.

    Example::

        >>> import pathlib, tempfile
        >>> path = pathlib.Path(tempfile.mkdtemp()) / "template.yaml"
        >>> _ = path.write_text("Resources:\\n  Sm:\\n    Properties:\\n      RoleArn: !GetAtt SmRole.Arn\\n")
        >>> load_template(path)["Resources"]["Sm"]["Properties"]["RoleArn"]
        {'Fn::GetAtt': ['SmRole', 'Arn']}

    Raises ``TemplateLoadError`` naming the file (and the line, when known).
    """
    source = os.fspath(path)
    try:
        with open(source, encoding="utf-8-sig") as handle:
            text = handle.read()
    except FileNotFoundError:
        raise TemplateLoadError(f"{source}: file not found", path=source) from None
    except IsADirectoryError:
        raise TemplateLoadError(f"{source}: is a directory, not a template file", path=source) from None
    except UnicodeDecodeError as error:
        raise TemplateLoadError(f"{source}: not UTF-8 text ({error.reason})", path=source) from None
    except OSError as error:
        raise TemplateLoadError(f"{source}: cannot be read ({error.strerror})", path=source) from None
    return parse_template(text, source=source)


def parse_template(text: str, *, source: str = "<string>") -> dict[str, Any]:
    """Parse YAML or JSON text into plain long-form data; ``source`` names it in error messages.

    Text whose first non-blank character is ``{`` is read as JSON, anything else as YAML.

    Example::

        >>> parse_template("Outputs:\\n  QueueArn: {Value: !GetAtt Queue.Arn}")
        {'Outputs': {'QueueArn': {'Value': {'Fn::GetAtt': ['Queue', 'Arn']}}}}
    """
    stripped = text.lstrip()
    if not stripped:
        raise TemplateLoadError(f"{source}: the file is empty", path=source)
    data = _parse_json(text, source) if stripped.startswith("{") else _parse_yaml(text, source)
    if not isinstance(data, dict):
        kind = type(data).__name__
        raise TemplateLoadError(f"{source}: expected a mapping at the top level, found {kind}", path=source)
    try:
        plain = to_plain(data, max_nodes=MAX_NODES)
    except ValueError as error:
        raise TemplateLoadError(f"{source}: {error}", path=source) from None
    result: dict[str, Any] = plain
    return result


def to_plain(value: Any, *, max_nodes: int | None = None) -> Any:
    """Return a deep copy of ``value`` made of plain JSON types only.

    ``str``/``dict``/``list`` subclasses become the plain types, tuples become lists, dates become their
    ISO text, non-string keys become their JSON text. Raises ``ValueError`` for anything else, or when the
    copy would exceed ``max_nodes`` nodes.

    Example::

        >>> to_plain({"Version": datetime.date(2012, 10, 17), 200: ("a",)})
        {'Version': '2012-10-17', '200': ['a']}
    """
    budget = [max_nodes]

    def convert(item: Any) -> Any:
        if budget[0] is not None:
            budget[0] -= 1
            if budget[0] < 0:
                raise ValueError(f"the document expands to more than {max_nodes} nodes (YAML aliases?)")
        if isinstance(item, dict):
            return {_plain_key(key): convert(child) for key, child in item.items()}
        if isinstance(item, (list, tuple)):
            return [convert(child) for child in item]
        if item is None or isinstance(item, bool):
            return item
        if isinstance(item, str):
            return str(item)
        if isinstance(item, int):
            return int(item)
        if isinstance(item, float):
            return float(item)
        if isinstance(item, (datetime.date, datetime.time)):  # datetime.datetime is a date
            return item.isoformat()
        raise ValueError(f"unsupported value of type {type(item).__name__}: {item!r}")

    return convert(value)


def dump_template(template: Mapping[str, Any], fmt: Literal["json", "yaml"]) -> str:
    """Render a template as JSON (indent 2) or long-form YAML, always ending with a newline.

    The output is deterministic: keys keep their order, YAML never uses anchors or aliases, and
    multi-line strings are written as literal blocks (``|``) where YAML allows it.

    Example::

        >>> print(dump_template({"Outputs": {"A": {"Value": {"Ref": "Q"}}}}, "yaml"), end="")
        Outputs:
          A:
            Value:
              Ref: Q
    """
    if fmt == "json":
        return json.dumps(template, indent=2, ensure_ascii=False) + "\n"
    if fmt == "yaml":
        text: str = yaml.dump(
            to_plain(template),
            Dumper=_BlockStyleDumper,
            sort_keys=False,
            default_flow_style=False,
            allow_unicode=True,
            width=1_000_000,
        )
        return text
    raise ValueError(f"unknown template format {fmt!r}: expected 'json' or 'yaml'")


class _BlockStyleDumper(yaml.SafeDumper):
    """The safe dumper, without anchors/aliases (CloudFormation rejects them)."""

    def ignore_aliases(self, data: Any) -> bool:
        return True


def _represent_str(dumper: yaml.SafeDumper, data: str) -> yaml.ScalarNode:
    style = "|" if "\n" in data else None
    return dumper.represent_scalar("tag:yaml.org,2002:str", data, style=style)


_BlockStyleDumper.add_representer(str, _represent_str)


def _plain_key(key: Any) -> str:
    if isinstance(key, str):
        return str(key)
    # YAML allows keys such as 200 or true; JSON spells them as text.
    return json.dumps(to_plain(key))


def _parse_json(text: str, source: str) -> Any:
    def no_duplicates(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
        result: dict[str, Any] = {}
        for key, value in pairs:
            if key in result:
                raise _DuplicateKeyError(key)
            result[key] = value
        return result

    try:
        return json.loads(text, object_pairs_hook=no_duplicates)
    except json.JSONDecodeError as error:
        message = f"{source}:{error.lineno}:{error.colno}: invalid JSON: {error.msg}"
        raise TemplateLoadError(message, path=source, line=error.lineno) from None
    except _DuplicateKeyError as error:
        raise TemplateLoadError(f"{source}: duplicate key {error.key!r}", path=source) from None


class _DuplicateKeyError(ValueError):
    def __init__(self, key: str) -> None:
        super().__init__(key)
        self.key = key


def _parse_yaml(text: str, source: str) -> Any:
    loader = _CfnLoader(text)
    try:
        return loader.get_single_data()
    except _DuplicateYamlKeyError as error:
        message = (
            f"{source}:{error.line}:{error.column}: duplicate key {error.key!r} "
            f"(first written at line {error.first_line})"
        )
        raise TemplateLoadError(message, path=source, line=error.line) from None
    except yaml.MarkedYAMLError as error:
        raise _yaml_error(error, source) from None
    except yaml.YAMLError as error:
        raise TemplateLoadError(f"{source}: invalid YAML: {error}", path=source) from None
    finally:
        loader.dispose()


def _yaml_error(error: yaml.MarkedYAMLError, source: str) -> TemplateLoadError:
    mark = error.problem_mark or error.context_mark
    problem = error.problem or "invalid YAML"
    if error.context:
        problem = f"{error.context}: {problem}"
    if mark is None:
        return TemplateLoadError(f"{source}: {problem}", path=source)
    line = mark.line + 1
    return TemplateLoadError(f"{source}:{line}:{mark.column + 1}: {problem}", path=source, line=line)


class _DuplicateYamlKeyError(yaml.YAMLError):
    def __init__(self, key: Any, first: yaml.Mark, again: yaml.Mark) -> None:
        super().__init__(f"duplicate key {key!r}")
        self.key = key
        self.first_line = first.line + 1
        self.line = again.line + 1
        self.column = again.column + 1


# The short tags whose long form is not "Fn::<tag>".
_UNPREFIXED_TAGS = frozenset({"Ref", "Condition"})


class _CfnLoader(yaml.SafeLoader):
    """PyYAML's safe loader with CloudFormation's short tags, timestamps as text, duplicate keys refused."""

    def construct_mapping(self, node: yaml.MappingNode, deep: bool = False) -> dict[Any, Any]:
        first: dict[Any, yaml.Mark] = {}
        for key_node, _ in node.value:
            if key_node.tag == "tag:yaml.org,2002:merge":
                continue  # "<<": merged keys may be overridden, as YAML intends
            key = self.construct_object(key_node, deep=True)
            try:
                seen = key in first
            except TypeError:  # an unhashable key: the base class reports it
                continue
            if seen:
                raise _DuplicateYamlKeyError(key, first[key], key_node.start_mark)
            first[key] = key_node.start_mark
        return super().construct_mapping(node, deep=deep)


def _short_tag(loader: _CfnLoader, suffix: str, node: yaml.Node) -> dict[str, Any]:
    name = suffix if suffix in _UNPREFIXED_TAGS else f"Fn::{suffix}"
    value: Any
    if isinstance(node, yaml.ScalarNode):
        value = loader.construct_scalar(node)
        if name == "Fn::GetAtt":  # !GetAtt Stack.Outputs.Arn: the resource, then the rest
            value = value.split(".", 1)
    elif isinstance(node, yaml.SequenceNode):
        value = loader.construct_sequence(node, deep=True)
    else:
        value = loader.construct_mapping(node, deep=True)  # type: ignore[arg-type]
    return {name: value}


def _timestamp_as_text(loader: _CfnLoader, node: yaml.Node) -> str:
    return str(loader.construct_scalar(node))  # type: ignore[arg-type]


_CfnLoader.add_constructor(_TIMESTAMP_TAG, _timestamp_as_text)
_CfnLoader.add_multi_constructor("!", _short_tag)
