"""Benchmark of Lesur et al. (2010) Section 4-5 redone on synthetic data.

Runs :func:`bayescore.studies.regularisation.section4_experiments` on a frozen-flux
synthetic truth: USN, BSN and WSN fitted to the same data (lambda_space truth-typical,
lambda_time and the USN dampings tuned so that the SA power over degrees 1-3 matches
the truth's, the paper's rule "around degree 1"), then the lambda_2B sweep (the paper's
exponents -3.5 .. -1.5, mapped onto ours around the BSN value) and the lambda_3 sweep
(3.5 .. 6), each warm-started from the BSN MAP. Prints wall times (compilation
included), the number of compilations of the Gauss-Newton step during the sweeps
(should stay flat), rho, data misfit, SV correlations with the truth, the SA spectrum
ratios against the truth's, the degrees where BSN and WSN SA spectra are closer to the
truth than USN's, and KE, toroidal and geostrophic fractions; writes the figures and a
JSON of all numbers.

Usage::

    python benchmarks/bench_regularisation.py                 # paper size (L = 14, ~107k data)
    python benchmarks/bench_regularisation.py --small         # L = 6, ~2.6k data
    python benchmarks/bench_regularisation.py --lmax 10 --n-satellite 8000 --json out.json

Paper size: L_B = L_F = 14, N_t = 5, L_SV = L_B + L_F, 25,000 satellite vectors and 137
observatories every 5 days (about 107,000 scalar data) over 2004.87-2005.94.
"""

from __future__ import annotations

import argparse
import os
import sys
import time


def _parse():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--small", action="store_true", help="L = 6, ~2.6k data")
    parser.add_argument("--lmax", type=int, default=14, help="L_B = L_F (default 14)")
    parser.add_argument("--n-time", type=int, default=5, help="N_t (default 5)")
    parser.add_argument("--n-satellite", type=int, default=25_000, help="satellite vectors")
    parser.add_argument("--n-sites", type=int, default=137, help="observatories")
    parser.add_argument("--obs-interval-days", type=float, default=5.0)
    parser.add_argument("--lmax-sv", type=int, default=None, help="L_SV (default L_B + L_F)")
    parser.add_argument("--rms", type=float, default=13.0, help="truth rms speed, km/yr")
    parser.add_argument("--no-match", action="store_true", help="truth-typical lambda_time")
    parser.add_argument("--json", type=str, default=None, help="write all numbers here")
    parser.add_argument("--figures", type=str, default=None, help="write PNG figures here")
    parser.add_argument("--progress", action="store_true")
    return parser.parse_args()


def _print_table(title, rows, columns):
    print(f"\n{title}")
    print("  ".join(f"{c:>12s}" for c in ["", *columns]))
    for name, row in rows.items():
        cells = []
        for c in columns:
            value = row.get(c, float("nan"))
            cells.append(f"{value:12.4g}" if isinstance(value, float | int) else f"{value:>12}")
        print(f"{name:>12s}  " + "  ".join(cells))


def main() -> int:
    args = _parse()
    import numpy as np

    import bayescore  # noqa: F401  (float64)
    import bayescore.infer.gauss_newton as gauss_newton
    from bayescore.studies import regularisation as study

    if args.small:
        settings = dict(study.SMALL_EXPERIMENT)
    else:
        settings = {
            "lmax": args.lmax,
            "n_time": args.n_time,
            "n_satellite": args.n_satellite,
            "n_observatory_sites": args.n_sites,
            "observatory_interval_days": args.obs_interval_days,
            "target_rms_km_yr": args.rms,
            "lmax_sv": args.lmax_sv,
        }
    clock = time.perf_counter()
    experiment = study.synthetic_experiment(**settings)
    setup_s = time.perf_counter() - clock
    print(f"experiment: {experiment.to_dict()}")
    print(f"truth + data + normal equations: {setup_s:.1f} s")

    results = study.section4_experiments(
        experiment.problem,
        experiment.truth,
        epoch=experiment.epoch,
        match_time=not args.no_match,
        progress_bar=args.progress,
    )
    results["timings"]["setup_s"] = setup_s
    summary = study.summarise(results)
    summary["experiment"] = experiment.to_dict()
    summary["compilations"] = {
        "value_and_grad": gauss_newton._value_and_grad._cache_size(),
        "curvature": gauss_newton._curvature._cache_size(),
        "note": "jit cache entries after everything: one per model/layout/norm, "
        "none added by the sweeps' dampings",
    }

    comparison = summary["comparison"]
    _print_table(
        "USN / BSN / WSN vs the truth at the epoch",
        comparison["models"],
        [
            "rho",
            "chi2_per_datum",
            "data_rms_nT",
            "kinetic_energy",
            "toroidal_fraction",
            "geostrophic_fraction",
            "lambda_space",
            "lambda_time",
            "lambda_span",
            "n_fits",
            "sa_matched",
            "wall_time_s",
        ],
    )
    top = comparison["sv_correlation_degrees"][1]
    for model in ("USN", "BSN", "WSN"):
        entry = comparison["models"][model]
        print(
            f"{model}: min SV degree correlation (1..{top}) "
            f"{entry['sv_correlation_min_to_degree']:.4f}; SA spectrum / truth: "
            + " ".join(f"{v:.3g}" for v in entry["sa_ratio"])
        )
    print(f"degrees where the SA spectrum is closer than USN's: {comparison['sa_closer_than_usn']}")
    for parameter in study.PARAMETERS:
        sweep = summary[parameter]
        rows = {
            f"d={d:.2f}": {key: sweep[key][i] for key in sweep if isinstance(sweep[key], list)}
            for i, d in enumerate(sweep["paper_exponent"])
        }
        _print_table(
            f"{parameter} sweep (d = the paper's exponent; damping = ours)",
            rows,
            [
                "damping",
                "rms_speed",
                "toroidal_fraction",
                "geostrophic_fraction",
                "chi2_per_datum",
                "rho",
                "flow_norm",
                "sv_energy",
                "sa_energy",
                "n_iterations",
                "wall_time_s",
            ],
        )
    print(f"\ntimings (s): { {k: round(v, 1) for k, v in results['timings'].items()} }")
    print(f"jit cache entries: {summary['compilations']}")
    per_value = [
        t
        for parameter in study.PARAMETERS
        for t, n in zip(
            summary[parameter]["wall_time_s"], summary[parameter]["n_iterations"], strict=True
        )
    ]
    print(f"sweep MAP wall time per value: median {np.median(per_value):.2f} s")

    if args.figures:
        from bayescore.atomic import save_figure

        os.makedirs(args.figures, exist_ok=True)
        for name, fig in study.section4_figures(results).items():
            save_figure(fig, os.path.join(args.figures, f"{name}.png"))
        print(f"figures written to {args.figures}")
    if args.json:
        from bayescore.atomic import write_json

        write_json(args.json, summary)
        print(f"numbers written to {args.json}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
