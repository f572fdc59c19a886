"""Lowes-Mauersberger spatial power spectrum and the dipole moment of Gauss coefficients."""

from __future__ import annotations

from functools import lru_cache

import jax.numpy as jnp
import numpy as np

from bayescore.constants import EARTH_REFERENCE_RADIUS_KM, MU0
from bayescore.errors import CoefficientShapeError, InvalidSettingError
from bayescore.fields.synthesis import check_finite, concrete_array
from bayescore.sh.indexing import degree_order_arrays, lmax_from_size

__all__ = ["degree_correlation", "dipole_moment", "lowes_spectrum"]


@lru_cache(maxsize=64)
def _degree_summation(lmax: int) -> np.ndarray:
    """(L(L+2), L) matrix summing squared coefficients of each degree l = 1..L."""
    degree, _, _ = degree_order_arrays(lmax)
    summation = (degree[:, None] == np.arange(1, lmax + 1)[None, :]).astype(float)
    summation.setflags(write=False)
    return summation


def _as_coefficients(coeffs, what: str):
    coeffs = jnp.asarray(coeffs, dtype=jnp.result_type(float))
    if coeffs.ndim == 0:
        raise CoefficientShapeError(f"{what} must have a last axis of length L(L+2), got a scalar")
    lmax = lmax_from_size(coeffs.shape[-1], what)
    check_finite(coeffs, what)
    return coeffs, lmax


def lowes_spectrum(coeffs, r=EARTH_REFERENCE_RADIUS_KM, *, radius=EARTH_REFERENCE_RADIUS_KM):
    """Lowes-Mauersberger power per degree at radius ``r``.

    ``R_l(r) = (l+1) (a/r)^(2l+4) sum_m (g_lm^2 + h_lm^2)``: the mean over the sphere of
    radius ``r`` of the squared vector field of degree ``l`` (internal sources).

    Parameters
    ----------
    coeffs : array_like, shape B + (L(L+2),)
        Gauss coefficients (nT), or their time derivatives (SV in nT/yr, SA in nT/yr^2);
        leading batch dimensions allowed.
    r : float or array_like, default 6371.2
        Radius in km (e.g. 3485.0 for the core-mantle boundary); an array broadcasts
        against the batch dimensions ``B``.
    radius : float, default 6371.2
        Reference radius a of the coefficients in km.

    Returns
    -------
    jax.Array, shape broadcast(B, shape(r)) + (L,)
        ``R_l`` for l = 1..L, in the squared units of the coefficients (nT^2,
        (nT/yr)^2, (nT/yr^2)^2).

    Raises
    ------
    CoefficientShapeError
        If the last axis is not L(L+2).
    NonFiniteError
        If concrete coefficients or radii hold NaN or inf.
    ValueError
        If a concrete ``r`` is not positive.
    """
    coeffs, lmax = _as_coefficients(coeffs, "coeffs")
    check_finite(r, "r")
    r_values = concrete_array(r)
    if r_values is not None and np.any(r_values <= 0):
        raise InvalidSettingError(
            f"r must be a positive radius in km, got minimum {r_values.min()}"
        )
    degrees = np.arange(1, lmax + 1)
    power = (coeffs**2) @ jnp.asarray(_degree_summation(lmax))
    ratio = jnp.asarray(radius, dtype=coeffs.dtype) / jnp.asarray(r, dtype=coeffs.dtype)
    return (degrees + 1) * ratio[..., None] ** (2 * degrees + 4) * power


def dipole_moment(coeffs, *, radius=EARTH_REFERENCE_RADIUS_KM):
    """Dipole moment ``4 pi a^3 / mu0 * sqrt(g10^2 + g11^2 + h11^2)`` in A m^2.

    Parameters
    ----------
    coeffs : array_like, shape B + (L(L+2),)
        Gauss coefficients in nT (only g10, g11, h11 are used); batch dimensions allowed.
    radius : float, default 6371.2
        Reference radius a in km.

    Returns
    -------
    jax.Array, shape B
        Magnitude of the dipole moment (A m^2); about 7.7e22 A m^2 in 2020.
    """
    coeffs, _ = _as_coefficients(coeffs, "coeffs")
    a_m = float(radius) * 1e3
    dipole_tesla = jnp.sqrt(jnp.sum(coeffs[..., :3] ** 2, axis=-1)) * 1e-9
    return 4.0 * np.pi * a_m**3 / MU0 * dipole_tesla


def degree_correlation(coeffs_a, coeffs_b) -> np.ndarray:
    """Correlation per degree of two coefficient sets (Langel & Estes' degree correlation).

    ``rho_l = sum_m a_lm b_lm / sqrt(sum_m a_lm^2 sum_m b_lm^2)``, the cosine of the angle
    between the degree-l parts; independent of radius and units.

    Parameters
    ----------
    coeffs_a, coeffs_b : array_like, shape (..., L(L+2))
        Gauss (or SV, SA, flow) coefficients in the same order and degree; leading
        dimensions broadcast.

    Returns
    -------
    numpy.ndarray, shape (..., L)
        rho_l for l = 1..L, in [-1, 1]; NaN for a degree where either set is zero.

    Raises
    ------
    CoefficientShapeError
        If the last axes differ or are not of length L(L+2).
    NonFiniteError
        If a coefficient is NaN or infinite.
    """
    a, lmax = _as_coefficients(coeffs_a, "coeffs_a")
    b, lmax_b = _as_coefficients(coeffs_b, "coeffs_b")
    if lmax_b != lmax:
        raise CoefficientShapeError(
            f"coeffs_a has degree {lmax} and coeffs_b degree {lmax_b}: they must match"
        )
    a, b = np.asarray(a), np.asarray(b)
    summation = _degree_summation(lmax)
    cross = (a * b) @ summation
    scale = np.sqrt(((a**2) @ summation) * ((b**2) @ summation))
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(scale > 0, cross / np.where(scale > 0, scale, 1.0), np.nan)
