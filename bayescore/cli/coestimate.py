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
"""

from __future__ import annotations

import argparse
import time
import warnings
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
    sampling_summary,
    show_progress,
)

__all__ = ["DEFAULT_SPAN", "add_parser", "run"]

#: Model span (decimal years) of the synthetic data when ``--span`` is not given.
DEFAULT_SPAN = (2004.5, 2005.5)
#: Number of Laplace draws used for the posterior band of the spectra.
_LAPLACE_DRAWS = 400
#: Coefficients shown in the NUTS trace plot.
_TRACE_COORDS = {
    "time_basis": [0],
    "flow_time_basis": [0],
    "core_coeff": ["g_1_0", "g_2_0"],
    "toroidal_coeff": ["t_1_0"],
    "poloidal_coeff": ["s_1_0"],
}
_NORM_NAMES = {"strong": "BSN", "weak": "WSN", "energy": "kinetic-energy norm"}


def add_parser(sub) -> argparse.ArgumentParser:
    """Register the ``coestimate`` sub-command."""
    from bayescore.models import DEFAULT_DAMPINGS, LIKELIHOODS

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
# pieces
# --------------------------------------------------------------------------------------


def _span_and_epoch(args, data=None) -> tuple[tuple[float, float], float]:
    from bayescore.errors import EpochOutOfRangeError

    if args.span is not None:
        span = (float(args.span[0]), float(args.span[1]))
    elif data is not None:
        times = np.asarray(data["t"].values)
        span = (float(times.min()), float(times.max()))
    else:
        span = DEFAULT_SPAN
    if not (np.all(np.isfinite(span)) and span[1] > span[0]):
        raise EpochOutOfRangeError(
            f"--span must be two decimal years with END > START, got {span[0]} {span[1]}"
        )
    epoch = 0.5 * (span[0] + span[1]) if args.epoch is None else float(args.epoch)
    if not span[0] <= epoch <= span[1]:
        raise EpochOutOfRangeError(
            f"--epoch {epoch} lies outside the model span [{span[0]}, {span[1]}]"
        )
    return span, epoch


def _synthetic(args, span, epoch):
    from bayescore.synthetic import frozen_flux_truth, make_dataset

    if args.n_satellite + args.n_sites == 0:
        raise ValueError("--n-satellite and --n-sites are both 0: no data to simulate")
    # the truth's flow is inverted from IGRF's SV: a 13 km/yr flow needs the small scales
    # of L_F >= 10; lower degrees cannot reach it (L_F = 3: at most 6.7 km/yr, L_F = 1:
    # 2.7 km/yr), so the truth is slower there
    target = _truth_rms_speed(args.lmax_flow)
    truth = frozen_flux_truth(
        None, epoch, span, args.lmax_field, args.lmax_flow, target_rms_km_yr=target
    )
    data = make_dataset(
        truth,
        n_satellite=args.n_satellite,
        n_observatory_sites=args.n_sites,
        noise=args.likelihood,
        sigma_nT=args.sigma,
        seed=args.seed,
    )
    return truth, data


def _truth_rms_speed(lmax_flow: int) -> float:
    """Rms speed (km/yr) of the synthetic truth's flow for a flow degree L_F."""
    if lmax_flow >= 10:
        return 13.0
    if lmax_flow >= 5:
        return 8.0
    return 4.0 if lmax_flow >= 2 else 2.0


def _truth_sv_sa(truth, epoch: float) -> tuple[np.ndarray, np.ndarray]:
    """SV and SA (nT/yr, nT/yr^2) of the frozen-flux truth at ``epoch``."""
    change = truth.secular_change(epoch)
    return change.sv, change.sa


def _misfit_by_source(table) -> dict:
    """Rms residual (nT) and chi2 per datum per source, from a misfit table."""
    groups = [str(g) for g in table["group"].values]
    n = table["n"].values.astype(float)
    rms = table["rms"].values
    chi2 = table["chi2_per_datum"].values
    out = {}
    for source in ("satellite", "observatory", "all"):
        rows = [i for i, g in enumerate(groups) if g.split()[0] == source]
        if rows:
            weight = n[rows] / n[rows].sum()
            out[source] = {
                "n": int(n[rows].sum()),
                "rms_nT": float(np.sqrt(np.sum(weight * rms[rows] ** 2))),
                "chi2_per_datum": float(np.sum(weight * chi2[rows])),
            }
    return out


