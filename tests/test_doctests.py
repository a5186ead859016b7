"""The ``Examples`` of every docstring in the package run as doctests.

Oracle: the output written under each example: a literal, hand-written expectation that a
reader trusts. Every module of ``funksvd`` is collected (new modules are picked up without
editing this file), with the repository root as the working directory, so examples may read
``../shared/data/ml-100k`` as the README does; a module whose examples read that folder is
skipped, with the path in the reason, only where it is absent. ``# doctest: +SKIP`` is kept
for examples that need a file the reader must supply.
"""

from __future__ import annotations

import doctest
import importlib
import pkgutil
import re
from pathlib import Path

import pytest

import funksvd

ROOT = Path(__file__).resolve().parents[1]
SHARED = re.compile(r"""["'](?P<path>\.\./shared/data/[^"']+)["']""")
#: ``__main__`` runs the command line when imported.
NOT_IMPORTED = {"funksvd.__main__"}

MODULES = sorted(
    {"funksvd"}
    | {name for _, name, _ in pkgutil.walk_packages(funksvd.__path__, "funksvd.")}
    - NOT_IMPORTED
)
FLAGS = doctest.ELLIPSIS | doctest.NORMALIZE_WHITESPACE


def examples(module_name: str) -> list[doctest.DocTest]:
    """The doctests of the objects defined in ``module_name`` (not of what it imports)."""
    module = importlib.import_module(module_name)
    finder = doctest.DocTestFinder(exclude_empty=True)
    return [test for test in finder.find(module, module_name) if test.examples]


def test_package_has_examples():
    """Oracle: the docstrings known to carry examples (Ratings, IdMap, Factors, rmse, ...)."""
    counted = {name: sum(len(t.examples) for t in examples(name)) for name in MODULES}
    assert sum(counted.values()) >= 10, counted
    for name in ("funksvd.model.ratings", "funksvd.model.ids", "funksvd.model.factors", "funksvd.evaluation.accuracy"):
        assert counted[name] > 0, name


#: The modules with at least one example (collected, so a new example is run without edits here).
WITH_EXAMPLES = [name for name in MODULES if examples(name)]


@pytest.mark.parametrize("module_name", WITH_EXAMPLES)
def test_docstring_examples(module_name, monkeypatch):
    """Oracle: the expected output written in the module's docstrings."""
    tests = examples(module_name)
    for test in tests:
        for example in test.examples:
            for match in SHARED.finditer(example.source):
                if not (ROOT / match.group("path")).exists() and not example.options.get(doctest.SKIP):
                    pytest.skip(f"{test.name} reads {match.group('path')}, absent beside this checkout")
    monkeypatch.chdir(ROOT)
    runner = doctest.DocTestRunner(optionflags=FLAGS)
    report = []
    for test in tests:
        runner.run(test, out=report.append)
    assert runner.failures == 0, "".join(report)
