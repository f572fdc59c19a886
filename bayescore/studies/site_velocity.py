"""Forecasting core-surface velocities at a site and its four neighbours.

The study of the geomagnetism data-science talk
(``shared/references/talk-data-science-geomagnetism.txt``): the velocity components
``(u_theta, u_phi)`` at the core-mantle boundary under (40 N, 130 W) and at four
neighbours 5 degrees north, south, east and west (:data:`bayescore.flow.sites.DEFAULT_SITES`),
taken from core flows inverted from gufm1 every year 1935-1990, are forecast by a
recurrent network that reads 10 past vectors and predicts the next 2.

Series (:func:`site_velocity_series`)
-------------------------------------
For every epoch the frozen-flux flow (strong norm, degree ``L_F = 14``, SV equations to
``L_B + L_F = 28``) is the posterior mean of the linear-Gaussian problem of
:func:`bayescore.flow.inversion.invert_flow_series`, with independent epochs and one
damping for all of them; the velocities at the sites follow from
:func:`bayescore.flow.sites.site_velocities` (km/yr, ``u_theta`` southward, ``u_phi``
eastward). Choices, and why:

* **SV weights "uniform"** (1 (nT/yr)^-2 for every SV coefficient at a). gufm1's SV is
  damped to almost nothing at high degree; Lesur's relative weights then make the flow
  spend its energy on those tiny coefficients (toroidal fraction 0.75 and solid-body
  drift -0.10 deg/yr in 1980), whereas uniform weights give the properties usually
  reported for historical flows, toroidal fraction 0.89 and westward drift
  -0.18 deg/yr in 1980 (``docs/theory/frozen_flux.md``).
* **Damping tuned at one reference epoch (1980) and then held fixed.** With uniform
  weights the rms speed of the gufm1 flow hardly depends on the damping (10.4-11.3 km/yr
  for damping 1 to 1e4 yr^2 in 1980), so a target rms speed pins the damping down only
  loosely. Tuned on the *mean* over 1935-1990 (``invert_flow_series(target_rms=10)``),
  the damping lands two decades lower (about 120 yr^2), on a rougher flow (toroidal
  fraction 0.83 in 1980). Tuning the single 1980 epoch to 10 km/yr (``find_damping_for_rms``,
  about 2.4e4 yr^2) reproduces the reference flow of the theory page exactly, and a
  fixed damping keeps the prior the same for every epoch, so that the variations of the
  series come from the SV and not from a damping that changes with time.
* **Independent epochs** (no temporal norm): gufm1 is already smooth in time (cubic
  B-splines), and a temporal norm would smooth the series once more.

Sampling: gufm1's B-spline knots are 2.5 yr apart, so 1935-1990 holds only about
(1990 - 1935) / 2.5 + 3 = 25 spline coefficients per Gauss coefficient. Annual samples
(56 of them) already oversample the model 2.5 times; ``step=0.5`` (or finer) gives more
windows but interpolates the same splines and adds almost no independent information,
while making consecutive samples even more alike (and persistence even better).

Study (:func:`run_velocity_study`)
----------------------------------
* **Approaches.** ``"temporal"``: a network per site reads that site's own two
  components (2 features) and predicts them. ``"spatial"``: one network reads the 10
  components of all five sites and predicts the target site's two components (default,
  ``outputs="site"``) or all ten (``outputs="all"``). The target's two components are
  the default output because they are the question asked (does knowing the neighbours
  help forecast the site?), they can be compared one-to-one with the temporal approach,
  and a 20-unit output layer is a lot to fit from about 35 training windows. With
  ``outputs="all"`` the temporal approach fits one network per site and the scores cover
  all ten components.
* **Windows.** ``window`` past vectors (10) predict the next ``horizon`` vectors (2).
  Windows are labelled by the epoch of their first target; lead ``h`` verifies at the
  ``h``-th target.
* **No leakage.** The networks and the baselines are fitted on ``series[:train_end]``
  alone (``train_end = round(train_fraction * n_time)``); the held-out values are never
  passed to a fit. The networks' scaler and early stopping (validation: the last 10 % of
  the training windows) use the training part only. The held-out windows' inputs may
  reach back into the training part, and later held-out windows read earlier held-out
  values as their (true) history: one-step (one 2-vector) forecasts, not a free run.
* **Networks.** :class:`bayescore.forecast.rnn.RNNForecaster` (GRU or LSTM, dropout
  after every layer). ``differencing=True`` (the default) fits the network to the first
  differences of the series and adds the predicted increments to the last known value.
  The series is not stationary (``u_phi`` at the centre drifts from -2 to -9 km/yr), and
  networks fed with the levels, as in the talk, forecast the held-out years several
  times worse than persistence (``docs/studies/velocity-forecasts.md``).
  ``n_networks > 1`` trains that many networks with consecutive seeds and pools their
  MC samples (a small deep ensemble: the fits on so few windows depend on the seed).
* **Uncertainty.** Monte-Carlo dropout (``n_mc`` passes) with the forecaster's Gaussian
  noise term (the rms one-step error on the validation windows) added to every sample.
* **Baselines**, per component, fitted on the training part: persistence (random walk),
  climatology (training mean and sd), AR(p) with intercept, p chosen by AIC up to
  ``ar_max_order`` (or fixed by ``ar_order``). Their Gaussian predictive distributions
  are sampled as coherent two-step paths (``sample_forecast``); components are
  independent (see :mod:`bayescore.forecast.baselines`).
* **Scores** over the held-out windows (every lead and component): RMSE, MAE of the
  predictive mean; MASE (MAE over the in-sample MAE of one-step persistence on the
  training part, per component); CRPS per value and energy score per window (the
  ``horizon x n_outputs`` vector of the window, km/yr), both in their *fair* (unbiased)
  ensemble form so that different sample sizes compare; coverage and mean width of the
  central 90 % interval of the samples; RMSE per lead.

Limitations, honestly: at ``train_fraction=0.9`` the 50 training samples give 38 windows
of increments (34 for gradient steps, 4 for validation; 39 windows of levels) and only
5 held-out windows
(1985-1989) covering 6 years; at 0.75, 13 windows from 1977. The scores of one split
rest on a handful of strongly correlated values and change from seed to seed; the
training-fraction sweep (:func:`training_fraction_sweep`) therefore also scores every
fraction on the *same* final windows (those of the largest fraction).
"""

from __future__ import annotations

import json
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import xarray as xr

from bayescore.atomic import atomic_path, save_figure, write_json
from bayescore.errors import (
    EpochOutOfRangeError,
    ForecastConfigError,
    NonFiniteError,
    SeriesLengthError,
    SeriesShapeError,
    UnevenSamplingError,
)
from bayescore.flow.sites import DEFAULT_SITES

