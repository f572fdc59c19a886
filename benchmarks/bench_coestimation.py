"""Benchmark of the frozen-flux co-estimation: MAP (Gauss-Newton) and NUTS wall times.

Paper-size experiment (Lesur et al. 2010): L_B = L_F = 14, N_t = 5 (Legendre polynomials
of degree 4 over the span), the strong flow norm, about 100,000 vector data (satellite +
observatory) simulated from a frozen-flux truth (:mod:`bayescore.synthetic`). Reports the
wall time of each stage (compilation included, measured separately where possible), the
MAP's frozen-flux ratio rho and SV degree correlation with the truth, and for NUTS
(Laplace-whitened, 4 chains x 1000 draws after 500 warm-up by default) r_hat, the minimum
bulk and tail ESS and the bulk ESS per second, both for the first 500 draws of each chain
and for all of them.

Targets (2 CPU cores): MAP < 1 min; NUTS < 30 min for 4 x 500 draws with r_hat < 1.01.

Why 1000 draws: on the near-Gaussian whitened posterior NUTS gives a bulk ESS above the
number of draws (its draws are anti-correlated) but an ESS of the squared coefficients of
only about 0.4 of it, so the folded split-R-hat, maximised over ~3400 parameters, sits at
about 1.014 with 4 x 500 draws whatever the sampler's settings (step-size jitter did not
change it). It falls below 1.01 with 4 x 1000 draws; both are printed.

Usage::

    python benchmarks/bench_coestimation.py            # paper size
    python benchmarks/bench_coestimation.py --small    # quick check (L = 6, ~5k data)
    python benchmarks/bench_coestimation.py --lmax 10 --n-satellite 10000 --no-nuts

Chains run in parallel when there are enough JAX devices; on CPU pass ``--cpu-devices N``
(sets ``XLA_FLAGS=--xla_force_host_platform_device_count=N`` before JAX is imported).
"""

from __future__ import annotations

import argparse
import os
import sys
import time


def _parse():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--small", action="store_true", help="quick check: L=6, N_t=3, ~5k data")
    parser.add_argument("--lmax", type=int, default=14, help="L_B = L_F (default 14)")
    parser.add_argument("--n-time", type=int, default=5, help="N_t (default 5)")
    parser.add_argument("--n-satellite", type=int, default=25_000, help="satellite vectors")
    parser.add_argument("--n-sites", type=int, default=137, help="observatories")
    parser.add_argument("--obs-interval-days", type=float, default=5.0)
    parser.add_argument("--lmax-sv", type=int, default=None, help="L_SV (default L_B + L_F)")
    parser.add_argument("--lambda-ff", type=float, default=1.0e4)
    parser.add_argument("--lambda-space", type=float, default=1.0e3)
    parser.add_argument("--lambda-time", type=float, default=1.0e-8)
    parser.add_argument("--chains", type=int, default=4)
    parser.add_argument("--warmup", type=int, default=500)
    parser.add_argument("--draws", type=int, default=1000)
    parser.add_argument(
        "--report-draws", type=int, default=500, help="also report diagnostics of the first N"
    )
    parser.add_argument("--no-nuts", action="store_true", help="MAP and Laplace only")
    parser.add_argument("--cpu-devices", type=int, default=None, help="host devices for chains")
    parser.add_argument("--progress", action="store_true", help="NUTS progress bar")
    parser.add_argument("--json", type=str, default=None, help="write the figures here")
    return parser.parse_args()


class _Figures(dict):
    """A dict that prints every figure as soon as it is measured."""

    def __setitem__(self, key, value):
        super().__setitem__(key, value)
        if isinstance(value, float):
            text = f"{value:.4g}"
        elif isinstance(value, list):
            text = " ".join(f"{v:.3f}" for v in value)
        else:
            text = str(value)
        print(f"{key:28s} {text}", flush=True)

    def update(self, other):
        for key, value in other.items():
            self[key] = value


