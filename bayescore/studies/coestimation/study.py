"""The co-estimation study: data, problem, MAP, Laplace, NUTS and their summaries."""

from __future__ import annotations

import os
import time

import numpy as np

from bayescore.coestimation_settings import DEFAULT_DAMPINGS
from bayescore.errors import ModelConfigError
from bayescore.studies.coestimation.checks import (
    check_problem_memory,
    default_lmax_sv,
    resolve_span_and_epoch,
)
from bayescore.studies.coestimation.outputs import (
    labelled_estimate,
    misfit_by_source,
    spectra_at_cmb,
)
from bayescore.studies.coestimation.result import CoestimationStudyResult

__all__ = ["LAPLACE_DRAWS", "METHODS", "run_coestimation_study", "truth_rms_speed"]


#: Number of Laplace draws used for the posterior band of the spectra.
LAPLACE_DRAWS = 400
#: Inference methods, each including the previous ones.
METHODS = ("map", "laplace", "nuts")


def truth_rms_speed(lmax_flow: int) -> float:
    """Rms speed (km/yr) of the synthetic truth's flow for a flow degree L_F.

    The truth's flow is inverted from IGRF's SV: a 13 km/yr flow needs the small scales
    of L_F >= 10; lower degrees cannot reach it (L_F = 3: at most 6.7 km/yr, L_F = 1:
    2.7 km/yr), so the truth is slower there.
    """
    if lmax_flow >= 10:
        return 13.0
    if lmax_flow >= 5:
        return 8.0
    return 4.0 if lmax_flow >= 2 else 2.0


def _synthetic_data(span, epoch, lmax_field, lmax_flow, *, n_satellite, n_sites, likelihood,
                    sigma_nT, seed):  # fmt: skip
    from bayescore.synthetic import frozen_flux_truth, make_dataset

    if n_satellite + n_sites == 0:
        raise ModelConfigError("--n-satellite and --n-sites are both 0: no data to simulate")
    truth = frozen_flux_truth(
        None, epoch, span, lmax_field, lmax_flow, target_rms_km_yr=truth_rms_speed(lmax_flow)
    )
    data = make_dataset(
        truth,
        n_satellite=n_satellite,
        n_observatory_sites=n_sites,
        noise=likelihood,
        sigma_nT=sigma_nT,
        seed=seed,
    )
    return truth, data


