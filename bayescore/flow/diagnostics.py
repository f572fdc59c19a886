"""Summary statistics of a core-surface flow (Lesur et al. 2010, Section 5).

All statistics are computed from the toroidal and poloidal coefficients t, s (km/yr) and
accept leading batch dimensions (e.g. a time series of flows, shape (K, L_F (L_F + 2))).

* Kinetic energy: the mean square speed over the CMB, ``KE = sum_l l(l+1)/(2l+1)
  sum_m (t_lm^2 + s_lm^2)`` in (km/yr)^2, split per degree into toroidal and poloidal
  spectra. The rms speed is ``sqrt(KE)``.
* Toroidal fraction: the toroidal share of KE.
* Geostrophic (equatorially symmetric) fraction: the share of KE in the flow that is
  symmetric about the equator, toroidal coefficients with l + m odd and poloidal ones
  with l + m even. The paper does not define its "geostrophic" fraction; this is the
  reading adopted by bayescore (see the frozen-flux theory page of the documentation).
* Zonal geostrophic fraction: the share of KE in t_l0 with l odd (t10, t30, ...), the
  flow on geostrophic cylinders of length-of-day studies.
* Solid-body drift: the angular rate of the solid-body part t10 = w c of the flow,
  ``w = t10 / c`` rad/yr, in degrees per year, eastward positive (westward drift is
  negative). It is a global average; the westward drift of the historical field is
  concentrated in the Atlantic hemisphere.
* Equatorial azimuthal drift of a sector (:func:`sector_drift`,
  :func:`hemispheric_drift`): the mean angular rate ``u_phi / (c sin theta)`` over a
  low-latitude band and a range of longitudes (Atlantic hemisphere 90W-90E, Pacific
  hemisphere 90E-270E), in degrees per year, eastward positive.
* Length-of-day change: ``dLOD = 1.232 (t10 + 1.776 t30 + 0.080 t50 + 0.002 t70)`` ms
  (Jault et al. 1988, t in km/yr, Schmidt normalisation). With t10 = w c an eastward core
  rotation (t10 > 0) speeds the core up relative to the mantle, which slows down: the day
  lengthens, so the sign is +. Only changes of dLOD between epochs are meaningful.
"""

from __future__ import annotations

import math

import jax.numpy as jnp
import numpy as np

from bayescore.constants import CORE_RADIUS_KM
from bayescore.errors import CoefficientShapeError, ModelConfigError
from bayescore.flow.norms import _flow_pair
from bayescore.sh.indexing import degree_order_arrays

__all__ = [
    "ATLANTIC_HEMISPHERE",
    "DRIFT_BAND_HALF_WIDTH_DEG",
    "PACIFIC_HEMISPHERE",
    "hemispheric_drift",
    "sector_drift",
    "LOD_FACTOR_MS",
    "LOD_ZONAL_COEFFICIENTS",
    "UNITS",
    "kinetic_energy_spectrum",
    "flow_statistics",
    "summarise",
]

#: Leading factor of the length-of-day formula, ms per km/yr (Jault et al. 1988).
LOD_FACTOR_MS = 1.232
#: Relative factors of t10, t30, t50, t70 in the length-of-day formula.
LOD_ZONAL_COEFFICIENTS = {1: 1.0, 3: 1.776, 5: 0.080, 7: 0.002}

#: Units of the quantities returned by :func:`flow_statistics` and :func:`summarise`.
UNITS = {
    "kinetic_energy": "(km/yr)^2",
    "kinetic_energy_toroidal": "(km/yr)^2",
    "kinetic_energy_poloidal": "(km/yr)^2",
    "rms_speed": "km/yr",
    "toroidal_fraction": "1",
    "geostrophic_fraction": "1",
    "zonal_geostrophic_fraction": "1",
    "solid_body_drift": "deg/yr",
    "lod_change": "ms",
    "toroidal_spectrum": "(km/yr)^2",
    "poloidal_spectrum": "(km/yr)^2",
}

_DESCRIPTIONS = {
    "kinetic_energy": "mean square speed over the CMB",
    "kinetic_energy_toroidal": "toroidal part of the mean square speed",
    "kinetic_energy_poloidal": "poloidal part of the mean square speed",
    "rms_speed": "root mean square speed over the CMB",
    "toroidal_fraction": "toroidal share of the kinetic energy",
    "geostrophic_fraction": "equatorially symmetric share of the kinetic energy "
    "(toroidal l+m odd, poloidal l+m even)",
    "zonal_geostrophic_fraction": "share of the kinetic energy in t_l0 with l odd",
    "solid_body_drift": "solid-body rotation rate t10/c, eastward positive "
    "(westward drift negative)",
    "lod_change": "length-of-day change 1.232 (t10 + 1.776 t30 + 0.080 t50 + 0.002 t70)",
    "toroidal_spectrum": "toroidal kinetic energy per degree",
    "poloidal_spectrum": "poloidal kinetic energy per degree",
}


def _as_flow(t, s):
    return _flow_pair(t, s, check_finite=True)


