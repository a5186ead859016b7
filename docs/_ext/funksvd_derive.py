"""The ``funksvd-derive`` directive: ``funksvd derive NAME`` run at build time, so the page cannot drift.

``.. funksvd-derive:: funk`` renders the plain-text derivation (what the command prints) and the
same derivation as equations (its ``--latex`` output), both computed by sympy from the code of this
checkout while the docs build. A derivation that sympy cannot prove equal to the code is a build
warning, an error under ``-W``.
"""

from __future__ import annotations

from docutils import nodes
from docutils.parsers.rst import Directive
from docutils.statemachine import StringList
from sphinx.util import logging


class DeriveDirective(Directive):
    required_arguments = 1
    has_content = False

    def run(self):
        from funksvd.check.derivation import derive

        name = self.arguments[0]
        text = derive(name)
        latex = derive(name, latex=True)
        if "NOT VERIFIED" in text:
            logging.getLogger(__name__).warning("funksvd derive %s: %s", name, text.strip().splitlines()[-1],
                                                location=self.state_machine.get_source_and_line(self.lineno))
        lines = [".. code-block:: text", ""] + ["   " + line for line in text.splitlines()] + ["", ".. math::", ""]
        for line in latex.splitlines():
            if not line.startswith("%"):
                lines += ["   " + line, ""]
        container = nodes.container()
        self.state.nested_parse(StringList(lines, source=f"funksvd derive {name}"), self.content_offset, container)
        return container.children


def setup(app):
    app.add_directive("funksvd-derive", DeriveDirective)
    return {"parallel_read_safe": True, "parallel_write_safe": True}
