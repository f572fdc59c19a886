"""Forecasting core-surface velocities at a site and its four neighbours.

The study of the data-science talk "What is Data Science: a concise introduction with
typical applications" (its geomagnetism part): the velocity components
``(u_theta, u_phi)`` at the core-mantle boundary under (40 N, 130 W) and at four
neighbours 5 degrees north, south, east and west (:data:`bayescore.flow.sites.DEFAULT_SITES`),
taken from core flows inverted from gufm1 every year 1935-1990, are forecast by a
recurrent network that reads 10 past vectors and predicts the next 2.

Series (:func:`site_velocity_series`)
-------------------------------------
For every epoch the frozen-flux flow (strong norm, degree ``L_F = 14``, SV equations to
``L_B + L_F = 28``) is the posterior mean of the linear-Gaussian problem of
:func:`bayescore.flow.series.invert_flow_series`, with independent epochs and one
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
  central 90 % interval of the samples; RMSE per lead; Diebold-Mariano statistic and
  p-value (h = ``horizon``) of the per-window squared error and CRPS against the best
  baseline (:data:`DM_METRICS`; NaN where there are too few windows for the test).

Limitations, honestly: at ``train_fraction=0.9`` the 50 training samples give 38 windows
of increments (34 for gradient steps, 4 for validation; 39 windows of levels) and only
5 held-out windows
(1985-1989) covering 6 years; at 0.75, 13 windows from 1977. The scores of one split
rest on a handful of strongly correlated values and change from seed to seed; the
training-fraction sweep (:func:`training_fraction_sweep`) therefore also scores every
fraction on the *same* final windows (those of the largest fraction).
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import xarray as xr

from bayescore.errors import (
    ForecastConfigError,
    SeriesLengthError,
    SeriesShapeError,
)
from bayescore.studies.velocity_figures import (
    plot_fraction_sweep,
    plot_site_series,
    plot_study_forecasts,
)
from bayescore.studies.velocity_result import (
    BASELINES,
    DM_METRICS,
    METRICS,
    VelocityStudyResult,
    _metric_names,
    _scores,
)
from bayescore.studies.velocity_series import (
    COMPONENTS,
    GUFM1_KNOT_SPACING_YR,
    _velocity_array,
    site_velocity_series,
)
from bayescore.studies.velocity_sweep import (
    DEFAULT_FRACTIONS,
    FractionSweepResult,
    training_fraction_sweep,
)

__all__ = [
    "DM_METRICS",
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


_CELL_LABELS = {"gru": "GRU", "lstm": "LSTM"}
_APPROACHES = ("temporal", "spatial")
_OUTPUTS = ("site", "all")


# --------------------------------------------------------------------------------------
# the series
# --------------------------------------------------------------------------------------


# --------------------------------------------------------------------------------------
# input handling
# --------------------------------------------------------------------------------------


def _features(series: xr.DataArray, site: str, approach: str):
    """Feature matrix (time, feature) with the target site first, and the labels."""
    sites = [str(s) for s in series["site"].values]
    if site not in sites:
        raise ForecastConfigError(f"target site {site!r} is not in the series (sites {sites})")
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


# --------------------------------------------------------------------------------------
# results
# --------------------------------------------------------------------------------------


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
    methods += list(BASELINES)
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
    scores, references = _scores(observed, means, samples, scored_values[:train_end], methods)
    scores_da = xr.DataArray(
        scores,
        dims=("forecast", "metric"),
        coords={"forecast": methods, "metric": _metric_names(horizon)},
        attrs={
            "n_windows": int(starts.size),
            **{f"dm_reference_{k}": v for k, v in references.items()},
        },
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


# --------------------------------------------------------------------------------------
# figures
# --------------------------------------------------------------------------------------
