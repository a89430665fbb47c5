"""``python -m gradproof``: the same as the ``gradproof`` command."""

import sys

from gradproof.cli import main

sys.exit(main())
