"""Forecasting the axial dipole moment of the last 2 Myr: recurrent networks vs baselines.

The study of the data-science talk "What is Data Science: a concise introduction with
typical applications" (its geomagnetism part), made quantitative: an LSTM
(four layers of 50 units, dropout 0.2 after each, a dense output, each prediction from
the 60 preceding values) is trained on the first 65 % of a dipole-moment series and
judged on the held-out rest against persistence, climatology, AR(3) (the published
model of the axial dipole moment), AR(p) with p chosen by AIC, and an Ornstein-Uhlenbeck
process, all fitted on the same training part only.

Data
----
PADM2M (Ziegler et al. 2011) and Sint-2000 (Valet et al. 2005), 2000 values at 1 kyr
spacing from -1.999 Ma to 0 Ma, read through :func:`bayescore.datasets.fetch`; the
``"signed"`` quantity keeps the polarity (sign from the geomagnetic polarity time
scale, so the training part holds the reversals of the Matuyama chron and the
Brunhes-Matuyama reversal near -0.78 Ma, the held-out part is the Brunhes chron), the
``"magnitude"`` quantity is its absolute value. Units: ``1e22 A m^2``; time in Ma
(negative before present); spectra in cycles/kyr.

What is computed
----------------
1. **Networks**: one :class:`~bayescore.forecast.rnn.RNNForecaster` per entry of
   ``targets``: ``"level"`` is the talk's network (it sees the standardised window and
   predicts the standardised value), ``"increment"`` sees the window's levels and
   one-step increments (``inputs="level+increment"``) and predicts the change from the
   last input value in units of the training part's RMS step (zero output is
   persistence; see :mod:`bayescore.forecast.rnn` for why). Each is
   trained on ``series[:train_end]`` alone (``train_end = round(train_fraction * n)``;
   the latest 10 % of its windows validate, for early stopping and the noise estimate).
2. **Baselines** (:mod:`bayescore.forecast.baselines`), fitted on the same training
   part with ``dt = 1`` step (kyr).
3. **One-step predictions** of every held-out value from the true history before it,
   and **free-running forecasts** from the end of the training part over
   ``forecast_steps`` steps (default: the whole held-out part), as predictive
   distributions: ``n_mc`` samples, their mean, sd and quantiles.
4. **Scores** (:mod:`bayescore.forecast.metrics`) of each forecaster: RMSE, MAE, MASE
   (MAE over the in-sample MAE of one-step persistence on the training part), CRPS,
   mean pinball loss over the quantile levels, coverage and mean width of the 50, 90 and
   95 % central intervals, the 90 % interval (Winkler) score, and spectral scores:
   ``lsd_db``, the log-spectral distance (dB, :func:`bayescore.spectral.compare_psd`)
   between the PSD of the predicted mean series and that of the held-out series
   (undefined, NaN, for a constant prediction such as climatology's);
   ``lsd_median_db``, the same for the median PSD of the sample paths; and
   ``envelope_outside``, the fraction of frequencies at which the held-out PSD leaves
   the 2.5-97.5 % band of the sample paths' PSDs (:func:`bayescore.spectral.psd_envelope`;
   about 5 % when the predicted paths have the observed spectrum). The sample paths are,
   for free-running forecasts, the forecast paths of every forecaster; for one-step
   predictions, the networks' noise-free MC-dropout passes (each the prediction series of
   one thinned network; the independent noise draws would only add a white floor), so
   the one-step envelope scores are NaN for the baselines, which have no such paths.
   All spectra are sine-multitaper estimates (``psd_method``) with ``dt`` in kyr.
   The one-step table also holds Diebold-Mariano tests of equal accuracy
   (:func:`bayescore.forecast.comparison.diebold_mariano`, h = 1) of every forecaster's
   squared error and CRPS against the best baseline for that loss (:data:`DM_METRICS`).

Predictive distributions: how the two parts of the uncertainty are combined
--------------------------------------------------------------------------
For a network, each of the ``n_mc`` samples is one Monte-Carlo-dropout pass (dropout
kept on, one fresh set of masks per pass, shared by all time steps of the pass: one
thinned network, Gal & Ghahramani 2016), plus an independent Gaussian draw of standard
deviation ``noise_sd``, the root-mean-square residual of the deterministic network on
its validation windows. The spread of the passes is the *epistemic* part, the noise the
*aleatoric* part, and the samples' variance is

    total variance = variance of the MC-dropout passes + noise_sd**2

(``epistemic_sd`` in the outputs is the spread of the passes alone). The one-step
predictive mean is the mean of the passes (the noise has zero mean); quantiles,
intervals, CRPS and PIT are those of the noisy samples. In free-running forecasts each
noisy sample is fed back as the next input (ancestral sampling), so the spread grows
with lead time and the predictive mean is the mean of the noisy paths. The baselines'
predictive distributions are Gaussian with parameters fixed at their estimates
(no parameter uncertainty): their means, sds and quantiles are exact, and their samples
(for the spectral envelopes) are draws from them: independent draws for one-step
predictions, sample paths of the model for free-running forecasts.

Outputs
-------
The data loading is in :mod:`bayescore.studies.dipole_data`, the result class in
:mod:`bayescore.studies.dipole_result`, the figures in :mod:`bayescore.studies.dipole_figures`
(all importable from here).
:func:`run_dipole_study` returns a :class:`DipoleStudyResult`: the series, the one-step
and free-running predictive distributions, the spectra and the score tables as labelled
:class:`xarray.Dataset` objects, the fitted parameters, and the trained networks.
:meth:`DipoleStudyResult.save` writes them (netCDF, JSON, the networks' ``.npz``)
atomically; :func:`plot_dipole_prediction` and :func:`plot_dipole_spectra` draw the
figures.
"""

