"""The exercises: the contract, every reference solution passes, typical wrong answers fail with their hint.

Oracles: the verdicts are those of each exercise's grader -- finite differences (and TensorFlow)
through ``check_gradients`` for a gradient, an independent solve or re-implementation in the
grader otherwise (see funksvd/exercises/exercise.py). The wrong answers here are written in this
file, as a student would write them: the reference solution's source with one slip typed in (a
deleted 2, a flipped sign, the wrong lambda, a sum for a mean, the updated row used...), or a
whole wrong function. Each must fail, with a hint naming its slip.
"""

from __future__ import annotations

import ast
import importlib.util
import textwrap

import numpy as np
import pytest

from funksvd import exercises
from funksvd.exercises.catalogue import PAGES

FD = ("finite_differences",)

#: name -> [(edits: ((old, new), ...) or a whole source, a substring of the expected hint)]
WRONG = {
    "masked_gradient": [
        ((("-2.0 * E @ Q, -2.0 * E.T @ P", "-E @ Q, -E.T @ P"),), "a missing factor 2"),
        ((("-2.0 * E @ Q, -2.0 * E.T @ P", "2.0 * E @ Q, 2.0 * E.T @ P"),), "sign slip"),
        ((("E = M * (R - P @ Q.T)", "E = R - P @ Q.T"),), "the mask is missing"),
    ],
    "weighted_gradient": [
        ((("W = M + w0 * (1.0 - M)", "W = M"),), "the unobserved cells are left out"),
        ((("-2.0 * E @ Q, -2.0 * E.T @ P", "-E @ Q, -E.T @ P"),), "a missing factor 2"),
        ((("E = W * (R - P @ Q.T)", "E = W * W * (R - P @ Q.T)"),), "the weight is squared"),
    ],
    "huber_gradient": [
        ((("np.clip(M * (R - P @ Q.T), -delta, delta)", "M * (R - P @ Q.T)"),), "the squared loss's habit"),
        ((("np.clip(M * (R - P @ Q.T), -delta, delta)",
            "np.where(np.abs(M * (R - P @ Q.T)) <= delta, M * (R - P @ Q.T), np.sign(M * (R - P @ Q.T)))"),),
         "not sign(e)"),
        ((("return -psi @ Q, -psi.T @ P", "return psi @ Q, psi.T @ P"),), "a sign slip"),
    ],
    "frobenius_gradient": [
        ((("-2.0 *", "-1.0 *"),), "the data term's factor 2 is missing"),
        ((("lam *", "0.5 * lam *"),), "the penalty's gradient is halved"),
        ((("lam *", "2 * lam *"),), "the regulariser is counted twice"),
        ((("lam *", "0 * lam *"),), "the regulariser was dropped"),
    ],
    "mean_gradient": [
        ((("N = M.sum()", "N = 1.0"),), "a sum where the loss takes a mean"),
        ((("N = M.sum()", "N = M.size"),), "divided by every cell"),
        ((("-2.0 /", "-1.0 /"),), "a missing factor 2"),
    ],
    "l1_gradient": [
        ((("np.sign(R - P @ Q.T)", "(R - P @ Q.T)"),), "the squared loss's habit"),
        ((("lam * np.sign(P), -S.T @ P + lam * np.sign(Q)", "lam * P, -S.T @ P + lam * Q"),), "the L2 habit"),
        ((("return -S @ Q + lam * np.sign(P), -S.T @ P", "return S @ Q + lam * np.sign(P), S.T @ P"),),
         "a sign slip in the data term"),
    ],
    "sigmoid_gradient": [
        (((" * (hi - lo) * s * (1.0 - s)", ""),), "the chain rule stops at h"),
        ((("E * (hi - lo) * s", "E * s"),), "h'(z) lacks the rating range"),
        ((("-2.0 / M.sum()", "-2.0"),), "a sum where the loss takes a mean"),
        ((("(1.0 - s)\n", "(1.0 + s)\n"),), "not sigma(z) (1 + sigma(z))"),
    ],
    "map_gradient": [
        ((("P / sigma_p**2, -E.T @ P / sigma**2 + Q / sigma_p**2",
            "P * sigma_p**2, -E.T @ P / sigma**2 + Q * sigma_p**2"),),
         "its gradient is P / sigma_p^2"),
        ((("/ sigma**2 +", "+"),), "the likelihood's 1/sigma^2 is missing"),
        ((("**2", ""),), "a standard deviation where the variance belongs"),
    ],
    "mu_gradient": [
        ((("return -2.0 * E.sum()", "return -2.0 * E.sum() + 2 * lam * mu"),), "mu carries no penalty"),
        ((("-2.0 * E", "2.0 * E"),), "a sign slip"),
        ((("-2.0 * E", "-E"),), "a missing factor 2"),
        ((("E = M * (R", "E = (R"),), "observed ratings only"),
    ],
    "item_biases": [
        ((("/ (lam + n_i)", "/ n_i"),), "lambda is missing"),
        ((("(lam + n_i)", "(lam + len(r))"),), "lambda + N"),
        ((("weights=r - mu", "weights=r"),), "mu is not subtracted"),
        ((("(lam + n_i)", "(lam / 2 + n_i)"),), "lambda/2 in the denominator"),
    ],
    "baseline_biases": [
        ((("N], [N.T", "0 * N], [0 * N.T"),), "they are coupled"),
        ((("weights=r - mu", "weights=r"),), "mu is not subtracted"),
        ("""
def baseline_biases(users, items, r, n_users, n_items, mu, lam):
    bi = np.bincount(items, weights=r - mu, minlength=n_items) / (lam + np.bincount(items, minlength=n_items))
    bu = np.bincount(users, weights=r - mu - bi[items], minlength=n_users) / (
        lam + np.bincount(users, minlength=n_users))
    return bu, bi
""", "one pass, items then users"),
    ],
    "fold_in": [
        ((("n * lam", "lam"),), "lambda is not multiplied by n"),
        ((("n * lam", "n * lam / 2"),), "half the penalty"),
        ((("n * lam", "2 * n * lam"),), "twice the penalty"),
    ],
    "fold_in_biased": [
        ("""
def fold_in_biased(Q_S, b_S, r, mu, lam):
    n, k = Q_S.shape
    lhs = np.zeros((k + 1, k + 1))
    lhs[:k, :k] = Q_S.T @ Q_S + n * lam * np.eye(k)
    lhs[:k, k] = 2 * Q_S.sum(axis=0)  # Q^T 1 b, and the -Q^T 1 b of the right-hand side moved over
    lhs[k, :k] = Q_S.sum(axis=0)
    lhs[k, k] = n + n * lam
    rhs = np.concatenate([Q_S.T @ (r - mu - b_S), [np.sum(r - mu - b_S)]])
    x = np.linalg.solve(lhs, rhs)
    return x[:k], float(x[k])
""", "b is counted twice"),
        ((("r - mu - b_S", "r - mu"),), "the item biases b_S are missing"),
        ((("n * lam", "lam"),), "lambda is not multiplied by n"),
    ],
    "als_users": [
        ((("Q_u = Q[M[u] > 0]", "Q_u = Q"), ("R[u, M[u] > 0]", "R[u]")), "ratings of 0"),
        ((("lam * len(Q_u)", "lam"),), "lambda is not weighted by n_u"),
        ((("lam * len(Q_u)", "lam / 2 * len(Q_u)"),), "half the penalty"),
    ],
    "ridge_dual": [
        ((("+ np.eye(n)", ""),), "the identity is missing"),
        ((("return (A.T @ alpha) / lam", "return A.T @ alpha"),), "Lambda^-1 is missing in front"),
        ((("(A / lam) @ A.T", "(A * lam) @ A.T"), ("return (A.T @ alpha) / lam", "return (A.T @ alpha) * lam")),
         "Lambda where its inverse belongs"),
    ],
    "best_rank_k": [
        ((("(U[:, :k] * s[:k]) @ Vt[:k]", "U[:, :k] @ Vt[:k]"),), "the singular values are missing"),
        ((("(U[:, :k] * s[:k]) @ Vt[:k]", "(U[:, -k:] * s[-k:]) @ Vt[-k:]"),), "the smallest singular values"),
        (((":k]", ":k + 1]"),), "k + 1 components"),
    ],
    "balance": [
        ((("2.0 * (", "("),), "the 2 of d|P|^2/dP"),
        ((("lam_Q * Q.T", "lam_P * Q.T"),), "one lambda for both blocks"),
        ((("lam_P * P.T @ P - lam_Q * Q.T @ Q", "lam_Q * Q.T @ Q - lam_P * P.T @ P"),), "a sign slip"),
    ],
    "balance_per_rating": [
        ((("((P * n_u[:, None]).T @ P - (Q * n_i[:, None]).T @ Q)", "(P.T @ P - Q.T @ Q)"),),
         "weights each row by its count"),
        ((("2.0 * lam", "lam"),), "the 2 of"),
        ((("return 2.0 * lam", "return -2.0 * lam"),), "a sign slip"),
    ],
    "change_basis": [
        ((("np.linalg.solve(A, Q.T).T", "Q @ A"),), "only for an orthogonal A"),
        ((("np.linalg.solve(A, Q.T).T", "Q @ np.linalg.inv(A)"),), "the transpose is missing"),
        ((("return P @ A,", "return P,"),), "P must become P A"),
    ],
    "funk_step": [
        ((("err * Q[i]", "2 * err * Q[i]"), ("err * p_u", "2 * err * p_u")), "a factor 2 on p and q"),
        ((("err * p_u", "err * P[u]"),), "updated from the new p_u"),
        ((("err = r - (mu + bu[u] + bi[i] + P[u] @ Q[i])", "err = (mu + bu[u] + bi[i] + P[u] @ Q[i]) - r"),),
         "a sign slip"),
        ((("(err - reg_bu * bu[u])", "err"), ("(err - reg_bi * bi[i])", "err")), "the biases are regularised too"),
        ((("lr_bu * (err", "lr_pu * (err"),), "check_rule: the learning rate of P used on bu"),
    ],
    "quuxlabs_step": [
        ((("2.0 * err", "err"),), "the factor 2 on p and q is missing"),
        ((("(err - reg_bu * bu[u])", "(2.0 * err - reg_bu * bu[u])"),
          ("(err - reg_bi * bi[i])", "(2.0 * err - reg_bi * bi[i])")),
         "a factor 2 on the biases too"),
        ((("err * p_u", "err * P[u]"),), "updated from the new p_u"),
    ],
    "feature_step": [
        ((("min(max(cache[j] + puf * qif, lo), hi)", "(cache[j] + puf * qif)"),), "clipped to [lo, hi]"),
        ((("cache[j] + puf * qif", "cache[j] + P[u] @ Q[i]"),), "the whole p_u . q_i"),
        ((("(err * puf - reg * qif)", "(err * P[u, f] - reg * qif)"),), "from the old values"),
    ],
    "residual_cache": [
        ((("range(f)", "range(f + 1)"),), "g < f, not g <= f"),
        ((("mu + ", ""),), "mu is missing"),
        ((("bu[users[j]] + bi[items[j]] + ", ""),), "the biases are missing"),
    ],
    "central_differences": [
        ((("(loss(P + step) - loss(P - step)) / (2 * h)", "(loss(P + step) - loss(P)) / h"),), "a forward difference"),
        ((("/ (2 * h)", "/ h"),), "divided by h"),
        ((("step = np.zeros_like(P)", "step = np.full_like(P, h)"),), "every coordinate was moved at once"),
    ],
    "adam_step": [
        ((("alpha = lr * np.sqrt(1 - beta_2**t) / (1 - beta_1**t)", "alpha = lr"),), "no bias correction"),
        ((("alpha * m / (np.sqrt(v) + eps)", "lr * (m / (1 - beta_1**t)) / (np.sqrt(v / (1 - beta_2**t)) + eps)"),),
         "the paper's form"),
        ((("(1 - beta_1) * (g - m)", "beta_1 * (g - m)"), ("(1 - beta_2) * (g * g - v)", "beta_2 * (g * g - v)")),
         "beta and 1 - beta swapped"),
    ],
    "momentum_step": [
        ("""
def momentum_step(theta, g, m, lr, momentum, nesterov):
    m *= momentum
    m += g
    if nesterov:
        theta -= lr * (g + momentum * m)
    else:
        theta -= lr * m
""", "PyTorch's velocity"),
        ((("theta += momentum * m - lr * g", "theta += m"),), "Nesterov was ignored"),
        ((("theta += m\n", "theta -= m\n"), ("theta += momentum * m - lr * g", "theta -= momentum * m - lr * g")),
         "a sign slip"),
    ],
    "svdpp_gradients": [
        ((("-err * q_i / np.sqrt(len(Y))", "-err * q_i"),), "missing from dY"),
        ((("-err * q_i / np.sqrt(len(Y))", "-err * q_i / len(Y)"),), "|N(u)|^(-1) where"),
        ((("return -err * implicit", "return -err * p_u"),), "dq uses p_u alone"),
    ],
}


