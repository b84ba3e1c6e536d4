"""Lambda versions: find a function's version, give it an identity that changes exactly when the
function changes, create one when there is none, and keep old versions alive."""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from sfn_exact_version.index import LAYER_VERSION, RETAIN_FUNCTION_OPTION, VERSION, TemplateIndex, option
from sfn_exact_version.intrinsics import (
    REF,
    canonical,
    dependencies,
    find_in_map_calls,
    intrinsic,
    ref_target,
    symbolic,
)

# Function properties that do not belong to a published version: changing only these publishes
# nothing new, so they must not change the fingerprint (a spurious new version fails the deploy).
NOT_VERSIONED = frozenset(
    {"Tags", "ReservedConcurrentExecutions", "CodeSigningConfigArn", "TenancyConfig", "RecursiveLoop"}
)

# The marker and the one space written before it; not more: the user's own text may end in whitespace,
# and taking that along would change the Description on every further run.
MARKER = re.compile(r" ?\[SfnExactVersion [0-9a-f]{16}\]$")
DESCRIPTION_LIMIT = 256
MARKER_LENGTH = len("[SfnExactVersion ]") + 16
LOGICAL_ID_LIMIT = 255

# An S3 key named after its content: the MD5 `sam package` uses, the SHA-256 of a CDK asset
# (`<64 hex>.zip`). The same name means the same code, whatever the bucket or prefix.
CONTENT_KEY = re.compile(r"(?:^|/)([0-9a-f]{32}|[0-9a-f]{64})(?:\.(?:zip|jar))?$")
# A key named after the time of packaging, as the Serverless Framework writes them:
# serverless/<service>/<stage>/<epoch ms>-<ISO time>/<artifact>.zip. It changes on every package.
TIMESTAMPED_KEY = re.compile(r"(?:^|/)\d{10,}-\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(?:\.\d+)?Z/")
LOCATION_KEYS = ("S3Bucket", "S3Key", "S3ObjectVersion")


@dataclass(frozen=True)
class Fingerprint:
    """The identity of a function's code and configuration, and what went into it."""

    digest: str  # 64 hex digits
    secret_parameters: tuple[str, ...]  # NoEcho parameters left out of the digest
    timestamped_code: bool = False  # the code is known only by a location that changes on every package

    @property
    def marker(self) -> str:
        """The text stored in the version's Description."""
        return f"[SfnExactVersion {self.digest[:16]}]"


def fingerprint(function: str, index: TemplateIndex, parameter_values: Mapping[str, Any]) -> Fingerprint:
    """Hash everything that defines what a version of ``function`` runs.

    The function's properties (all but :data:`NOT_VERSIONED`; its Description without the marker; its
    code by content where the template states it, see :func:`code_identity`), the values of the template
    parameters they use (NoEcho ones excluded: a hash of a short secret can be guessed), the properties of
    the layer versions they reference, and the identity of the function's only existing version;
    followed through the conditions of ``Fn::If``, the mapping entries ``Fn::FindInMap`` selects (whole
    mappings where a key cannot be resolved) and the layers' own properties, so a parameter used only
    there counts too.
    """
    resource = index.resources[function]
    properties = resource.get("Properties")
    properties = properties if isinstance(properties, dict) else {}
    versioned = {key: value for key, value in properties.items() if key not in NOT_VERSIONED}
    # The function's own Description carries the marker this fingerprint produces (transform writes it):
    # hash the user's text as it is stored, without the marker, so transforming the output changes nothing.
    if "Description" in versioned:
        own = own_description(versioned["Description"])
        if own is None:
            del versioned["Description"]
        else:
            versioned["Description"] = own
    timestamped = False
    if "Code" in versioned:
        versioned["Code"], timestamped = code_identity(versioned["Code"], _code_sha256(function, index))
    parameters: dict[str, Any] = {}
    secrets: set[str] = set()
    layers: dict[str, Any] = {}
    conditions: dict[str, Any] = {}
    whole: set[str] = set()  # mappings read with keys that cannot be resolved here: hashed whole
    selected: dict[str, dict[str, dict[str, Any]]] = {}  # mapping -> top key -> second key -> value
    # An existing version (SAM, CDK, Serverless, hand-written) is replaced, and so published, whenever
    # its logical ID or its own Description changes, for whatever reason (SAM's hash of the code's
    # location, CDK's of the function's properties): the function must then change too.
    adopted = _adopted_identity(function, index)
    # Follow what the properties read, and what that reads in turn: a parameter used only by a
    # condition of an Fn::If, a Mappings entry, a layer whose content comes from a parameter.
    pending: list[Any] = [versioned] if adopted is None else [versioned, adopted]
    while pending:
        value = pending.pop()
        uses = dependencies(value)
        for name in sorted(uses.names):
            declaration = index.parameters.get(name)
            if isinstance(declaration, dict):
                if str(declaration.get("NoEcho", "")).lower() == "true":
                    secrets.add(name)
                elif name in parameter_values:
                    parameters[name] = parameter_values[name]
                else:
                    parameters[name] = declaration.get("Default")
            elif index.type_of(name) == LAYER_VERSION and name not in layers:
                layers[name] = index.resources[name].get("Properties")
                pending.append(layers[name])
        for name in sorted(uses.conditions):
            if name in index.conditions and name not in conditions:
                conditions[name] = index.conditions[name]
                pending.append(conditions[name])
        if None in uses.mappings:
            whole.update(index.mappings)  # a computed mapping name may read any mapping
        if uses.mappings:
            _read_mappings(value, index, parameter_values, whole, selected)
    mappings: dict[str, Any] = {name: index.mappings.get(name) for name in whole}
    for name, entries in selected.items():
        mappings.setdefault(name, entries)
    document = {"Properties": versioned, "Parameters": parameters, "Layers": layers}
    # Added only when used, so that the fingerprint of every other function stays what it was.
    if adopted is not None:
        document["Version"] = adopted
    if conditions:
        document["Conditions"] = conditions
    if mappings:
        document["Mappings"] = mappings
    payload = canonical(document)
    digest = hashlib.sha256(payload.encode("utf-8")).hexdigest()
    return Fingerprint(digest, tuple(sorted(secrets)), timestamped)