def _spectra(problem, epoch, cores: dict, truth_sv_sa=None, draws=None):
    """SV and SA Lowes spectra at the CMB over ``degree`` (xarray.Dataset)."""
    import xarray as xr

    from bayescore.constants import CORE_RADIUS_KM
    from bayescore.fields import lowes_spectrum

    degrees = np.arange(1, problem.lmax_core + 1)
    units = {"sv": "(nT/yr)^2", "sa": "(nT/yr^2)^2"}
    data_vars = {}

    def add(kind, label, coeffs, what):
        data_vars[f"{kind}_cmb_{label}"] = (
            "degree",
            np.asarray(lowes_spectrum(coeffs, CORE_RADIUS_KM)),
            {
                "units": units[kind],
                "radius_km": CORE_RADIUS_KM,
                "long_name": f"Lowes {kind.upper()} spectrum at the CMB, {what}",
            },
        )

    for label, core in cores.items():
        for kind, derivative in (("sv", 1), ("sa", 2)):
            add(kind, label, np.asarray(problem.field_at(core, epoch, derivative)), label)
    if truth_sv_sa is not None:
        add("sv", "truth", truth_sv_sa[0], "truth")
        add("sa", "truth", truth_sv_sa[1], "truth")
    if draws is not None:
        for kind, derivative in (("sv", 1), ("sa", 2)):
            coeffs = np.asarray(problem.time_basis(epoch, derivative) @ draws)
            power = np.asarray(lowes_spectrum(coeffs, CORE_RADIUS_KM))
            low, high = np.percentile(power, [5.0, 95.0], axis=0)
            for name, values in (("p05", low), ("p95", high)):
                data_vars[f"{kind}_cmb_{name}"] = (
                    "degree",
                    values,
                    {
                        "units": units[kind],
                        "radius_km": CORE_RADIUS_KM,
                        "long_name": f"{name[1:]}th percentile of the posterior "
                        f"{kind.upper()} spectrum at the CMB",
                    },
                )
    return xr.Dataset(data_vars, coords={"degree": degrees}, attrs={"epoch": float(epoch)})


def _spectra_figure(spectra, title: str, band_label: str | None):
    import matplotlib

    matplotlib.use("Agg", force=False)
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(1, 2, figsize=(11, 4.2), constrained_layout=True)
    styles = {
        "estimate": ("o-", "C0", "co-estimation (MAP)"),
        "usn": ("s--", "C2", "USN (field only)"),
        "truth": (":", "k", "truth"),
    }
    degree = spectra["degree"].values
    for ax, kind, name in zip(
        axes, ("sv", "sa"), ("Secular variation", "Secular acceleration"), strict=True
    ):
        if f"{kind}_cmb_p05" in spectra and np.any(spectra[f"{kind}_cmb_p95"].values > 0):
            ax.fill_between(
                degree,
                spectra[f"{kind}_cmb_p05"].values,
                spectra[f"{kind}_cmb_p95"].values,
                color="C0",
                alpha=0.25,
                label=band_label,
            )
        ax.set_yscale("log")
        for label, (style, color, legend) in styles.items():
            var = f"{kind}_cmb_{label}"
            if var not in spectra:
                continue
            values = np.asarray(spectra[var].values, dtype=float)
            values = np.where(values > 0, values, np.nan)  # zero power cannot be drawn
            if np.all(np.isnan(values)):
                continue
            ax.plot(degree, values, style, color=color, ms=4, label=legend)
        if not ax.lines:
            ax.text(
                0.5,
                0.5,
                f"{name} is zero\n(time basis of degree < 2)",
                ha="center",
                va="center",
                transform=ax.transAxes,
            )
        ax.set_xlabel("spherical-harmonic degree l")
        ax.set_ylabel(f"R_l at the CMB [{spectra[f'{kind}_cmb_estimate'].attrs['units']}]")
        ax.set_title(f"{name} at r = 3485 km")
        ax.grid(True, which="both", alpha=0.3)
        if ax.lines or ax.collections:
            ax.legend(fontsize=8)
    fig.suptitle(title)
    return fig


