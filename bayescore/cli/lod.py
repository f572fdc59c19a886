"""``bayescore lod``: the length of day predicted from core flows against the observed one.

Flows are inverted from a field model's secular variation at every epoch (default the
COV-OBS-type model, 1962-2020 every 0.5 yr, degree 14, strong norm, the damping tuned to a
target rms speed), their zonal toroidal part gives the change in the length of day (LOD)
carried by the core's angular momentum with its posterior band, and both that and the
observed IERS C04 LOD are reduced to decadal series (calendar-year means, a Gaussian
low-pass with a 6-yr cut-off, the secular trend removed) and compared: correlation,
regression slope and rms difference (:func:`bayescore.studies.lod.run_lod_study`).

Outputs in ``--out``: ``lod.nc`` (predicted and observed decadal LOD, bands, scores),
``lod.png`` (observed against predicted with the posterior band) and ``summary.json``
(configuration, scores, the files written), written last. Needs the COV-OBS model and the
C04 LOD series (``BAYESCORE_DATA``; the data page of the documentation says where to get
them).
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

from bayescore.cli.common import add_common_options, outputs_written, positive_float, positive_int

__all__ = ["add_parser", "run"]

#: SV weight schemes of :func:`bayescore.flow.invert_flow_series`.
_SV_WEIGHTS = ("lesur", "uniform", "cmb")


def add_parser(sub) -> argparse.ArgumentParser:
    """Register the ``lod`` sub-command."""
    parser = sub.add_parser(
        "lod",
        help="length of day from core flows (COV-OBS) against the observed LOD (IERS C04)",
        description="Invert a field model's secular variation for core flows at many epochs, "
        "predict the decadal change in the length of day from their zonal toroidal part "
        "(with its posterior band) and score it against the observed LOD after the same "
        "low-pass and trend removal. Needs the COV-OBS model and the C04 LOD series "
        "(BAYESCORE_DATA).",
    )
    parser.add_argument(
        "--start", type=float, default=1962.0, help="first epoch, decimal year (default 1962)"
    )
    parser.add_argument(
        "--end", type=float, default=2020.0, help="last epoch, decimal year (default 2020)"
    )
    parser.add_argument(
        "--step", type=positive_float, default=0.5, help="epoch spacing, years (default 0.5)"
    )
    parser.add_argument(
        "--lmax-flow", type=positive_int, default=14, help="flow degree L_F (default 14)"
    )
    parser.add_argument(
        "--sv-weights",
        choices=_SV_WEIGHTS,
        default="lesur",
        help="SV weights of the inversion (default lesur: the best-correlated variant of the "
        "study page)",
    )
    parser.add_argument(
        "--target-rms",
        type=positive_float,
        default=13.0,
        help="rms flow speed over the CMB and the epochs that the damping is tuned to, "
        "km/yr (default 13)",
    )
    parser.add_argument(
        "--temporal-timescale",
        type=positive_float,
        default=None,
        help="also damp the flow's time variation, with the damping for this time scale in "
        "years (default: epochs independent)",
    )
    parser.add_argument(
        "--cutoff",
        type=positive_float,
        default=6.0,
        help="cut-off period of the Gaussian low-pass, years (default 6)",
    )
    parser.add_argument(
        "--trend",
        choices=("fit", "secular"),
        default="fit",
        help="secular trend removal: a line fitted to each series (default), or the means "
        "and the secular +1.78 ms/cy of tidal braking and GIA from the observations",
    )
    add_common_options(parser, default_out="bayescore_output/lod")
    parser.set_defaults(run=run)
    return parser


def run(args: argparse.Namespace) -> int:
    """Execute ``bayescore lod``; return 0 on success."""
    import matplotlib

    matplotlib.use("Agg", force=False)
    import matplotlib.pyplot as plt

    from bayescore.atomic import save_figure, write_json
    from bayescore.errors import InvalidSettingError
    from bayescore.fields import load_covobs
    from bayescore.lod import load_lod_c04
    from bayescore.studies.lod import LODVariant, plot_lod_comparison, run_lod_study
    from bayescore.studies.outputs import write_netcdf

    if not args.end > args.start:
        raise InvalidSettingError(f"--end ({args.end}) must be later than --start ({args.start})")
    out = Path(args.out)
    begin = time.perf_counter()
    # both inputs first: a missing file is reported before any inversion
    model = load_covobs()
    lod = load_lod_c04()
    name = f"{args.sv_weights}, {args.target_rms:g} km/yr"
    if args.temporal_timescale is not None:
        name += f", temporal {args.temporal_timescale:g} yr"
    variant = LODVariant(
        name, args.sv_weights, args.target_rms, temporal_timescale_yr=args.temporal_timescale
    )
    if not args.quiet:
        n_epochs = int((args.end - args.start) / args.step + 1e-9) + 1
        print(
            f"inverting {model.name} for flows at {n_epochs} epochs {args.start:g}-{args.end:g} "
            f"(L_F = {args.lmax_flow}, {name}) ...",
            flush=True,
        )
    result = run_lod_study(
        model,
        lod,
        start=args.start,
        end=args.end,
        step=args.step,
        lmax_flow=args.lmax_flow,
        variants=(variant,),
        cutoff_period_yr=args.cutoff,
        trend=args.trend,
    )
    write_netcdf(out / "lod.nc", result.to_xarray())
    fig = plot_lod_comparison(result)
    save_figure(fig, out / "lod.png")
    plt.close(fig)
    summary = result.to_dict()
    summary["command"] = "lod"
    summary["wall_time_s"] = time.perf_counter() - begin
    written = [path for path in outputs_written(out) if Path(path).name != "summary.json"]
    summary["outputs"] = {"summary": str(out / "summary.json"), "files": written}
    write_json(out / "summary.json", summary)
    print(result.table())
    print(f"total {summary['wall_time_s']:.1f} s; figures and data in {out}/")
    return 0
