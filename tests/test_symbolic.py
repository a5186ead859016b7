"""The symbolic oracle and ``funksvd derive``: sympy's derivative of each loss, proved equal to the code.

Oracles: sympy (``simplify(hand - derived) == 0``, symbolically, never at sample points), with the
hand side read from funksvd's code (a rule's kernel run on symbols, an objective's formula pieces
run with ``np`` bound to sympy); for the printed derivations, the gradients as the rules'
docstrings state them, copied into this file; for the oracle at a point, TensorFlow and finite
differences.
"""

from __future__ import annotations

import subprocess
import sys

import pytest

from funksvd import OBJECTIVES, RULES, Factors, derive
from funksvd.check import check_gradients
from funksvd.check.derivation import DERIVABLE
from funksvd.check.symbolic import is_zero, prove, prove_objective, prove_rule
from funksvd.classics import quuxlabs_ratings
from funksvd.maths import objectives as objectives_module
from funksvd.maths.rules import predict_one

sp = pytest.importorskip("sympy")


@pytest.mark.parametrize("name", DERIVABLE)
def test_every_named_rule_and_objective_is_proved(name):
    """Oracle: sympy; hand (the code run on symbols) minus derived simplifies to 0, entry by entry."""
    proof = prove(name)
    assert proof.ok, proof.mismatched
    assert proof.mismatched == ()
    if name in RULES:
        assert set(proof.derived) == {"err", "P[0]", "P[1]", "Q[0]", "Q[1]", "bu[0]", "bi[0]"}


def test_the_comparison_is_symbolic_not_numeric():
    """Oracle: sympy. Kills the mutant 'the symbolic comparison replaced by a numeric one at one point':
    a kernel off by 1e-30 p_uf q_if (invisible to a float comparison at any point) is not proved."""
    def almost_funk(P, Q, bu, bi, mu, u, i, r, lr, reg):
        err = r - predict_one(P, Q, bu, bi, mu, u, i)
        bu[u] += lr[2] * (err - reg[2] * bu[u])
        bi[i] += lr[3] * (err - reg[3] * bi[i])
        for f in range(P.shape[1]):
            puf, qif = P[u, f], Q[i, f]
            P[u, f] += lr[0] * (err * qif - reg[0] * puf) + 1e-30 * puf * qif
            Q[i, f] += lr[1] * (err * puf - reg[1] * qif)
        return err

    proof = prove_rule("funk", step=almost_funk)
    assert not proof.ok and proof.mismatched == ("P[0]", "P[1]")


def test_a_difference_that_vanishes_at_points_is_not_zero():
    """Oracle: sympy. (x - 1)(x - 2) is 0 at two 'sample points' and not identically; tanh(z/2) and the
    logistic form of the same function are equal though they look different."""
    x = sp.Symbol("x", real=True)
    assert not is_zero((x - 1) * (x - 2))
    assert is_zero(sp.Rational(1, 2) * (1 + sp.tanh(x / 2)) - 1 / (1 + sp.exp(-x)))


def test_a_wrong_hand_piece_of_an_objective_is_caught(monkeypatch):
    """Oracle: sympy. Objective._rho with the derivative of e^2 written as e (the missing 2) is not proved."""
    def wrong_rho(self, e):
        return e * e, 1.0 * e

    monkeypatch.setattr(objectives_module.Objective, "_rho", wrong_rho)
    proof = prove_objective("tf_masked_2018")
    assert not proof.ok and proof.mismatched == ("dL/dz",)


def test_a_wrong_penalty_of_an_objective_is_caught(monkeypatch):
    """Oracle: sympy. A penalty_terms whose gradient forgets the 2 and the count (theta for 2 n lambda w theta)
    is not proved, for every block."""
    def wrong(self, factors, reg, counts, gradients=True):
        return 0.0, {block: 1.0 * theta for block, theta in factors.params().items()}

    monkeypatch.setattr(objectives_module.Objective, "penalty_terms", wrong)
    proof = prove_objective("surprise_documented")
    assert proof.mismatched == ("dOmega/dP", "dOmega/dQ", "dOmega/dbu", "dOmega/dbi")


