"""Every ```python block of README.md, and every python code block of the docs pages, runs as written.

Each block runs alone, in a fresh interpreter, from the repository root, as a reader who copies
that one block would run it: a block may not lean on names defined by an earlier one. Blocks
are found by their fence, so sections added to the README later are run too. A block that reads
MovieLens from ``../shared/data/...`` is skipped, with the path in the reason, only where that
folder is absent (the data is never copied into the repository).
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
README = ROOT / "README.md"

#: A fenced block whose info string is ``python`` (alone or with attributes), up to its closing fence.
FENCE = re.compile(r"^```python\b[^\n]*\n(?P<code>.*?)^```[ \t]*$", re.MULTILINE | re.DOTALL)
#: Paths into the shared data folder beside the repository, as a snippet writes them.
SHARED = re.compile(r"""["'](?P<path>\.\./shared/data/[^"']+)["']""")


def python_blocks(text: str) -> list[tuple[int, str]]:
    """``(first line number, code)`` of every ```python fenced block of a Markdown text."""
    return [(text.count("\n", 0, m.start("code")) + 1, m.group("code")) for m in FENCE.finditer(text)]


#: ``.. code-block:: python`` and its options, then the indented body (blank lines included).
RST_BLOCK = re.compile(r"^\.\. code-block:: python[ \t]*\n(?:[ \t]+:[^\n]*\n)*[ \t]*\n"
                       r"(?P<code>(?:(?:[ \t]+[^\n]*)?\n)+)", re.MULTILINE)


def rst_python_blocks(text: str) -> list[tuple[int, str]]:
    """``(first line number, dedented code)`` of every python ``code-block`` of a reST text."""
    return [(text.count("\n", 0, m.start("code")) + 1, textwrap.dedent(m.group("code")).strip() + "\n")
            for m in RST_BLOCK.finditer(text)]


BLOCKS = [(f"README.md:{line}", code) for line, code in python_blocks(README.read_text(encoding="utf-8"))]
BLOCKS += [(f"docs/{page.name}:{line}", code)
           for page in sorted((ROOT / "docs").glob("*.rst"))
           for line, code in rst_python_blocks(page.read_text(encoding="utf-8"))]


def test_extractor_finds_python_blocks_only():
    """Oracle: a hand-written Markdown text whose python blocks (and their lines) are known."""
    text = ("# t\n\n```\nmake test\n```\n\n```python\nx = 1\n```\n\n```console\n$ ls\n```\n\n"
            "```python\ny = 2\nz = 3\n```\n")
    assert python_blocks(text) == [(8, "x = 1\n"), (16, "y = 2\nz = 3\n")]


def test_rst_extractor_finds_python_code_blocks_only():
    """Oracle: a hand-written reST text whose python code blocks (and their lines) are known."""
    text = ("T\n=\n\n.. code-block:: console\n\n   $ make\n\n.. code-block:: python\n   :caption: c\n\n"
            "   x = 1\n\n   if x:\n       y = 2\n\nafter\n")
    assert rst_python_blocks(text) == [(11, "x = 1\n\nif x:\n    y = 2\n")]


def test_there_are_python_blocks():
    """Oracle: the README's quick start, gradient check and real-data sections, the docs' two examples."""
    assert sum(where.startswith("README.md") for where, _ in BLOCKS) >= 3
    assert sum(where.startswith("docs/") for where, _ in BLOCKS) >= 2


@pytest.mark.parametrize("where, code", BLOCKS, ids=[where for where, _ in BLOCKS])
def test_block_runs(where, code):
    """Oracle: the page itself; the block must exit 0 in a fresh interpreter at the repository root."""
    for match in SHARED.finditer(code):
        if not (ROOT / match.group("path")).exists():
            pytest.skip(f"{where} reads {match.group('path')}, absent beside this checkout")
    env = dict(os.environ, PYTHONPATH=str(ROOT), MPLBACKEND="Agg", TF_CPP_MIN_LOG_LEVEL="3")
    done = subprocess.run([sys.executable, "-c", code], cwd=ROOT, env=env, capture_output=True,
                          text=True, timeout=600)
    assert done.returncode == 0, f"{where} failed:\n{code}\n--- stderr ---\n{done.stderr[-3000:]}"
