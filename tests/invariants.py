"""Properties every transform result must have, whatever the template.

``check_invariants(fragment, result_template, transform_kwargs=...)`` asserts them; golden tests and
any other suite (property-based, CLI) call it after ``transform``. ``cfn_lint_errors`` lints a template
offline and returns its error-level findings.

What is asserted:

(a) the input is not mutated;
(b) the transform is deterministic (a second run gives byte-identical JSON);
(c) it is idempotent (transforming the output again gives an equal template);
(d) it changes only what it may: ``Metadata.SfnExactVersion``, state machine definitions, existing
    versions' Description and (missing) retention policies, IAM statement ``Resource``/``NotResource``
    lists that gain ``<entry>:*`` (or ``<function ARN>:*`` beside a version of it), new
    ``AWS::Lambda::Version`` resources of in-template functions, each called by a state machine of the
    output, and retained grants (``AWS::IAM::RolePolicy``, Retain) of a role of the input for the
    versions of a function a state machine calls; a state machine that opts out
    (``Metadata.SfnExactVersion.Pin: false``) is untouched, and so is the Description of a version of
    a function that opts out;
(e) every version the definition of a state machine of the output references (``Ref``, ``GetAtt``,
    ``${...}``, substitution values) keeps ``Retain`` unless the input chose otherwise; state machines
    that opt out are not looked at;
(f) every version of the output whose Description carries the marker ``[SfnExactVersion <16 hex>]``
    belongs to a function whose own Description ends with the same marker (the function changes whenever
    a version's identity does, so Lambda always has something to publish); a function changes only in its
    Description (the marker added after the user's text) and its missing retention policies (Retain);
    the function of every version under (e) is retained too, unless it sets ``RetainFunction: false`` or
    the input chose another policy.

Import it from any suite: ``from invariants import ...`` (pytest's ``pythonpath`` setting puts ``tests``
on the path).
"""

from __future__ import annotations

import copy
import functools
import json
import re
from collections.abc import Mapping
from typing import Any

from sfn_exact_version.intrinsics import condition_names, references, symbolic
from sfn_exact_version.intrinsics import render as render_symbolic
from sfn_exact_version.transform import transform
from sfn_exact_version.versions import own_description

METADATA_KEY = "SfnExactVersion"
STATE_MACHINE = "AWS::StepFunctions::StateMachine"
FUNCTION = "AWS::Lambda::Function"
VERSION = "AWS::Lambda::Version"
GRANT_TYPE = "AWS::IAM::RolePolicy"
IAM_TYPES = frozenset(
    {"AWS::IAM::Role", "AWS::IAM::Policy", "AWS::IAM::RolePolicy", "AWS::IAM::ManagedPolicy"}
)
DEFINITION_KEYS = frozenset({"Definition", "DefinitionString", "DefinitionSubstitutions"})
RETENTION = ("DeletionPolicy", "UpdateReplacePolicy")


def _opted_out(resource: Any) -> bool:
    metadata = resource.get("Metadata") if isinstance(resource, dict) else None
    options = metadata.get(METADATA_KEY) if isinstance(metadata, dict) else None
    return isinstance(options, dict) and options.get("Pin") is False


def _definition_references(resource: Mapping[str, Any]) -> set[str]:
    properties = resource.get("Properties", {})
    return set(references([properties.get(key) for key in sorted(DEFINITION_KEYS)]))


def _dump(value: Any) -> str:
    return json.dumps(value, sort_keys=False)


def check_invariants(
    fragment: Mapping[str, Any], result_template: Mapping[str, Any], *, transform_kwargs: Mapping[str, Any]
) -> None:
    """Assert (a) to (e) above for ``result_template = transform(fragment, **transform_kwargs).template``."""
    pristine = copy.deepcopy(fragment)

    # (b) deterministic
    again = transform(fragment, **transform_kwargs).template
    assert _dump(again) == _dump(result_template), "a second transform of the same input differs"
    # (a) not mutated, by either run
    assert fragment == pristine, "transform mutated its input"
    assert _dump(fragment) == _dump(pristine), "transform mutated its input (key order)"

    # (c) idempotent; transforming the output must not mutate it either (it shares objects with the input)
    output_before = copy.deepcopy(result_template)
    second = transform(result_template, **transform_kwargs).template
    assert result_template == output_before, "transforming the output mutated it"
    assert fragment == pristine, "transforming the output mutated the original input"
    assert second == result_template, "transforming the output again changes it:\n" + _first_difference(
        result_template, second
    )

    _check_allowed_changes(pristine, result_template)
    _check_retention(pristine, result_template)
    _check_markers(result_template)