def main() -> int:
    args = _parse()
    if args.cpu_devices:
        os.environ["XLA_FLAGS"] = (
            os.environ.get("XLA_FLAGS", "")
            + f" --xla_force_host_platform_device_count={args.cpu_devices}"
        )
    if args.small:
        args.lmax, args.n_time, args.n_satellite, args.n_sites = 6, 3, 1500, 20
        args.obs_interval_days = 30.0
        args.warmup, args.draws, args.chains = 200, 200, 2
        args.lmax_sv = args.lmax if args.lmax_sv is None else args.lmax_sv

    import jax
    import numpy as np

    import bayescore  # noqa: F401  (float64)
    from bayescore.fields import degree_correlation
    from bayescore.infer import (
        gauss_newton_map,
        laplace_from_gauss_newton,
        run_nuts,
        sampling_diagnostics,
    )
    from bayescore.models import (
        build_problem,
        coestimation_diagnostics,
        coestimation_model,
        frozen_flux_ratio,
        starting_model,
    )
    from bayescore.synthetic.dataset import make_dataset
    from bayescore.synthetic.truth import frozen_flux_truth

    figures = _Figures()
    figures["device"] = str(jax.devices()[0])
    figures["n_devices"] = jax.local_device_count()
    span = (2004.5, 2005.5)
    epoch = 2005.0
    lmax = args.lmax

    clock = time.perf_counter()
    truth = frozen_flux_truth(
        None, epoch, span, lmax, lmax, target_rms_km_yr=13.0 if lmax >= 10 else 8.0
    )
    data = make_dataset(
        truth,
        n_satellite=args.n_satellite,
        n_observatory_sites=args.n_sites,
        observatory_interval_days=args.obs_interval_days,
        sigma_nT={"satellite": 2.0, "observatory": 3.0},
        seed=1,
    )
    figures["n_data"] = int(data.sizes["datum"])
    figures["truth_and_data_s"] = time.perf_counter() - clock

    clock = time.perf_counter()
    problem = build_problem(
        data, lmax, None, lmax, n_time=args.n_time, span=span, lmax_sv=args.lmax_sv
    )
    figures["normal_equations_s"] = time.perf_counter() - clock
    dampings = {
        "lambda_frozen_flux": args.lambda_ff,
        "lambda_space": args.lambda_space,
        "lambda_time": args.lambda_time,
    }

    clock = time.perf_counter()
    problem, init, usn = starting_model(problem, dampings)
    figures["start_s"] = time.perf_counter() - clock
    clock = time.perf_counter()
    gn = gauss_newton_map(coestimation_model, problem, model_kwargs=dampings, init_values=init)
    figures["gauss_newton_s"] = time.perf_counter() - clock
    figures["gauss_newton_iterations"] = gn.n_iterations
    figures["map_total_s"] = (
        figures["normal_equations_s"] + figures["start_s"] + figures["gauss_newton_s"]
    )
    # second run: the same solve with everything compiled
    clock = time.perf_counter()
    gauss_newton_map(coestimation_model, problem, model_kwargs=dampings, init_values=init)
    figures["gauss_newton_compiled_s"] = time.perf_counter() - clock
    figures["rho"] = float(
        frozen_flux_ratio(problem, gn.values["core"], gn.values["toroidal"], gn.values["poloidal"])
    )
    sv_model = np.asarray(problem.field_at(gn.values["core"], epoch, 1))
    figures["sv_degree_correlation"] = degree_correlation(sv_model, truth.sv(epoch)).tolist()
    figures["n_parameters"] = int(gn.theta.size)

    clock = time.perf_counter()
    laplace = laplace_from_gauss_newton(gn)
    figures["laplace_s"] = time.perf_counter() - clock

    if not args.no_nuts:
        result = run_nuts(
            coestimation_model,
            problem,
            model_kwargs=dampings,
            laplace=laplace,
            num_warmup=args.warmup,
            num_samples=args.draws,
            num_chains=args.chains,
            progress_bar=args.progress,
            **problem.site_labels(),
        )
        diag = sampling_diagnostics(result.inference_data)
        if args.report_draws and args.report_draws < args.draws:
            first = result.inference_data.isel(draw=slice(0, args.report_draws))
            head = sampling_diagnostics(first, wall_time_s=result.wall_time_s)
            figures.update(
                {
                    f"r_hat_max_first_{args.report_draws}": head["r_hat_max"],
                    f"ess_bulk_min_first_{args.report_draws}": head["ess_bulk_min"],
                    f"ess_tail_min_first_{args.report_draws}": head["ess_tail_min"],
                }
            )
        figures.update(
            {
                "nuts_s": result.wall_time_s,
                "nuts_chain_method": result.chain_method,
                "nuts_chains_x_draws": f"{args.chains} x {args.draws} (+{args.warmup} warm-up)",
                "r_hat_max": diag["r_hat_max"],
                "ess_bulk_min": diag["ess_bulk_min"],
                "ess_tail_min": diag["ess_tail_min"],
                "ess_bulk_min_per_s": diag["ess_bulk_per_s"],
                "divergences": diag["divergences"],
                "bfmi_min": float(np.min(diag["bfmi"])),
                "mean_leapfrog_steps": float(np.mean(result.sample_stats["n_steps"])),
            }
        )
        extra = coestimation_diagnostics(result.inference_data, problem, max_draws=200)
        figures["rho_posterior_median"] = extra["rho_median"]

    if args.json:
        from bayescore.atomic import write_json

        write_json(args.json, dict(figures))
    return 0


if __name__ == "__main__":
    sys.exit(main())
