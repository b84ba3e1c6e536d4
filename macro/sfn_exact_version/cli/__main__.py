"""``python -m sfn_exact_version.cli``: the CLI."""

import sys

from sfn_exact_version.cli.main import main

sys.exit(main())