def _trace_figure(idata, units: dict):
    import arviz as az
    import matplotlib

    matplotlib.use("Agg", force=False)
    posterior = idata.posterior
    coords = {
        dim: [v for v in values if v in posterior[dim].values]
        for dim, values in _TRACE_COORDS.items()
        if dim in posterior.dims
    }
    with warnings.catch_warnings():
        # arviz 0.23 uses a matplotlib helper deprecated in matplotlib 3.11
        warnings.simplefilter("ignore", matplotlib.MatplotlibDeprecationWarning)
        axes = az.plot_trace(
            idata,
            var_names=[v for v in ("core", "toroidal", "poloidal") if v in posterior],
            coords=coords,
            compact=False,
            figsize=(10, 7),
        )
    axes = np.atleast_2d(axes)
    for density, trace in axes:
        unit = units.get(density.get_title().split("\n")[0], "")
        density.set_xlabel(f"value [{unit}]")
        density.set_ylabel("density")
        trace.set_xlabel("draw")
        trace.set_ylabel(f"value [{unit}]")
    fig = axes[0, 0].figure
    fig.suptitle("NUTS draws of a few coefficients (one colour per chain)")
    fig.set_layout_engine("constrained")
    return fig


def _labelled_estimate(problem, gn, laplace, spectra, tables: dict, usn, attrs: dict):
    import xarray as xr

    labels = problem.site_labels()
    estimate = gn.to_xarray(**labels)
    for name in gn.values:
        estimate[name].attrs["long_name"] = f"MAP {name}"
    data_vars = {name: estimate[name] for name in gn.values}
    if laplace is not None:
        sd = laplace.to_xarray(**labels)
        for name in laplace.site_sd():
            data_vars[f"{name}_sd"] = sd[f"{name}_sd"]
            data_vars[f"{name}_sd"].attrs["long_name"] = f"Laplace posterior sd of {name}"
    if usn is not None:
        data_vars["usn_core"] = usn.to_xarray(**labels)["core"]
        data_vars["usn_core"].attrs["long_name"] = "core block of the USN (field-only) model"
    epoch = spectra.attrs["epoch"]
    for kind, derivative, unit in (("sv", 1, "nT/yr"), ("sa", 2, "nT/yr^2")):
        data_vars[f"{kind}_at_epoch"] = (
            "core_coeff",
            np.asarray(problem.field_at(gn.values["core"], epoch, derivative)),
            {"units": unit, "long_name": f"MAP {kind.upper()} at the epoch (r = a)"},
        )
    ds = xr.Dataset(data_vars, coords=dict(labels["coords"]))
    misfit = xr.concat(
        [table.expand_dims(model=[label]) for label, table in tables.items()], dim="model"
    )
    misfit = misfit.rename({name: f"misfit_{name}" for name in misfit.data_vars})
    history = gn.history.rename({name: f"gauss_newton_{name}" for name in gn.history.data_vars})
    ds = xr.merge([ds, spectra, misfit, history], combine_attrs="drop_conflicts")
    ds.attrs = attrs
    return ds


# --------------------------------------------------------------------------------------
# the command
# --------------------------------------------------------------------------------------