__all__ = [
    "COMPONENTS",
    "DEFAULT_FRACTIONS",
    "GUFM1_KNOT_SPACING_YR",
    "METRICS",
    "FractionSweepResult",
    "VelocityStudyResult",
    "plot_fraction_sweep",
    "plot_site_series",
    "plot_study_forecasts",
    "run_velocity_study",
    "site_velocity_series",
    "training_fraction_sweep",
]

#: Velocity components of the series, in this order.
COMPONENTS = ("u_theta", "u_phi")
#: Spacing of gufm1's B-spline knots, years.
GUFM1_KNOT_SPACING_YR = 2.5
#: Training fractions of the sweep (the range studied in the talk).
DEFAULT_FRACTIONS = (0.75, 0.8, 0.85, 0.9)
#: Metrics of the score table (plus ``rmse_lead1``, ``rmse_lead2``, ... per lead).
METRICS = ("rmse", "mae", "mase", "crps", "energy", "coverage_90", "width_90")

_CELL_LABELS = {"gru": "GRU", "lstm": "LSTM"}
_BASELINES = ("persistence", "climatology", "AR")
_APPROACHES = ("temporal", "spatial")
_OUTPUTS = ("site", "all")


# --------------------------------------------------------------------------------------
# the series
# --------------------------------------------------------------------------------------


def _epoch_grid(start, end, step) -> np.ndarray:
    values = np.array([start, end, step], dtype=float)
    if not np.all(np.isfinite(values)):
        raise NonFiniteError(f"start, end and step must be finite, got {start}, {end}, {step}")
    if not step > 0:
        raise ValueError(f"step must be positive (years), got {step!r}")
    if not end > start:
        raise ValueError(f"end ({end}) must be later than start ({start})")
    n_steps = math.floor((end - start) / step + 1e-9)
    return start + step * np.arange(n_steps + 1)


def site_velocity_series(
    model=None,
    start: float = 1935.0,
    end: float = 1990.0,
    step: float = 1.0,
    lmax_flow: int = 14,
    norm: str = "strong",
    damping: float | None = None,
    target_rms: float = 10.0,
    reference_epoch: float = 1980.0,
    sv_weights="uniform",
    temporal_damping: float | None = None,
    sites: Mapping[str, tuple[float, float]] | None = None,
) -> xr.Dataset:
    """Velocity time series at named sites of the CMB from flows inverted from a field model.

    The flows of all epochs are solved together by
    :func:`bayescore.flow.inversion.invert_flow_series` with one damping; see the module
    docstring for why the defaults are uniform SV weights and a damping tuned at 1980.

    Parameters
    ----------
    model : bayescore.fields.FieldModel, optional
        Main-field model with ``coeffs(t)`` (nT) and ``sv(t)`` (nT/yr); default gufm1
        (:func:`bayescore.fields.load_gufm1`, read through ``$BAYESCORE_DATA``).
    start, end : float
        First and last epoch, decimal years (default 1935-1990); both inside the model's
        span.
    step : float
        Sampling interval, years (default 1). The epochs are ``start, start + step, ...``
        up to ``end``. gufm1's knots are 2.5 yr apart (:data:`GUFM1_KNOT_SPACING_YR`):
        finer sampling interpolates the same splines.
    lmax_flow : int
        Degree L_F of the flow (default 14).
    norm : {"strong", "weak", "energy"}
        Spatial norm of the prior (default Bloxham's strong norm).
    damping : float, optional
        The damping lambda, used for every epoch. When given, ``target_rms`` and
        ``reference_epoch`` are not used.
    target_rms : float
        Without ``damping``: rms speed over the CMB (km/yr, default 10) that the damping
        reproduces at ``reference_epoch``.
    reference_epoch : float
        Epoch at which the damping is tuned (default 1980.0), inside the model's span.
    sv_weights : {"uniform", "lesur", "cmb"} or array_like
        SV weights, as in :func:`bayescore.flow.inversion.invert_flow_series` (default
        ``"uniform"``). A per-epoch array (K, n_sv) needs an explicit ``damping``.
    temporal_damping : float, optional
        Couple the epochs by the temporal norm (default None: independent epochs).
    sites : mapping of str to (latitude, longitude), optional
        Site names and positions in degrees; default
        :data:`bayescore.flow.sites.DEFAULT_SITES` (the centre first).

    Returns
    -------
    xarray.Dataset
        ``velocity`` (time, site, component) in km/yr with components ``u_theta``
        (southward) and ``u_phi`` (eastward) at r = 3485 km; coordinates ``time``
        (decimal years), ``site``, ``component``, ``latitude`` and ``longitude`` (degrees)
        of each site; the flow diagnostics ``rms_speed`` (km/yr), ``toroidal_fraction``
        and ``solid_body_drift`` (deg/yr) over time; attributes of the inversion (model,
        damping, norm, degrees, weights, target, reference epoch, step).

    Raises
    ------
    EpochOutOfRangeError
        An epoch (or the reference epoch) outside the model's span.
    ValueError
        ``end <= start``, ``step <= 0``, a non-positive damping or target, unknown norm.
    NonFiniteError
        Non-finite start, end or step.
    """
    from bayescore.flow.inversion import find_damping_for_rms, invert_flow_series
    from bayescore.flow.sites import site_velocities

    epochs = _epoch_grid(start, end, step)
    if model is None:
        from bayescore.fields import load_gufm1

        model = load_gufm1()
    span = getattr(model, "span", None)
    if span is not None:
        for what, values in (("epochs", epochs), ("reference_epoch", [reference_epoch])):
            values = np.asarray(values, float)
            if damping is None or what == "epochs":
                outside = (values < span[0]) | (values > span[1])
                if np.any(outside):
                    raise EpochOutOfRangeError(
                        f"{what} {values[outside][0]:g} lies outside the span "
                        f"{span[0]:g}-{span[1]:g} of model {getattr(model, 'name', '?')!r}"
                    )
    if damping is None:
        if target_rms is None or not np.isfinite(target_rms) or not target_rms > 0:
            raise ValueError(f"target_rms must be a positive rms speed (km/yr), got {target_rms!r}")
        if not isinstance(sv_weights, str) and np.ndim(sv_weights) != 1:
            raise ValueError(
                "per-epoch sv_weights need an explicit damping (the damping is tuned at "
                "one reference epoch)"
            )
        damping = find_damping_for_rms(
            model.coeffs(float(reference_epoch)),
            model.sv(float(reference_epoch)),
            int(lmax_flow),
            float(target_rms),
            norm=norm,
            sv_weights=sv_weights,
        )
        tuned = True
    else:
        tuned = False
    flows = invert_flow_series(
        model,
        epochs,
        int(lmax_flow),
        norm=norm,
        damping=float(damping),
        sv_weights=sv_weights,
        temporal_damping=temporal_damping,
    )
    sites = dict(DEFAULT_SITES if sites is None else sites)
    velocities = site_velocities(flows, sites)
    stacked = xr.concat(
        [velocities[name] for name in COMPONENTS],
        dim=xr.DataArray(list(COMPONENTS), dims="component", name="component"),
    ).transpose("time", "site", "component")
    stacked.attrs = {
        "units": "km/yr",
        "long_name": "core-surface velocity (u_theta southward, u_phi eastward)",
        "radius_km": velocities["u_theta"].attrs.get("radius_km"),
    }
    diagnostics = flows.diagnostics
    dataset = xr.Dataset(
        {
            "velocity": stacked,
            "rms_speed": ("time", np.asarray(diagnostics["rms_speed"]), {"units": "km/yr"}),
            "toroidal_fraction": (
                "time",
                np.asarray(diagnostics["toroidal_fraction"]),
                {"units": "1"},
            ),
            "solid_body_drift": (
                "time",
                np.asarray(diagnostics["solid_body_drift"]),
                {"units": "deg/yr", "long_name": "solid-body drift, eastward positive"},
            ),
        },
        coords={"time": ("time", epochs, {"units": "year"})},
    )
    weights_name = sv_weights if isinstance(sv_weights, str) else "custom"
    dataset.attrs = {
        "model": str(getattr(model, "name", "model")),
        "damping": float(damping),
        "damping_tuned_to_target_rms": int(tuned),
        "target_rms_km_per_yr": float(target_rms) if tuned else np.nan,
        "reference_epoch": float(reference_epoch) if tuned else np.nan,
        "norm": norm,
        "lmax_flow": int(lmax_flow),
        "lmax_sv": int(flows.lmax_sv),
        "sv_weights": weights_name,
        "temporal_damping": np.nan if temporal_damping is None else float(temporal_damping),
        "step_yr": float(step),
    }
    return dataset


