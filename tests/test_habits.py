"""The habits of the package: no ``print`` in the library, its messages on the ``funksvd`` logger, typed, licensed.

Oracles: the source read with :mod:`ast`; captured stdout and log records; the files of the repository.
"""

from __future__ import annotations

import ast
import logging
import tomllib
from pathlib import Path

import funksvd
from funksvd.base.log import log

PACKAGE = Path(funksvd.__file__).parent
ROOT = PACKAGE.parent

#: Modules that may print: the command line, and the download progress (written to stderr, owned by data/).
MAY_PRINT = ("cli/", "data/download.py")


def test_the_library_never_prints():
    """Oracle: every call of the name ``print`` in the package's syntax trees, outside the command line."""
    found = []
    for path in sorted(PACKAGE.rglob("*.py")):
        where = path.relative_to(PACKAGE).as_posix()
        if where.startswith(MAY_PRINT):
            continue
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Call) and getattr(node.func, "id", None) == "print":
                found.append(f"{where}:{node.lineno}")
    assert found == []


def test_messages_go_to_the_logger_and_to_stdout_when_verbose(capsys, caplog):
    """Oracle: the captured stdout and the records of the ``funksvd`` logger, for both values of verbose."""
    with caplog.at_level(logging.INFO, logger="funksvd"):
        log("quiet line", verbose=False)
        log("loud line", verbose=True)
    assert capsys.readouterr().out == "loud line\n"
    assert [(r.name, r.levelno, r.getMessage()) for r in caplog.records] == [
        ("funksvd", logging.INFO, "quiet line"), ("funksvd", logging.INFO, "loud line")]
    assert not logging.getLogger("funksvd").handlers  # the stdout handler is removed again


def test_typed_and_licensed():
    """Oracle: the files, and what pyproject.toml says about them (the wheel ships both)."""
    project = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))
    assert (PACKAGE / "py.typed").exists()
    assert "py.typed" in project["tool"]["setuptools"]["package-data"]["funksvd"]
    assert (ROOT / "LICENSE").read_text(encoding="utf-8").startswith("MIT License")
    assert project["project"]["license"] == "MIT" and project["project"]["license-files"] == ["LICENSE"]
    assert "Programming Language :: Python :: 3.11" in project["project"]["classifiers"]
