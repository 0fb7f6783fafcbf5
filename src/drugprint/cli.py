"""Command line: ``drugprint demo`` and ``drugprint run``, the latter's flags generated from the run's options."""

from __future__ import annotations

import argparse
import logging
import os
import re
import sys
import time
from dataclasses import Field, fields


def _options() -> list[Field]:
    """The fields of :class:`~drugprint.report._config.RunConfig` that are flags of ``drugprint run``."""
    from .report._config import RunConfig

    return [f for f in fields(RunConfig) if f.metadata.get("cli", True)]


def _flag(f: Field) -> str:
    return f.metadata.get("flag", "--" + f.name.replace("_", "-"))


def flags() -> dict[str, str]:
    """Python argument → the ``drugprint run`` flag that sets it (errors name the flag, not the argument)."""
    return {f.name: _flag(f) for f in _options()}


def as_flags(message: str) -> str:
    """Rewrite ``control=...`` / ``(covariates=)`` in an error message as the CLI flags ``--control`` …"""
    named = flags()
    names = "|".join(named)
    message = re.sub(rf"\b({names})=\.\.\.", lambda m: f"{named[m.group(1)]} ...", message)
    message = re.sub(rf"\(({names})=\)", lambda m: f"({named[m.group(1)]})", message)
    message = re.sub(rf"\b({names})=", lambda m: f"{named[m.group(1)]} ", message)
    return message.replace(
        "Pass the column that holds it to that argument.", "Pass the column that holds it to that flag."
    )


def _add_option(group: argparse._ArgumentGroup, f: Field) -> None:
    """One flag from one option: its help, default, and the argparse settings its metadata names."""
    meta = f.metadata
    kwargs = {k: meta[k] for k in ("nargs", "choices", "metavar", "action", "type") if k in meta}
    if callable(kwargs.get("choices")):  # a registry's names, read now
        kwargs["choices"] = kwargs["choices"]()
    default = meta.get("cli_default", f.default)
    kwargs["default"] = list(default) if isinstance(default, tuple) else default
    if "action" not in kwargs and "type" not in kwargs and type(f.default) in (int, float):
        kwargs["type"] = type(f.default)
    text = meta["help"]() if callable(meta["help"]) else meta["help"]
    group.add_argument(_flag(f), dest=f.name, help=text, **kwargs)


def _run_parser(sub, fmt) -> None:
    from .report._config import GROUPS

    r = sub.add_parser(
        "run",
        help="run the analysis on your cells (.h5ad, .h5mu or .zarr)",
        description="Pseudobulk the cells per sample and cell type, test every condition against the control (or "
        "the tests of --design, --contrast, --coef, --reduced) in each cell type, test pathways and panels on the "
        "replicates, rank potency and compare the conditions; write report.html, tables/, figures/, "
        "signatures.h5ad and provenance.json.",
        formatter_class=fmt,
    )
    r.add_argument(
        "input",
        help="cells × genes (.h5ad, .h5mu or .zarr with raw counts), or samples: a count table (.csv, .tsv, .txt, "
        "featureCounts), a folder of salmon or kallisto outputs (one subfolder per sample), each with --samples, "
        "or, with --microarray, a log-intensity matrix",
    )
    r.add_argument("--out", default="results", help="output directory")
    groups = {name: r.add_argument_group(name) for name in GROUPS}
    groups["the cells"].add_argument("--mod", default="rna", help="modality of an .h5mu file")
    groups["the cells"].add_argument(
        "--samples", default=None, help="sample sheet (CSV/TSV, one row per sample) for a count table or an array"
    )
    groups["the cells"].add_argument(
        "--gene-map",
        default=None,
        help="two-column table (CSV/TSV) from the count table's identifiers to genes: transcript → gene for "
        "salmon/kallisto transcript files, or IDs → symbols",
    )
    groups["the cells"].add_argument(
        "--microarray",
        action="store_true",
        help="the input table holds log intensities (probes or genes × samples): read by dp.io.read_microarray, "
        "fitted with limma unless --method says otherwise",
    )
    for f in _options():
        _add_option(groups[f.metadata["group"]], f)


def _parser() -> argparse.ArgumentParser:
    from . import __version__

    fmt = argparse.ArgumentDefaultsHelpFormatter
    p = argparse.ArgumentParser(
        prog="drugprint", description="Compare drug transcriptomic fingerprints per cell type.", formatter_class=fmt
    )
    p.add_argument("--version", action="version", version=f"%(prog)s {__version__}")
    sub = p.add_subparsers(dest="command")

    d = sub.add_parser("demo", help="simulate the bundled IMiD/CELMoD screen and write a report", formatter_class=fmt)
    d.add_argument("--out", default="results", help="output directory")
    d.add_argument("--preset", default="default", choices=["default", "small"], help="size of the simulated screen")
    d.add_argument("--random-state", "--seed", dest="random_state", type=int, default=0, help="seed of the simulation")
    d.add_argument("--n-cpus", type=int, default=1, help="processes per DESeq2 fit")
    d.add_argument("--n-jobs", type=int, default=1, help="cell types fitted in parallel")
    _run_parser(sub, fmt)
    return p


