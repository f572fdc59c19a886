"""Damping sweeps, trade-off curves and the paper's SA-matching rule for lambda_3.

See :mod:`bayescore.studies.regularisation` for the study's overview.
"""

from __future__ import annotations

import jax.numpy as jnp
import numpy as np
import xarray as xr

from bayescore.constants import CORE_RADIUS_KM, EARTH_REFERENCE_RADIUS_KM
from bayescore.errors import ModelConfigError
from bayescore.fields.spectrum import lowes_spectrum
from bayescore.infer import gauss_newton_map
from bayescore.models import (
    DEFAULT_USN_DAMPINGS,
    CoestimationProblem,
    coestimation_model,
    starting_model,
    usn_model,
)
from bayescore.progress import progress
from bayescore.studies.regularisation.mapping import (
    _base_dampings,
    _check_flow_problem,
    _check_parameter,
    _check_positive,
    _check_values,
    _paper_chosen,
    _symmetrised,
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
from bayescore.studies.regularisation.settings import _UNITS

__all__ = [
    "damping_sweep",
    "match_sa_damping",
    "tradeoff_curve",
]


def _epoch(problem: CoestimationProblem, epoch) -> float:
    if epoch is None:
        start, end = problem.span
        return 0.5 * (start + end)
    return float(problem.time_basis.check_times(np.asarray(epoch, dtype=float), "epoch"))


def damping_sweep(
    problem: CoestimationProblem,
    parameter: str,
    values,
    *,
    norm: str | None = None,
    dampings: dict | None = None,
    usn_dampings: dict | None = None,
    init: dict | None = None,
    truth=None,
    epoch: float | None = None,
    radius: float = CORE_RADIUS_KM,
    reference: float | None = None,
    residual_rms: bool = True,
    max_iterations: int = 50,
    progress_bar: bool = False,
) -> xr.Dataset:
    """MAP fits along a list of values of one damping, each warm-started from the last.

    Parameters
    ----------
    problem : CoestimationProblem
        With a flow. Without SV weights or without ``init``, the paper's start is built
        first (:func:`bayescore.models.starting_model` with the first value).
    parameter : {"lambda_space", "lambda_time"}
        The damping to vary (units in the module notes).
    values : array_like
        Its values, positive, fitted in the given order.
    norm : {"strong", "weak", "energy"}, optional
        Spatial flow norm (default the problem's): "strong" is the paper's BSN,
        "weak" its WSN.
    dampings : dict, optional
        The other dampings (``lambda_frozen_flux``, ``lambda_space``, ``lambda_time``);
        defaults :data:`bayescore.models.DEFAULT_DAMPINGS`.
    usn_dampings : dict, optional
        Dampings of the USN start (:func:`bayescore.models.usn_model`).
    init : dict, optional
        Starting values of all sites (e.g. a MAP's ``values``); needs SV weights set.
    truth : FrozenFluxTruth, optional
        Adds the truth's spectra (``*_truth`` variables), per-degree SV/SA correlations
        and relative error powers.
    epoch : float, optional
        Epoch of the spectra and flow statistics (default the middle of the span).
    radius : float, default 3485.0
        Radius of the Lowes spectra, km (3485.0: CMB; 6371.2: Earth's surface).
    reference : float, optional
        Our damping standing for the paper's choice: adds the coordinate
        ``paper_exponent`` (:func:`paper_equivalent_values`).
    residual_rms : bool, default True
        Also compute the rms data residual in nT (one pass over the data per value).
    max_iterations : int, default 50
        Gauss-Newton iterations per value.
    progress_bar : bool, default False

    Returns
    -------
    xarray.Dataset
        Dim ``damping`` (coordinate: the values; ``log10_damping``; optionally
        ``paper_exponent``), ``degree`` (1..L_B) and ``flow_degree`` (1..L_F). Variables:
        field, SV, SA and background-SA Lowes spectra, flow spectra and their time
        derivatives, KE, rms speed, toroidal, geostrophic and zonal geostrophic
        fractions, chi2 per datum, rms residual, frozen-flux misfit, rho, flow norms,
        SV and SA energies, the objective's terms, iterations, convergence, wall time;
        with a truth also ``sv/sa_correlation``, ``sv/sa_error`` and ``*_truth``
        variables. ``attrs``: parameter, norm, units, fixed dampings, epoch, radius.

    Raises
    ------
    ValueError
        Unknown parameter or norm, empty values, non-positive dampings, no flow.
    NonFiniteError
        NaN or infinite dampings.
    EpochOutOfRangeError
        Epoch outside the model span.
    """
    _check_flow_problem(problem)
    _check_parameter(parameter)
    values = _check_values(values)
    problem = _symmetrised(with_norm(problem, problem.norm if norm is None else norm))
    epoch = _epoch(problem, epoch)
    radius = _check_positive("radius", radius)
    if reference is not None:
        reference = _check_positive("reference", reference)
    base = _base_dampings(problem, dampings)
    truth_state = None if truth is None else _truth_state(problem, truth, epoch, radius)

    first = {**base, parameter: float(values[0])}
    if init is None or problem.sv_weights is None:
        problem, init, _ = starting_model(problem, first, usn_dampings)
    current = dict(init)
    records = []
    for value in progress(values, desc=f"{parameter} sweep", enabled=progress_bar):
        kwargs = {**base, parameter: float(value)}
        fit = gauss_newton_map(
            coestimation_model,
            problem,
            model_kwargs=kwargs,
            init_values=current,
            max_iterations=max_iterations,
        )
        current = fit.values
        record = _fit_record(problem, fit.values, kwargs, epoch, radius, truth_state, residual_rms)
        record.update(
            n_iterations=fit.n_iterations,
            converged=float(fit.converged),
            wall_time_s=fit.wall_time_s,
        )
        records.append(record)

    data_vars = _stack(records, "damping", _VARIABLES)
    if truth_state is not None:
        for name in _STATE_KEYS:
            inner, units, description = _VARIABLES[name]
            data_vars[f"{name}_truth"] = xr.Variable(
                (inner,) if inner else (),
                np.asarray(truth_state[name], dtype=float),
                attrs={"units": units, "description": f"truth: {description}"},
            )
    coords = {"damping": values, "log10_damping": ("damping", np.log10(values))}
    coords.update(_coords(problem))
    if reference is not None:
        chosen = _paper_chosen(parameter, problem.norm)
        coords["paper_exponent"] = ("damping", chosen + np.log10(values / reference))
    units = _UNITS[parameter]
    attrs = {
        "parameter": parameter,
        "parameter_units": units[problem.norm] if isinstance(units, dict) else units,
        "norm": problem.norm,
        "epoch": epoch,
        "radius_km": radius,
        "n_data": problem.data.n_data,
        "lmax_core": problem.lmax_core,
        "lmax_flow": problem.lmax_flow,
        "lmax_sv": problem.lmax_sv,
        "n_time": problem.time_basis.n_functions,
        "fixed_dampings": str({k: v for k, v in base.items() if k != parameter}),
        "warm_start": "each value starts from the previous value's MAP",
    }
    if reference is not None:
        attrs["reference"] = reference
    return xr.Dataset(data_vars, coords=coords, attrs=attrs)


def tradeoff_curve(
    sweep: xr.Dataset, measure: str = "sv_energy", misfit: str = "chi2_per_datum"
) -> xr.Dataset:
    """Trade-off curve data of a sweep: a model measure against the data misfit.

    Parameters
    ----------
    sweep : xarray.Dataset
        From :func:`damping_sweep`.
    measure : str, default "sv_energy"
        A scalar variable of the sweep: ``"sv_energy"`` (paper Fig. 2 right),
        ``"sa_energy"`` (Fig. 4 right), ``"flow_norm"``, ``"kinetic_energy"``...
    misfit : str, default "chi2_per_datum"
        ``"chi2_per_datum"`` or ``"data_rms_nT"``.

    Returns
    -------
    xarray.Dataset
        ``misfit`` and ``measure`` along ``damping`` (with the sweep's coordinates).
    """
    for name in (measure, misfit):
        if name not in sweep or sweep[name].dims != ("damping",):
            raise ModelConfigError(f"{name!r} is not a scalar variable of the sweep")
    out = xr.Dataset({"misfit": sweep[misfit], "measure": sweep[measure]})
    out.attrs = {"measure": measure, "misfit": misfit, "parameter": sweep.attrs["parameter"]}
    return out


def _band(degrees, lmax: int) -> tuple[int, int]:
    """A degree band (low, high) clipped to 1..lmax, validated."""
    try:
        low, high = (int(d) for d in degrees)
    except (TypeError, ValueError) as error:
        raise ModelConfigError(f"degrees must be a pair (low, high), got {degrees!r}") from error
    if not 1 <= low <= high:
        raise ModelConfigError(f"degrees must satisfy 1 <= low <= high, got {(low, high)}")
    if low > lmax:
        raise ModelConfigError(f"degree band {(low, high)} lies above L_B = {lmax}")
    return low, min(high, lmax)


def _sa_power(problem, core, epoch, band):
    sa = problem.field_at(jnp.asarray(core), epoch, 2)
    return float(jnp.sum(lowes_spectrum(sa)[band[0] - 1 : band[1]]))


def match_sa_damping(
    problem: CoestimationProblem,
    truth,
    model: str = "coestimation",
    *,
    start: float | None = None,
    dampings: dict | None = None,
    init: dict | None = None,
    epoch: float | None = None,
    degrees: tuple[int, int] = (1, 3),
    ends_ratio: float = 0.1,
    tolerance: float = 0.002,
    saturation: float = 0.05,
    max_fits: int = 30,
    max_iterations: int = 50,
):
    """The damping whose MAP's low-degree SA power equals the truth's (paper Sec. 5).

    The paper tuned lambda_3 and the USN dampings "such that all SA power spectra match
    around SH degree 1". Here the matched quantity is the SA Lowes power summed over the
    band ``degrees`` (default 1..3) at the epoch: at the paper's size the data fix the
    degree-1 SA by themselves (the USN's stays within the noise, ~10 % below the truth's,
    however small its damping), so degree 1 alone cannot be matched, while the band
    responds to the damping. The power falls as the temporal damping grows; the root of
    ``log(R(model) / R(truth))`` in ``log10(damping)`` is bracketed by decade steps from
    ``start`` and refined by Brent's method, every fit warm-started from the previous
    one. If the power stops responding before it reaches the truth's (a plateau set by
    the data or by the background SA), the search stops there (``matched=False``).

    Parameters
    ----------
    problem : CoestimationProblem
        With SV weights (``model="coestimation"``; from :func:`starting_model`).
    truth : FrozenFluxTruth
    model : {"coestimation", "usn"}
        ``"coestimation"`` tunes ``lambda_time`` (the other dampings from
        ``dampings``); ``"usn"`` tunes the USN ``lambda_span`` with
        ``lambda_ends = ends_ratio x lambda_span``.
    start : float, optional
        First damping tried (default: the model's default damping).
    dampings : dict, optional
        Other dampings of the co-estimation model.
    init : dict, optional
        Starting values (co-estimation: needed, e.g. from :func:`starting_model`).
    epoch : float, optional
        Epoch (default the middle of the span).
    degrees : (int, int), default (1, 3)
        Band of degrees whose summed SA power is matched (clipped to L_B).
    ends_ratio : float, default 0.1
        USN: lambda_ends / lambda_span (the default USN dampings' ratio).
    tolerance : float, default 0.002
        Tolerance on log10(damping).
    saturation : float, default 0.05
        If a decade step changes ``log(R)`` by less than this (the power by less than
        ~5 %) without crossing the truth's value, the power is on a plateau, set by the
        data (small dampings) or by the background SA (large ones): the search stops
        there, returning the less extreme damping of that step and ``matched=False``.
    max_fits : int, default 30
        Give up (RuntimeError) after this many MAP fits.
    max_iterations : int
        Gauss-Newton iterations per fit.

    Returns
    -------
    damping : float
        The matched damping.
    fit : GaussNewtonResult
        The MAP at that damping.
    n_fits : int
        Number of MAP fits spent.
    matched : bool
        False when the search stopped on a plateau (see ``saturation``).
    """
    from scipy.optimize import brentq

    if model not in ("coestimation", "usn"):
        raise ModelConfigError(f"model must be 'coestimation' or 'usn', got {model!r}")
    band = _band(degrees, problem.lmax_core)
    problem = _symmetrised(problem)
    epoch = _epoch(problem, epoch)
    truth_sa = _truth_state(problem, truth, epoch, EARTH_REFERENCE_RADIUS_KM)["sa_spectrum"]
    target = float(np.sum(truth_sa[band[0] - 1 : band[1]]))
    if model == "coestimation":
        _check_flow_problem(problem)
        if init is None or problem.sv_weights is None:
            raise ModelConfigError("coestimation: pass the problem and init of starting_model")
        base = _base_dampings(problem, dampings)
        start = base["lambda_time"] if start is None else _check_positive("start", start)
    else:
        start = DEFAULT_USN_DAMPINGS["lambda_span"] if start is None else start
        start = _check_positive("start", start)
        ends_ratio = _check_positive("ends_ratio", ends_ratio)
    state = {"init": dict(init or {}), "n_fits": 0, "last": None}
    cache = {}

    def fit_at(log_damping):
        if state["last"] is not None and state["last"][0] == log_damping:
            return state["last"][1]
        if state["n_fits"] >= max_fits:
            raise RuntimeError(f"SA matching needed more than {max_fits} MAP fits")
        damping = 10.0**log_damping
        if model == "coestimation":
            result = gauss_newton_map(
                coestimation_model,
                problem,
                model_kwargs={**base, "lambda_time": damping},
                init_values=state["init"],
                max_iterations=max_iterations,
            )
        else:
            kwargs = {"lambda_span": damping, "lambda_ends": ends_ratio * damping}
            try:
                result = gauss_newton_map(
                    usn_model, problem, model_kwargs=kwargs, init_values=state["init"]
                )
            except ValueError as error:
                raise RuntimeError(
                    f"the USN prior at lambda_span = {damping:.3g} yr^3/nT^2 is not "
                    "numerically positive definite (its roughness weights grow like "
                    "(a/c)^(2l+4)): the SA match needs a damping beyond float64 reach"
                ) from error
        state["init"] = result.values
        state["n_fits"] += 1
        state["last"] = (log_damping, result)
        return result

    def objective(log_damping):
        log_damping = float(log_damping)
        if log_damping not in cache:
            result = fit_at(log_damping)
            cache[log_damping] = np.log(
                _sa_power(problem, result.values["core"], epoch, band) / target
            )
        return cache[log_damping]

    low = float(np.log10(start))
    f_low = objective(low)
    if f_low == 0:
        return 10.0**low, fit_at(low), state["n_fits"], True
    step = 1.0 if f_low > 0 else -1.0
    high = low + step
    f_high = objective(high)
    while np.sign(f_high) == np.sign(f_low):
        if abs(f_high - f_low) < saturation:
            # the SA at this degree no longer responds to the damping (set by the data,
            # or by the background SA): no exact match; keep the less extreme damping
            return 10.0**low, fit_at(low), state["n_fits"], False
        low, f_low = high, f_high
        high = low + step
        f_high = objective(high)
    root = float(brentq(objective, min(low, high), max(low, high), xtol=tolerance))
    return 10.0**root, fit_at(root), state["n_fits"], True
