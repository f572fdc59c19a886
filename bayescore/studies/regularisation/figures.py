"""Figures in the style of the paper's Sections 4-5.

See :mod:`bayescore.studies.regularisation` for the study's overview.
"""

from __future__ import annotations

import numpy as np
import xarray as xr

from bayescore.constants import CORE_RADIUS_KM
from bayescore.errors import ModelConfigError
from bayescore.studies.regularisation.mapping import _paper_chosen
from bayescore.studies.regularisation.settings import _A, MODELS
from bayescore.studies.regularisation.sweeps import tradeoff_curve

__all__ = [
    "plot_comparison",
    "plot_flow_spectra",
    "plot_sweep_spectra",
    "plot_tradeoff",
    "section4_figures",
]


def _rescale(spectrum, from_radius: float, to_radius: float | None):
    """Lowes spectrum at another radius: ``R_l(r2) = R_l(r1) (r1/r2)^(2l+4)``."""
    if to_radius is None or to_radius == from_radius:
        return np.asarray(spectrum)
    degree = np.asarray(spectrum["degree"].values, float)
    return np.asarray(spectrum) * (from_radius / float(to_radius)) ** (2 * degree + 4)


def _radius_label(radius: float) -> str:
    if abs(radius - CORE_RADIUS_KM) < 1e-6:
        return "CMB, c = 3485 km"
    if abs(radius - _A) < 1e-6:
        return "a = 6371.2 km"
    return f"r = {radius:g} km"


def _value_labels(sweep: xr.Dataset) -> list[str]:
    if "paper_exponent" in sweep.coords:
        return [f"d = {d:.2f} ({v:.3g})" for d, v in zip(
            sweep["paper_exponent"].values, sweep["damping"].values, strict=True
        )]  # fmt: skip
    return [f"{v:.3g}" for v in sweep["damping"].values]


def _reference_index(sweep: xr.Dataset) -> int:
    if "paper_exponent" in sweep.coords:
        chosen = _paper_chosen(sweep.attrs["parameter"], sweep.attrs["norm"])
        return int(np.argmin(np.abs(sweep["paper_exponent"].values - chosen)))
    return sweep.sizes["damping"] // 2


_QUANTITY = {
    "field": ("field_spectrum", "core field", "nT$^2$"),
    "sv": ("sv_spectrum", "SV", "(nT/yr)$^2$"),
    "sa": ("sa_spectrum", "SA", "(nT/yr$^2$)$^2$"),
}


