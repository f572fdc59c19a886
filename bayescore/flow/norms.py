"""Quadratic norms of a core-surface flow (kinetic energy, weak, strong, temporal).

A flow at the core-mantle boundary (CMB, radius c) is ``u = curl(r T) + grad_H(r S)`` with T
and S expanded in Schmidt semi-normalised harmonics with coefficients t and s in km/yr (the
conventions page of the documentation). Every norm used here is diagonal in that basis: it
is a sum over the coefficients of ``weight_l * (t_lm**2 + s_lm**2)`` with a weight that
depends on the degree l only (the same for t and s). With the integral of ``Y_lm**2`` over
the unit sphere equal to ``4 pi / (2l + 1)``:

=========================  ===========================================  ====================
norm                       integral                                     weight of degree l
=========================  ===========================================  ====================
``"energy"`` (KE)          (1 / 4 pi c^2) int_S abs(u)^2 dS  (km/yr)^2  l(l+1)/(2l+1)
``"weak"`` (eq. 22)        int_S (div_H u)^2 + (r.curl_H u)^2 dS        4 pi l^2(l+1)^2/(2l+1)
``"strong"`` (eq. 21)      int_S abs(grad_H div_H u)^2                  (4 pi/c^2) l^3(l+1)^3
                           + abs(grad_H r.curl_H u)^2 dS                / (2l+1)
temporal (eq. 23)          int_span int_S abs(du/dt)^2 dS dt            4 pi c^2 l(l+1)/(2l+1)
=========================  ===========================================  ====================

Units (c in km, t and s in km/yr): KE in (km/yr)^2, the weak norm in km^2/yr^2, the strong
norm in 1/yr^2 and the temporal norm (weights applied to tdot, sdot in km/yr^2, integrated
over time in years) in km^4/yr^3. Equation numbers refer to Lesur et al. (2010).

The weight vectors have the coefficient order of :mod:`bayescore.sh.indexing`; a flow
vector ``x = concatenate([t, s])`` of length ``2 L_F (L_F + 2)`` takes the weights twice
(:func:`flow_norm_weights`).
"""

from __future__ import annotations

import jax.numpy as jnp
import numpy as np

from bayescore.constants import CORE_RADIUS_KM
from bayescore.errors import CoefficientShapeError, ModelConfigError, NonFiniteError
from bayescore.sh.indexing import degree_order_arrays

__all__ = [
    "NORMS",
    "DAMPING_UNITS",
    "degree_weights",
    "coefficient_weights",
    "flow_norm_weights",
    "flow_norm",
    "temporal_weights",
    "gauss_legendre_time_nodes",
    "temporal_norm",
    "piecewise_linear_temporal_precision",
]

#: Names of the spatial norms and their units.
NORMS = {
    "energy": "(km/yr)^2",
    "weak": "km^2/yr^2",
    "strong": "1/yr^2",
}

#: Units of the damping lambda of each norm: those that make ``lambda x^T N x``
#: dimensionless (the inverse of the units in :data:`NORMS`).
DAMPING_UNITS = {
    "energy": "yr^2/km^2",
    "weak": "yr^2/km^2",
    "strong": "yr^2",
}


def _check_lmax(lmax) -> int:
    lmax_int = int(lmax)
    if lmax_int != lmax or lmax_int < 1:
        raise CoefficientShapeError(f"lmax must be an integer >= 1, got {lmax!r}")
    return lmax_int


def degree_weights(lmax: int, norm: str = "strong", core_radius: float = CORE_RADIUS_KM):
    """Per-degree weights of a spatial flow norm, for degrees 1..lmax.

    Parameters
    ----------
    lmax : int
        Maximum degree L_F of the flow.
    norm : {"energy", "weak", "strong"}
        ``"energy"``: mean square speed over the CMB, l(l+1)/(2l+1), in (km/yr)^2 per
        (km/yr)^2 of coefficient (dimensionless). ``"weak"``: Gillet et al. (2009) norm,
        4 pi l^2 (l+1)^2/(2l+1) (dimensionless, so the norm is in km^2/yr^2).
        ``"strong"``: Bloxham's norm, (4 pi / c^2) l^3 (l+1)^3/(2l+1) in km^-2 (the norm is
        in 1/yr^2).
    core_radius : float, optional
        CMB radius c in km (default 3485.0).

    Returns
    -------
    numpy.ndarray, shape (lmax,)
        Weight of degree l at index l - 1.
    """
    lmax = _check_lmax(lmax)
    ell = np.arange(1, lmax + 1, dtype=float)
    base = ell * (ell + 1) / (2 * ell + 1)
    if norm == "energy":
        return base
    if norm == "weak":
        return 4 * np.pi * ell**2 * (ell + 1) ** 2 / (2 * ell + 1)
    if norm == "strong":
        return 4 * np.pi / core_radius**2 * ell**3 * (ell + 1) ** 3 / (2 * ell + 1)
    raise ModelConfigError(f"unknown flow norm {norm!r}: expected one of {sorted(NORMS)}")


