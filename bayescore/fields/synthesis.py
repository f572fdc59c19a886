"""Vector field of an internal Gauss-coefficient expansion at points: synthesis and design matrix.

The internal potential (Schmidt semi-normalised, reference radius a = 6371.2 km) is

    V = a sum_{l=1..L} sum_{m=0..l} (a/r)^{l+1} [g_lm cos(m phi) + h_lm sin(m phi)] P_l^m(cos theta)

and ``B = -grad V``:

    B_r     =  sum (l+1) (a/r)^{l+2} [g cos(m phi) + h sin(m phi)] P_l^m
    B_theta = -sum       (a/r)^{l+2} [g cos(m phi) + h sin(m phi)] dP_l^m/dtheta
    B_phi   =  sum       (a/r)^{l+2} m [g sin(m phi) - h cos(m phi)] P_l^m / sin(theta)

with ``P_l^m / sin(theta)`` taken from :func:`bayescore.sh.legendre.schmidt_legendre`, so
nothing is divided by ``sin(theta)`` and every component is finite at the poles. Units: the
coefficients' units (nT for the field, nT/yr for SV, ...). Coordinates: r in km, theta the
geocentric colatitude in radians, phi the longitude in radians (east positive).
"""

from __future__ import annotations

from functools import partial

import jax
import jax.numpy as jnp
import numpy as np

from bayescore.constants import EARTH_REFERENCE_RADIUS_KM
from bayescore.errors import (
    CoefficientShapeError,
    InvalidDegreeError,
    InvalidSettingError,
    NonFiniteError,
)
from bayescore.sh.indexing import (
    degree_order_arrays,
    lm_index_tables,
    lmax_from_size,
)
from bayescore.sh.legendre import schmidt_legendre, schmidt_legendre_at_coefficients

__all__ = ["COMPONENTS", "check_degree", "design_matrix", "finite_array", "synth"]

#: Names of the spherical vector components, in the order returned by :func:`synth`.
COMPONENTS = ("r", "theta", "phi")


def concrete_array(x):
    """``numpy`` copy of ``x`` when it holds concrete values, ``None`` under JAX tracing."""
    if isinstance(x, jax.core.Tracer):
        return None
    return np.asarray(x)


def check_degree(value, name: str = "lmax") -> int:
    """A spherical-harmonic degree checked to be an integer >= 1.

    Parameters
    ----------
    value : int or integral number
        The degree (``3`` and ``3.0`` are accepted; ``2.5``, ``0``, ``True`` are not).
    name : str
        What the degree is, for the error message.

    Returns
    -------
    int

    Raises
    ------
    InvalidDegreeError
        For a non-integer, non-numeric, boolean or non-positive value (it is never
        truncated).
    """
    try:
        integral = not isinstance(value, bool) and int(value) == value
    except (TypeError, ValueError, OverflowError):
        integral = False
    if not integral or int(value) < 1:
        raise InvalidDegreeError(f"{name} must be an integer >= 1, got {value!r}")
    return int(value)


def finite_array(value, name: str, ndim: int | None = None) -> np.ndarray:
    """``value`` as a float64 numpy array, checked to be finite (and of a given rank).

    Parameters
    ----------
    value : array_like
    name : str
        What the array is, for the error messages.
    ndim : int, optional
        Required number of dimensions.

    Returns
    -------
    numpy.ndarray

    Raises
    ------
    CoefficientShapeError
        If ``ndim`` is given and the array has another rank.
    NonFiniteError
        If an entry is NaN or infinite.
    """
    array = np.asarray(value, dtype=float)
    if ndim is not None and array.ndim != ndim:
        raise CoefficientShapeError(f"{name} must be {ndim}-D, got shape {array.shape}")
    if not np.all(np.isfinite(array)):
        raise NonFiniteError(f"{name} contains NaN or infinite values")
    return array


def check_finite(x, name: str) -> None:
    """Raise :class:`NonFiniteError` if the concrete array ``x`` holds NaN or inf.

    Does nothing while ``x`` is traced (inside ``jax.jit`` or ``jax.grad``).
    """
    values = concrete_array(x)
    if values is None:
        return
    bad = ~np.isfinite(values)
    if np.any(bad):
        first = tuple(int(i) for i in np.argwhere(bad)[0])
        raise NonFiniteError(
            f"{name} contains {int(bad.sum())} non-finite value(s) (NaN or inf), "
            f"first at index {first}: {values[first].item()!r}"
        )


