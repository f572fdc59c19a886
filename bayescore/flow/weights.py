"""Weights of the secular-variation equations in a flow inversion (Lesur et al. 2010).

The frozen-flux equations ``gdot = E t + G s`` are written for SV coefficients at the
reference radius a (nT/yr) up to degree L_SV (usually L_B + L_F, the band limit of the
product of field and flow). Each equation gets a diagonal weight W_l that depends on its
degree only. Lesur et al. (2010, eqs. 24-29) build it at the CMB (radius c) from:

* the surface integration weight of a CMB coefficient, ``w_l = (l+1)^2 / (2l+1)``
  (eq. 25; ``int_S (dBr/dt)^2 dS = 4 pi c^2 sum_l w_l sum_m (gdot^c_lm)^2``);
* for l <= L_B, a representation error with per-coefficient variance at the CMB
  ``sigma_l^2 = k R_l / ((l+1)(2l+1))``, with ``R_l = (l+1) sum_m (gdot^c_lm)^2`` the
  Lowes-Mauersberger spectrum at the CMB of the current SV estimate (eq. 26);
* for l > L_B, a truncation error: SV power at r = a below ``v = 0.5 (nT/yr)^2`` per
  degree, i.e. a per-coefficient variance ``(a/c)^(2l+4) v / ((l+1)(2l+1))`` at the CMB
  (eq. 27);

and ``W^c_l = w_l / sigma_l^2`` (eqs. 28-29). Here the weights are returned for
coefficients **at a**: with ``gdot^c_l = (a/c)^(l+2) gdot_l``, a CMB weight W^c_l is the
a-weight ``W_l = (a/c)^(2l+4) W^c_l``. Written out (``S_l = sum_m gdot_lm^2`` at a):

* l <= L_B: ``W_l = (l+1)^2 / (k S_l)``;
* l > L_B:  ``W_l = (l+1)^3 / v``.

The powers of (a/c) cancel. The constant k (``representation_scale``, dimensionless; the
paper absorbs it in lambda_1) sets the relative size of the two branches; with ``k = 1``
each coefficient's representation error is as large as its degree's mean square SV. The
weights are in (nT/yr)^-2 and bayescore uses them as the precision of the SV errors (see
:mod:`bayescore.flow.inversion`).
"""

from __future__ import annotations

import jax.numpy as jnp
import numpy as np

from bayescore.constants import CORE_RADIUS_KM, EARTH_REFERENCE_RADIUS_KM
from bayescore.errors import CoefficientShapeError, ModelConfigError, NonFiniteError
from bayescore.sh.indexing import degree_order_arrays, lmax_from_size, n_coefficients

__all__ = [
    "NEGLIGIBLE_POWER_RATIO",
    "SCHEMES",
    "sv_weights",
    "sv_weights_from_power",
    "sv_degree_power",
    "sv_model_degree",
]

#: Weighting schemes of :func:`sv_weights`.
SCHEMES = ("lesur", "uniform", "cmb")

#: Power of a degree, relative to the largest degree power, below which the degree is
#: treated as absent (zero): 1e-24 in power is 1e-12 in amplitude, far below any modelled
#: SV (gufm1's degree 14 is 1e-7 of its degree 1 in power) and far above the rounding
#: residue (~1e-32) that a spline evaluation leaves in coefficients that are exactly zero.
NEGLIGIBLE_POWER_RATIO = 1e-24


def sv_degree_power(gdot, lmax: int | None = None):
    """Sum over orders of the squared SV coefficients of each degree, at r = a.

    Parameters
    ----------
    gdot : array_like, shape (..., L(L+2))
        SV coefficients at a in nT/yr.
    lmax : int, optional
        Number of degrees to return (default: the degree of ``gdot``); degrees above the
        degree of ``gdot`` get zero.

    Returns
    -------
    jax.Array, shape (..., lmax)
        ``S_l = sum_m (gdot_lm^2 + hdot_lm^2)`` in (nT/yr)^2 at index l - 1 (the Lowes
        spectrum at a divided by l + 1).
    """
    gdot = jnp.asarray(gdot, dtype=float)
    lmax_gdot = lmax_from_size(gdot.shape[-1], "SV coefficient vector")
    lmax = lmax_gdot if lmax is None else int(lmax)
    degree, _, _ = degree_order_arrays(lmax_gdot)
    one_hot = jnp.asarray(degree[:, None] == np.arange(1, lmax + 1)[None, :], dtype=float)
    return (gdot**2) @ one_hot