def _first_difference(left: Any, right: Any, path: str = "") -> str:
    if isinstance(left, dict) and isinstance(right, dict):
        for key in list(left) + [key for key in right if key not in left]:
            if key not in left or key not in right:
                return f"{path}/{key}: only in {'output' if key in left else 'second output'}"
            if left[key] != right[key]:
                return _first_difference(left[key], right[key], f"{path}/{key}")
    if isinstance(left, list) and isinstance(right, list) and len(left) == len(right):
        for position, (a, b) in enumerate(zip(left, right, strict=True)):
            if a != b:
                return _first_difference(a, b, f"{path}/{position}")
    return f"{path}: {_dump(left)} != {_dump(right)}"


# ----------------------------------------------------------------------------------------- (d)
def _check_allowed_changes(before: Mapping[str, Any], after: Mapping[str, Any]) -> None:
    extra = set(after) - set(before)
    assert extra <= {"Metadata"}, f"new top-level keys {sorted(extra)}"
    assert set(before) <= set(after), f"top-level keys dropped: {sorted(set(before) - set(after))}"
    for key in before:
        if key in ("Resources", "Metadata"):
            continue
        assert _dump(before[key]) == _dump(after[key]), f"top-level {key} changed"
    metadata_before = before.get("Metadata", {})
    metadata_after = dict(after.get("Metadata", {}))
    assert isinstance(metadata_after.pop(METADATA_KEY, None), dict), "Metadata.SfnExactVersion report missing"
    assert _dump({k: v for k, v in metadata_before.items() if k != METADATA_KEY}) == _dump(metadata_after), (
        "template Metadata other than SfnExactVersion changed"
    )

    resources_before = before["Resources"]
    resources_after = after["Resources"]
    missing = set(resources_before) - set(resources_after)
    assert not missing, f"resources dropped: {sorted(missing)}"
    for logical_id, old in resources_before.items():
        new = resources_after[logical_id]
        kind = old.get("Type")
        assert new.get("Type") == kind, f"{logical_id}: Type changed"
        if kind == STATE_MACHINE and _opted_out(old):
            assert _dump(old) == _dump(new), f"{logical_id} opts out but was changed"
        elif kind == STATE_MACHINE:
            _check_state_machine(logical_id, old, new)
        elif kind == VERSION:
            _check_existing_version(logical_id, old, new, resources_before)
        elif kind in IAM_TYPES:
            _check_iam(logical_id, old, _without_added_retain(logical_id, old, new, resources_after))
        elif kind == FUNCTION:
            _check_function(logical_id, old, new)
        else:
            assert _dump(old) == _dump(new), f"{logical_id} ({kind}) changed"
    called: set[str] = set()
    for resource in resources_after.values():
        if resource.get("Type") == STATE_MACHINE:
            called |= _definition_references(resource)
    for logical_id in sorted(resources_after.keys() - resources_before.keys()):
        if resources_after[logical_id].get("Type") == GRANT_TYPE:
            report = after.get("Metadata", {}).get(METADATA_KEY, {})
            by_number = {
                item["StateMachine"]
                for item in report.get("LeftAlone", [])
                if item.get("Reason") == "qualified"
            }
            _check_new_grant(
                logical_id, resources_after[logical_id], resources_before, resources_after, by_number
            )
            continue
        _check_new_version(logical_id, resources_after[logical_id], resources_before)
        assert logical_id in called, f"new version {logical_id} is called by no state machine"


def _without(resource: Mapping[str, Any], top: set[str], properties: set[str]) -> dict[str, Any]:
    """``resource`` without the ``top`` keys and the ``properties`` keys of its Properties. A missing
    Properties counts as an empty one: the macro may give a function that has none its Description."""
    out = {key: value for key, value in resource.items() if key not in top}
    if isinstance(out.get("Properties", {}), dict):
        out["Properties"] = {
            key: value for key, value in out.get("Properties", {}).items() if key not in properties
        }
    return out