from __future__ import annotations

import math
import sys
import time
import warnings
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import xarray as xr
from scipy import stats

from bayescore.errors import (
    ForecastConfigError,
    ModelFitError,
    SeriesLengthError,
)
from bayescore.forecast import metrics
from bayescore.forecast.baselines import (
    AutoRegressive,
    BaselineForecaster,
    Climatology,
    OrnsteinUhlenbeck,
    Persistence,
)
from bayescore.forecast.comparison import compare_with_best
from bayescore.spectral import compare_psd, psd, psd_envelope
from bayescore.studies.dipole_data import QUANTITIES, SERIES, UNITS, load_dipole_series
from bayescore.studies.dipole_figures import plot_dipole_prediction, plot_dipole_spectra
from bayescore.studies.dipole_result import (
    DM_METRICS,
    FREE_RUN_TABLE_METRICS,
    LEVELS,
    ONE_STEP_METRICS,
    QUANTILES,
    TABLE_METRICS,
    DipoleStudyResult,
    _intervals,
)

__all__ = [
    "DM_METRICS",
    "TABLE_METRICS",
    "FREE_RUN_TABLE_METRICS",
    "SERIES",
    "QUANTITIES",
    "UNITS",
    "DipoleStudyResult",
    "load_dipole_series",
    "run_dipole_study",
    "plot_dipole_prediction",
    "plot_dipole_spectra",
]

AR_MAX_ORDER = 10
#: Shortest held-out part: spectra need a few independent frequencies.
MIN_TEST = 32
BASELINES = ("persistence", "climatology", "AR(3)", "AR(AIC)", "OU")


# ----------------------------------------------------------------------------- data


# ----------------------------------------------------------------------------- result


def _spectral_scores(
    observed: np.ndarray, mean: np.ndarray, paths: np.ndarray | None, dt: float, method: str
) -> tuple[dict, dict]:
    """Spectral scores and curves of one forecaster against the observed series; without
    sample ``paths`` the envelope scores and curves are NaN."""
    observed_spec = psd(observed, dt, method)
    band = observed_spec.frequency >= 1.0 / observed_spec.duration * (1 - 1e-12)
    if np.ptp(mean) > 0:
        mean_spec = psd(mean, dt, method)
        lsd = compare_psd(observed, mean, dt, method=method).log_spectral_distance_db
        mean_psd = mean_spec.psd
    else:  # a constant prediction has no spectrum: distance undefined
        lsd = math.nan
        mean_psd = np.zeros_like(observed_spec.psd)
    scores = {"lsd_db": float(lsd), "lsd_median_db": math.nan, "envelope_outside": math.nan}
    nan = np.full_like(observed_spec.psd, np.nan)
    curves = {"observed": observed_spec, "mean_psd": mean_psd}
    curves.update(envelope_lower=nan, envelope_median=nan, envelope_upper=nan)
    if paths is not None:
        envelope = psd_envelope(paths, dt, method)
        scores["lsd_median_db"] = float(
            metrics.log_spectral_distance(envelope.median[band], observed_spec.psd[band])
        )
        scores["envelope_outside"] = envelope.fraction_outside(observed_spec)
        curves.update(
            envelope_lower=envelope.lower,
            envelope_median=envelope.median,
            envelope_upper=envelope.upper,
        )
    return scores, curves


