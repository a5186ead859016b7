"""The ``funksvd`` command line, one module per group of commands.

* :mod:`.gradients`: ``funksvd demo``, ``funksvd check`` (the derivations, verified);
* :mod:`.derive`: ``funksvd derive`` (a derivation from sympy, proved equal to the code);
* :mod:`.training`: ``funksvd fit``, ``funksvd evaluate``, ``funksvd cv`` (models on real data);
* :mod:`.recommending`: ``funksvd recommend``, ``funksvd similar`` (what a saved model suggests);
* :mod:`.exercise`: ``funksvd exercise`` (the exercises, graded).

A user's mistake (an unknown id, a malformed file, a missing model, a parameter out of range, a
diverging fit, a download or a disk that fails: any ``OSError``) ends in one line on stderr
naming the problem and exit status 1, never a traceback; a wrong option is a usage error (status 2).
Anything else is a bug in funksvd: it shows its traceback, asks to report it, and exits with status
70 (``EX_SOFTWARE``). Output
piped into ``head`` ends quietly.
"""

from __future__ import annotations

import argparse
import os
import sys
import traceback

from .._version import __version__
from ..base.errors import DivergenceError, InputError, NotFittedError, UnknownIdError
from . import derive
from . import exercise
from . import gradients
from . import recommending
from . import training

__all__ = ["main", "build_parser", "USER_ERRORS", "BUG_STATUS"]

#: Errors that a user's input causes: reported in one line, without a traceback. A plain
#: ``ValueError`` or ``TypeError`` is not among them: it is a bug (the validators raise
#: :class:`~funksvd.base.errors.InputError`; the data loaders' errors are marked at their call site).
USER_ERRORS = (InputError, UnknownIdError, NotFittedError, FileNotFoundError, IsADirectoryError, PermissionError,
               DivergenceError,
               OSError)  # a download that fails, a full disk, a cache that is a file: the message says which

#: Exit status of a bug in funksvd (``EX_SOFTWARE`` of sysexits.h).
BUG_STATUS = 70


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="funksvd",
        description="Matrix factorisation for recommender systems: hand-derived gradients, proved.",
    )
    parser.add_argument("--version", action="version", version=f"funksvd {__version__}")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    for group in (gradients, derive, training, recommending, exercise):
        group.register(sub)
    return parser


def main(argv=None) -> int:
    """Run ``funksvd`` with ``argv`` (default: the process arguments); return the exit status."""
    args = build_parser().parse_args(argv)
    try:
        status = args.run(args)
        sys.stdout.flush()
        return status
    except BrokenPipeError:  # e.g. funksvd check | head -3: the reader left, nothing is wrong
        _silence_stdout()
        return 141  # 128 + SIGPIPE, what a shell reports for a process ended by a closed pipe
    except KeyboardInterrupt:
        print(f"funksvd {args.command}: interrupted", file=sys.stderr)
        return 130
    except USER_ERRORS as error:
        print(f"funksvd {args.command}: error: {error}", file=sys.stderr)
        return 1
    except Exception:  # noqa: BLE001 (not the user's doing: show where it happened)
        traceback.print_exc()
        print(f"funksvd {args.command}: this is a bug in funksvd {__version__}, please report it "
              "with the command and the traceback above", file=sys.stderr)
        return BUG_STATUS


def _silence_stdout() -> None:
    """Point stdout at /dev/null, so the interpreter's final flush does not fail again (Python docs, SIGPIPE)."""
    try:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
    except (OSError, ValueError, AttributeError):  # stdout replaced by an object without a descriptor
        pass