def coefficient_weights(lmax: int, norm: str = "strong", core_radius: float = CORE_RADIUS_KM):
    """Weights of a spatial norm for each coefficient of t (or of s).

    Parameters
    ----------
    lmax : int
        Maximum degree L_F.
    norm : {"energy", "weak", "strong"}
        See :func:`degree_weights`.
    core_radius : float, optional
        CMB radius c in km.

    Returns
    -------
    numpy.ndarray, shape (L_F (L_F + 2),)
        The weight of each coefficient in the order t10, t11c, t11s, t20, ...
    """
    degree, _, _ = degree_order_arrays(_check_lmax(lmax))
    return degree_weights(lmax, norm, core_radius)[degree - 1]


def flow_norm_weights(lmax: int, norm: str = "strong", core_radius: float = CORE_RADIUS_KM):
    """Weights of a spatial norm for the stacked flow vector ``x = [t, s]``.

    Parameters
    ----------
    lmax, norm, core_radius
        As in :func:`coefficient_weights` (degree L_F, norm name, CMB radius in km).

    Returns
    -------
    numpy.ndarray, shape (2 L_F (L_F + 2),)
        ``concatenate([w, w])`` with ``w = coefficient_weights(lmax, norm)``, so that the
        norm of x is ``sum(weights * x**2)``.
    """
    w = coefficient_weights(lmax, norm, core_radius)
    return np.concatenate([w, w])


def _flow_pair(t, s, *, check_finite: bool = False):
    """``t``, ``s`` as float arrays of one shape, and their degree (validated)."""
    t = jnp.asarray(t, dtype=float)
    s = jnp.asarray(s, dtype=float)
    if t.shape != s.shape:
        raise CoefficientShapeError(
            f"toroidal and poloidal coefficients differ in shape: {t.shape} vs {s.shape}"
        )
    from bayescore.flow.velocity import check_flow_coefficients

    return t, s, check_flow_coefficients(t, s, check_finite=check_finite)


def flow_norm(t, s, norm: str = "strong", core_radius: float = CORE_RADIUS_KM):
    """Value of a spatial norm of the flow (t, s).

    Parameters
    ----------
    t, s : array_like, shape (..., L_F (L_F + 2))
        Toroidal and poloidal coefficients in km/yr (leading batch dimensions allowed).
    norm : {"energy", "weak", "strong"}
        See :func:`degree_weights`; ``"energy"`` gives the mean square speed in (km/yr)^2.
    core_radius : float, optional
        CMB radius c in km.

    Returns
    -------
    jax.Array, shape (...)
        ``sum_lm weight_l (t_lm^2 + s_lm^2)`` in the units of :data:`NORMS`.
    """
    t, s, lmax = _flow_pair(t, s)
    w = jnp.asarray(coefficient_weights(lmax, norm, core_radius))
    return jnp.sum(w * (t**2 + s**2), axis=-1)


def temporal_weights(lmax: int, core_radius: float = CORE_RADIUS_KM):
    """Per-coefficient weights of the temporal norm (paper eq. 23), on tdot and sdot.

    Parameters
    ----------
    lmax : int
        Maximum degree L_F.
    core_radius : float, optional
        CMB radius c in km.

    Returns
    -------
    numpy.ndarray, shape (L_F (L_F + 2),)
        ``4 pi c^2 l(l+1)/(2l+1)`` in km^2: ``sum(w * (tdot^2 + sdot^2))`` is
        ``int_S abs(du/dt)^2 dS`` in km^4/yr^4 for tdot, sdot in km/yr^2.
    """
    return 4 * np.pi * core_radius**2 * coefficient_weights(lmax, "energy")


