"""Shared fixtures and the hypothesis profiles.

Profiles: ``default`` (quick, for local runs), ``thorough`` (CI: at least 200 examples per
property, derandomised so a CI run is reproducible, no deadline) and ``smoke`` (3 examples: for a
test that runs the property suite in a subprocess only to see what runs and what skips). Select
with the environment variable ``HYPOTHESIS_PROFILE``.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

import numpy as np
import pytest
from hypothesis import HealthCheck, settings

settings.register_profile("default", max_examples=30, deadline=None)
settings.register_profile(
    "thorough",
    max_examples=200,
    derandomize=True,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow],
    print_blob=True,
)
settings.register_profile("smoke", max_examples=3, derandomize=True, deadline=None, database=None)
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "default"))

#: MovieLens 100K, shared beside the repository (never copied into it).
ML100K = Path(__file__).resolve().parents[2] / "shared" / "data" / "ml-100k"


@pytest.fixture
def ml100k_path() -> Path:
    if not (ML100K / "u.data").is_file():
        pytest.skip(f"MovieLens 100K not found at {ML100K} (the shared data folder is absent)")
    return ML100K


@pytest.fixture
def rng():
    return np.random.default_rng(20261121)


@pytest.fixture
def without_tensorflow(monkeypatch):
    """TensorFlow and Keras unimportable for the duration of the test, as without ``funksvd[tf]``.

    ``None`` in ``sys.modules`` makes ``import tensorflow`` raise ``ModuleNotFoundError`` even in a
    process that has imported it already; ``funksvd.autodiff`` is forgotten so that it is imported
    afresh (and fails). Everything is restored afterwards. A fresh interpreter can use
    ``tests/block_tensorflow.py`` instead.
    """
    import funksvd

    for name in ("tensorflow", "keras"):
        monkeypatch.setitem(sys.modules, name, None)
    for name in [m for m in sys.modules if m == "funksvd.autodiff" or m.startswith("funksvd.autodiff.")]:
        monkeypatch.delitem(sys.modules, name)  # the package and its submodules (losses, steps, ...)
    monkeypatch.delattr(funksvd, "autodiff", raising=False)
