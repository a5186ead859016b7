"""check_rule: the classic rules recognised when a student writes them, and the classic slips named.

Oracles: the scales and stages recorded in ``RULES`` (derived in the rules' docstrings and proved
by tests/test_rule_docstrings.py), funksvd's hand gradient of each rule's loss (proved against
TensorFlow and finite differences by tests/test_check.py), and for the slips, the slip itself:
each rule below is written in this file with one known mistake, so the right diagnosis is known.
"""

from __future__ import annotations

import pytest

from funksvd import RULES, Objective
from funksvd.check import check_rule


def predict(P, Q, bu, bi, mu, u, i):
    return mu + bu[u] + bi[i] + sum(P[u, f] * Q[i, f] for f in range(P.shape[1]))


# ---- the three classic rules, as a student writes them (not the RULES kernels) ---------------------


def student_funk(P, Q, bu, bi, mu, u, i, r, lr, reg):
    """Funk / Surprise: no factor 2, simultaneous (the old p kept for q)."""
    err = r - predict(P, Q, bu, bi, mu, u, i)
    bu[u] += lr[2] * (err - reg[2] * bu[u])
    bi[i] += lr[3] * (err - reg[3] * bi[i])
    for f in range(P.shape[1]):
        p, q = P[u, f], Q[i, f]
        P[u, f] = p + lr[0] * (err * q - reg[0] * p)
        Q[i, f] = q + lr[1] * (err * p - reg[1] * q)
    return err


def student_quuxlabs(P, Q, bu, bi, mu, u, i, r, lr, reg):
    """The quuxlabs equations: 2 e on p, q; e on the biases."""
    err = r - predict(P, Q, bu, bi, mu, u, i)
    old_p = [P[u, f] for f in range(P.shape[1])]
    for f in range(P.shape[1]):
        P[u, f] += lr[0] * (2 * err * Q[i, f] - reg[0] * P[u, f])
        Q[i, f] += lr[1] * (2 * err * old_p[f] - reg[1] * Q[i, f])
    bu[u] += lr[2] * (err - reg[2] * bu[u])
    bi[i] += lr[3] * (err - reg[3] * bi[i])
    return err


def student_listing(P, Q, bu, bi, mu, u, i, r, lr, reg):
    """The quuxlabs code listing: biases, then the P row, then the Q row from the new P row."""
    err = r - predict(P, Q, bu, bi, mu, u, i)
    bu[u] += lr[2] * (err - reg[2] * bu[u])
    bi[i] += lr[3] * (err - reg[3] * bi[i])
    for f in range(P.shape[1]):
        P[u, f] += lr[0] * (err * Q[i, f] - reg[0] * P[u, f])
    for f in range(P.shape[1]):
        Q[i, f] += lr[1] * (err * P[u, f] - reg[1] * Q[i, f])
    return err


STUDENTS = {"funk": student_funk, "quuxlabs": student_quuxlabs, "quuxlabs_listing": student_listing}


@pytest.mark.parametrize("name", sorted(STUDENTS))
def test_a_students_classic_rule_is_identified(name):
    """Oracle: RULES[name].scale and .stages. Found with no loss given, and equivalent to the named rule."""
    report = check_rule(STUDENTS[name])
    assert report.ok, str(report)
    assert report.matches == name
    assert report.loss == name
    assert report.scales == pytest.approx(dict(RULES[name].scale), rel=1e-9)
    assert report.stages == RULES[name].stages
    assert report.hints == []


@pytest.mark.parametrize("name", sorted(RULES))
def test_the_builtin_kernels_pass_with_their_recorded_scales_and_stages(name):
    """Oracle: RULES[name].scale and .stages against the rule's own loss."""
    report = check_rule(RULES[name].step, name)
    assert report.ok, str(report)
    assert report.scales == pytest.approx(dict(RULES[name].scale), rel=1e-9)
    assert report.stages == RULES[name].stages and report.matches == name


def test_an_objective_loss_accepts_any_constant_positive_scale():
    """Oracle: the quuxlabs loss has scales 1, 1, 1/2, 1/2 for the quuxlabs kernel (RULES); any Objective
    loss takes the scale as found."""
    report = check_rule(RULES["quuxlabs"].step, Objective(data_weight=1.0, bias_reg_weight=1.0))
    assert report.ok and report.scales == pytest.approx({"P": 1.0, "Q": 1.0, "bu": 0.5, "bi": 0.5})


def test_the_report_reads_as_a_table():
    """Oracle: the table's columns and verdict for funk."""
    text = str(check_rule(student_funk))
    assert "rule check: student_funk against the loss funk" in text
    assert "equivalent to the named rule 'funk'" in text and text.endswith("RULE OK: a gradient step of the loss")
    assert "stages: (P, Q, bu, bi)" in text


