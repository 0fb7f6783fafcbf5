"""Gene-set collections shipped with drugprint, read offline, each with its provenance."""

from __future__ import annotations

import functools
import hashlib
import importlib.resources
import lzma
from os import PathLike
from pathlib import Path

import numpy as np
import pandas as pd

from .._tables import read_table
from ._files import data_file
from ._imid import IMID_SETS, IMID_VERSION

#: The pathways read first when drugs are compared (the seed's questions: interferon, p53, TNFα/NF-κB, apoptosis,
#: cell cycle …): figures and the report show them first, when they were scored.
KEY_PATHWAYS = (
    "HALLMARK_INTERFERON_ALPHA_RESPONSE",
    "HALLMARK_INTERFERON_GAMMA_RESPONSE",
    "HALLMARK_P53_PATHWAY",
    "HALLMARK_TNFA_SIGNALING_VIA_NFKB",
    "HALLMARK_APOPTOSIS",
    "HALLMARK_G2M_CHECKPOINT",
    "HALLMARK_E2F_TARGETS",
    "HALLMARK_MYC_TARGETS_V1",
    "HALLMARK_INFLAMMATORY_RESPONSE",
    "HALLMARK_REACTIVE_OXYGEN_SPECIES_PATHWAY",
)

#: Provenance of the shipped collections (recorded on every net as ``DataFrame.attrs``).
COLLECTIONS: dict[str, dict[str, str]] = {
    "hallmark": {
        "name": "hallmark",
        "file": "h.all.v2023.1.Hs.symbols.gmt",
        "version": "MSigDB v2023.1.Hs",
        "source": "MSigDB Hallmark gene sets (human symbols)",
        "citation": "Liberzon et al. 2015, Cell Systems 1:417",
        "licence": "CC BY 4.0",
        "sha256": "27e48f776cda235ad5b63acaecc3136853ee79c6447d883ce2b070a4d2d47b75",
    },
    "progeny": {
        "name": "progeny",
        "file": "progeny_human_top500.csv",
        "version": "PROGENy model_human_full, r-bioc-progeny 1.20.0, top 500 genes per pathway",
        "source": "PROGENy pathway-responsive genes (human)",
        "citation": "Schubert et al. 2018, Nat Commun 9:20",
        "licence": "Apache-2.0",
        "sha256": "d2fd5f687d1d002183140d370532a7f61257d02bd60f5256617e68e0228bc18f",
    },
    "imid": {
        "name": "imid",
        "file": "",
        "version": IMID_VERSION,
        "source": "drugprint curated IMiD/CELMoD gene sets (drugprint.resources._imid)",
        "citation": "one citation per set, in the net's 'citation' column",
        "licence": "BSD-3-Clause (drugprint)",
        "sha256": "",
    },
}


#: The Gene Ontology collections: ontology code → its name. All three are read from one shipped file.
GO_ONTOLOGIES = {"bp": "biological process", "mf": "molecular function", "cc": "cellular component"}
GO_FILE = "go_human.tsv.xz"
for _code, _long in GO_ONTOLOGIES.items():
    COLLECTIONS[f"go_{_code}"] = {
        "name": f"go_{_code}",
        "file": GO_FILE,
        "version": "GO release 2022-07-01; GO.db 3.16.0, org.Hs.eg.db 3.16.0 (NCBI Gene 2022-Sep12)",
        "source": f"Gene Ontology {_long}: human genes annotated to each term or its descendants "
        "(org.Hs.egGO2ALLEGS, every evidence code), as NCBI Gene symbols; sets named by GO ID, the term name in "
        "the 'term' column",
        "citation": "Gene Ontology Consortium 2023, Genetics 224:iyad031; Ashburner et al. 2000, Nat Genet 25:25",
        "licence": "CC BY 4.0",
        "sha256": "4f840ea8c6692dda9993b2ad0f96574ce7a1e4b0736ef4309ea0baf3e21920c5",
        "annotated": "go",
    }