def _check_state_machine(logical_id: str, old: Mapping[str, Any], new: Mapping[str, Any]) -> None:
    assert _dump(_without(old, set(), set(DEFINITION_KEYS))) == _dump(
        _without(new, set(), set(DEFINITION_KEYS))
    ), f"{logical_id}: a state machine changed outside Definition/DefinitionString/DefinitionSubstitutions"
    old_subs = old.get("Properties", {}).get("DefinitionSubstitutions", {})
    new_subs = new.get("Properties", {}).get("DefinitionSubstitutions", {})
    if isinstance(old_subs, dict) and isinstance(new_subs, dict):
        assert set(old_subs) <= set(new_subs), f"{logical_id}: DefinitionSubstitutions keys dropped"
    else:  # not an object: the macro must have left it exactly as it was
        assert old_subs == new_subs, f"{logical_id}: DefinitionSubstitutions of the wrong type changed"


def _check_existing_version(
    logical_id: str, old: Mapping[str, Any], new: Mapping[str, Any], before: Mapping[str, Any]
) -> None:
    assert _dump(_without(old, set(RETENTION), {"Description"})) == _dump(
        _without(new, set(RETENTION), {"Description"})
    ), f"{logical_id}: an existing version changed outside Description and retention policies"
    function = old.get("Properties", {}).get("FunctionName")
    names = set(references(function)) if isinstance(function, dict) else set()
    if any(_opted_out(before.get(name)) for name in names):
        assert old.get("Properties", {}).get("Description") == new.get("Properties", {}).get("Description"), (
            f"{logical_id}: the Description of a version of an opted-out function was changed"
        )
    for policy in RETENTION:
        if policy in old:
            assert new.get(policy) == old[policy], f"{logical_id}: the template's own {policy} was changed"
        elif policy in new:
            assert new[policy] == "Retain", f"{logical_id}: {policy} added as {new[policy]!r}"


def _check_function(logical_id: str, old: Mapping[str, Any], new: Mapping[str, Any]) -> None:
    assert _dump(_without(old, set(RETENTION), {"Description"})) == _dump(
        _without(new, set(RETENTION), {"Description"})
    ), f"{logical_id}: a function changed outside its Description and retention policies"
    before = old.get("Properties", {}).get("Description")
    after = new.get("Properties", {}).get("Description")
    if before != after:
        assert _marker_of(after) is not None, f"{logical_id}: Description changed without a marker"
        assert own_description(after) == own_description(before), (
            f"{logical_id}: the user's own Description text was changed: {before!r} -> {after!r}"
        )
    if _opted_out(old):
        assert before == after, f"{logical_id} opts out but its Description was changed"
    for policy in RETENTION:
        if policy in old:
            assert new.get(policy) == old[policy], f"{logical_id}: the template's own {policy} was changed"
        elif policy in new:
            assert new[policy] == "Retain", f"{logical_id}: {policy} added as {new[policy]!r}"


# ----------------------------------------------------------------------------------------- (f)
MARKER = re.compile(r"\[SfnExactVersion [0-9a-f]{16}\]$")


def _marker_of(description: Any) -> str | None:
    """The marker ending a Description, written as a string, as ``Fn::Join ["", [X, " <marker>"]]``, or
    as an ``Fn::If`` whose two branches end with the same marker."""
    if isinstance(description, dict) and list(description) == ["Fn::If"]:
        args = description["Fn::If"]
        if isinstance(args, list) and len(args) == 3:
            yes, no = _marker_of(args[1]), _marker_of(args[2])
            return yes if yes == no else None
        return None
    if isinstance(description, dict) and list(description) == ["Fn::Join"]:
        args = description["Fn::Join"]
        if isinstance(args, list) and len(args) == 2 and isinstance(args[1], list) and args[1]:
            description = args[1][-1]
    if isinstance(description, str):
        found = MARKER.search(description)
        return found.group(0) if found else None
    return None


def _functions_of(version: Mapping[str, Any], resources: Mapping[str, Any]) -> list[str]:
    """The functions a version's FunctionName denotes: by Ref/GetAtt, or by a literal name or ARN equal
    to a function's literal FunctionName."""
    target = version.get("Properties", {}).get("FunctionName")
    direct = [name for name in references(target) if resources.get(name, {}).get("Type") == FUNCTION]
    if direct:
        return direct
    text = _text(target)
    if text is None:
        return []
    return [
        logical_id
        for logical_id, resource in resources.items()
        if resource.get("Type") == FUNCTION
        and (name := _text(resource.get("Properties", {}).get("FunctionName")))
        and (text == name or text.endswith(":function:" + name))
    ]


