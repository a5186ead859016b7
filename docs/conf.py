"""Sphinx configuration for funksvd's documentation (builds offline; warnings are errors in CI).

Everything a reader's browser needs is in the built site: MathJax comes from the
``sphinx-mathjax-offline`` package (MathJax 3.2.2, Apache-2.0) and is copied into ``_static``,
and it renders to SVG, which needs no web fonts. No page loads anything from the network.
"""

from __future__ import annotations

import os
import re
import sys
from pathlib import Path

from sphinx.util import logging

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(Path(__file__).resolve().parent))  # gallery_order.py
sys.path.insert(0, str(ROOT / "docs" / "_ext"))  # the funksvd-derive directive
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
# One BLAS thread, set before numpy loads: the tutorials' matrices are small, and on a busy
# 2-core machine OpenBLAS' threads spin against each other (the 2021 classic page: 114 s with
# the threads as installed, 10 s with one; see benchmarks/RESULTS.md, full-batch step).
os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")

import funksvd  # noqa: E402

import funksvd_notebooks as notebooks  # noqa: E402  (docs/_ext: the downloadable notebooks' text, first cell)

project = "funksvd"
author = "funksvd developers"
copyright = "2026, funksvd developers"
release = funksvd.__version__
version = release

extensions = [
    "sphinx.ext.autodoc",
    "sphinx.ext.autosummary",
    "sphinx.ext.mathjax",
    "sphinx-mathjax-offline",  # the package's import name has hyphens; it sets mathjax_path
    "sphinx.ext.viewcode",
    "sphinx_copybutton",
    "numpydoc",
    "sphinx_gallery.gen_gallery",
    "funksvd_derive",
    "funksvd_exercises",  # docs/_ext: the exercises page from funksvd.exercises
]

templates_path = []
exclude_patterns = ["_build", "auto_tutorials/*.ipynb", "auto_tutorials/*.py", "sg_execution_times.rst"]

# -- the page a reader meets ---------------------------------------------------------------
html_theme = "furo"
html_title = f"funksvd {release}"
html_static_path = ["_static"]
html_css_files = ["funksvd.css"]
html_theme_options = {"navigation_with_keys": True}
pygments_style = "friendly"
pygments_dark_style = "monokai"

# MathJax from the bundled copy (sphinx-mathjax-offline copies it to _static/mathjax and sets
# mathjax_path to its CommonHTML build; setup() below picks the SVG build instead). SVG draws
# the glyphs as paths, so no web font has to load: some browsers refuse fonts from file://
# pages in another folder, as the tutorials' pages are.
MATHJAX_PATH = "mathjax/tex-svg.js"
mathjax3_config = {"svg": {"fontCache": "global"}}

# sphinx-copybutton: copy the code, not the prompts or the output
copybutton_prompt_text = r">>> |\.\.\. |\$ "
copybutton_prompt_is_regexp = True
copybutton_only_copy_prompt_lines = False

autodoc_default_options = {"members": True, "member-order": "bysource"}
autodoc_typehints = "none"
autosummary_generate = False
numpydoc_show_class_members = False
numpydoc_class_members_toctree = False
numpydoc_xref_param_type = False
math_number_all = False
nitpicky = False

sphinx_gallery_conf = {
    "examples_dirs": str(ROOT / "tutorials"),
    "gallery_dirs": "auto_tutorials",
    "filename_pattern": r"/plot_",
    "download_all_examples": False,
    "remove_config_comments": True,
    "abort_on_example_error": True,
    "within_subsection_order": "gallery_order.TutorialOrder",  # the reading order, not alphabetical
    "show_signature": False,
    "min_reported_time": 0,
    # the per-gallery timing pages load DataTables from a CDN; the times are in the build log
    "write_computation_times": False,
    # the notebooks: an install cell first; roles and citations rewritten after generation (setup)
    "first_notebook_cell": notebooks.FIRST_CELL,
}


