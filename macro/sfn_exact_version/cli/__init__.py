"""The command-line tool's input layer: read templates, package local paths, run SAM offline.

Not imported by the Lambda handler. The submodules import cfn-lint and aws-sam-translator on first use
only, so importing this package stays cheap.

- ``template_io``: ``load_template``, ``parse_template``, ``dump_template``, ``to_plain``
- ``packaging``: ``package_template``, ``read_local_definitions``, ``content_digest``
- ``sam``: ``is_sam_template``, ``sam_translate``, ``macro_fragment``
- ``errors``: ``InputError`` and its subclasses
"""

from sfn_exact_version.cli.errors import InputError, PackagingError, SamTranslateError, TemplateLoadError

__all__ = ["InputError", "PackagingError", "SamTranslateError", "TemplateLoadError"]
