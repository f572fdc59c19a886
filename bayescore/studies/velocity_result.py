"""The result of :func:`bayescore.studies.site_velocity.run_velocity_study` and its scores."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import xarray as xr

from bayescore.atomic import json_ready
from bayescore.errors import SeriesLengthError
from bayescore.studies.outputs import save_study

__all__ = ["METRICS", "DM_METRICS", "BASELINES", "VelocityStudyResult"]

#: Baseline forecasts of the study, in table order.
BASELINES = ("persistence", "climatology", "AR")
#: Diebold-Mariano columns: statistic and two-sided p-value (HLN-corrected, h = horizon)
#: of the per-window squared error and CRPS against the best baseline (lowest mean loss);
#: negative statistics mean more accurate than that baseline.
DM_METRICS = ("dm_se", "dm_se_p", "dm_crps", "dm_crps_p")


#: Metrics of the score table (plus ``rmse_lead1``, ``rmse_lead2``, ... per lead).
METRICS = ("rmse", "mae", "mase", "crps", "energy", "coverage_90", "width_90")


def _scores(observed, means, samples, train, methods, level=0.9) -> tuple[np.ndarray, dict]:
    """Metrics (forecast, metric) of means (M, W, H, F) and samples (M, S, W, H, F), and
    the names of the baselines the Diebold-Mariano columns refer to."""
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
    columns, references = _equal_accuracy(observed, means, samples, list(methods))
    return np.concatenate([np.asarray(rows), columns], axis=1), references


def _equal_accuracy(observed, means, samples, methods) -> tuple[np.ndarray, dict]:
    """Diebold-Mariano columns (:data:`DM_METRICS`) of every forecast against the best
    baseline, on per-window losses (squared error and fair CRPS, each averaged over the
    window's leads and features) with ``h = horizon``; NaN where undefined (the best
    baseline's own row, fewer windows than the test needs, no baseline)."""
    from bayescore.forecast import metrics
    from bayescore.forecast.comparison import compare_with_best

    n_windows, horizon = observed.shape[:2]
    losses = {
        "se": np.mean((means - observed[None]) ** 2, axis=(2, 3)),
        "crps": np.stack(
            [
                np.mean(np.asarray(metrics.crps_ensemble(draws, observed, fair=True)), axis=(1, 2))
                for draws in samples
            ]
        ),
    }
    columns = np.full((len(methods), len(DM_METRICS)), np.nan)
    references = {}
    for k, (loss_name, loss) in enumerate(losses.items()):
        if not any(name in BASELINES for name in methods):
            continue
        try:
            best, results = compare_with_best(
                dict(zip(methods, loss, strict=True)), BASELINES, horizon
            )
        except SeriesLengthError:  # too few windows for the test at this horizon
            continue
        references[loss_name] = best
        for m, name in enumerate(methods):
            if results[name] is not None:
                columns[m, 2 * k] = results[name].statistic
                columns[m, 2 * k + 1] = results[name].p_value
    return columns, references


def _metric_names(horizon: int) -> list[str]:
    return list(METRICS) + [f"rmse_lead{h + 1}" for h in range(horizon)] + list(DM_METRICS)


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
        values, references = _scores(
            self.observed.values[keep],
            self.mean.values[:, keep],
            self.samples.values[:, :, keep],
            self.series.values[: self.train_end][:, : self.observed.sizes["feature"]],
            self.methods,
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
            attrs={
                "n_windows": int(keep.sum()),
                **{f"dm_reference_{k}": v for k, v in references.items()},
            },
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
        return json_ready(summary)

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
        from bayescore.studies.velocity_figures import plot_study_forecasts

        save_study(
            directory,
            summary=self.to_dict(),
            summary_name="summary.json",
            data=self.to_xarray(),
            data_name="forecasts.nc",
            figure=(lambda: plot_study_forecasts(self)) if figures else None,
            figure_name="forecasts.png",
        )
        return Path(directory)
