"""Training-fraction sweep of :func:`bayescore.studies.site_velocity.run_velocity_study`.

Every fraction is scored on its own held-out windows and on the windows that every
fraction holds out (those of the largest), so that the fractions compare on equal values.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

import xarray as xr

from bayescore.atomic import json_ready
from bayescore.errors import ForecastConfigError
from bayescore.studies.outputs import save_study
from bayescore.studies.velocity_series import site_velocity_series

__all__ = ["DEFAULT_FRACTIONS", "FractionSweepResult", "training_fraction_sweep"]


#: Training fractions of the sweep (the range studied in the talk).
DEFAULT_FRACTIONS = (0.75, 0.8, 0.85, 0.9)


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
            raise ForecastConfigError(f"unknown metric {metric!r}")
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
        return json_ready(out)

    def save(self, directory, figures: bool = True) -> Path:
        """Write ``sweep.json`` and ``sweep.nc`` (and ``sweep.png``) atomically."""
        from bayescore.studies.velocity_figures import plot_fraction_sweep

        save_study(
            directory,
            summary=self.to_dict(),
            summary_name="sweep.json",
            data=xr.Dataset({"scores": self.scores, "n_windows": self.n_windows}),
            data_name="sweep.nc",
            figure=(lambda: plot_fraction_sweep(self)) if figures else None,
            figure_name="sweep.png",
        )
        return Path(directory)


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
    from bayescore.studies.site_velocity import run_velocity_study

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