#: The gradients each rule's docstring states (funksvd/maths/rules.py), in derive's plain-text symbols.
STATED = {
    "funk": ["dl/dp_uf = -e*q_if + lambda_P*p_uf", "dl/dq_if = -e*p_uf + lambda_Q*q_if",
             "dl/db_u = b_u*lambda_bu - e", "dl/db_i = b_i*lambda_bi - e"],
    "quuxlabs": ["dl/dp_uf = -2*e*q_if + lambda_P*p_uf", "dl/dq_if = -2*e*p_uf + lambda_Q*q_if",
                 "dl/db_u = 2*b_u*lambda_bu - 2*e", "dl/db_i = 2*b_i*lambda_bi - 2*e"],
}
STATED["quuxlabs_listing"] = STATED["funk"]


@pytest.mark.parametrize("name", sorted(RULES))
def test_derive_prints_the_derivation_of_each_rule(name):
    """Oracle: the gradients stated in the rule's docstring (copied above) and the proof's verdict."""
    text = derive(name)
    for label in ("prediction:", "error:", "loss:", "chain rule:", "gradient:", "update:"):
        assert label in text
    for line in STATED[name]:
        assert line in text, text
    assert "verified: sympy proves simplify(hand - derived) == 0" in text
    if not RULES[name].simultaneous:
        assert "order: (bu, bi) -> (P) -> (Q)" in text


@pytest.mark.parametrize("name", sorted(OBJECTIVES))
def test_derive_prints_each_objective(name):
    """Oracle: the objective's options; the chain rule of its data term and the proof's verdict."""
    text = derive(name)
    assert "g_ui = dL/dz_ui" in text and "verified: sympy proves" in text
    if OBJECTIVES[name].data == "absolute":
        assert "d(c rho)/de = sign(e)" in text
    if OBJECTIVES[name].reduction == "mean":
        assert "N" in text.split("g_ui = dL/dz_ui = ")[1].splitlines()[0]


@pytest.mark.parametrize("name", DERIVABLE)
def test_derive_latex_is_balanced_and_parses(name):
    """Oracle: sympy's own LaTeX printer output; each equation line has balanced braces."""
    text = derive(name, latex=True)
    for line in text.splitlines():
        if not line.startswith("%"):
            assert line.count("{") == line.count("}"), line
    assert r"\frac{\partial" in text


def test_derive_a_students_per_rating_loss():
    """Oracle: the derivative of the Huber loss worked out by hand, e inside the band, delta sign(e) out."""
    def huber(xp, theta, data):
        p_u, q_i = xp.take(theta["P"], data.users, axis=0), xp.take(theta["Q"], data.items, axis=0)
        e = data.values - (data.mu + xp.take(theta["bu"], data.users) + xp.take(theta["bi"], data.items)
                           + xp.sum(p_u * q_i, axis=1))
        return xp.sum(xp.where(xp.abs(e) <= 1.0, 0.5 * xp.square(e), xp.abs(e) - 0.5))

    text = derive(huber)
    assert "huber (your loss), one rating (u, i, r), 2 factors" in text
    line = next(line for line in text.splitlines() if "dl/db_u" in line)
    b_u, b_i, mu, r = sp.symbols("b_u b_i mu r", real=True)
    p, q = sp.symbols("p_u1:3", real=True), sp.symbols("q_i1:3", real=True)
    e = r - mu - b_u - b_i - p[0] * q[0] - p[1] * q[1]
    expected = sp.Piecewise((-e, sp.Abs(e) <= 1), (-sp.sign(e), True))
    got = sp.sympify(line.split(" = ", 1)[1], locals={"b_u": b_u, "b_i": b_i, "mu": mu, "r": r,
                                                      **{s.name: s for s in (*p, *q)}})
    for point in ({r: 4, mu: 3, b_u: 0.1, b_i: 0.2, p[0]: 0.3, p[1]: -0.2, q[0]: 0.5, q[1]: 0.1},
                  {r: 1, mu: 3.5, b_u: 0.1, b_i: 0.2, p[0]: 0.3, p[1]: -0.2, q[0]: 0.5, q[1]: 0.1}):
        assert float(got.subs(point)) == pytest.approx(float(expected.subs(point)))