def run(args: argparse.Namespace) -> int:
    """Execute ``bayescore coestimate``."""
    import jax

    from bayescore.atomic import atomic_path, save_figure, write_json
    from bayescore.fields import degree_correlation
    from bayescore.infer import (
        gauss_newton_map,
        laplace_from_gauss_newton,
        run_nuts,
        sampling_diagnostics,
        save_inference_data,
    )
    from bayescore.models import (
        DEFAULT_DAMPINGS,
        build_problem,
        coestimation_diagnostics,
        coestimation_model,
        frozen_flux_ratio,
        misfit_table,
        starting_model,
    )
    from bayescore.observations import read_vector_data

    if args.n_time < 2:
        raise ValueError("--n-time must be >= 2 (the SV needs a time-dependent field), got 1")
    start_all = time.perf_counter()
    wall = {}
    out = Path(args.out)
    clock = time.perf_counter()
    truth = None
    if args.data is not None:
        if args.span is not None:
            _span_and_epoch(args)  # an invalid span is reported before reading the file
        data = read_vector_data(args.data, span=args.span)
        span, epoch = _span_and_epoch(args, data)
        source = str(args.data)
    else:
        span, epoch = _span_and_epoch(args)
        truth, data = _synthetic(args, span, epoch)
        source = "synthetic"
    wall["data_s"] = time.perf_counter() - clock

    if args.lmax_sv is not None:
        lmax_sv = args.lmax_sv
    elif truth is not None:
        lmax_sv = args.lmax_field
    else:
        lmax_sv = args.lmax_field + args.lmax_flow
    clock = time.perf_counter()
    problem = build_problem(
        data,
        args.lmax_field,
        None,
        args.lmax_flow,
        span=span,
        n_time=args.n_time,
        norm=args.norm,
        likelihood=args.likelihood,
        lmax_sv=lmax_sv,
        observatory_biases=args.observatory_biases,
        external=args.external,
    )
    wall["normal_equations_s"] = time.perf_counter() - clock
    dampings = {
        "lambda_frozen_flux": args.lambda_ff,
        "lambda_space": (
            DEFAULT_DAMPINGS["lambda_space"][args.norm]
            if args.lambda_space is None
            else args.lambda_space
        ),
        "lambda_time": args.lambda_time,
    }
    max_iterations = 50 if args.likelihood == "gaussian" else 100
    clock = time.perf_counter()
    problem, init, usn = starting_model(problem, dampings)
    wall["starting_model_s"] = time.perf_counter() - clock
    clock = time.perf_counter()
    gn = gauss_newton_map(
        coestimation_model,
        problem,
        model_kwargs=dampings,
        init_values=init,
        max_iterations=max_iterations,
        progress_bar=not args.quiet,
    )
    wall["gauss_newton_s"] = time.perf_counter() - clock

    laplace = nuts = None
    if args.method in ("laplace", "nuts"):
        clock = time.perf_counter()
        laplace = laplace_from_gauss_newton(gn)
        wall["laplace_s"] = time.perf_counter() - clock
    if args.method == "nuts":
        nuts = run_nuts(
            coestimation_model,
            problem,
            model_kwargs=dampings,
            laplace=laplace,
            num_warmup=args.warmup,
            num_samples=args.draws,
            num_chains=args.chains,
            seed=args.seed,
            progress_bar=show_progress(args),
            **problem.site_labels(),
        )
        wall["nuts_s"] = nuts.wall_time_s

    # ---- results
    values = gn.values
    rho = float(frozen_flux_ratio(problem, values["core"], values["toroidal"], values["poloidal"]))
    tables = {"coestimation": misfit_table(problem, values)}
    if args.usn:
        tables["usn"] = misfit_table(problem, usn.values)
    truth_sv_sa = _truth_sv_sa(truth, epoch) if truth is not None else None
    cores = {"estimate": values["core"]}
    if args.usn:
        cores["usn"] = usn.values["core"]
    draws, band_label = None, None
    if nuts is not None:
        draws = nuts.samples["core"].reshape((-1,) + nuts.samples["core"].shape[2:])
        band_label = "NUTS draws, 5-95 %"
    elif laplace is not None:
        draws = laplace.sample(_LAPLACE_DRAWS, seed=args.seed)["core"]
        band_label = "Laplace draws, 5-95 %"
    spectra = _spectra(problem, epoch, cores, truth_sv_sa, draws)

    settings = {
        "source": source,
        "method": args.method,
        "norm": args.norm,
        "likelihood": args.likelihood,
        "lmax_field": args.lmax_field,
        "lmax_flow": args.lmax_flow,
        "lmax_sv": int(problem.lmax_sv),
        "n_time": args.n_time,
        "span_start": span[0],
        "span_end": span[1],
        "epoch": epoch,
        "lambda_frozen_flux": dampings["lambda_frozen_flux"],
        "lambda_space": dampings["lambda_space"],
        "lambda_time": dampings["lambda_time"],
        "seed": args.seed,
    }
    summary = {
        "data": {
            "source": source,
            "n_data": int(data.sizes["datum"]),
            "span": list(span),
            "epoch": epoch,
        },
        "model": {
            "lmax_field": args.lmax_field,
            "lmax_flow": args.lmax_flow,
            "lmax_sv": int(problem.lmax_sv),
            "n_time": args.n_time,
            "norm": args.norm,
            "likelihood": args.likelihood,
            "observatory_biases": bool(args.observatory_biases),
            "external": bool(args.external),
            "n_parameters": int(gn.theta.size),
            "dampings": dampings,
        },
        "method": args.method,
        "device": str(jax.devices()[0]),
        "map": {
            "converged": bool(gn.converged),
            "n_iterations": int(gn.n_iterations),
            "potential_energy": float(gn.potential_energy),
            "rho": rho,
            "misfit": _misfit_by_source(tables["coestimation"]),
        },
    }
    if truth is not None:
        sv_map = np.asarray(problem.field_at(values["core"], epoch, 1))
        summary["data"]["truth"] = repr(truth)
        summary["map"]["sv_degree_correlation"] = degree_correlation(
            sv_map, truth_sv_sa[0]
        ).tolist()
    if args.usn:
        summary["usn"] = {"misfit": _misfit_by_source(tables["usn"])}
        if truth is not None:
            sv_usn = np.asarray(problem.field_at(usn.values["core"], epoch, 1))
            summary["usn"]["sv_degree_correlation"] = degree_correlation(
                sv_usn, truth_sv_sa[0]
            ).tolist()
    if laplace is not None:
        sd = laplace.site_sd()
        summary["laplace"] = {
            "flow_sd_median_km_per_yr": float(
                np.median(np.concatenate([sd["toroidal"].ravel(), sd["poloidal"].ravel()]))
            ),
            "sv_cmb_power_p05": spectra["sv_cmb_p05"].values.tolist(),
            "sv_cmb_power_p95": spectra["sv_cmb_p95"].values.tolist(),
        }
    if nuts is not None:
        diagnostics = sampling_summary(sampling_diagnostics(nuts.inference_data))
        extra = coestimation_diagnostics(nuts.inference_data, problem, max_draws=200)
        diagnostics.update(
            {
                "chains": args.chains,
                "warmup": args.warmup,
                "draws": args.draws,
                "chain_method": nuts.chain_method,
                "rho_median": extra.get("rho_median"),
            }
        )
        if "misfit" in extra:
            diagnostics["misfit_at_posterior_mean"] = _misfit_by_source(extra["misfit"])
        summary["nuts"] = diagnostics

    # ---- outputs (each written atomically)
    estimate = _labelled_estimate(problem, gn, laplace, spectra, tables, usn if args.usn else None,
                                  settings)  # fmt: skip
    with atomic_path(out / "coestimation.nc") as tmp:
        estimate.to_netcdf(tmp)
    outputs = {"summary": str(out / "summary.json"), "estimate": str(out / "coestimation.nc")}
    title = (
        f"Co-estimation ({_NORM_NAMES[args.norm]}, L_B = {args.lmax_field}, "
        f"L_F = {args.lmax_flow}), {source} data, epoch {epoch:.2f}"
    )
    fig = _spectra_figure(spectra, title, band_label)
    save_figure(fig, out / "spectra_cmb.png")
    outputs["figures"] = [str(out / "spectra_cmb.png")]
    if nuts is not None:
        nuts.inference_data.posterior.attrs.update(settings)
        save_inference_data(nuts.inference_data, out / "posterior.nc")
        outputs["posterior"] = str(out / "posterior.nc")
        trace = _trace_figure(nuts.inference_data, problem.units())
        save_figure(trace, out / "nuts_trace.png")
        outputs["figures"].append(str(out / "nuts_trace.png"))
    import matplotlib.pyplot as plt

    plt.close("all")
    wall["total_s"] = time.perf_counter() - start_all
    summary["wall_time_s"] = wall
    summary["outputs"] = outputs
    write_json(out / "summary.json", summary)
    _print_summary(summary)
    return 0


def _print_summary(summary: dict) -> None:
    model, data, fit, wall = (
        summary["model"],
        summary["data"],
        summary["map"],
        summary["wall_time_s"],
    )
    print(
        f"co-estimation ({_NORM_NAMES[model['norm']]}, {model['likelihood']} likelihood) on "
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
