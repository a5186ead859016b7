"""Run a student's file in a subprocess with a time limit; call its function from the grader.

:class:`Sandbox` starts ``python -I funksvd/exercises/runner.py FILE FUNCTION`` (see
:mod:`~funksvd.exercises.runner`: funksvd and the autodiff libraries refused, prints counted),
sends it each case as plain data and reads back the answer, waiting at most as long as the
time limit has left (the limit counts the time spent waiting for the student's code only).
Whatever goes wrong on the student's side -- the file does not parse or does not run, the
function is missing or defined twice, it raises, loops, exits, prints without end -- ends in a
:class:`StudentError` with one line saying what, never in a traceback of the grader.
"""

from __future__ import annotations

import ast
import json
import os
import selectors
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import IO, Self

from . import runner

__all__ = ["DEFAULT_TIMEOUT", "PRINT_LIMIT", "Sandbox", "StudentError", "check_source"]

#: Seconds a whole grading may take (loading the file and every case), unless told otherwise.
DEFAULT_TIMEOUT = 20.0

#: Characters a graded file may print; more fails the grading (the first few are shown).
PRINT_LIMIT = 20_000

#: Characters of the student's output kept to show.
SHOWN = 2_000


class StudentError(Exception):
    """The student's code could not be graded: one line saying why (not a wrong answer: no answer)."""


def check_source(path: Path, function: str) -> str:
    """The source of ``path`` after the checks that need no execution: it parses, and does not define ``function``
    twice at the top level (whether it defines it at all, perhaps by assignment, the run tells)."""
    name = path.name
    try:
        source = path.read_text(encoding="utf-8")
    except UnicodeDecodeError:
        raise StudentError(f"{name} is not a UTF-8 text file") from None
    except OSError as error:
        raise StudentError(f"cannot read {path}: {error.strerror or error}") from None
    try:
        tree = ast.parse(source, filename=str(path))
    except SyntaxError as error:
        raise StudentError(f"{name} line {error.lineno}: syntax error: {error.msg}") from None
    except ValueError as error:  # e.g. a NUL byte
        raise StudentError(f"{name} does not parse: {error}") from None
    lines = [node.lineno for node in tree.body
             if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)) and node.name == function]
    if len(lines) > 1:
        raise StudentError(f"{name} defines {function}() {len(lines)} times (lines "
                           f"{', '.join(map(str, lines))}): keep the one you mean")
    if any(isinstance(node, ast.AsyncFunctionDef) and node.name == function for node in tree.body):
        raise StudentError(f"{name} defines {function}() with async def: write a plain def")
    return source


def _pipe(stream: IO[bytes] | None) -> IO[bytes]:
    assert stream is not None  # opened with subprocess.PIPE
    return stream


