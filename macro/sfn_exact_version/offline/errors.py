"""Errors of the offline pipeline (read, package, translate). Each carries a user-facing ``message``."""

from __future__ import annotations


class InputError(Exception):
    """Base class: a template cannot be read, packaged or translated offline.

    Example::

        try:
            template = load_template("template.yaml")
        except InputError as error:
            print(error.message)
    """

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class TemplateLoadError(InputError):
    """A template (or a definition file) cannot be read or parsed.

    ``path`` names the file and ``line`` the 1-based line of the problem when it is known.

    Example::

        TemplateLoadError("template.yaml:12:5: mapping values are not allowed here",
                          path="template.yaml", line=12)
    """

    def __init__(self, message: str, *, path: str, line: int | None = None) -> None:
        super().__init__(message)
        self.path = path
        self.line = line


class PackagingError(InputError):
    """One or more local artifact paths cannot be packaged; ``problems`` lists each one.

    Example::

        PackagingError(["Resources/HelloFunction/Properties/CodeUri: local path 'src/' does not exist"])
    """

    def __init__(self, problems: list[str]) -> None:
        super().__init__("\n".join(problems))
        self.problems = list(problems)


class SamTranslateError(InputError):
    """The SAM transform rejected the template; ``problems`` lists every message it gave.

    Example::

        SamTranslateError(["Resource with id [Sm] is invalid. Missing required property 'Definition'."])
    """

    def __init__(self, problems: list[str]) -> None:
        super().__init__("\n".join(problems))
        self.problems = list(problems)