def _adopted_identity(function: str, index: TemplateIndex) -> dict[str, Any] | None:
    """What identifies the function's only version, when it has one: its logical ID and the user's part
    of its Description (every property of a version requires replacement; CodeSha256 is hashed as the
    code's content, FunctionName names this function)."""
    versions = index.versions_of.get(function, [])
    if len(versions) != 1:
        return None
    properties = index.resources[versions[0]].get("Properties")
    description = properties.get("Description") if isinstance(properties, dict) else None
    own = own_description(description)
    marker = marker_of(description)
    if own is None and marker is not None and marker[len("[SfnExactVersion ") :][:12] in versions[0]:
        return None  # a version the macro created (its ID follows the fingerprint): a second run
    identity: dict[str, Any] = {"LogicalId": versions[0]}
    if own is not None:
        identity["Description"] = own
    return identity


def _code_sha256(function: str, index: TemplateIndex) -> Any:
    """The ``CodeSha256`` the function's only version states (the Serverless Framework writes it), or
    ``None``. CloudFormation checks it against the function's code, so it is the code's content."""
    versions = index.versions_of.get(function, [])
    if len(versions) != 1:
        return None
    properties = index.resources[versions[0]].get("Properties")
    return properties.get("CodeSha256") if isinstance(properties, dict) else None


def code_identity(code: Any, code_sha256: Any) -> tuple[Any, bool]:
    """What identifies the function's code in the fingerprint: its content where the template states
    it, its location otherwise; and whether that location is a timestamped one (a new one on every
    package, the same code or not).

    >>> code_identity({"S3Bucket": "b", "S3Key": "assets/" + "a" * 64 + ".zip"}, None)
    ({'S3Content': 'aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa'}, False)
    """
    if not isinstance(code, dict):
        return code, False
    rest = {key: value for key, value in code.items() if key not in LOCATION_KEYS}
    if code_sha256 is not None:
        return {**rest, "CodeSha256": code_sha256}, False
    key = code.get("S3Key")
    if isinstance(key, str):
        content = CONTENT_KEY.search(key)
        if content:
            return {**rest, "S3Content": content.group(1)}, False
        return code, bool(TIMESTAMPED_KEY.search(key))
    return code, False


def known_length(value: Any, index: TemplateIndex, parameter_values: Mapping[str, Any]) -> int | None:
    """The length ``value`` will have once deployed, when it is text and parameters (their values or
    Defaults, not NoEcho) and pseudo parameters the transform knows; else ``None``.

    >>> known_length({"Fn::Sub": "v-${AWS::Region}"}, TemplateIndex({}, {}, {"AWS::Region": "eu-west-1"}), {})
    11
    """
    found = symbolic(value)
    if found is None:
        return None
    length = 0
    for piece in found:
        if isinstance(piece, str):
            length += len(piece)
            continue
        text = _static_key({"Ref": piece.name}, index, parameter_values) if piece.kind == REF else None
        if text is None:
            return None
        length += len(text)
    return length