def _text(value: Any) -> str | None:
    """A string-like value as comparable text (intrinsics written as ``${...}``)."""
    found = symbolic(value) if value is not None else None
    return render_symbolic(found) if found else None


def _check_markers(after: Mapping[str, Any]) -> None:
    resources = after["Resources"]
    for logical_id, resource in resources.items():
        if resource.get("Type") != VERSION:
            continue
        marker = _marker_of(resource.get("Properties", {}).get("Description"))
        if marker is None:
            continue
        names = _functions_of(resource, resources)
        assert len(names) == 1, f"{logical_id}: a fingerprinted version whose function cannot be found"
        function_marker = _marker_of(resources[names[0]].get("Properties", {}).get("Description"))
        assert function_marker == marker, (
            f"{logical_id} carries {marker} but its function {names[0]} carries {function_marker}"
        )


def _check_new_version(logical_id: str, resource: Mapping[str, Any], before: Mapping[str, Any]) -> None:
    assert resource.get("Type") == VERSION, f"new resource {logical_id} is {resource.get('Type')}"
    for policy in RETENTION:
        assert resource.get(policy) == "Retain", f"new version {logical_id}: {policy} is not Retain"
    properties = resource.get("Properties", {})
    function = properties.get("FunctionName")
    assert isinstance(function, dict) and list(function) == ["Ref"], (
        f"{logical_id}: FunctionName is not a Ref"
    )
    target = before.get(function["Ref"])
    assert target is not None and target.get("Type") == FUNCTION, (
        f"{logical_id}: FunctionName does not name an AWS::Lambda::Function of the input"
    )
    assert set(properties) <= {"FunctionName", "Description"}, f"{logical_id}: unexpected properties"
    assert set(resource) <= {"Type", "Properties", "Condition", *RETENTION}, f"{logical_id}: unexpected keys"
    if "Condition" in resource:
        assert resource["Condition"] == target.get("Condition"), (
            f"{logical_id}: Condition differs from function's"
        )


def _check_new_grant(
    logical_id: str,
    resource: Mapping[str, Any],
    before: Mapping[str, Any],
    after: Mapping[str, Any],
    by_number: set[str],
) -> None:
    """A retained grant: Retain, on a role of the input, allowing only the versions of one function of
    the input whose versions a state machine calls (``by_number``: the state machines with a call that
    names a version by number, left alone as ``qualified``)."""
    for policy in RETENTION:
        assert resource.get(policy) == "Retain", f"grant {logical_id}: {policy} is not Retain"
    assert set(resource) <= {"Type", "Properties", "Condition", *RETENTION}, f"{logical_id}: unexpected keys"
    properties = resource["Properties"]
    assert set(properties) == {"PolicyName", "RoleName", "PolicyDocument"}, f"{logical_id}: properties"
    assert properties["PolicyName"].startswith("SfnExactVersion-"), f"{logical_id}: PolicyName"
    role = properties["RoleName"].get("Ref")
    assert before.get(role, {}).get("Type") == "AWS::IAM::Role", f"{logical_id}: not a role of the input"
    (statement,) = properties["PolicyDocument"]["Statement"]
    assert statement["Effect"] == "Allow" and statement["Action"] == "lambda:InvokeFunction", logical_id
    text = symbolic(statement["Resource"])
    assert text is not None and len(text) == 2 and text[1] == ":*", f"{logical_id}: {statement['Resource']}"
    function = text[0].name  # type: ignore[union-attr]
    assert before.get(function, {}).get("Type") == FUNCTION, f"{logical_id}: not a function of the input"
    machines = {name: r for name, r in after.items() if r.get("Type") == STATE_MACHINE}
    callers = {
        name: machine
        for name, machine in machines.items()
        if role in references(machine.get("Properties", {}).get("RoleArn"))
    }
    callers = callers or machines  # a RoleArn may name the role by its RoleName only
    called = set().union(*(_definition_references(machine) for machine in callers.values()))
    versions = {name for name in called if after.get(name, {}).get("Type") == VERSION}
    # A call naming a version by number is left alone as "qualified" (by any name of the function: which
    # function it names is the fuzz oracle's to check, from the drawn model).
    assert any(_is_version_of(after[name], function, before) for name in versions) or any(
        name in by_number for name in callers
    ), f"{logical_id}: no state machine of {role} calls a version of {function}"
    if "Condition" in resource:
        assert resource["Condition"] in (
            before[function].get("Condition"),
            before[role].get("Condition"),
        ) or any(
            candidate.get("Condition") == resource["Condition"]
            # or an Fn::If that chooses an allowing statement (or part of one)
            or resource["Condition"] in condition_names(candidate.get("Properties"))
            for candidate in before.values()
            if candidate.get("Type") in IAM_TYPES
        ), f"{logical_id}: Condition from nowhere"


