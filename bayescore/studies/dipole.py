"""Forecasting the axial dipole moment of the last 2 Myr: recurrent networks vs baselines.

The study of the geomagnetism data-science talk
(``shared/references/talk-data-science-geomagnetism.txt``), made quantitative: an LSTM
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
:func:`run_dipole_study` returns a :class:`DipoleStudyResult`: the series, the one-step
and free-running predictive distributions, the spectra and the score tables as labelled
:class:`xarray.Dataset` objects, the fitted parameters, and the trained networks.
:meth:`DipoleStudyResult.save` writes them (netCDF, JSON, the networks' ``.npz``)
atomically; :func:`plot_dipole_prediction` and :func:`plot_dipole_spectra` draw the
figures.
"""

from __future__ import annotations

import json
import math
import os
import sys
import time
import warnings
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import xarray as xr
from scipy import stats

from bayescore.atomic import atomic_path, write_json
from bayescore.datasets import fetch
from bayescore.errors import (
    DataNotFoundError,
    ForecastConfigError,
    MalformedFileError,
    ModelFitError,
    NonFiniteError,
    SeriesLengthError,
    SeriesShapeError,
    UnevenSamplingError,
)
from bayescore.forecast import metrics
from bayescore.forecast.baselines import (
    AutoRegressive,
    BaselineForecaster,
    Climatology,
    OrnsteinUhlenbeck,
    Persistence,
)
from bayescore.spectral import EVEN_SAMPLING_RTOL, compare_psd, psd, psd_envelope

__all__ = [
    "SERIES",
    "QUANTITIES",
    "UNITS",
    "DipoleStudyResult",
    "load_dipole_series",
    "run_dipole_study",
    "plot_dipole_prediction",
    "plot_dipole_spectra",
]

#: Named series: registry key of :func:`bayescore.datasets.fetch` and a description.
SERIES = {
    "padm2m": ("dipole/padm2m_signed_dipole.csv", "PADM2M (Ziegler et al. 2011)"),
    "sint2000": ("dipole/sint2000_signed_dipole.csv", "Sint-2000 (Valet et al. 2005)"),
}
QUANTITIES = ("signed", "magnitude")
UNITS = "1e22 A m^2"
TIME_COLUMN = "time_Ma"
VALUE_COLUMN = "axial_dipole_moment_1e22Am2"
SIGMA_COLUMN = "sigma_1e22Am2"
#: Quantile levels of the predictive distributions; they hold the 50/90/95 % intervals.
QUANTILES = (0.025, 0.05, 0.25, 0.5, 0.75, 0.95, 0.975)
LEVELS = (0.5, 0.9, 0.95)
AR_MAX_ORDER = 10
#: Shortest held-out part: spectra need a few independent frequencies.
MIN_TEST = 32
BASELINES = ("persistence", "climatology", "AR(3)", "AR(AIC)", "OU")
ONE_STEP_METRICS = (
    "rmse",
    "mae",
    "mase",
    "crps",
    "pinball",
    "coverage_50",
    "width_50",
    "coverage_90",
    "width_90",
    "coverage_95",
    "width_95",
    "interval_score_90",
    "lsd_db",
    "lsd_median_db",
    "envelope_outside",
)
#: Columns of the documentation table (one-step scores).
TABLE_METRICS = (
    "rmse",
    "mae",
    "mase",
    "crps",
    "coverage_90",
    "width_90",
    "interval_score_90",
    "lsd_db",
    "envelope_outside",
)
FREE_RUN_TABLE_METRICS = (
    "rmse",
    "crps",
    "coverage_90",
    "width_90",
    "interval_score_90",
    "lsd_median_db",
    "envelope_outside",
)


# ----------------------------------------------------------------------------- data