def load(source: str, name: str):
    """The function ``name`` defined by ``source`` (executed as a fresh module)."""
    spec = importlib.util.spec_from_loader("answer", loader=None)
    module = importlib.util.module_from_spec(spec)
    exec(compile(source, f"<{name}>", "exec"), module.__dict__)  # noqa: S102 (the answer under test)
    return module.__dict__[name]


def wrong_answer(exercise, edits) -> str:
    if isinstance(edits, str):
        return "import numpy as np\n" + textwrap.dedent(edits)
    source = exercise.solution
    for old, new in edits:
        assert old in source, f"{exercise.name}: {old!r} is not in the solution"
        source = source.replace(old, new)
    return source


CASES = [(name, edits, hint) for name, answers in WRONG.items() for edits, hint in answers]


def test_contract():
    """The contract of the issue: at least 15 exercises, each with its title, page, prompt, stub, solution."""
    names = exercises.names()
    assert len(names) >= 15 and len(set(names)) == len(names)
    for name in names:
        exercise = exercises.get(name)
        assert exercise.name == name and exercise.title and exercise.prompt
        assert exercise.page.removeprefix("derivations/") in PAGES
        ast.parse(exercise.starter)
        ast.parse(exercise.solution)
    with pytest.raises(KeyError, match="no exercise 'nope'"):
        exercises.get("nope")


