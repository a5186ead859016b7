"""The package's folders are layers: every import runs down them, and no private name leaves its module.

Oracle: the import graph read from the source with :mod:`ast` (every ``import`` and ``from ... import``,
including the lazy ones inside functions) against the table :data:`RANKS`, written here from the
layout in the README. A module may import from its own folder or from a folder of lower rank, and
never a private name (``_x``) of another module; the package ``__init__`` and ``__main__`` may import anything.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

import funksvd

PACKAGE = Path(funksvd.__file__).parent

#: The layers, lowest first; a folder (or a top-level module) may import only from its own rank or below.
RANKS = {
    "_version": 0,
    "base": 0,
    "model": 1,
    "data": 2,
    "maths": 3,
    "sgd": 4,
    "fullbatch": 5,
    "als": 5,
    "classics": 6,
    "autodiff": 7,
    "check": 8,
    "exercises": 9,
    "evaluation": 10,
    "estimator": 11,
    "sklearn": 12,
    "cli": 13,
}

#: Modules that assemble the public API and may import from every layer.
TOP = {"funksvd", "funksvd.__main__"}


def module_name(path: Path) -> str:
    parts = list(path.relative_to(PACKAGE.parent).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def imports(path: Path):
    """``(line, imported module, [names])`` for every import of funksvd in the file, resolved to absolute names."""
    tree = ast.parse(path.read_text(encoding="utf-8"), str(path))
    package = module_name(path) if path.name == "__init__.py" else module_name(path).rpartition(".")[0]
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            for alias in node.names:
                if alias.name.split(".")[0] == "funksvd":
                    yield node.lineno, alias.name, []
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")
                base = base[:len(base) - node.level + 1]
                target = ".".join(base + ([node.module] if node.module else []))
            else:
                target = node.module or ""
            if target.split(".")[0] != "funksvd":
                continue
            names = [alias.name for alias in node.names]
            if node.module is None or target == "funksvd":  # `from . import x`: x may be a module
                for name in names:
                    yield node.lineno, f"{target}.{name}", []
            else:
                yield node.lineno, target, names


def layer(module: str) -> str:
    """The folder (or top-level module) of ``funksvd.a.b``: ``a``."""
    parts = module.split(".")
    return parts[1] if len(parts) > 1 else ""


def graph() -> list[tuple[str, int, str, list[str]]]:
    edges = []
    for path in sorted(PACKAGE.rglob("*.py")):
        source = module_name(path)
        for line, target, names in imports(path):
            edges.append((source, line, target, names))
    return edges


def violations(edges) -> list[str]:
    found = []
    for source, line, target, names in edges:
        if source in TOP:
            continue
        here, there = layer(source), layer(target)
        if here not in RANKS or (there and there not in RANKS):
            found.append(f"{source}:{line} imports {target}: a folder missing from RANKS in tests/test_layers.py")
            continue
        if not there:
            found.append(f"{source}:{line} imports the package funksvd itself (its __init__ imports every layer)")
            continue
        if there != here and RANKS[there] > RANKS[here]:
            found.append(f"{source}:{line} imports {target} ({there}, rank {RANKS[there]}) upward from "
                         f"{here} (rank {RANKS[here]})")
        private = [name for name in names if name.startswith("_") and not name.startswith("__")]
        private += [part for part in target.split(".")[2:] if part.startswith("_") and part != "__init__"]
        if private and target != source:
            found.append(f"{source}:{line} imports private {private} from another module ({target})")
    return found


def test_every_folder_is_ranked():
    """Oracle: the directory listing; a new folder must be given a place in the layers."""
    folders = {path.stem for path in PACKAGE.iterdir()
               if (path.is_dir() and (path / "__init__.py").exists())
               or (path.suffix == ".py" and path.stem not in ("__init__", "__main__"))}
    assert folders <= set(RANKS), f"not ranked: {sorted(folders - set(RANKS))}"


def test_imports_run_down_the_layers():
    """Oracle: the ast import graph against RANKS; no upward import, no private name across folders."""
    edges = graph()
    assert len(edges) > 100, "the walk found too few imports to be reading the package"
    assert violations(edges) == []


@pytest.mark.parametrize("source, target, names, expected", [
    ("funksvd.model.factors", "funksvd.estimator.model", ["FunkSVD"], "upward"),
    ("funksvd.data.dataset", "funksvd.model.ids", ["_raw_array"], "private"),
    ("funksvd.check.gradients", "funksvd.autodiff", [], None),
    ("funksvd.sgd.orders", "funksvd.sgd.strata", ["balanced_groups"], None),
    ("funksvd.sgd.orders", "funksvd.sgd.strata", ["_balanced_groups"], "private"),
    ("funksvd.base.optional", "funksvd.autodiff", [], "upward"),
])
def test_the_rule_itself(source, target, names, expected):
    """Oracle: hand-classified edges (upward, private across folders and within one, and allowed ones)."""
    found = violations([(source, 1, target, names)])
    assert (found == []) if expected is None else (len(found) == 1 and expected in found[0])


def test_relative_imports_resolve(tmp_path):
    """Oracle: a literal: ``from ..model.factors import X`` in funksvd/sgd/steps.py names funksvd.model.factors."""
    edges = [edge for edge in graph() if edge[0] == "funksvd.sgd.steps"]
    assert any(target == "funksvd.model.factors" and "Factors" in names for _, _, target, names in edges)
    lazy = [edge for edge in graph() if edge[0] == "funksvd.sgd.steps" and edge[2] == "funksvd.sgd.compiled"]
    assert lazy, "the import inside sgd_epoch (a function body) was not seen"