def sv_model_degree(gdot) -> int:
    """Degree of an SV model: its highest degree with non-negligible power.

    A model padded with zero coefficients (IGRF before 2000 has degree 10 in a degree-13
    vector) is of the lower degree: the SV above it is unknown, not zero. Powers below
    :data:`NEGLIGIBLE_POWER_RATIO` times the largest degree power count as zero.

    Parameters
    ----------
    gdot : array_like, shape (L(L+2),)
        SV coefficients at a, nT/yr.

    Returns
    -------
    int
        The degree, between 1 and L.

    Raises
    ------
    ValueError
        If every coefficient is zero.
    """
    power = np.asarray(sv_degree_power(np.asarray(gdot, dtype=float)))
    nonzero = np.flatnonzero(power > NEGLIGIBLE_POWER_RATIO * power.max())
    if power.max() <= 0 or nonzero.size == 0:
        raise ModelConfigError("the SV estimate is identically zero: its degree is undefined")
    return int(nonzero[-1]) + 1


def sv_weights_from_power(
    degree_power,
    lmax_sv: int,
    truncation_variance: float = 0.5,
    representation_scale: float = 1.0,
):
    """Lesur weights of the SV equations from the per-degree SV power (jit-able core).

    Parameters
    ----------
    degree_power : array_like, shape (..., L_B)
        ``S_l = sum_m gdot_lm^2`` at a, (nT/yr)^2, for l = 1..L_B (must be positive).
    lmax_sv : int
        Maximum degree of the SV equations, >= L_B.
    truncation_variance : float, optional
        Upper bound v of the SV power per degree at a above L_B, (nT/yr)^2 (paper: 0.5).
    representation_scale : float, optional
        The dimensionless constant k of the representation error (default 1).

    Returns
    -------
    jax.Array, shape (..., L_SV (L_SV + 2))
        Diagonal weights in (nT/yr)^-2 for SV coefficients at a.
    """
    degree_power = jnp.asarray(degree_power, dtype=float)
    lmax_field = degree_power.shape[-1]
    degree, _, _ = degree_order_arrays(int(lmax_sv))
    ell = jnp.arange(1, lmax_sv + 1, dtype=float)
    padded = jnp.concatenate(
        [
            degree_power,
            jnp.ones(degree_power.shape[:-1] + (lmax_sv - lmax_field,)),
        ],
        axis=-1,
    )
    representation = (ell + 1) ** 2 / (representation_scale * padded)
    truncation = (ell + 1) ** 3 / truncation_variance
    per_degree = jnp.where(ell <= lmax_field, representation, truncation)
    return per_degree[..., degree - 1]


