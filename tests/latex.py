r"""Read the equations of a docstring and evaluate them, so a test can hold code and formula together.

The rule docstrings of :mod:`funksvd.maths.rules` write their math in a small vocabulary:

========================================  ==========================
LaTeX                                     Python
========================================  ==========================
``\hat r_{ui}``, ``r_{ui}``, ``\mu``      ``r_hat``, ``r``, ``mu``
``p_u``, ``q_i``, ``b_u``, ``b_i``        rows and biases
``p_u'``                                  the updated P row
``p_{uf}``, ``q_{if}``, ``c_j``             one factor, the cached prediction
``\operatorname{clip}(x)``                ``clip(x)`` to the rating range
``\lambda``, ``\beta``                    ``reg``
``\gamma``, ``\alpha``                    ``lr``
``x^\top y``                              ``dot(x, y)``
``\lVert x\rVert^2``                      ``sq(x)``
``\frac{a}{b}``                           ``((a)/(b))``
``x^2``                                   ``x**2``
``\,`` (thin space)                       ``*`` (a product)
========================================  ==========================

Anything else left with a backslash is an error, so a formula the reader cannot evaluate fails
the test instead of being skipped.
"""

from __future__ import annotations

import re
import textwrap

import numpy as np

SYMBOLS = [
    (r"\hat r_{ui}", "r_hat"),
    (r"r_{ui}", "r"),
    (r"\mu", "mu"),
    (r"\lambda", "reg"),
    (r"\beta", "reg"),
    (r"\gamma", "lr"),
    (r"\alpha", "lr"),
    (r"\operatorname{clip}", "clip"),
    ("p_{uf}", "p"),
    ("q_{if}", "q"),
    ("c_j", "c"),
    ("p_u'", "p_new"),
    ("p_u", "p"),
    ("q_i", "q"),
    ("b_u", "bu"),
    ("b_i", "bi"),
    (r"\ell", "ell"),
    (r"\,", "*"),
]

LHS = {
    r"\hat r_{ui}": "r_hat",
    "e": "e",
    r"\ell": "ell",
    r"\frac{\partial \ell}{\partial p_u}": "dP",
    r"\frac{\partial \ell}{\partial q_i}": "dQ",
    r"\frac{\partial \ell}{\partial b_u}": "dbu",
    r"\frac{\partial \ell}{\partial b_i}": "dbi",
    r"\frac{\partial \ell}{\partial p_{uf}}": "dP",
    r"\frac{\partial \ell}{\partial q_{if}}": "dQ",
    "p_{uf}": "P",
    "q_{if}": "Q",
    "p_u": "P",
    "q_i": "Q",
    "b_u": "bu",
    "b_i": "bi",
}


def math_blocks(doc: str) -> list[str]:
    """The equations of every block-form ``.. math::`` directive, one string per non-blank line."""
    lines = textwrap.dedent(doc).splitlines()
    equations, inside, indent = [], False, 0
    for line in lines:
        stripped = line.strip()
        if stripped == ".. math::":
            inside, indent = True, len(line) - len(line.lstrip())
            continue
        if inside:
            if stripped and len(line) - len(line.lstrip()) <= indent:
                inside = False
            elif stripped:
                equations.append(stripped.rstrip(",."))
    return equations


def _replace_frac(text: str) -> str:
    r"""``\frac{a}{b}`` -> ``((a)/(b))``, innermost braces balanced."""
    while r"\frac{" in text:
        start = text.index(r"\frac{")
        args, j = [], start + len(r"\frac")
        for _ in range(2):
            depth, k = 0, j
            while True:
                depth += {"{": 1, "}": -1}.get(text[k], 0)
                if depth == 0:
                    break
                k += 1
            args.append(text[j + 1 : k])
            j = k + 1
        text = text[:start] + f"(({args[0]})/({args[1]}))" + text[j:]
    return text


def to_python(latex: str, symbols=None) -> str:
    """Translate one right-hand side to a Python expression (``symbols`` extend :data:`SYMBOLS`, read first)."""
    text = latex
    text = re.sub(r"\\lVert\s*(.+?)\s*\\rVert\^2", r"sq(\1)", text)
    text = re.sub(r"([pq])_\{(uf|if)\}\^2", r"\1_{\2}**2", text)  # before p_{uf} loses its braces
    text = re.sub(r"([pqz]_[ui]'?)\^\\top\s*([pqz]_[ui])", r"dot(\1, \2)", text)
    for symbol, name in list(symbols or ()) + SYMBOLS:
        text = text.replace(symbol, f" {name} ")
    text = _replace_frac(text)
    text = text.replace("^2", "**2")
    if "\\" in text or "{" in text:
        raise ValueError(f"cannot read {latex!r} (left with {text!r})")
    return text


def equations(doc: str, lhs_names=None, symbols=None) -> dict[str, str]:
    """``{lhs_key: python_rhs}`` for every equation of the docstring whose left side is known.

    ``lhs_names`` and ``symbols`` extend :data:`LHS` and :data:`SYMBOLS` (the SVD++ kernels' notation).
    """
    known = {**LHS, **(lhs_names or {})}
    out = {}
    for eq in math_blocks(doc):
        parts = re.split(r"\s*(?:=|\\leftarrow)\s*", eq, maxsplit=1)
        if len(parts) != 2:
            raise ValueError(f"not an equation or update: {eq!r}")
        lhs, rhs = parts
        if lhs not in known:
            raise ValueError(f"unknown left-hand side {lhs!r} in {eq!r}")
        key = known[lhs] + ("_new" if "\\leftarrow" in eq else "")
        out[key] = to_python(rhs, symbols)
    return out


def evaluate(expression: str, lo=-np.inf, hi=np.inf, **names) -> np.ndarray:
    """Evaluate a translated expression with numpy helpers ``dot``, ``sq`` and ``clip`` (to ``[lo, hi]``)."""
    env = {"dot": np.dot, "sq": lambda x: float(np.dot(x, x)), "clip": lambda x: min(max(x, lo), hi),
           "__builtins__": {}}
    return eval(expression, env, names)  # noqa: S307 - our own docstrings, translated above