# ---- the classic slips: each written into funk, with the diagnosis it must get ---------------------


def slip_factor_2(P, Q, bu, bi, mu, u, i, r, lr, reg):
    err = r - predict(P, Q, bu, bi, mu, u, i)
    bu[u] += lr[2] * (err - reg[2] * bu[u])
    bi[i] += lr[3] * (err - reg[3] * bi[i])
    for f in range(P.shape[1]):
        p, q = P[u, f], Q[i, f]
        P[u, f] += 2 * lr[0] * (err * q - reg[0] * p)  # a factor 2 on the whole step of p and q
        Q[i, f] += 2 * lr[1] * (err * p - reg[1] * q)
    return err


def slip_sign_q(P, Q, bu, bi, mu, u, i, r, lr, reg):
    err = r - predict(P, Q, bu, bi, mu, u, i)
    bu[u] += lr[2] * (err - reg[2] * bu[u])
    bi[i] += lr[3] * (err - reg[3] * bi[i])
    for f in range(P.shape[1]):
        p, q = P[u, f], Q[i, f]
        P[u, f] += lr[0] * (err * q - reg[0] * p)
        Q[i, f] -= lr[1] * (err * p - reg[1] * q)  # ascent on q
    return err


def slip_reg_weight_bu(P, Q, bu, bi, mu, u, i, r, lr, reg):
    err = r - predict(P, Q, bu, bi, mu, u, i)
    bu[u] += lr[2] * (err - 2 * reg[2] * bu[u])  # the 2 of d(b^2)/db, with the 1/2 of the loss forgotten
    bi[i] += lr[3] * (err - reg[3] * bi[i])
    for f in range(P.shape[1]):
        p, q = P[u, f], Q[i, f]
        P[u, f] += lr[0] * (err * q - reg[0] * p)
        Q[i, f] += lr[1] * (err * p - reg[1] * q)
    return err


def slip_updated_p(P, Q, bu, bi, mu, u, i, r, lr, reg):
    err = r - predict(P, Q, bu, bi, mu, u, i)
    bu[u] += lr[2] * (err - reg[2] * bu[u])
    bi[i] += lr[3] * (err - reg[3] * bi[i])
    for f in range(P.shape[1]):
        P[u, f] += lr[0] * (err * Q[i, f] - reg[0] * P[u, f])
        Q[i, f] += lr[1] * (err * P[u, f] - reg[1] * Q[i, f])  # reads the p it just updated
    return err


def slip_error_recomputed(P, Q, bu, bi, mu, u, i, r, lr, reg):
    err = r - predict(P, Q, bu, bi, mu, u, i)
    bu[u] += lr[2] * (err - reg[2] * bu[u])
    bi[i] += lr[3] * (err - reg[3] * bi[i])
    err_now = r - predict(P, Q, bu, bi, mu, u, i)  # the error again, after the bias step
    for f in range(P.shape[1]):
        p, q = P[u, f], Q[i, f]
        P[u, f] += lr[0] * (err_now * q - reg[0] * p)
        Q[i, f] += lr[1] * (err_now * p - reg[1] * q)
    return err


def slip_lr_of_p_everywhere(P, Q, bu, bi, mu, u, i, r, lr, reg):
    err = r - predict(P, Q, bu, bi, mu, u, i)
    bu[u] += lr[0] * (err - reg[2] * bu[u])  # lr_pu on the bias
    bi[i] += lr[3] * (err - reg[3] * bi[i])
    for f in range(P.shape[1]):
        p, q = P[u, f], Q[i, f]
        P[u, f] += lr[0] * (err * q - reg[0] * p)
        Q[i, f] += lr[1] * (err * p - reg[1] * q)
    return err


def slip_reg_of_p_on_bi(P, Q, bu, bi, mu, u, i, r, lr, reg):
    err = r - predict(P, Q, bu, bi, mu, u, i)
    bu[u] += lr[2] * (err - reg[2] * bu[u])
    bi[i] += lr[3] * (err - reg[0] * bi[i])  # reg_pu on the item bias
    for f in range(P.shape[1]):
        p, q = P[u, f], Q[i, f]
        P[u, f] += lr[0] * (err * q - reg[0] * p)
        Q[i, f] += lr[1] * (err * p - reg[1] * q)
    return err


