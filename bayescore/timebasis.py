"""Temporal basis functions: B-splines on a knot sequence and Legendre polynomials on a span.

A time-dependent coefficient vector (Gauss coefficients g(t), flow coefficients t(t),
s(t)) is written ``c(t) = sum_k psi_k(t) C[k, :]`` with a time basis ``psi_k`` and a
coefficient block ``C`` of shape ``(N_t, n)``. :class:`TimeBasis` (built with
:func:`legendre_time_basis` or :func:`bspline_time_basis`) adds what the co-estimation
needs on top of the raw basis functions below: Gauss-Legendre quadrature rules that
integrate (piecewise) polynomial products exactly over the model span, the Gram matrices
``int psi^(r) psi^(r)T dt`` of the basis derivatives and the outer products at the span's
end points. Lesur et al. (2010), Earth Planets Space 62, 503, use Legendre polynomials of
degree 4 (``N_t = 5``) over their one-year span.

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

from dataclasses import dataclass
from functools import partial

import jax
import jax.numpy as jnp
import numpy as np

from bayescore.errors import EpochOutOfRangeError, ModelConfigError, NonFiniteError

__all__ = [
    "TimeBasis",
    "bspline_basis",
    "bspline_time_basis",
    "clamped_knots",
    "legendre_basis",
    "legendre_time_basis",
    "n_bspline_functions",
]


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
    ModelConfigError
        If ``order < 1``, fewer than two breaks are given or they are not increasing.
    """
    breaks = np.asarray(breaks, dtype=float)
    order = int(order)
    if order < 1:
        raise ModelConfigError(f"spline order must be >= 1, got {order}")
    if breaks.ndim != 1 or breaks.size < 2:
        raise ModelConfigError(f"need at least two break points, got shape {breaks.shape}")
    if not np.all(np.diff(breaks) > 0):
        raise ModelConfigError("break points must be strictly increasing")
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
        raise ModelConfigError(f"spline order must be >= 1, got {order}")
    if derivative < 0:
        raise ModelConfigError(f"derivative order must be >= 0, got {derivative}")
    knots = jnp.asarray(knots, dtype=jnp.result_type(float))
    if knots.ndim != 1 or knots.shape[0] - order < 1:
        raise ModelConfigError(f"{knots.shape[0]} knots define no B-spline of order {order}")
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
        raise ModelConfigError(f"n_terms must be >= 1, got {n_terms}")
    if derivative < 0:
        raise ModelConfigError(f"derivative order must be >= 0, got {derivative}")
    t0, t1 = (float(v) for v in span)
    if not (np.isfinite(t0) and np.isfinite(t1) and t1 > t0):
        raise ModelConfigError(f"span must be finite with t_1 > t_0, got {span}")
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


# --------------------------------------------------------------------------------------
# a time basis on a model span
# --------------------------------------------------------------------------------------


