"""The exercises as reStructuredText, for the docs page (generated at build time from the code, so it cannot drift)."""

from __future__ import annotations

import textwrap

from .catalogue import EXERCISES, PAGES
from .exercise import Exercise

__all__ = ["PAGE_TITLES", "exercise_rst", "rst"]

#: The derivation pages' subjects, the headings of the exercises page.
PAGE_TITLES = {
    "rules": "The per-rating rules", "masked_matrix": "Matrix calculus of the masked loss",
    "sum_vs_mean": "Sum or mean", "l1": "The L1 data term and penalty", "sigmoid": "The sigmoid link",
    "biases": "Biases", "map": "Regularisation as MAP estimation", "funk_schedule": "Funk's feature-at-a-time schedule",
    "fold_in_als": "Fold-in and ALS", "als": "Alternating least squares",
    "symmetries": "The symmetries", "not_svd": "Why this is not the SVD",
    "gradient_checking": "Gradient checking", "optimizers": "The optimisers as Keras computes them",
    "svdpp": "SVD++",
}


def _indent(text: str) -> str:
    return textwrap.indent(text.rstrip("\n"), "   ")


def _plain(text: str) -> str:
    """``text`` as literal reST prose: the markup characters backslash-escaped (a hint's ``|p|^2`` stays text)."""
    for char in "\\*|_`":
        text = text.replace(char, "\\" + char)
    return text


def _graded_by(exercise: Exercise) -> str:
    if exercise.objective is not None:
        return (":func:`funksvd.check.check_gradients`: finite differences, TensorFlow's tape and sympy "
                "(those installed), entry by entry")
    return exercise.oracle_name


def exercise_rst(exercise: Exercise, derivations: set[str] | frozenset[str] = frozenset(),
                 embedded: bool = False) -> str:
    """One exercise: label, title, page link (when the page ``derivations/<page>`` exists), prompt,
    stub, slips, solution.

    ``embedded``: for a derivation page itself, a rubric instead of a titled, labelled section, with a
    link to the exercise on the exercises page.
    """
    page = exercise.page.removeprefix("derivations/")
    where = f":doc:`/derivations/{page}`" if page in derivations else f"``derivations/{page}``"
    slips = "\n".join(f"* {_plain(slip.hint)}" for slip in exercise.slips)
    if embedded:
        head = f"""
.. rubric:: Exercise: {exercise.title}

``{exercise.name}`` -- also on :ref:`the exercises page <exercise-{exercise.name}>`
"""
    else:
        head = f"""
.. _exercise-{exercise.name}:

{exercise.title}
{"~" * len(exercise.title)}

``{exercise.name}`` -- derivation: {where}
"""
    return head + f"""
{exercise.prompt}

.. code-block:: console

   $ funksvd exercise {exercise.name} --starter > mine.py
   $ funksvd exercise {exercise.name} mine.py

Graded on {exercise.n_cases} fresh random cases against {_graded_by(exercise)}. Slips it names:

{slips}

.. raw:: html

   <details><summary>Solution (try first)</summary>

.. code-block:: python

{_indent(exercise.solution)}

.. raw:: html

   </details>
"""


def rst(derivations: set[str] | frozenset[str] = frozenset(), page: str | None = None) -> str:
    """Every exercise, grouped by derivation page in reading order. ``derivations``: the pages that exist.

    With ``page`` (e.g. ``"masked_matrix"``), only that page's exercises, embedded in the page itself.
    """
    if page is not None:
        if page not in PAGES:
            raise ValueError(f"no derivation page {page!r}; the pages are {', '.join(PAGES)}")
        return "\n".join(exercise_rst(e, derivations, embedded=True) for e in EXERCISES.values()
                         if e.page == f"derivations/{page}")
    parts = []
    for name in PAGES:
        group = [e for e in EXERCISES.values() if e.page == f"derivations/{name}"]
        if group:
            title = PAGE_TITLES[name]
            parts.append(f"\n{title}\n{'-' * len(title)}\n")
            parts.extend(exercise_rst(e, derivations) for e in group)
    return "\n".join(parts)
