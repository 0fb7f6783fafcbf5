"""Command line: ``drugprint demo`` and ``drugprint run``."""

from __future__ import annotations

import argparse
import logging
import sys
import time


def _parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="drugprint", description="Compare drug transcriptomic fingerprints per cell type.")
    from . import __version__

    p.add_argument("--version", action="version", version=f"%(prog)s {__version__}")
    sub = p.add_subparsers(dest="command")

    d = sub.add_parser("demo", help="simulate the bundled IMiD/CELMoD screen and write a report")
    d.add_argument("--out", default="results", help="output directory (default: results)")
    d.add_argument("--preset", default="default", choices=["default", "small"])
    d.add_argument("--seed", type=int, default=0)
    d.add_argument("--n-cpus", type=int, default=1)
    d.add_argument("--n-jobs", type=int, default=1, help="cell types fitted in parallel")

    r = sub.add_parser("run", help="run the analysis on your cells (.h5ad, .h5mu or .zarr)")
    r.add_argument("input")
    r.add_argument("--out", default="results")
    r.add_argument("--sample-key", default="sample")
    r.add_argument("--groupby", default="cell_type")
    r.add_argument("--condition-key", default="drug")
    r.add_argument("--control", default="DMSO")
    r.add_argument("--covariates", nargs="*", default=["donor"], help="obs columns in the design (default: donor)")
    r.add_argument(
        "--method",
        default="deseq2",
        choices=["deseq2", "voom", "limma", "ttest"],
        help="DE engine (default: deseq2; voom is much faster)",
    )
    r.add_argument("--match", default=None, help="obs column pairing drugs with the control, e.g. time")
    r.add_argument("--donor-key", default="donor", help="obs column of donors (for the effect correlation)")
    r.add_argument("--n-jobs", type=int, default=1, help="cell types fitted in parallel")
    r.add_argument("--layer", default=None, help="layer of raw counts (default: 'counts' if present, else X)")
    r.add_argument("--mod", default="rna", help="modality of an .h5mu file (default: rna)")
    r.add_argument("--min-cells", type=int, default=10)
    r.add_argument("--net", default="hallmark", help="gene-set collection or GMT/CSV path (default: hallmark)")
    r.add_argument("--n-cpus", type=int, default=1)
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
            res = report.demo(args.out, preset=args.preset, seed=args.seed, n_cpus=args.n_cpus, n_jobs=args.n_jobs)
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
                match=args.match,
                donor_key=args.donor_key,
                n_jobs=args.n_jobs,
                layer=args.layer,
                min_cells=args.min_cells,
                net=args.net,
                n_cpus=args.n_cpus,
                title=f"drugprint report: {args.input}",
            )
    except (KeyError, ValueError, TypeError, OSError) as err:  # bad input: one line; other errors keep a traceback
        message = err.args[0] if isinstance(err, KeyError) and err.args else err
        print(f"drugprint: error: {message}", file=sys.stderr)
        return 1
    timings = ", ".join(f"{k} {v:.1f}s" for k, v in res["timings"].items())
    print(f"drugprint: wrote {res['paths']['report']} in {time.perf_counter() - t0:.1f}s ({timings})")
    return 0


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
