"""Replace local artifact paths by S3 locations named after their content, as ``sam package`` would.

Nothing is uploaded: the bucket is a fixed placeholder and the key is the SHA-256 of the content, so a
change to the code changes the location (and with it the Lambda version that gets published), while an
unchanged tree gives the same location on every run.

- A file's key is the SHA-256 of its bytes (the same as ``sha256sum FILE``).
- A directory's key is the SHA-256 over its files, sorted by relative path, each contributing its
  relative path and the SHA-256 of its bytes. ``__pycache__``, ``.aws-sam`` and ``.git`` directories are
  skipped (``sam build`` leaves them out too; hashing ``.git`` would change the key on every commit).
  Symbolic links are followed, once.

Paths are relative to the template's directory. Values that are already S3 locations, URLs or
intrinsic functions are left as they are. The input template is never modified.

With ``placeholders=True`` (for a linter, which runs on every save) nothing is read: every local path,
and every intrinsic function where a path belongs (SAM cannot resolve it offline either), gets the same
placeholder location.
"""

from __future__ import annotations

import copy
import functools
import hashlib
import os
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from sfn_exact_version.offline.errors import PackagingError, TemplateLoadError
from sfn_exact_version.offline.template_io import parse_template

PREVIEW_BUCKET = "sfn-exact-version-preview"
PLACEHOLDER_KEY = "local-artifact"
SKIPPED_DIRECTORIES = frozenset({"__pycache__", ".aws-sam", ".git"})

_REMOTE_PREFIXES = ("s3://", "https://", "http://")


def _bucket_key(key: str) -> Any:
    return {"Bucket": PREVIEW_BUCKET, "Key": key}


def _s3bucket_s3key(key: str) -> Any:
    return {"S3Bucket": PREVIEW_BUCKET, "S3Key": key}


def _https_url(key: str) -> Any:
    return f"https://{PREVIEW_BUCKET}.s3.amazonaws.com/{key}"


# (resource type, property holding a local path, how the uploaded location is written)
_RESOURCE_PROPERTIES: tuple[tuple[str, str, Callable[[str], Any]], ...] = (
    ("AWS::Serverless::Function", "CodeUri", _bucket_key),
    ("AWS::Serverless::LayerVersion", "ContentUri", _bucket_key),
    ("AWS::Serverless::StateMachine", "DefinitionUri", _bucket_key),
    ("AWS::Serverless::Api", "DefinitionUri", _bucket_key),
    ("AWS::Serverless::HttpApi", "DefinitionUri", _bucket_key),
    ("AWS::Serverless::Application", "Location", _https_url),
    ("AWS::Lambda::Function", "Code", _s3bucket_s3key),
    ("AWS::Lambda::LayerVersion", "Content", _s3bucket_s3key),
    ("AWS::StepFunctions::StateMachine", "DefinitionS3Location", _bucket_key),
    ("AWS::CloudFormation::Stack", "TemplateURL", _https_url),
)

# (Globals section, property holding a local path)
_GLOBAL_PROPERTIES: tuple[tuple[str, str], ...] = (
    ("Function", "CodeUri"),
    ("Api", "DefinitionUri"),
    ("HttpApi", "DefinitionUri"),
)

# The properties holding a function's or a layer's code: a missing path there can be previewed with a
# placeholder (the code is built later); other missing paths are read by the preview and stay errors.
CODE_PROPERTIES = frozenset({"CodeUri", "ContentUri", "Code", "Content"})

# Properties through which an AWS::Serverless::StateMachine or AWS::StepFunctions::StateMachine names
# a local definition file.
_DEFINITION_FILE_PROPERTIES = {
    "AWS::Serverless::StateMachine": "DefinitionUri",
    "AWS::StepFunctions::StateMachine": "DefinitionS3Location",
}


