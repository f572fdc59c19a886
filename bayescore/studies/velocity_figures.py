"""Figures of :mod:`bayescore.studies.site_velocity`: series, forecasts, sweep."""

from __future__ import annotations

import math
from typing import TYPE_CHECKING

import numpy as np

from bayescore.studies.velocity_series import COMPONENTS, _velocity_array

if TYPE_CHECKING:
    from bayescore.studies.velocity_result import VelocityStudyResult
    from bayescore.studies.velocity_sweep import FractionSweepResult

__all__ = ["plot_site_series", "plot_study_forecasts", "plot_fraction_sweep"]


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
