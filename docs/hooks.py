"""MkDocs hooks of the bayescore site (registered in ``mkdocs.yml`` under ``hooks:``).

The docstrings use Sphinx cross-reference roles (``:func:`invert_flow```,
``:class:`~bayescore.flow.velocity.Flow```), which mkdocstrings renders as the literal
role followed by inline code. :func:`on_page_content` turns each such reference into

* a link to the object's anchor on the same page, when the target (or the target
  qualified by the module or class the docstring belongs to) is documented there;
* an optional cross-page reference for a fully qualified ``bayescore.`` target, resolved
  by mkdocs-autorefs (left as plain code, without a warning, if it is not documented);
* plain inline code otherwise (e.g. ``xarray.Dataset``).

A leading ``~`` shows only the last component, as in Sphinx.
"""

from __future__ import annotations

import bisect
import html as html_lib
import re

ROLE_PATTERN = re.compile(
    r":(?:py:)?(?P<role>func|meth|class|mod|attr|data|obj|exc|const):"
    r"<code>(?P<tilde>~?)(?P<target>[A-Za-z_][\w.]*)(?P<call>\(\))?</code>"
)
ANCHOR_PATTERN = re.compile(r'\bid="(?P<id>bayescore(?:\.\w+)*)"')


def _local_anchor(target: str, context: str | None, anchors: set[str]) -> str | None:
    """The anchor on this page that ``target`` refers to from inside ``context``."""
    if target in anchors:
        return target
    if context is None:
        return None
    parts = context.split(".")
    for depth in range(len(parts), 0, -1):
        candidate = ".".join(parts[:depth] + [target])
        if candidate in anchors:
            return candidate
    return None


def rewrite_roles(html: str) -> str:
    """Replace the Sphinx roles left in rendered docstrings by links or inline code.

    Parameters
    ----------
    html : str
        HTML of one page, as produced by mkdocstrings.

    Returns
    -------
    str
        The HTML without ``:role:`` prefixes.
    """
    found = [(match.start(), match["id"]) for match in ANCHOR_PATTERN.finditer(html)]
    positions = [position for position, _ in found]
    anchors = {anchor for _, anchor in found}

    def replace(match: re.Match) -> str:
        target = match["target"]
        label = target.rsplit(".", 1)[-1] if match["tilde"] else target
        label = html_lib.escape(label + (match["call"] or ""))
        index = bisect.bisect_right(positions, match.start()) - 1
        context = found[index][1] if index >= 0 else None
        anchor = _local_anchor(target, context, anchors)
        if anchor is not None:
            return f'<a href="#{anchor}"><code>{label}</code></a>'
        if target.startswith("bayescore."):
            return f'<autoref identifier="{target}" optional><code>{label}</code></autoref>'
        return f"<code>{label}</code>"

    return ROLE_PATTERN.sub(replace, html)


def on_page_content(html: str, page, config, files) -> str:
    """MkDocs event: rewrite the cross-reference roles of the API pages."""
    if ":<code>" not in html:
        return html
    return rewrite_roles(html)
