"""Figures of a co-estimation study: SV and SA spectra at the CMB, NUTS traces."""

from __future__ import annotations

import warnings

import numpy as np

__all__ = ["spectra_figure", "trace_figure"]


#: Coefficients shown in the NUTS trace plot.
_TRACE_COORDS = {
    "time_basis": [0],
    "flow_time_basis": [0],
    "core_coeff": ["g_1_0", "g_2_0"],
    "toroidal_coeff": ["t_1_0"],
    "poloidal_coeff": ["s_1_0"],
}


def spectra_figure(spectra, title: str, band_label: str | None = None):
    """SV and SA Lowes spectra at the CMB: estimate, USN, truth and posterior band.

    Parameters
    ----------
    spectra : xarray.Dataset
        :attr:`CoestimationStudyResult.spectra` (``sv_cmb_estimate`` etc., over
        ``degree``; units (nT/yr)^2 and (nT/yr^2)^2).
    title : str
    band_label : str, optional
        Legend of the 5-95 % band (``sv_cmb_p05``/``p95``) when present.

    Returns
    -------
    matplotlib.figure.Figure
    """
    import matplotlib

    matplotlib.use("Agg", force=False)
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(1, 2, figsize=(11, 4.2), constrained_layout=True)
    styles = {
        "estimate": ("o-", "C0", "co-estimation (MAP)"),
        "usn": ("s--", "C2", "USN (field only)"),
        "truth": (":", "k", "truth"),
    }
    degree = spectra["degree"].values
    for ax, kind, name in zip(
        axes, ("sv", "sa"), ("Secular variation", "Secular acceleration"), strict=True
    ):
        if f"{kind}_cmb_p05" in spectra and np.any(spectra[f"{kind}_cmb_p95"].values > 0):
            ax.fill_between(
                degree,
                spectra[f"{kind}_cmb_p05"].values,
                spectra[f"{kind}_cmb_p95"].values,
                color="C0",
                alpha=0.25,
                label=band_label,
            )
        ax.set_yscale("log")
        for label, (style, color, legend) in styles.items():
            var = f"{kind}_cmb_{label}"
            if var not in spectra:
                continue
            values = np.asarray(spectra[var].values, dtype=float)
            values = np.where(values > 0, values, np.nan)  # zero power cannot be drawn
            if np.all(np.isnan(values)):
                continue
            ax.plot(degree, values, style, color=color, ms=4, label=legend)
        if not ax.lines:
            ax.text(
                0.5,
                0.5,
                f"{name} is zero\n(time basis of degree < 2)",
                ha="center",
                va="center",
                transform=ax.transAxes,
            )
        ax.set_xlabel("spherical-harmonic degree l")
        ax.set_ylabel(f"R_l at the CMB [{spectra[f'{kind}_cmb_estimate'].attrs['units']}]")
        ax.set_title(f"{name} at r = 3485 km")
        ax.grid(True, which="both", alpha=0.3)
        if ax.lines or ax.collections:
            ax.legend(fontsize=8)
    fig.suptitle(title)
    return fig


def trace_figure(idata, units: dict):
    """ArviZ trace plot of a few labelled NUTS coefficients, axes with units.

    Parameters
    ----------
    idata : arviz.InferenceData
        :meth:`CoestimationStudyResult.to_inference_data`.
    units : dict
        Units per sample site (:meth:`bayescore.models.CoestimationProblem.units`).

    Returns
    -------
    matplotlib.figure.Figure
    """
    import arviz as az
    import matplotlib

    matplotlib.use("Agg", force=False)
    posterior = idata.posterior
    coords = {
        dim: [v for v in values if v in posterior[dim].values]
        for dim, values in _TRACE_COORDS.items()
        if dim in posterior.dims
    }
    with warnings.catch_warnings():
        # arviz 0.23 uses a matplotlib helper deprecated in matplotlib 3.11
        warnings.simplefilter("ignore", matplotlib.MatplotlibDeprecationWarning)
        axes = az.plot_trace(
            idata,
            var_names=[v for v in ("core", "toroidal", "poloidal") if v in posterior],
            coords=coords,
            compact=False,
            figsize=(10, 7),
        )
    axes = np.atleast_2d(axes)
    for density, trace in axes:
        unit = units.get(density.get_title().split("\n")[0], "")
        density.set_xlabel(f"value [{unit}]")
        density.set_ylabel("density")
        trace.set_xlabel("draw")
        trace.set_ylabel(f"value [{unit}]")
    fig = axes[0, 0].figure
    fig.suptitle("NUTS draws of a few coefficients (one colour per chain)")
    fig.set_layout_engine("constrained")
    return fig
