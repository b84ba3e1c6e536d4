"""The offline pipeline: read a template, package local paths, run SAM, run the macro's core, read
local definition files. Shared by the CLI, the cfn-lint rules, the simulation and the benchmarks.

Never imported by the Lambda handler (it needs PyYAML and aws-sam-translator); it imports the core and
never ``cli`` or ``lint_rules``. aws-sam-translator (and boto3) are imported on first use only.

- ``template_io``: ``load_template``, ``parse_template``, ``dump_template``, ``to_plain``
- ``packaging``: ``package_template``, ``read_local_definitions``, ``content_digest``
- ``sam``: ``sam_translate``, ``macro_fragment``, ``transform_names``
- ``definition_files``: ``file_findings``, ``FileFinding``
- ``pipeline``: ``preview``, ``preview_template``, ``Preview``, ``macro_placement_problem``
- ``errors``: ``InputError`` and its subclasses
"""

from sfn_exact_version.offline.errors import InputError, PackagingError, SamTranslateError, TemplateLoadError

__all__ = ["InputError", "PackagingError", "SamTranslateError", "TemplateLoadError"]
