"""``python -m derive``: the same as the ``gradproof`` command."""

import sys

from derive.cli import main

sys.exit(main())
