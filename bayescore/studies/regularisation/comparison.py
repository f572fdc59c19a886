"""USN, BSN and WSN side by side, the Section 4 experiments and their summary.

See :mod:`bayescore.studies.regularisation` for the study's overview.
"""

from __future__ import annotations

import time

import numpy as np
import xarray as xr

from bayescore.constants import CORE_RADIUS_KM
from bayescore.errors import ModelConfigError
from bayescore.infer import gauss_newton_map
from bayescore.models import (
    DEFAULT_DAMPINGS,
    FIELD_SITES,
    CoestimationProblem,
    coestimation_model,
    starting_model,
    usn_model,
)
from bayescore.studies.regularisation.mapping import (
    _check_flow_problem,
    _check_positive,
    _check_truth,
    _symmetrised,
    paper_equivalent_values,
    truth_typical_dampings,
    with_norm,
)
from bayescore.studies.regularisation.records import (
    _STATE_KEYS,
    _VARIABLES,
    _coords,
    _fit_record,
    _stack,
    _truth_state,
)
from bayescore.studies.regularisation.settings import MODELS, PARAMETERS
from bayescore.studies.regularisation.sweeps import _band, _epoch, damping_sweep, match_sa_damping

__all__ = [
    "closer_degrees",
    "compare_regularisations",
    "section4_experiments",
    "summarise",
]