# --------------------------------------------------------------------------------------
# input handling
# --------------------------------------------------------------------------------------


def _velocity_array(series) -> xr.DataArray:
    """The (time, site, component) velocity DataArray of a series, validated."""
    if isinstance(series, xr.Dataset):
        if "velocity" not in series:
            raise SeriesShapeError(
                "the series Dataset has no 'velocity' variable (time, site, component); "
                "build it with site_velocity_series"
            )
        series = series["velocity"]
    if not isinstance(series, xr.DataArray):
        raise SeriesShapeError(
            "series must be the Dataset of site_velocity_series or a DataArray with "
            f"dimensions (time, site, component); got {type(series).__name__}"
        )
    if set(series.dims) != {"time", "site", "component"}:
        raise SeriesShapeError(
            f"the velocity series must have dimensions (time, site, component), got {series.dims}"
        )
    series = series.transpose("time", "site", "component")
    components = [str(c) for c in series["component"].values]
    if sorted(components) != sorted(COMPONENTS):
        raise SeriesShapeError(f"components must be {COMPONENTS}, got {tuple(components)}")
    series = series.sel(component=list(COMPONENTS))
    values = np.asarray(series.values, dtype=float)
    if not np.all(np.isfinite(values)):
        index = np.argwhere(~np.isfinite(values))[0]
        raise NonFiniteError(
            f"the velocity series contains NaN or infinite values (first at time index "
            f"{index[0]}, site {series['site'].values[index[1]]!s})"
        )
    time = np.asarray(series["time"].values, dtype=float)
    if time.size >= 2:
        steps = np.diff(time)
        if np.any(steps <= 0) or not np.allclose(steps, steps[0], rtol=1e-6, atol=1e-9):
            raise UnevenSamplingError(
                "the velocity series must be evenly sampled in increasing time "
                f"(steps from {steps.min():g} to {steps.max():g} yr)"
            )
    return series


def _features(series: xr.DataArray, site: str, approach: str):
    """Feature matrix (time, feature) with the target site first, and the labels."""
    sites = [str(s) for s in series["site"].values]
    if site not in sites:
        raise ValueError(f"target site {site!r} is not in the series (sites {sites})")
    if approach == "temporal":
        order = [site]
    else:
        if len(sites) < 2:
            raise SeriesShapeError("the spatial approach needs the target and neighbours")
        order = [site] + [s for s in sites if s != site]
    values = np.asarray(series.sel(site=order).values, dtype=float)
    labels = [f"{s}/{c}" for s in order for c in COMPONENTS]
    return values.reshape(values.shape[0], -1), labels, order


def _as_cells(cell) -> tuple[str, ...]:
    cells = (cell,) if isinstance(cell, str) else tuple(cell)
    for name in cells:
        if name not in _CELL_LABELS:
            raise ForecastConfigError(f"cell must be 'gru' or 'lstm', got {name!r}")
    if len(set(cells)) != len(cells):
        raise ForecastConfigError(f"cells must not repeat, got {cells}")
    return cells


def _positive_int(value, name):
    if isinstance(value, bool) or not float(value).is_integer() or int(value) < 1:
        raise ForecastConfigError(f"{name} must be a positive integer, got {value!r}")
    return int(value)


# --------------------------------------------------------------------------------------
# forecasts
# --------------------------------------------------------------------------------------