def check_every_tutorial_has_a_figure(app):
    """Warn (an error under ``-W``) for a tutorial that drew no figure: its gallery card would
    show a placeholder, and a tutorial here is there to show something.

    sphinx-gallery saves figure ``n`` of ``plot_x.py`` as ``images/sphx_glr_plot_x_00n.png`` in
    the gallery folder of the tutorial's subsection; runs after the gallery is generated.
    """
    if not app.config.sphinx_gallery_conf.get("plot_gallery", True) or app.builder.format != "html":
        return
    source = Path(app.config.sphinx_gallery_conf["examples_dirs"])
    gallery = Path(app.srcdir) / app.config.sphinx_gallery_conf["gallery_dirs"]
    for script in sorted(source.rglob("plot_*.py")):
        sub = script.parent.relative_to(source)
        image = gallery / sub / "images" / f"sphx_glr_{script.stem}_001.png"
        if not image.is_file():
            logging.getLogger(__name__).warning(
                "tutorial %s drew no figure (no %s)", script.relative_to(ROOT), image.relative_to(ROOT)
            )


#: Longest code line of a tutorial that shows whole in the theme's code column (furo's 46em
#: content width holds about 95 characters of code; a longer line scrolls sideways).
CODE_WIDTH = 88


def code_lines(text):
    """``(line number, line)`` of the code of a sphinx-gallery script: not the module
    docstring, not the ``# %%`` text blocks (those become paragraphs and wrap)."""
    lines = text.splitlines()
    start = 0
    if lines and lines[0].lstrip("r").startswith('"""'):
        start = next(n for n in range(1, len(lines)) if '"""' in lines[n]) + 1
    in_text = False
    for n in range(start, len(lines)):
        line = lines[n]
        if line.startswith("# %%"):
            in_text = True
        elif not (in_text and line.startswith("#")):
            in_text = False
            yield n + 1, line


def check_tutorial_code_width(app):
    """Warn (an error under ``-W``) for a tutorial code line too long to show whole."""
    source = Path(app.config.sphinx_gallery_conf["examples_dirs"])
    for script in sorted(source.rglob("plot_*.py")):
        for n, line in code_lines(script.read_text(encoding="utf-8")):
            if len(line) > CODE_WIDTH:
                logging.getLogger(__name__).warning(
                    "%s:%d: code line of %d characters (at most %d show whole on the page)",
                    script.relative_to(ROOT), n, len(line), CODE_WIDTH)


CODE_BLOCK = re.compile(r"^(\s*)(?:\.\. (?:code-block|code|sourcecode)::.*|(?!\.\. )\S.*::)\s*$")


def rst_code_lines(text):
    """``(line number, code line without the block's indentation)`` of every code block of a
    reST page: ``.. code-block::`` directives and ``::`` literal blocks (not literalinclude,
    whose source files have their own line limit)."""
    lines = text.splitlines()
    n = 0
    while n < len(lines):
        match = CODE_BLOCK.match(lines[n])
        n += 1
        if not match:
            continue
        outer = len(match.group(1))
        while n < len(lines) and (not lines[n].strip() or lines[n].lstrip().startswith(":")
                                  and len(lines[n]) - len(lines[n].lstrip()) > outer):
            n += 1  # the blank line and the directive's options
        if n >= len(lines) or len(lines[n]) - len(lines[n].lstrip()) <= outer:
            continue
        indent = len(lines[n]) - len(lines[n].lstrip())
        while n < len(lines) and (not lines[n].strip() or len(lines[n]) - len(lines[n].lstrip()) >= indent):
            if lines[n].strip():
                yield n + 1, lines[n][indent:]
            n += 1


def check_rst_code_width(app):
    """Warn (an error under ``-W``) for a code line of a reST page too long to show whole."""
    srcdir = Path(app.srcdir)
    for page in sorted(srcdir.rglob("*.rst")):
        relative = page.relative_to(srcdir)
        if relative.parts[0] in ("auto_tutorials", "_build"):
            continue
        for n, line in rst_code_lines(page.read_text(encoding="utf-8")):
            if len(line) > CODE_WIDTH:
                logging.getLogger(__name__).warning(
                    "%s:%d: code line of %d characters (at most %d show whole on the page)",
                    page.relative_to(ROOT), n, len(line), CODE_WIDTH)


