"""funksvd's messages go to ``logging.getLogger("funksvd")``; ``verbose=True`` also shows them on stdout.

The library never calls ``print`` (the command line does). A function with a ``verbose`` flag logs
its progress lines through :func:`log`, at ``INFO``: an application that configures logging gets
them through its own handlers (``verbose=False`` is enough), and nothing is shown otherwise
(Python's last-resort handler shows warnings only). ``verbose=True`` writes each line to stdout
as plain text as well, as ``print`` would.
"""

from __future__ import annotations

import logging
import sys

__all__ = ["LOGGER", "log"]

#: The logger of the whole package.
LOGGER = logging.getLogger("funksvd")


def log(message: str, verbose: bool) -> None:
    """Log ``message`` at INFO on :data:`LOGGER`; with ``verbose`` also write it to stdout."""
    if not verbose:
        LOGGER.info(message)
        return
    handler = logging.StreamHandler(sys.stdout)  # sys.stdout of the moment (it may be redirected)
    handler.setFormatter(logging.Formatter("%(message)s"))
    level = LOGGER.level
    LOGGER.addHandler(handler)
    if LOGGER.getEffectiveLevel() > logging.INFO:
        LOGGER.setLevel(logging.INFO)
    try:
        LOGGER.info(message)
    finally:
        LOGGER.removeHandler(handler)
        LOGGER.setLevel(level)
