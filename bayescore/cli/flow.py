"""``bayescore flow``: frozen-flux core-flow inversion of a field model's SV.

The inversion is linear-Gaussian: :func:`bayescore.flow.inversion.invert_flow` gives the
posterior mean and exact covariance. ``--nuts`` also samples the same posterior with NUTS
(:func:`bayescore.models.flow_inversion.flow_inversion_model`, Laplace-whitened
:func:`bayescore.infer.run_nuts`), prints the ArviZ diagnostics and how far the draws are
from the exact posterior, and writes the InferenceData.
"""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np

from bayescore.cli.common import (
    add_common_options,
    add_model_option,
    add_sampling_options,
    default_epoch,
    format_sampling,
    load_model,
    outputs_written,
    sampling_summary,
    show_progress,
)

__all__ = ["add_parser", "run", "sample_flow_posterior", "DEFAULT_TARGET_RMS_KM_PER_YR"]

#: Rms speed (km/yr) the damping is tuned to when neither --damping nor --target-rms is
#: given: the middle of the 10-20 km/yr reported by core-flow studies of historical models.
DEFAULT_TARGET_RMS_KM_PER_YR = 13.0


def add_parser(sub) -> argparse.ArgumentParser:
    """Register the ``flow`` sub-command."""
    parser = sub.add_parser(
        "flow",
        help="frozen-flux core-flow inversion of a field model's secular variation",
        description="Invert the secular variation of a field model for the flow at the top "
        "of the core under the frozen-flux hypothesis (linear-Gaussian: posterior mean and "
        "exact covariance), at one or more epochs.",
    )
    add_model_option(parser)
    parser.add_argument(
        "--epochs",
        type=float,
        nargs="+",
        default=None,
        help="decimal years (default: 2020.0 for IGRF, 1980.0 for gufm1, else mid-span)",
    )
    parser.add_argument("--lmax-flow", type=int, default=14, help="flow degree L_F (14)")
    parser.add_argument(
        "--norm",
        choices=("strong", "weak", "energy"),
        default="strong",
        help="spatial norm of the flow prior (default: strong, Bloxham)",
    )
    parser.add_argument(
        "--sv-weights",
        choices=("lesur", "uniform", "cmb"),
        default="lesur",
        help="weights of the SV equations: Lesur et al.'s relative weights (default), "
        "uniform at the Earth's surface (the classical choice; better for models whose "
        "high-degree SV is a finite difference, such as IGRF), or uniform at the CMB",
    )
    choice = parser.add_mutually_exclusive_group()
    choice.add_argument("--damping", type=float, default=None, help="damping lambda")
    choice.add_argument(
        "--target-rms",
        type=float,
        default=None,
        help=f"tune the damping to this rms speed in km/yr "
        f"(default {DEFAULT_TARGET_RMS_KM_PER_YR:g} when --damping is not given)",
    )
    parser.add_argument(
        "--nuts",
        action="store_true",
        help="also sample the posterior with NUTS (Laplace-whitened) and compare it with "
        "the exact Gaussian posterior",
    )
    add_sampling_options(parser, chains=2, warmup=200, draws=300)
    add_common_options(parser, default_out="bayescore_output/flow")
    parser.set_defaults(run=run)
    return parser


def _epochs(args, model) -> list[float]:
    if args.epochs:
        return [float(e) for e in args.epochs]
    if args.model.lower().startswith("igrf"):
        return [2020.0]
    return [default_epoch(args.model, model)]


def _summary_row(result, epoch: float) -> dict:
    diag = result.diagnostics
    return {
        "epoch": epoch,
        "damping": float(result.damping),
        "rms_speed_km_per_yr": float(diag["rms_speed"]),
        "toroidal_fraction": float(diag["toroidal_fraction"]),
        "geostrophic_fraction": float(diag["geostrophic_fraction"]),
        "zonal_geostrophic_fraction": float(diag["zonal_geostrophic_fraction"]),
        "solid_body_drift_deg_per_yr": float(diag["solid_body_drift"]),
        "lod_change_ms": float(diag["lod_change"]),
        "sv_misfit": {
            k: float(v)
            for k, v in vars(result.misfit).items()
            if np.ndim(v) == 0 and isinstance(v, (int, float, np.floating))
        },
    }


def sample_flow_posterior(
    g,
    inversion,
    *,
    chains: int = 2,
    warmup: int = 200,
    draws: int = 300,
    seed: int = 0,
    progress_bar: bool = False,
):
    """NUTS draws of a single-epoch flow posterior and their agreement with the exact one.

    Parameters
    ----------
    g : array_like, shape (L_B(L_B+2),)
        Main field of the inversion (nT).
    inversion : bayescore.flow.inversion.FlowInversionResult
        The exact posterior (:func:`bayescore.flow.inversion.invert_flow`).
    chains, warmup, draws : int
        NUTS chains, warm-up and kept draws per chain.
    seed : int, default 0
    progress_bar : bool, default False

    Returns
    -------
    result : bayescore.infer.NUTSResult
        With labelled ``inference_data`` (``toroidal_coeff = t_1_0, ...``).
    summary : dict
        :func:`bayescore.cli.common.sampling_summary` of the draws plus
        :func:`bayescore.models.flow_inversion.posterior_agreement` with the exact
        posterior, the NUTS wall time (s, compilation included) and the chain method.
    """
    from bayescore.infer import laplace_approximation, run_nuts, sampling_diagnostics
    from bayescore.models.flow_inversion import (
        flow_inversion_model,
        flow_inversion_problem,
        posterior_agreement,
    )

    problem = flow_inversion_problem(g, inversion)
    # the posterior is Gaussian: the Laplace approximation at the exact mean is exact, and
    # NUTS runs on N(0, I) in its whitened coordinates
    laplace = laplace_approximation(
        flow_inversion_model,
        problem,
        map_values={"toroidal": inversion.t, "poloidal": inversion.s},
    )
    result = run_nuts(
        flow_inversion_model,
        problem,
        laplace=laplace,
        num_warmup=warmup,
        num_samples=draws,
        num_chains=chains,
        seed=seed,
        progress_bar=progress_bar,
        coords=problem.coords(),
        dims=problem.dims(),
    )
    summary = sampling_summary(sampling_diagnostics(result.inference_data))
    summary.update(
        posterior_agreement(
            result.samples["toroidal"],
            result.samples["poloidal"],
            inversion.vector,
            inversion.covariance,
        )
    )
    summary.update(
        {
            "chains": int(chains),
            "warmup": int(warmup),
            "draws": int(draws),
            "chain_method": result.chain_method,
            "wall_time_s": float(result.wall_time_s),
        }
    )
    return result, summary