def _equal_accuracy_columns(rows, predictive, names, truth, baselines) -> dict[str, str]:
    """Add the Diebold-Mariano columns (:data:`DM_METRICS`, one-step losses, h = 1) of
    every forecaster against the best baseline to ``rows``; return the reference names."""
    references = {}
    for loss_name, loss_of in (
        ("se", lambda p: (p.mean - truth) ** 2),
        ("crps", lambda p: p.crps),
    ):
        losses = {name: np.asarray(loss_of(predictive[name]), np.float64) for name in names}
        best, results = compare_with_best(losses, list(baselines))
        references[loss_name] = best
        for name in names:
            result = results[name]
            rows[name][f"dm_{loss_name}"] = math.nan if result is None else result.statistic
            rows[name][f"dm_{loss_name}_p"] = math.nan if result is None else result.p_value
    return references


def _score_row(observed, train, mean, quantiles, crps, pit) -> dict:
    """Point, probabilistic and interval scores of one forecaster (floats)."""
    row = {
        "rmse": float(metrics.rmse(observed, mean)),
        "mae": float(metrics.mae(observed, mean)),
        "mase": float(metrics.mase(observed, mean, train)),
        "crps": float(np.mean(crps)),
        "pinball": float(np.mean(metrics.pinball_loss(observed, quantiles, np.asarray(QUANTILES)))),
    }
    for level in LEVELS:
        lower, upper = _intervals(quantiles, level)
        percent = round(100 * level)
        row[f"coverage_{percent}"] = float(metrics.interval_coverage(observed, lower, upper))
        row[f"width_{percent}"] = float(metrics.interval_width(lower, upper))
        if level == 0.9:
            row["interval_score_90"] = float(
                np.mean(metrics.interval_score(observed, lower, upper, level=0.9))
            )
    row["pit_ks"] = float(stats.kstest(np.asarray(pit), "uniform").statistic)
    return row


@dataclass
class _Predictive:
    """One forecaster's predictive distribution over a stretch of the held-out part."""

    mean: np.ndarray
    sd: np.ndarray
    epistemic_sd: np.ndarray
    quantiles: np.ndarray
    samples: np.ndarray
    crps: np.ndarray
    pit: np.ndarray
    paths: np.ndarray | None = None  # sample paths for the spectral envelope


def _gaussian_predictive(mean, sd, observed, samples, paths=None) -> _Predictive:
    z = stats.norm.ppf(np.asarray(QUANTILES))[:, None]
    return _Predictive(
        mean=np.asarray(mean, np.float64),
        sd=np.asarray(sd, np.float64),
        epistemic_sd=np.zeros_like(mean),
        quantiles=mean[None] + z * sd[None],
        samples=np.asarray(samples, np.float64),
        crps=np.asarray(metrics.crps_gaussian(mean, sd, observed)),
        pit=np.asarray(metrics.pit_gaussian(mean, sd, observed)),
        paths=paths,
    )


def _sample_predictive(samples, mean, epistemic_sd, observed, paths) -> _Predictive:
    samples = np.asarray(samples, np.float64)
    return _Predictive(
        mean=np.asarray(mean, np.float64),
        sd=samples.std(axis=0, ddof=1),
        epistemic_sd=np.asarray(epistemic_sd, np.float64),
        quantiles=np.quantile(samples, QUANTILES, axis=0),
        samples=samples,
        # fair CRPS: unbiased for the distribution the samples come from, comparable
        # with the closed-form CRPS of the Gaussian baselines
        crps=np.asarray(metrics.crps_ensemble(samples, observed, fair=True)),
        pit=np.asarray(metrics.pit(samples, observed)),
        paths=paths,
    )