def plot_sweep_spectra(
    sweep: xr.Dataset,
    quantity: str = "sv",
    radius: float | None = None,
    ax=None,
    reference_quantities=(),
    background: bool = False,
):
    """Spectra of a sweep, one curve per damping, with the truth (paper Fig. 2/4 left).

    Parameters
    ----------
    sweep : xarray.Dataset
        From :func:`damping_sweep`.
    quantity : {"sv", "sa", "field"}
    radius : float, optional
        Radius of the plotted spectra, km (default the sweep's).
    ax : matplotlib.axes.Axes, optional
    reference_quantities : tuple of str
        Quantities drawn once, for the reference value only (Fig. 4: ``("field",
        "sv")``).
    background : bool, default False
        Also draw the truth's background SA (paper eq. 33; Fig. 4's BSA line).

    Returns
    -------
    matplotlib.axes.Axes
    """
    import matplotlib.pyplot as plt

    if quantity not in _QUANTITY:
        raise ModelConfigError(f"quantity must be one of {sorted(_QUANTITY)}, got {quantity!r}")
    if ax is None:
        _, ax = plt.subplots(figsize=(6.4, 4.6), constrained_layout=True)
    r0 = float(sweep.attrs["radius_km"])
    r = r0 if radius is None else float(radius)
    name, label, units = _QUANTITY[quantity]
    degree = sweep["degree"].values
    colours = plt.cm.viridis(np.linspace(0.0, 0.9, sweep.sizes["damping"]))
    for i, text in enumerate(_value_labels(sweep)):
        ax.semilogy(degree, _rescale(sweep[name].isel(damping=i), r0, r), "-o", ms=3,
                    color=colours[i], label=f"{label}, {text}")  # fmt: skip
    ref = _reference_index(sweep)
    for other in reference_quantities:
        other_name, other_label, _ = _QUANTITY[other]
        ref_label = f"{other_label}, {_value_labels(sweep)[ref]}"
        ax.semilogy(degree, _rescale(sweep[other_name].isel(damping=ref), r0, r), "-",
                    color="0.4", lw=2, label=ref_label)  # fmt: skip
    if f"{name}_truth" in sweep:
        ax.semilogy(degree, _rescale(sweep[f"{name}_truth"], r0, r), "k--", lw=2,
                    label=f"truth {label}")  # fmt: skip
    if background and "sa_background_spectrum_truth" in sweep:
        ax.semilogy(degree, _rescale(sweep["sa_background_spectrum_truth"], r0, r), "k-",
                    lw=1.5, label="truth background SA (eq. 33)")  # fmt: skip
    parameter = sweep.attrs["parameter"]
    ax.set_xlabel("spherical harmonic degree l")
    ax.set_ylabel(f"Lowes power, {units if not reference_quantities else 'squared units'}")
    ax.set_title(f"{label} at {_radius_label(r)}, {sweep.attrs['epoch']:.2f}: {parameter} sweep")
    ax.legend(fontsize=7, ncol=1 if sweep.sizes["damping"] < 6 else 2)
    ax.grid(True, which="both", alpha=0.3)
    return ax


def plot_tradeoff(sweep: xr.Dataset, measure: str = "sv_energy", misfit="chi2_per_datum", ax=None):
    """Trade-off curve: a measure against the data misfit, points labelled by d.

    Paper Fig. 2 right (``measure="sv_energy"``) and Fig. 4 right (``"sa_energy"``).

    Returns
    -------
    matplotlib.axes.Axes
    """
    import matplotlib.pyplot as plt

    curve = tradeoff_curve(sweep, measure, misfit)
    if ax is None:
        _, ax = plt.subplots(figsize=(5.2, 4.6), constrained_layout=True)
    x, y = curve["misfit"].values, curve["measure"].values
    ax.plot(x, y, "-o", color="C0", label=f"MAP for each {sweep.attrs['parameter']}")
    if "paper_exponent" in sweep.coords:
        tags = [f"{d:.2f}" for d in sweep["paper_exponent"].values]
    else:
        tags = [f"{v:.2f}" for v in sweep["log10_damping"].values]
    for xi, yi, tag in zip(x, y, tags, strict=True):
        ax.annotate(tag, (xi, yi), textcoords="offset points", xytext=(4, 4), fontsize=8)
    ax.set_yscale("log")
    units = sweep[measure].attrs.get("units", "")
    misfit_label = {"chi2_per_datum": "data misfit, chi$^2$ per datum",
                    "data_rms_nT": "rms data residual (nT)"}.get(misfit, misfit)  # fmt: skip
    ax.set_xlabel(misfit_label)
    ax.set_ylabel(f"{measure.replace('_', ' ')} ({units})")
    tag = "paper d" if "paper_exponent" in sweep.coords else "log10 damping"
    ax.set_title(f"trade-off, labels: {tag}")
    ax.legend(fontsize=8)
    ax.grid(True, which="both", alpha=0.3)
    return ax