def _is_version_of(version: Mapping[str, Any], function: str, before: Mapping[str, Any]) -> bool:
    """The version's FunctionName refers to ``function``, or ends with its explicit FunctionName."""
    target = version.get("Properties", {}).get("FunctionName")
    if function in references(target):
        return True
    name = before[function].get("Properties", {}).get("FunctionName")
    target_text, name_text = symbolic(target), symbolic(name)
    if not target_text or not name_text:
        return False
    return render_symbolic(target_text).endswith(render_symbolic(name_text))


def _without_added_retain(
    logical_id: str, old: Mapping[str, Any], new: Mapping[str, Any], after: Mapping[str, Any]
) -> Mapping[str, Any]:
    """``new`` without the Retain policies the macro may add to a role: only to the execution role of a
    function it retains (the function's ``Role`` refers to it), only where the template set none."""
    added = [p for p in ("DeletionPolicy", "UpdateReplacePolicy") if p in new and p not in old]
    if not added:
        return new
    assert all(new[p] == "Retain" for p in added), f"{logical_id}: a policy other than Retain added"
    users = [
        resource
        for resource in after.values()
        if resource.get("Type") == FUNCTION
        and logical_id in references(resource.get("Properties", {}).get("Role"))
        and "Retain" in (resource.get("DeletionPolicy"), resource.get("UpdateReplacePolicy"))
    ]
    assert users, f"{logical_id}: Retain added to a resource that is no retained function's role"
    return {key: value for key, value in new.items() if key not in added}


def _check_iam(logical_id: str, old: Any, new: Any, path: str = "") -> None:
    where = f"{logical_id}{path}"
    if isinstance(old, dict) and isinstance(new, dict):
        assert list(old) == list(new), f"{where}: keys changed"
        is_statement = "Effect" in old
        for key in old:
            if key in ("Resource", "NotResource") and is_statement and old[key] != new[key]:
                _check_gained_entries(f"{where}/Resource", old[key], new[key])
            else:
                _check_iam(logical_id, old[key], new[key], f"{path}/{key}")
        return
    if isinstance(old, list) and isinstance(new, list):
        assert len(old) == len(new), f"{where}: list length changed"
        for position, (a, b) in enumerate(zip(old, new, strict=True)):
            _check_iam(logical_id, a, b, f"{path}/{position}")
        return
    assert _dump(old) == _dump(new), f"{where}: changed"


def _check_gained_entries(where: str, old: Any, new: Any) -> None:
    if _is_if(old) and _is_if(new):  # Resource: !If [C, [...], [...]]: each side gains on its own
        assert new["Fn::If"][0] == old["Fn::If"][0], f"{where}: condition changed"
        for side in (1, 2):
            a, b = old["Fn::If"][side], new["Fn::If"][side]
            if a != b:
                _check_gained_entries(f"{where}/Fn::If/{side}", a, b)
        return
    originals = old if isinstance(old, list) else [old]
    assert isinstance(new, list), f"{where}: not a list after widening"
    assert _dump(new[: len(originals)]) == _dump(originals), f"{where}: original entries not kept in order"
    gained = new[len(originals) :]
    assert gained, f"{where}: changed without gaining entries"
    # An entry chosen by Fn::If (``!If [C, !GetAtt F.Arn, !Ref AWS::NoValue]``) counts by its sides.
    leaves = [leaf for original in originals for leaf in _if_leaves(original)]
    seen = {_key(entry) for entry in originals}
    for entry in gained:
        for leaf in _if_leaves(entry):
            text = symbolic(leaf)
            assert text and isinstance(text[-1], str) and text[-1].endswith(":*"), (
                f"{where}: {leaf} lacks ':*'"
            )
            base = _strip_star(text)
            derived = any(symbolic(original) == base for original in leaves)
            assert derived or _names_a_version_of(base, leaves), (
                f"{where}: {_dump(leaf)} is not derived from an entry already there"
            )
            assert symbolic(leaf) != ("*",), f"{where}: '*' granted"
        assert _key(entry) not in seen, f"{where}: duplicate entry {_dump(entry)}"
        seen.add(_key(entry))


