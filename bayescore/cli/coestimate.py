"""``bayescore coestimate``: co-estimation of the core field and flow (Lesur et al. 2010).

Runs the NumPyro co-estimation (:func:`bayescore.models.coestimation_model`) on CHAMP-like
synthetic data simulated from a frozen-flux truth (the default; sizes are options) or on
a user file of vector data (``--data``, CSV or netCDF in the long format of
:mod:`bayescore.observations`), and infers

* ``--map`` (default): the MAP by Gauss-Newton iterations from the paper's starting model
  (:func:`bayescore.models.starting_model`, :func:`bayescore.infer.gauss_newton_map`);
* ``--laplace``: plus the Laplace approximation at the MAP (posterior standard deviations,
  a 90 % band on the spectra);
* ``--nuts``: plus NUTS whitened by the Laplace approximation, with ArviZ diagnostics.

Outputs in ``--out``: ``summary.json``, ``coestimation.nc`` (labelled MAP, Laplace
standard deviations, SV/SA spectra, misfit table, Gauss-Newton history),
``posterior.nc`` (ArviZ InferenceData, ``--nuts``), ``spectra_cmb.png`` (SV and SA
Lowes spectra at the CMB of the estimate, the truth for synthetic data and the USN
baseline with ``--usn``) and ``nuts_trace.png`` (``--nuts``).

The workflow is :func:`bayescore.studies.coestimation.run_coestimation_study`; this module
parses and checks the options (the parser imports no JAX), calls it, saves its result and
prints a summary.
"""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np

from bayescore.cli.common import (
    add_common_options,
    add_sampling_options,
    format_sampling,
    input_file,
    non_negative_int,
    positive_float,
    positive_int,
    show_progress,
)
from bayescore.coestimation_settings import DEFAULT_DAMPINGS, DEFAULT_SPAN, LIKELIHOODS

__all__ = ["DEFAULT_SPAN", "add_parser", "run"]


def add_parser(sub) -> argparse.ArgumentParser:
    """Register the ``coestimate`` sub-command."""
    parser = sub.add_parser(
        "coestimate",
        help="co-estimate core field and flow (NumPyro) on synthetic or your vector data",
        description="Co-estimate the core field and the core flow from vector magnetic data, "
        "the flow entering as a weak frozen-flux constraint on the secular variation "
        "(Lesur et al. 2010): MAP by Gauss-Newton, Laplace approximation or NUTS. Without "
        "--data, CHAMP-like satellite and observatory data are simulated from a "
        "frozen-flux truth.",
    )
    data = parser.add_argument_group("data")
    data.add_argument(
        "--data",
        type=input_file("--data"),
        default=None,
        help="CSV or netCDF file of vector data in the long format (columns t, r, theta, "
        "phi, component, value, sigma; optional source, site_index); default: synthetic",
    )
    data.add_argument(
        "--span",
        type=float,
        nargs=2,
        metavar=("START", "END"),
        default=None,
        help=f"model span in decimal years (default {DEFAULT_SPAN[0]:g} {DEFAULT_SPAN[1]:g} "
        "for synthetic data, the data's time range for a file; data outside it are an error)",
    )
    data.add_argument(
        "--epoch",
        type=float,
        default=None,
        help="epoch of the reported SV and SA (default: the middle of the span)",
    )
    synthetic = parser.add_argument_group("synthetic data (without --data)")
    synthetic.add_argument(
        "--n-satellite",
        type=non_negative_int,
        default=1500,
        help="satellite vector measurements (1500)",
    )
    synthetic.add_argument(
        "--n-sites", type=non_negative_int, default=20, help="observatories (20)"
    )
    synthetic.add_argument(
        "--sigma", type=positive_float, default=2.0, help="noise scale in nT (2.0)"
    )
    model = parser.add_argument_group("model")
    model.add_argument(
        "--lmax-field", type=positive_int, default=6, help="degree L_B of the core field (6)"
    )
    model.add_argument(
        "--lmax-flow", type=positive_int, default=6, help="degree L_F of the flow (6)"
    )
    model.add_argument(
        "--lmax-sv",
        type=positive_int,
        default=None,
        help="degree L_SV of the frozen-flux equations (default: L_B for synthetic data, "
        "whose truth drops the SV above L_B; L_B + L_F for a data file, the paper's choice)",
    )
    model.add_argument(
        "--n-time",
        type=positive_int,
        default=3,
        help="Legendre polynomials in time over the span (3; the paper: 5)",
    )
    model.add_argument(
        "--norm",
        choices=("strong", "weak", "energy"),
        default="strong",
        help="spatial flow norm: strong (BSN, default), weak (WSN) or energy",
    )
    model.add_argument(
        "--likelihood",
        choices=LIKELIHOODS,
        default="gaussian",
        help="data noise model (synthetic data are simulated with the same noise)",
    )
    model.add_argument(
        "--observatory-biases",
        action="store_true",
        help="co-estimate a static offset per observatory and component",
    )
    model.add_argument(
        "--external", action="store_true", help="co-estimate a static external degree-1 field"
    )
    model.add_argument(
        "--usn",
        action="store_true",
        help="also report the field-only USN baseline (the starting model)",
    )
    damping = parser.add_argument_group("dampings")
    damping.add_argument(
        "--lambda-ff",
        type=positive_float,
        default=DEFAULT_DAMPINGS["lambda_frozen_flux"],
        help="frozen-flux damping lambda_1, 1/yr (%(default)g)",
    )
    damping.add_argument(
        "--lambda-space",
        type=positive_float,
        default=None,
        help="spatial flow-norm damping lambda_2 (default per norm: "
        + ", ".join(f"{k} {v:g}" for k, v in DEFAULT_DAMPINGS["lambda_space"].items())
        + ")",
    )
    damping.add_argument(
        "--lambda-time",
        type=positive_float,
        default=DEFAULT_DAMPINGS["lambda_time"],
        help="temporal flow-norm damping lambda_3, yr^3/km^4 (%(default)g)",
    )
    inference = parser.add_argument_group("inference")
    method = inference.add_mutually_exclusive_group()
    method.add_argument(
        "--map",
        dest="method",
        action="store_const",
        const="map",
        help="MAP by Gauss-Newton (default)",
    )
    method.add_argument(
        "--laplace",
        dest="method",
        action="store_const",
        const="laplace",
        help="MAP and the Laplace approximation of the posterior",
    )
    method.add_argument(
        "--nuts",
        dest="method",
        action="store_const",
        const="nuts",
        help="MAP, Laplace and NUTS posterior sampling (Laplace-whitened)",
    )
    parser.set_defaults(method="map")
    add_sampling_options(parser, chains=2, warmup=200, draws=200)
    add_common_options(parser, default_out="bayescore_output/coestimate")
    parser.set_defaults(run=run)
    return parser