# ----------------------------------------------------------------------------- study


def _check_fraction(train_fraction) -> float:
    value = float(train_fraction)
    if not (math.isfinite(value) and 0.0 < value < 1.0):
        raise ForecastConfigError(
            f"train_fraction must lie strictly between 0 and 1 (a held-out part is needed), "
            f"got {train_fraction!r}"
        )
    return value


def _check_int(value, name: str, minimum: int = 1) -> int:
    if isinstance(value, bool) or not isinstance(value, int | np.integer) or value < minimum:
        raise ForecastConfigError(f"{name} must be an integer >= {minimum}, got {value!r}")
    return int(value)


def _fit_baselines(train: np.ndarray) -> tuple[dict, dict]:
    """The baselines fitted on the training part, and their parameters (JSON-able)."""
    candidates = {
        "persistence": Persistence(),
        "climatology": Climatology(),
        "AR(3)": AutoRegressive(order=3),
        "AR(AIC)": AutoRegressive(max_order=AR_MAX_ORDER, criterion="aic"),
        "OU": OrnsteinUhlenbeck(),
    }
    fitted: dict[str, BaselineForecaster] = {}
    parameters: dict[str, dict] = {}
    for name, model in candidates.items():
        try:
            model.fit(train, dt=1.0)
        except ModelFitError as error:
            warnings.warn(f"baseline {name} left out: {error}", stacklevel=3)
            parameters[name] = {"skipped": str(error)}
            continue
        fitted[name] = model
        parameters[name] = _baseline_parameters(model)
    return fitted, parameters


def _baseline_parameters(model: BaselineForecaster) -> dict:
    if isinstance(model, Persistence):
        return {"step_sd": float(model.step_sd_[0]), "units": UNITS}
    if isinstance(model, Climatology):
        return {"mean": float(model.mean_[0]), "sd": float(model.sd_[0]), "units": UNITS}
    if isinstance(model, AutoRegressive):
        order = int(model.order_[0])
        return {
            "order": order,
            "intercept": float(model.intercept_[0]),
            "coefficients": model.coef_[0, :order].tolist(),
            "stderr": model.stderr_[0, : order + 1].tolist(),
            "sigma": float(model.sigma_[0]),
            "units": UNITS,
        }
    return {
        "gamma_per_kyr": float(model.gamma_[0]),
        "mu": float(model.mu_[0]),
        "diffusion_per_kyr": float(model.diffusion_[0]),
        "innovation_sd": float(model.innovation_sd_[0]),
        "stderr": {k: float(v[0]) for k, v in model.stderr_.items()},
        "units": UNITS,
    }


def _say(progress: bool, message: str, start: float) -> None:
    if progress:
        print(f"dipole study: {message} ({time.perf_counter() - start:.1f} s)", file=sys.stderr)