def _network_samples(
    values,
    train_end,
    starts,
    *,
    cell,
    n_inputs,
    n_outputs,
    window,
    horizon,
    net,
    fit,
    n_mc,
    seed,
    n_networks,
    differencing,
):
    """MC-dropout samples (n_mc, n_windows, horizon, n_outputs) and member summaries."""
    from bayescore.forecast.rnn import RNNForecaster

    per_member = -(-n_mc // n_networks)
    pooled, members = [], []
    source = np.diff(values, axis=0) if differencing else values
    offset = 1 if differencing else 0  # source[j] describes values[j + offset]
    for member in range(n_networks):
        forecaster = RNNForecaster(
            cell=cell,
            window=window,
            horizon=horizon,
            n_features=n_inputs,
            n_outputs=n_outputs,
            seed=seed + member,
            **net,
        )
        # Only the training part is passed to fit: no held-out value can leak into it.
        forecaster.fit(source[: train_end - offset], train_fraction=1.0, progress=False, **fit)
        mc = forecaster.predict_mc(
            source, n_samples=per_member, seed=seed + member, start=int(starts[0]) - offset
        )
        samples = np.asarray(mc["samples"].values)  # (sample, window, lead, output)
        if differencing:
            last = values[starts - 1, :n_outputs]  # last known level before each window
            samples = last[None, :, None, :] + np.cumsum(samples, axis=2)
        pooled.append(samples)
        members.append(
            {
                "seed": seed + member,
                "epochs_run": int(forecaster.history.sizes["epoch"]),
                "best_epoch": int(forecaster.history.attrs["best_epoch"]),
                "best_validation_loss": float(
                    forecaster.history["validation_loss"].values[
                        forecaster.history.attrs["best_epoch"]
                    ]
                ),
                "noise_sd": np.asarray(forecaster.noise_sd).tolist(),
                "n_parameters": int(sum(np.asarray(v).size for v in _parameter_arrays(forecaster))),
            }
        )
    return np.concatenate(pooled)[:n_mc], members


def _parameter_arrays(forecaster):
    from flax import nnx

    state = nnx.state(forecaster.network, nnx.Param)
    return [variable.get_value() for _, variable in nnx.to_flat_state(state)]


def _fit_baselines(train, ar_order, ar_max_order) -> dict:
    """The baselines fitted on the training part (before any network: a series they
    cannot model raises :class:`~bayescore.errors.ModelFitError` at once)."""
    from bayescore.forecast.baselines import AutoRegressive, Climatology, Persistence

    models = {
        "persistence": Persistence(),
        "climatology": Climatology(),
        "AR": AutoRegressive(order=ar_order, max_order=ar_max_order),
    }
    for model in models.values():
        model.fit(train)
    return models


def _baseline_forecasts(models, values, starts, horizon, n_mc, seed):
    """Means (3, W, H, F), samples (3, n_mc, W, H, F) and AR orders of fitted baselines."""
    means, samples = [], []
    for k, model in enumerate(models.values()):
        mean_rows, sample_rows = [], []
        for w, start in enumerate(starts):
            history = values[:start]
            mean_rows.append(model.forecast_distribution(history, horizon)[0])
            sample_rows.append(
                model.sample_forecast(history, horizon, n_mc, seed=seed + 1000 * k + w)
            )
        means.append(np.stack(mean_rows))
        samples.append(np.stack(sample_rows, axis=1))
    return np.stack(means), np.stack(samples), models["AR"].order_.tolist()


# --------------------------------------------------------------------------------------
# scores
# --------------------------------------------------------------------------------------


def _scores(observed, means, samples, train, level=0.9) -> np.ndarray:
    """Metrics (forecast, metric) of means (M, W, H, F) and samples (M, S, W, H, F)."""
    import jax.numpy as jnp

    from bayescore.forecast import metrics

    horizon = observed.shape[1]
    y = jnp.asarray(observed)
    scale = np.mean(np.abs(np.diff(train, axis=0)), axis=0)  # in-sample persistence MAE
    rows = []
    for mean, draws in zip(means, samples, strict=True):
        lower, upper = metrics.central_interval(jnp.asarray(draws), level=level)
        n_windows = observed.shape[0]
        row = [
            float(metrics.rmse(y, mean)),
            float(metrics.mae(y, mean)),
            float(np.mean(np.abs(mean - observed) / scale)),
            float(jnp.mean(metrics.crps_ensemble(draws, y, fair=True))),
            float(
                jnp.mean(
                    metrics.energy_score(
                        draws.reshape(draws.shape[0], n_windows, -1),
                        y.reshape(n_windows, -1),
                        fair=True,
                    )
                )
            ),
            float(metrics.interval_coverage(y, lower, upper)),
            float(metrics.interval_width(lower, upper)),
        ]
        row += [float(metrics.rmse(y[:, h], mean[:, h])) for h in range(horizon)]
        rows.append(row)
    return np.asarray(rows)


def _json_safe(value):
    """Nested dicts/lists with NaN floats replaced by None (strict JSON)."""
    if isinstance(value, dict):
        return {key: _json_safe(item) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return [_json_safe(item) for item in value]
    if isinstance(value, float) and not math.isfinite(value):
        return None
    return value


def _metric_names(horizon: int) -> list[str]:
    return list(METRICS) + [f"rmse_lead{h + 1}" for h in range(horizon)]


def _table_dict(table: xr.DataArray) -> dict[str, dict[str, float]]:
    """A (forecast, metric) DataArray as ``{method: {metric: value}}``."""
    metrics = [str(m) for m in table["metric"].values]
    return {
        str(method): dict(zip(metrics, map(float, row), strict=True))
        for method, row in zip(table["forecast"].values, table.values, strict=True)
    }


def _markdown(table: xr.DataArray, digits: int = 3) -> str:
    from bayescore.forecast.metrics import format_score_table

    return format_score_table(_table_dict(table), digits=digits)


# --------------------------------------------------------------------------------------
# results
# --------------------------------------------------------------------------------------


@dataclass(frozen=True)
class VelocityStudyResult:
    """Forecasts and scores of one velocity-forecasting run.

    Attributes
    ----------
    config : dict
        The arguments of :func:`run_velocity_study` (JSON-serialisable).
    series : xarray.DataArray
        The network's input series (time, feature), km/yr; features ``site/component``
        with the target site first.
    observed : xarray.DataArray
        Held-out targets (time, lead, feature) of the scored features, km/yr. ``time`` is
        the epoch of a window's first target; coordinates ``start_index`` (its time index
        in the series) and ``target_time`` (time, lead).
    mean : xarray.DataArray
        Predictive means (forecast, time, lead, feature), km/yr (MC-sample means for the
        networks, exact Gaussian means for the baselines).
    samples : xarray.DataArray
        Predictive samples (forecast, sample, time, lead, feature), km/yr.
    scores : xarray.DataArray
        Scores (forecast, metric) over all held-out windows (see the module docstring).
    train_end : int
        The training part is ``series[:train_end]``.
    networks : dict
        Per network label: the training summary of every ensemble member (seed, epochs
        run, best epoch and its validation loss, noise sd in km/yr, number of weights).
    ar_orders : list of int
        AR order chosen for each scored feature.
    """

    config: dict
    series: xr.DataArray
    observed: xr.DataArray
    mean: xr.DataArray
    samples: xr.DataArray
    scores: xr.DataArray
    train_end: int
    networks: dict = field(default_factory=dict)
    ar_orders: list = field(default_factory=list)

    @property
    def methods(self) -> list[str]:
        """Method labels, networks first."""
        return [str(m) for m in self.mean["forecast"].values]

    @property
    def n_test_windows(self) -> int:
        """Number of held-out windows."""
        return int(self.observed.sizes["time"])

    def score(self, first_index: int | None = None, level: float = 0.9) -> xr.DataArray:
        """Scores over the held-out windows whose first target index is >= ``first_index``.

        Parameters
        ----------
        first_index : int, optional
            First target index (time index in the series) to include; default all.
        level : float
            Central-interval level for coverage and width.

        Returns
        -------
        xarray.DataArray
            (forecast, metric), units of the metrics as in the module docstring.

        Raises
        ------
        SeriesLengthError
            If no held-out window starts at or after ``first_index``.
        """
        keep = np.ones(self.n_test_windows, bool)
        if first_index is not None:
            keep = self.observed["start_index"].values >= int(first_index)
        if not np.any(keep):
            raise SeriesLengthError(f"no held-out window starts at or after index {first_index}")
        values = _scores(
            self.observed.values[keep],
            self.mean.values[:, keep],
            self.samples.values[:, :, keep],
            self.series.values[: self.train_end][:, : self.observed.sizes["feature"]],
            level=level,
        )
        if level != 0.9:
            tag = round(100 * level)
            names = [
                n.replace("_90", f"_{tag}") for n in _metric_names(self.observed.sizes["lead"])
            ]
        else:
            names = _metric_names(self.observed.sizes["lead"])
        return xr.DataArray(
            values,
            dims=("forecast", "metric"),
            coords={"forecast": self.methods, "metric": names},
            attrs={"n_windows": int(keep.sum())},
        )

    def table(self, digits: int = 3) -> str:
        """Markdown table of :attr:`scores`."""
        return _markdown(self.scores, digits)

    def to_xarray(self) -> xr.Dataset:
        """Observed values, means, samples and scores in one Dataset (attrs: config)."""
        dataset = xr.Dataset(
            {
                "observed": self.observed,
                "mean": self.mean,
                "samples": self.samples,
                "scores": self.scores,
            }
        )
        dataset["series"] = self.series.rename({"time": "series_time", "feature": "input"})
        dataset.attrs = {"config_json": json.dumps(self.config), "train_end": self.train_end}
        return dataset

    def to_dict(self) -> dict:
        """JSON-serialisable summary: config, split, scores, networks, AR orders."""
        time = self.series["time"].values
        summary = {
            "config": self.config,
            "n_time": int(self.series.sizes["time"]),
            "train_end": int(self.train_end),
            "train_period": [float(time[0]), float(time[self.train_end - 1])],
            "test_windows": int(self.n_test_windows),
            "test_first_targets": [float(t) for t in self.observed["time"].values],
            "features": [str(f) for f in self.observed["feature"].values],
            "scores": _table_dict(self.scores),
            "networks": self.networks,
            "ar_orders": [int(p) for p in self.ar_orders],
        }
        return _json_safe(summary)

    def save(self, directory, figures: bool = True) -> Path:
        """Write ``summary.json``, ``forecasts.nc`` (and ``forecasts.png``) atomically.

        Parameters
        ----------
        directory : str or path-like
            Output directory (created if needed).
        figures : bool
            Also save the figure of :func:`plot_study_forecasts`.

        Returns
        -------
        pathlib.Path
            The directory.
        """
        directory = Path(directory)
        directory.mkdir(parents=True, exist_ok=True)
        write_json(directory / "summary.json", self.to_dict())
        with atomic_path(directory / "forecasts.nc") as tmp:
            self.to_xarray().to_netcdf(tmp)
        if figures:
            import matplotlib.pyplot as plt

            fig = plot_study_forecasts(self)
            save_figure(fig, directory / "forecasts.png")
            plt.close(fig)
        return directory


def run_velocity_study(
    series=None,
    approach: str = "temporal",
    cell: str | Sequence[str] = ("gru", "lstm"),
    window: int = 10,
    horizon: int = 2,
    train_fraction: float = 0.9,
    *,
    site: str = "centre",
    outputs: str = "site",
    hidden_size: int = 32,
    num_layers: int = 1,
    dropout: float = 0.2,
    learning_rate: float = 1e-3,
    epochs: int = 500,
    batch_size: int = 16,
    patience: int | None = 50,
    validation: float = 0.1,
    differencing: bool = True,
    n_networks: int = 1,
    n_mc: int = 200,
    seed: int = 0,
    ar_order: int | None = None,
    ar_max_order: int = 5,
) -> VelocityStudyResult:
    """Fit recurrent networks and baselines to a site-velocity series and score them.

    Parameters
    ----------
    series : xarray.Dataset or xarray.DataArray, optional
        The output of :func:`site_velocity_series` (or its ``velocity`` DataArray, dims
        time, site, component; evenly sampled, km/yr). Default: the gufm1 series
        1935-1990 with the defaults of :func:`site_velocity_series`.
    approach : {"temporal", "spatial"}
        Inputs of a network: the site's own 2 components, or all sites' components.
    cell : str or sequence of {"gru", "lstm"}
        Network cells, one network (ensemble) each; an empty sequence runs the
        baselines only.
    window : int
        Past vectors per input window (default 10).
    horizon : int
        Vectors predicted at once (default 2).
    train_fraction : float
        Fraction of the series, from its start, used for fitting; in (0, 1). Default
        0.9, the value the talk found best.
    site : str
        Target site (default ``"centre"``).
    outputs : {"site", "all"}
        Scored (and, for the networks, predicted) features: the target site's two
        components, or all sites' (temporal: one network per site).
    hidden_size, num_layers, dropout, learning_rate : optional
        Network settings (:class:`bayescore.forecast.rnn.RNNForecaster`). Default one
        layer of 32 units: with about 35 training windows a small network is enough
        (a second layer gave similar held-out scores and doubles the compile time).
    epochs, batch_size, patience, validation : optional
        Training settings (:meth:`~bayescore.forecast.rnn.RNNForecaster.fit`); the
        validation windows are the last ``validation`` fraction of the training windows.
    differencing : bool
        Fit the networks to first differences and add the predicted increments to the
        last known value (default True; ``False`` feeds the levels, as in the talk).
    n_networks : int
        Networks per cell (seeds ``seed, seed + 1, ...``) whose MC samples are pooled.
    n_mc : int
        Predictive samples per method (MC-dropout passes, split over the ensemble;
        Gaussian draws for the baselines).
    seed : int
        Seed of the networks, the MC passes and the baseline draws.
    ar_order : int, optional
        Fixed AR order; default: chosen by AIC up to ``ar_max_order``.
    ar_max_order : int
        Largest AR order tried (default 5).

    Returns
    -------
    VelocityStudyResult

    Raises
    ------
    ForecastConfigError
        A fraction, size, approach, output choice or cell out of range.
    SeriesShapeError
        A series without (time, site, component) dimensions or the two components.
    NonFiniteError
        NaN or infinite velocities.
    UnevenSamplingError
        Uneven or decreasing time steps.
    SeriesLengthError
        Too short a training part for the windows (or the AR order), or no held-out
        window.
    ModelFitError
        A component the AR baseline cannot model (e.g. constant over the training part),
        raised before any network is trained.
    ValueError
        A target site not in the series.
    """
    if approach not in _APPROACHES:
        raise ForecastConfigError(f"approach must be one of {_APPROACHES}, got {approach!r}")
    if outputs not in _OUTPUTS:
        raise ForecastConfigError(f"outputs must be one of {_OUTPUTS}, got {outputs!r}")
    cells = _as_cells(cell)
    window = _positive_int(window, "window")
    horizon = _positive_int(horizon, "horizon")
    n_networks = _positive_int(n_networks, "n_networks")
    n_mc = _positive_int(n_mc, "n_mc")
    ar_max_order = _positive_int(ar_max_order, "ar_max_order")
    if ar_order is not None:
        ar_order = _positive_int(ar_order, "ar_order")
    if isinstance(train_fraction, bool) or not 0.0 < float(train_fraction) < 1.0:
        raise ForecastConfigError(
            f"train_fraction must lie strictly between 0 and 1 (part of the series must be "
            f"held out), got {train_fraction!r}"
        )
    if not 0.0 <= float(validation) < 1.0:
        raise ForecastConfigError(f"validation must lie in [0, 1), got {validation!r}")

    if series is None:
        series = site_velocity_series()
    velocity = _velocity_array(series)
    values, labels, order = _features(velocity, site, approach)
    time = np.asarray(velocity["time"].values, dtype=float)
    n_time = len(time)
    train_end = int(round(float(train_fraction) * n_time))
    offset = 1 if differencing else 0
    n_train_windows = train_end - offset - window - horizon + 1
    needed = 2 if validation > 0 else 1
    if cells and n_train_windows < needed:
        raise SeriesLengthError(
            f"the training part ({train_end} of {n_time} samples) holds {max(n_train_windows, 0)} "
            f"windows of {window} inputs + {horizon} targets"
            + (" (of differences)" if differencing else "")
            + f"; at least {needed} needed"
        )
    starts = np.arange(max(train_end, window + offset), n_time - horizon + 1)
    if starts.size == 0:
        raise SeriesLengthError(
            f"no held-out window: with {n_time} samples, train_end={train_end} and "
            f"horizon={horizon} nothing is left to forecast (lower train_fraction)"
        )
    n_scored = 2 if outputs == "site" else 2 * velocity.sizes["site"]
    if outputs == "all" and approach == "temporal":
        _, all_labels, all_order = _features(velocity, site, "spatial")
        scored_values = _features(velocity, site, "spatial")[0]
        scored_labels = all_labels
    else:
        scored_values, scored_labels = values[:, :n_scored], labels[:n_scored]
        all_order = order

    net = {
        "hidden_size": _positive_int(hidden_size, "hidden_size"),
        "num_layers": _positive_int(num_layers, "num_layers"),
        "dropout": float(dropout),
        "learning_rate": float(learning_rate),
    }
    fit = {
        "epochs": _positive_int(epochs, "epochs"),
        "batch_size": _positive_int(batch_size, "batch_size"),
        "patience": None if patience is None else _positive_int(patience, "patience"),
        "validation": float(validation),
    }
    common = {
        "window": window,
        "horizon": horizon,
        "net": net,
        "fit": fit,
        "n_mc": n_mc,
        "seed": int(seed),
        "n_networks": n_networks,
        "differencing": bool(differencing),
    }
    baselines = _fit_baselines(scored_values[:train_end], ar_order, ar_max_order)
    methods, means, samples, networks = [], [], [], {}
    for name in cells:
        label = _CELL_LABELS[name]
        if approach == "temporal" and outputs == "all":
            parts, members = [], []
            for k in range(len(all_order)):
                block = scored_values[:, 2 * k : 2 * k + 2]
                draws, summary = _network_samples(
                    block, train_end, starts, cell=name, n_inputs=2, n_outputs=2, **common
                )
                parts.append(draws)
                members += [dict(m, site=all_order[k]) for m in summary]
            draws = np.concatenate(parts, axis=-1)
        else:
            draws, members = _network_samples(
                values,
                train_end,
                starts,
                cell=name,
                n_inputs=values.shape[1],
                n_outputs=n_scored,
                **common,
            )
        methods.append(label)
        samples.append(draws)
        means.append(draws.mean(axis=0))
        networks[label] = members
    base_means, base_samples, ar_orders = _baseline_forecasts(
        baselines, scored_values, starts, horizon, n_mc, int(seed)
    )
    methods += list(_BASELINES)
    means = np.concatenate([np.asarray(means).reshape((-1,) + base_means.shape[1:]), base_means])
    samples = np.concatenate(
        [np.asarray(samples).reshape((-1,) + base_samples.shape[1:]), base_samples]
    )

    observed = np.stack([scored_values[starts + h] for h in range(horizon)], axis=1)
    target_time = time[starts[:, None] + np.arange(horizon)[None, :]]
    window_coords = {
        "time": ("time", time[starts], {"units": "year", "long_name": "epoch of first target"}),
        "start_index": ("time", starts),
        "target_time": (("time", "lead"), target_time, {"units": "year"}),
        "lead": np.arange(1, horizon + 1),
        "feature": scored_labels,
    }
    units = {"units": "km/yr"}
    observed_da = xr.DataArray(
        observed, dims=("time", "lead", "feature"), coords=window_coords, attrs=units
    )
    mean_da = xr.DataArray(
        means,
        dims=("forecast", "time", "lead", "feature"),
        coords=dict(window_coords, forecast=methods),
        attrs=units,
    )
    samples_da = xr.DataArray(
        samples,
        dims=("forecast", "sample", "time", "lead", "feature"),
        coords=dict(window_coords, forecast=methods, sample=np.arange(samples.shape[1])),
        attrs=units,
    )
    # the series the networks read (temporal + all: each site's own two components)
    per_site = approach == "temporal" and outputs == "all"
    series_da = xr.DataArray(
        scored_values if per_site else values,
        dims=("time", "feature"),
        coords={
            "time": ("time", time, {"units": "year"}),
            "feature": scored_labels if per_site else labels,
        },
        attrs=units,
    )
    config = {
        "approach": approach,
        "cells": list(cells),
        "window": window,
        "horizon": horizon,
        "train_fraction": float(train_fraction),
        "site": site,
        "outputs": outputs,
        **net,
        **fit,
        "differencing": bool(differencing),
        "n_networks": n_networks,
        "n_mc": n_mc,
        "seed": int(seed),
        "ar_order": ar_order,
        "ar_max_order": ar_max_order,
        "series_attrs": {
            k: (v if isinstance(v, str) else float(v))
            for k, v in getattr(series, "attrs", {}).items()
            if isinstance(v, str | int | float | np.floating | np.integer)
        },
    }
    scores = _scores(observed, means, samples, scored_values[:train_end])
    scores_da = xr.DataArray(
        scores,
        dims=("forecast", "metric"),
        coords={"forecast": methods, "metric": _metric_names(horizon)},
        attrs={"n_windows": int(starts.size)},
    )
    return VelocityStudyResult(
        config=config,
        series=series_da,
        observed=observed_da,
        mean=mean_da,
        samples=samples_da,
        scores=scores_da,
        train_end=train_end,
        networks=networks,
        ar_orders=list(ar_orders),
    )


# --------------------------------------------------------------------------------------
# training-fraction sweep
# --------------------------------------------------------------------------------------


@dataclass(frozen=True)
class FractionSweepResult:
    """Scores of :func:`run_velocity_study` for several training fractions.

    Attributes
    ----------
    scores : xarray.DataArray
        (train_fraction, test_set, forecast, metric). ``test_set="own"``: each fraction's
        own held-out windows (fewer as the fraction grows); ``"common"``: the windows
        held out by *every* fraction (those of the largest), so that the fractions are
        compared on the same values.
    n_windows : xarray.DataArray
        (train_fraction, test_set): number of windows scored.
    results : list of VelocityStudyResult
        The runs, in the order of the fractions.
    """

    scores: xr.DataArray
    n_windows: xr.DataArray
    results: list = field(default_factory=list, repr=False)

    def table(self, metric: str = "rmse", test_set: str = "common", digits: int = 3) -> str:
        """Markdown table of one metric: one row per method, one column per fraction."""
        if metric not in [str(m) for m in self.scores["metric"].values]:
            raise ValueError(f"unknown metric {metric!r}")
        part = self.scores.sel(metric=metric, test_set=test_set)
        fractions = [float(f) for f in part["train_fraction"].values]
        header = "| forecast | " + " | ".join(f"{f:g}" for f in fractions) + " |"
        lines = [header, "|---|" + "|".join("---:" for _ in fractions) + "|"]
        for method in part["forecast"].values:
            cells = [f"{float(v):.{digits}g}" for v in part.sel(forecast=method).values]
            lines.append(f"| {method} | " + " | ".join(cells) + " |")
        return "\n".join(lines) + "\n"

    def to_dict(self) -> dict:
        """JSON-serialisable: the score tables and the number of windows."""
        out = {"fractions": [float(f) for f in self.scores["train_fraction"].values]}
        for test_set in self.scores["test_set"].values:
            part = self.scores.sel(test_set=test_set)
            out[str(test_set)] = {
                f"{float(f):g}": {
                    str(method): {
                        str(m): float(v)
                        for m, v in zip(
                            part["metric"].values,
                            part.sel(train_fraction=f, forecast=method).values,
                            strict=True,
                        )
                    }
                    for method in part["forecast"].values
                }
                for f in part["train_fraction"].values
            }
            out[f"n_windows_{test_set}"] = [
                int(n) for n in self.n_windows.sel(test_set=test_set).values
            ]
        if self.results:
            out["config"] = self.results[0].config
        return _json_safe(out)

    def save(self, directory, figures: bool = True) -> Path:
        """Write ``sweep.json`` and ``sweep.nc`` (and ``sweep.png``) atomically."""
        directory = Path(directory)
        directory.mkdir(parents=True, exist_ok=True)
        write_json(directory / "sweep.json", self.to_dict())
        with atomic_path(directory / "sweep.nc") as tmp:
            xr.Dataset({"scores": self.scores, "n_windows": self.n_windows}).to_netcdf(tmp)
        if figures:
            import matplotlib.pyplot as plt

            fig = plot_fraction_sweep(self)
            save_figure(fig, directory / "sweep.png")
            plt.close(fig)
        return directory


def training_fraction_sweep(
    series=None, fractions: Sequence[float] = DEFAULT_FRACTIONS, **study_kwargs
) -> FractionSweepResult:
    """Run :func:`run_velocity_study` for several training fractions.

    Parameters
    ----------
    series : optional
        As in :func:`run_velocity_study` (default: the gufm1 series, built once).
    fractions : sequence of float
        Training fractions, each in (0, 1) (default 0.75, 0.8, 0.85, 0.9).
    **study_kwargs
        Other arguments of :func:`run_velocity_study` (not ``train_fraction``).

    Returns
    -------
    FractionSweepResult
        Scores on each fraction's own held-out windows and on the common ones.
    """
    if "train_fraction" in study_kwargs:
        raise ForecastConfigError("give the fractions in 'fractions', not train_fraction")
    fractions = sorted(float(f) for f in fractions)
    if not fractions:
        raise ForecastConfigError("fractions must not be empty")
    if series is None:
        series = site_velocity_series()
    results = [run_velocity_study(series, train_fraction=f, **study_kwargs) for f in fractions]
    common_start = max(r.train_end for r in results)
    own = [r.scores for r in results]
    shared = [r.score(first_index=common_start) for r in results]
    scores = xr.concat(
        [
            xr.concat(own, dim="train_fraction"),
            xr.concat(shared, dim="train_fraction"),
        ],
        dim="test_set",
        coords="minimal",
        compat="override",
        combine_attrs="drop",
    ).assign_coords(train_fraction=fractions, test_set=["own", "common"])
    n_windows = xr.DataArray(
        [[r.n_test_windows for r in results], [s.attrs["n_windows"] for s in shared]],
        dims=("test_set", "train_fraction"),
        coords={"test_set": ["own", "common"], "train_fraction": fractions},
    ).transpose("train_fraction", "test_set")
    return FractionSweepResult(
        scores=scores.transpose("train_fraction", "test_set", "forecast", "metric"),
        n_windows=n_windows,
        results=results,
    )


# --------------------------------------------------------------------------------------
# figures
# --------------------------------------------------------------------------------------


def plot_site_series(series, axes=None):
    """``u_theta`` and ``u_phi`` at every site against time (two panels).

    Parameters
    ----------
    series : xarray.Dataset or xarray.DataArray
        Output of :func:`site_velocity_series` (or its ``velocity``).
    axes : sequence of two matplotlib Axes, optional

    Returns
    -------
    matplotlib.figure.Figure
    """
    import matplotlib.pyplot as plt

    velocity = _velocity_array(series)
    if axes is None:
        fig, axes = plt.subplots(2, 1, figsize=(9, 6.5), sharex=True, constrained_layout=True)
    else:
        fig = axes[0].figure
    names = {"u_theta": "u_theta (southward)", "u_phi": "u_phi (eastward)"}
    for ax, component in zip(axes, COMPONENTS, strict=True):
        for k, site in enumerate(velocity["site"].values):
            lat = (
                float(velocity["latitude"].sel(site=site))
                if "latitude" in velocity.coords
                else None
            )
            lon = (
                float(velocity["longitude"].sel(site=site))
                if "longitude" in velocity.coords
                else None
            )
            where = f" ({lat:g}°, {lon:g}°)" if lat is not None else ""
            ax.plot(
                velocity["time"],
                velocity.sel(site=site, component=component),
                lw=2.2 if k == 0 else 1.2,
                label=f"{site}{where}",
            )
        ax.set_ylabel(f"{names[component]} (km/yr)")
        ax.grid(alpha=0.3)
    axes[-1].legend(
        fontsize=8, ncol=2, title="site (lat N, lon E)", title_fontsize=8, loc="lower left"
    )
    axes[-1].set_xlabel("year")
    return fig


def _colour(method: str, index: int) -> str:
    """Fixed colour per forecast label, so that every figure uses the same ones."""
    fixed = {"GRU": "C0", "LSTM": "C1", "persistence": "C2", "climatology": "C3", "AR": "C4"}
    return fixed.get(method, f"C{5 + index % 5}")


def plot_study_forecasts(result: VelocityStudyResult, methods=None, feature=None, history=12):
    """Held-out forecasts with 90 % bands: rows components, columns leads.

    Each forecast is drawn as the median of its predictive samples with a bar from their
    5 % to their 95 % quantile.

    Parameters
    ----------
    result : VelocityStudyResult
    methods : sequence of str, optional
        Forecasts to show (default all but climatology, whose band would fill the panel;
        it is in the score table).
    feature : sequence of str, optional
        Features (default the target site's two components).
    history : int
        Samples of the series shown before the first held-out window.

    Returns
    -------
    matplotlib.figure.Figure
    """
    import matplotlib.pyplot as plt
    from matplotlib.ticker import MaxNLocator

    if methods is None:
        methods = [m for m in result.methods if m != "climatology"]
    methods = list(methods)
    features = list(result.observed["feature"].values[:2]) if feature is None else list(feature)
    horizon = result.observed.sizes["lead"]
    fig, axes = plt.subplots(
        len(features),
        horizon,
        figsize=(4.6 * horizon, 3.2 * len(features)),
        squeeze=False,
        constrained_layout=True,
        sharex=True,
    )
    time = result.series["time"].values
    first = max(0, result.train_end - history)
    width = 0.6 * float(np.median(np.diff(time)))
    offsets = np.linspace(-width / 2, width / 2, len(methods))
    for row, name in enumerate(features):
        series_column = list(result.series["feature"].values).index(name)
        for lead in range(horizon):
            ax = axes[row, lead]
            ax.plot(
                time[first:],
                result.series.values[first:, series_column],
                "k-",
                lw=1.5,
                label="series",
            )
            ax.axvline(
                time[result.train_end] - 0.5 * (time[1] - time[0]),
                color="0.5",
                ls=":",
                label="end of training",
            )
            verify = result.observed["target_time"].values[:, lead]
            for k, method in enumerate(methods):
                draws = result.samples.sel(forecast=method, feature=name).values[:, :, lead]
                # median and 5-95 % quantiles of the same samples: the marker always lies
                # within its bar (a sample mean need not, for skewed samples)
                lo, centre, hi = np.quantile(draws, [0.05, 0.5, 0.95], axis=0)
                ax.errorbar(
                    verify + offsets[k],
                    centre,
                    yerr=[centre - lo, hi - centre],
                    fmt="o",
                    ms=3.5,
                    capsize=2,
                    color=_colour(method, k),
                    label=method,
                )
            ax.set_title(f"{name}, lead {lead + 1}", fontsize=10)
            ax.xaxis.set_major_locator(MaxNLocator(integer=True))
            ax.set_ylabel(f"{name.split('/')[-1]} (km/yr)")
            ax.grid(alpha=0.3)
            if row == len(features) - 1:
                ax.set_xlabel("year")
    axes[0, 0].legend(fontsize=7, ncol=2)
    approach = result.config.get("approach", "")
    fig.suptitle(
        f"{approach} approach: forecasts of the held-out years with 90 % intervals "
        f"(train fraction {result.config.get('train_fraction', 0):g})",
        fontsize=11,
    )
    return fig


def _minor_log_label(value: float, _position) -> str:
    """Label the minor ticks 2 and 5 of each decade of a log axis, no others."""
    if value <= 0:
        return ""
    leading = round(value / 10 ** math.floor(math.log10(value)))
    return f"{value:g}" if leading in (2, 5) else ""


def plot_fraction_sweep(sweep: FractionSweepResult, metrics=("rmse", "crps"), test_set="common"):
    """Scores against the training fraction, one line per method.

    Parameters
    ----------
    sweep : FractionSweepResult
    metrics : sequence of str
        Metrics to plot, one panel each.
    test_set : {"common", "own"}

    Returns
    -------
    matplotlib.figure.Figure
    """
    import matplotlib.pyplot as plt
    from matplotlib.ticker import FuncFormatter

    fig, axes = plt.subplots(
        1, len(metrics), figsize=(4.8 * len(metrics), 3.6), squeeze=False, constrained_layout=True
    )
    fractions = sweep.scores["train_fraction"].values
    units = {"coverage_90": "", "mase": ""}
    for ax, metric in zip(axes[0], metrics, strict=True):
        for k, method in enumerate(sweep.scores["forecast"].values):
            ax.plot(
                fractions,
                sweep.scores.sel(metric=metric, test_set=test_set, forecast=method),
                "o-",
                color=_colour(str(method), k),
                label=str(method),
            )
        if metric not in units:  # scores in km/yr: climatology is 5-10x the others
            ax.set_yscale("log")
            ax.yaxis.set_major_formatter(FuncFormatter(lambda value, _: f"{value:g}"))
            ax.yaxis.set_minor_formatter(FuncFormatter(_minor_log_label))
            ax.tick_params(axis="y", which="minor", labelsize=7)
        unit = units.get(metric, " (km/yr, log scale)")
        ax.set_xlabel("training fraction")
        ax.set_ylabel(f"{metric}{unit}")
        ax.set_xticks(fractions)
        ax.grid(alpha=0.3)
    counts = sweep.n_windows.sel(test_set=test_set).values
    windows = (
        f"{counts[0]} windows" if len(set(counts)) == 1 else f"{counts[0]} to {counts[-1]} windows"
    )
    axes[0, 0].legend(fontsize=8)
    fig.suptitle(f"scores on the {test_set} held-out windows ({windows})", fontsize=10)
    return fig