def kinetic_energy_spectrum(t, s):
    """Toroidal and poloidal kinetic energy per degree.

    Parameters
    ----------
    t, s : array_like, shape (..., L_F (L_F + 2))
        Toroidal and poloidal coefficients in km/yr.

    Returns
    -------
    toroidal, poloidal : jax.Array, shape (..., L_F)
        ``l(l+1)/(2l+1) sum_m t_lm^2`` (and the same for s) in (km/yr)^2, degree l at
        index l - 1. Their total sum is the mean square speed over the CMB.
    """
    t, s, lmax = _as_flow(t, s)
    return _spectra(t, s, lmax)


def _spectra(t, s, lmax):
    degree, _, _ = degree_order_arrays(lmax)
    ell = degree.astype(float)
    w = ell * (ell + 1) / (2 * ell + 1)
    one_hot = jnp.asarray(degree[:, None] == np.arange(1, lmax + 1)[None, :], dtype=float)
    return (w * t**2) @ one_hot, (w * s**2) @ one_hot


def flow_statistics(t, s, core_radius: float = CORE_RADIUS_KM) -> dict:
    """Scalar statistics and spectra of a flow (arrays, jit-friendly).

    Parameters
    ----------
    t, s : array_like, shape (..., L_F (L_F + 2))
        Toroidal and poloidal coefficients in km/yr.
    core_radius : float, optional
        CMB radius c in km (for the solid-body drift).

    Returns
    -------
    dict of str to jax.Array
        Keys and units as in :data:`UNITS`: ``kinetic_energy``,
        ``kinetic_energy_toroidal``, ``kinetic_energy_poloidal``, ``rms_speed``,
        ``toroidal_fraction``, ``geostrophic_fraction``, ``zonal_geostrophic_fraction``,
        ``solid_body_drift`` (deg/yr, eastward positive), ``lod_change`` (ms), each of
        shape (...), and ``toroidal_spectrum``, ``poloidal_spectrum`` of shape
        (..., L_F). Fractions of a zero flow are NaN.
    """
    t, s, lmax = _as_flow(t, s)
    degree, order, _ = degree_order_arrays(lmax)
    ell = degree.astype(float)
    w = jnp.asarray(ell * (ell + 1) / (2 * ell + 1))
    tor_spec, pol_spec = _spectra(t, s, lmax)
    ke_t = jnp.sum(tor_spec, axis=-1)
    ke_s = jnp.sum(pol_spec, axis=-1)
    ke = ke_t + ke_s
    parity_odd = (degree + order) % 2 == 1
    sym = jnp.sum(w * t**2 * parity_odd, axis=-1) + jnp.sum(w * s**2 * ~parity_odd, axis=-1)
    zonal_odd = (order == 0) & (degree % 2 == 1)
    zonal = jnp.sum(w * t**2 * zonal_odd, axis=-1)
    t10 = t[..., 0]  # the first coefficient is t_10
    lod_weights = np.zeros(degree.size)
    for ell_, factor in LOD_ZONAL_COEFFICIENTS.items():  # table of 4 entries
        lod_weights[(degree == ell_) & (order == 0)] = LOD_FACTOR_MS * factor
    lod = t @ jnp.asarray(lod_weights)
    return {
        "kinetic_energy": ke,
        "kinetic_energy_toroidal": ke_t,
        "kinetic_energy_poloidal": ke_s,
        "rms_speed": jnp.sqrt(ke),
        "toroidal_fraction": ke_t / ke,
        "geostrophic_fraction": sym / ke,
        "zonal_geostrophic_fraction": zonal / ke,
        "solid_body_drift": jnp.rad2deg(t10 / core_radius),
        "lod_change": lod,
        "toroidal_spectrum": tor_spec,
        "poloidal_spectrum": pol_spec,
    }


def summarise(t, s, time=None, core_radius: float = CORE_RADIUS_KM):
    """Flow diagnostics as a labelled :class:`xarray.Dataset` with units.

    Parameters
    ----------
    t, s : array_like, shape (L_F (L_F + 2),) or (K, L_F (L_F + 2))
        Toroidal and poloidal coefficients in km/yr, one flow or a series of K flows.
    time : array_like, shape (K,), optional
        Epochs (decimal years) of a series; used as the ``time`` coordinate.
    core_radius : float, optional
        CMB radius c in km.

    Returns
    -------
    xarray.Dataset
        The variables of :func:`flow_statistics` with ``units`` and ``description``
        attributes; the spectra have a ``degree`` dimension, a series a ``time``
        dimension.
    """
    import xarray as xr

    t, s, lmax = _as_flow(t, s)
    if t.ndim > 2:
        raise CoefficientShapeError(f"expected one flow or a series (K, n), got {t.shape}")
    stats = flow_statistics(t, s, core_radius)
    lead = ("time",) if t.ndim == 2 else ()
    coords = {"degree": np.arange(1, lmax + 1)}
    if t.ndim == 2:
        coords["time"] = np.arange(t.shape[0]) if time is None else np.asarray(time, float)
        if coords["time"].shape != (t.shape[0],):
            raise CoefficientShapeError(
                f"time has shape {coords['time'].shape}, expected ({t.shape[0]},)"
            )
    data_vars = {}
    for key, value in stats.items():
        dims = lead + (("degree",) if key.endswith("_spectrum") else ())
        data_vars[key] = xr.Variable(
            dims,
            np.asarray(value),
            attrs={"units": UNITS[key], "description": _DESCRIPTIONS[key]},
        )
    return xr.Dataset(data_vars, coords=coords, attrs={"lmax_flow": lmax})


