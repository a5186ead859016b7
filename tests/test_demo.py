"""``funksvd.cli.demo``: the seed reaches the run (oracle: the printed text of two seeds, and of one seed twice)."""

from __future__ import annotations

import re

from funksvd.cli.demo import demo, gradient_cases


def _demo_text(random_state):
    lines = []
    assert demo(out=lines.append, oracles=("finite_differences",), random_state=random_state)
    return "\n".join(lines)


def _errors_line(text):
    return next(line for line in text.splitlines() if line.startswith("Error sqrt(SSE)"))


def test_demo_seed_changes_the_run_and_repeats_it():
    """``random_state`` seeds the training run: another seed, other errors; the same seed, the same text.

    Oracle: the text itself (the published toy has random initialisation, so the errors after
    each iteration depend on the seed).
    """
    zero, one = _demo_text(0), _demo_text(1)
    assert "seed 0)" in zero and "seed 1)" in one
    assert _errors_line(zero) != _errors_line(one)
    assert _demo_text(1) == one
    assert re.search(r"ALL GRADIENT CHECKS PASSED$", one)


def test_gradient_cases_follow_the_seed():
    """Oracle: the random points of two seeds differ (and one seed repeats bit for bit)."""
    first = [factors.P for _, _, factors, _, _ in gradient_cases(0)]
    again = [factors.P for _, _, factors, _, _ in gradient_cases(0)]
    other = [factors.P for _, _, factors, _, _ in gradient_cases(1)]
    assert all((a == b).all() for a, b in zip(first, again))
    assert not any((a == b).all() for a, b in zip(first, other))
