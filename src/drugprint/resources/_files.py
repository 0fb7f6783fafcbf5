"""Where drugprint's shipped data files are: one function, used by every reader of them."""

from __future__ import annotations

import importlib.resources
from importlib.resources.abc import Traversable
from pathlib import Path

_HERE = Path(__file__).resolve()
#: The repository's top-level ``data/`` when this file is ``src/drugprint/resources/_files.py`` of a checkout.
_REPO_DATA: Path | None = _HERE.parents[3] / "data" if _HERE.parents[2].name == "src" else None


def data_dir() -> Traversable:
    """The directory of the shipped data files (``data/README.md`` lists them).

    An installed wheel holds them as ``drugprint/data/`` (hatchling's ``force-include`` maps the repository's
    top-level ``data/`` there). An editable install or a source checkout imports ``drugprint`` from ``src/``,
    which has no ``data/``: hatchling's editable wheel copies force-included files into ``site-packages`` but
    outside the imported package, so the repository's top-level ``data/`` is used instead.

    Returns
    -------
    A :class:`~importlib.resources.abc.Traversable` (a :class:`~pathlib.Path` in both cases above);
    ``FileNotFoundError`` names every place looked at when neither exists.

    Examples
    --------
    >>> from drugprint.resources._files import data_dir
    >>> (data_dir() / "README.md").is_file()
    True
    """
    packaged = importlib.resources.files("drugprint") / "data"
    if packaged.is_dir():
        return packaged
    if _REPO_DATA is not None and _REPO_DATA.is_dir():
        return _REPO_DATA
    where = f"{str(packaged)!r} (the installed package)"
    fix = "reinstall drugprint (pip install --force-reinstall drugprint)"
    if _REPO_DATA is not None:
        where += f" and {str(_REPO_DATA)!r} (the top-level data/ of a source checkout)"
        fix += ", or restore data/ in the checkout"
    raise FileNotFoundError(f"drugprint's shipped data files are missing: looked in {where}; {fix}.")


def data_file(name: str) -> Traversable:
    """One shipped data file by name, e.g. ``"h.all.v2023.1.Hs.symbols.gmt"``; a clear error when it is missing."""
    directory = data_dir()
    path = directory / name
    if not path.is_file():
        present = sorted(p.name for p in directory.iterdir() if p.is_file())
        raise FileNotFoundError(
            f"drugprint's shipped data file {name!r} is missing from {str(directory)!r} "
            f"(present: {', '.join(present) or 'nothing'}). Reinstall drugprint or restore the file."
        )
    return path
