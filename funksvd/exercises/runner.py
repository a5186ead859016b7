"""The student's side of grading: load a file, call its function, report back. numpy and the standard library only.

Run as a script (``python -I runner.py FILE FUNCTION``), this module is the grading subprocess of
:mod:`funksvd.exercises.sandbox`: it refuses to import funksvd (the reference solutions and the
library's own hand gradients) and the autodiff libraries (TensorFlow, Keras, PyTorch, JAX,
autograd), executes the file under the module name ``student`` (so an ``if __name__ ==
"__main__":`` block does not run), sends the student's prints to stderr (the parent keeps the
first few and counts the rest), and answers one JSON line per call on its original stdout. It
never unpickles anything, and the parent decodes its answers without running code either.

Imported, it lends the grader the same pieces: :func:`call`, which runs a function on copies of
its inputs, reports the inputs it changed and names the line of the student's file where it
raised; :func:`encode` and :func:`decode`, the plain-data form of arguments and answers.

This is a guard against mistakes and naive shortcuts (calling ``funksvd.gradients``, importing
the reference solution), not a security boundary: code that reads the library's files from
disk can still copy them.
"""

from __future__ import annotations

import base64
import json
import os
import sys
import traceback
from importlib.abc import MetaPathFinder

import numpy as np

#: Top-level packages a graded file may not import.
REFUSED = ("funksvd", "tensorflow", "keras", "torch", "jax", "autograd")

#: The largest answer (bytes of array data) a call may return.
MAX_BYTES = 64 * 2**20


class Refuse(MetaPathFinder):
    """A finder that refuses the packages of :data:`REFUSED` with a message saying why."""

    def find_spec(self, fullname, path=None, target=None):
        top = fullname.partition(".")[0]
        if top in REFUSED:
            what = "funksvd" if top == "funksvd" else "autodiff libraries such as " + top
            raise ImportError(f"{what} cannot be imported while grading: write the formula yourself "
                              "(the grader compares it with its own oracles)", name=fullname)


class Opaque:
    """A value of a type that has no plain-data form (a set, a function, ...): only its type name travels."""

    def __init__(self, type_name: str):
        self.type_name = type_name

    def __repr__(self) -> str:
        return f"<{self.type_name}>"


def encode(value, depth: int = 0):
    """Plain JSON data for ``value``: numeric arrays as bytes, containers tagged by type, anything else by name."""
    if depth > 8:
        return {"o": "deeply nested value"}
    if isinstance(value, np.ndarray):
        if value.dtype.kind not in "biuf":
            return {"o": f"numpy array of dtype {value.dtype}"}
        data = np.ascontiguousarray(value)
        return {"a": data.dtype.str, "s": list(data.shape), "b": base64.b64encode(data.tobytes()).decode("ascii")}
    if isinstance(value, (bool, np.bool_)):
        return {"bool": bool(value)}
    if isinstance(value, (int, np.integer)):
        return {"i": int(value)}
    if isinstance(value, (float, np.floating)):
        return {"f": float(value)}  # JSON carries nan and inf as NaN and Infinity
    if value is None:
        return None
    if isinstance(value, (list, tuple)):
        return {"l" if isinstance(value, list) else "t": [encode(v, depth + 1) for v in value]}
    if isinstance(value, dict) and all(isinstance(k, str) for k in value):
        return {"d": [[k, encode(v, depth + 1)] for k, v in value.items()]}
    return {"o": type(value).__name__}


def decode(data):
    """Inverse of :func:`encode`; an unknown type comes back as an :class:`Opaque`."""
    if data is None:
        return None
    if "a" in data:
        dtype = np.dtype(data["a"])
        if dtype.kind not in "biuf":
            return Opaque(f"numpy array of dtype {dtype}")
        return np.frombuffer(base64.b64decode(data["b"]), dtype=dtype).reshape(data["s"]).copy()
    for key, kind in (("bool", bool), ("i", int), ("f", float)):
        if key in data:
            return kind(data[key])
    if "l" in data:
        return [decode(v) for v in data["l"]]
    if "t" in data:
        return tuple(decode(v) for v in data["t"])
    if "d" in data:
        return {k: decode(v) for k, v in data["d"]}
    return Opaque(str(data.get("o", "unknown value")))


def _nbytes(value) -> int:
    if isinstance(value, np.ndarray):
        return value.nbytes
    if isinstance(value, (list, tuple)):
        return sum(_nbytes(v) for v in value)
    if isinstance(value, dict):
        return sum(_nbytes(v) for v in value.values())
    return 8


def where(error: BaseException, filename: str | None) -> str:
    """``" at mine.py line 7"`` for the last frame of ``error`` in ``filename`` (empty without one)."""
    line = getattr(error, "lineno", None) if isinstance(error, SyntaxError) else None
    for frame in traceback.extract_tb(error.__traceback__):
        if filename and os.path.abspath(frame.filename) == os.path.abspath(filename):
            line = frame.lineno
    return f" at {os.path.basename(filename)} line {line}" if filename and line else ""


def describe(error: BaseException, filename: str | None = None) -> str:
    """One line for an exception raised by the student's code: type, place, message."""
    text = str(error).strip().splitlines()
    message = text[0] if text else ""
    if isinstance(error, SystemExit):
        return f"called exit({error.code!r}){where(error, filename)}; graded code must return, not exit"
    if isinstance(error, NotImplementedError):
        return f"raised NotImplementedError{where(error, filename)}: the stub is not filled in yet"
    return f"raised {type(error).__name__}{where(error, filename)}" + (f": {message}" if message else "")