@dataclass(frozen=True)
class Artifact:
    """One local path that was replaced.

    ``location`` is where it was written (``Resources/Fn/Properties/CodeUri``), ``path`` the local path as
    written (``.`` for a function's implicit default), ``key`` the S3 key that replaced it.
    ``missing`` is true when the path did not exist and ``allow_missing`` was given.
    """

    location: str
    path: str
    key: str
    missing: bool = False

    @property
    def is_code(self) -> bool:
        """Whether the path holds a function's or a layer's code (``CodeUri``, ``Code``...)."""
        return self.location.rsplit("/", 1)[-1] in CODE_PROPERTIES


@dataclass
class PackagedTemplate:
    """The template with local paths replaced, and what was replaced."""

    template: dict[str, Any]
    artifacts: list[Artifact] = field(default_factory=list)


def is_local_path(value: Any, *, intrinsic: bool = False) -> bool:
    """Whether a property value is a local path (a string that is not an S3 URI or a URL).

    Example::

        >>> is_local_path("src/"), is_local_path("s3://bucket/code.zip"), is_local_path({"Bucket": "b"})
        (True, False, False)

    With ``intrinsic``, an intrinsic function (``Ref``, ``Fn::Sub``, ``Fn::Join``) counts too.
    """
    if intrinsic and isinstance(value, dict) and len(value) == 1:
        return next(iter(value)) in ("Ref", "Fn::Sub", "Fn::Join")
    return isinstance(value, str) and not value.startswith(_REMOTE_PREFIXES)


def content_digest(path: str | os.PathLike[str]) -> str:
    """SHA-256 (hex) of a file's bytes, or of a directory tree as described in the module docstring.

    Example::

        >>> import tempfile
        >>> folder = Path(tempfile.mkdtemp())
        >>> _ = (folder / "app.py").write_bytes(b"print('hi')\\n")
        >>> content_digest(folder / "app.py") == hashlib.sha256(b"print('hi')\\n").hexdigest()
        True
        >>> content_digest(folder) == content_digest(folder)  # a tree: paths and contents, sorted
        True
    """
    root = Path(path)
    if root.is_dir():
        return _directory_digest(root)
    return _file_digest(root).hex()


def package_template(
    template: Mapping[str, Any],
    base_dir: str | os.PathLike[str],
    *,
    allow_missing: bool = False,
    placeholders: bool = False,
) -> PackagedTemplate:
    """Return a copy of the template whose local artifact paths are S3 locations named by content.

    Handled: ``AWS::Serverless::Function`` ``CodeUri`` (``.`` when the function has no ``CodeUri``,
    ``InlineCode`` or ``ImageUri`` and Globals give none), ``Globals`` ``Function.CodeUri``,
    ``Api.DefinitionUri`` and ``HttpApi.DefinitionUri``, ``AWS::Serverless::LayerVersion`` ``ContentUri``,
    ``AWS::Serverless::StateMachine`` / ``Api`` / ``HttpApi`` ``DefinitionUri``,
    ``AWS::Serverless::Application`` ``Location``, ``AWS::Lambda::Function`` ``Code``,
    ``AWS::Lambda::LayerVersion`` ``Content``, ``AWS::StepFunctions::StateMachine``
    ``DefinitionS3Location`` and ``AWS::CloudFormation::Stack`` ``TemplateURL`` given as strings.

    A path that does not exist is an error naming the resource and the path; with ``allow_missing`` it
    gets the key ``missing/<SHA-256 of the path as written>`` instead, marked in ``artifacts``.
    With ``placeholders`` nothing is read (see the module docstring).

    Example::

        >>> import tempfile
        >>> project = Path(tempfile.mkdtemp())
        >>> (project / "src").mkdir()
        >>> _ = (project / "src" / "app.py").write_text("def handler(event, context): ...\\n")
        >>> template = {"Resources": {"Hello": {"Type": "AWS::Serverless::Function",
        ...                                      "Properties": {"CodeUri": "src/"}}}}
        >>> packaged = package_template(template, project)
        >>> packaged.template["Resources"]["Hello"]["Properties"]["CodeUri"] == {
        ...     "Bucket": PREVIEW_BUCKET, "Key": content_digest(project / "src")}
        True
        >>> template["Resources"]["Hello"]["Properties"]["CodeUri"]  # the input is left alone
        'src/'

    Raises ``PackagingError`` listing every problem.
    """
    result = copy.deepcopy(dict(template))
    packer = _Packer(Path(base_dir), allow_missing, placeholders)
    local = functools.partial(is_local_path, intrinsic=placeholders)

    template_globals = result.get("Globals")
    function_globals: dict[str, Any] = {}
    if isinstance(template_globals, dict):
        for section, name in _GLOBAL_PROPERTIES:
            properties = template_globals.get(section)
            if isinstance(properties, dict) and local(properties.get(name)):
                packer.replace(properties, name, f"Globals/{section}/{name}", _bucket_key)
        if isinstance(template_globals.get("Function"), dict):
            function_globals = template_globals["Function"]

    resources = result.get("Resources")
    if isinstance(resources, dict):
        for logical_id, resource in resources.items():
            if not isinstance(resource, dict):
                continue
            resource_type = resource.get("Type")
            if resource_type == "AWS::Serverless::Function" and _uses_default_code_uri(
                resource, function_globals
            ):
                properties = resource.setdefault("Properties", {})
                properties["CodeUri"] = "."
                location = f"Resources/{logical_id}/Properties/CodeUri"
                packer.replace(properties, "CodeUri", location, _bucket_key)
                continue
            properties = resource.get("Properties")
            if not isinstance(properties, dict):
                continue
            for wanted_type, name, shape in _RESOURCE_PROPERTIES:
                if resource_type == wanted_type and local(properties.get(name)):
                    packer.replace(properties, name, f"Resources/{logical_id}/Properties/{name}", shape)

    if packer.problems:
        raise PackagingError(packer.problems)
    return PackagedTemplate(template=result, artifacts=packer.artifacts)


