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
    """The equations of every block-form ``.. math::`` directive, one string per equation.

    As in Sphinx, a blank line separates the equations of a directive and the lines of one
    equation are joined (with a space), so a long equation may be wrapped.
    """
    lines = textwrap.dedent(doc).splitlines()
    equations: list[str] = []
    current: list[str] = []
    inside, indent = False, 0

    def close() -> None:
        if current:
            equations.append(" ".join(current).rstrip(",."))
            current.clear()

    for line in lines:
        stripped = line.strip()
        if stripped == ".. math::":
            close()
            inside, indent = True, len(line) - len(line.lstrip())
            continue
        if inside:
            if stripped and len(line) - len(line.lstrip()) <= indent:
                close()
                inside = False
            elif stripped:
                current.append(stripped)
            else:
                close()
    close()
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


# ---- matrix equations (fold-in, balance) -------------------------------------------------------

MATRIX_TOKENS = [
    (r"\\frac\{\\partial L\}\{\\partial P\}", "dLdP"),
    (r"\\frac\{\\partial L\}\{\\partial Q\}", "dLdQ"),
    (r"\\lambda_\{p_u\}", "lam_pu"),
    (r"\\lambda_\{b_u\}", "lam_bu"),
    (r"\\lambda_P", "lam_P"),
    (r"\\lambda_Q", "lam_Q"),
    (r"\\tfrac12", "0.5"),
    (r"\\mathbf 1", "one"),
    (r"\\mu", "mu"),
    (r"\\Big\(|\\left\(", "("),
    (r"\\Big\)|\\right\)", ")"),
    (r"\^\\top", "T"),
    (r"\\,", None),
    (r"[A-Za-z]_[A-Za-z]", "name"),
    (r"[A-Za-z]", "name"),
    (r"\d+(?:\.\d+)?", "number"),
    (r"[-+()=]", "op"),
    (r"\s+", None),
]


def matrix_tokens(latex: str) -> list[str]:
    r"""Tokens of one matrix equation: names (``Q_S``, ``p``, ``N_u``...), numbers, ``T`` for
    :math:`^\top`, operators and parentheses. Anything else is an error (a formula the reader
    cannot evaluate fails the test instead of being skipped)."""
    out, j = [], 0
    while j < len(latex):
        for pattern, kind in MATRIX_TOKENS:
            m = re.compile(pattern).match(latex, j)
            if m:
                if kind in ("name", "number", "op"):
                    out.append(m.group(0))
                elif kind is not None:
                    out.append(kind)
                j = m.end()
                break
        else:
            raise ValueError(f"cannot read {latex[j:]!r} in {latex!r}")
    return out


def _product(a, b):
    """Juxtaposition: a scalar scales, two arrays multiply as matrices (a 1-d array is a vector)."""
    return a * b if np.ndim(a) == 0 or np.ndim(b) == 0 else a @ b


def evaluate_matrix(latex: str, **names) -> np.ndarray:
    r"""Evaluate one side of a matrix equation: sums, differences, juxtaposed products, ``^\top``.

    ``I`` and ``one`` (:math:`\mathbf 1`) must be given among ``names`` with the right size.
    """
    tokens = matrix_tokens(latex) + ["<end>"]
    pos = 0

    def peek():
        return tokens[pos]

    def take():
        nonlocal pos
        pos += 1
        return tokens[pos - 1]

    def primary():
        token = take()
        if token == "(":
            value = expr()
            if take() != ")":
                raise ValueError(f"unbalanced parentheses in {latex!r}")
        elif re.fullmatch(r"\d+(?:\.\d+)?", token):
            value = float(token)
        elif token in names:
            value = np.asarray(names[token], dtype=np.float64)
        else:
            raise ValueError(f"unknown symbol {token!r} in {latex!r}")
        while peek() == "T":
            take()
            value = value.T
        return value

    def term():
        value = primary()
        while peek() not in ("+", "-", ")", "=", "<end>"):
            value = _product(value, primary())
        return value

    def expr():
        sign = -1.0 if peek() == "-" and take() else 1.0
        value = sign * term()
        while peek() in ("+", "-"):
            value = value + term() if take() == "+" else value - term()
        return value

    value = expr()
    if peek() != "<end>":
        raise ValueError(f"cannot read {latex!r} past {tokens[pos:]}")
    return value


def matrix_equation(latex: str, **names) -> tuple[np.ndarray, np.ndarray]:
    """Both sides of ``lhs = rhs``, evaluated."""
    lhs, rhs = latex.split("=")
    return evaluate_matrix(lhs, **names), evaluate_matrix(rhs, **names)
