"""Figures of :mod:`bayescore.studies.dipole`: predictions with intervals, spectra."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from bayescore.errors import ForecastConfigError
from bayescore.studies.dipole_data import UNITS
from bayescore.studies.dipole_result import LEVELS, DipoleStudyResult, _intervals

__all__ = ["plot_dipole_prediction", "plot_dipole_spectra"]


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
        raise ForecastConfigError(f"kind must be 'one_step' or 'free_run', got {kind!r}")
    if level not in LEVELS:
        raise ForecastConfigError(f"level must be one of {LEVELS}, got {level!r}")
    if models is None:
        models = [m for m in result.models if m in result.networks] + ["AR(3)"]
    unknown = [m for m in models if m not in result.models]
    if unknown:
        raise ForecastConfigError(f"unknown model(s) {unknown}; available: {result.models}")
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
        raise ForecastConfigError(f"kind must be 'one_step' or 'free_run', got {kind!r}")
    if model is None:
        model = next(iter(result.networks), "AR(3)")
    if model not in result.models:
        raise ForecastConfigError(f"unknown model {model!r}; available: {result.models}")
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
