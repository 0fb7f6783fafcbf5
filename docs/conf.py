"""Sphinx configuration of the drugprint documentation (``make docs``).

Built offline with warnings as errors: no intersphinx, no notebook execution. Before Sphinx looks for sources,
``config-inited`` writes what is derived from the code: the API pages from each namespace's ``__all__``
(:mod:`apigen`) and the command-line help. The tutorials are the notebooks executed by ``make tutorials``
(``tutorials/run.py --out docs/tutorials``), rendered as they are.
"""

from __future__ import annotations

import os
import subprocess
import sys
from datetime import date
from importlib.metadata import version as _version
from pathlib import Path

HERE = Path(__file__).parent
ROOT = HERE.parent
sys.path.insert(0, str(HERE))

import apigen  # noqa: E402

# -- Project -------------------------------------------------------------------------------------------------------

project = "drugprint"
author = "drugprint developers"
copyright = f"{date.today().year}, {author}"
release = _version("drugprint")
version = release

# -- General -------------------------------------------------------------------------------------------------------

extensions = [
    "myst_nb",
    "sphinx.ext.autodoc",
    "sphinx.ext.autosummary",
    "sphinx.ext.napoleon",
    "sphinx.ext.mathjax",
    "sphinx_copybutton",
]

source_suffix = {".rst": "restructuredtext", ".md": "myst-nb", ".ipynb": "myst-nb"}
master_doc = "index"
exclude_patterns = ["_build", "Thumbs.db", ".DS_Store", "**.ipynb_checkpoints"]
nitpicky = False  # third-party types are not linked (no intersphinx: the build is offline)

# -- autodoc, autosummary, napoleon ---------------------------------------------------------------------------------

autosummary_generate = True
autosummary_imported_members = False
autodoc_member_order = "bysource"
autodoc_typehints = "signature"
autodoc_preserve_defaults = True
maximum_signature_line_length = 100  # longer signatures: one parameter per line
napoleon_google_docstring = False
napoleon_numpy_docstring = True
napoleon_use_rtype = True
napoleon_use_param = False  # "a, b" entries stay one entry (napoleon would repeat the text per name)
# drugprint's "Returns" sections are prose (what the object holds), not ``name : type`` lists
napoleon_custom_sections = ["Returns"]

# -- MyST and notebooks ---------------------------------------------------------------------------------------------

myst_enable_extensions = ["colon_fence", "deflist", "dollarmath", "amsmath"]
myst_heading_anchors = 3
nb_execution_mode = "off"  # the executed copies from `make tutorials` are rendered as they are
nb_merge_streams = True
nb_output_stderr = "remove"  # warnings and progress bars of the executed notebooks

# -- HTML -----------------------------------------------------------------------------------------------------------

html_theme = "sphinx_book_theme"
html_title = "drugprint"
html_static_path: list[str] = []
html_show_sourcelink = False
html_theme_options = {"show_toc_level": 2, "navigation_with_keys": False}
copybutton_prompt_text = r">>> |\.\.\. |\$ "
copybutton_prompt_is_regexp = True

# -- Generated sources ----------------------------------------------------------------------------------------------

GENERATED = HERE / "_generated"
CLI_PAGES = (["--help"], ["demo", "--help"], ["run", "--help"])


def cli_help() -> str:
    """``drugprint --help`` and the help of each subcommand, as the installed command prints them (100 columns).

    One process runs the command's entry point (``drugprint.cli:main``) for each: importing drugprint once.
    """
    script = (
        "import sys\n"
        "from drugprint.cli import main\n"
        f"for args in {[list(a) for a in CLI_PAGES]!r}:\n"
        "    print('$ drugprint ' + ' '.join(args), flush=True)\n"
        "    try:\n"
        "        main(args)\n"
        "    except SystemExit:\n"
        "        pass\n"
        "    print(flush=True)\n"
    )
    env = {**os.environ, "COLUMNS": "100"}
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, env=env, check=True)
    return done.stdout.rstrip() + "\n"


def write_generated(app, config) -> None:
    """Write the API pages, the methods' tables and the CLI help before the sources are read."""
    from sphinx.util import logging

    logger = logging.getLogger(__name__)
    for path in apigen.write_pages():
        logger.info("apigen: wrote %s", path.relative_to(HERE))
    GENERATED.mkdir(exist_ok=True)
    apigen.write_methods(GENERATED / "methods.md")
    text = cli_help()
    target = GENERATED / "cli_help.txt"
    if not target.exists() or target.read_text(encoding="utf-8") != text:
        target.write_text(text, encoding="utf-8")
    if not (ROOT / "CHANGELOG.md").exists():
        logger.warning("CHANGELOG.md is missing at the top of the repository; docs/changelog.md includes it.")
    if not list((HERE / "tutorials").glob("*.ipynb")):
        logger.warning(
            "docs/tutorials/ holds no executed notebook: run `make tutorials` (or `make docs`, which runs them "
            "when missing)."
        )


def setup(app) -> None:
    """Generate the derived sources once the configuration is read, before Sphinx looks for source files."""
    app.connect("config-inited", write_generated)