def test_every_page_has_an_exercise():
    """Oracle: the list of derivation pages of the brief; each has at least one exercise."""
    assert {exercises.get(n).page for n in exercises.names()} == {f"derivations/{p}" for p in PAGES}


def test_every_exercise_has_three_wrong_answers_here():
    assert set(WRONG) == set(exercises.names())
    assert all(len(answers) >= 3 for answers in WRONG.values())


@pytest.mark.parametrize("name", exercises.names())
def test_reference_solution_passes(name):
    """The solution's *source* (as the docs print it), executed afresh, passes on two sets of random cases."""
    exercise = exercises.get(name)
    fn = load(exercise.solution, exercise.function_name)
    for seed in (0, 1):
        report = exercise.grade(fn, random_state=seed, oracles=FD)
        assert report.ok, f"{name}: {report}"
        assert report.cases == exercise.n_cases and "correct" in report.summary()


@pytest.mark.parametrize("name", exercises.names())
def test_starter_is_not_a_pass(name):
    """The stub has the solution's signature and raises NotImplementedError: one line, not a pass."""
    exercise = exercises.get(name)
    stub = load(exercise.starter, exercise.function_name)
    report = exercise.grade(stub, random_state=0, oracles=FD)
    assert not report.ok and "the stub is not filled in yet" in report.problem
    assert exercise.starter.count("def ") == 1