def run(args: argparse.Namespace) -> int:
    """Execute ``bayescore flow``."""
    import matplotlib

    matplotlib.use("Agg", force=False)
    import matplotlib.pyplot as plt
    import xarray as xr

    from bayescore.atomic import atomic_path, save_figure, write_json
    from bayescore.flow.inversion import invert_flow
    from bayescore.flow.plotting import plot_flow_map, plot_ke_spectra
    from bayescore.infer import save_inference_data
    from bayescore.progress import progress

    if args.lmax_flow < 1:
        raise ValueError(f"--lmax-flow must be >= 1, got {args.lmax_flow}")
    model = load_model(args.model)
    epochs = _epochs(args, model)
    target = args.target_rms
    if args.damping is None and target is None:
        target = DEFAULT_TARGET_RMS_KM_PER_YR
    out = Path(args.out)
    results, rows, datasets = [], [], []
    for epoch in progress(epochs, desc="flow inversions", enabled=not args.quiet):
        g, gdot = model.coeffs(epoch), model.sv(epoch)
        result = invert_flow(
            g,
            gdot,
            args.lmax_flow,
            norm=args.norm,
            damping=args.damping,
            target_rms=target,
            sv_weights=args.sv_weights,
            epoch=epoch,
        )
        results.append(result)
        row = _summary_row(result, epoch)
        if args.nuts:
            nuts, row["nuts"] = sample_flow_posterior(
                g,
                result,
                chains=args.chains,
                warmup=args.warmup,
                draws=args.draws,
                seed=args.seed,
                progress_bar=show_progress(args),
            )
            nuts.inference_data.posterior.attrs.update(
                model=model.name, epoch=epoch, norm=args.norm, damping=float(result.damping)
            )
            save_inference_data(nuts.inference_data, out / f"flow_posterior_{epoch:.2f}.nc")
        rows.append(row)
        datasets.append(result.to_xarray().expand_dims(epoch=[epoch]))
        fig, ax = plt.subplots(figsize=(10, 5.2), constrained_layout=True)
        plot_flow_map(result.flow, g=g, epoch=epoch, ax=ax)
        save_figure(fig, out / f"flow_map_{epoch:.2f}.png")
        plt.close(fig)
    combined = xr.concat(datasets, dim="epoch")
    combined.attrs.update(
        model=model.name,
        norm=args.norm,
        sv_weights=args.sv_weights,
        lmax_flow=args.lmax_flow,
        units_note="t, s in km/yr; SV in nT/yr at a = 6371.2 km",
    )
    with atomic_path(out / "flow.nc") as tmp:
        combined.to_netcdf(tmp)
    fig, ax = plt.subplots(figsize=(6.5, 4.5), constrained_layout=True)
    plot_ke_spectra(results, ax=ax)
    save_figure(fig, out / "ke_spectra.png")
    plt.close(fig)
    summary = {
        "model": model.name,
        "norm": args.norm,
        "sv_weights": args.sv_weights,
        "lmax_flow": args.lmax_flow,
        "target_rms_km_per_yr": target,
        "epochs": rows,
        "outputs": {
            "summary": str(out / "summary.json"),
            "data": str(out / "flow.nc"),
            "posterior": outputs_written(out, "flow_posterior_*.nc"),
            "figures": outputs_written(out, "*.png"),
        },
    }
    write_json(out / "summary.json", summary)
    print(f"{model.name}: frozen-flux flow, {args.norm} norm, L_F = {args.lmax_flow}")
    for row in rows:
        print(
            f"  {row['epoch']:.2f}: rms speed {row['rms_speed_km_per_yr']:.2f} km/yr, "
            f"toroidal fraction {row['toroidal_fraction']:.3f}, "
            f"westward drift {-row['solid_body_drift_deg_per_yr']:.3f} deg/yr "
            f"(damping {row['damping']:.3g})"
        )
        if "nuts" in row:
            nuts = row["nuts"]
            print(
                f"    NUTS {nuts['chains']} x {nuts['draws']} draws ({nuts['warmup']} warm-up) "
                f"in {nuts['wall_time_s']:.1f} s: {format_sampling(nuts)}"
            )
            print(
                f"    vs the exact posterior: max |mean difference| "
                f"{nuts['max_abs_mean_difference_sd']:.3f} sd, sd ratio "
                f"{nuts['sd_ratio_min']:.3f}-{nuts['sd_ratio_max']:.3f}"
            )
    print(f"  figures and data in {out}/")
    return 0