def run_dipole_study(
    series="padm2m",
    quantity: str = "signed",
    *,
    cell: str = "lstm",
    targets: Sequence[str] = ("increment", "level"),
    train_fraction: float = 0.65,
    window: int = 60,
    hidden_size: int = 50,
    num_layers: int = 4,
    dropout: float = 0.2,
    epochs: int = 50,
    batch_size: int = 32,
    learning_rate: float = 1e-3,
    validation: float = 0.1,
    patience: int | None = 10,
    n_mc: int = 100,
    forecast_steps: int | None = None,
    psd_method: str = "multitaper",
    seed: int = 0,
    dt_kyr: float = 1.0,
    progress: bool = False,
) -> DipoleStudyResult:
    """Train recurrent networks and baselines on the first part of a dipole series and
    score their forecasts of the rest (see the module docstring for the design).

    Parameters
    ----------
    series : {"padm2m", "sint2000"}, path-like or array_like
        The series (see :func:`load_dipole_series`).
    quantity : {"signed", "magnitude"}
        Signed moment (with its polarity reversals) or its absolute value.
    cell : {"lstm", "gru"}
        Recurrent cell of the networks.
    targets : sequence of {"increment", "level"}
        One network per entry, named ``"LSTM (increment)"`` etc. (module docstring);
        may be empty (baselines only).
    train_fraction : float
        Fraction of the series, from its start, used for training; in (0, 1).
    window, hidden_size, num_layers, dropout : int, int, int, float
        Network: input length (steps), units per layer, layers, dropout rate
        (the talk's network: 60, 50, 4, 0.2).
    epochs, batch_size, learning_rate, validation, patience
        Training settings of :meth:`bayescore.forecast.rnn.RNNForecaster.fit`.
    n_mc : int
        Number of Monte-Carlo samples of every predictive distribution (>= 2).
    forecast_steps : int, optional
        Length of the free-running forecasts (steps of ``dt``); default: the whole
        held-out part.
    psd_method : str
        Estimator of every spectrum (:func:`bayescore.spectral.psd`), default the
        adaptive sine multitaper.
    seed : int
        Seed of the weights, training, MC-dropout masks and every random draw; equal
        seeds give equal results.
    dt_kyr : float
        Sampling step of an array ``series`` (kyr).
    progress : bool
        Print stage lines (and the training progress) to standard error.

    Returns
    -------
    DipoleStudyResult

    Raises
    ------
    ForecastConfigError
        If a setting is out of range (``train_fraction`` outside (0, 1), unknown
        ``quantity``/``targets``, ``n_mc < 2``, ``forecast_steps`` longer than the
        held-out part, ...).
    SeriesLengthError
        If the training part is too short for the windows and AR(p) candidates, or the
        held-out part shorter than 32 values.
    ModelFitError
        If the training part is constant (raised before any training).
    DataNotFoundError, MalformedFileError, NonFiniteError, SeriesShapeError,
    UnevenSamplingError
        For bad data (see :func:`load_dipole_series`).
    """
    start_clock = time.perf_counter()
    train_fraction = _check_fraction(train_fraction)
    targets = tuple(targets)
    unknown = [t for t in targets if t not in ("level", "increment")]
    if unknown or len(set(targets)) != len(targets):
        raise ForecastConfigError(
            f"targets must be distinct entries of ('increment', 'level'), got {targets!r}"
        )
    n_mc = _check_int(n_mc, "n_mc", 2)
    window = _check_int(window, "window")
    seed = int(seed)
    data = load_dipole_series(series, quantity, dt_kyr=dt_kyr)
    values = data.values
    dt = float(data.attrs["dt_kyr"])
    n_time = len(values)
    train_end = int(round(train_fraction * n_time))
    n_test = n_time - train_end
    if n_test < MIN_TEST:
        raise SeriesLengthError(
            f"the held-out part has {n_test} values ({n_time} in all, train_fraction "
            f"{train_fraction}); at least {MIN_TEST} are needed for its spectrum"
        )
    needed = max(window + 2 if targets else 0, 2 * AR_MAX_ORDER + 2)
    if train_end < needed:
        raise SeriesLengthError(
            f"the training part has {train_end} values; at least {needed} are needed "
            f"(window={window} plus room for validation, and AR(p) up to p={AR_MAX_ORDER})"
        )
    steps = n_test if forecast_steps is None else _check_int(forecast_steps, "forecast_steps")
    if steps > n_test:
        raise ForecastConfigError(
            f"forecast_steps={steps} exceeds the held-out part ({n_test} values)"
        )
    if steps < MIN_TEST:
        raise ForecastConfigError(
            f"forecast_steps must be at least {MIN_TEST} (for its spectrum), got {steps}"
        )
    train = values[:train_end]
    if np.ptp(train) == 0.0:
        raise ModelFitError(
            f"the training part of the series is constant ({train[0]:g} {UNITS}): no "
            "forecaster can be fitted or compared on it"
        )
    observed = values[train_end:]
    observed_free = observed[:steps]
    time_test = data["time"].values[train_end:]
    rng = np.random.default_rng(seed)

    one_step: dict[str, _Predictive] = {}
    free_run: dict[str, _Predictive] = {}
    networks = {}
    fitted: dict[str, dict] = {}

    # ---- baselines first: a series they cannot model fails at once, not after training
    baselines, parameters = _fit_baselines(train)

    # ---- networks: trained on the training part alone (it is all they are given)
    from bayescore.forecast.rnn import RNNForecaster

    for target in targets:
        name = f"{cell.upper()} ({target})"
        _say(progress, f"training {name}", start_clock)
        network = RNNForecaster(
            cell=cell,
            hidden_size=hidden_size,
            num_layers=num_layers,
            dropout=dropout,
            window=window,
            learning_rate=learning_rate,
            seed=seed,
            target=target,
            inputs="level+increment" if target == "increment" else "level",
        )
        network.fit(
            train,
            train_fraction=1.0,
            epochs=epochs,
            batch_size=batch_size,
            validation=validation,
            patience=patience,
            progress=progress,
        )
        networks[name] = network
        fitted[name] = {
            "config": network.config(),
            "epochs_run": int(network.history.sizes["epoch"]),
            "best_epoch": int(network.history.attrs["best_epoch"]),
            "best_validation_loss": float(
                network.history["validation_loss"][network.history.attrs["best_epoch"]]
            ),
            "noise_sd": float(network.noise_sd[0, 0]),
            "increment_scale": (
                None if network.increment_scale is None else float(network.increment_scale[0, 0])
            ),
            "scaler": network.scaler.to_dict(),
            "split": network.split_.to_dict(),
        }
        _say(progress, f"MC-dropout predictions of {name}", start_clock)
        mc = network.predict_mc(values, n_samples=n_mc, seed=seed, start=train_end)
        one_step[name] = _sample_predictive(
            mc["samples"].values[:, :, 0, 0],
            mc["epistemic_mean"].values[:, 0, 0],
            mc["epistemic_sd"].values[:, 0, 0],
            observed,
            mc["epistemic_samples"].values[:, :, 0, 0],
        )
        fc = network.forecast_mc(train, steps, n_samples=n_mc, seed=seed)
        free_run[name] = _sample_predictive(
            fc["samples"].values[:, :, 0],
            fc["mean"].values[:, 0],
            fc["epistemic_sd"].values[:, 0],
            observed_free,
            fc["samples"].values[:, :, 0],
        )

    # ---- baselines, fitted on the same training part
    _say(progress, "baselines", start_clock)
    fitted.update(parameters)
    for name, model in baselines.items():
        mean, sd = model.predict_distribution(values, start=train_end)
        draws = mean + sd * rng.standard_normal((n_mc, n_test))
        one_step[name] = _gaussian_predictive(mean, sd, observed, draws)
        mean_f, sd_f = model.forecast_distribution(train, steps)
        paths = model.sample_forecast(train, steps, n_samples=n_mc, seed=int(rng.integers(2**31)))
        free_run[name] = _gaussian_predictive(mean_f, sd_f, observed_free, paths, paths)

    # ---- scores and spectra
    _say(progress, "scores and spectra", start_clock)
    names = list(one_step)
    tables, spectra = {}, {}
    for kind, predictive, truth, times in (
        ("one_step", one_step, observed, time_test),
        ("free_run", free_run, observed_free, time_test[:steps]),
    ):
        rows, curves = {}, {}
        for name in names:
            p = predictive[name]
            rows[name] = _score_row(truth, train, p.mean, p.quantiles, p.crps, p.pit)
            spectral, curves[name] = _spectral_scores(truth, p.mean, p.paths, dt, psd_method)
            rows[name].update(spectral)
        metric_names = list(ONE_STEP_METRICS) + ["pit_ks"]
        references = {}
        if kind == "one_step":
            references = _equal_accuracy_columns(rows, predictive, names, truth, baselines)
            metric_names += list(DM_METRICS)
        tables[kind] = xr.DataArray(
            np.array([[rows[n][m] for m in metric_names] for n in names]),
            dims=("model", "metric"),
            coords={"model": names, "metric": metric_names},
            name=f"{kind}_scores",
            attrs={
                "description": (
                    "scores over the held-out part; rmse, mae, crps, pinball, width_*, "
                    f"interval_score_90 in {UNITS}; lsd_* in dB; mase, coverage_*, "
                    "envelope_outside, pit_ks dimensionless"
                    + (
                        "; dm_se, dm_crps: Diebold-Mariano statistics (HLN-corrected, "
                        "negative = more accurate) of the squared error and the CRPS "
                        "against the best baseline, dm_*_p their two-sided p-values"
                        if references
                        else ""
                    )
                ),
                **{f"dm_reference_{loss}": name for loss, name in references.items()},
            },
        )
        spectra[kind] = _spectra_dataset(curves, names, kind)
        if kind == "one_step":
            one_step_ds = _predictive_dataset(predictive, names, truth, times, kind)
        else:
            free_run_ds = _predictive_dataset(predictive, names, truth, times, kind)

    config = {
        "series": series if isinstance(series, str) else data.attrs["source"],
        "source": data.attrs["source"],
        "quantity": quantity,
        "cell": cell,
        "targets": list(targets),
        "train_fraction": train_fraction,
        "window": window,
        "hidden_size": hidden_size,
        "num_layers": num_layers,
        "dropout": dropout,
        "epochs": epochs,
        "batch_size": batch_size,
        "learning_rate": learning_rate,
        "validation": validation,
        "patience": patience,
        "n_mc": n_mc,
        "psd_method": psd_method,
        "seed": seed,
        "n_time": n_time,
        "train_end": train_end,
        "n_test": n_test,
        "forecast_steps": steps,
        "dt_kyr": dt,
        "train_time_Ma": [float(data["time"].values[0]), float(data["time"].values[train_end - 1])],
        "test_time_Ma": [float(time_test[0]), float(time_test[-1])],
        "baselines": [n for n in BASELINES if n in baselines],
        "runtime_s": round(time.perf_counter() - start_clock, 2),
    }
    _say(progress, "done", start_clock)
    return DipoleStudyResult(
        config=config,
        series=data,
        one_step=one_step_ds,
        free_run=free_run_ds,
        spectra=spectra,
        scores=tables,
        fitted=fitted,
        networks=networks,
    )


