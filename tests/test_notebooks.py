"""The tutorials as the notebooks a reader downloads: readable markdown, an install cell, and they run.

Each notebook is built here as the docs build makes it: sphinx-gallery's own converter
(``split_code_and_text_blocks``, ``jupyter_notebook``) with the docs' ``first_notebook_cell``, then
``docs/_ext/funksvd_notebooks.py``'s rewrite. Oracles: the patterns of reST that Jupyter shows raw (a role,
a ``[Key]_`` citation, a ``%%`` line where a heading should be), and a real Jupyter kernel
(nbclient + ipykernel) executing every cell without an error. The notebooks on toy data run in
the normal suite; those that read MovieLens 100K or import TensorFlow are marked slow.
"""

from __future__ import annotations

import copy
import importlib.util
import json
import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
TUTORIALS = sorted((ROOT / "tutorials").rglob("plot_*.py"))
#: Tutorials that read MovieLens 100K or import TensorFlow: slow (tens of seconds each in a kernel).
HEAVY = ("plot_movielens", "plot_funk_features", "plot_baseline", "plot_reading_factors", "plot_2006_funk",
         "plot_2016_tf1_l1", "plot_2018_tf_masked", "plot_2019_keras_sigmoid", "plot_2021_tf2_harmonic")

sphinx_gallery = pytest.importorskip("sphinx_gallery", reason="sphinx-gallery (the docs extra) builds the notebooks")


def _docs_notebooks():
    spec = importlib.util.spec_from_file_location("docs_notebooks", ROOT / "docs" / "_ext" / "funksvd_notebooks.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


NOTEBOOKS = _docs_notebooks()


def build_notebook(script: Path) -> dict:
    """The notebook of ``script`` as the docs build writes it (sphinx-gallery, then docs/_ext/funksvd_notebooks.py)."""
    from sphinx_gallery.gen_gallery import DEFAULT_GALLERY_CONF
    from sphinx_gallery.notebook import jupyter_notebook
    from sphinx_gallery.py_source_parser import split_code_and_text_blocks

    conf = copy.deepcopy(DEFAULT_GALLERY_CONF)
    conf.update(first_notebook_cell=NOTEBOOKS.FIRST_CELL, src_dir=str(ROOT / "docs"))
    _, blocks = split_code_and_text_blocks(str(script))
    notebook = jupyter_notebook(blocks, conf, str(script.parent))
    return NOTEBOOKS.fix_notebook(notebook, NOTEBOOKS.bibliography())


def markdown(notebook: dict) -> str:
    return "\n\n".join("".join(c["source"]) for c in notebook["cells"] if c["cell_type"] == "markdown")


def test_the_rewrite_by_hand():
    """Oracle: literal hand-written conversions of each kind of markup."""
    text = (":func:`funksvd.train`, :class:`~funksvd.DivergenceError`, :meth:`fit <funksvd.FunkSVD.fit>`, "
            ":doc:`the notation </notation>`, [Keras2019]_ and ``code``")
    assert NOTEBOOKS.markdown_of(text) == ("`funksvd.train`, `DivergenceError`, `fit`, *the notation*, "
                                            "[Keras2019] and ``code``")
    assert NOTEBOOKS.markdown_of(":doc:`/notation`").startswith("*Notation")


@pytest.mark.parametrize("script", TUTORIALS, ids=lambda p: p.stem)
def test_notebook_markdown_has_no_raw_rest(script):
    """Oracle: no role, no reST citation, no '%%' line in any markdown cell; the install cell comes first;
    every citation is listed in a references cell with its bibliography text."""
    notebook = build_notebook(script)
    text = markdown(notebook)
    assert not re.search(r":[a-z]+:`", text), re.search(r".{30}:[a-z]+:`.{30}", text)
    assert not re.search(r"\]_", text)
    assert not re.search(r"^\s*%%", text, re.MULTILINE)
    first = "".join(notebook["cells"][0]["source"])
    assert notebook["cells"][0]["cell_type"] == "code" and '%pip install "funksvd[tf]"' in first
    cited = set(re.findall(r"\[([A-Za-z]+\d{4})\]", script.read_text(encoding="utf-8")))
    if cited:
        references = "".join(notebook["cells"][-1]["source"])
        assert references.startswith("## References")
        for key in cited:
            assert f"**[{key}]**" in references


def test_the_rewrite_is_idempotent():
    """Oracle: the rewrite of a rewritten notebook is the same notebook (the docs build may see it twice)."""
    notebook = build_notebook(ROOT / "tutorials" / "classics" / "plot_2019_keras_sigmoid.py")
    again = NOTEBOOKS.fix_notebook(copy.deepcopy(notebook), NOTEBOOKS.bibliography())
    assert again == notebook


def run_in_kernel(script: Path, monkeypatch) -> None:
    nbformat = pytest.importorskip("nbformat")
    nbclient = pytest.importorskip("nbclient", reason="nbclient (the test extra) runs notebooks")
    pytest.importorskip("ipykernel", reason="ipykernel (the test extra) is the notebooks' kernel")
    pytest.importorskip("matplotlib", reason="the tutorials draw with matplotlib (the docs extra)")
    notebook = nbformat.reads(json.dumps(build_notebook(script)), as_version=4)  # joins the source lines
    # the kernel inherits the environment: one BLAS thread, as docs/conf.py sets for the gallery (on a busy
    # 2-core machine OpenBLAS' threads spin against each other on these small matrices)
    monkeypatch.setenv("OPENBLAS_NUM_THREADS", "1")
    client = nbclient.NotebookClient(notebook, timeout=1800, kernel_name="python3",  # a busy machine
                                     resources={"metadata": {"path": str(ROOT)}})
    client.execute()  # raises CellExecutionError naming the cell and the traceback
    errors = [o for c in notebook.cells if c.cell_type == "code" for o in c.outputs if o.output_type == "error"]
    assert not errors


@pytest.mark.parametrize("script", [s for s in TUTORIALS if s.stem not in HEAVY], ids=lambda p: p.stem)
def test_toy_notebooks_run_in_a_jupyter_kernel(script, monkeypatch):
    """Oracle: a real Jupyter kernel (ipykernel via nbclient) runs every cell, the install cell included."""
    run_in_kernel(script, monkeypatch)


@pytest.mark.slow
@pytest.mark.parametrize("script", [s for s in TUTORIALS if s.stem in HEAVY], ids=lambda p: p.stem)
def test_movielens_and_tensorflow_notebooks_run_in_a_jupyter_kernel(script, monkeypatch):
    """Oracle: a real Jupyter kernel runs every cell (MovieLens 100K found from the repository root, or
    downloaded; TensorFlow imported)."""
    run_in_kernel(script, monkeypatch)


def test_the_exercises_page_holds_the_exercises_own_stubs():
    """Oracle: funksvd.exercises itself. Each stub on tutorials/plot_exercises.py is the .starter of its
    exercise (without its import line) word for word, its lines wrapped for the page, so the notebook's stubs
    cannot drift from what the grader expects."""
    from funksvd import exercises

    page = (ROOT / "tutorials" / "plot_exercises.py").read_text(encoding="utf-8")
    graded = re.findall(r'exercises\.get\("(\w+)"\)\.grade\((\w+),', page)
    stubs = {name for name, fn in graded if name == fn}
    assert stubs == {"masked_gradient", "item_biases", "adam_step"}
    for name in stubs:
        starter = exercises.get(name).starter
        body = " ".join(starter[starter.index("def "):].split())
        assert body in " ".join(page.split()), name
