"""Gauss coefficients to and from :class:`pyshtools.SHMagCoeffs`, and global grids at the CMB.

bayescore's coefficient vectors (``docs/conventions.md``: Schmidt semi-normalised real
harmonics without the Condon-Shortley phase, reference radius a = 6371.2 km, nT, order
g10, g11, h11, g20, ...) map one to one onto pyshtools' magnetic coefficients with
``normalization="schmidt"`` and ``csphase=1`` (pyshtools' "exclude the phase factor"):

    clm[0, l, m] = g_lm,    clm[1, l, m] = h_lm,

with the reference radius ``r0`` in metres, pyshtools' convention for magnetic
coefficients (its potential is in nT m). The conversions are exact (a copy of the numbers,
no arithmetic), so a round trip returns the same floats. pyshtools then gives access to
its spectra, grids on Driscoll-Healy or equally spaced latitude-longitude grids, rotations
and plotting. :func:`radial_field_grid` and :func:`cmb_radial_field_grids` use it to map
B_r and its secular variation at the core-mantle boundary (CMB).

Module name: ``shcoeffs`` (not ``pyshtools``) so that it cannot shadow the package.
"""

from __future__ import annotations

import numpy as np

from bayescore.constants import CORE_RADIUS_KM, EARTH_REFERENCE_RADIUS_KM
from bayescore.errors import CoefficientShapeError, InvalidSettingError
from bayescore.fields.synthesis import check_finite
from bayescore.sh.indexing import degree_order_arrays, lmax_from_size

__all__ = [
    "cmb_radial_field_grids",
    "from_shmagcoeffs",
    "radial_field_grid",
    "to_shmagcoeffs",
]

#: Metres per kilometre: pyshtools' r0 is in metres, bayescore's radii in km.
_M_PER_KM = 1.0e3
#: Nanotesla per tesla (pyshtools' coefficients are in 'nT' or 'T').
_NT_PER_T = 1.0e9


def _coefficient_vector(coeffs) -> tuple[np.ndarray, int]:
    values = np.asarray(coeffs, dtype=float)
    if values.ndim != 1:
        raise CoefficientShapeError(
            f"coeffs must be one coefficient vector of length L(L+2), got shape {values.shape}"
        )
    lmax = lmax_from_size(values.size, "coeffs")
    check_finite(values, "coeffs")
    return values, lmax


def to_shmagcoeffs(
    coeffs,
    *,
    radius_km: float = EARTH_REFERENCE_RADIUS_KM,
    name: str | None = None,
    year: float | None = None,
):
    """One coefficient vector as a :class:`pyshtools.SHMagCoeffs` instance.

    Parameters
    ----------
    coeffs : array_like, shape (L(L+2),)
        Gauss coefficients g10, g11, h11, g20, ... (nT), Schmidt semi-normalised, no
        Condon-Shortley phase. SV (nT/yr) or SA (nT/yr^2) coefficients convert the same
        way; pyshtools then labels them ``"nT"`` and the time unit is implied.
    radius_km : float, default 6371.2
        Reference radius a of the coefficients, km (stored as ``r0`` in metres).
    name : str, optional
        Name stored in the instance (e.g. the model's name).
    year : float, optional
        Epoch of the coefficients, decimal years.

    Returns
    -------
    pyshtools.SHMagCoeffs
        ``normalization="schmidt"``, ``csphase=1``, ``units="nT"``, ``lmax=L``,
        ``r0 = 1000 * radius_km`` (m); ``clm.coeffs[0, l, m] = g_lm``,
        ``clm.coeffs[1, l, m] = h_lm`` and the degree-0 terms are zero.

    Raises
    ------
    CoefficientShapeError
        If ``coeffs`` is not one vector of length L(L+2).
    NonFiniteError
        If ``coeffs`` holds NaN or inf.
    """
    import pyshtools

    values, lmax = _coefficient_vector(coeffs)
    degree, order, is_sine = degree_order_arrays(lmax)
    array = np.zeros((2, lmax + 1, lmax + 1))
    array[is_sine.astype(int), degree, order] = values
    return pyshtools.SHMagCoeffs.from_array(
        array,
        r0=float(radius_km) * _M_PER_KM,
        normalization="schmidt",
        csphase=1,
        units="nT",
        name=name,
        year=year,
        copy=False,
    )