@dataclass(frozen=True)
class TimeBasis:
    """A time basis on a model span, with exact quadrature and Gram matrices.

    Build it with :func:`legendre_time_basis` or :func:`bspline_time_basis`. Instances are
    hashable (static metadata of JAX pytrees).

    Attributes
    ----------
    kind : {"legendre", "bspline"}
    n_functions : int
        Number N_t of basis functions.
    span : (float, float)
        Model span (t_0, t_1) in decimal years.
    order : int
        B-spline order k (polynomial degree k - 1); for Legendre polynomials ``N_t``.
    knots : tuple of float
        B-spline knots (empty for Legendre polynomials).
    """

    kind: str
    n_functions: int
    span: tuple[float, float]
    order: int
    knots: tuple[float, ...] = ()

    def __call__(self, t, derivative: int = 0):
        """Basis functions (or their ``derivative``-th time derivative) at times ``t``.

        Parameters
        ----------
        t : array_like, shape S
            Decimal years (inside the span; the basis extrapolates outside).
        derivative : int, default 0
            Order of the time derivative (static); units 1/yr^derivative.

        Returns
        -------
        jax.Array, shape S + (N_t,)
        """
        if self.kind == "legendre":
            return legendre_basis(t, self.n_functions, self.span, derivative)
        return bspline_basis(t, np.asarray(self.knots), self.order, derivative)

    @property
    def piece_degree(self) -> int:
        """Polynomial degree of the basis on each piece (between break points)."""
        return self.n_functions - 1 if self.kind == "legendre" else self.order - 1

    @property
    def breaks(self) -> np.ndarray:
        """Break points (decimal years) between which the basis is polynomial."""
        if self.kind == "legendre":
            return np.asarray(self.span, dtype=float)
        knots = np.unique(np.asarray(self.knots))
        return knots[(knots >= self.span[0]) & (knots <= self.span[1])]

    def quadrature(self, degree: int, breaks=None):
        """Gauss-Legendre rule exact for piecewise polynomials of ``degree`` over the span.

        Parameters
        ----------
        degree : int
            Highest polynomial degree to integrate exactly on each piece.
        breaks : array_like, optional
            Break points of the integrand (default: this basis's breaks); pass the union
            of two bases' breaks to integrate their products.

        Returns
        -------
        nodes : numpy.ndarray, shape (n,)
            Decimal years.
        weights : numpy.ndarray, shape (n,)
            Years; they sum to the span's length.
        """
        breaks = self.breaks if breaks is None else np.asarray(breaks, dtype=float)
        n_per_piece = int(degree) // 2 + 1
        x, w = np.polynomial.legendre.leggauss(n_per_piece)
        nodes, weights = [], []
        for start, end in zip(breaks[:-1], breaks[1:], strict=True):
            half = 0.5 * (end - start)
            nodes.append(start + half * (x + 1.0))
            weights.append(half * w)
        return np.concatenate(nodes), np.concatenate(weights)

    def gram(self, derivative: int = 0) -> np.ndarray:
        """``int_span psi^(r)(t) psi^(r)(t)^T dt`` (exact), shape (N_t, N_t), yr^(1-2r)."""
        nodes, weights = self.quadrature(2 * self.piece_degree)
        values = np.asarray(self(nodes, derivative))
        gram = (values * weights[:, None]).T @ values
        # exactly symmetric (the product is only symmetric to rounding), or NumPyro's
        # positive-definite check of the priors built from it can fail
        return 0.5 * (gram + gram.T)

    def endpoint_outer(self, derivative: int = 0) -> np.ndarray:
        """``psi^(r)(t_0) psi^(r)(t_0)^T + psi^(r)(t_1) psi^(r)(t_1)^T``, shape (N_t, N_t)."""
        values = np.asarray(self(np.asarray(self.span, dtype=float), derivative))
        outer = values.T @ values
        return 0.5 * (outer + outer.T)

    def check_times(self, t, what: str = "times") -> np.ndarray:
        """Return ``t`` as a float array, raising if a time lies outside the span."""
        t = np.asarray(t, dtype=float)
        if not np.all(np.isfinite(t)):
            raise NonFiniteError(f"{what} contain NaN or infinite values")
        start, end = self.span
        tolerance = 1e-9 * max(1.0, end - start)
        outside = (t < start - tolerance) | (t > end + tolerance)
        if np.any(outside):
            raise EpochOutOfRangeError(
                f"{what} {t[outside].ravel()[:3].tolist()} lie outside the model span "
                f"[{start}, {end}] (decimal years)"
            )
        return t


def _check_span(span) -> tuple[float, float]:
    try:
        start, end = (float(v) for v in span)
    except (TypeError, ValueError) as error:
        raise ModelConfigError(
            f"span must be a pair (start, end) of decimal years, got {span!r}"
        ) from error
    if not (np.isfinite(start) and np.isfinite(end)):
        raise NonFiniteError(f"span ends must be finite, got ({start}, {end})")
    if not end > start:
        raise EpochOutOfRangeError(f"span must have end > start, got ({start}, {end})")
    return start, end


def legendre_time_basis(span, n_terms: int = 5) -> TimeBasis:
    """Legendre polynomials ``P_0 .. P_{N_t-1}`` on a span (Lesur et al. 2010: N_t = 5).

    Parameters
    ----------
    span : (float, float)
        Model span in decimal years.
    n_terms : int, default 5
        Number of polynomials N_t (maximum degree N_t - 1).

    Returns
    -------
    TimeBasis
    """
    n_terms = int(n_terms)
    if n_terms < 1:
        raise ModelConfigError(f"n_terms must be >= 1, got {n_terms}")
    return TimeBasis("legendre", n_terms, _check_span(span), n_terms)


def bspline_time_basis(span, n_intervals: int = 1, order: int = 5, breaks=None) -> TimeBasis:
    """Clamped B-splines of order ``order`` on the span.

    Parameters
    ----------
    span : (float, float)
        Model span in decimal years.
    n_intervals : int, default 1
        Number of equal knot intervals (ignored when ``breaks`` is given).
    order : int, default 5
        Spline order k (polynomial degree k - 1; GRIMM uses 5, CHAOS 6).
    breaks : array_like, optional
        Break points from span start to span end (decimal years).

    Returns
    -------
    TimeBasis
        With ``n_intervals + order - 1`` functions.
    """
    start, end = _check_span(span)
    if breaks is None:
        n_intervals = int(n_intervals)
        if n_intervals < 1:
            raise ModelConfigError(f"n_intervals must be >= 1, got {n_intervals}")
        breaks = np.linspace(start, end, n_intervals + 1)
    breaks = np.asarray(breaks, dtype=float)
    if breaks.ndim != 1 or breaks.size < 2:
        raise ModelConfigError(
            f"breaks must be a 1-D array of at least two times, got {breaks.shape}"
        )
    if not (np.isclose(breaks[0], start) and np.isclose(breaks[-1], end)):
        raise ModelConfigError(f"breaks must run from the span start {start} to its end {end}")
    knots = clamped_knots(breaks, int(order))
    return TimeBasis(
        "bspline", len(knots) - int(order), (start, end), int(order), tuple(knots.tolist())
    )
