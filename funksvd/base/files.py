r"""Writing a file atomically: the one write of funksvd that replaces a file (saved models, downloads).

:func:`atomic_write` writes to a hidden temporary file beside the target
(``.<name>.<random>.tmp``), flushes it to disk and renames it over the target in one
:func:`os.replace`, so a crash, a full disk or a ``SIGKILL`` leaves either the old file or the
new one, never half of one. Before anything is written, :func:`check_target` refuses what a
rename would silently destroy or cannot reach: a folder, a symbolic link, a FIFO, a device or a
socket (a rename would replace the node itself: ``/dev/full`` would become a regular file), a
missing or read-only folder; its errors name the target, not the temporary file. Temporary
files of the same pattern left behind by a killed write (older than :data:`STALE_SECONDS`) are
removed by the next write to the same target.
"""

from __future__ import annotations

import os
import re
import stat
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import BinaryIO

from .errors import InputError

__all__ = ["STALE_SECONDS", "atomic_write", "check_target"]

#: A temporary file of our pattern untouched for this long belongs to a write that was killed.
STALE_SECONDS = 3600.0

_KINDS = ((stat.S_ISLNK, "a symbolic link"), (stat.S_ISFIFO, "a FIFO (named pipe)"),
          (stat.S_ISCHR, "a character device"), (stat.S_ISBLK, "a block device"), (stat.S_ISSOCK, "a socket"))


def check_target(path, what: str = "the file") -> Path:
    """``path`` as a :class:`~pathlib.Path`, once it is safe for :func:`atomic_write` to replace.

    Raises
    ------
    FileNotFoundError
        The folder of ``path`` does not exist.
    IsADirectoryError
        ``path`` is a folder.
    InputError
        ``path`` is a symbolic link, FIFO, device or socket: replacing it would replace the node.
    PermissionError
        The folder is not writable (checked before any work, so a long computation is not lost).
    """
    path = Path(path)
    if not path.parent.is_dir():
        raise FileNotFoundError(f"cannot save {what} to {path}: the folder {path.parent} does not exist")
    try:
        mode = path.lstat().st_mode
    except FileNotFoundError:
        mode = None
    if mode is not None and stat.S_ISDIR(mode):
        raise IsADirectoryError(f"cannot save {what} to {path}: it is a folder")
    for test, kind in _KINDS:
        if mode is not None and test(mode):
            raise InputError(f"cannot save {what} to {path}: it is {kind}, not a regular file; a save replaces the "
                             "file, so it would replace the node itself (pass the path of a regular file)")
    if not os.access(path.parent, os.W_OK | os.X_OK):
        raise PermissionError(f"cannot save {what} to {path}: the folder {path.parent} is not writable")
    return path


def _temporary_pattern(path: Path) -> re.Pattern:
    """Names that :func:`tempfile.mkstemp` gives with our prefix and suffix for ``path``."""
    return re.compile(re.escape(f".{path.name}.") + r"[a-z0-9_]{8}" + re.escape(".tmp"))


def _remove_stale(path: Path) -> None:
    """Delete temporary files of our pattern for ``path`` that no write has touched for :data:`STALE_SECONDS`."""
    pattern, now = _temporary_pattern(path), time.time()
    try:
        entries = list(os.scandir(path.parent))
    except OSError:
        return
    for entry in entries:
        if not pattern.fullmatch(entry.name):
            continue
        try:
            info = entry.stat(follow_symlinks=False)
            if stat.S_ISREG(info.st_mode) and now - info.st_mtime > STALE_SECONDS:
                os.unlink(entry.path)
        except OSError:  # gone already, or not ours to remove
            pass


def file_mode(path: Path) -> int:
    """The permission bits for ``path``: those of the file it replaces, else ``0o666 & ~umask``."""
    try:
        return path.stat().st_mode & 0o7777
    except FileNotFoundError:
        return 0o666 & ~_umask()


def _umask() -> int:
    """The process umask: from /proc on Linux, else by setting it and putting it straight back."""
    try:
        with open("/proc/self/status", encoding="ascii") as status:
            for line in status:
                if line.startswith("Umask:"):
                    return int(line.split()[1], 8)
    except OSError:
        pass
    umask = os.umask(0o077)  # a moment of 077 is safe for another thread's new file; 0 would not be
    os.umask(umask)
    return umask


def atomic_write(path, write: Callable[[BinaryIO], object], *, mode: int | None = None,
                 what: str = "the file") -> Path:
    """Call ``write(file)`` on a temporary file beside ``path``, then rename it over ``path``.

    Parameters
    ----------
    path : str or os.PathLike
        The target; checked by :func:`check_target` first.
    write : callable
        Writes the content into the open binary file it is given. Whatever it raises is
        re-raised after the temporary file is removed (the target is then untouched), so a
        verification inside ``write`` (a checksum) decides whether the target is replaced.
    mode : int, optional
        Permission bits of the new file; default those of the file replaced, else those of
        any new file (``0o666`` less the umask).
    what : str
        What is saved, for the error messages (``"the model"``).

    Returns
    -------
    pathlib.Path
        ``path``.
    """
    path = check_target(path, what)
    _remove_stale(path)
    mode = file_mode(path) if mode is None else mode
    try:
        handle, temporary = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    except PermissionError:  # e.g. a read-only file system: name the target, not the temporary file
        raise PermissionError(f"cannot save {what} to {path}: the folder {path.parent} is not writable") from None
    try:
        with os.fdopen(handle, "wb") as out:
            os.chmod(temporary, mode)  # mkstemp makes it 0600 whatever the umask
            write(out)
            out.flush()
            os.fsync(out.fileno())
        os.replace(temporary, path)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise
    _sync_folder(path.parent)
    return path


def _sync_folder(folder: Path) -> None:
    """Flush the rename to disk too (best effort: not every system can open a folder)."""
    try:
        descriptor = os.open(folder, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(descriptor)
    except OSError:
        pass
    finally:
        os.close(descriptor)