def compare_regularisations(
    problem: CoestimationProblem,
    truth,
    *,
    epoch: float | None = None,
    radius: float = CORE_RADIUS_KM,
    lambda_frozen_flux: float = DEFAULT_DAMPINGS["lambda_frozen_flux"],
    lambda_space: dict | None = None,
    lambda_time: dict | float | None = None,
    usn_dampings: dict | None = None,
    match_degrees: tuple[int, int] = (1, 3),
    residual_rms: bool = True,
    max_iterations: int = 50,
    return_fits: bool = False,
):
    """USN, BSN and WSN fitted to the same data, next to the truth (paper Sec. 5).

    Protocol (the paper's, with the truth in GRIMM's place): the USN dampings are tuned
    so that its SA power over ``match_degrees`` matches the truth's
    (:func:`match_sa_damping`); BSN starts from the USN field and the flow inverted
    from its SV (Lesur SV weights fixed there), WSN from the BSN MAP with the same
    weights; lambda_space of each norm is the
    truth-typical value (:func:`truth_typical_dampings`) unless given, lambda_time is
    tuned to the same SA match unless given. ``sa_matched`` records whether each match
    was reached or stopped on a plateau.

    Parameters
    ----------
    problem : CoestimationProblem
        With a flow (its norm is ignored: both are fitted).
    truth : FrozenFluxTruth
    epoch : float, optional
        Epoch of the spectra (default the middle of the span).
    radius : float, default 3485.0
        Radius of the Lowes spectra, km.
    lambda_frozen_flux : float, default 1e4
        1/yr, for BSN and WSN.
    lambda_space : dict, optional
        ``{"strong": ..., "weak": ...}``; missing norms get the truth-typical value.
    lambda_time : float or dict, optional
        One value for both, or ``{"strong": ..., "weak": ...}``; missing: SA-matched.
    usn_dampings : dict, optional
        ``{"lambda_span", "lambda_ends"}``; default SA-matched (ends/span = 0.1).
    match_degrees : (int, int), default (1, 3)
        Band of the SA match (the paper: "around SH degree 1").
    residual_rms : bool, default True
    max_iterations : int, default 50
    return_fits : bool, default False
        Also return a dict with the fitted problems and MAP values (``"problems"``,
        ``"values"``, keyed by model), e.g. to warm-start sweeps from them.

    Returns
    -------
    xarray.Dataset, or (xarray.Dataset, dict) with ``return_fits``
        Dim ``model`` (truth, USN, BSN, WSN), ``degree``, ``flow_degree``. Spectra
        (field, SV, SA, background SA; flow and flow-rate), flow statistics, chi2 per
        datum, rms residual, rho, SV and SA energies, ``sv/sa_correlation`` and
        ``sv/sa_error`` (relative error power) against the truth, ``sv/sa_ratio``
        (spectrum over the truth's), the dampings used and the number of MAP fits.
        USN has no flow of its own: its rho uses the flow inverted from its SV (the
        paper's start), its flow statistics are NaN.
    """
    _check_flow_problem(problem)
    _check_truth(truth)
    epoch = _epoch(problem, epoch)
    radius = _check_positive("radius", radius)
    lam_ff = _check_positive("lambda_frozen_flux", lambda_frozen_flux)
    truth_state = _truth_state(problem, truth, epoch, radius)
    strong = _symmetrised(with_norm(problem, "strong"))
    norms = {"BSN": "strong", "WSN": "weak"}
    spaces = {
        norm: (
            _check_positive(f"lambda_space[{norm}]", lambda_space[norm])
            if lambda_space and norm in lambda_space
            else truth_typical_dampings(strong, truth, norm)["lambda_space"]
        )
        for norm in norms.values()
    }
    if lambda_time is None or isinstance(lambda_time, dict):
        times = dict(lambda_time or {})
    else:
        times = {norm: lambda_time for norm in norms.values()}
    typical_time = truth_typical_dampings(strong, truth)["lambda_time"]

    records, info = {}, {}
    # USN, its SA matched to the truth's unless given
    clock = time.perf_counter()
    if usn_dampings is None:
        span_damping, usn_fit, n_fits, matched = match_sa_damping(
            strong, truth, "usn", epoch=epoch, degrees=match_degrees
        )
        info["USN"] = {"sa_matched": matched}
        usn_dampings = {"lambda_span": span_damping, "lambda_ends": 0.1 * span_damping}
    else:
        usn_dampings = {k: _check_positive(k, v) for k, v in usn_dampings.items()}
        usn_fit = gauss_newton_map(usn_model, strong, model_kwargs=usn_dampings)
        n_fits = 1
    info.setdefault("USN", {}).update(n_fits=n_fits, wall_time_s=time.perf_counter() - clock)

    # the paper's start (USN field, flow from its SV), then BSN and WSN
    fixed = {"lambda_frozen_flux": lam_ff}
    bsn_start = {**fixed, "lambda_space": spaces["strong"], "lambda_time": typical_time}
    strong, init, usn_fit = starting_model(strong, bsn_start, usn_dampings)
    usn_values = {**init, **{k: v for k, v in usn_fit.values.items() if k in FIELD_SITES}}
    problems = {"BSN": strong, "WSN": with_norm(strong, "weak")}
    fits, dampings_used = {}, {"USN": dict(usn_dampings)}
    current = init
    for label, norm in norms.items():
        clock = time.perf_counter()
        kwargs = {**fixed, "lambda_space": spaces[norm]}
        if norm in times:
            kwargs["lambda_time"] = _check_positive("lambda_time", times[norm])
            fit = gauss_newton_map(
                coestimation_model,
                problems[label],
                model_kwargs=kwargs,
                init_values=current,
                max_iterations=max_iterations,
            )
            n_fits = 1
        else:
            start = dampings_used["BSN"]["lambda_time"] if label == "WSN" else typical_time
            lam_time, fit, n_fits, matched = match_sa_damping(
                problems[label],
                truth,
                "coestimation",
                start=start,
                dampings={**kwargs, "lambda_time": start},
                init=current,
                epoch=epoch,
                degrees=match_degrees,
                max_iterations=max_iterations,
            )
            kwargs["lambda_time"] = lam_time
            info[label] = {"sa_matched": matched}
        fits[label] = fit
        dampings_used[label] = kwargs
        current = fit.values
        info.setdefault(label, {}).update(n_fits=n_fits, wall_time_s=time.perf_counter() - clock)

    # records
    records["truth"] = {k: truth_state[k] for k in _STATE_KEYS}
    usn_kwargs = {**fixed, "lambda_space": spaces["strong"], "lambda_time": typical_time}
    usn_record = _fit_record(
        strong, usn_values, usn_kwargs, epoch, radius, truth_state, residual_rms
    )
    # the USN has no flow of its own: no flow statistics, no background SA
    for key in _STATE_KEYS:
        if key not in ("field_spectrum", "sv_spectrum", "sa_spectrum"):
            usn_record[key] = np.full(np.shape(usn_record[key]), np.nan)
    for key in ("flow_norm", "flow_time_norm", "space_term", "time_term"):
        usn_record[key] = np.nan
    records["USN"] = usn_record
    for label, fit in fits.items():
        record = _fit_record(
            problems[label],
            fit.values,
            dampings_used[label],
            epoch,
            radius,
            truth_state,
            residual_rms,
        )
        record.update(n_iterations=fit.n_iterations, converged=float(fit.converged))
        records[label] = record

    ordered = [records[m] for m in MODELS]
    data_vars = _stack(ordered, "model", [k for k in _VARIABLES if k != "wall_time_s"])
    for name in ("sv", "sa"):
        truth_spec = np.asarray(truth_state[f"{name}_spectrum"])
        ratio = np.stack([np.asarray(r[f"{name}_spectrum"]) / truth_spec for r in ordered])
        data_vars[f"{name}_ratio"] = xr.Variable(
            ("model", "degree"),
            ratio,
            attrs={"units": "1", "description": f"{name.upper()} spectrum over the truth's"},
        )
    for key, units in (
        ("lambda_space", "yr (BSN) or yr/km^2 (WSN)"),
        ("lambda_time", "yr^3/km^4"),
        ("lambda_span", "yr^3/nT^2"),
        ("lambda_ends", "yr^4/nT^2"),
    ):
        column = [dampings_used.get(m, {}).get(key, np.nan) for m in MODELS]
        data_vars[key] = xr.Variable(("model",), np.asarray(column, float), {"units": units})
    data_vars["n_fits"] = xr.Variable(
        ("model",), np.asarray([info.get(m, {}).get("n_fits", 0) for m in MODELS], float)
    )
    data_vars["sa_matched"] = xr.Variable(
        ("model",),
        np.asarray([info.get(m, {}).get("sa_matched", np.nan) for m in MODELS], float),
        {"units": "1", "description": "1: SA power over match_degrees matched the truth's; "
         "0: the search stopped on a plateau; NaN: damping given"},
    )  # fmt: skip
    data_vars["wall_time_s"] = xr.Variable(
        ("model",),
        np.asarray([info.get(m, {}).get("wall_time_s", np.nan) for m in MODELS], float),
        {"units": "s", "description": "wall time of the model's fits (matching included)"},
    )
    coords = {"model": list(MODELS), **_coords(problem)}
    attrs = {
        "epoch": epoch,
        "radius_km": radius,
        "match_degrees": list(_band(match_degrees, problem.lmax_core)),
        "lambda_frozen_flux": lam_ff,
        "n_data": problem.data.n_data,
        "lmax_core": problem.lmax_core,
        "lmax_flow": problem.lmax_flow,
        "lmax_sv": problem.lmax_sv,
        "n_time": problem.time_basis.n_functions,
        "usn_rho_note": "USN rho uses the flow inverted from its SV (the paper's start)",
    }
    state = {"problems": problems, "values": {k: f.values for k, f in fits.items()}}
    dataset = xr.Dataset(data_vars, coords=coords, attrs=attrs)
    return (dataset, state) if return_fits else dataset