def read_local_definitions(
    template: Mapping[str, Any],
    base_dir: str | os.PathLike[str],
    *,
    allow_missing: bool = False,
) -> dict[str, dict[str, Any]]:
    """Read the state machine definitions kept in local files, by logical ID.

    Covers ``AWS::Serverless::StateMachine`` ``DefinitionUri`` and ``AWS::StepFunctions::StateMachine``
    ``DefinitionS3Location`` given as local paths (JSON or YAML). Call it with the template as loaded,
    before ``package_template``. ``${placeholder}`` values written outside quotes (valid only once
    ``DefinitionSubstitutions`` are applied) are read as strings. Missing files are an error unless
    ``allow_missing`` is true (then they are left out).

    Example::

        >>> import tempfile
        >>> project = Path(tempfile.mkdtemp())
        >>> _ = (project / "sm.asl.json").write_text('{"StartAt": "Hello", "TimeoutSeconds": ${timeout}}')
        >>> template = {"Resources": {"Sm": {"Type": "AWS::Serverless::StateMachine",
        ...                                   "Properties": {"DefinitionUri": "sm.asl.json"}}}}
        >>> read_local_definitions(template, project)["Sm"]
        {'StartAt': 'Hello', 'TimeoutSeconds': '${timeout}'}

    Raises ``PackagingError`` listing every file that is missing or cannot be parsed.
    """
    base = Path(base_dir)
    definitions: dict[str, dict[str, Any]] = {}
    problems: list[str] = []
    resources = template.get("Resources")
    if not isinstance(resources, dict):
        return definitions
    for logical_id, resource in resources.items():
        if not isinstance(resource, dict):
            continue
        name = _DEFINITION_FILE_PROPERTIES.get(str(resource.get("Type")))
        properties = resource.get("Properties")
        if name is None or not isinstance(properties, dict) or not is_local_path(properties.get(name)):
            continue
        location = f"Resources/{logical_id}/Properties/{name}"
        written = properties[name]
        path = base / written
        if not path.exists():
            if not allow_missing:
                problems.append(_missing_message(location, written, path))
            continue
        if not path.is_file():
            problems.append(f"{location}: {written!r} is not a file (looked at {str(path)!r})")
            continue
        try:
            definitions[logical_id] = _parse_definition(path)
        except TemplateLoadError as error:
            problems.append(f"{location}: {error.message}")
    if problems:
        raise PackagingError(problems)
    return definitions


