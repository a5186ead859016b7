"""check_svdpp_gradients and ``funksvd check``'s SVD++ case: the hand gradient passes, planted slips fail.

Oracles: TensorFlow's tape on the TF-ops twin, central differences of ``svdpp_loss`` (h = 1, exact up
to rounding: the loss is quadratic along each coordinate) and sympy (the loss built from its
definition, and the hand code run on symbols), all inside the check; the planted slips are
funksvd's own source with one factor deleted, so their effect is known. Tolerances are the
check's own (rtol 1e-6, atol 1e-9 plus the finite differences' rounding estimate): the right
gradient agrees to ~1e-14 relative (rounding), a slip is off by O(1) relative.
"""

from __future__ import annotations

import inspect

import numpy as np
import pytest

from funksvd import Factors, Ratings
from funksvd.check.gradients import ORACLES
from funksvd.check.svdpp import LABEL, check_svdpp_gradients, prove_svdpp, svdpp_case
from funksvd.check.symbolic import MAX_SYMBOLS
from funksvd.cli.demo import gradient_cases, run_checks
from funksvd.maths import svdpp_objective
from funksvd.maths.svdpp import SVDPP_BLOCKS, Implicit

#: The two slips: each removes one factor from funksvd's dL/dY (the source must contain it).
SLIPS = {
    "eta_u dropped from the data term of dL/dY": "implicit.scales()[owners, None] * ",
    "c_j dropped from the penalty of dL/dY": "_y_weights(implicit, n_u, factors.n_items)[:, None] * ",
}


def _needs_every_oracle():
    pytest.importorskip("tensorflow")
    pytest.importorskip("sympy")


def _plant(monkeypatch, deleted: str) -> None:
    """Replace ``svdpp_gradients`` by its own source without ``deleted``, compiled in its module."""
    source = inspect.getsource(svdpp_objective.svdpp_gradients)
    assert source.count(deleted) == 1, "the slip must change the code"
    namespace: dict = {}
    exec(source.replace(deleted, ""), vars(svdpp_objective), namespace)  # noqa: S102 - funksvd's own source
    monkeypatch.setattr(svdpp_objective, "svdpp_gradients", namespace["svdpp_gradients"])


def test_svdpp_case_is_generic_and_follows_the_seed():
    """Oracle: the arrays of the case. N(u) differs from the rated set for some users, |N(u)| varies (an
    empty one included), every item is in some N(u), lambda differs per block; a seed repeats bit for bit."""
    factors, Y, ratings, implicit, reg = svdpp_case(0)
    rated = [set(ratings.items[ratings.users == u].tolist()) for u in range(ratings.n_users)]
    implied = [set(implicit.indices[implicit.indptr[u]:implicit.indptr[u + 1]].tolist())
               for u in range(implicit.n_users)]
    assert rated[0] == implied[0] and any(a != b for a, b in zip(rated, implied))
    assert len(set(implicit.sizes().tolist())) == implicit.n_users and 0 in implicit.sizes()
    assert set(implicit.indices.tolist()) == set(range(ratings.n_items))
    assert len(set(reg.values())) == len(SVDPP_BLOCKS)
    for array in (factors.P, factors.Q, factors.bu, factors.bi, Y, ratings.values):
        assert np.all(array != 0) and len(np.unique(array)) == array.size
    again, other = svdpp_case(0), svdpp_case(1)
    assert np.array_equal(again[1], Y) and again[4] == reg
    assert not np.array_equal(other[1], Y)


def test_hand_gradient_agrees_with_every_oracle():
    """Oracles: tensorflow, finite_differences, symbolic (and sympy's proof of the code). Every block
    of the 5 compared with each; the check's tolerances (module docstring)."""
    _needs_every_oracle()
    report = check_svdpp_gradients(*svdpp_case(0))
    assert report.ok, report
    assert report.objective == LABEL and not report.skipped
    assert {(row.block, row.oracle) for row in report.rows} == {(b, o) for b in SVDPP_BLOCKS for o in ORACLES}
    assert all(row.max_rel_error < 1e-12 for row in report.rows), report  # rounding only, far below rtol


def test_the_symbolic_proof_holds_for_funksvds_code():
    """Oracle: sympy, simplify(hand - derived) == 0 for every entry, the hand code run on symbols."""
    pytest.importorskip("sympy")
    _, _, ratings, implicit, _ = svdpp_case(0)
    proof = prove_svdpp(ratings, implicit, 4, 5, 2)
    assert proof.ok and proof.mismatched == ()
    assert len(proof.hand) == 4 * 2 + 5 * 2 + 4 + 5 + 5 * 2
    assert "lambda_Y" in str(proof.hand["Y[4, 0]"])  # symbols, not numbers, went through the hand code


