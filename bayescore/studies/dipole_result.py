"""The result of :func:`bayescore.studies.dipole.run_dipole_study`: tables, save, load."""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import xarray as xr

from bayescore.atomic import json_ready
from bayescore.errors import DataNotFoundError, ForecastConfigError, MalformedFileError
from bayescore.forecast import metrics
from bayescore.studies.dipole_data import UNITS
from bayescore.studies.outputs import save_study

__all__ = ["DipoleStudyResult", "TABLE_METRICS", "FREE_RUN_TABLE_METRICS"]


#: Quantile levels of the predictive distributions; they hold the 50/90/95 % intervals.
QUANTILES = (0.025, 0.05, 0.25, 0.5, 0.75, 0.95, 0.975)


LEVELS = (0.5, 0.9, 0.95)


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


#: Diebold-Mariano columns of the one-step table: statistic and two-sided p-value of the
#: squared error and of the CRPS against the best baseline (lowest mean loss; its own
#: row is NaN); negative statistics mean more accurate than that baseline.
DM_METRICS = ("dm_se", "dm_se_p", "dm_crps", "dm_crps_p")
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
            raise ForecastConfigError(f"kind must be one of {tuple(self.scores)}, got {kind!r}")
        return self.scores[kind]

    def to_dict(self) -> dict:
        """JSON-serialisable summary: configuration, score tables, fitted parameters and
        spectral summaries (NaN becomes ``None``)."""
        return json_ready(
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
        networks_written: dict[str, Path] = {}
        if networks:
            for network in self.networks.values():
                key = f"network_{network.target}"
                networks_written[key] = network.save(out / f"{key}.npz")
        files = {"netcdf": "dipole_study.nc", **{k: p.name for k, p in networks_written.items()}}
        paths = save_study(
            out,
            summary=dict(self.to_dict(), files=files),
            summary_name="dipole_study.json",
            data={group: _netcdf_ready(ds) for group, ds in self.to_datasets().items()},
            data_name="dipole_study.nc",
        )
        return {"netcdf": paths["netcdf"], **networks_written, "json": paths["json"]}

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


def _format_table(table, columns, digits) -> str:
    return metrics.format_score_table(table, metrics=list(columns), digits=digits)


def _intervals(quantiles: np.ndarray, level: float) -> tuple[np.ndarray, np.ndarray]:
    """Lower/upper bound of the central ``level`` interval from the QUANTILES rows."""
    levels = np.asarray(QUANTILES)
    lower = int(np.argmin(np.abs(levels - (1 - level) / 2)))
    upper = int(np.argmin(np.abs(levels - (1 + level) / 2)))
    return quantiles[lower], quantiles[upper]