class _Packer:
    """Replaces local paths one by one, remembering digests, artifacts and problems."""

    def __init__(self, base_dir: Path, allow_missing: bool, placeholders: bool) -> None:
        self.base_dir = base_dir
        self.allow_missing = allow_missing
        self.placeholders = placeholders
        self.artifacts: list[Artifact] = []
        self.problems: list[str] = []
        self._digests: dict[Path, str] = {}

    def replace(
        self, properties: dict[str, Any], name: str, location: str, shape: Callable[[str], Any]
    ) -> None:
        written = properties[name]
        if self.placeholders:
            properties[name] = shape(PLACEHOLDER_KEY)
            self.artifacts.append(Artifact(location=location, path=str(written), key=PLACEHOLDER_KEY))
            return
        path = self.base_dir / written
        missing = False
        if not path.exists():
            if not self.allow_missing:
                self.problems.append(_missing_message(location, written, path))
                return
            missing = True
            key = "missing/" + hashlib.sha256(written.encode("utf-8")).hexdigest()
        else:
            try:
                key = self._digest(path)
            except OSError as error:
                self.problems.append(f"{location}: cannot read {str(path)!r}: {error.strerror or error}")
                return
        properties[name] = shape(key)
        self.artifacts.append(Artifact(location=location, path=written, key=key, missing=missing))

    def _digest(self, path: Path) -> str:
        resolved = path.resolve()
        if resolved not in self._digests:
            self._digests[resolved] = content_digest(path)
        return self._digests[resolved]


def _uses_default_code_uri(resource: dict[str, Any], function_globals: dict[str, Any]) -> bool:
    """A SAM function without CodeUri, InlineCode or ImageUri (here or in Globals) packages ``.``."""
    properties = resource.get("Properties", {})
    if not isinstance(properties, dict):
        return False
    for source in (properties, function_globals):
        if any(name in source for name in ("CodeUri", "InlineCode", "ImageUri")):
            return False
    package_type = properties.get("PackageType", function_globals.get("PackageType"))
    return package_type != "Image"


def _missing_message(location: str, written: str, path: Path) -> str:
    return f"{location}: local path {written!r} does not exist (looked for {str(path)!r})"


def _file_digest(path: Path) -> bytes:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for chunk in iter(lambda: handle.read(1 << 20), b""):
            digest.update(chunk)
    return digest.digest()


def _directory_digest(root: Path) -> str:
    files: list[tuple[str, Path]] = []
    visited: set[str] = set()
    for directory, subdirectories, filenames in os.walk(root, followlinks=True):
        real = os.path.realpath(directory)
        if real in visited:  # a symbolic link back into the tree
            subdirectories[:] = []
            continue
        visited.add(real)
        subdirectories[:] = [name for name in subdirectories if name not in SKIPPED_DIRECTORIES]
        for filename in filenames:
            full = Path(directory, filename)
            files.append((full.relative_to(root).as_posix(), full))
    digest = hashlib.sha256()
    for relative, full in sorted(files):
        digest.update(relative.encode("utf-8") + b"\0")
        digest.update(_file_digest(full))
    return digest.hexdigest()


# A ${placeholder} standing for a whole JSON value (e.g. "TimeoutSeconds": ${timeout}), outside quotes.
_BARE_PLACEHOLDER = re.compile(r'(?<=[:\[,])(\s*)(\$\{[^}"\s]+\})(?=\s*[,}\]])')


def _parse_definition(path: Path) -> dict[str, Any]:
    try:
        text = path.read_text(encoding="utf-8-sig")
    except (OSError, UnicodeDecodeError) as error:
        raise TemplateLoadError(f"{path}: cannot be read ({error})", path=str(path)) from None
    try:
        return parse_template(text, source=str(path))
    except TemplateLoadError as original:
        quoted = _BARE_PLACEHOLDER.sub(r'\1"\2"', text)
        if quoted == text:
            raise
        try:
            return parse_template(quoted, source=str(path))
        except TemplateLoadError:
            raise original from None