def _read_dipole_csv(path: Path) -> tuple[np.ndarray, np.ndarray]:
    """Time (Ma) and moment (1e22 A m^2) columns of a dipole CSV file, validated."""
    import pandas as pd

    try:
        table = pd.read_csv(path, dtype=str, keep_default_na=False)
    except (pd.errors.ParserError, pd.errors.EmptyDataError, UnicodeDecodeError) as error:
        raise MalformedFileError(f"{path} is not a readable CSV table: {error}") from error
    table.columns = [str(name).strip() for name in table.columns]
    missing = [name for name in (TIME_COLUMN, VALUE_COLUMN) if name not in table.columns]
    if missing:
        raise MalformedFileError(
            f"{path} lacks the column(s) {missing}; a dipole series file has the columns "
            f"{TIME_COLUMN}, {VALUE_COLUMN}[, {SIGMA_COLUMN}] (found {list(table.columns)})"
        )
    if len(table) == 0:
        raise SeriesLengthError(f"{path} has a header and no data rows")
    columns = []
    for name in (TIME_COLUMN, VALUE_COLUMN):
        text = [str(entry).strip() for entry in table[name]]
        numeric = pd.to_numeric(pd.Series(text), errors="coerce").to_numpy(dtype=np.float64)
        missing_marks = {"nan", "", "na", "n/a", "null", "none", "inf", "-inf", "+inf"}
        marked = np.array([entry.lower() not in missing_marks for entry in text], dtype=bool)
        bad = np.isnan(numeric) & marked
        if np.any(bad):
            row = int(np.argmax(bad))
            raise MalformedFileError(
                f"{path}: column {name} has the non-numeric entry {text[row]!r} "
                f"in data row {row + 1}"
            )
        if not np.all(np.isfinite(numeric)):
            row = int(np.argmax(~np.isfinite(numeric)))
            raise NonFiniteError(
                f"{path}: column {name} has a missing, NaN or infinite value in data row "
                f"{row + 1}; fill or drop it first"
            )
        columns.append(numeric)
    return columns[0], columns[1]


def _even_step(time_ma: np.ndarray, where: str) -> float:
    """Sampling step in kyr of strictly increasing, evenly spaced times in Ma."""
    steps = np.diff(time_ma)
    if np.any(steps <= 0):
        row = int(np.argmax(steps <= 0))
        raise SeriesShapeError(
            f"{where}: times must increase strictly (oldest first); row {row + 1} is "
            f"followed by {time_ma[row + 1]} Ma after {time_ma[row]} Ma"
        )
    mean_step = (time_ma[-1] - time_ma[0]) / (len(time_ma) - 1)
    # files store times to 1e-6 Ma: allow that rounding besides the relative tolerance
    tolerance = max(EVEN_SAMPLING_RTOL * mean_step, 2e-6)
    if np.any(np.abs(steps - mean_step) > tolerance):
        raise UnevenSamplingError(
            f"{where}: samples are not evenly spaced in time (steps from {steps.min():g} to "
            f"{steps.max():g} Ma); resample onto a regular grid first"
        )
    return float(mean_step * 1000.0)


def load_dipole_series(
    series="padm2m", quantity: str = "signed", *, dt_kyr: float = 1.0
) -> xr.DataArray:
    """Read a dipole-moment series and return it labelled.

    Parameters
    ----------
    series : {"padm2m", "sint2000"}, path-like or array_like
        A named reference series (read with :func:`bayescore.datasets.fetch`, so
        ``$BAYESCORE_DATA`` is honoured), a CSV file with the columns ``time_Ma`` and
        ``axial_dipole_moment_1e22Am2`` (``sigma_1e22Am2`` optional), evenly spaced and
        oldest first, or a 1-D array of moments in 1e22 A m^2, oldest first (an
        :class:`xarray.DataArray` with a ``time`` coordinate in Ma is taken as is).
    quantity : {"signed", "magnitude"}
        The signed moment (polarity kept) or its absolute value.
    dt_kyr : float, default 1.0
        Sampling step of a plain array (kyr); its times are then
        ``(i - (n - 1)) * dt_kyr / 1000`` Ma, ending at present. Ignored for files.

    Returns
    -------
    xarray.DataArray, dims ("time",)
        The moment in 1e22 A m^2 with coordinate ``time`` (Ma, negative before present)
        and attributes ``units``, ``source``, ``quantity`` and ``dt_kyr``.

    Raises
    ------
    DataNotFoundError
        If a named series or a file cannot be found.
    MalformedFileError
        If a file lacks a column or holds non-numeric entries.
    NonFiniteError
        If a value is missing, NaN or infinite.
    SeriesShapeError, UnevenSamplingError
        If the series is not 1-D, or its times do not increase evenly.
    ForecastConfigError
        If ``quantity`` or ``dt_kyr`` is invalid.
    """
    if quantity not in QUANTITIES:
        raise ForecastConfigError(f"quantity must be one of {QUANTITIES}, got {quantity!r}")
    if isinstance(series, str | os.PathLike):
        name = str(series)
        if name.lower() in SERIES:
            key, source = SERIES[name.lower()]
            path = fetch(key)
        else:
            if not Path(name).expanduser().is_file():
                raise DataNotFoundError(
                    f"{name!r} is neither a named dipole series ({', '.join(SERIES)}) nor an "
                    "existing CSV file"
                )
            path = fetch(SERIES["padm2m"][0], path=name)
            source = str(path)
        time_ma, values = _read_dipole_csv(Path(path))
        if len(values) < 2:
            raise SeriesLengthError(f"{path} holds {len(values)} values; a series needs more")
        dt = _even_step(time_ma, str(path))
    else:
        dt_value = float(dt_kyr)
        if not (math.isfinite(dt_value) and dt_value > 0):
            raise ForecastConfigError(f"dt_kyr must be a positive step in kyr, got {dt_kyr!r}")
        values = np.asarray(getattr(series, "values", series), dtype=np.float64)
        if values.ndim != 1:
            raise SeriesShapeError(
                f"a dipole series must be 1-D (one moment per time), got shape {values.shape}"
            )
        if not np.all(np.isfinite(values)):
            index = int(np.argmax(~np.isfinite(values)))
            raise NonFiniteError(f"the series has a NaN or infinite value at index {index}")
        source = "array"
        if isinstance(series, xr.DataArray) and "time" in series.coords and len(values) > 1:
            time_ma = np.asarray(series["time"].values, dtype=np.float64)
            dt = _even_step(time_ma, "series")
            source = str(series.attrs.get("source", "array"))
        else:
            time_ma = (np.arange(len(values)) - (len(values) - 1)) * dt_value / 1000.0
            dt = dt_value
    if quantity == "magnitude":
        values = np.abs(values)
    return xr.DataArray(
        values,
        dims=("time",),
        coords={"time": ("time", time_ma, {"units": "Ma", "long_name": "time (- before present)"})},
        name="axial_dipole_moment",
        attrs={
            "units": UNITS,
            "long_name": f"{quantity} axial dipole moment",
            "source": source,
            "quantity": quantity,
            "dt_kyr": dt,
        },
    )