@pytest.mark.parametrize("name", list(RULES) + list(OBJECTIVES))
def test_the_symbolic_oracle_at_a_point_agrees_with_the_hand_code(name):
    """Oracle: sympy's derivative evaluated at random factors, against funksvd's hand gradient."""
    ratings = quuxlabs_ratings()
    if OBJECTIVES.get(name) is not None and OBJECTIVES[name].link == "sigmoid":
        ratings = ratings.__class__(ratings.users, ratings.items, (ratings.values - 1) / 4, 5, 4)
    for biased in (True, False):
        factors = Factors.random(5, 4, 2, biased=biased, mu=ratings.mean() if biased else 0.0, init_std_dev=0.5,
                                 random_state=4)
        report = check_gradients(name, factors, ratings, oracles=("symbolic",), reg=0.05)
        assert report.ok and report.compared == ("symbolic",), str(report)


def test_the_symbolic_oracle_catches_a_slip_at_a_point():
    """Oracle: sympy at the point; the missing 2 of the 2018 tutorial is named as such."""
    ratings = quuxlabs_ratings()
    factors = Factors.random(5, 4, 2, biased=False, init_std_dev=0.5, random_state=0)
    objective = OBJECTIVES["tf_masked_2018"]
    report = check_gradients(objective, factors, ratings, oracles=("symbolic",),
                             manual=lambda f, r: {k: v / 2 for k, v in objective.gradients(f, r).items()})
    assert not report.ok and "half the true gradient: a missing factor 2" in str(report)


def test_without_sympy_the_symbolic_oracle_is_skipped_with_the_install_line(monkeypatch):
    """Oracle: 'nothing compared is not a pass'; sympy blocked, its rows say skipped and why."""
    monkeypatch.setitem(sys.modules, "sympy", None)
    ratings = quuxlabs_ratings()
    factors = Factors.random(5, 4, 2, random_state=0)
    report = check_gradients("funk", factors, ratings, oracles=("symbolic",))
    assert not report.ok and report.compared == ()
    assert report.skipped["symbolic"] == ("the symbolic oracle needs sympy, which is not installed: "
                                          "pip install 'funksvd[symbolic]'")


@pytest.mark.parametrize("name", DERIVABLE)
def test_cli_derive_prints_and_exits_0(name):
    """Oracle: the exit status and the verdict line of ``funksvd derive NAME``."""
    done = subprocess.run([sys.executable, "-m", "funksvd", "derive", name], capture_output=True, text=True,
                          timeout=300, check=False)
    assert done.returncode == 0, done.stderr
    assert done.stdout.rstrip().splitlines()[-1].startswith("verified: sympy proves simplify(hand - derived) == 0")


def test_cli_check_shows_the_symbolic_oracle():
    """Oracle: the rows of ``funksvd check``; every oracle that compared is listed, sympy included."""
    done = subprocess.run([sys.executable, "-m", "funksvd", "check", "--oracle", "symbolic"], capture_output=True,
                          text=True, timeout=300, check=False)
    assert done.returncode == 0, done.stderr
    assert done.stdout.count("symbolic") >= 18 * 2
    assert done.stdout.rstrip().endswith("ALL GRADIENT CHECKS PASSED")


def test_the_docs_page_derives_every_named_rule_and_objective():
    """Oracle: DERIVABLE, the names derive knows; docs/derive.rst has one funksvd-derive directive for each."""
    from pathlib import Path

    page = (Path(__file__).resolve().parents[1] / "docs" / "derive.rst").read_text(encoding="utf-8")
    assert [line.split("::")[1].strip() for line in page.splitlines()
            if line.startswith(".. funksvd-derive::")] == list(DERIVABLE)


def test_the_symbolic_oracle_fails_funksvds_own_gradient_when_the_proof_fails(monkeypatch):
    """Oracle: sympy's proof. A hand derivative off by 1e-30 e^2 agrees with every oracle at every point,
    but the symbolic oracle of check_gradients proves, and fails it; finite differences cannot see it."""
    real = objectives_module.Objective._rho

    def nearly(self, e):
        rho, drho = real(self, e)
        return rho, drho + 1e-30 * e * e

    monkeypatch.setattr(objectives_module.Objective, "_rho", nearly)
    ratings = quuxlabs_ratings()
    factors = Factors.random(5, 4, 2, mu=ratings.mean(), init_std_dev=0.5, random_state=0)
    report = check_gradients("funk", factors, ratings, oracles=("finite_differences", "symbolic"))
    assert not report.ok
    assert {row.oracle for row in report.failures} == {"symbolic"}
    assert "sympy does not prove funksvd's hand formulas: dL/dz differ" in str(report)
