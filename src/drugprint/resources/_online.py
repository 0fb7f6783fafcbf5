"""Optional online collections through decoupler/OmniPath: cached, with a timeout, falling back offline."""

from __future__ import annotations

import concurrent.futures
import datetime as _dt
import hashlib
import json
import warnings
from pathlib import Path

import pandas as pd

#: Collections that can be fetched with ``online=True`` (decoupler ``dc.op`` function, licence note).
ONLINE: dict[str, dict[str, str]] = {
    "hallmark": {
        "op": "hallmark",
        "source": "MSigDB Hallmark via OmniPath (decoupler.op.hallmark)",
        "citation": "Liberzon et al. 2015, Cell Systems 1:417",
        "licence": "CC BY 4.0",
    },
    "progeny": {
        "op": "progeny",
        "source": "PROGENy via OmniPath (decoupler.op.progeny)",
        "citation": "Schubert et al. 2018, Nat Commun 9:20",
        "licence": "Apache-2.0",
    },
    "collectri": {
        "op": "collectri",
        "source": "CollecTRI TF–target network via OmniPath (decoupler.op.collectri)",
        "citation": "Müller-Dott et al. 2023, Nucleic Acids Res 51:10934",
        "licence": "see OmniPath",
    },
    "dorothea": {
        "op": "dorothea",
        "source": "DoRothEA regulons via OmniPath (decoupler.op.dorothea)",
        "citation": "Garcia-Alonso et al. 2019, Genome Res 29:1363",
        "licence": "see OmniPath",
    },
}


def cache_dir() -> Path:
    """Where downloaded collections are kept (the user cache directory, via platformdirs).

    Returns
    -------
    The ``genesets`` folder of drugprint's user cache directory (it may not exist yet).

    Examples
    --------
    >>> import drugprint as dp
    >>> dp.resources.cache_dir().name
    'genesets'
    """
    import platformdirs

    return Path(platformdirs.user_cache_dir("drugprint")) / "genesets"


def _download(name: str, timeout: float, **kwargs) -> pd.DataFrame:
    import decoupler as dc

    fn = getattr(dc.op, ONLINE[name]["op"])
    pool = concurrent.futures.ThreadPoolExecutor(max_workers=1)
    future = pool.submit(fn, organism="human", **kwargs)
    try:
        return future.result(timeout=timeout)
    except concurrent.futures.TimeoutError as err:
        raise TimeoutError(f"downloading {name!r} took longer than {timeout:g} s") from err
    finally:
        pool.shutdown(wait=False, cancel_futures=True)


def fetch(name: str, *, timeout: float = 30.0, refresh: bool = False, top: int | None = None) -> pd.DataFrame:
    """Fetch an OmniPath collection (cached on disk), or raise ``ConnectionError`` when that fails.

    Parameters
    ----------
    name
        One of ``ONLINE``.
    timeout
        Seconds to wait for the download.
    refresh
        Download again even when a cached copy exists.
    top
        For ``"progeny"``: genes per pathway.

    Returns
    -------
    A decoupler-style net with provenance (download date, source, sha256 of the cached file) in ``attrs``.
    """
    if name not in ONLINE:
        raise ValueError(f"{name!r} is not an online collection; choose one of {', '.join(map(repr, ONLINE))}.")
    kwargs = {"top": top} if (name == "progeny" and top is not None) else {}
    stem = f"{name}_top{top}" if kwargs else name
    path, meta_path = cache_dir() / f"{stem}.csv.gz", cache_dir() / f"{stem}.json"
    if path.exists() and meta_path.exists() and not refresh:
        net = pd.read_csv(path)
        net.attrs = json.loads(meta_path.read_text())
        return net
    try:
        net = _download(name, timeout, **kwargs)
    except Exception as err:  # requests, socket and HTTP errors all mean: not available now
        raise ConnectionError(f"could not download {name!r} from OmniPath ({type(err).__name__}: {err})") from err
    net = net.rename(columns={"pathway": "source", "gene": "target"})
    if name == "hallmark":
        net["source"] = "HALLMARK_" + net["source"].astype(str)
    if "weight" not in net.columns:
        net["weight"] = 1.0
    path.parent.mkdir(parents=True, exist_ok=True)
    net.to_csv(path, index=False)
    attrs = {
        "name": name,
        "version": f"OmniPath download of {_dt.date.today().isoformat()}",
        **{k: v for k, v in ONLINE[name].items() if k != "op"},
        "sha256": hashlib.sha256(path.read_bytes()).hexdigest(),
        "cached_at": str(path),
    }
    meta_path.write_text(json.dumps(attrs, indent=1))
    net.attrs = attrs
    return net


def fetch_or_fallback(name: str, shipped, *, timeout: float, refresh: bool, top: int | None) -> pd.DataFrame:
    """``fetch``; on failure warn and return ``shipped()`` when a shipped copy exists, else raise."""
    try:
        return fetch(name, timeout=timeout, refresh=refresh, top=top)
    except (ConnectionError, TimeoutError) as err:
        if shipped is None:
            raise ConnectionError(
                f"{err}. {name!r} is only available online; use a shipped collection ('hallmark', 'progeny', "
                "'imid') or pass a GMT/CSV file."
            ) from err
        warnings.warn(f"{err}; using the shipped copy of {name!r} instead.", UserWarning, stacklevel=3)
        return shipped()