# ----------------------------------------------------------------------------- result


@dataclass
class DipoleStudyResult:
    """Everything :func:`run_dipole_study` computed.

    Attributes
    ----------
    config : dict
        Settings of the run and derived sizes (``n_time``, ``train_end``, ``n_test``,
        ``forecast_steps``, ``dt_kyr``, series name and quantity), JSON-serialisable.
    series : xarray.DataArray
        The series (1e22 A m^2) on ``time`` (Ma).
    one_step : xarray.Dataset
        One-step predictive distributions over the held-out part: ``observed`` (time),
        ``mean``, ``sd``, ``epistemic_sd``, ``pit`` (model, time), ``quantiles``
        (model, quantile, time), ``samples`` (model, sample, time); 1e22 A m^2.
    free_run : xarray.Dataset
        Free-running forecasts from the end of the training part, same variables with
        ``time`` the first ``forecast_steps`` held-out times.
    spectra : dict of str -> xarray.Dataset
        ``"one_step"`` and ``"free_run"``: ``observed_psd``/``_lower``/``_upper``/``_dof``
        (frequency) of the held-out series, ``mean_psd`` (model, frequency) of each
        predicted mean series, ``envelope_lower``/``_median``/``_upper``
        (model, frequency) of the sample paths; frequency in cycles/kyr, PSD in
        (1e22 A m^2)^2 kyr.
    scores : dict of str -> xarray.DataArray
        ``"one_step"`` and ``"free_run"`` score tables, dims (model, metric).
    fitted : dict
        Fitted parameters of the baselines and the networks' training summaries
        (JSON-serialisable).
    networks : dict of str -> RNNForecaster
        The trained networks by model name (not part of :meth:`to_dict`).
    """

    config: dict
    series: xr.DataArray
    one_step: xr.Dataset
    free_run: xr.Dataset
    spectra: dict
    scores: dict
    fitted: dict
    networks: dict = field(default_factory=dict, repr=False)

    @property
    def models(self) -> list[str]:
        """Names of the forecasters, networks first."""
        return [str(name) for name in self.one_step["model"].values]

    def score_table(self, kind: str = "one_step") -> dict[str, dict[str, float]]:
        """Scores as ``table[model][metric]`` (Python floats; NaN where undefined).

        Parameters
        ----------
        kind : {"one_step", "free_run"}
        """
        scores = self._scores(kind)
        return {
            str(model): {
                str(metric): float(scores.sel(model=model, metric=metric))
                for metric in scores["metric"].values
            }
            for model in scores["model"].values
        }

    def format_table(
        self, kind: str = "one_step", metrics: Sequence[str] | None = None, digits: int = 3
    ) -> str:
        """Markdown table of the scores (see :func:`bayescore.forecast.metrics.format_score_table`).

        Parameters
        ----------
        kind : {"one_step", "free_run"}
        metrics : sequence of str, optional
            Columns (default :data:`TABLE_METRICS` / :data:`FREE_RUN_TABLE_METRICS`).
        digits : int
            Significant digits.
        """
        if metrics is None:
            metrics = TABLE_METRICS if kind == "one_step" else FREE_RUN_TABLE_METRICS
        return _format_table(self.score_table(kind), metrics, digits)

    def _scores(self, kind: str) -> xr.DataArray:
        if kind not in self.scores:
            raise ValueError(f"kind must be one of {tuple(self.scores)}, got {kind!r}")
        return self.scores[kind]

    def to_dict(self) -> dict:
        """JSON-serialisable summary: configuration, score tables, fitted parameters and
        spectral summaries (NaN becomes ``None``)."""
        return _json_clean(
            {
                "study": "dipole forecasts",
                "units": {"moment": UNITS, "time": "Ma", "dt": "kyr", "frequency": "1/kyr"},
                "config": self.config,
                "scores": {kind: self.score_table(kind) for kind in self.scores},
                "fitted": self.fitted,
            }
        )

    def to_datasets(self) -> dict[str, xr.Dataset]:
        """The labelled outputs as datasets, one per netCDF group of :meth:`save`."""
        return {
            "series": self.series.to_dataset(),
            "one_step": self.one_step,
            "free_run": self.free_run,
            "spectra_one_step": self.spectra["one_step"],
            "spectra_free_run": self.spectra["free_run"],
            "scores_one_step": self.scores["one_step"].to_dataset(name="score"),
            "scores_free_run": self.scores["free_run"].to_dataset(name="score"),
        }

    def save(self, directory, *, networks: bool = True) -> dict[str, Path]:
        """Write the result into ``directory`` atomically (temporary name, then rename).

        Files: ``dipole_study.nc`` (one netCDF-4 group per dataset of
        :meth:`to_datasets`), ``dipole_study.json`` (:meth:`to_dict`) and, with
        ``networks``, one ``network_<target>.npz`` per trained network
        (:meth:`bayescore.forecast.rnn.RNNForecaster.save`).

        Parameters
        ----------
        directory : str or path-like
            Output directory (created if needed).
        networks : bool, default True
            Also write the trained networks.

        Returns
        -------
        dict of str -> pathlib.Path
            The written files by role (``"netcdf"``, ``"json"``, ``"network_<target>"``).
        """
        out = Path(directory)
        out.mkdir(parents=True, exist_ok=True)
        written: dict[str, Path] = {}
        netcdf = out / "dipole_study.nc"
        with atomic_path(netcdf) as tmp:
            mode = "w"
            for group, dataset in self.to_datasets().items():
                _netcdf_ready(dataset).to_netcdf(tmp, mode=mode, group=group)
                mode = "a"
        written["netcdf"] = netcdf
        if networks:
            for network in self.networks.values():
                key = f"network_{network.target}"
                written[key] = network.save(out / f"{key}.npz")
        written["json"] = write_json(
            out / "dipole_study.json",
            dict(self.to_dict(), files={k: p.name for k, p in written.items()}),
        )
        return written

    @classmethod
    def load(cls, directory) -> DipoleStudyResult:
        """Read a result written by :meth:`save` (networks too, when they were saved).

        Parameters
        ----------
        directory : str or path-like
            Directory holding ``dipole_study.nc`` and ``dipole_study.json``.

        Returns
        -------
        DipoleStudyResult
            Equal outputs, scores and configuration; the plots work on it as on the
            original.

        Raises
        ------
        DataNotFoundError
            If a file is missing.
        MalformedFileError
            If the files are not those of a dipole study.
        """
        from bayescore.forecast.rnn import RNNForecaster

        folder = Path(directory)
        netcdf, summary = folder / "dipole_study.nc", folder / "dipole_study.json"
        for path in (netcdf, summary):
            if not path.is_file():
                raise DataNotFoundError(f"{path} does not exist: not a saved dipole study")
        try:
            payload = json.loads(summary.read_text())
            config, fitted = payload["config"], payload["fitted"]
            groups = {}
            for group in (
                "series",
                "one_step",
                "free_run",
                "spectra_one_step",
                "spectra_free_run",
                "scores_one_step",
                "scores_free_run",
            ):
                with xr.open_dataset(netcdf, group=group) as dataset:
                    groups[group] = dataset.load()
        except (KeyError, OSError, ValueError) as error:
            raise MalformedFileError(
                f"{folder} does not hold a readable dipole study: {error}"
            ) from error
        networks = {}
        for name, entry in fitted.items():
            path = folder / f"network_{(entry.get('config') or {}).get('target')}.npz"
            if entry.get("config") and path.is_file():
                networks[name] = RNNForecaster.load(path)
        return cls(
            config=config,
            series=groups["series"]["axial_dipole_moment"],
            one_step=groups["one_step"],
            free_run=groups["free_run"],
            spectra={
                "one_step": groups["spectra_one_step"],
                "free_run": groups["spectra_free_run"],
            },
            scores={
                "one_step": groups["scores_one_step"]["score"],
                "free_run": groups["scores_free_run"]["score"],
            },
            fitted=fitted,
            networks=networks,
        )