#: Longitudes (degrees east, west edge then east edge) of the Atlantic hemisphere.
ATLANTIC_HEMISPHERE = (-90.0, 90.0)
#: Longitudes (degrees east, west edge then east edge) of the Pacific hemisphere.
PACIFIC_HEMISPHERE = (90.0, 270.0)
#: Half width (degrees of latitude) of the equatorial band of :func:`sector_drift`.
DRIFT_BAND_HALF_WIDTH_DEG = 30.0


def sector_drift(
    t,
    s,
    west_deg: float,
    east_deg: float,
    half_width_deg: float = DRIFT_BAND_HALF_WIDTH_DEG,
    core_radius: float = CORE_RADIUS_KM,
) -> float:
    """Mean azimuthal angular rate of a flow over a low-latitude sector of the CMB.

    The area-weighted mean of ``u_phi / (c sin theta)`` over latitudes within
    ``half_width_deg`` of the equator and longitudes from ``west_deg`` eastward to
    ``east_deg``, by Gauss-Legendre quadrature in ``cos theta`` and in longitude (the
    integrand is smooth; the quadrature has ``2 L_F + 8`` nodes in each direction). A
    solid-body rotation ``t10 = w c`` gives ``w`` in every sector.

    Parameters
    ----------
    t, s : array_like, shape (L_F (L_F + 2),)
        Toroidal and poloidal coefficients in km/yr.
    west_deg, east_deg : float
        West and east edges of the sector in degrees east (``east_deg > west_deg``; the
        sector may cross 0 or 360, e.g. ``(-90, 90)`` or ``(90, 270)``).
    half_width_deg : float, optional
        Half width of the equatorial band in degrees of latitude, in (0, 90).
    core_radius : float, optional
        CMB radius c in km.

    Returns
    -------
    float
        Drift rate in degrees per year, eastward positive (a westward drift is
        negative).
    """
    from bayescore.flow.velocity import velocity

    t, s, lmax = _as_flow(t, s)
    if t.ndim != 1:
        raise CoefficientShapeError(f"sector_drift expects one flow (1-D t, s), got {t.shape}")
    if not east_deg > west_deg or east_deg - west_deg > 360.0:
        raise ModelConfigError(
            f"the sector must run eastward from west_deg to east_deg within 360 degrees, "
            f"got {west_deg!r} to {east_deg!r}"
        )
    if not 0.0 < half_width_deg < 90.0:
        raise ModelConfigError(f"half_width_deg must lie in (0, 90), got {half_width_deg!r}")
    n = 2 * lmax + 8
    nodes, weights = np.polynomial.legendre.leggauss(n)
    top = math.sin(math.radians(half_width_deg))
    cos_theta = top * nodes  # Gauss-Legendre in cos(theta) carries the area weight
    phi = np.radians(west_deg + 0.5 * (east_deg - west_deg) * (nodes + 1.0))
    theta_grid, phi_grid = np.meshgrid(np.arccos(cos_theta), phi, indexing="ij")
    _, u_phi = velocity(t, s, theta_grid, phi_grid)
    rate = np.asarray(u_phi) / (core_radius * np.sin(theta_grid))
    area = np.outer(weights, weights)
    return float(np.degrees(np.sum(area * rate) / np.sum(area)))


def hemispheric_drift(
    t,
    s,
    half_width_deg: float = DRIFT_BAND_HALF_WIDTH_DEG,
    core_radius: float = CORE_RADIUS_KM,
) -> dict:
    """Equatorial azimuthal drift of the Atlantic and Pacific hemispheres.

    :func:`sector_drift` over :data:`ATLANTIC_HEMISPHERE` (90W-90E) and
    :data:`PACIFIC_HEMISPHERE` (90E-270E). For the historical field the Atlantic
    hemisphere drifts westward several times faster than the global solid-body rate
    ``t10 / c`` and the Pacific hemisphere hardly drifts.

    Parameters
    ----------
    t, s : array_like, shape (L_F (L_F + 2),)
        Toroidal and poloidal coefficients in km/yr.
    half_width_deg : float, optional
        Half width of the equatorial band in degrees of latitude.
    core_radius : float, optional
        CMB radius c in km.

    Returns
    -------
    dict
        ``{"atlantic": rate, "pacific": rate}`` in degrees per year, eastward positive.
    """
    return {
        name: sector_drift(t, s, *edges, half_width_deg=half_width_deg, core_radius=core_radius)
        for name, edges in (("atlantic", ATLANTIC_HEMISPHERE), ("pacific", PACIFIC_HEMISPHERE))
    }
