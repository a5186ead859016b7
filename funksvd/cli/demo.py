"""``funksvd demo`` and ``funksvd check``: the toy problems, solved and verified, in a few seconds."""

from __future__ import annotations

import numpy as np

from ..base.rng import check_random_state
from ..check.gradients import ORACLES, check_gradients
from ..check.svdpp import LABEL as SVDPP_LABEL
from ..check.svdpp import check_svdpp_gradients, svdpp_case
from ..classics.problems import QUUXLABS_PUBLISHED, QUUXLABS_R, completed_matrix, quuxlabs_ratings, run_quuxlabs_article
from ..model.factors import Factors
from ..maths.objectives import OBJECTIVES
from ..model.ratings import Ratings
from ..maths.rules import RULES

__all__ = ["gradient_cases", "run_checks", "demo"]


def _matrix(M: np.ndarray, fmt: str = "{:5.2f}") -> str:
    return "\n".join("  [" + " ".join(fmt.format(x) for x in row) + "]" for row in M)


def gradient_cases(random_state=0):
    """``(label, objective, factors, ratings, reg)`` for every rule and classic objective, on the quuxlabs toy.

    Biased and unbiased, at random factors; the sigmoid objective gets the ratings scaled to
    [0, 1] as its tutorial does.
    """
    ratings = quuxlabs_ratings()
    scaled = Ratings(ratings.users, ratings.items, (ratings.values - 1.0) / 4.0, ratings.n_users, ratings.n_items)
    rng = check_random_state(random_state)
    for name, objective in [(n, r.objective) for n, r in RULES.items()] + list(OBJECTIVES.items()):
        data = scaled if objective.link == "sigmoid" else ratings
        for biased in (True, False):
            factors = Factors.random(data.n_users, data.n_items, 2, biased=biased, mu=data.mean() if biased else 0.0,
                                     init_std_dev=0.5, random_state=rng)
            if biased:  # nonzero biases, so that their gradients are exercised away from 0
                factors = factors.replace(bu=rng.normal(0, 0.3, data.n_users), bi=rng.normal(0, 0.3, data.n_items))
            label = f"{name} ({'biased' if biased else 'unbiased'})"
            yield label, objective, factors, data, 0.05


def _summary(n_cases: int, n_failed: int, compared: dict, skipped: dict) -> str:
    """The last line of a run: what passed, what failed, and what was not compared."""
    not_compared = "; ".join(f"{oracle} NOT compared" for oracle in skipped if oracle not in compared)
    if n_failed:
        head = f"SOME GRADIENT CHECKS FAILED ({n_failed} of {n_cases} cases)"
        return head + (f"; {not_compared}" if not_compared else "")
    if not compared:
        return f"NO GRADIENT WAS CHECKED: {not_compared} (see above)"
    if not_compared:
        return f"GRADIENT CHECKS PASSED against {' and '.join(compared)} only; {not_compared} (see above)"
    return "ALL GRADIENT CHECKS PASSED"


def _reports(oracles, random_state):
    """``(label, report)`` of every case of :func:`gradient_cases`, then of the SVD++ objective."""
    for label, objective, factors, ratings, reg in gradient_cases(random_state):
        yield label, check_gradients(objective, factors, ratings, oracles=oracles, reg=reg)
    yield SVDPP_LABEL, check_svdpp_gradients(*svdpp_case(random_state), oracles=oracles)


def run_checks(oracles=ORACLES, random_state=0, out=print, compact=False) -> bool:
    """Check the hand-derived gradient of every rule and objective, and of the SVD++ objective.

    The SVD++ case is :func:`funksvd.check.svdpp.svdpp_case`, checked by
    :func:`funksvd.check.svdpp.check_svdpp_gradients` (all five blocks ``P, Q, bu, bi, Y``).
    Prints one table per case, or with ``compact=True`` one line per case and oracle (the worst
    relative error over all blocks). An oracle that cannot run (TensorFlow not installed) is
    announced once, with how to install it, and its rows say ``skipped``.

    Returns
    -------
    bool
        True if no case failed and every case was compared with at least one oracle: a run
        that compared nothing (only ``"tensorflow"`` asked for, and not installed) is False.
    """
    n_cases = n_failed = 0
    compared, skipped = {}, {}
    header = compact
    for label, report in _reports(oracles, random_state):
        for oracle, why in report.skipped.items():
            if oracle not in skipped:
                out(f"Note: {why}. Its rows say 'skipped'.")
                skipped[oracle] = why
        if header:
            out(f"{'objective':<34}{'oracle':<20}{'worst rel err':>14}  status")
            header = False
        compared.update(dict.fromkeys(report.compared))
        n_cases += 1
        n_failed += bool(report.failures)
        if not compact:
            out(f"\n== {label}")
            out(report.format(reasons=False))
            continue
        for oracle in oracles:
            rows = [row for row in report.rows if row.oracle == oracle]
            if oracle in report.skipped:
                out(f"{label:<34}{oracle:<20}{'-':>14}  skipped")
                continue
            kinks = sum(r.kinks for r in rows)
            status = ("FAIL" if any(r.failed for r in rows) else "ok") + (f" ({kinks} at kink)" if kinks else "")
            worst = max(r.max_rel_error for r in rows)
            out(f"{label:<34}{oracle:<20}{worst:>14.1e}  {status}")
    out("\n" + _summary(n_cases, n_failed, compared, skipped))
    return n_failed == 0 and bool(compared)


def demo(out=print, oracles=ORACLES, random_state=0) -> bool:
    """The quuxlabs toy completed with the article's settings, then every gradient checked.

    ``random_state`` seeds both the training run and the random points of the gradient checks.
    Returns :func:`run_checks`' verdict.
    """
    out("funksvd demo")
    out("=" * 60)
    out("1. The quuxlabs toy matrix (0 = missing):")
    out(_matrix(QUUXLABS_R, "{:5.0f}"))
    factors, errors = run_quuxlabs_article(random_state=random_state)
    out("\nTrained as the article's code listing does: K=2, alpha=0.1, beta=0.01, 20 shuffled iterations,")
    out(f"biases, then P, then Q from the updated P (rule 'quuxlabs_listing', seed {random_state}).")
    out("Error sqrt(SSE) after iterations 1, 5, 10, 15, 20: "
        + ", ".join(f"{errors[j - 1]:.4f}" for j in (1, 5, 10, 15, 20)))
    out("\nCompleted matrix (funksvd):")
    out(_matrix(completed_matrix(factors)))
    out("\nCompleted matrix (as published; random init, so only the observed cells must agree):")
    out(_matrix(QUUXLABS_PUBLISHED))
    ratings = quuxlabs_ratings()
    worst = np.abs(ratings.values - factors.predict(ratings.users, ratings.items)).max()
    out(f"\nLargest error on an observed cell: {worst:.4f}")
    out("\n2. Hand-derived gradients vs oracles, for every rule and classic objective, and SVD++:")
    out("   (relative error of the hand gradient; finite differences are exact up to rounding for")
    out("   losses quadratic along each coordinate, see funksvd.check.finite_differences)\n")
    return run_checks(oracles=oracles, random_state=random_state, out=out, compact=True)
