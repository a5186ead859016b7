"""Make TensorFlow (and Keras) unimportable in this interpreter, as on a machine without ``funksvd[tf]``.

Importing this module puts a finder first on ``sys.meta_path`` that refuses ``tensorflow``,
``keras`` and their submodules with the ``ModuleNotFoundError`` a missing package raises. Use it in
a fresh interpreter (``python -c "import tests.block_tensorflow; ..."``, or as a pytest plugin
``python -m pytest -p tests.block_tensorflow``): a process that has already imported TensorFlow
keeps it.
"""

from __future__ import annotations

import sys
from importlib.abc import MetaPathFinder

BLOCKED = ("tensorflow", "keras")


class BlockTensorFlow(MetaPathFinder):
    """A finder that declares the TensorFlow stack absent."""

    def find_spec(self, fullname, path=None, target=None):
        if fullname.partition(".")[0] in BLOCKED:
            raise ModuleNotFoundError(f"No module named {fullname!r}", name=fullname)
        return None


if not any(isinstance(finder, BlockTensorFlow) for finder in sys.meta_path):
    sys.meta_path.insert(0, BlockTensorFlow())