def _check_points(r, theta, phi) -> None:
    """Finite coordinates, r > 0 km and theta in [0, pi] rad (when concrete)."""
    for value, name in ((r, "r"), (theta, "theta"), (phi, "phi")):
        check_finite(value, name)
    r_values = concrete_array(r)
    if r_values is not None and np.any(r_values <= 0):
        raise InvalidSettingError(
            f"r must be a positive radius in km, got minimum {r_values.min()}"
        )
    theta_values = concrete_array(theta)
    if theta_values is not None and theta_values.size:
        low, high = float(theta_values.min()), float(theta_values.max())
        if low < -1e-12 or high > np.pi + 1e-12:
            raise InvalidSettingError(
                f"theta must be a colatitude in radians within [0, pi], got values in "
                f"[{low}, {high}] (degrees passed instead of radians?)"
            )


def _check_components(components) -> tuple[int, ...]:
    if isinstance(components, str):
        components = (components,)
    components = tuple(components)
    unknown = [c for c in components if c not in COMPONENTS]
    if unknown or not components:
        raise InvalidSettingError(
            f"components must be a non-empty subset of {COMPONENTS}, got {components}"
        )
    return tuple(COMPONENTS.index(c) for c in components)


def _component_kernels(lmax: int, r, theta, phi, radius: float):
    """Per-coefficient kernels of (B_r, B_theta, B_phi) at the broadcast points.

    Returns a tuple of three arrays of shape S + (L(L+2),) with S the broadcast shape
    of the points: ``B_c = sum_n kernel_c[..., n] * coeffs[n]``.
    """
    degree, order, is_sine = degree_order_arrays(lmax)
    r, theta, phi = jnp.broadcast_arrays(
        *(jnp.asarray(v, dtype=jnp.result_type(float)) for v in (r, theta, phi))
    )
    P, dP, P_over_sin = schmidt_legendre_at_coefficients(lmax, theta)
    # powers and trigonometric functions per degree / order (S x (L+3), S x (L+1)), then
    # gathered to coefficient order: L times fewer pow/cos/sin evaluations
    ratio_powers = (radius / r)[..., None] ** jnp.arange(lmax + 3)
    radial = ratio_powers[..., degree + 2]
    m_phi = phi[..., None] * jnp.arange(lmax + 1)
    cos_m, sin_m = jnp.cos(m_phi)[..., order], jnp.sin(m_phi)[..., order]
    trig = jnp.where(is_sine, sin_m, cos_m)  # cos(m phi) for g, sin(m phi) for h
    dtrig_dphi = order * jnp.where(is_sine, cos_m, -sin_m)
    k_r = (degree + 1) * radial * trig * P
    k_theta = -radial * trig * dP
    k_phi = -radial * dtrig_dphi * P_over_sin
    return k_r, k_theta, k_phi


@partial(jax.jit, static_argnames=("lmax", "component_index", "radius"))
def _design_matrix_jit(r, theta, phi, *, lmax, component_index, radius):
    kernels = _component_kernels(lmax, r, theta, phi, radius)
    return jnp.stack([kernels[i] for i in component_index], axis=-2)


@partial(jax.jit, static_argnames=("lmax", "radius"))
def _synth_jit(coeffs, r, theta, phi, *, lmax, radius):
    # Evaluated on (l, m) arrays rather than through per-coefficient kernels: the only
    # gather is of the (small) coefficient array. For each point and degree the sum over
    # m is formed first, T[..., l] = sum_m X_lm (g_lm cos(m phi) + h_lm sin(m phi)), for
    # X = P and dP/dtheta, and T_phi with P/sin(theta) and the phi-derivative
    # m (h_lm cos(m phi) - g_lm sin(m phi)); then the sums over l with (a/r)^(l+2).
    cos_index, sin_index = lm_index_tables(lmax)
    padded = jnp.concatenate([coeffs, jnp.zeros(coeffs.shape[:-1] + (1,), coeffs.dtype)], -1)
    g, h = padded[..., cos_index], padded[..., sin_index]  # B + (L+1, L+1)
    r, theta, phi = jnp.broadcast_arrays(
        *(jnp.asarray(v, dtype=jnp.result_type(float)) for v in (r, theta, phi))
    )
    P, dP, P_over_sin = schmidt_legendre(lmax, theta)  # S + (L+1, L+1)
    ell = np.arange(lmax + 1)
    radial = (radius / r)[..., None] ** (ell + 2)  # S + (L+1,)
    m_phi = phi[..., None] * ell
    cos_m, sin_m = jnp.cos(m_phi), jnp.sin(m_phi)  # S + (L+1,) indexed by m

    if coeffs.ndim == 1:
        # one coefficient vector for all points: contractions (no (S, L+1, L+1) temporaries
        # beyond the Legendre tables)
        def over_m(X, a, b):
            return jnp.einsum("...lm,lm,...m->...l", X, a, cos_m) + jnp.einsum(
                "...lm,lm,...m->...l", X, b, sin_m
            )

        t_r, t_theta = over_m(P, g, h), over_m(dP, g, h)
        t_phi = over_m(P_over_sin, ell * h, -ell * g)
    else:
        # coefficient batch dimensions broadcast against the points
        cos_b, sin_b = cos_m[..., None, :], sin_m[..., None, :]
        t_r = jnp.sum(P * (g * cos_b + h * sin_b), axis=-1)
        t_theta = jnp.sum(dP * (g * cos_b + h * sin_b), axis=-1)
        t_phi = jnp.sum(P_over_sin * (h * cos_b - g * sin_b) * ell, axis=-1)
    b_r = jnp.sum((ell + 1) * radial * t_r, axis=-1)
    b_theta = -jnp.sum(radial * t_theta, axis=-1)
    b_phi = -jnp.sum(radial * t_phi, axis=-1)
    return b_r, b_theta, b_phi