def plot_flow_spectra(result: xr.Dataset, rate: bool = False, axes=None):
    """Toroidal and poloidal flow spectra (paper Fig. 3, 5 and 8).

    Parameters
    ----------
    result : xarray.Dataset
        A sweep (one curve per damping, the truth dashed) or a comparison (BSN, WSN and
        the truth).
    rate : bool, default False
        Spectra of the flow's time derivative (Fig. 5) instead of the flow, with the
        flow itself as the top solid curve.
    axes : pair of matplotlib.axes.Axes, optional

    Returns
    -------
    numpy.ndarray of matplotlib.axes.Axes
    """
    import matplotlib.pyplot as plt

    if axes is None:
        _, axes = plt.subplots(1, 2, figsize=(10.5, 4.4), constrained_layout=True, sharey=True)
    suffix = "_rate_spectrum" if rate else "_spectrum"
    degree = result["flow_degree"].values
    is_sweep = "damping" in result.dims
    if is_sweep:
        labels = _value_labels(result)
        colours = plt.cm.viridis(np.linspace(0.0, 0.9, result.sizes["damping"]))
        rows = [(result.isel(damping=i), labels[i], colours[i], "-o") for i in range(len(labels))]
    else:
        rows = [(result.sel(model=m), m, c, "-o") for m, c in (("BSN", "C0"), ("WSN", "C2"))]
    units = "(km/yr$^2$)$^2$" if rate else "(km/yr)$^2$"
    for ax, part in zip(axes, ("toroidal", "poloidal"), strict=True):
        for row, label, colour, style in rows:
            ax.semilogy(degree, row[f"{part}{suffix}"], style, ms=3, color=colour, label=label)
        if rate and is_sweep:
            ref = result.isel(damping=_reference_index(result))
            ax.semilogy(degree, ref[f"{part}_spectrum"], "-", color="0.3", lw=2,
                        label="flow itself (km/yr)$^2$")  # fmt: skip
        truth = (
            result.get(f"{part}{suffix}_truth")
            if is_sweep
            else result[f"{part}{suffix}"].sel(model="truth")
        )
        if truth is not None:
            ax.semilogy(degree, truth, "k--", lw=2, label="truth")
        ax.set_xlabel("spherical harmonic degree l")
        what = "time derivative of the " if rate else ""
        ax.set_title(f"{what}{part} flow")
        ax.grid(True, which="both", alpha=0.3)
    axes[0].set_ylabel(f"kinetic energy per degree, {units}")
    axes[1].legend(fontsize=7)
    return axes


def plot_comparison(comparison: xr.Dataset, radius: float | None = _A, axes=None):
    """Spectra of USN, BSN, WSN and the truth, and their ratios (paper Fig. 6).

    Parameters
    ----------
    comparison : xarray.Dataset
        From :func:`compare_regularisations`.
    radius : float, default 6371.2
        Radius of the spectra, km (the paper's Fig. 6 is at a); None: the comparison's.
    axes : pair of matplotlib.axes.Axes, optional

    Returns
    -------
    numpy.ndarray of matplotlib.axes.Axes
    """
    import matplotlib.pyplot as plt

    if axes is None:
        _, axes = plt.subplots(1, 2, figsize=(11, 4.6), constrained_layout=True)
    r0 = float(comparison.attrs["radius_km"])
    r = r0 if radius is None else float(radius)
    degree = comparison["degree"].values
    styles = {"truth": ("k", 2.2), "USN": ("C3", 1.4), "BSN": ("C0", 1.4), "WSN": ("C2", 1.4)}
    ax = axes[0]
    ax.semilogy(degree, _rescale(comparison["field_spectrum"].sel(model="truth"), r0, r), "k:",
                lw=2, label="core field, truth (nT$^2$)")  # fmt: skip
    for model in MODELS:
        colour, lw = styles[model]
        row = comparison.sel(model=model)
        ax.semilogy(degree, _rescale(row["sv_spectrum"], r0, r), "--", color=colour, lw=lw,
                    label=f"SV, {model} ((nT/yr)$^2$)")  # fmt: skip
        ax.semilogy(degree, _rescale(row["sa_spectrum"], r0, r), "-", color=colour, lw=lw,
                    label=f"SA, {model} ((nT/yr$^2$)$^2$)")  # fmt: skip
    ax.set_xlabel("spherical harmonic degree l")
    ax.set_ylabel("Lowes power (units in the legend)")
    ax.set_title(f"spectra at {_radius_label(r)}, {comparison.attrs['epoch']:.2f}")
    ax.legend(fontsize=7, ncol=2)
    ax.grid(True, which="both", alpha=0.3)
    ax = axes[1]
    for model in ("USN", "BSN", "WSN"):
        colour, lw = styles[model]
        row = comparison.sel(model=model)
        ax.semilogy(degree, row["sv_ratio"], "--o", ms=3, color=colour, lw=lw,
                    label=f"SV, {model}")  # fmt: skip
        ax.semilogy(degree, row["sa_ratio"], "-o", ms=3, color=colour, lw=lw,
                    label=f"SA, {model}")  # fmt: skip
    ax.axhline(1.0, color="k", lw=1)
    ax.set_xlabel("spherical harmonic degree l")
    ax.set_ylabel("spectrum / truth's spectrum")
    ax.set_title("closeness to the truth (1 = same power)")
    ax.legend(fontsize=7, ncol=2)
    ax.grid(True, which="both", alpha=0.3)
    return axes


