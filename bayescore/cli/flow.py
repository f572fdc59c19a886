"""``bayescore flow``: frozen-flux core-flow inversion of a field model's SV."""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np

from bayescore.cli.common import add_common_options, add_model_option, default_epoch, load_model

__all__ = ["add_parser", "run", "DEFAULT_TARGET_RMS_KM_PER_YR"]

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
    choice = parser.add_mutually_exclusive_group()
    choice.add_argument("--damping", type=float, default=None, help="damping lambda")
    choice.add_argument(
        "--target-rms",
        type=float,
        default=None,
        help=f"tune the damping to this rms speed in km/yr "
        f"(default {DEFAULT_TARGET_RMS_KM_PER_YR:g} when --damping is not given)",
    )
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


def run(args: argparse.Namespace) -> int:
    """Execute ``bayescore flow``."""
    import matplotlib

    matplotlib.use("Agg", force=False)
    import matplotlib.pyplot as plt
    import xarray as xr

    from bayescore.atomic import atomic_path, save_figure, write_json
    from bayescore.flow.inversion import invert_flow
    from bayescore.flow.plotting import plot_flow_map, plot_ke_spectra
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
            epoch=epoch,
        )
        results.append(result)
        rows.append(_summary_row(result, epoch))
        datasets.append(result.to_xarray().expand_dims(epoch=[epoch]))
        fig, ax = plt.subplots(figsize=(10, 5.2), constrained_layout=True)
        plot_flow_map(result.flow, g=g, epoch=epoch, ax=ax)
        save_figure(fig, out / f"flow_map_{epoch:.2f}.png")
        plt.close(fig)
    combined = xr.concat(datasets, dim="epoch")
    combined.attrs.update(
        model=model.name,
        norm=args.norm,
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
        "lmax_flow": args.lmax_flow,
        "target_rms_km_per_yr": target,
        "epochs": rows,
        "outputs": {
            "summary": str(out / "summary.json"),
            "data": str(out / "flow.nc"),
            "figures": sorted(str(p) for p in out.glob("*.png")),
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
    print(f"  figures and data in {out}/")
    return 0