@pytest.mark.parametrize("name,edits,hint", CASES, ids=[f"{c[0]}-{c[2][:24]}" for c in CASES])
def test_wrong_answer_fails_with_its_hint(name, edits, hint):
    """Oracle: the exercise's grader; a slip typed into the solution fails, and the report names the slip."""
    exercise = exercises.get(name)
    fn = load(wrong_answer(exercise, edits), exercise.function_name)
    report = exercise.grade(fn, random_state=0, oracles=FD)
    assert not report.ok and not report.problem, str(report)
    assert any(hint in h for h in report.hints), f"{name}: expected a hint with {hint!r}, got {report.hints}"


@pytest.mark.parametrize("name", ["masked_gradient", "fold_in", "funk_step", "adam_step"])
def test_a_hard_coded_answer_fails_on_fresh_cases(name):
    """An answer that returns the right numbers for one drawn case (fitted to it) fails on other draws."""
    exercise = exercises.get(name)
    case = exercise.draw(np.random.default_rng(0), 0)
    fitted = exercise.run(exercise.function, case)
    stored = {key: value.copy() for key, value in fitted.items()}

    def memorised(*args):
        returned = [stored[n] for n in exercise.outputs if n not in exercise.inplace]
        for name_, value in zip(exercise.parameters, args):
            if name_ in exercise.inplace and value.shape == stored[name_].shape:
                value[...] = stored[name_]
        return returned[0] if len(returned) == 1 else tuple(returned) if returned else None

    assert not exercise.grade(memorised, random_state=0, oracles=FD).ok  # right on case 0 only
    assert not exercise.grade(memorised, random_state=1, oracles=FD).ok


def test_cases_are_fresh_and_of_several_shapes():
    """Two gradings without a seed draw different cases; one grading covers several shapes."""
    exercise = exercises.get("masked_gradient")
    first = exercise.draw(np.random.default_rng(), 0).args[0]
    second = exercise.draw(np.random.default_rng(), 0).args[0]
    assert not np.array_equal(first, second)
    rng = np.random.default_rng(0)
    shapes = {exercise.draw(rng, index).args[2].shape for index in range(exercise.n_cases)}
    assert len(shapes) >= 4