def slip_no_reg_on_bi(P, Q, bu, bi, mu, u, i, r, lr, reg):
    err = r - predict(P, Q, bu, bi, mu, u, i)
    bu[u] += lr[2] * (err - reg[2] * bu[u])
    bi[i] += lr[3] * err  # the penalty forgotten
    for f in range(P.shape[1]):
        p, q = P[u, f], Q[i, f]
        P[u, f] += lr[0] * (err * q - reg[0] * p)
        Q[i, f] += lr[1] * (err * p - reg[1] * q)
    return err


def slip_sign_of_reg_on_p(P, Q, bu, bi, mu, u, i, r, lr, reg):
    err = r - predict(P, Q, bu, bi, mu, u, i)
    bu[u] += lr[2] * (err - reg[2] * bu[u])
    bi[i] += lr[3] * (err - reg[3] * bi[i])
    for f in range(P.shape[1]):
        p, q = P[u, f], Q[i, f]
        P[u, f] += lr[0] * (err * q + reg[0] * p)  # + reg: the penalty pushes away from 0
        Q[i, f] += lr[1] * (err * p - reg[1] * q)
    return err


def slip_no_lr_on_bu(P, Q, bu, bi, mu, u, i, r, lr, reg):
    err = r - predict(P, Q, bu, bi, mu, u, i)
    bu[u] += err - reg[2] * bu[u]  # the learning rate forgotten
    bi[i] += lr[3] * (err - reg[3] * bi[i])
    for f in range(P.shape[1]):
        p, q = P[u, f], Q[i, f]
        P[u, f] += lr[0] * (err * q - reg[0] * p)
        Q[i, f] += lr[1] * (err * p - reg[1] * q)
    return err


def slip_no_biases(P, Q, bu, bi, mu, u, i, r, lr, reg):
    err = r - predict(P, Q, bu, bi, mu, u, i)
    for f in range(P.shape[1]):
        p, q = P[u, f], Q[i, f]
        P[u, f] += lr[0] * (err * q - reg[0] * p)
        Q[i, f] += lr[1] * (err * p - reg[1] * q)
    return err


def slip_quuxlabs_bias_scale(P, Q, bu, bi, mu, u, i, r, lr, reg):
    """quuxlabs with the factor 2 put on the biases too: its bias scale is 1, not the 1/2 of RULES."""
    err = r - predict(P, Q, bu, bi, mu, u, i)
    bu[u] += lr[2] * (2 * err - 2 * reg[2] * bu[u])
    bi[i] += lr[3] * (2 * err - 2 * reg[3] * bi[i])
    for f in range(P.shape[1]):
        p, q = P[u, f], Q[i, f]
        P[u, f] += lr[0] * (2 * err * q - reg[0] * p)
        Q[i, f] += lr[1] * (2 * err * p - reg[1] * q)
    return err


SLIPS = [  # (rule, loss it is checked against, the hints it must get, exactly)
    (slip_factor_2, "funk", ["a factor 2 on P and Q only"]),
    (slip_sign_q, "funk", ["the sign of the gradient of Q is wrong"]),
    (slip_reg_weight_bu, "funk", ["reg applied with the wrong weight on bu (x2)"]),
    (slip_updated_p, "funk", ["Q computed from the updated P"]),
    (slip_error_recomputed, "funk", ["P computed from the updated bu and bi", "the error is recomputed after updating",
                                     "Q computed from the updated bu and bi"]),
    (slip_lr_of_p_everywhere, "funk", ["the learning rate of P used on bu"]),
    (slip_reg_of_p_on_bi, "funk", ["the reg of P used on bi"]),
    (slip_no_reg_on_bi, "funk", ["reg missing on bi"]),
    (slip_sign_of_reg_on_p, "funk", ["the sign of reg on P is wrong"]),
    (slip_no_lr_on_bu, "funk", ["the learning rate is missing on bu"]),
    (slip_no_biases, "funk", ["bu is not updated", "bi is not updated"]),
    (slip_quuxlabs_bias_scale, "quuxlabs", ["a factor 2 on bu and bi only"]),
]


@pytest.mark.parametrize("rule, loss, hints", SLIPS, ids=[s[0].__name__ for s in SLIPS])
def test_a_classic_slip_is_diagnosed(rule, loss, hints):
    """Oracle: the slip written into the rule; the diagnosis must be exactly it, and the rule not ok."""
    report = check_rule(rule, loss)
    assert not report.ok
    assert report.hints == hints, str(report)
    assert "RULE CHECK FAILED" in str(report)
    for hint in hints:
        assert f"  - {hint}" in str(report)