def _netcdf_ready(dataset: xr.Dataset) -> xr.Dataset:
    """Copy with JSON-able scalar attributes only (netCDF cannot store dicts/None)."""
    out = dataset.copy()
    for target in [out, *out.variables.values()]:
        target.attrs = {
            k: (int(v) if isinstance(v, bool) else v)
            for k, v in target.attrs.items()
            if isinstance(v, str | int | float | np.number | bool)
        }
    return out


def _json_clean(value):
    if isinstance(value, dict):
        return {str(k): _json_clean(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_json_clean(v) for v in value]
    if isinstance(value, np.ndarray):
        return _json_clean(value.tolist())
    if isinstance(value, np.generic):
        value = value.item()
    if isinstance(value, float) and not math.isfinite(value):
        return None
    return value


def _format_table(table, columns, digits) -> str:
    return metrics.format_score_table(table, metrics=list(columns), digits=digits)


# ----------------------------------------------------------------------------- scoring


def _intervals(quantiles: np.ndarray, level: float) -> tuple[np.ndarray, np.ndarray]:
    """Lower/upper bound of the central ``level`` interval from the QUANTILES rows."""
    levels = np.asarray(QUANTILES)
    lower = int(np.argmin(np.abs(levels - (1 - level) / 2)))
    upper = int(np.argmin(np.abs(levels - (1 + level) / 2)))
    return quantiles[lower], quantiles[upper]


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
                ),
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