class Sandbox:
    """The student's function, callable from the grader, running in its own process.

    Parameters
    ----------
    path : path-like
        The student's file.
    function : str
        The name of the function to grade.
    timeout : float
        Seconds the student's code may run in all (loading and every call; the time spent
        waiting for its answers, not the grader's own work between calls).
    """

    def __init__(self, path, function: str, timeout: float = DEFAULT_TIMEOUT):
        self.path = Path(path)
        self.function = function
        self.timeout = float(timeout)
        check_source(self.path, function)
        self.left = self.timeout  # seconds of the student's code still allowed (the grader's own time is free)
        self.printed = 0
        self.output = bytearray()
        env = {key: os.environ[key] for key in ("PATH", "HOME", "LANG", "SYSTEMROOT", "TMPDIR") if key in os.environ}
        env.update(OPENBLAS_NUM_THREADS="1", OMP_NUM_THREADS="1", PYTHONDONTWRITEBYTECODE="1")
        self.process = subprocess.Popen(
            [sys.executable, "-I", runner.__file__, str(self.path.resolve()), function],
            stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=env,
            cwd=str(self.path.resolve().parent), start_new_session=True,
        )
        self._stdin, self._stdout, self._stderr = _pipe(self.process.stdin), _pipe(self.process.stdout), \
            _pipe(self.process.stderr)
        self._drain = threading.Thread(target=self._count_output, daemon=True)
        self._drain.start()
        self._buffer = b""
        hello = self._receive("loading the file")
        if not hello.get("ready"):
            raise StudentError(hello.get("problem") or f"{self.path.name} could not be loaded")

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def close(self) -> None:
        """End the subprocess and whatever it started (its own session: the grader's child and its descendants)."""
        if self.process.poll() is None:
            try:
                os.killpg(self.process.pid, signal.SIGKILL)
            except (ProcessLookupError, PermissionError, AttributeError):  # gone already, or no process groups
                self.process.kill()
        self.process.wait()
        self._drain.join(timeout=1.0)
        for stream in (self.process.stdin, self.process.stdout, self.process.stderr):
            if stream is not None:
                stream.close()

    def _count_output(self) -> None:
        for chunk in iter(lambda: self._stderr.read1(65536), b""):  # type: ignore[attr-defined]
            self.printed += len(chunk)
            if len(self.output) < SHOWN:
                self.output += chunk[:SHOWN - len(self.output)]

    @property
    def shown_output(self) -> str:
        """The first characters the student's code printed."""
        return self.output.decode("utf-8", errors="replace")

    def _timed_out(self, doing: str) -> StudentError:
        self.close()
        return StudentError(f"grading stopped after the time limit of {self.timeout:g} s while {doing}: "
                            "an endless loop, or far too slow? (the limit is set with --timeout)")

    def _receive(self, doing: str) -> dict:
        """One JSON line from the runner, waiting until the deadline."""
        fd = self._stdout.fileno()
        with selectors.DefaultSelector() as selector:
            selector.register(fd, selectors.EVENT_READ)
            while b"\n" not in self._buffer:
                start = time.monotonic()
                ready = self.left > 0 and selector.select(timeout=self.left)
                self.left -= time.monotonic() - start
                if not ready:
                    raise self._timed_out(doing)
                chunk = os.read(fd, 1 << 20)
                if not chunk:
                    code = self.process.wait()
                    raise StudentError(f"the grading process ended while {doing} (exit status {code}): "
                                       "did the code call os._exit or crash the interpreter?")
                self._buffer += chunk
        line, _, self._buffer = self._buffer.partition(b"\n")
        try:
            message = json.loads(line)
        except ValueError:
            message = None
        if not isinstance(message, dict):
            raise StudentError(f"the grading process sent a garbled answer while {doing}")
        return message

    def __call__(self, *args, inplace: tuple[int, ...] = ()) -> dict:
        """``runner.call`` of the student's function in the subprocess (same answer form)."""
        request = json.dumps({"args": [runner.encode(a) for a in args], "inplace": list(inplace)})
        try:
            self._stdin.write(request.encode("utf-8") + b"\n")
            self._stdin.flush()
        except (BrokenPipeError, OSError):
            code = self.process.wait()
            raise StudentError(f"the grading process ended before the call (exit status {code})") from None
        answer = self._receive(f"running {self.function}()")
        if "error" in answer:
            return {"error": str(answer["error"])}
        try:
            updated = runner.decode(answer["inplace"])
            return {"result": runner.decode(answer["result"]), "inplace": list(updated)}
        except (KeyError, TypeError, ValueError, AttributeError):
            raise StudentError(f"the grading process sent a garbled answer while running {self.function}()") from None

    def check_output(self) -> None:
        """Raise :class:`StudentError` if the student's code printed more than :data:`PRINT_LIMIT` characters."""
        self.close()  # the runner is done: every print has reached the counter once it exits
        if self.printed > PRINT_LIMIT:
            raise StudentError(f"{self.path.name} printed {self.printed:,} characters while graded (at most "
                               f"{PRINT_LIMIT:,}): take the prints out of {self.function}()")