def test_a_wrong_bias_scale_is_not_accepted():
    """Oracle: RULES['quuxlabs'].scale (biases 1/2). Kills the mutant 'check_rule accepts a rule whose bias
    scale is wrong': the scales found are 1 on the biases, and the report fails on them."""
    report = check_rule(slip_quuxlabs_bias_scale, "quuxlabs")
    assert report.scales == pytest.approx({"P": 1.0, "Q": 1.0, "bu": 1.0, "bi": 1.0})
    assert not report.ok
    lines = {line.split()[0]: line for line in str(report).splitlines()[3:7]}
    assert lines["bu"].endswith("FAIL") and lines["P"].endswith("ok")


def test_default_loss_diagnoses_against_the_closest_rule():
    """Oracle: the slip. A funk rule with the sign of Q wrong is closest to funk (one slip)."""
    report = check_rule(slip_sign_q)
    assert report.loss == "funk" and report.hints == ["the sign of the gradient of Q is wrong"]
    assert report.matches is None


def test_a_rule_of_another_loss_fits_no_gradient_step_and_names_the_entry():
    """Oracle: a Huber-clipped error is no gradient step of the squared loss; the first misfit is named."""
    def clipped(P, Q, bu, bi, mu, u, i, r, lr, reg):
        err = r - predict(P, Q, bu, bi, mu, u, i)
        g = max(-0.1, min(0.1, err))  # the error clipped at 0.1: the Huber loss's derivative
        bu[u] += lr[2] * (g - reg[2] * bu[u])
        bi[i] += lr[3] * (g - reg[3] * bi[i])
        for f in range(P.shape[1]):
            p, q = P[u, f], Q[i, f]
            P[u, f] += lr[0] * (g * q - reg[0] * p)
            Q[i, f] += lr[1] * (g * p - reg[1] * q)
        return err

    report = check_rule(clipped, "funk")
    assert not report.ok
    assert report.hints[0].startswith("P[1, ") and report.hints[0].endswith("fits no gradient step of the loss funk")
    assert "bu[1] fits no gradient step of the loss funk" in report.hints

    def huber(xp, theta, data):  # the loss it is a step of, as a per-rating callable
        p_u, q_i = xp.take(theta["P"], data.users, axis=0), xp.take(theta["Q"], data.items, axis=0)
        e = data.values - (data.mu + xp.take(theta["bu"], data.users) + xp.take(theta["bi"], data.items)
                           + xp.sum(p_u * q_i, axis=1))
        a = xp.abs(e)
        penalty = sum(0.5 * data.reg[b] * xp.sum(xp.square(xp.take(theta[b], data.users if b in ("P", "bu")
                                                                       else data.items, axis=0)))
                      for b in ("P", "Q", "bu", "bi"))
        return xp.sum(xp.where(a <= 0.1, 0.5 * xp.square(e), 0.1 * (a - 0.05))) + penalty

    fitted = check_rule(clipped, huber)
    assert fitted.ok, str(fitted)
    assert fitted.scales == pytest.approx({"P": 1.0, "Q": 1.0, "bu": 1.0, "bi": 1.0}, rel=1e-6)
    assert "finite differences" in fitted.oracle


@pytest.mark.parametrize("name", sorted(RULES))
def test_an_unbiased_model_explains_p_and_q_only(name):
    """Oracle: RULES[name].scale on P and Q; the kernels take empty biases for an unbiased model."""
    report = check_rule(RULES[name].step, name, biased=False)
    assert report.ok, str(report)
    assert report.scales == pytest.approx({b: RULES[name].scale[b] for b in ("P", "Q")}, rel=1e-9)
    assert [fit.block for fit in report.fits] == ["P", "Q"]


def test_a_rule_without_biases_is_fine_for_an_unbiased_model():
    """Oracle: the funk loss without biases; this rule is funk's P, Q step exactly, then with the updated p."""
    def unbiased(P, Q, bu, bi, mu, u, i, r, lr, reg, sequential=False):
        err = r - (mu + sum(P[u, f] * Q[i, f] for f in range(P.shape[1])))
        for f in range(P.shape[1]):
            p, q = P[u, f], Q[i, f]
            P[u, f] += lr[0] * (err * q - reg[0] * p)
            Q[i, f] += lr[1] * (err * (P[u, f] if sequential else p) - reg[1] * q)
        return err

    assert check_rule(unbiased, "funk", biased=False).ok
    report = check_rule(lambda *args: unbiased(*args, sequential=True), "funk", biased=False)
    assert report.hints == ["Q computed from the updated P"]


def test_a_simultaneous_rule_against_the_listing_reads_the_old_p():
    """Oracle: RULES['quuxlabs_listing'].stages (Q after P); funk's Q step reads the old p."""
    report = check_rule(student_funk, "quuxlabs_listing")
    assert not report.ok and report.matches == "funk"
    assert report.hints == ["Q computed from the old P (quuxlabs_listing reads the updated one)"]
