"""Figures of core flows: arrows over Br at the CMB, SV maps, KE spectra, trade-off curves.

All maps are plain latitude-longitude (equirectangular) plots of the core-mantle boundary
(r = c = 3485 km); no coastlines are drawn. The functions draw on a given axes or create
a new figure with :func:`matplotlib.pyplot.subplots` (so that gallery scrapers see it),
and return the axes. Nothing is written to disk here; save with
:func:`bayescore.atomic.save_figure`.
"""

from __future__ import annotations

import numpy as np

from bayescore.constants import CORE_RADIUS_KM
from bayescore.errors import CoefficientShapeError
from bayescore.flow.diagnostics import kinetic_energy_spectrum
from bayescore.sh.indexing import lmax_from_size

__all__ = [
    "cmb_radial_map",
    "format_map_axes",
    "plot_flow_map",
    "plot_ke_spectra",
    "plot_sv_map",
    "plot_tradeoff",
]


def _axes(ax, figsize=(9, 4.8)):
    if ax is not None:
        return ax
    import matplotlib.pyplot as plt

    _, ax = plt.subplots(figsize=figsize, constrained_layout=True)
    return ax


def _epoch_suffix(epoch):
    return "" if epoch is None or not np.isfinite(epoch) else f", {float(epoch):.1f}"


def _lat_lon_grid(n_lat, n_lon):
    lat = np.linspace(-90.0, 90.0, n_lat)
    lon = np.linspace(-180.0, 180.0, n_lon)
    return lat, lon


def cmb_radial_map(coeffs, n_lat: int = 91, n_lon: int = 181):
    """Radial component at the CMB of internal coefficients, on a latitude-longitude grid.

    Parameters
    ----------
    coeffs : array_like, shape (L(L+2),)
        Gauss coefficients at a = 6371.2 km (nT for the field, nT/yr for the SV).
    n_lat, n_lon : int
        Grid sizes from -90 to 90 degrees latitude and -180 to 180 degrees longitude.

    Returns
    -------
    lat, lon : numpy.ndarray, shapes (n_lat,), (n_lon,)
        Degrees.
    values : numpy.ndarray, shape (n_lat, n_lon)
        B_r (or dB_r/dt) at r = c in the coefficients' units.
    """
    from bayescore.fields import synth

    coeffs = np.asarray(coeffs, dtype=float)
    if coeffs.ndim != 1:
        raise CoefficientShapeError(f"expected one coefficient vector, got shape {coeffs.shape}")
    lmax_from_size(coeffs.size, "coefficient vector")
    lat, lon = _lat_lon_grid(n_lat, n_lon)
    theta = np.deg2rad(90.0 - lat)[:, None]
    phi = np.deg2rad(lon)[None, :]
    radial, _, _ = synth(coeffs, np.full_like(theta, CORE_RADIUS_KM), theta, phi)
    return lat, lon, np.asarray(radial)


def format_map_axes(ax, title: str) -> None:
    """Give a latitude-longitude map panel bayescore's extent, ticks, labels and title.

    Parameters
    ----------
    ax : matplotlib.axes.Axes
    title : str
    """
    ax.set_xlim(-180, 180)
    ax.set_ylim(-90, 90)
    ax.set_xticks(np.arange(-180, 181, 60))
    ax.set_yticks(np.arange(-90, 91, 30))
    ax.set_xlabel("longitude (degrees east)")
    ax.set_ylabel("latitude (degrees north)")
    ax.set_aspect("equal")
    ax.set_title(title)


def plot_flow_map(
    flow,
    g=None,
    epoch: float | None = None,
    ax=None,
    arrow_spacing: float = 10.0,
    reference_speed: float = 20.0,
    title: str | None = None,
):
    """Arrows of the flow at the CMB over the radial field there.

    Parameters
    ----------
    flow : bayescore.flow.velocity.Flow or FlowInversionResult
        The flow (its ``.velocity(theta, phi)`` in km/yr is used); a result's ``.flow``.
    g : array_like, shape (L_B (L_B + 2),), optional
        Main-field Gauss coefficients at a (nT): B_r at the CMB is drawn beneath, in
        micro-tesla.
    epoch : float, optional
        Decimal year for the title (default: the flow's epoch).
    ax : matplotlib.axes.Axes, optional
    arrow_spacing : float, optional
        Spacing of the arrows in degrees.
    reference_speed : float, optional
        Speed of the key arrow, km/yr.
    title : str, optional

    Returns
    -------
    matplotlib.axes.Axes
    """
    if hasattr(flow, "flow") and not hasattr(flow, "velocity"):
        flow = flow.flow
    epoch = getattr(flow, "epoch", None) if epoch is None else epoch
    ax = _axes(ax)
    if g is not None:
        lat, lon, radial = cmb_radial_map(g)
        radial_ut = radial / 1000.0
        limit = float(np.max(np.abs(radial_ut)))
        mesh = ax.pcolormesh(
            lon, lat, radial_ut, cmap="RdBu_r", vmin=-limit, vmax=limit, shading="auto"
        )
        ax.figure.colorbar(mesh, ax=ax, shrink=0.8, label="B_r at the CMB (µT)")
    lat_a = np.arange(-90 + arrow_spacing / 2, 90, arrow_spacing)
    lon_a = np.arange(-180 + arrow_spacing / 2, 180, arrow_spacing)
    lon_g, lat_g = np.meshgrid(lon_a, lat_a)
    u_theta, u_phi = flow.velocity(np.deg2rad(90.0 - lat_g), np.deg2rad(lon_g))
    east, north = np.asarray(u_phi), -np.asarray(u_theta)
    quiver = ax.quiver(lon_g, lat_g, east, north, angles="uv", pivot="middle", width=0.0025)
    # the key sits below the map's right end, on the line of the x label
    ax.quiverkey(
        quiver,
        0.97,
        -0.11,
        reference_speed,
        f"{reference_speed:g} km/yr",
        labelpos="W",
        coordinates="axes",
    )
    default = "Core flow at the CMB" + (" over B_r" if g is not None else "")
    format_map_axes(ax, title or default + _epoch_suffix(epoch))
    return ax


