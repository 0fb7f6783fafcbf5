"""Command line: ``drugprint demo`` and ``drugprint run``."""

from __future__ import annotations

import argparse
import logging
import re
import sys
import time

#: Python argument → the ``drugprint run`` flag that sets it (errors name the flag, not the argument).
FLAGS = {
    "sample_key": "--sample-key",
    "groupby": "--groupby",
    "condition_key": "--condition-key",
    "control": "--control",
    "covariates": "--covariates",
    "method": "--method",
    "robust": "--robust",
    "match": "--match",
    "donor_key": "--donor-key",
    "layer": "--layer",
    "use_raw": "--use-raw",
    "min_cells": "--min-cells",
    "nets": "--nets",
    "pathway_method": "--pathway-method",
    "skip": "--skip",
}


def as_flags(message: str) -> str:
    """Rewrite ``control=...`` / ``(covariates=)`` in an error message as the CLI flags ``--control`` …"""
    names = "|".join(FLAGS)
    message = re.sub(rf"\b({names})=\.\.\.", lambda m: f"{FLAGS[m.group(1)]} ...", message)
    message = re.sub(rf"\(({names})=\)", lambda m: f"({FLAGS[m.group(1)]})", message)
    message = re.sub(rf"\b({names})=", lambda m: f"{FLAGS[m.group(1)]} ", message)
    return message.replace(
        "Pass the column that holds it to that argument.", "Pass the column that holds it to that flag."
    )


def _parser() -> argparse.ArgumentParser:
    from . import __version__
    from .report import OPTIONAL_STAGES
    from .resources import COLLECTIONS

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

    r = sub.add_parser(
        "run",
        help="run the analysis on your cells (.h5ad, .h5mu or .zarr)",
        description="Pseudobulk the cells per sample and cell type, test every condition against the control in "
        "each cell type, test pathways and panels on the replicates, rank potency and compare the conditions; "
        "write report.html, tables/, figures/, signatures.h5ad and provenance.json.",
        formatter_class=fmt,
    )
    r.add_argument("input", help="cells × genes: .h5ad, .h5mu or .zarr with raw counts")
    r.add_argument("--out", default="results", help="output directory")
    g = r.add_argument_group("the cells")
    g.add_argument("--sample-key", default="sample", help="obs column of samples (the replicates)")
    g.add_argument("--groupby", default="cell_type", help="obs column of cell types; each is fitted separately")
    g.add_argument(
        "--layer",
        default=None,
        help="layer of raw counts (default: 'counts' if present, else .raw when X looks log-normalised, else X)",
    )
    g.add_argument("--use-raw", action="store_true", default=None, help="take the counts from adata.raw")
    g.add_argument("--mod", default="rna", help="modality of an .h5mu file")
    g.add_argument(
        "--min-cells", type=int, default=10, help="profiles (sample × cell type) with fewer cells are dropped"
    )
    g = r.add_argument_group("the design")
    g.add_argument("--condition-key", default="drug", help="obs column of the treatment")
    g.add_argument(
        "--control",
        default=None,
        help="level of --condition-key every condition is compared with "
        "(default: the one level named like a vehicle: DMSO, vehicle, ctrl, untreated, mock, PBS …)",
    )
    g.add_argument(
        "--covariates",
        nargs="*",
        default=None,
        help="obs columns entering the design before the "
        "condition (default: donor when present; give the flag alone for none)",
    )
    g.add_argument("--match", default=None, help="obs column pairing each condition with the control, e.g. time")
    g.add_argument(
        "--donor-key",
        default="donor",
        help="obs column of donors, for the split-donor effect correlation (used when present)",
    )
    g.add_argument(
        "--method",
        default="deseq2",
        choices=["deseq2", "voom", "limma", "ttest"],
        help="DE engine (voom is much faster)",
    )
    g.add_argument(
        "--robust",
        action="store_true",
        help="limma's robust empirical Bayes (hypervariable genes get less prior weight); voom and limma only",
    )
    g = r.add_argument_group("pathways and stages")
    g.add_argument(
        "--nets",
        nargs="+",
        default=["hallmark"],
        metavar="NET",
        help=f"gene-set collections: {', '.join(COLLECTIONS)} or GMT/CSV paths; the first drives potency",
    )
    g.add_argument(
        "--pathway-method",
        default="camera",
        choices=["camera", "fry", "activity", "ulm"],
        help="pathway test (camera, fry, activity: samples as replicates; ulm: genes as units)",
    )
    g.add_argument(
        "--skip",
        nargs="*",
        default=[],
        choices=OPTIONAL_STAGES,
        metavar="STAGE",
        help=f"optional stages to leave out: {', '.join(OPTIONAL_STAGES)}",
    )
    g.add_argument("--title", default=None, help="report title (default: 'drugprint report: INPUT')")
    g.add_argument("--random-state", type=int, default=0, help="seed of the resampling (potency ranks, comparison)")
    g.add_argument("--n-cpus", type=int, default=1, help="processes per DESeq2 fit")
    g.add_argument("--n-jobs", type=int, default=1, help="cell types fitted in parallel")
    return p


def main(argv: list[str] | None = None) -> int:
    parser = _parser()
    args = parser.parse_args(argv)
    if args.command is None:
        parser.print_help()
        return 2
    import matplotlib

    matplotlib.use("Agg")  # figures are only written to files
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s: %(message)s", datefmt="%H:%M:%S")
    from . import io, report

    t0 = time.perf_counter()
    try:
        if args.command == "demo":
            res = report.demo(
                args.out, preset=args.preset, random_state=args.random_state, n_cpus=args.n_cpus, n_jobs=args.n_jobs
            )
        else:
            adata = io.read(args.input, mod=args.mod)
            res = report.run(
                adata,
                args.out,
                sample_key=args.sample_key,
                groupby=args.groupby,
                condition_key=args.condition_key,
                control=args.control,
                covariates=args.covariates,
                method=args.method,
                robust=args.robust,
                match=args.match,
                donor_key=args.donor_key,
                n_jobs=args.n_jobs,
                layer=args.layer,
                use_raw=args.use_raw,
                min_cells=args.min_cells,
                nets=args.nets,
                pathway_method=args.pathway_method,
                random_state=args.random_state,
                skip=args.skip,
                n_cpus=args.n_cpus,
                title=args.title or f"drugprint report: {args.input}",
            )
    except (KeyError, ValueError, TypeError, OSError) as err:  # bad input: one line; other errors keep a traceback
        message = err.args[0] if isinstance(err, KeyError) and err.args else err
        print(f"drugprint: error: {as_flags(str(message))}", file=sys.stderr)
        return 1
    timings = ", ".join(f"{k} {v:.1f}s" for k, v in res["timings"].items())
    print(f"drugprint: wrote {res['paths']['report']} in {time.perf_counter() - t0:.1f}s ({timings})")
    return 0


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
