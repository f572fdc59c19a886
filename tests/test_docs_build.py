"""Consistency of the documentation site (mkdocs.yml, docs/) and, marked slow, its build.

The fast tests catch what would break ``mkdocs build --strict`` without building: a nav
entry without its page, an API page naming an object that does not import. The slow test
runs the strict build itself (executing the gallery at its small size).
"""

from __future__ import annotations

import functools
import importlib
import importlib.util
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

REPO_ROOT = Path(__file__).resolve().parents[1]
DOCS_DIR = REPO_ROOT / "docs"
GALLERY_DIR = "generated/gallery"

#: ``::: dotted.name`` lines of mkdocstrings.
_AUTODOC = re.compile(r"^:::\s+(?P<name>[\w.]+)\s*$", re.MULTILINE)


def _nav_targets(node):
    """All file (or directory) targets of a mkdocs nav tree."""
    if isinstance(node, str):
        yield node
    elif isinstance(node, list):
        for item in node:
            yield from _nav_targets(item)
    elif isinstance(node, dict):
        for value in node.values():
            yield from _nav_targets(value)


def _mkdocs_config() -> dict:
    yaml = pytest.importorskip("yaml")
    with open(REPO_ROOT / "mkdocs.yml", encoding="utf-8") as handle:
        return yaml.safe_load(handle)


def test_nav_pages_exist():
    config = _mkdocs_config()
    targets = list(_nav_targets(config["nav"]))
    assert targets, "mkdocs.yml has an empty nav"
    missing = [
        target
        for target in targets
        if not target.startswith(GALLERY_DIR)
        and not target.startswith(("http://", "https://"))
        and not (DOCS_DIR / target).is_file()
    ]
    assert not missing, f"nav entries without a page in docs/: {missing}"
    assert any(target.startswith(GALLERY_DIR) for target in targets), "gallery not in nav"


def test_gallery_configuration_fails_loudly():
    """The gallery runs examples/ and an exception in an example aborts the build."""
    config = _mkdocs_config()
    gallery = next(
        plugin["gallery"]
        for plugin in config["plugins"]
        if isinstance(plugin, dict) and "gallery" in plugin
    )
    assert gallery["examples_dirs"] == "examples"
    assert gallery["gallery_dirs"] == f"docs/{GALLERY_DIR}"
    assert gallery["abort_on_example_error"] is True
    assert gallery["only_warn_on_example_error"] is False
    # No repr of a cell's last expression (Text, Legend, Axes) in the "Out:" blocks.
    assert gallery["capture_repr"] == []
    assert config["strict"] is True
    assert (REPO_ROOT / "examples" / "README.md").is_file(), "mkdocs-gallery needs a README"


def _autodoc_names():
    return sorted(
        {
            (page.name, match["name"])
            for page in (DOCS_DIR / "api").glob("*.md")
            for match in _AUTODOC.finditer(page.read_text(encoding="utf-8"))
        }
    )


@pytest.mark.parametrize(("page", "name"), _autodoc_names())
def test_api_page_objects_import(page: str, name: str):
    """Every ``::: name`` of the API pages is an importable module or module attribute."""
    try:
        importlib.import_module(name)
    except ModuleNotFoundError as exc:
        module_name, _, attribute = name.rpartition(".")
        if exc.name != name or not module_name:
            raise
        module = importlib.import_module(module_name)
        assert hasattr(module, attribute), f"{page}: {name} does not exist"


@pytest.mark.parametrize(("page", "name"), _autodoc_names())
def test_api_page_objects_found_by_griffe(page: str, name: str):
    """mkdocstrings collects objects with griffe, which needs regular packages (__init__.py)."""
    obj = _griffe_package(name.split(".")[0])
    for part in name.split(".")[1:]:
        assert part in obj.members, f"{page}: griffe cannot find {part!r} of {name}"
        obj = obj.members[part]


@functools.cache
def _griffe_package(name: str):
    griffe = pytest.importorskip("griffe")  # installed by the docs extra (mkdocstrings)
    return griffe.load(name, search_paths=[str(REPO_ROOT)])


