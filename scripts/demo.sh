#!/usr/bin/env bash
# Placeholder: will run the CLI on the examples, e.g.
#   .venv/bin/python -m sfn_exact_version.cli.main diff examples/...
set -euo pipefail
echo 'demo coming'