def gauss_legendre_time_nodes(start: float, end: float, n_nodes: int):
    """Gauss-Legendre nodes and weights on the time interval [start, end].

    Parameters
    ----------
    start, end : float
        Interval ends in decimal years, ``start < end``.
    n_nodes : int
        Number of nodes; the rule integrates polynomials of degree ``2 n_nodes - 1``
        exactly.

    Returns
    -------
    nodes : numpy.ndarray, shape (n_nodes,)
        Times in decimal years.
    weights : numpy.ndarray, shape (n_nodes,)
        Weights in years (they sum to ``end - start``).
    """
    start, end, n_nodes = float(start), float(end), int(n_nodes)
    if not np.isfinite(start) or not np.isfinite(end):
        raise NonFiniteError(f"time interval ends must be finite, got [{start}, {end}]")
    if not end > start:
        raise ModelConfigError(f"time interval must have end > start, got [{start}, {end}]")
    if n_nodes < 1:
        raise ModelConfigError(f"n_nodes must be >= 1, got {n_nodes}")
    x, w = np.polynomial.legendre.leggauss(n_nodes)
    half = 0.5 * (end - start)
    return start + half * (x + 1.0), half * w


def temporal_norm(tdot, sdot, quadrature_weights, core_radius: float = CORE_RADIUS_KM):
    """Temporal smoothness norm (paper eq. 23) by quadrature in time.

    Parameters
    ----------
    tdot, sdot : array_like, shape (n_nodes, L_F (L_F + 2))
        Time derivatives of the flow coefficients (km/yr^2) at the quadrature nodes.
    quadrature_weights : array_like, shape (n_nodes,)
        Quadrature weights in years (e.g. from :func:`gauss_legendre_time_nodes`).
    core_radius : float, optional
        CMB radius c in km.

    Returns
    -------
    jax.Array, scalar
        ``sum_i w_i sum_lm 4 pi c^2 l(l+1)/(2l+1) (tdot_i^2 + sdot_i^2)`` in km^4/yr^3,
        i.e. ``int_span int_S abs(du/dt)^2 dS dt``; exact when the quadrature integrates
        the squared time basis exactly.
    """
    tdot, sdot, lmax = _flow_pair(tdot, sdot)
    qw = jnp.asarray(quadrature_weights, dtype=float)
    if tdot.ndim != 2 or qw.shape != (tdot.shape[0],):
        raise CoefficientShapeError(
            f"tdot/sdot must have shape (n_nodes, n_coeffs) and the weights (n_nodes,), got "
            f"{tdot.shape} and {qw.shape}"
        )
    w = jnp.asarray(temporal_weights(lmax, core_radius))
    return jnp.sum(qw * jnp.sum(w * (tdot**2 + sdot**2), axis=-1))


def piecewise_linear_temporal_precision(epochs, n_quadrature: int = 2):
    """Time-coupling matrix of the temporal norm for a flow linear between epochs.

    The flow x(t) is interpolated linearly between the epochs t_0 < t_1 < ... < t_{K-1}
    (hat basis functions). Its temporal norm is ``sum_jk C_jk (x_j . Wt x_k)`` with the
    per-coefficient weights ``Wt`` of :func:`temporal_weights` and the K x K matrix C
    returned here, the Gauss-Legendre quadrature (per interval, ``n_quadrature`` nodes) of
    ``int phi_j'(t) phi_k'(t) dt``. It is tridiagonal: ``C_kk = 1/dt_{k-1} + 1/dt_k`` and
    ``C_k,k+1 = -1/dt_k`` (1/yr).

    Parameters
    ----------
    epochs : array_like, shape (K,)
        Strictly increasing epochs in decimal years, K >= 2.
    n_quadrature : int, optional
        Nodes of the Gauss-Legendre rule on each interval (1 is already exact because the
        derivatives of the hat functions are piecewise constant).

    Returns
    -------
    numpy.ndarray, shape (K, K)
        The matrix C in 1/yr.
    """
    epochs = np.asarray(epochs, dtype=float)
    if epochs.ndim != 1 or epochs.size < 2:
        raise ModelConfigError(f"need a 1-D array of at least two epochs, got shape {epochs.shape}")
    if not np.all(np.isfinite(epochs)):
        raise NonFiniteError("epochs contain NaN or infinite values")
    if not np.all(np.diff(epochs) > 0):
        raise ModelConfigError("epochs must be strictly increasing for temporal coupling")
    n_epochs = epochs.size
    coupling = np.zeros((n_epochs, n_epochs))
    for k in range(n_epochs - 1):
        _, qw = gauss_legendre_time_nodes(epochs[k], epochs[k + 1], n_quadrature)
        dt = epochs[k + 1] - epochs[k]
        # on [t_k, t_{k+1}]: phi_k' = -1/dt, phi_{k+1}' = +1/dt at every node
        deriv = np.array([-1.0 / dt, 1.0 / dt])
        local = qw.sum() * np.outer(deriv, deriv)
        coupling[k : k + 2, k : k + 2] += local
    return coupling