def plot_dipole_prediction(
    result: DipoleStudyResult,
    kind: str = "one_step",
    models: Sequence[str] | None = None,
    *,
    level: float = 0.9,
    history_kyr: float = 300.0,
    ax=None,
):
    """Predictions with their central interval against the held-out truth.

    Parameters
    ----------
    result : DipoleStudyResult
    kind : {"one_step", "free_run"}
        One-step predictions or free-running forecasts.
    models : sequence of str, optional
        Forecasters to draw (default: the networks and AR(3)).
    level : float
        Central interval to shade, one of 0.5, 0.9, 0.95.
    history_kyr : float
        How much of the training part before the forecast to show (kyr).
    ax : matplotlib.axes.Axes, optional
        Axes to draw on (a new figure otherwise).

    Returns
    -------
    matplotlib.axes.Axes
    """
    import matplotlib.pyplot as plt

    data = result.one_step if kind == "one_step" else result.free_run
    if kind not in ("one_step", "free_run"):
        raise ValueError(f"kind must be 'one_step' or 'free_run', got {kind!r}")
    if level not in LEVELS:
        raise ValueError(f"level must be one of {LEVELS}, got {level!r}")
    if models is None:
        models = [m for m in result.models if m in result.networks] + ["AR(3)"]
    unknown = [m for m in models if m not in result.models]
    if unknown:
        raise ValueError(f"unknown model(s) {unknown}; available: {result.models}")
    if ax is None:
        _, ax = plt.subplots(figsize=(10, 4), constrained_layout=True)
    series = result.series
    train_end = result.config["train_end"]
    t_ka = 1000.0 * series["time"].values
    shown = t_ka[:train_end] >= t_ka[train_end - 1] - history_kyr
    ax.plot(
        t_ka[:train_end][shown],
        series.values[:train_end][shown],
        color="0.4",
        lw=1.0,
        label="training part",
    )
    time_ka = 1000.0 * data["time"].values
    ax.plot(time_ka, data["observed"].values, color="k", lw=1.2, label="held out (truth)")
    for index, model in enumerate(models):
        colour = f"C{index}"
        quantiles = data["quantiles"].sel(model=model).values
        lower, upper = _intervals(quantiles, level)
        ax.fill_between(
            time_ka,
            lower,
            upper,
            color=colour,
            alpha=0.25,
            lw=0,
            label=f"{model} {level:.0%} interval",
        )
        ax.plot(
            time_ka,
            data["mean"].sel(model=model).values,
            color=colour,
            lw=1.0,
            label=f"{model} mean",
        )
    title = "one-step predictions" if kind == "one_step" else "free-running forecasts"
    source = result.config["source"].split(" (")[0]
    ax.set_title(f"{source} {result.config['quantity']} moment: {title}")
    ax.set_xlabel("time (ka, negative before present)")
    ax.set_ylabel(f"axial dipole moment ({UNITS})")
    ax.legend(loc="best", fontsize="small", ncol=2)
    ax.grid(True, alpha=0.3)
    return ax


