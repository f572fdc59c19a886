"""Temporal basis functions: B-splines on a knot sequence and Legendre polynomials on a span.

Both bases are evaluated with :mod:`jax.numpy`, vectorised over any array of times, jit-able
and differentiable (in the times and, for B-splines, in the knots), with no SciPy call at
run time. Times are decimal years; the ``r``-th time derivative carries units of 1/yr^r.

B-splines
    ``n = len(knots) - order`` functions ``B_j`` of order ``k`` (polynomial degree
    ``k - 1``) defined by the Cox-de Boor recursion. As in :class:`scipy.interpolate.BSpline`,
    the base interval is ``[knots[k-1], knots[n]]``; each time is assigned to one knot
    interval ``knots[i] <= t < knots[i+1]`` with ``k-1 <= i <= n-1`` (the right end of the
    base interval belongs to the last interval), and times outside the base interval are
    evaluated with the first or last polynomial piece (extrapolation, as SciPy's default).
    Derivatives use the standard relation
    ``B'_{j,k} = (k-1) [B_{j,k-1} / (t_{j+k-1} - t_j) - B_{j+1,k-1} / (t_{j+k} - t_{j+1})]``.

Legendre polynomials
    ``P_0 .. P_{N-1}`` of ``x = (2 t - t_0 - t_1) / (t_1 - t_0)`` on a span ``[t_0, t_1]``
    (unnormalised, ``P_n(1) = 1``), with time derivatives ``d^r P_n / dt^r`` from the
    recursion ``P_n^{(r)} = P_{n-2}^{(r)} + (2n - 1) P_{n-1}^{(r-1)}`` times ``(2/(t_1-t_0))^r``.
"""

from __future__ import annotations

from functools import partial

import jax
import jax.numpy as jnp
import numpy as np

__all__ = ["bspline_basis", "clamped_knots", "legendre_basis", "n_bspline_functions"]


def clamped_knots(breaks, order: int) -> np.ndarray:
    """Knot sequence of a clamped B-spline: end breaks repeated ``order`` times.

    This is how CHAOS-style ``.shc`` files define their splines (``augment_breaks`` in
    ChaosMagPy): interior breaks are simple knots, the first and last break have
    multiplicity ``order``.

    Parameters
    ----------
    breaks : array_like, shape (m,)
        Strictly increasing break points (decimal years), ``m >= 2``.
    order : int
        Spline order ``k`` (4 = cubic).

    Returns
    -------
    numpy.ndarray, shape (m + 2 (k - 1),)
        The knots; the spline space has ``m + k - 2`` basis functions.

    Raises
    ------
    ValueError
        If ``order < 1``, fewer than two breaks are given or they are not increasing.
    """
    breaks = np.asarray(breaks, dtype=float)
    order = int(order)
    if order < 1:
        raise ValueError(f"spline order must be >= 1, got {order}")
    if breaks.ndim != 1 or breaks.size < 2:
        raise ValueError(f"need at least two break points, got shape {breaks.shape}")
    if not np.all(np.diff(breaks) > 0):
        raise ValueError("break points must be strictly increasing")
    return np.concatenate([np.full(order - 1, breaks[0]), breaks, np.full(order - 1, breaks[-1])])


def n_bspline_functions(knots, order: int) -> int:
    """Number of B-spline basis functions, ``len(knots) - order``.

    Parameters
    ----------
    knots : array_like, shape (m,)
        Non-decreasing knot sequence.
    order : int
        Spline order ``k``.

    Returns
    -------
    int
    """
    return int(np.shape(knots)[0]) - int(order)


def _safe_inverse(denominator):
    """1/d where d > 0, else 0 (the 0/0 = 0 convention of the Cox-de Boor recursion)."""
    positive = denominator > 0
    return jnp.where(positive, 1.0 / jnp.where(positive, denominator, 1.0), 0.0)


def bspline_basis(t, knots, order: int, derivative: int = 0):
    """B-spline basis functions of order ``order`` (or a time derivative) at times ``t``.

    Parameters
    ----------
    t : array_like, shape S
        Times (decimal years), any shape.
    knots : array_like, shape (m,)
        Non-decreasing knots (decimal years); ``m > order``.
    order : int
        Spline order ``k`` (polynomial degree ``k - 1``; 2 = piecewise linear,
        4 = cubic). Static.
    derivative : int, default 0
        Order ``r >= 0`` of the time derivative (static). ``r >= k`` gives zeros.

    Returns
    -------
    jax.Array, shape S + (n,)
        ``d^r B_j / dt^r`` for ``j = 0 .. n-1``, ``n = m - k``; units 1/yr^r.

    Notes
    -----
    A spline ``f(t) = sum_j c_j B_j(t)`` is ``bspline_basis(t, knots, k) @ c``. Jit-able
    and differentiable; agrees with :class:`scipy.interpolate.BSpline` (``extrapolate=True``)
    including outside the base interval.
    """
    order = int(order)
    derivative = int(derivative)
    if order < 1:
        raise ValueError(f"spline order must be >= 1, got {order}")
    if derivative < 0:
        raise ValueError(f"derivative order must be >= 0, got {derivative}")
    knots = jnp.asarray(knots, dtype=jnp.result_type(float))
    if knots.ndim != 1 or knots.shape[0] - order < 1:
        raise ValueError(f"{knots.shape[0]} knots define no B-spline of order {order}")
    t = jnp.asarray(t, dtype=knots.dtype)
    return _bspline_basis(t, knots, order=order, derivative=derivative)