def section4_experiments(
    problem: CoestimationProblem,
    truth,
    *,
    epoch: float | None = None,
    radius: float = CORE_RADIUS_KM,
    match_time: bool = True,
    space_exponents=None,
    time_exponents=None,
    residual_rms: bool = True,
    progress_bar: bool = False,
) -> dict:
    """The paper's Sections 4-5 on one data set: comparison, then both damping sweeps.

    1. :func:`compare_regularisations` (USN, BSN, WSN; lambda_space truth-typical,
       lambda_time SA-matched when ``match_time``, else truth-typical);
    2. the lambda_2B sweep (paper Fig. 2-3): :func:`paper_equivalent_values` around
       BSN's lambda_space, lambda_time held at BSN's;
    3. the lambda_3 sweep (Fig. 4-5): around BSN's lambda_time, lambda_space held.

    Both sweeps start from the BSN MAP of step 1 (warm) with its SV weights.

    Parameters
    ----------
    problem : CoestimationProblem
    truth : FrozenFluxTruth
    epoch : float, optional
        Epoch of the spectra (default the middle of the span).
    radius : float, default 3485.0
        Radius of the stored spectra, km.
    match_time : bool, default True
        Tune BSN's and WSN's lambda_time to the truth's SA over degrees 1-3 (the
        paper's rule, :func:`match_sa_damping`).
    space_exponents, time_exponents : array_like, optional
        The paper exponents to sweep (default :data:`PAPER_SWEEPS`).
    residual_rms : bool, default True
    progress_bar : bool, default False

    Returns
    -------
    dict
        ``{"comparison", "lambda_space", "lambda_time"}`` datasets and ``"timings"``
        (wall seconds of each step, compilation included).
    """
    _check_flow_problem(problem)
    _check_truth(truth)
    epoch = _epoch(problem, epoch)
    timings = {}
    clock = time.perf_counter()
    lambda_time = None
    if not match_time:
        lambda_time = truth_typical_dampings(with_norm(problem, "strong"), truth)["lambda_time"]
    comparison, state = compare_regularisations(
        problem,
        truth,
        epoch=epoch,
        radius=radius,
        lambda_time=lambda_time,
        residual_rms=residual_rms,
        return_fits=True,
    )
    timings["comparison_s"] = time.perf_counter() - clock
    strong, bsn = state["problems"]["BSN"], state["values"]["BSN"]
    ref_space = float(comparison["lambda_space"].sel(model="BSN"))
    ref_time = float(comparison["lambda_time"].sel(model="BSN"))
    lam_ff = float(comparison.attrs["lambda_frozen_flux"])
    common = {"init": bsn, "truth": truth, "epoch": epoch, "radius": radius}
    common.update(residual_rms=residual_rms, progress_bar=progress_bar)
    out = {"comparison": comparison}
    for parameter, reference, exponents, other in (
        ("lambda_space", ref_space, space_exponents, {"lambda_time": ref_time}),
        ("lambda_time", ref_time, time_exponents, {"lambda_space": ref_space}),
    ):
        clock = time.perf_counter()
        values, _ = paper_equivalent_values(parameter, reference, "strong", exponents)
        out[parameter] = damping_sweep(
            strong,
            parameter,
            values,
            dampings={"lambda_frozen_flux": lam_ff, **other},
            reference=reference,
            **common,
        )
        timings[f"{parameter}_sweep_s"] = time.perf_counter() - clock
    out["timings"] = timings
    return out