def _sha256(path: Path | importlib.resources.abc.Traversable) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def read_gmt(path: str | PathLike) -> pd.DataFrame:
    r"""Read a GMT file into a decoupler-style net.

    Parameters
    ----------
    path
        A GMT file: one set per line, ``name<TAB>description<TAB>gene<TAB>gene…``.

    Returns
    -------
    DataFrame with columns ``source``, ``target``, ``weight`` (1.0); duplicated set–gene pairs are
    dropped. ``attrs`` holds the file's name and sha256.

    Examples
    --------
    >>> import drugprint as dp, pathlib, tempfile
    >>> gmt = pathlib.Path(tempfile.mkdtemp()) / "sets.gmt"
    >>> _ = gmt.write_text("IKZF_TARGETS\tmy description\tIKZF1\tIKZF3\nMYC_AXIS\t\tIRF4\tMYC\n")
    >>> dp.resources.read_gmt(gmt)[["source", "target"]].values.tolist()
    [['IKZF_TARGETS', 'IKZF1'], ['IKZF_TARGETS', 'IKZF3'], ['MYC_AXIS', 'IRF4'], ['MYC_AXIS', 'MYC']]
    """
    path = Path(str(path))
    if not path.exists():
        raise FileNotFoundError(f"No GMT file at {str(path)!r}.")
    rows = []
    with path.open() as fh:
        for lineno, line in enumerate(fh, 1):
            fields = [f.strip() for f in line.rstrip("\n\r").split("\t")]
            if not any(fields):
                continue
            if len(fields) < 3:
                raise ValueError(
                    f"{path.name}, line {lineno}: a GMT line needs a set name, a description and at least one "
                    "gene, separated by tabs."
                )
            rows.extend((fields[0], g) for g in fields[2:] if g)
    net = pd.DataFrame(rows, columns=["source", "target"]).drop_duplicates(ignore_index=True)
    net["weight"] = 1.0
    net.attrs.update({"name": path.stem, "source": str(path), "sha256": _sha256(path)})
    return net


def _hallmark() -> pd.DataFrame:
    meta = COLLECTIONS["hallmark"]
    with importlib.resources.as_file(data_file(meta["file"])) as p:
        net = read_gmt(p)
    net.attrs = dict(meta)
    return net


def _progeny(top: int) -> pd.DataFrame:
    meta = COLLECTIONS["progeny"]
    with data_file(meta["file"]).open() as fh:
        df = pd.read_csv(fh)
    df = df.sort_values(["pathway", "p.value"], kind="stable").groupby("pathway", sort=True).head(top)
    net = df.rename(columns={"pathway": "source", "gene": "target", "p.value": "pvalue"})
    net = net[["source", "target", "weight", "pvalue"]].reset_index(drop=True)
    net.attrs = dict(meta, top=str(top))
    return net


def _imid() -> pd.DataFrame:
    rows = []
    for name, spec in IMID_SETS.items():
        genes = spec["genes"]
        items = genes.items() if isinstance(genes, dict) else ((g, 1.0) for g in genes)
        rows.extend((name, g, float(w), spec["citation"]) for g, w in items)
    net = pd.DataFrame(rows, columns=["source", "target", "weight", "citation"])
    net.attrs = dict(COLLECTIONS["imid"])
    return net


@functools.lru_cache(maxsize=1)
def _go_file() -> tuple[np.ndarray, pd.DataFrame]:
    """The shipped GO file: every annotated gene (sorted symbols) and one row per term with its gene positions."""
    with data_file(GO_FILE).open("rb") as fh, lzma.open(fh, "rt", encoding="utf-8") as text:
        genes = np.array(text.readline().rstrip("\n").split("\t")[1:], dtype=object)
        text.readline()  # "#meta": the releases, also in COLLECTIONS
        rows = [line.rstrip("\n").split("\t") for line in text]
    terms = pd.DataFrame(rows, columns=["go_id", "ontology", "term", "gaps"])
    terms["positions"] = [np.cumsum(np.array(g.split(","), dtype=np.int64)) for g in terms.pop("gaps")]
    return genes, terms


def go_annotated() -> pd.Index:
    """The human genes with at least one GO annotation, in any ontology (limma's ``goana`` universe).

    Returns
    -------
    The genes' symbols (NCBI Gene), sorted.

    Examples
    --------
    >>> import drugprint as dp
    >>> "IKZF1" in dp.resources.go_annotated()
    True
    """
    return pd.Index(_go_file()[0], name="gene")


def _go(code: str) -> pd.DataFrame:
    genes, terms = _go_file()
    terms = terms[terms["ontology"] == code.upper()]
    sizes = terms["positions"].map(len).to_numpy()
    net = pd.DataFrame(
        {
            "source": np.repeat(terms["go_id"].to_numpy(), sizes),
            "target": genes[np.concatenate(terms["positions"].to_list())],
            "weight": 1.0,
            "term": np.repeat(terms["term"].to_numpy(), sizes),
        }
    )
    net.attrs = dict(COLLECTIONS[f"go_{code}"])
    return net


def annotated_genes(net: pd.DataFrame) -> pd.Index:
    """The genes a collection could have annotated: for GO, every gene with a GO annotation; else the net's genes.

    Over-representation tests take their universe from it (the tested genes that carry an annotation).

    Parameters
    ----------
    net
        A net from :func:`genesets` (its ``attrs`` say which annotation it comes from) or any decoupler-style net.

    Returns
    -------
    The gene symbols.

    Examples
    --------
    >>> import drugprint as dp
    >>> len(dp.resources.annotated_genes(dp.resources.genesets("hallmark")))
    4384
    """
    if net.attrs.get("annotated") == "go":
        return go_annotated()
    return pd.Index(pd.unique(net["target"].astype(str)), name="gene")