def test_gradient_exercise_uses_tensorflow_when_installed():
    """With TensorFlow installed, a gradient answer is compared with the tape as well as finite differences."""
    pytest.importorskip("tensorflow")
    exercise = exercises.get("masked_gradient")
    report = exercise.grade(load(exercise.solution, exercise.function_name), random_state=0)
    assert report.ok and "TensorFlow's tape" in report.oracles and "finite differences" in report.oracles


def test_grading_without_tensorflow_says_so(without_tensorflow):
    """Without TensorFlow, gradients are graded by finite differences alone and the report says so."""
    exercise = exercises.get("sigmoid_gradient")
    report = exercise.grade(load(exercise.solution, exercise.function_name), random_state=0)
    assert report.ok and report.oracles.startswith("finite differences")
    assert "tensorflow skipped" in report.oracles and "not installed" in report.oracles
    wrong = load(wrong_answer(exercise, WRONG["sigmoid_gradient"][0][0]), exercise.function_name)
    assert not exercise.grade(wrong, random_state=0).ok


def test_a_file_graded_in_the_sandbox(tmp_path):
    """The whole path: solution file -> subprocess -> pass; a slip file -> its hint; the CLI's exit status."""
    from funksvd.cli import main

    exercise = exercises.get("fold_in")
    good, bad = tmp_path / "good.py", tmp_path / "bad.py"
    good.write_text(exercise.solution)
    bad.write_text(wrong_answer(exercise, WRONG["fold_in"][0][0]))
    assert exercises.grade_file("fold_in", good, random_state=0).ok
    report = exercises.grade_file("fold_in", bad, random_state=0)
    assert not report.ok and "lambda is not multiplied by n" in " ".join(report.hints)
    assert main(["exercise", "fold_in", str(good), "--seed", "3"]) == 0
    assert main(["exercise", "fold_in", str(bad)]) == 1


def test_cli_lists_and_writes_the_stub(capsys, tmp_path):
    """``funksvd exercise`` lists every exercise; ``--starter`` prints the stub, which parses."""
    from funksvd.cli import main

    assert main(["exercise"]) == 0
    listing = capsys.readouterr().out
    assert all(name in listing for name in exercises.names())
    assert main(["exercise", "balance", "--starter"]) == 0
    assert capsys.readouterr().out == exercises.get("balance").starter
    assert main(["exercise", "balance"]) == 0
    assert "balance identity" in capsys.readouterr().out
    assert main(["exercise", "nope"]) == 1
    assert "no exercise 'nope'" in capsys.readouterr().err


def test_docs_page_lists_every_exercise_with_its_prompt_and_folded_solution():
    """The docs page is generated from the code: every exercise's label, prompt and solution are in it, the
    solution inside a <details> block; a derivation page that exists is linked, one that does not is named."""
    from funksvd.exercises.docs import rst

    text = rst({"masked_matrix"})
    for name in exercises.names():
        exercise = exercises.get(name)
        assert f".. _exercise-{name}:" in text and exercise.prompt in text
        assert exercise.solution.splitlines()[-1].strip() in text
    assert text.count("<details>") == len(exercises.names()) == text.count("</details>")
    assert ":doc:`/derivations/masked_matrix`" in text and "``derivations/l1``" in text


def test_a_derivation_page_embeds_its_own_exercises():
    """``.. funksvd-exercises:: PAGE`` gives that page's exercises only, linked back, without duplicate labels."""
    from funksvd.exercises.docs import rst

    text = rst(page="biases")
    names = [n for n in exercises.names() if exercises.get(n).page == "derivations/biases"]
    assert names and all(f"<exercise-{n}>" in text for n in names) and ".. _exercise-" not in text
    assert "fold_in" not in text
    with pytest.raises(ValueError, match="no derivation page"):
        rst(page="nope")


@pytest.mark.parametrize("name", ["funk_step", "adam_step", "balance", "best_rank_k", "svdpp_gradients"])
def test_solution_files_pass_in_the_sandbox(name, tmp_path):
    """Every kind of exercise (a rule with check_rule, an in-place optimiser step, data the answer never sees,
    a closed form, a per-rating gradient) passes from a file graded in the subprocess."""
    path = tmp_path / "mine.py"
    path.write_text(exercises.get(name).solution)
    report = exercises.grade_file(name, path, random_state=0)
    assert report.ok, report