@partial(jax.jit, static_argnames=("order", "derivative"))
def _bspline_basis(t, knots, *, order, derivative):
    n_knots = knots.shape[0]
    n_basis = n_knots - order
    if derivative >= order:
        return jnp.zeros(t.shape + (n_basis,), dtype=knots.dtype)

    # one knot interval per time, restricted to the base interval (extrapolation beyond)
    interval = jnp.clip(jnp.searchsorted(knots, t, side="right") - 1, order - 1, n_basis - 1)
    basis = (interval[..., None] == jnp.arange(n_knots - 1)).astype(knots.dtype)
    x = t[..., None]
    # values of orders 2 .. k - r
    for q in range(2, order - derivative + 1):
        width = n_knots - q  # number of order-q functions
        left = knots[:width]
        right = knots[q : q + width]
        w_left = (x - left) * _safe_inverse(knots[q - 1 : q - 1 + width] - left)
        w_right = (right - x) * _safe_inverse(right - knots[1 : 1 + width])
        basis = w_left * basis[..., :width] + w_right * basis[..., 1 : 1 + width]
    # derivative steps for orders k - r + 1 .. k
    for q in range(order - derivative + 1, order + 1):
        width = n_knots - q
        inv_left = _safe_inverse(knots[q - 1 : q - 1 + width] - knots[:width])
        inv_right = _safe_inverse(knots[q : q + width] - knots[1 : 1 + width])
        basis = (q - 1) * (basis[..., :width] * inv_left - basis[..., 1 : 1 + width] * inv_right)
    return basis


def legendre_basis(t, n_terms: int, span, derivative: int = 0):
    """Legendre polynomials ``P_0 .. P_{N-1}`` on a time span, or their time derivatives.

    Parameters
    ----------
    t : array_like, shape S
        Times (decimal years).
    n_terms : int
        Number ``N`` of polynomials (degrees 0 .. N-1). Static.
    span : (float, float)
        ``(t_0, t_1)`` mapped onto ``x = -1 .. 1`` (decimal years), ``t_1 > t_0``.
    derivative : int, default 0
        Order ``r`` of the time derivative (static).

    Returns
    -------
    jax.Array, shape S + (N,)
        ``d^r P_n(x(t)) / dt^r``; units 1/yr^r.
    """
    n_terms = int(n_terms)
    derivative = int(derivative)
    if n_terms < 1:
        raise ValueError(f"n_terms must be >= 1, got {n_terms}")
    if derivative < 0:
        raise ValueError(f"derivative order must be >= 0, got {derivative}")
    t0, t1 = (float(v) for v in span)
    if not (np.isfinite(t0) and np.isfinite(t1) and t1 > t0):
        raise ValueError(f"span must be finite with t_1 > t_0, got {span}")
    t = jnp.asarray(t, dtype=jnp.result_type(float))
    return _legendre_basis(t, n_terms=n_terms, span=(t0, t1), derivative=derivative)


@partial(jax.jit, static_argnames=("n_terms", "span", "derivative"))
def _legendre_basis(t, *, n_terms, span, derivative):
    t0, t1 = span
    x = (2.0 * t - (t0 + t1)) / (t1 - t0)
    # rows[r][n] = d^r P_n / dx^r, built for r = 0 .. derivative
    previous = None
    for r in range(derivative + 1):
        current = []
        for n in range(n_terms):
            if r == 0:
                if n == 0:
                    value = jnp.ones_like(x)
                elif n == 1:
                    value = x
                else:
                    value = ((2 * n - 1) * x * current[n - 1] - (n - 1) * current[n - 2]) / n
            elif n < r:
                value = jnp.zeros_like(x)
            else:
                below = current[n - 2] if n >= 2 else jnp.zeros_like(x)
                value = below + (2 * n - 1) * previous[n - 1]
            current.append(value)
        previous = current
    scale = (2.0 / (t1 - t0)) ** derivative
    return jnp.stack(previous, axis=-1) * scale
