"""``import funksvd`` and its numpy paths load neither TensorFlow nor numba (nor sympy).

Each check runs in a fresh interpreter (``sys.executable -c ...``): the test process itself has
long imported TensorFlow through other test files, so its ``sys.modules`` proves nothing.
"""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap

HEAVY = ("tensorflow", "keras", "numba", "sympy")


def loaded_after(code: str) -> list[str]:
    """Run ``code`` in a fresh interpreter; return the heavy modules it left in ``sys.modules``."""
    script = textwrap.dedent(code) + textwrap.dedent(f"""
        import json, sys
        print(json.dumps(sorted(m for m in {HEAVY!r} if m in sys.modules)))
    """)
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout.strip().splitlines()[-1])


def test_import_and_numpy_paths_stay_light():
    """Oracle: sys.modules of a fresh interpreter after import, loss, gradients, sgd_step, sgd_epoch(python)."""
    loaded = loaded_after("""
        import numpy as np
        import funksvd
        R = funksvd.Ratings([0, 1, 1, 2], [0, 0, 1, 1], [5.0, 3.0, 4.0, 1.0])
        F = funksvd.Factors.random(3, 2, 2, mu=R.mean(), random_state=0)
        for objective in ("funk", "tf1_l1_2016", "keras_sigmoid_2019"):
            funksvd.loss(F, R, objective)
            funksvd.gradients(F, R, objective)
        F = funksvd.sgd_step(F, 0, 0, 5.0, "quuxlabs")
        F = funksvd.sgd_epoch(F, R, "quuxlabs_listing", engine="python")
        funksvd.rmse(F, R)
    """)
    assert loaded == []


def test_gradient_check_without_the_tensorflow_oracle_stays_light():
    """Oracle: sys.modules of a fresh interpreter. Finite differences alone never import TensorFlow."""
    loaded = loaded_after("""
        import funksvd
        from funksvd.check import check_gradients
        R = funksvd.Ratings([0, 1, 1, 2], [0, 0, 1, 1], [5.0, 3.0, 4.0, 1.0])
        F = funksvd.Factors.random(3, 2, 2, random_state=0)
        assert check_gradients("funk", F, R, oracles=("finite_differences",)).ok
    """)
    assert loaded == []


def test_check_rule_and_a_callable_loss_on_finite_differences_stay_light():
    """Oracle: sys.modules of a fresh interpreter after check_rule (a named and a callable loss) and
    check_gradients of a callable loss on finite differences: no TensorFlow, no sympy."""
    loaded = loaded_after("""
        import numpy as np
        import funksvd
        from funksvd.check import check_gradients, check_rule
        from funksvd.maths.rules import funk
        assert check_rule(funk).ok
        def ridge(xp, theta, data):
            return xp.sum(xp.square(theta["P"])) + xp.sum(xp.square(theta["Q"]))
        assert check_rule(funk, ridge) is not None
        R = funksvd.Ratings([0, 1, 1, 2], [0, 0, 1, 1], [5.0, 3.0, 4.0, 1.0])
        F = funksvd.Factors.random(3, 2, 2, biased=False, random_state=0)
        manual = lambda f, r: {"P": 2 * f.P, "Q": 2 * f.Q}
        assert check_gradients(ridge, F, R, manual=manual, oracles=("finite_differences",)).ok
    """)
    assert loaded == []


def test_the_probe_sees_sympy_when_it_is_loaded():
    """Oracle: a positive control. funksvd.derive loads sympy (on use only), and the probe reports it."""
    assert "sympy" in loaded_after("import funksvd; funksvd.derive('funk')")


def test_the_probe_sees_tensorflow_when_it_is_loaded():
    """Oracle: a positive control. Importing funksvd.autodiff does load TensorFlow, and the probe reports it."""
    assert "tensorflow" in loaded_after("import funksvd.autodiff")


def test_full_batch_training_and_the_classics_stay_light():
    """Oracle: sys.modules of a fresh interpreter after funksvd.train with every optimiser, a trained mu,
    every start distribution, the link-aware metrics and the harmonic experiment on hand gradients."""
    loaded = loaded_after("""
        import funksvd
        from funksvd.fullbatch import optimizers
        from funksvd.classics import harmonic_experiment, run_quuxlabs_article
        R = funksvd.Ratings([0, 1, 1, 2], [0, 0, 1, 1], [0.9, 0.5, 0.7, 0.1])
        objective = funksvd.OBJECTIVES["keras_sigmoid_2019"].replace(learn_mu=True)
        for init in ("normal", "truncated_normal", "uniform", "glorot"):
            F = funksvd.Factors.random(3, 2, 2, init=init, random_state=0)
        for optimizer in ("sgd", "adam", "rmsprop", optimizers.RMSprop(1e-3, momentum=0.9)):
            F, _ = funksvd.train(F, R, objective=objective, optimizer=optimizer, n_epochs=3, batch_size=2,
                                 random_state=0)
        funksvd.rmse(F, R, objective=objective)
        harmonic_experiment(n=20, k=2, max_steps=20, check_every=10)
        run_quuxlabs_article(iterations=2, init=funksvd.Factors.random(5, 4, 2, random_state=0))
    """)
    assert loaded == []


def test_the_compiled_engine_compiles_on_first_use_only():
    """Oracle: the module namespace of funksvd.sgd.compiled in a fresh interpreter, right after import:
    no numba dispatcher (nothing compiled yet) and no mutable flag (only functions, classes, constants)."""
    done = subprocess.run([sys.executable, "-c", textwrap.dedent("""
        import json, types
        import numba
        from numba.core.registry import CPUDispatcher
        import funksvd.sgd.compiled as compiled
        names = {name: value for name, value in vars(compiled).items() if not name.startswith("__")}
        dispatchers = sorted(name for name, value in names.items() if isinstance(value, CPUDispatcher))
        flags = sorted(name for name, value in names.items() if isinstance(value, (bool, list, set)))
        print(json.dumps([dispatchers, flags]))
    """)], capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout.strip().splitlines()[-1]) == [[], []]
def test_autodiff_is_an_attribute_loaded_on_first_access():
    """Oracle: sys.modules of a fresh interpreter. After import funksvd TensorFlow is absent; funksvd.autodiff
    (no import statement) is the TensorFlow twin and loads it; an unknown attribute is an AttributeError."""
    assert loaded_after("""
        import funksvd
        assert not hasattr(funksvd, "no_such_thing")
    """) == []
    assert "tensorflow" in loaded_after("""
        import funksvd
        assert funksvd.autodiff.train.__module__ == "funksvd.autodiff.trainer"
    """)