def sv_weights(
    gdot_estimate=None,
    lmax_field: int | None = None,
    lmax_sv: int | None = None,
    truncation_variance: float = 0.5,
    scheme: str = "lesur",
    representation_scale: float = 1.0,
    core_radius: float = CORE_RADIUS_KM,
    reference_radius: float = EARTH_REFERENCE_RADIUS_KM,
):
    """Diagonal weights of the SV equations, for SV coefficients at r = a.

    Parameters
    ----------
    gdot_estimate : array_like, shape (L(L+2),), optional
        Current SV estimate at a (nT/yr) whose spectrum sets the representation error of
        the Lesur scheme (degrees 1..``lmax_field`` are used; it must reach that degree).
        Not needed for the other schemes.
    lmax_field : int, optional
        L_B: the degree up to which the SV is modelled (representation error); above it
        the truncation error applies. Default: the highest degree of ``gdot_estimate``
        with non-zero power (:func:`sv_model_degree`; e.g. 10 for IGRF before 2000,
        whose degrees 11-13 are zero).
    lmax_sv : int, optional
        Maximum degree of the SV equations (default: ``lmax_field``).
    truncation_variance : float, optional
        Upper bound of the SV power per degree at a above L_B, (nT/yr)^2 (default 0.5).
    scheme : {"lesur", "uniform", "cmb"}
        ``"lesur"``: eqs. 24-29 of Lesur et al. (2010), see the module docstring.
        ``"uniform"``: every coefficient at a weighted 1 (unit variance, (nT/yr)^-2).
        ``"cmb"``: the integration weights alone, ``(a/c)^(2l+4) (l+1)^2/(2l+1)``, i.e. the
        mean square of dBr/dt over the CMB divided by ``4 pi c^2`` (paper eq. 19).
    representation_scale : float, optional
        The constant k of the representation error (default 1).
    core_radius, reference_radius : float, optional
        c and a in km.

    Returns
    -------
    numpy.ndarray, shape (L_SV (L_SV + 2),)
        The weights (float64). Units (nT/yr)^-2 for "lesur" and "uniform"; the "cmb"
        weights are dimensionless integration weights.

    Raises
    ------
    ValueError
        Unknown scheme, non-positive variance/scale, a degree of the SV estimate up to
        ``lmax_field`` with zero power (its Lesur weight would be infinite), or
        ``lmax_sv < lmax_field``.
    CoefficientShapeError
        ``gdot_estimate`` is not a vector of length L(L+2) or does not reach ``lmax_field``.
    NonFiniteError
        ``gdot_estimate`` contains NaN or infinite values.
    """
    if scheme not in SCHEMES:
        raise ModelConfigError(f"unknown SV weighting scheme {scheme!r}: expected one of {SCHEMES}")
    gdot = None
    if gdot_estimate is not None:
        gdot = np.asarray(gdot_estimate, dtype=float)
        if gdot.ndim != 1:
            raise CoefficientShapeError(
                f"gdot_estimate must be a 1-D coefficient vector, got shape {gdot.shape}"
            )
        lmax_gdot = lmax_from_size(gdot.size, "gdot_estimate")
        if not np.all(np.isfinite(gdot)):
            raise NonFiniteError("gdot_estimate contains NaN or infinite values")
        if lmax_field is None:
            lmax_field = sv_model_degree(gdot)
        if lmax_field > lmax_gdot:
            raise CoefficientShapeError(
                f"gdot_estimate reaches degree {lmax_gdot}, below lmax_field={lmax_field}"
            )
    if lmax_field is None and lmax_sv is None:
        raise ModelConfigError("give gdot_estimate, lmax_field or lmax_sv to fix the degrees")
    if lmax_field is None:
        lmax_field = lmax_sv
    lmax_field = int(lmax_field)
    lmax_sv = lmax_field if lmax_sv is None else int(lmax_sv)
    n_coefficients(lmax_field)
    if lmax_sv < lmax_field:
        raise ModelConfigError(f"lmax_sv={lmax_sv} is below lmax_field={lmax_field}")

    degree, _, _ = degree_order_arrays(lmax_sv)
    if scheme == "uniform":
        return np.ones(n_coefficients(lmax_sv))
    if scheme == "cmb":
        ell = degree.astype(float)
        ratio = reference_radius / core_radius
        return ratio ** (2 * ell + 4) * (ell + 1) ** 2 / (2 * ell + 1)

    if gdot is None:
        raise ModelConfigError("the 'lesur' scheme needs gdot_estimate (its spectrum sets W)")
    if not truncation_variance > 0 or not representation_scale > 0:
        raise ModelConfigError(
            "truncation_variance and representation_scale must be positive, got "
            f"{truncation_variance} and {representation_scale}"
        )
    all_power = np.asarray(sv_degree_power(gdot))
    power = all_power[:lmax_field]
    zero = np.flatnonzero(power <= NEGLIGIBLE_POWER_RATIO * all_power.max())
    if zero.size:
        raise ModelConfigError(
            f"the SV estimate has zero power at degree(s) {(zero + 1).tolist()}: the Lesur "
            "representation-error weight would be infinite (use scheme='uniform' or "
            "lower lmax_field)"
        )
    return np.asarray(
        sv_weights_from_power(power, lmax_sv, truncation_variance, representation_scale)
    )