def call(fn, args: tuple, inplace: tuple[int, ...] = (), filename: str | None = None,
         forbidden: str | None = None) -> dict:
    """Run ``fn(*args)`` on copies of the array arguments.

    Returns ``{"result": ..., "inplace": [arrays after the call, for the positions in inplace]}``,
    or ``{"error": "one line"}`` if it raised, changed an argument outside ``inplace``, or (with
    ``forbidden``, a folder) ran any Python function defined under ``forbidden`` -- how the
    in-process grader sees a call into funksvd's own gradients or its reference solutions, by a
    profile hook set for the duration of the call only.
    """
    given = tuple(a.copy() if isinstance(a, np.ndarray) else a for a in args)
    before = tuple(a.copy() if isinstance(a, np.ndarray) else None for a in given)
    called: list[str] = []

    def watch(frame, event, arg):
        if event == "call" and not called and frame.f_code.co_filename.startswith(forbidden):
            called.append(f"{os.path.relpath(frame.f_code.co_filename, os.path.dirname(forbidden))}: "
                          f"{frame.f_code.co_qualname}")

    previous = sys.getprofile()
    try:
        if forbidden:
            sys.setprofile(watch)
        result = fn(*given)
    except BaseException as error:  # noqa: BLE001 (whatever the student's code raises is reported, never re-raised)
        return {"error": "your function " + describe(error, filename)}
    finally:
        if forbidden:
            sys.setprofile(previous)
    if called:
        what = "the reference solution" if f"{os.sep}exercises{os.sep}" in called[0] else "funksvd's own code"
        return {"error": f"your function calls {what} ({called[0]}): graded code must compute its answer itself"}
    for position, (now, then) in enumerate(zip(given, before)):
        if then is None or position in inplace:
            continue
        changed = np.argwhere(~((now == then) | (np.isnan(now) & np.isnan(then))) if now.dtype.kind == "f"
                              else now != then)
        if changed.size:
            entry = ", ".join(str(int(j)) for j in changed[0])
            return {"error": f"your function changed its input argument {position + 1} (entry [{entry}]); "
                             "it must compute its answer without modifying what it is given"}
    if _nbytes(result) > MAX_BYTES:
        return {"error": f"your function returned {_nbytes(result) / 2**20:.0f} MB; the answer is far smaller"}
    return {"result": result, "inplace": [given[j] for j in inplace]}


def _load(path: str, function: str):
    """The student's function, or a one-line reason why there is none."""
    import types

    with open(path, encoding="utf-8") as handle:
        source = handle.read()
    module = types.ModuleType("student")
    module.__file__ = path
    sys.modules["student"] = module
    try:
        exec(compile(source, path, "exec"), module.__dict__)  # noqa: S102 (running the student's file is the point)
    except BaseException as error:  # noqa: BLE001
        return None, f"{os.path.basename(path)} does not run: " + "it " + describe(error, path)
    fn = module.__dict__.get(function)
    if not callable(fn):
        return None, f"{os.path.basename(path)} does not define a function {function}()"
    return fn, ""


def _send(out, message: dict) -> None:
    out.write((json.dumps(message) + "\n").encode("utf-8"))
    out.flush()


def _limit_memory(gigabytes: float = 4.0) -> None:
    """Cap the address space (where the platform allows), so that a runaway allocation is a MemoryError."""
    try:
        import resource

        limit = int(gigabytes * 2**30)
        _, hard = resource.getrlimit(resource.RLIMIT_AS)
        if hard == resource.RLIM_INFINITY or hard > limit:
            resource.setrlimit(resource.RLIMIT_AS, (limit, hard))
    except (ImportError, ValueError, OSError):  # not on this platform: the time limit still holds
        pass


def main(argv: list[str]) -> int:
    path, function = argv[1], argv[2]
    _limit_memory()
    sys.meta_path.insert(0, Refuse())
    for name in [m for m in sys.modules if m.partition(".")[0] in REFUSED]:
        del sys.modules[name]
    requests = os.fdopen(os.dup(0), "rb")
    out = os.fdopen(os.dup(1), "wb")
    devnull = os.open(os.devnull, os.O_RDONLY)
    os.dup2(devnull, 0)
    os.dup2(2, 1)  # the student's prints go to stderr, which the parent counts and truncates
    sys.stdin = open(os.devnull)  # noqa: SIM115 (open for the life of the process, as the real stdin is)
    sys.path.insert(0, os.path.dirname(os.path.abspath(path)))
    fn, problem = _load(path, function)
    _send(out, {"ready": fn is not None, "problem": problem})
    if fn is None:
        return 0
    for line in requests:
        request = json.loads(line)
        answer = call(fn, tuple(decode(a) for a in request["args"]), tuple(request["inplace"]), path)
        try:
            sys.stdout.flush()
            message = json.dumps({k: encode(v) if k != "error" else v for k, v in answer.items()})
        except (TypeError, ValueError, RecursionError) as error:
            message = json.dumps({"error": f"the answer could not be sent back: {error}"})
        out.write((message + "\n").encode("utf-8"))
        out.flush()
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