def _static_key(key: Any, index: TemplateIndex, parameter_values: Mapping[str, Any]) -> str | None:
    """The value of a ``Fn::FindInMap`` key when it is known without deploying: a literal, a pseudo
    parameter the transform was given (``AWS::Region``), a parameter's value or Default (not NoEcho)."""
    if isinstance(key, str):
        return key
    name = ref_target(key)
    if name is None:
        return None
    if name in index.pseudo:
        return index.pseudo[name]
    declaration = index.parameters.get(name)
    if not isinstance(declaration, dict) or str(declaration.get("NoEcho", "")).lower() == "true":
        return None
    value = parameter_values.get(name, declaration.get("Default"))
    return str(value) if isinstance(value, str | int | float) and not isinstance(value, bool) else None


def _read_mappings(
    value: Any,
    index: TemplateIndex,
    parameter_values: Mapping[str, Any],
    whole: set[str],
    selected: dict[str, dict[str, dict[str, Any]]],
) -> None:
    """Record what each ``Fn::FindInMap`` of ``value`` reads: the one entry its keys select when they
    resolve (a change of the prod entry leaves the dev stack's versions alone), else the whole mapping."""
    for call in find_in_map_calls(value):
        name = call[0]
        if not isinstance(name, str):
            whole.update(index.mappings)
            continue
        keys = [_static_key(key, index, parameter_values) for key in call[1:3]]
        if len(keys) != 2 or keys[0] is None or keys[1] is None:
            whole.add(name)
            continue
        mapping = index.mappings.get(name)
        top = mapping.get(keys[0]) if isinstance(mapping, dict) else None
        entry = top.get(keys[1]) if isinstance(top, dict) else None
        selected.setdefault(name, {}).setdefault(keys[0], {})[keys[1]] = entry


def created_version_id(function: str, print_: Fingerprint) -> str:
    """Logical ID of the version the macro creates: ``<Function>Version<12 hex>``.

    When that would pass CloudFormation's 255 characters, the function's ID is cut and 8 hex of a hash
    of the whole ID follow the cut (``<prefix><8 hex>Version<12 hex>``): two functions whose IDs share the
    kept prefix (CDK cuts its IDs at 240 characters plus a hash) still get distinct versions.
    """
    suffix = f"Version{print_.digest[:12]}"
    if len(function) + len(suffix) <= LOGICAL_ID_LIMIT:
        return function + suffix
    whole = hashlib.sha256(function.encode("utf-8")).hexdigest()[:8]
    return function[: LOGICAL_ID_LIMIT - len(suffix) - len(whole)] + whole + suffix


def created_version(function: str, resource: Mapping[str, Any], print_: Fingerprint) -> dict[str, Any]:
    """A new ``AWS::Lambda::Version`` for ``function``, retained forever."""
    version: dict[str, Any] = {
        "Type": VERSION,
        "DeletionPolicy": "Retain",
        "UpdateReplacePolicy": "Retain",
        "Properties": {"FunctionName": {"Ref": function}, "Description": print_.marker},
    }
    if "Condition" in resource:
        version["Condition"] = resource["Condition"]
    return version


def with_marker(description: Any, print_: Fingerprint) -> tuple[Any, bool]:
    """The Description carrying ``print_``'s marker, replacing an earlier one; and whether the user's
    own text fills all the room Lambda's limit leaves (it was cut to fit, now or on an earlier run: a
    second run must report what the first did)."""
    description = _scalar_text(description)
    if description is None or description == "":
        return print_.marker, False
    if isinstance(description, str):
        own = MARKER.sub("", description)
        room = DESCRIPTION_LIMIT - MARKER_LENGTH - 1
        shortened = len(own) >= room
        own = own[:room]
        return (f"{own} {print_.marker}" if own else print_.marker), shortened
    branches = _if_branches(description)
    if branches is not None:  # each branch gets the marker: a branch may be AWS::NoValue (no Description)
        condition, yes, no = branches
        (yes, short_yes), (no, short_no) = with_marker(yes, print_), with_marker(no, print_)
        return {"Fn::If": [condition, yes, no]}, short_yes or short_no
    inner = _joined_with_marker(description)
    if inner is not None:
        description = inner
    return {"Fn::Join": ["", [description, " " + print_.marker]]}, False