def closer_degrees(comparison: xr.Dataset, quantity: str = "sa") -> dict:
    """Degrees at which BSN's and WSN's spectra are closer to the truth's than USN's.

    Closeness is ``abs(log10(R_model / R_truth))`` of the Lowes spectra.

    Parameters
    ----------
    comparison : xarray.Dataset
        From :func:`compare_regularisations`.
    quantity : {"sa", "sv"}

    Returns
    -------
    dict
        ``{"BSN": [degrees], "WSN": [degrees], "both": [degrees]}``.
    """
    if quantity not in ("sa", "sv"):
        raise ModelConfigError(f"quantity must be 'sa' or 'sv', got {quantity!r}")
    distance = np.abs(np.log10(comparison[f"{quantity}_ratio"]))
    degree = comparison["degree"].values
    usn = distance.sel(model="USN").values
    out = {m: degree[distance.sel(model=m).values < usn].tolist() for m in ("BSN", "WSN")}
    out["both"] = sorted(set(out["BSN"]) & set(out["WSN"]))
    return out


def summarise(results: dict, max_degree: int = 8) -> dict:
    """JSON-friendly summary of :func:`section4_experiments` (numbers of the docs page).

    Parameters
    ----------
    results : dict
        ``{"comparison", "lambda_space", "lambda_time"}`` (any subset) and ``"timings"``.
    max_degree : int, default 8
        Highest degree of the SV correlation check.

    Returns
    -------
    dict
    """
    summary = {"timings": dict(results.get("timings", {}))}
    comparison = results.get("comparison")
    if comparison is not None:
        top = min(max_degree, int(comparison.sizes["degree"]))
        models = {}
        for model in MODELS:
            row = comparison.sel(model=model)
            entry = {
                key: float(row[key])
                for key in (
                    "rho",
                    "chi2_per_datum",
                    "data_rms_nT",
                    "kinetic_energy",
                    "rms_speed",
                    "toroidal_fraction",
                    "geostrophic_fraction",
                    "zonal_geostrophic_fraction",
                    "lambda_space",
                    "lambda_time",
                    "lambda_span",
                    "lambda_ends",
                    "n_fits",
                    "sa_matched",
                    "wall_time_s",
                )
            }
            if model != "truth":
                entry["sv_correlation_min_to_degree"] = float(
                    row["sv_correlation"].sel(degree=slice(1, top)).min()
                )
                entry["sv_ratio"] = row["sv_ratio"].values.tolist()
                entry["sa_ratio"] = row["sa_ratio"].values.tolist()
                entry["sa_error"] = row["sa_error"].values.tolist()
                entry["sv_error"] = row["sv_error"].values.tolist()
            models[model] = entry
        summary["comparison"] = {
            "models": models,
            "sv_correlation_degrees": [1, top],
            "sa_closer_than_usn": closer_degrees(comparison, "sa"),
            "sv_closer_than_usn": closer_degrees(comparison, "sv"),
            "attrs": {k: _plain(v) for k, v in comparison.attrs.items()},
        }
    for parameter in PARAMETERS:
        sweep = results.get(parameter)
        if sweep is None:
            continue
        keys = (
            "rms_speed",
            "kinetic_energy",
            "toroidal_fraction",
            "geostrophic_fraction",
            "chi2_per_datum",
            "data_rms_nT",
            "rho",
            "flow_norm",
            "flow_time_norm",
            "sv_energy",
            "sa_energy",
            "n_iterations",
            "wall_time_s",
        )
        entry = {key: sweep[key].values.tolist() for key in keys}
        entry["damping"] = sweep["damping"].values.tolist()
        if "paper_exponent" in sweep.coords:
            entry["paper_exponent"] = sweep["paper_exponent"].values.tolist()
        if "sv_correlation" in sweep:
            top = min(max_degree, int(sweep.sizes["degree"]))
            entry["sv_correlation_min_to_degree"] = (
                sweep["sv_correlation"].sel(degree=slice(1, top)).min("degree").values.tolist()
            )
        entry["attrs"] = {k: _plain(v) for k, v in sweep.attrs.items()}
        summary[parameter] = entry
    return summary


def _plain(value):
    if isinstance(value, np.generic):
        return value.item()
    return value