def plot_dipole_spectra(
    result: DipoleStudyResult,
    model: str | None = None,
    kind: str = "one_step",
    *,
    ax=None,
):
    """Log-log PSD of the held-out series against that of a forecaster's predictions.

    Draws the held-out (validation) PSD with its chi-square 95 % interval, the PSD of the
    forecaster's predicted mean series (one-step predictions only; a free-running mean
    is a smooth curve with no meaningful spectrum), and the 2.5-97.5 % band and median of
    the PSDs of its sample paths (one-step: a network's noise-free MC-dropout passes,
    none for the baselines; free-running: the forecast sample paths).

    Parameters
    ----------
    result : DipoleStudyResult
    model : str, optional
        Forecaster (default: the first network, else AR(3)).
    kind : {"one_step", "free_run"}
    ax : matplotlib.axes.Axes, optional

    Returns
    -------
    matplotlib.axes.Axes
    """
    import matplotlib.pyplot as plt

    if kind not in result.spectra:
        raise ValueError(f"kind must be 'one_step' or 'free_run', got {kind!r}")
    if model is None:
        model = next(iter(result.networks), "AR(3)")
    if model not in result.models:
        raise ValueError(f"unknown model {model!r}; available: {result.models}")
    spectra = result.spectra[kind]
    if ax is None:
        _, ax = plt.subplots(figsize=(6, 4.5), constrained_layout=True)
    f = spectra["frequency"].values
    keep = f > 0
    sel = spectra.sel(model=model)
    paths = "MC-dropout passes" if kind == "one_step" else "sample paths"
    if np.any(np.isfinite(sel["envelope_median"].values)):  # baselines: no one-step paths
        ax.fill_between(
            f[keep],
            sel["envelope_lower"].values[keep],
            sel["envelope_upper"].values[keep],
            color="0.82",
            label=f"{model} {paths} 2.5-97.5 %",
        )
        ax.plot(
            f[keep],
            sel["envelope_median"].values[keep],
            color="0.45",
            lw=0.8,
            label=f"{model} {paths} median",
        )
    ax.fill_between(
        f[keep],
        spectra["observed_lower"].values[keep],
        spectra["observed_upper"].values[keep],
        color="C3",
        alpha=0.2,
        lw=0,
        label="held out 95 % interval",
    )
    ax.plot(
        f[keep],
        spectra["observed_psd"].values[keep],
        color="C3",
        lw=1.2,
        label="held out (validation)",
    )
    mean_psd = sel["mean_psd"].values[keep]
    if kind == "one_step" and np.any(mean_psd > 0):
        ax.plot(f[keep], mean_psd, color="C0", lw=1.2, label=f"{model} predicted mean")
    ax.set_xscale("log")
    ax.set_yscale("log")
    ax.set_xlabel("frequency (cycles / kyr)")
    ax.set_ylabel(f"PSD (({UNITS})$^2$ kyr)")
    title = "one-step" if kind == "one_step" else "free-running"
    ax.set_title(
        f"{result.config['source'].split(' (')[0]} {result.config['quantity']}: {title} {model}",
        fontsize="medium",
    )
    ax.legend(loc="lower left", fontsize="x-small")
    ax.grid(True, which="both", alpha=0.3)
    return ax