def _if_branches(description: Any) -> tuple[str, Any, Any] | None:
    """``(condition, value if true, value if false)`` of an ``Fn::If`` Description, ``AWS::NoValue``
    read as no Description; else ``None``."""
    found = intrinsic(description)
    if found is None or found[0] != "Fn::If" or not isinstance(found[1], list) or len(found[1]) != 3:
        return None
    condition, yes, no = found[1]
    if not isinstance(condition, str):
        return None
    return (
        condition,
        None if ref_target(yes) == "AWS::NoValue" else yes,
        None if ref_target(no) == "AWS::NoValue" else no,
    )


def own_description(description: Any) -> Any:
    """The user's part of a Description that :func:`with_marker` may have written: the marker removed,
    the text cut to the room the marker leaves (as it is stored); ``None`` when nothing is left.

    >>> own_description("Greets [SfnExactVersion 0123456789abcdef]")
    'Greets'
    """
    description = _scalar_text(description)
    if description is None or description == "":
        return None
    if isinstance(description, str):
        own = MARKER.sub("", description)[: DESCRIPTION_LIMIT - MARKER_LENGTH - 1]
        return own or None
    branches = _if_branches(description)
    if branches is not None:
        condition, yes, no = branches
        return {"Fn::If": [condition, own_description(yes), own_description(no)]}
    inner = _joined_with_marker(description)
    return description if inner is None else inner


def _scalar_text(description: Any) -> Any:
    """A number or boolean Description as the text CloudFormation passes on (``Description: 2`` in
    YAML); anything else as it is."""
    if isinstance(description, bool):
        return "true" if description else "false"
    if isinstance(description, int | float):
        return json.dumps(description)
    return description


def _joined_with_marker(description: Any) -> Any:
    """``X`` when ``description`` is ``{"Fn::Join": ["", [X, " <marker>"]]}``, else ``None``."""
    joined = description.get("Fn::Join") if isinstance(description, dict) else None
    if (
        isinstance(joined, list)
        and len(joined) == 2
        and joined[0] == ""
        and isinstance(joined[1], list)
        and len(joined[1]) == 2
        and isinstance(joined[1][1], str)
        and MARKER.fullmatch(joined[1][1])
    ):
        return joined[1][0]
    return None


def marker_of(description: Any) -> str | None:
    """The marker at the end of a Description (string, the ``Fn::Join`` form, or the same marker in both
    branches of an ``Fn::If``), else ``None``."""
    branches = _if_branches(description)
    if branches is not None:
        yes, no = marker_of(branches[1]), marker_of(branches[2])
        return yes if yes == no else None
    if isinstance(description, dict):
        joined = description.get("Fn::Join")
        if _joined_with_marker(description) is None or not isinstance(joined, list):
            return None
        description = joined[1][1]
    if not isinstance(description, str):
        return None
    found = MARKER.search(description)
    return found.group(0).strip() if found else None


RETAIN_POLICIES = ("DeletionPolicy", "UpdateReplacePolicy")


def retain(resource: dict[str, Any]) -> list[str]:
    """Set ``DeletionPolicy``/``UpdateReplacePolicy`` to Retain where the template does not choose;
    return the policies the template sets to another value, which are kept (the user decided).

    >>> resource = {"DeletionPolicy": "Delete"}
    >>> retain(resource), resource["UpdateReplacePolicy"]
    (['DeletionPolicy'], 'Retain')
    """
    for policy in RETAIN_POLICIES:
        resource.setdefault(policy, "Retain")
    return [policy for policy in RETAIN_POLICIES if resource[policy] != "Retain"]


def protect(version_id: str, resource: dict[str, Any]) -> list[str]:
    """:func:`retain` for a version; warnings for explicit other choices."""
    return [
        f"Resources/{version_id}: {policy} is {resource[policy]!r}, kept as the template asks; "
        "executions that still call this version fail once it is deleted. Use Retain."
        for policy in retain(resource)
    ]


def keeps_function(resource: Mapping[str, Any]) -> bool:
    """False when the function's ``Metadata.SfnExactVersion.RetainFunction`` is ``false`` (or
    ``"false"``; :func:`index.option_problems` refuses any other value)."""
    return option(resource, RETAIN_FUNCTION_OPTION) is not False


def protect_function(function: str, resource: dict[str, Any]) -> list[str]:
    """:func:`retain` for a function whose versions executions may call: deleting or replacing a
    function deletes every version it has, whatever their own policies."""
    return [
        f"Resources/{function}: {policy} is {resource[policy]!r}, kept as the template asks; "
        f"{'removing it from the template' if policy == 'DeletionPolicy' else 'replacing it'} deletes all "
        "its versions, and running executions that call them fail. Use Retain (or "
        "Metadata.SfnExactVersion.RetainFunction: false to say the choice is deliberate)."
        for policy in retain(resource)
    ]