def run_coestimation_study(
    data=None,
    *,
    span=None,
    epoch=None,
    truth=None,
    source: str | None = None,
    n_satellite: int = 1500,
    n_sites: int = 20,
    sigma_nT: float = 2.0,
    lmax_field: int = 6,
    lmax_flow: int = 6,
    lmax_sv: int | None = None,
    n_time: int = 3,
    time_basis=None,
    flow_time_basis=None,
    norm: str = "strong",
    likelihood: str = "gaussian",
    observatory_biases: bool = False,
    external: bool = False,
    usn: bool = False,
    dampings: dict | None = None,
    method: str = "map",
    chains: int = 2,
    warmup: int = 200,
    draws: int = 200,
    seed: int = 0,
    progress: bool = False,
    nuts_progress: bool | None = None,
    max_iterations: int | None = None,
    check_memory: bool = True,
) -> CoestimationStudyResult:
    """Co-estimate the core field and flow (Lesur et al. 2010) and summarise the result.

    Parameters
    ----------
    data : xarray.Dataset, str or os.PathLike, optional
        Vector data in the long format of :mod:`bayescore.observations`, or a CSV/netCDF
        file of them (read with :func:`bayescore.observations.read_vector_data`, data
        outside ``span`` an error). Default: CHAMP-like synthetic data simulated from a
        frozen-flux truth (:func:`bayescore.synthetic.frozen_flux_truth`,
        :func:`~bayescore.synthetic.make_dataset`).
    span : (float, float), optional
        Model span, decimal years; default the data's time range, for synthetic data
        :data:`DEFAULT_SPAN`.
    epoch : float, optional
        Epoch (decimal year) of the reported SV and SA; default the middle of the span.
    truth : object, optional
        The truth of a given data set (with ``secular_change(epoch)``), to compare the
        spectra and the SV with.
    source : str, optional
        Label of the data (default: the file name, "synthetic" or "dataset").
    n_satellite, n_sites : int
        Synthetic satellite vector measurements and observatories.
    sigma_nT : float
        Noise scale of synthetic data, nT.
    lmax_field, lmax_flow : int
        L_B of the core field and L_F of the flow.
    lmax_sv : int, optional
        L_SV of the frozen-flux equations; default :func:`default_lmax_sv`.
    n_time : int
        Legendre polynomials in time over the span (>= 2) when no basis is given.
    time_basis, flow_time_basis : bayescore.timebasis.TimeBasis, optional
        Time bases of the field and the flow (override ``n_time``).
    norm : {"strong", "weak", "energy"}
        Spatial flow norm.
    likelihood : {"gaussian", "laplace", "student-t"}
        Data noise model (synthetic data are simulated with it).
    observatory_biases, external : bool
        Co-estimate observatory offsets, a static external degree-1 field.
    usn : bool
        Also report the field-only USN baseline (the starting model).
    dampings : dict, optional
        ``lambda_frozen_flux`` (1/yr), ``lambda_space``, ``lambda_time`` (yr^3/km^4);
        missing ones from :data:`bayescore.models.DEFAULT_DAMPINGS` for ``norm``.
    method : {"map", "laplace", "nuts"}
        MAP; MAP and Laplace; MAP, Laplace and NUTS (whitened by the Laplace
        approximation).
    chains, warmup, draws : int
        NUTS chains, warm-up and kept draws per chain.
    seed : int
        Seed of the synthetic data, the Laplace draws and NUTS.
    progress : bool
        Progress bar of the Gauss-Newton iterations.
    nuts_progress : bool, optional
        Progress bar of NUTS (default ``progress``).
    max_iterations : int, optional
        Gauss-Newton iterations (default 50 for a Gaussian likelihood, else 100).
    check_memory : bool
        Refuse a problem too large for the memory (:func:`check_problem_memory`).

    Returns
    -------
    CoestimationStudyResult

    Raises
    ------
    EpochOutOfRangeError
        Invalid span or epoch, single-epoch data without a span.
    ProblemTooLargeError
        The problem cannot fit in memory.
    ModelConfigError
        Invalid model settings.
    """
    import jax

    from bayescore.fields import degree_correlation
    from bayescore.infer import gauss_newton_map, laplace_from_gauss_newton, run_nuts
    from bayescore.models import (
        build_problem,
        coestimation_model,
        frozen_flux_ratio,
        misfit_table,
        starting_model,
    )
    from bayescore.observations import read_vector_data

    if method not in METHODS:
        raise ModelConfigError(f"method must be one of {METHODS}, got {method!r}")
    if time_basis is None and n_time < 2:
        raise ModelConfigError("--n-time must be >= 2 (the SV needs a time-dependent field), got 1")
    start_all = time.perf_counter()
    wall = {}
    clock = time.perf_counter()
    synthetic = data is None
    n_t = n_time if time_basis is None else time_basis.n_functions
    n_tf = n_t if flow_time_basis is None else flow_time_basis.n_functions
    if check_memory:
        check_problem_memory(
            lmax_field, lmax_flow, lmax_sv, n_t, n_tf, synthetic=synthetic and truth is None
        )
    if synthetic:
        span, epoch = resolve_span_and_epoch(span, epoch)
        truth, data = _synthetic_data(
            span, epoch, lmax_field, lmax_flow, n_satellite=n_satellite, n_sites=n_sites,
            likelihood=likelihood, sigma_nT=sigma_nT, seed=seed,
        )  # fmt: skip
        source = "synthetic" if source is None else source
    else:
        if span is not None:
            resolve_span_and_epoch(span, epoch)  # an invalid span is reported before reading
        if isinstance(data, (str, os.PathLike)):
            source = str(data) if source is None else source
            data = read_vector_data(data, span=span)
        source = "dataset" if source is None else source
        span, epoch = resolve_span_and_epoch(span, epoch, data["t"].values)
    wall["data_s"] = time.perf_counter() - clock

    if lmax_sv is None:
        lmax_sv = default_lmax_sv(lmax_field, lmax_flow, truth is not None)
    clock = time.perf_counter()
    problem = build_problem(
        data,
        lmax_field,
        time_basis,
        lmax_flow,
        flow_time_basis,
        span=span,
        n_time=n_time,
        norm=norm,
        likelihood=likelihood,
        lmax_sv=lmax_sv,
        observatory_biases=observatory_biases,
        external=external,
    )
    wall["normal_equations_s"] = time.perf_counter() - clock
    given = dict(dampings or {})
    dampings = {
        "lambda_frozen_flux": given.get(
            "lambda_frozen_flux", DEFAULT_DAMPINGS["lambda_frozen_flux"]
        ),
        "lambda_space": given.get("lambda_space", DEFAULT_DAMPINGS["lambda_space"][norm]),
        "lambda_time": given.get("lambda_time", DEFAULT_DAMPINGS["lambda_time"]),
    }
    if max_iterations is None:
        max_iterations = 50 if likelihood == "gaussian" else 100
    clock = time.perf_counter()
    problem, init, usn_fit = starting_model(problem, dampings)
    wall["starting_model_s"] = time.perf_counter() - clock
    clock = time.perf_counter()
    gn = gauss_newton_map(
        coestimation_model,
        problem,
        model_kwargs=dampings,
        init_values=init,
        max_iterations=max_iterations,
        progress_bar=progress,
    )
    wall["gauss_newton_s"] = time.perf_counter() - clock

    laplace = nuts = None
    if method in ("laplace", "nuts"):
        clock = time.perf_counter()
        laplace = laplace_from_gauss_newton(gn)
        wall["laplace_s"] = time.perf_counter() - clock
    if method == "nuts":
        nuts = run_nuts(
            coestimation_model,
            problem,
            model_kwargs=dampings,
            laplace=laplace,
            num_warmup=warmup,
            num_samples=draws,
            num_chains=chains,
            seed=seed,
            progress_bar=progress if nuts_progress is None else nuts_progress,
            **problem.site_labels(),
        )
        wall["nuts_s"] = nuts.wall_time_s

    # ---- results
    values = gn.values
    rho = float(frozen_flux_ratio(problem, values["core"], values["toroidal"], values["poloidal"]))
    tables = {"coestimation": misfit_table(problem, values)}
    if usn:
        tables["usn"] = misfit_table(problem, usn_fit.values)
    truth_sv_sa = None
    if truth is not None:
        change = truth.secular_change(epoch)
        truth_sv_sa = (change.sv, change.sa)
    cores = {"estimate": values["core"]}
    if usn:
        cores["usn"] = usn_fit.values["core"]
    band_draws, band_label = None, None
    if nuts is not None:
        band_draws = nuts.samples["core"].reshape((-1,) + nuts.samples["core"].shape[2:])
        band_label = "NUTS draws, 5-95 %"
    elif laplace is not None:
        band_draws = laplace.sample(LAPLACE_DRAWS, seed=seed)["core"]
        band_label = "Laplace draws, 5-95 %"
    spectra = spectra_at_cmb(problem, epoch, cores, truth_sv_sa, band_draws)

    settings = {
        "source": source,
        "method": method,
        "norm": norm,
        "likelihood": likelihood,
        "lmax_field": lmax_field,
        "lmax_flow": lmax_flow,
        "lmax_sv": int(problem.lmax_sv),
        "n_time": n_t,
        "span_start": span[0],
        "span_end": span[1],
        "epoch": epoch,
        "lambda_frozen_flux": dampings["lambda_frozen_flux"],
        "lambda_space": dampings["lambda_space"],
        "lambda_time": dampings["lambda_time"],
        "seed": seed,
    }
    summary = {
        "data": {
            "source": source,
            "n_data": int(data.sizes["datum"]),
            "span": list(span),
            "epoch": epoch,
        },
        "model": {
            "lmax_field": lmax_field,
            "lmax_flow": lmax_flow,
            "lmax_sv": int(problem.lmax_sv),
            "n_time": n_t,
            "norm": norm,
            "likelihood": likelihood,
            "observatory_biases": bool(observatory_biases),
            "external": bool(external),
            "n_parameters": int(gn.theta.size),
            "dampings": dampings,
        },
        "method": method,
        "device": str(jax.devices()[0]),
        "map": {
            "converged": bool(gn.converged),
            "n_iterations": int(gn.n_iterations),
            "potential_energy": float(gn.potential_energy),
            "rho": rho,
            "misfit": misfit_by_source(tables["coestimation"]),
        },
    }
    if truth is not None:
        sv_map = np.asarray(problem.field_at(values["core"], epoch, 1))
        summary["data"]["truth"] = repr(truth)
        summary["map"]["sv_degree_correlation"] = degree_correlation(
            sv_map, truth_sv_sa[0]
        ).tolist()
    if usn:
        summary["usn"] = {"misfit": misfit_by_source(tables["usn"])}
        if truth is not None:
            sv_usn = np.asarray(problem.field_at(usn_fit.values["core"], epoch, 1))
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
        summary["nuts"] = _nuts_summary(nuts, problem, chains, warmup, draws)

    estimate = labelled_estimate(
        problem, gn, laplace, spectra, tables, usn_fit if usn else None, settings
    )
    wall["total_s"] = time.perf_counter() - start_all
    return CoestimationStudyResult(
        problem=problem,
        data=data,
        truth=truth,
        gauss_newton=gn,
        usn=usn_fit,
        laplace=laplace,
        nuts=nuts,
        spectra=spectra,
        estimate=estimate,
        summary=summary,
        settings=settings,
        band_label=band_label,
        wall_time_s=wall,
    )


def _nuts_summary(nuts, problem, chains: int, warmup: int, draws: int) -> dict:
    """Headline diagnostics of the NUTS run (ArviZ, rho, misfit at the posterior mean)."""
    from bayescore.infer import sampling_diagnostics
    from bayescore.infer.inference_data import sampling_summary
    from bayescore.models import coestimation_diagnostics

    diagnostics = sampling_summary(sampling_diagnostics(nuts.inference_data))
    extra = coestimation_diagnostics(nuts.inference_data, problem, max_draws=200)
    diagnostics.update(
        {
            "chains": chains,
            "warmup": warmup,
            "draws": draws,
            "chain_method": nuts.chain_method,
            "rho_median": extra.get("rho_median"),
        }
    )
    if "misfit" in extra:
        diagnostics["misfit_at_posterior_mean"] = misfit_by_source(extra["misfit"])
    return diagnostics