def _predictive_dataset(predictive: dict, names: list[str], truth, times, kind: str):
    def stack(attribute):
        return np.stack([getattr(predictive[n], attribute) for n in names])

    moment = {"units": UNITS}
    description = {
        "one_step": "one-step-ahead predictive distributions (true history before each value)",
        "free_run": "free-running forecasts from the end of the training part",
    }[kind]
    return xr.Dataset(
        {
            "observed": ("time", truth, dict(moment, long_name="held-out values")),
            "mean": (("model", "time"), stack("mean"), dict(moment, long_name="predictive mean")),
            "sd": (("model", "time"), stack("sd"), dict(moment, long_name="predictive sd")),
            "epistemic_sd": (
                ("model", "time"),
                stack("epistemic_sd"),
                dict(moment, long_name="MC-dropout spread (0: not modelled)"),
            ),
            "quantiles": (("model", "quantile", "time"), stack("quantiles"), moment),
            "samples": (("model", "sample", "time"), stack("samples"), moment),
            "pit": (("model", "time"), stack("pit"), {"long_name": "PIT of the held-out values"}),
        },
        coords={
            "model": names,
            "time": ("time", times, {"units": "Ma"}),
            "quantile": list(QUANTILES),
            "sample": np.arange(predictive[names[0]].samples.shape[0]),
        },
        attrs={"description": description, "units": UNITS},
    )