def section4_figures(results: dict) -> dict:
    """The paper's Section 4-5 figures from :func:`section4_experiments` results.

    Returns
    -------
    dict of str to matplotlib.figure.Figure
        ``"fig2_sv_lambda_space"`` (SV at the CMB per lambda_2B and its trade-off),
        ``"fig3_flow_lambda_space"``, ``"fig4_sa_lambda_time"`` (field, SV, SA at a and
        the SA trade-off), ``"fig5_flow_rate_lambda_time"``, ``"fig6_comparison"``,
        ``"fig8_flow_comparison"``, for the results present.
    """
    import matplotlib.pyplot as plt

    figures = {}
    space = results.get("lambda_space")
    if space is not None:
        fig, axes = plt.subplots(1, 2, figsize=(12, 4.8), constrained_layout=True,
                                 gridspec_kw={"width_ratios": [1.4, 1]})  # fmt: skip
        plot_sweep_spectra(space, "sv", radius=CORE_RADIUS_KM, ax=axes[0])
        plot_tradeoff(space, "sv_energy", ax=axes[1])
        figures["fig2_sv_lambda_space"] = fig
        fig, axes = plt.subplots(1, 2, figsize=(11, 4.5), constrained_layout=True, sharey=True)
        plot_flow_spectra(space, axes=axes)
        figures["fig3_flow_lambda_space"] = fig
    sweep = results.get("lambda_time")
    if sweep is not None:
        fig, axes = plt.subplots(1, 2, figsize=(12, 4.8), constrained_layout=True,
                                 gridspec_kw={"width_ratios": [1.4, 1]})  # fmt: skip
        plot_sweep_spectra(sweep, "sa", radius=_A, ax=axes[0],
                           reference_quantities=("field", "sv"), background=True)  # fmt: skip
        plot_tradeoff(sweep, "sa_energy", ax=axes[1])
        figures["fig4_sa_lambda_time"] = fig
        fig, axes = plt.subplots(1, 2, figsize=(11, 4.5), constrained_layout=True, sharey=True)
        plot_flow_spectra(sweep, rate=True, axes=axes)
        figures["fig5_flow_rate_lambda_time"] = fig
    comparison = results.get("comparison")
    if comparison is not None:
        fig, axes = plt.subplots(1, 2, figsize=(12, 4.8), constrained_layout=True)
        plot_comparison(comparison, axes=axes)
        figures["fig6_comparison"] = fig
        fig, axes = plt.subplots(1, 2, figsize=(11, 4.5), constrained_layout=True, sharey=True)
        plot_flow_spectra(comparison, axes=axes)
        figures["fig8_flow_comparison"] = fig
    return figures