def genesets(
    name: str | PathLike = "hallmark",
    *,
    top: int = 100,
    online: bool = False,
    timeout: float = 30.0,
    refresh: bool = False,
) -> pd.DataFrame:
    """A gene-set collection as a decoupler-style net; offline unless asked otherwise.

    Parameters
    ----------
    name
        ``"hallmark"`` (MSigDB Hallmark v2023.1), ``"progeny"`` (PROGENy human weights), ``"imid"``
        (drugprint's curated IMiD/CELMoD sets), ``"go_bp"``, ``"go_mf"``, ``"go_cc"`` (Gene Ontology biological
        process, molecular function, cellular component: sets named by GO ID, term names in a ``term`` column,
        genes annotated to the term or its descendants), a path to a GMT or CSV file (CSV with ``source``, ``target``
        and optionally ``weight`` columns; ``.tsv``/``.txt`` tab-separated), or, with ``online=True``,
        ``"collectri"`` or ``"dorothea"``. A name with a file extension or a path separator is a path, and
        ``FileNotFoundError`` is raised when nothing is there.
    top
        For ``"progeny"``: the number of genes per pathway, by p-value (PROGENy's recommended 100; the
        shipped file holds up to 500).
    online
        Fetch the current version from OmniPath through decoupler (``dc.op``), cached in the user cache
        directory; if that fails, warn and use the shipped copy (``"hallmark"``, ``"progeny"``) or raise
        ``ConnectionError`` (online-only collections).
    timeout
        Seconds to wait for a download.
    refresh
        Download again even when a cached copy exists.

    Returns
    -------
    DataFrame with ``source``, ``target``, ``weight``; provenance (name, version, source, citation,
    licence, sha256) in ``attrs``.

    Examples
    --------
    >>> import drugprint as dp
    >>> net = dp.resources.genesets("hallmark")
    >>> net.attrs["licence"]
    'CC BY 4.0'
    """
    from ._online import ONLINE, fetch_or_fallback

    key = str(name)
    if key == "progeny" and (isinstance(top, bool) or not isinstance(top, int) or top < 1):
        raise ValueError(f"top must be a positive integer, got {top!r}.")
    shipped = {"hallmark": _hallmark, "progeny": lambda: _progeny(top), "imid": _imid}
    shipped.update({f"go_{code}": functools.partial(_go, code) for code in GO_ONTOLOGIES})
    if online and key in ONLINE:
        return fetch_or_fallback(
            key, shipped.get(key), timeout=timeout, refresh=refresh, top=top if key == "progeny" else None
        )
    if key in shipped:
        return shipped[key]()
    if key in ONLINE:
        raise ValueError(f"{key!r} is only available online: pass online=True (needs network access).")
    path = Path(key)
    if path.suffix or "/" in key or "\\" in key:
        if not path.exists():
            raise FileNotFoundError(f"No gene-set file at {key!r}; check the path (relative to {str(Path.cwd())!r}).")
        if path.suffix.lower() == ".gmt":
            return read_gmt(path)
        if path.suffix.lower() not in {".csv", ".tsv", ".txt"}:
            raise ValueError(f"{path.name}: a gene-set file must be .gmt, .csv, .tsv or .txt.")
        net = read_table(path)
        missing = {"source", "target"} - set(net.columns)
        if missing:
            raise ValueError(
                f"{path.name} needs columns 'source' and 'target' (and optionally 'weight'); "
                f"missing {sorted(missing)}; found {list(net.columns)}."
            )
        if "weight" not in net.columns:
            net["weight"] = 1.0
        net.attrs.update({"name": path.stem, "source": str(path), "sha256": _sha256(path)})
        return net
    known = ", ".join(repr(k) for k in [*COLLECTIONS, *(k for k in ONLINE if k not in COLLECTIONS)])
    raise ValueError(
        f"Unknown gene-set collection {key!r}; use one of {known} (the last ones with online=True), "
        "or a path to a .gmt or .csv file."
    )


def provenance(net: pd.DataFrame) -> dict[str, str]:
    """The provenance record of a net (its ``attrs``, as strings), or a note that it has none.

    Parameters
    ----------
    net
        A decoupler-style net, e.g. from :func:`drugprint.resources.genesets` (which records its provenance in
        ``net.attrs``).

    Returns
    -------
    A dict of strings: for a shipped collection its ``name``, ``file``, ``version``, ``source``, ``citation``,
    ``licence`` and ``sha256``; for a net without ``attrs``, ``name`` and ``source`` saying so.

    Examples
    --------
    >>> import drugprint as dp
    >>> dp.resources.provenance(dp.resources.genesets("hallmark"))["citation"]
    'Liberzon et al. 2015, Cell Systems 1:417'
    """
    if not net.attrs:
        return {"name": "user net", "source": "a DataFrame passed by the user (no provenance recorded)"}
    return {k: str(v) for k, v in net.attrs.items()}
