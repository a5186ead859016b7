"""The tutorials' downloadable notebooks, made readable outside the documentation.

sphinx-gallery turns each text block into a markdown cell with its own converter, which
knows reST's math, headings and code but not Sphinx's cross-reference roles or citations, so a
notebook would show ``:func:`funksvd.train``` and ``[Keras2019]_`` literally. After the
gallery is generated (``builder-inited``), :func:`fix_notebooks` rewrites the markdown of every
notebook under the gallery folder:

* a role becomes code (``:func:`~funksvd.train``` -> ```train```) or, for ``:doc:``, the page's
  title in italics;
* a citation ``[Keras2019]_`` becomes ``[Keras2019]``, and a last markdown cell lists the
  entries cited, with their text from ``bibliography.rst``.

The rewriting is idempotent (a notebook sphinx-gallery did not regenerate passes through
unchanged), and ``tests/test_notebooks.py`` runs the same function on notebooks it builds.
conf.py imports it (``docs/_ext`` is on its path) and connects :func:`fix_notebooks`.
"""

from __future__ import annotations

import itertools
import json
import re
from pathlib import Path

__all__ = ["FIRST_CELL", "bibliography", "fix_notebook", "fix_notebooks", "markdown_of"]

#: The first cell of every notebook (sphinx-gallery's ``first_notebook_cell``): install funksvd
#: into the kernel when it is not importable, as in a notebook downloaded from the site.
FIRST_CELL = """\
# Run outside the funksvd repository? This installs funksvd (with TensorFlow, which some
# pages use) and matplotlib into this notebook's kernel first; from a clone use instead
# %pip install -e "/path/to/funksvd[tf]" matplotlib
import importlib.util

if importlib.util.find_spec("funksvd") is None:
    %pip install "funksvd[tf]" matplotlib"""

ROLE = re.compile(r":(?:py:)?(?P<role>[a-z]+):`(?P<body>[^`]+)`")
CITATION = re.compile(r"\[(?P<key>[A-Za-z][A-Za-z0-9_-]*)\]_")
REFERENCES_HEADING = "## References (from the documentation's bibliography)"
HERE = Path(__file__).resolve().parents[1]  # docs/


def _page_title(target: str) -> str | None:
    """The title of the page ``target`` names (an ``.rst`` page or a tutorial script), or None."""
    name = target.strip().lstrip("/")
    candidates = [HERE / f"{name}.rst"]
    if name.startswith("auto_tutorials/"):
        candidates.append(HERE.parent / "tutorials" / f"{name.removeprefix('auto_tutorials/')}.py")
    for path in candidates:
        if path.is_file():
            lines = [line.strip() for line in path.read_text(encoding="utf-8").splitlines()]
            for above, line in itertools.pairwise(lines):
                if line and set(line) <= set("=-~^") and above and not above.startswith(('r"""', '"""')):
                    return above
    return None


def _role(match: re.Match) -> str:
    role, body = match.group("role"), match.group("body").strip()
    titled = re.fullmatch(r"(?P<title>.+?)\s*<(?P<target>[^>]+)>", body, re.DOTALL)
    if role in ("doc", "ref"):
        if titled:
            return f"*{titled.group('title')}*"
        title = _page_title(body) if role == "doc" else None
        return f"*{title or body.strip('/').split('/')[-1]}* (a page of the documentation)"
    if role == "math":  # sphinx-gallery converts these; kept for text it did not see
        return f"${body}$"
    if titled:
        return f"`{titled.group('title')}`"
    target = body.lstrip("~!")
    if body.startswith("~"):
        target = target.split(".")[-1]
    return f"`{target}`"


def markdown_of(text: str) -> str:
    """``text`` with Sphinx's roles made code or words and citations made plain ``[Key]``."""
    return CITATION.sub(r"[\g<key>]", ROLE.sub(_role, text))


def bibliography(path: Path = HERE / "bibliography.rst") -> dict[str, str]:
    """The entries of ``bibliography.rst`` by key, as markdown (``.. [Key] text`` with its indented lines)."""
    entries: dict[str, str] = {}
    key = None
    for line in path.read_text(encoding="utf-8").splitlines():
        start = re.match(r"\.\. \[(?P<key>[^\]]+)\]\s*(?P<text>.*)", line)
        if start:
            key = start.group("key")
            entries[key] = start.group("text")
        elif key is not None and line.startswith("   "):
            entries[key] += " " + line.strip()
        else:
            key = None
    return {k: markdown_of(v) for k, v in entries.items()}


def fix_notebook(notebook: dict, entries: dict[str, str]) -> dict:
    """The notebook with its markdown cells rewritten by :func:`markdown_of` and a references cell added."""
    cited: list[str] = []
    cells = [cell for cell in notebook["cells"]
             if not (cell["cell_type"] == "markdown" and "".join(cell["source"]).startswith(REFERENCES_HEADING))]
    for cell in cells:
        if cell["cell_type"] != "markdown":
            continue
        text = "".join(cell["source"])
        for key in CITATION.findall(text) + re.findall(r"\[([A-Za-z][A-Za-z0-9_-]*\d{4})\]", text):
            if key in entries and key not in cited:
                cited.append(key)
        cell["source"] = [markdown_of(text)]
    if cited:
        lines = [REFERENCES_HEADING, ""] + [f"* **[{key}]** {entries[key]}" for key in cited]
        cells.append({"cell_type": "markdown", "metadata": {}, "source": ["\n".join(lines) + "\n"]})
    notebook["cells"] = cells
    return notebook


def fix_notebooks(app) -> None:
    """Rewrite every notebook of the gallery (``builder-inited``, after sphinx-gallery made them)."""
    conf = app.config.sphinx_gallery_conf
    gallery = Path(app.srcdir) / conf["gallery_dirs"]
    entries = bibliography(Path(app.srcdir) / "bibliography.rst")
    for path in sorted(gallery.rglob("*.ipynb")):
        notebook = json.loads(path.read_text(encoding="utf-8"))
        fixed = json.dumps(fix_notebook(notebook, entries), indent=2)
        if fixed != path.read_text(encoding="utf-8"):
            path.write_text(fixed, encoding="utf-8")