def test_run_checks_reports_svdpp_and_passes():
    """Oracles: all three, through ``funksvd check``'s run_checks. The SVD++ case has one line per oracle,
    ok, and counts in the summary like the other cases."""
    _needs_every_oracle()
    lines: list[str] = []
    assert run_checks(out=lines.append, compact=True)
    rows = [line for line in lines if line.startswith(LABEL)]
    assert [line[34:54].strip() for line in rows] == list(ORACLES)
    assert all(line.endswith("  ok") for line in rows)
    assert lines[-1] == "\nALL GRADIENT CHECKS PASSED"


@pytest.mark.parametrize("slip", SLIPS)
def test_a_planted_slip_in_dLdY_fails_every_oracle_naming_Y(monkeypatch, slip):
    """Oracles: tensorflow, finite_differences, symbolic. A factor deleted from funksvd's dL/dY: every oracle
    FAILs block Y (by O(1) relative, far beyond rtol 1e-6) and only Y; sympy says it cannot prove the code."""
    _needs_every_oracle()
    _plant(monkeypatch, SLIPS[slip])
    report = check_svdpp_gradients(*svdpp_case(0))
    assert not report.ok
    for oracle in ORACLES:
        status = {row.block: row.status for row in report.rows if row.oracle == oracle}
        assert status == {"P": "ok", "Q": "ok", "bu": "ok", "bi": "ok", "Y": "FAIL"}, (oracle, report)
    symbolic_y = next(row for row in report.rows if row.oracle == "symbolic" and row.block == "Y")
    assert "sympy does not prove funksvd's hand formula" in symbolic_y.hint
    assert min(row.max_rel_error for row in report.failures) > 1e-2


def test_run_checks_fails_on_a_planted_slip(monkeypatch):
    """Oracles: all three, through run_checks: the eta_u slip makes each SVD++ line FAIL, the run False,
    and the summary counts one failed case among all."""
    _needs_every_oracle()
    _plant(monkeypatch, SLIPS["eta_u dropped from the data term of dL/dY"])
    lines: list[str] = []
    assert not run_checks(out=lines.append, compact=True)
    rows = [line for line in lines if line.startswith(LABEL)]
    assert len(rows) == len(ORACLES) and all(line.endswith("  FAIL") for line in rows)
    n_cases = len(list(gradient_cases(0))) + 1
    assert lines[-1] == f"\nSOME GRADIENT CHECKS FAILED (1 of {n_cases} cases)"
    assert sum(line.endswith("FAIL") for line in lines) == len(ORACLES)  # no other case is touched


def test_symbolic_is_skipped_with_its_reason_on_a_case_too_large_for_sympy():
    """Oracle: finite_differences compares every block; symbolic is 'skipped' (too many symbols) with the
    reason, so the report is ok on finite differences alone. Tolerances: the check's own."""
    rng = np.random.default_rng(0)
    ratings = Ratings(rng.integers(0, 40, 300), rng.integers(0, 30, 300), rng.uniform(1, 5, 300), 40, 30)
    implicit = Implicit.from_ratings(ratings)
    factors = Factors(rng.normal(0, 0.5, (40, 4)), rng.normal(0, 0.5, (30, 4)), rng.normal(0, 0.3, 40),
                      rng.normal(0, 0.3, 30), ratings.mean())
    report = check_svdpp_gradients(factors, rng.normal(0, 0.5, (30, 4)), ratings, implicit, 0.05,
                                   oracles=("finite_differences", "symbolic"))
    assert report.ok and report.compared == ("finite_differences",), report
    assert report.skipped["symbolic"].endswith(f"more than {MAX_SYMBOLS} symbols")
    assert all(row.status == "skipped" for row in report.rows if row.oracle == "symbolic")


def test_a_manual_gradient_with_a_transposed_Y_is_refused():
    """Oracle: the error message; shapes are checked before any oracle runs."""
    factors, Y, ratings, implicit, reg = svdpp_case(0)

    def manual(factors, Y, ratings, implicit, reg):
        grads = svdpp_objective.svdpp_gradients(factors, Y, ratings, implicit, reg)
        return {**grads, "Y": grads["Y"].T}

    with pytest.raises(ValueError, match=r"manual gradient Y has shape \(2, 5\), expected \(5, 2\) \(transposed\?\)"):
        check_svdpp_gradients(factors, Y, ratings, implicit, reg, manual=manual, oracles=("finite_differences",))
