"""Gene-set collections shipped with drugprint, read offline, each with its provenance."""

from __future__ import annotations

import hashlib
import importlib.resources
from os import PathLike
from pathlib import Path

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
        (drugprint's curated IMiD/CELMoD sets), a path to a GMT or CSV file (CSV with ``source``, ``target``
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
