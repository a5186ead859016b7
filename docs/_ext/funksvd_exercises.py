"""The ``funksvd-exercises`` directive: the exercises of :mod:`funksvd.exercises`, written by the code at build time.

``.. funksvd-exercises::`` renders every exercise (prompt, stub command, the slips it names, the
solution folded in a ``<details>`` block), grouped by derivation page; ``.. funksvd-exercises::
masked_matrix`` renders one derivation page's own exercises, to embed in that page. A derivation
page ``docs/derivations/<page>.rst`` that exists is linked; an edited exercise rebuilds the pages
that show it.
"""

from __future__ import annotations

from pathlib import Path

from docutils.parsers.rst import Directive

ROOT = Path(__file__).resolve().parents[2]


class ExercisesDirective(Directive):
    optional_arguments = 1
    has_content = False

    def run(self):
        from funksvd.exercises.docs import rst

        env = self.state.document.settings.env
        pages = {path.stem for path in (Path(env.srcdir) / "derivations").glob("*.rst")}
        for source in (ROOT / "funksvd" / "exercises").glob("*.py"):
            env.note_dependency(str(source))
        text = rst(pages, page=self.arguments[0] if self.arguments else None)
        self.state_machine.insert_input(text.splitlines(), "funksvd.exercises")
        return []


def setup(app):
    app.add_directive("funksvd-exercises", ExercisesDirective)
    return {"parallel_read_safe": True, "parallel_write_safe": True}