def _load_hooks():
    spec = importlib.util.spec_from_file_location("bayescore_docs_hooks", DOCS_DIR / "hooks.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_hooks_rewrite_sphinx_roles():
    """Sphinx roles in rendered docstrings become local links, autorefs or plain code."""
    hooks = _load_hooks()
    page = (
        '<h2 id="bayescore.flow.velocity">velocity</h2>'
        '<h3 id="bayescore.flow.velocity.Flow">Flow</h3>'
        '<h3 id="bayescore.flow.velocity.velocity">velocity</h3>'
        "<p>See :func:<code>velocity</code>, :class:<code>~bayescore.flow.velocity.Flow</code>,"
        " :func:<code>bayescore.sh.grid.gauss_legendre_grid</code>,"
        " :class:<code>xarray.Dataset</code> and :meth:<code>to_xarray()</code>.</p>"
    )
    out = hooks.rewrite_roles(page)
    assert ":func:" not in out and ":class:" not in out and ":meth:" not in out
    # Unqualified name resolved against the enclosing object's module on the same page.
    assert '<a href="#bayescore.flow.velocity.velocity"><code>velocity</code></a>' in out
    # "~" shows the last component only.
    assert '<a href="#bayescore.flow.velocity.Flow"><code>Flow</code></a>' in out
    # A documented object on another page is left to mkdocs-autorefs, optional (no warning).
    assert (
        '<autoref identifier="bayescore.sh.grid.gauss_legendre_grid" optional>'
        "<code>bayescore.sh.grid.gauss_legendre_grid</code></autoref>"
    ) in out
    assert "<code>xarray.Dataset</code>" in out and "<code>to_xarray()</code>" in out
    assert hooks.rewrite_roles("<p>no roles</p>") == "<p>no roles</p>"


def test_site_needs_no_other_host():
    """No web fonts from another host: the theme uses system fonts, offline as online."""
    assert _mkdocs_config()["theme"].get("font") is False


def test_maths_served_with_the_site():
    """MathJax is loaded from the site itself (docs/hooks.py publishes it), not a CDN."""
    config = _mkdocs_config()
    hooks = _load_hooks()
    scripts = [entry if isinstance(entry, str) else entry["path"]
               for entry in config.get("extra_javascript", [])]  # fmt: skip
    assert not [s for s in scripts if "://" in s or s.startswith("//")], scripts
    assert scripts.index("javascripts/mathjax.js") < scripts.index(hooks.MATHJAX_SCRIPT)
    assert "docs/hooks.py" in config["hooks"]
    pyproject = (REPO_ROOT / "pyproject.toml").read_text(encoding="utf-8")
    assert re.search(r'^docs = \[.*"django-static-mathjax', pyproject, re.MULTILINE)


def test_mathjax_files_published():
    """The hook publishes the MathJax component, its fonts and its TeX extensions."""
    pytest.importorskip("mathjax")
    hooks = _load_hooks()
    files = hooks.mathjax_files({"site_dir": "site", "use_directory_urls": True})
    destinations = {file.dest_uri for file in files}
    assert hooks.MATHJAX_SCRIPT in destinations
    assert f"{hooks.MATHJAX_DEST}/output/chtml/fonts/woff-v2/MathJax_Main-Regular.woff" in (
        destinations
    )
    assert f"{hooks.MATHJAX_DEST}/input/tex/extensions/boldsymbol.js" in destinations
    assert all(Path(file.abs_src_path).is_file() for file in files)


def test_gallery_leftovers_not_published():
    """mkdocs-gallery's checksums and pickled code objects stay out of the site."""
    pathspec = pytest.importorskip("pathspec")
    spec = pathspec.GitIgnoreSpec.from_lines(_mkdocs_config()["exclude_docs"].splitlines())
    for leftover in ("plot_field_spectra.py.md5", "plot_field_spectra_codeobj.pickle",
                     "images/thumb/mkd_glr_plot_field_spectra_thumb.png.md5",
                     "mg_execution_times.md"):  # fmt: skip
        assert spec.match_file(f"{GALLERY_DIR}/{leftover}"), leftover
    for page in ("index.md", "plot_field_spectra.md", "images/mkd_glr_plot_field_spectra_001.png",
                 "plot_field_spectra.py", "plot_field_spectra.ipynb"):  # fmt: skip
        assert not spec.match_file(f"{GALLERY_DIR}/{page}"), page


def test_headings_with_maths_have_plain_toc_labels():
    """The table of contents shows text: a heading with TeX needs a data-toc-label."""
    heading = re.compile(r"^#{1,6} .*$", re.MULTILINE)
    offenders = [
        f"{page.relative_to(DOCS_DIR)}: {line}"
        for page in DOCS_DIR.rglob("*.md")
        if GALLERY_DIR not in page.as_posix()
        for line in heading.findall(page.read_text(encoding="utf-8"))
        if ("$" in line or "\\(" in line) and "data-toc-label=" not in line
    ]
    assert not offenders, offenders


def test_hooks_render_output_tables():
    """Markdown tables printed by an example leave the "Out:" code block and render."""
    hooks = _load_hooks()
    page = (
        "Out:\n{: .mkd-glr-script-out }\n\n"
        "```{.shell .mkd-glr-script-out-disp }\n"
        "PADM2M, magnitude: one-step predictions\n"
        "| forecast | rmse |\n|---|---:|\n| AR(3) | 0.5 |\n"
        "total 1.0 s\n"
        "```\n\n"
        "```{.shell .mkd-glr-script-out-disp }\nrmse | 1\n```\n"
    )
    out = hooks.render_output_tables(page)
    assert (
        "```{.shell .mkd-glr-script-out-disp }\nPADM2M, magnitude: one-step predictions\n```"
        "\n\n| forecast | rmse |\n|---|---:|\n| AR(3) | 0.5 |\n\n"
        "```{.shell .mkd-glr-script-out-disp }\ntotal 1.0 s\n```"
    ) in out
    # A block without a table (a lone "|" is not one) is left alone.
    assert out.endswith("```{.shell .mkd-glr-script-out-disp }\nrmse | 1\n```\n")
    assert hooks.render_output_tables("no output") == "no output"


def test_hooks_keep_absl_off_the_gallery_tee(tmp_path):
    """After the startup hook, importing absl under a replaced stderr exits cleanly.

    This is what the gallery does (its output tee has no ``close``); without the hook
    the interpreter ends with a traceback from absl's handler (checked as a control).
    """
    pytest.importorskip("absl.logging")
    script = tmp_path / "gallery_like.py"
    script.write_text(
        "import importlib.util, sys\n"
        "if sys.argv[1] == 'hook':\n"
        f"    path = {str(DOCS_DIR / 'hooks.py')!r}\n"
        "    spec = importlib.util.spec_from_file_location('hooks', path)\n"
        "    hooks = importlib.util.module_from_spec(spec)\n"
        "    spec.loader.exec_module(hooks)\n"
        "    hooks.on_startup(command='build', dirty=False)\n"
        "class Tee:\n"
        "    def write(self, data): pass\n"
        "    def flush(self): pass\n"
        "real, sys.stderr = sys.stderr, Tee()\n"
        "import absl.logging\n"
        "sys.stderr = real\n",
        encoding="utf-8",
    )
    runs = {
        mode: subprocess.run(
            [sys.executable, str(script), mode], capture_output=True, text=True, check=False
        )
        for mode in ("hook", "control")
    }
    assert "Traceback" in runs["control"].stderr, "the control no longer shows the problem"
    hooked = runs["hook"]
    assert hooked.returncode == 0 and "Traceback" not in hooked.stderr, hooked.stderr


@pytest.mark.slow
def test_mkdocs_build_strict(tmp_path, shared_data):
    """``mkdocs build --strict`` passes: no broken link, no failing example.

    The gallery examples read the reference data, hence the ``shared_data`` fixture; the
    generated gallery pages go to ``docs/generated/`` (ignored), the site to a temporary
    directory.
    """
    if shutil.which("mkdocs") is None:
        pytest.skip("mkdocs not installed (pip install -e '.[docs]')")
    env = dict(os.environ, CI=os.environ.get("CI") or "1", MPLBACKEND="Agg")
    env["BAYESCORE_DATA"] = str(shared_data)
    env.setdefault("NO_MKDOCS_2_WARNING", "1")
    result = subprocess.run(
        [sys.executable, "-m", "mkdocs", "build", "--strict", "--site-dir", str(tmp_path)],
        cwd=REPO_ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=900,
        check=False,
    )
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-6000:]
    assert (tmp_path / "index.html").is_file()
    assert list((tmp_path / GALLERY_DIR).rglob("*.png")), "the gallery produced no figure"