def _is_if(value: Any) -> bool:
    return isinstance(value, dict) and list(value) == ["Fn::If"]


def _if_leaves(value: Any) -> list[Any]:
    """The values an entry may take under ``Fn::If`` (``AWS::NoValue`` left out)."""
    if _is_if(value):
        return [leaf for side in value["Fn::If"][1:] for leaf in _if_leaves(side)]
    if isinstance(value, list):
        return [leaf for item in value for leaf in _if_leaves(item)]
    return [] if value == {"Ref": "AWS::NoValue"} else [value]


def _names_a_version_of(base: tuple[Any, ...], originals: list[Any]) -> bool:
    """``base`` is ``GetAtt F.Arn`` and an original entry is a ``Ref`` (of a version: CDK's
    ``LambdaInvoke(fn.currentVersion)`` grant allows that version only)."""
    return (
        len(base) == 1
        and getattr(base[0], "attribute", None) == "Arn"
        and any(isinstance(original, dict) and list(original) == ["Ref"] for original in originals)
    )


def _strip_star(text: tuple[Any, ...]) -> tuple[Any, ...]:
    last = text[-1][: -len(":*")]
    return (*text[:-1], last) if last else tuple(text[:-1])


def _key(entry: Any) -> Any:
    text = symbolic(entry)
    return text if text is not None else _dump(entry)


# ----------------------------------------------------------------------------------------- (e)
def _check_retention(before: Mapping[str, Any], after: Mapping[str, Any]) -> None:
    resources = after["Resources"]
    referenced: set[str] = set()
    for resource in resources.values():
        if resource.get("Type") == STATE_MACHINE and not _opted_out(resource):
            referenced.update(
                name
                for name in _definition_references(resource)
                if resources.get(name, {}).get("Type") == VERSION
            )
    for version in sorted(referenced):
        original = before["Resources"].get(version, {})
        for policy in RETENTION:
            if policy in original and original[policy] != "Retain":
                continue
            assert resources[version].get(policy) == "Retain", (
                f"{version} is called by a state machine but its {policy} is not Retain"
            )
        # Deleting or replacing a function deletes all its versions: its function is retained too,
        # unless it opts out (RetainFunction: false) or the input chose another policy.
        names = _functions_of(resources[version], resources)
        if len(names) != 1 or not _keeps_function(resources[names[0]]):
            continue
        original = before["Resources"][names[0]]
        for policy in RETENTION:
            if policy in original and original[policy] != "Retain":
                continue
            assert resources[names[0]].get(policy) == "Retain", (
                f"{names[0]}: version {version} is called by a state machine but its {policy} is not Retain"
            )


def _keeps_function(resource: Any) -> bool:
    metadata = resource.get("Metadata") if isinstance(resource, dict) else None
    options = metadata.get(METADATA_KEY) if isinstance(metadata, dict) else None
    return not (isinstance(options, dict) and options.get("RetainFunction") is False)


# ----------------------------------------------------------------------------------------- cfn-lint
@functools.cache
def _lint_setup() -> tuple[Any, Any]:
    """cfn-lint's configuration and rules, loaded once: loading the rules is most of one lint's cost
    (``cfnlint.api.lint`` reloads them on every call)."""
    from cfnlint.config import ConfigMixIn
    from cfnlint.runner import Runner

    config = ConfigMixIn(regions=["eu-west-1"])
    return config, Runner(config).rules


def cfn_lint_errors(template: Mapping[str, Any]) -> list[str]:
    """Error-level cfn-lint findings (rule IDs starting with E) as ``"E1020 Resources/X/...: message"``."""
    from cfnlint.decode.decode import decode_str
    from cfnlint.runner import run_template_by_data

    # ensure_ascii=False: cfn-lint cannot parse the surrogate-pair escapes json.dumps writes for
    # characters beyond the BMP (E0000 "invalid Unicode character escape code").
    decoded, matches = decode_str(json.dumps(template, ensure_ascii=False))
    if decoded is not None and not matches:
        config, rules = _lint_setup()
        matches = list(run_template_by_data(decoded, config, rules))
    return [
        f"{match.rule.id} {_where(match)}: {match.message}"
        for match in matches
        if match.rule.id.startswith("E")
    ]


def _where(match: Any) -> str:
    # Matches of template-level errors (E0000 parse, E0001 transform) carry no path.
    path = getattr(match, "path", None)
    return "/".join(str(part) for part in path) if path else f"line {match.linenumber}"
