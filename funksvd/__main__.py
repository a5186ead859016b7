"""``python -m funksvd``: the same as the ``funksvd`` command."""

import sys

from .cli import main

sys.exit(main())