def _spectra_dataset(curves: dict, names: list[str], kind: str) -> xr.Dataset:
    observed = curves[names[0]]["observed"]
    psd_units = {"units": "(1e22 A m^2)^2 kyr"}
    return xr.Dataset(
        {
            "observed_psd": ("frequency", observed.psd, psd_units),
            "observed_lower": ("frequency", observed.lower, psd_units),
            "observed_upper": ("frequency", observed.upper, psd_units),
            "observed_dof": ("frequency", observed.dof),
            "mean_psd": (
                ("model", "frequency"),
                np.stack([curves[n]["mean_psd"] for n in names]),
                psd_units,
            ),
            **{
                f"envelope_{part}": (
                    ("model", "frequency"),
                    np.stack([curves[n][f"envelope_{part}"] for n in names]),
                    psd_units,
                )
                for part in ("lower", "median", "upper")
            },
        },
        coords={
            "model": names,
            "frequency": ("frequency", observed.frequency, {"units": "1/kyr"}),
        },
        attrs={
            "description": f"spectra of the held-out series and the {kind} predictions",
            "method": observed.method,
            "confidence": observed.confidence,
            "envelope_quantiles": "0.025, 0.975",
            "duration_kyr": observed.duration,
        },
    )


# ----------------------------------------------------------------------------- figures
