"""Read the cell-level inputs the CLI accepts (h5ad, h5mu, zarr)."""

from __future__ import annotations

from os import PathLike
from pathlib import Path

from anndata import AnnData


def read(path: str | PathLike, *, mod: str = "rna") -> AnnData:
    """Read an ``.h5ad``, ``.zarr`` or ``.h5mu`` file into an AnnData.

    Parameters
    ----------
    path
        File to read.
    mod
        For ``.h5mu`` (MuData): the modality to return.

    Returns
    -------
    The AnnData (the chosen modality for MuData, with the global ``obs`` columns it lacks joined in).

    Examples
    --------
    >>> import drugprint as dp, tempfile, os
    >>> adata = dp.datasets.imid_screen("small")
    >>> path = os.path.join(tempfile.mkdtemp(), "screen.h5ad")
    >>> adata.write_h5ad(path)
    >>> dp.io.read(path).n_obs == adata.n_obs
    True
    """
    import anndata as ad

    p = Path(path)
    if not p.exists():
        raise FileNotFoundError(f"No file at {str(p)!r}.")
    suffix = p.suffix.lower()
    if suffix == ".h5ad":
        return ad.read_h5ad(p)
    if suffix == ".zarr":
        return ad.read_zarr(p)
    if suffix == ".h5mu":
        import mudata as md

        from .._anndata import as_anndata

        return as_anndata(md.read_h5mu(p), mod)
    raise ValueError(f"Cannot read {p.name!r}: use .h5ad, .zarr or .h5mu.")
