"""The command-line tool: argument parsing, rendering and exit codes (``main``, ``render``).

The work itself (read, package, translate, transform) is the offline pipeline,
``sfn_exact_version.offline``; the CLI only wires it.
"""
