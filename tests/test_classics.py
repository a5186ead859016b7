"""The quuxlabs article reproduced: its settings, its toy matrix, its published output.

Oracle: the completed matrix published in the article (observed cells; its random init makes
the unobserved cells arbitrary), and the toy matrix itself.
"""

from __future__ import annotations

import numpy as np
import pytest

from funksvd.classics import QUUXLABS_PUBLISHED, QUUXLABS_R, completed_matrix, quuxlabs_ratings, run_quuxlabs_article


@pytest.mark.parametrize("seed", range(5))
def test_article_run_reproduces_observed_entries(seed):
    """K=2, alpha=0.1, beta=0.01, 20 iterations: every observed cell within 0.1 of R and of the
    published output (the article's own fit is within 0.06 of R; 0.1 leaves room for other seeds)."""
    factors, errors = run_quuxlabs_article(random_state=seed)
    ratings = quuxlabs_ratings()
    fitted = completed_matrix(factors)
    observed = QUUXLABS_R > 0
    assert np.abs(fitted - QUUXLABS_R)[observed].max() < 0.1
    assert np.abs(fitted - QUUXLABS_PUBLISHED)[observed].max() < 0.1
    assert errors[-1] < errors[0] / 10
    assert len(errors) == 20 and factors.mu == pytest.approx(ratings.mean())


def test_article_run_is_seeded():
    """Same seed -> bit-identical factors (oracle: np.array_equal)."""
    assert run_quuxlabs_article(random_state=3)[0].equals(run_quuxlabs_article(random_state=3)[0])


def test_equations_rule_also_fits_the_toy():
    """The article's equations (factor 2) fit too with its settings (oracle: the toy matrix, 0.1)."""
    factors, _ = run_quuxlabs_article(rule="quuxlabs", random_state=0)
    observed = QUUXLABS_R > 0
    assert np.abs(completed_matrix(factors) - QUUXLABS_R)[observed].max() < 0.1


def test_the_comparison_table_as_text_and_html():
    """Oracle: literal expected strings. None in the published column reads "(not printed)"; HTML escapes
    its cells (a title with "<" or "&" stays text); a row of the wrong length is refused."""
    import pytest

    from funksvd.classics import Comparison

    table = Comparison([("a < b", None, "x & y", "")])
    assert repr(table).splitlines()[2] == "a < b     (not printed)  x & y"
    assert ("<tr><td>a &lt; b</td><td>(not printed)</td><td>x &amp; y</td><td></td></tr>"
            in table._repr_html_())
    assert table._repr_html_().startswith('<table class="funksvd-comparison"><thead><tr><th>quantity</th>')
    with pytest.raises(ValueError, match="3 cells"):
        Comparison([("a", "b", "c")])