def synth(coeffs, r, theta, phi, *, radius: float = EARTH_REFERENCE_RADIUS_KM):
    """Vector field (B_r, B_theta, B_phi) of internal Gauss coefficients at points.

    Parameters
    ----------
    coeffs : array_like, shape B + (L(L+2),)
        Gauss coefficients g10, g11, h11, g20, ... (nT, or nT/yr for SV, nT/yr^2 for SA),
        Schmidt semi-normalised, any degree L (inferred from the length). Leading batch
        dimensions ``B`` broadcast against the points' shape.
    r : array_like
        Radius in km (> 0).
    theta : array_like
        Geocentric colatitude in radians, in [0, pi] (the poles are fine).
    phi : array_like
        Longitude in radians, east positive.
    radius : float, default 6371.2
        Reference radius a of the coefficients in km (keyword only, static).

    Returns
    -------
    B_r, B_theta, B_phi : jax.Array, each of shape ``broadcast(B, S)``
        Radial (outward), colatitude (southward) and longitude (eastward) components in
        the coefficients' units; ``S`` is the broadcast shape of ``r, theta, phi``.

    Raises
    ------
    CoefficientShapeError
        If the last axis of ``coeffs`` is not L(L+2) for some L >= 1.
    NonFiniteError
        If concrete inputs hold NaN or inf (not checked under ``jax.jit`` tracing).
    ValueError
        If concrete ``r <= 0`` or ``theta`` outside [0, pi].

    Notes
    -----
    Jit-compiled per (L, shapes) and differentiable in the coefficients and coordinates;
    no Python loop over (l, m). To evaluate one coefficient vector per time at many points,
    give ``coeffs`` shape ``(n_t, 1, L(L+2))`` and points of shape ``(n_points,)``.
    """
    coeffs = jnp.asarray(coeffs, dtype=jnp.result_type(float))
    if coeffs.ndim == 0:
        raise CoefficientShapeError("coeffs must have a last axis of length L(L+2), got a scalar")
    lmax = lmax_from_size(coeffs.shape[-1], "coeffs")
    check_finite(coeffs, "coeffs")
    _check_points(r, theta, phi)
    return _synth_jit(coeffs, r, theta, phi, lmax=lmax, radius=float(radius))


def design_matrix(
    lmax: int,
    r,
    theta,
    phi,
    components=COMPONENTS,
    *,
    radius: float = EARTH_REFERENCE_RADIUS_KM,
):
    """Matrix mapping Gauss coefficients to vector components at points.

    Parameters
    ----------
    lmax : int
        Maximum degree L.
    r, theta, phi : array_like
        Radius (km), colatitude (rad, in [0, pi]) and longitude (rad), broadcast to a
        common shape ``S`` (e.g. ``(n_points,)``).
    components : sequence of {"r", "theta", "phi"}, default ("r", "theta", "phi")
        Components to include, in this order (one string is accepted too).
    radius : float, default 6371.2
        Reference radius a of the coefficients in km.

    Returns
    -------
    jax.Array, shape S + (n_components, L(L+2))
        ``G[..., c, n]``: component ``c`` (nT) per unit of coefficient ``n`` (nT), so that
        ``G @ coeffs`` gives the components, as :func:`synth` does.
        For a least-squares system use ``G.reshape(-1, L(L+2))`` (rows ordered point by
        point, components fastest).

    Raises
    ------
    InvalidDegreeError
        If ``lmax`` is not an integer >= 1 (a subclass of :class:`CoefficientShapeError`).
    NonFiniteError, ValueError
        For non-finite coordinates, ``r <= 0`` or ``theta`` outside [0, pi] (concrete input).
    """
    lmax = check_degree(lmax, "lmax")
    component_index = _check_components(components)
    _check_points(r, theta, phi)
    return _design_matrix_jit(
        r, theta, phi, lmax=lmax, component_index=component_index, radius=float(radius)
    )