# --------------------------------------------------------------------------------------
# the command
# --------------------------------------------------------------------------------------


def run(args: argparse.Namespace) -> int:
    """Execute ``bayescore coestimate``: checks, :func:`~bayescore.studies.coestimation.
    run_coestimation_study`, its outputs in ``--out`` and a printed summary."""
    from bayescore.studies.coestimation import resolve_span_and_epoch, run_coestimation_study

    if args.data is None or args.span is not None:
        # named by their options, and reported before a file is read
        resolve_span_and_epoch(args.span, args.epoch, span_name="--span", epoch_name="--epoch")
    dampings = {"lambda_frozen_flux": args.lambda_ff, "lambda_time": args.lambda_time}
    if args.lambda_space is not None:
        dampings["lambda_space"] = args.lambda_space
    result = run_coestimation_study(
        args.data,
        span=args.span,
        epoch=args.epoch,
        n_satellite=args.n_satellite,
        n_sites=args.n_sites,
        sigma_nT=args.sigma,
        lmax_field=args.lmax_field,
        lmax_flow=args.lmax_flow,
        lmax_sv=args.lmax_sv,
        n_time=args.n_time,
        norm=args.norm,
        likelihood=args.likelihood,
        observatory_biases=args.observatory_biases,
        external=args.external,
        usn=args.usn,
        dampings=dampings,
        method=args.method,
        chains=args.chains,
        warmup=args.warmup,
        draws=args.draws,
        seed=args.seed,
        progress=not args.quiet,
        nuts_progress=show_progress(args),
    )
    outputs = result.save(Path(args.out))
    # the numbers as computed (NaN prints as nan; to_dict() makes it null for JSON)
    _print_summary({**result.summary, "wall_time_s": result.wall_time_s, "outputs": outputs})
    return 0


def _print_summary(summary: dict) -> None:
    from bayescore.studies.coestimation import NORM_NAMES

    model, data, fit, wall = (
        summary["model"],
        summary["data"],
        summary["map"],
        summary["wall_time_s"],
    )
    print(
        f"co-estimation ({NORM_NAMES[model['norm']]}, {model['likelihood']} likelihood) on "
        f"{data['source']} data: {data['n_data']} data, L_B = {model['lmax_field']}, "
        f"L_F = {model['lmax_flow']}, L_SV = {model['lmax_sv']}, N_t = {model['n_time']}, "
        f"span {data['span'][0]:.2f}-{data['span'][1]:.2f}, {model['n_parameters']} parameters"
    )
    status = "converged" if fit["converged"] else "NOT converged"
    print(
        f"  MAP (Gauss-Newton): {fit['n_iterations']} iterations, {status}, "
        f"rho = {fit['rho']:.2e} ({wall['starting_model_s'] + wall['gauss_newton_s']:.1f} s)"
    )
    for label, key in (("co-estimation", "map"), ("USN", "usn")):
        if key not in summary:
            continue
        misfit = summary[key]["misfit"]
        parts = [
            f"{source} {misfit[source]['rms_nT']:.2f} nT"
            for source in ("satellite", "observatory")
            if source in misfit
        ]
        print(
            f"  {label} misfit rms: {', '.join(parts)} "
            f"(chi2 per datum {misfit['all']['chi2_per_datum']:.3f})"
        )
        if "sv_degree_correlation" in summary[key]:
            corr = summary[key]["sv_degree_correlation"]
            print(
                f"  {label} SV degree correlation with the truth at {data['epoch']:.2f}: "
                f"min {min(corr):.3f} (degree {int(np.argmin(corr)) + 1}), "
                f"degree 1 {corr[0]:.4f}"
            )
    if "laplace" in summary:
        print(
            f"  Laplace: median flow sd {summary['laplace']['flow_sd_median_km_per_yr']:.3g} km/yr"
        )
    if "nuts" in summary:
        nuts = summary["nuts"]
        print(
            f"  NUTS {nuts['chains']} x {nuts['draws']} draws ({nuts['warmup']} warm-up, "
            f"{nuts['chain_method']}) in {wall['nuts_s']:.1f} s: {format_sampling(nuts)}"
        )
        if nuts.get("rho_median") is not None:
            print(f"  posterior median rho = {nuts['rho_median']:.2e}")
    folder = Path(summary["outputs"]["summary"]).parent
    print(f"  total {wall['total_s']:.1f} s; figures and data in {folder}/")