def from_shmagcoeffs(clm, *, radius_km: float = EARTH_REFERENCE_RADIUS_KM) -> np.ndarray:
    """A :class:`pyshtools.SHMagCoeffs` instance as a bayescore coefficient vector.

    Parameters
    ----------
    clm : pyshtools.SHMagCoeffs
        Magnetic potential coefficients in any pyshtools normalisation and phase
        convention, units ``"nT"`` or ``"T"``, reference radius ``clm.r0`` in metres.
    radius_km : float, default 6371.2
        Reference radius a (km) of the returned coefficients. When it differs from
        ``clm.r0``, the coefficients are continued to it with ``clm.change_ref``
        (multiplied by (r0/a)^(l+2), valid for sources inside both radii).

    Returns
    -------
    numpy.ndarray, shape (L(L+2),)
        Gauss coefficients g10, g11, h11, ... (nT), Schmidt semi-normalised, no
        Condon-Shortley phase; ``L = clm.lmax``. A degree-0 term is dropped (a magnetic
        potential has none).
    """
    if clm.normalization != "schmidt" or clm.csphase != 1:
        clm = clm.convert(normalization="schmidt", csphase=1)
    target_m = float(radius_km) * _M_PER_KM
    if not np.isclose(clm.r0, target_m, rtol=1e-15, atol=0.0):
        clm = clm.change_ref(r0=target_m)
    scale = _NT_PER_T if clm.units == "T" else 1.0
    lmax = int(clm.lmax)
    degree, order, is_sine = degree_order_arrays(lmax)
    return np.asarray(clm.coeffs, dtype=float)[is_sine.astype(int), degree, order] * scale


def radial_field_grid(
    coeffs,
    r_km: float = CORE_RADIUS_KM,
    *,
    radius_km: float = EARTH_REFERENCE_RADIUS_KM,
    lmax_grid: int | None = None,
    name: str = "B_r",
    units: str = "nT",
):
    """B_r of internal Gauss coefficients on a global latitude-longitude grid at radius r.

    The grid is pyshtools' equally spaced Driscoll-Healy grid (``sampling=2``,
    ``extend=True``): latitudes 90, 90 - d, ..., -90 and longitudes 0, d, ..., 360 with
    d = 90 / (lmax_grid + 1) degrees; the field is synthesised by
    :meth:`pyshtools.SHMagCoeffs.expand` at ``a = r``.

    Parameters
    ----------
    coeffs : array_like, shape (L(L+2),)
        Gauss coefficients (nT), or SV (nT/yr), at reference radius ``radius_km``.
    r_km : float, default 3485.0
        Radius of the sphere, km (default the CMB).
    radius_km : float, default 6371.2
        Reference radius of the coefficients, km.
    lmax_grid : int, optional
        Degree that sets the grid spacing (default L); must be >= L.
    name, units : str
        Name and units of the returned array (``"nT/yr"`` for SV coefficients).

    Returns
    -------
    xarray.DataArray, dims ("latitude", "longitude")
        B_r (outward) in ``units``; coordinates in degrees (geocentric latitude, east
        longitude); attributes ``radius_km`` and ``units``.

    Raises
    ------
    CoefficientShapeError
        If ``coeffs`` is not one vector of length L(L+2).
    ValueError
        If ``r_km`` is not positive or ``lmax_grid < L``.
    """
    import xarray as xr

    values, lmax = _coefficient_vector(coeffs)
    if not float(r_km) > 0:
        raise InvalidSettingError(f"r_km must be a positive radius in km, got {r_km}")
    lmax_grid = lmax if lmax_grid is None else int(lmax_grid)
    if lmax_grid < lmax:
        raise InvalidSettingError(
            f"lmax_grid = {lmax_grid} is below the coefficients' degree {lmax}"
        )
    clm = to_shmagcoeffs(values, radius_km=radius_km)
    grids = clm.expand(a=float(r_km) * _M_PER_KM, f=0.0, lmax=lmax_grid, sampling=2, extend=True)
    radial = grids.rad
    return xr.DataArray(
        np.asarray(radial.data, dtype=float),
        dims=("latitude", "longitude"),
        coords={
            "latitude": ("latitude", np.asarray(radial.lats()), {"units": "degree"}),
            "longitude": ("longitude", np.asarray(radial.lons()), {"units": "degree"}),
        },
        name=name,
        attrs={"units": units, "radius_km": float(r_km)},
    )


def cmb_radial_field_grids(model, epoch: float, *, lmax_grid: int | None = None):
    """Global grids of B_r and of its secular variation at the CMB at one epoch.

    Parameters
    ----------
    model : bayescore.fields.FieldModel
        Field model with ``coeffs(t)`` (nT), ``sv(t)`` (nT/yr) and ``radius`` (km).
    epoch : float
        Decimal year inside the model's span.
    lmax_grid : int, optional
        Degree that sets the grid spacing (default the model's L); see
        :func:`radial_field_grid`.

    Returns
    -------
    xarray.Dataset
        Variables ``br`` (nT) and ``br_sv`` (nT/yr) on dims ("latitude", "longitude") at
        r = 3485.0 km; attributes ``model``, ``epoch`` and ``radius_km``.
    """
    import xarray as xr

    epoch = float(epoch)
    field = np.asarray(model.coeffs(epoch))
    sv = np.asarray(model.sv(epoch))
    common = {"r_km": CORE_RADIUS_KM, "radius_km": model.radius, "lmax_grid": lmax_grid}
    return xr.Dataset(
        {
            "br": radial_field_grid(field, name="br", units="nT", **common),
            "br_sv": radial_field_grid(sv, name="br_sv", units="nT/yr", **common),
        },
        attrs={"model": model.name, "epoch": epoch, "radius_km": CORE_RADIUS_KM},
    )