REMOTE = re.compile(r"""<(?:script|link|img)\b[^>]*?\b(?:src|href)=["'](?:https?:)?//""")


def check_no_remote_assets(app, exception):
    """Warn for a page that loads a script, stylesheet or image from the network: the site must
    read the same on a machine without one (links to other sites are fine)."""
    if exception is not None or app.builder.format != "html":
        return
    for docname in sorted(app.env.found_docs):  # this build's pages, not stale ones
        page = Path(app.builder.get_outfilename(docname))
        if not page.is_file():
            continue
        match = REMOTE.search(page.read_text(encoding="utf-8", errors="replace"))
        if match:
            logging.getLogger(__name__).warning("%s loads %s... from the network", docname, match.group(0))


def exercise_role(name, rawtext, text, lineno, inliner, options=None, content=None):
    """``:exercise:`NAME``` links to the exercise's anchor ``exercise-NAME`` on the exercises page,
    or, where that page is not part of the build, says how to run it: "funksvd exercise NAME"."""
    from docutils import nodes
    from sphinx.addnodes import pending_xref

    from funksvd import exercises

    if text not in exercises.names():  # a link to a command that does not exist is an error (-W)
        message = inliner.reporter.error(f"no exercise {text!r}; the exercises are {', '.join(exercises.names())}",
                                         line=lineno)
        return [inliner.problematic(rawtext, rawtext, message)], [message]
    ref = pending_xref(rawtext, refdomain="std", reftype="ref", reftarget=f"exercise-{text}", refexplicit=True,
                       refwarn=False, funksvd_optional=True)
    ref += nodes.inline(text, f"Exercise: funksvd exercise {text}", classes=["xref", "std", "std-ref"])
    return [ref], []


def optional_doc_role(name, rawtext, text, lineno, inliner, options=None, content=None):
    """``:optional-doc:`/path``` links to a page written on another branch when the page is part
    of the build, and otherwise names its source file."""
    from docutils import nodes
    from sphinx.addnodes import pending_xref

    ref = pending_xref(rawtext, refdomain="std", reftype="doc", reftarget=text, refexplicit=False,
                       refwarn=False, funksvd_optional=True, refdoc=inliner.document.settings.env.docname)
    ref += nodes.inline(text, f"docs{text}.rst", classes=["xref", "std", "std-doc"])
    return [ref], []


def optional_reference(app, env, node, contnode):
    """An :exercise: link whose target is not in this build reads as plain text instead of warning."""
    if node.get("funksvd_optional"):
        from docutils import nodes

        return nodes.literal("", contnode.astext())
    return None


#: Pages of the derivations chapter written on other branches: listed in its toctree exactly when
#: their source file is part of the build (see :func:`drop_absent_chapter_pages`).
OPTIONAL_CHAPTER_PAGES = ("derivations/als", "derivations/svdpp")


def drop_absent_chapter_pages(app, docname, source):
    """Remove the toctree entry of an optional chapter page whose ``.rst`` file does not exist."""
    if docname != "derivations":
        return
    for page in OPTIONAL_CHAPTER_PAGES:
        if not (Path(app.srcdir) / f"{page}.rst").is_file():
            source[0] = re.sub(rf"^   {re.escape(page)}\n", "", source[0], flags=re.MULTILINE)


def setup(app):
    app.connect("source-read", drop_absent_chapter_pages)
    app.add_role("exercise", exercise_role)
    app.add_role("optional-doc", optional_doc_role)
    app.connect("missing-reference", optional_reference)
    app.config.mathjax_path = MATHJAX_PATH  # after sphinx-mathjax-offline's own setup
    # after sphinx-gallery's generate_gallery_rst (default priority 500)
    app.connect("builder-inited", check_every_tutorial_has_a_figure, priority=900)
    app.connect("builder-inited", check_tutorial_code_width)
    app.connect("builder-inited", check_rst_code_width)
    app.connect("builder-inited", notebooks.fix_notebooks, priority=900)
    app.connect("build-finished", check_no_remote_assets)
