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

The other hooks keep the site readable offline and at column width:

* :func:`on_files` publishes MathJax from the ``mathjax`` package (the pip distribution
  ``django-static-mathjax``, in the ``docs`` extra) under ``assets/mathjax/``, so the
  maths render without a network; ``extra_javascript`` in ``mkdocs.yml`` loads it from
  there.
* :func:`on_page_markdown` turns the Markdown score tables that the gallery examples print
  (inside their "Out:" code blocks) into rendered tables.
* :func:`on_startup` imports ``absl.logging`` before the gallery runs (see there).
"""

from __future__ import annotations

import bisect
import html as html_lib
import importlib.util
import re
from pathlib import Path

from mkdocs.exceptions import PluginError
from mkdocs.structure.files import File

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


#: Where the site publishes MathJax (``extra_javascript`` names ``MATHJAX_SCRIPT``).
MATHJAX_DEST = "assets/mathjax"
MATHJAX_SCRIPT = f"{MATHJAX_DEST}/tex-mml-chtml.js"
#: Parts of MathJax's ``es5`` directory that the browser loads: the combined TeX/MathML
#: component, the CommonHTML fonts, and what the menu and the TeX autoloader fetch.
MATHJAX_PARTS = (
    "tex-mml-chtml.js",
    "output/chtml/fonts/woff-v2",
    "input/tex/extensions",
    "input/mml",
    "ui",
    "a11y",
    "sre",
)


def mathjax_directory() -> Path:
    """The ``es5`` directory of the installed MathJax (package ``django-static-mathjax``).

    Raises
    ------
    mkdocs.exceptions.PluginError
        If the package is not installed.
    """
    spec = importlib.util.find_spec("mathjax")
    if spec is None or not spec.submodule_search_locations:
        raise PluginError(
            "MathJax is served with the site from the pip package django-static-mathjax: "
            "pip install -e '.[docs]'"
        )
    es5 = Path(next(iter(spec.submodule_search_locations))) / "static" / "mathjax" / "es5"
    if not (es5 / "tex-mml-chtml.js").is_file():
        raise PluginError(f"the mathjax package has no es5/tex-mml-chtml.js under {es5}")
    return es5


def mathjax_files(config) -> list[File]:
    """The MathJax files to publish under :data:`MATHJAX_DEST`, as mkdocs files."""
    es5 = mathjax_directory()
    paths = []
    for part in MATHJAX_PARTS:
        source = es5 / part
        paths.extend(sorted(p for p in source.rglob("*") if p.is_file()) if source.is_dir()
                     else [source])  # fmt: skip
    return [
        File(
            path.relative_to(es5).as_posix(),
            str(es5),
            config["site_dir"],
            config["use_directory_urls"],
            dest_uri=f"{MATHJAX_DEST}/{path.relative_to(es5).as_posix()}",
        )
        for path in paths
    ]


def on_files(files, config):
    """MkDocs event: add the MathJax files, so that the maths render offline."""
    for file in mathjax_files(config):
        files.append(file)
    return files


#: The "Out:" block of a gallery example: mkdocs-gallery writes the captured output as a
#: fenced block with these classes.
OUTPUT_BLOCK = re.compile(
    r"^```\{\.shell \.mkd-glr-script-out-disp ?\}\n(?P<body>.*?)^```$",
    re.MULTILINE | re.DOTALL,
)
_TABLE_RULE = re.compile(r"^\|(?:\s*:?-{3,}:?\s*\|)+\s*$")


def _is_table(lines: list[str]) -> bool:
    return len(lines) >= 2 and _TABLE_RULE.match(lines[1]) is not None


def render_output_tables(markdown: str) -> str:
    """Move the Markdown tables printed by an example out of its "Out:" code blocks.

    A run of lines starting with ``|`` whose second line is a header rule
    (``|---|---:|``) becomes a Markdown table between the code blocks that hold the
    rest of the output, so that it is rendered as a table instead of shown as text.

    Parameters
    ----------
    markdown : str
        Markdown of a gallery page, as written by mkdocs-gallery.

    Returns
    -------
    str
        The same page with its output tables rendered.
    """

    def split(match: re.Match) -> str:
        segments: list[tuple[bool, list[str]]] = []
        for line in match["body"].splitlines():
            is_row = line.lstrip().startswith("|") and line.rstrip().endswith("|")
            if segments and segments[-1][0] == is_row:
                segments[-1][1].append(line.strip() if is_row else line)
            else:
                segments.append((is_row, [line.strip() if is_row else line]))
        if not any(is_row and _is_table(lines) for is_row, lines in segments):
            return match.group(0)
        parts = []
        for is_row, lines in segments:
            if is_row and _is_table(lines):
                parts.append("\n".join(lines))
            elif any(line.strip() for line in lines):
                text = "\n".join(lines).strip("\n")
                parts.append(f"```{{.shell .mkd-glr-script-out-disp }}\n{text}\n```")
        return "\n\n".join(parts)

    return OUTPUT_BLOCK.sub(split, markdown)


def on_page_markdown(markdown: str, page, config, files) -> str:
    """MkDocs event: render the score tables of the gallery pages."""
    if "mkd-glr-script-out-disp" not in markdown:
        return markdown
    return render_output_tables(markdown)


def on_startup(command: str, dirty: bool) -> None:
    """MkDocs event: import ``absl.logging`` while ``sys.stderr`` is the real one.

    Importing ``absl.logging`` (Flax and Optax do) creates absl's log handler bound to
    the ``sys.stderr`` of that moment. The gallery runs the examples with ``sys.stderr``
    replaced by its output tee, so the first import there would bind the handler to the
    tee, and at interpreter exit :func:`logging.shutdown` would ask the handler to close
    it: a tee has no ``close``, and the build ended with a traceback from absl. Imported
    here first, the handler keeps the real ``sys.stderr``, which it never closes.
    """
    try:
        import absl.logging  # noqa: F401
    except ImportError:  # absl-py comes with optax and flax; nothing to protect without it
        pass