def contrasts(values: list[list[str]] | None):
    """``--contrast`` values as :func:`drugprint.tl.de` takes them: pairs, or named weightings of levels.

    Each value is ``CONDITION REFERENCE`` or ``NAME=level:weight,level:weight`` (one word); the two kinds do not mix.
    """
    if not values:
        return None
    pairs = [tuple(v) for v in values if len(v) == 2]
    named = [v[0] for v in values if len(v) == 1 and "=" in v[0]]
    bad = [" ".join(v) for v in values if not (len(v) == 2 or (len(v) == 1 and "=" in v[0]))]
    if bad:
        raise ValueError(
            f"--contrast {bad[0]!r}: give 'CONDITION REFERENCE' (e.g. --contrast pomalidomide lenalidomide) or "
            "'NAME=level:weight,...' (e.g. --contrast 'CELMoD vs IMiD=iberdomide:.5,mezigdomide:.5,"
            "lenalidomide:-.5,pomalidomide:-.5')."
        )
    if pairs and named:
        raise ValueError("--contrast takes pairs or named weightings in one run, not both.")
    if pairs:
        return pairs
    out = {}
    for text in named:
        name, _, spec = text.partition("=")
        try:
            out[name.strip()] = {lv.strip(): float(w) for lv, w in (item.rsplit(":", 1) for item in spec.split(","))}
        except ValueError:
            raise ValueError(f"--contrast {text!r}: each weight is 'level:number', separated by commas.") from None
    return out


#: Inputs read as a table of samples (bulk counts or arrays) rather than cells.
TABLE_SUFFIXES = (".csv", ".tsv", ".txt", ".csv.gz", ".tsv.gz", ".txt.gz")
#: The per-sample files of a quantification folder (one subfolder per sample), by tool.
QUANT_FILES = ("quant.genes.sf", "quant.sf", "abundance.tsv")


def _quant_files(folder):
    """The salmon or kallisto files of a folder with one subfolder per sample (the first kind found)."""
    from pathlib import Path

    for name in QUANT_FILES:
        files = sorted(Path(folder).glob(f"*/{name}"))
        if files:
            return files
    raise ValueError(
        f"{folder} is a folder without {' or '.join(QUANT_FILES)} in its subfolders (one per sample): give a count "
        "table, a folder of salmon or kallisto outputs, or cells (.h5ad, .h5mu, .zarr)."
    )


def _read_input(args) -> tuple:
    """The input as AnnData, and whether its rows are samples (a count table, an array, --samples given)."""
    from . import io

    name = str(args.input).lower()
    if args.microarray:
        return io.read_microarray(args.input, args.samples), True
    if name.endswith(TABLE_SUFFIXES):
        return io.read_counts(args.input, args.samples, gene_map=args.gene_map), True
    if os.path.isdir(args.input) and not name.rstrip("/").endswith(".zarr"):
        return io.read_counts(_quant_files(args.input), args.samples, gene_map=args.gene_map), True
    adata = io.read(args.input, mod=args.mod)
    if args.samples is not None or args.gene_map is not None:
        raise ValueError(
            f"--samples and --gene-map go with a count table or an array; {args.input} is read as AnnData."
        )
    return adata, str(args.groupby).lower() == "none"  # an AnnData of samples: --groupby none


def main(argv: list[str] | None = None) -> int:
    parser = _parser()
    args = parser.parse_args(argv)
    if args.command is None:
        parser.print_help()
        return 2
    import matplotlib

    matplotlib.use("Agg")  # figures are only written to files
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s: %(message)s", datefmt="%H:%M:%S")
    from . import report
    from .report._config import RunConfig

    t0 = time.perf_counter()
    try:
        if args.command == "demo":
            res = report.demo(
                args.out, preset=args.preset, random_state=args.random_state, n_cpus=args.n_cpus, n_jobs=args.n_jobs
            )
        else:
            options = {f.name: getattr(args, f.name) for f in _options()}
            options["contrasts"] = contrasts(options["contrasts"])
            options["title"] = options["title"] or f"drugprint report: {args.input}"
            options["method"] = options["method"] or ("limma" if args.microarray else "deseq2")
            RunConfig(**options)  # the options checked before the input is read (e.g. --time-key without --cohort)
            adata, samples = _read_input(args)
            if samples:  # a study of samples: one group, each sample a profile
                options["groupby"] = None
            res = report.run(adata, args.out, **options)
    except (KeyError, ValueError, TypeError, OSError) as err:  # bad input: one line; other errors keep a traceback
        message = err.args[0] if isinstance(err, KeyError) and err.args else err
        print(f"drugprint: error: {as_flags(str(message))}", file=sys.stderr)
        return 1
    timings = ", ".join(f"{k} {v:.1f}s" for k, v in res["timings"].items())
    print(f"drugprint: wrote {res['paths']['report']} in {time.perf_counter() - t0:.1f}s ({timings})")
    return 0


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