def plot_sv_map(gdot, epoch: float | None = None, ax=None, title: str | None = None):
    """Map of the radial secular variation dB_r/dt at the CMB.

    Parameters
    ----------
    gdot : array_like, shape (L (L + 2),)
        SV coefficients at a, nT/yr (e.g. a model's SV or a result's ``predicted_sv``).
    epoch : float, optional
        Decimal year for the title.
    ax : matplotlib.axes.Axes, optional
    title : str, optional

    Returns
    -------
    matplotlib.axes.Axes
    """
    ax = _axes(ax)
    lat, lon, radial = cmb_radial_map(gdot)
    radial_ut = radial / 1000.0
    limit = float(np.max(np.abs(radial_ut)))
    mesh = ax.pcolormesh(lon, lat, radial_ut, cmap="PuOr_r", vmin=-limit, vmax=limit)
    ax.figure.colorbar(mesh, ax=ax, shrink=0.8, label="dB_r/dt at the CMB (µT/yr)")
    format_map_axes(ax, title or "Radial secular variation at the CMB" + _epoch_suffix(epoch))
    return ax


def plot_ke_spectra(flows, labels=None, ax=None, title: str | None = None):
    """Toroidal and poloidal kinetic-energy spectra of one or several flows.

    Parameters
    ----------
    flows : Flow, FlowInversionResult, or sequence of them
        Objects with ``.t`` and ``.s`` (km/yr).
    labels : sequence of str, optional
        One label per flow (default: the epochs, when known).
    ax : matplotlib.axes.Axes, optional
    title : str, optional

    Returns
    -------
    matplotlib.axes.Axes
        Mean square speed per degree, (km/yr)^2, on a logarithmic axis; solid lines
        toroidal, dashed poloidal.
    """
    if hasattr(flows, "t"):
        flows = [flows]
    ax = _axes(ax, figsize=(6, 4.5))
    if labels is None:
        labels = [
            f"{flow.epoch:.1f}" if getattr(flow, "epoch", None) is not None else f"flow {k}"
            for k, flow in enumerate(flows)
        ]
    for k, (flow, label) in enumerate(zip(flows, labels, strict=True)):
        toroidal, poloidal = (np.asarray(x) for x in kinetic_energy_spectrum(flow.t, flow.s))
        degrees = np.arange(1, toroidal.size + 1)
        colour = f"C{k}"
        ax.semilogy(degrees, toroidal, "-o", color=colour, ms=3, label=f"{label} toroidal")
        ax.semilogy(degrees, poloidal, "--s", color=colour, ms=3, label=f"{label} poloidal")
    ax.set_xlabel("spherical-harmonic degree l")
    ax.set_ylabel("mean square speed per degree ((km/yr)²)")
    ax.set_title(title or "Kinetic-energy spectra of the core flow")
    ax.grid(True, which="both", alpha=0.3)
    ax.legend(fontsize="small")
    return ax


def plot_tradeoff(curve, chosen_damping: float | None = None, ax=None, title: str | None = None):
    """Trade-off (L-curve) between the SV misfit and the flow norm.

    Parameters
    ----------
    curve : bayescore.flow.inversion.TradeoffCurve
    chosen_damping : float, optional
        A damping to mark (e.g. the one of a target rms speed).
    ax : matplotlib.axes.Axes, optional
    title : str, optional

    Returns
    -------
    matplotlib.axes.Axes
        Weighted misfit r^T W r against the norm x^T N x, both logarithmic; points
        labelled with log10 of the damping.
    """
    from bayescore.flow.norms import NORMS

    ax = _axes(ax, figsize=(6, 4.5))
    ax.loglog(curve.norm_value, curve.chi2, "-o", ms=4)
    for x, y, lam in zip(curve.norm_value, curve.chi2, curve.dampings, strict=True):
        ax.annotate(
            f"{np.log10(lam):.1f}",
            (x, y),
            textcoords="offset points",
            xytext=(4, 4),
            fontsize="x-small",
        )
    if chosen_damping is not None:
        k = int(np.argmin(np.abs(np.log(curve.dampings / chosen_damping))))
        ax.loglog(
            curve.norm_value[k], curve.chi2[k], "r*", ms=12, label=f"damping {chosen_damping:.3g}"
        )
        ax.legend(fontsize="small")
    ax.set_xlabel(f"{curve.norm} norm x^T N x ({NORMS[curve.norm]})")
    ax.set_ylabel("weighted SV misfit r^T W r (dimensionless)")
    ax.set_title(title or "Trade-off curve (labels: log10 damping)")
    ax.grid(True, which="both", alpha=0.3)
    return ax
