"""``funksvd demo`` and ``funksvd check``: the toy problems, solved and verified, in a few seconds."""

from __future__ import annotations

import numpy as np

from .check import check_gradients
from .classics import QUUXLABS_PUBLISHED, QUUXLABS_R, completed_matrix, quuxlabs_ratings, run_quuxlabs_article
from .factors import Factors
from .objectives import OBJECTIVES
from .ratings import Ratings
from .rules import RULES

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
    rng = np.random.default_rng(random_state)
    for name, objective in [(n, r.objective) for n, r in RULES.items()] + list(OBJECTIVES.items()):
        data = scaled if objective.link == "sigmoid" else ratings
        for biased in (True, False):
            factors = Factors.random(data.n_users, data.n_items, 2, biased=biased, mu=data.mean() if biased else 0.0,
                                     init_std_dev=0.5, random_state=rng)
            if biased:  # nonzero biases, so that their gradients are exercised away from 0
                factors = factors.replace(bu=rng.normal(0, 0.3, data.n_users), bi=rng.normal(0, 0.3, data.n_items))
            label = f"{name} ({'biased' if biased else 'unbiased'})"
            yield label, objective, factors, data, 0.05


def run_checks(oracles=("tensorflow", "finite_differences"), random_state=0, out=print, compact=False) -> bool:
    """Check the hand-derived gradient of every rule and objective. True if all pass.

    Prints one table per case, or with ``compact=True`` one line per case and oracle
    (the worst relative error over all blocks).
    """
    all_ok = True
    if compact:
        out(f"{'objective':<34}{'oracle':<20}{'worst rel err':>14}  status")
    for label, objective, factors, ratings, reg in gradient_cases(random_state):
        report = check_gradients(objective, factors, ratings, oracles=oracles, reg=reg)
        all_ok &= report.ok
        if not compact:
            out(f"\n== {label}")
            out(str(report))
            continue
        for oracle in oracles:
            rows = [row for row in report.rows if row.oracle == oracle]
            status = "FAIL" if any(not r.ok for r in rows) else rows[0].status if rows[0].status == "skipped" else "ok"
            kinks = sum(r.kinks for r in rows)
            status += f" ({kinks} at kink)" if kinks else ""
            worst = max(r.max_rel_error for r in rows)
            out(f"{label:<34}{oracle:<20}{worst:>14.1e}  {status}")
        for note in report.notes:
            out("  " + note)
    out("\nALL GRADIENT CHECKS PASSED" if all_ok else "\nSOME GRADIENT CHECKS FAILED")
    return all_ok


def demo(out=print, oracles=("tensorflow", "finite_differences")) -> bool:
    """The quuxlabs toy completed with the article's settings, then every gradient checked."""
    out("funksvd demo")
    out("=" * 60)
    out("1. The quuxlabs toy matrix (0 = missing):")
    out(_matrix(QUUXLABS_R, "{:5.0f}"))
    factors, errors = run_quuxlabs_article(random_state=0)
    out("\nTrained as the article's code listing does: K=2, alpha=0.1, beta=0.01, 20 shuffled iterations,")
    out("biases, then P, then Q from the updated P (rule 'quuxlabs_listing', seed 0).")
    out("Error sqrt(SSE) after iterations 1, 5, 10, 15, 20: "
        + ", ".join(f"{errors[j - 1]:.4f}" for j in (1, 5, 10, 15, 20)))
    out("\nCompleted matrix (funksvd):")
    out(_matrix(completed_matrix(factors)))
    out("\nCompleted matrix (as published; random init, so only the observed cells must agree):")
    out(_matrix(QUUXLABS_PUBLISHED))
    ratings = quuxlabs_ratings()
    worst = np.abs(ratings.values - factors.predict(ratings.users, ratings.items)).max()
    out(f"\nLargest error on an observed cell: {worst:.4f}")
    out("\n2. Hand-derived gradients vs oracles, for every rule and classic objective:")
    out("   (relative error of the hand gradient; finite differences are exact up to rounding for")
    out("   losses quadratic along each coordinate, see funksvd.finite_differences)\n")
    return run_checks(oracles=oracles, out=out, compact=True)
