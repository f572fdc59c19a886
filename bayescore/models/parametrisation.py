"""Parametrisation of time-dependent coefficient blocks: time bases, layouts, block priors.

A time-dependent coefficient vector (Gauss coefficients g(t), flow coefficients t(t),
s(t)) is written ``c(t) = sum_k psi_k(t) C[k, :]`` with a time basis ``psi_k`` and a
coefficient block ``C`` of shape ``(N_t, n)``: row k holds the coefficients of basis
function k. Two bases are supported (:mod:`bayescore.timebasis`):

* Legendre polynomials ``P_0 .. P_{N_t-1}`` of the time mapped onto [-1, 1] over the
  model span (Lesur et al. 2010 use ``N_t = 5``, polynomials of degree 4);
* clamped B-splines of order k on equally spaced (or given) break points.

:class:`TimeBasis` adds what the co-estimation needs on top of the raw basis: Gauss-Legendre
quadrature rules that integrate (piecewise) polynomial products exactly over the span, the
Gram matrices ``int psi^(r) psi^(r)T dt`` of the basis derivatives and the outer products
at the span's end points.

:class:`BlockLayout` packs named blocks into one flat vector in **sorted name order**, the
order in which :func:`jax.flatten_util.ravel_pytree` (and hence NumPyro's
``initialize_model``) flattens a dict of sample sites, so that a flat parameter vector here
and NumPyro's unconstrained vector of real-valued sites coincide.

:class:`TimeBlockGaussian` is the zero-mean Gaussian prior on a block ``C`` whose precision
couples the time-basis coefficients of each spatial coefficient j but not different j's:
``-log p = 1/2 sum_j C[:, j]^T P_j C[:, j] + const``. The flow priors (spatial norm x
Gram matrix plus temporal norm x derivative Gram matrix) and the field roughness priors
of the USN model have that structure. Its log-density is normalised (batched Cholesky of
the ``N_t x N_t`` blocks), so hyperpriors on the dampings inside ``P_j`` are valid.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property

import jax
import jax.numpy as jnp
import numpy as np
from numpyro.distributions import Distribution, constraints

from bayescore.errors import CoefficientShapeError, EpochOutOfRangeError, NonFiniteError
from bayescore.sh.indexing import coefficient_labels, degree_order_arrays
from bayescore.timebasis import bspline_basis, clamped_knots, legendre_basis

__all__ = [
    "BlockLayout",
    "TimeBasis",
    "TimeBlockGaussian",
    "bspline_time_basis",
    "flow_labels",
    "gauss_labels",
    "legendre_time_basis",
]


# --------------------------------------------------------------------------------------
# time bases
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
        raise ValueError(
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
        raise ValueError(f"n_terms must be >= 1, got {n_terms}")
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
            raise ValueError(f"n_intervals must be >= 1, got {n_intervals}")
        breaks = np.linspace(start, end, n_intervals + 1)
    breaks = np.asarray(breaks, dtype=float)
    if breaks.ndim != 1 or breaks.size < 2:
        raise ValueError(f"breaks must be a 1-D array of at least two times, got {breaks.shape}")
    if not (np.isclose(breaks[0], start) and np.isclose(breaks[-1], end)):
        raise ValueError(f"breaks must run from the span start {start} to its end {end}")
    knots = clamped_knots(breaks, int(order))
    return TimeBasis(
        "bspline", len(knots) - int(order), (start, end), int(order), tuple(knots.tolist())
    )


# --------------------------------------------------------------------------------------
# labels and layout
# --------------------------------------------------------------------------------------


def gauss_labels(lmax: int, lmin: int = 1) -> list[str]:
    """Labels ``g_1_0, g_1_1, h_1_1, ...`` of Gauss coefficients of degrees lmin..lmax."""
    labels = coefficient_labels(lmax)
    skip = (lmin - 1) * (lmin + 1)
    return labels[skip:]


def flow_labels(lmax: int, prefix: str) -> list[str]:
    """Labels of flow coefficients, ``t_1_0, t_1_1, t_1_-1, ...``.

    The sine (``sin(m phi)``) coefficients carry a negative order, as in Lesur et al.
    (2010): ``t_l_m`` multiplies ``P_l^m cos(m phi)`` and ``t_l_-m`` ``P_l^m sin(m phi)``.

    Parameters
    ----------
    lmax : int
        Flow degree L_F.
    prefix : str
        ``"t"`` (toroidal) or ``"s"`` (poloidal).

    Returns
    -------
    list of str
    """
    degree, order, is_sine = degree_order_arrays(lmax)
    return [
        f"{prefix}_{ell}_{-m if sine else m}"
        for ell, m, sine in zip(degree.tolist(), order.tolist(), is_sine.tolist(), strict=True)
    ]


@dataclass(frozen=True)
class BlockLayout:
    """Named array blocks packed into one flat vector, in sorted name order.

    Attributes
    ----------
    blocks : tuple of (str, tuple of int)
        Block names and shapes, sorted by name (the flattening order of
        :func:`jax.flatten_util.ravel_pytree` for a dict).
    """

    blocks: tuple[tuple[str, tuple[int, ...]], ...]

    @classmethod
    def from_shapes(cls, shapes: dict) -> BlockLayout:
        """Layout from a mapping of block names to shapes."""
        return cls(tuple((name, tuple(int(d) for d in shapes[name])) for name in sorted(shapes)))

    @property
    def names(self) -> tuple[str, ...]:
        """Block names in packing order."""
        return tuple(name for name, _ in self.blocks)

    @cached_property
    def _offsets(self) -> dict:
        offsets, start = {}, 0
        for name, shape in self.blocks:
            size = int(np.prod(shape, dtype=int))
            offsets[name] = (start, start + size)
            start += size
        return offsets

    @property
    def size(self) -> int:
        """Total length of the flat vector."""
        return sum(int(np.prod(shape, dtype=int)) for _, shape in self.blocks)

    def shape(self, name: str) -> tuple[int, ...]:
        """Shape of block ``name``."""
        return dict(self.blocks)[name]

    def slice(self, name: str) -> slice:
        """Positions of block ``name`` in the flat vector."""
        start, stop = self._offsets[name]
        return slice(start, stop)

    def indices(self, names) -> np.ndarray:
        """Flat positions of the blocks ``names`` (in the given order), concatenated."""
        return np.concatenate([np.arange(*self._offsets[name]) for name in names]).astype(int)

    def pack(self, values: dict):
        """Flat vector from a dict of block values (missing blocks raise KeyError)."""
        parts = []
        for name, shape in self.blocks:
            value = jnp.asarray(values[name], dtype=float)
            if value.shape != shape:
                raise CoefficientShapeError(
                    f"block {name!r} has shape {value.shape}, expected {shape}"
                )
            parts.append(value.reshape(-1))
        return jnp.concatenate(parts) if parts else jnp.zeros(0)

    def unpack(self, flat) -> dict:
        """Dict of block values from a flat vector (leading batch dims allowed)."""
        flat = jnp.asarray(flat)
        if flat.shape[-1] != self.size:
            raise CoefficientShapeError(
                f"flat vector has {flat.shape[-1]} entries, layout needs {self.size}"
            )
        lead = flat.shape[:-1]
        return {
            name: flat[..., self.slice(name)].reshape(lead + shape) for name, shape in self.blocks
        }


# --------------------------------------------------------------------------------------
# block-structured Gaussian prior on a (N_t, n) coefficient block
# --------------------------------------------------------------------------------------


class TimeBlockGaussian(Distribution):
    """Zero-mean Gaussian on a coefficient block ``C`` (N_t, n) with per-column precision.

    ``log p(C) = sum_j [-1/2 C[:, j]^T P_j C[:, j] + 1/2 log det P_j] - n N_t/2 log(2 pi)``.

    Parameters
    ----------
    precision_blocks : array_like, shape (n, N_t, N_t)
        Symmetric positive definite precision ``P_j`` of column j, in the inverse square of
        the coefficients' units.
    validate_args : bool, optional
        NumPyro argument validation.

    Notes
    -----
    The event shape is ``(N_t, n)`` (the layout of a coefficient block). Sampling draws
    ``z ~ N(0, I)`` and solves ``L_j^T C[:, j] = z_j`` with ``P_j = L_j L_j^T``.
    """

    arg_constraints = {"precision_blocks": constraints.positive_definite}
    support = constraints.real_matrix
    reparametrized_params = ["precision_blocks"]

    def __init__(self, precision_blocks, *, validate_args=None):
        self.precision_blocks = jnp.asarray(precision_blocks)
        if self.precision_blocks.ndim != 3 or (
            self.precision_blocks.shape[1] != self.precision_blocks.shape[2]
        ):
            raise CoefficientShapeError(
                f"precision_blocks must have shape (n, N_t, N_t), got {self.precision_blocks.shape}"
            )
        n, n_time, _ = self.precision_blocks.shape
        super().__init__(batch_shape=(), event_shape=(n_time, n), validate_args=validate_args)

    @cached_property
    def _cholesky(self):
        return jnp.linalg.cholesky(self.precision_blocks)

    def sample(self, key, sample_shape=()):
        """Draw samples of shape ``sample_shape + (N_t, n)``."""
        z = jax.random.normal(key, sample_shape + self.event_shape[::-1] + (1,))
        upper = jnp.swapaxes(self._cholesky, -1, -2)
        columns = jax.scipy.linalg.solve_triangular(upper, z, lower=False)[..., 0]
        return jnp.swapaxes(columns, -1, -2)

    def log_prob(self, value):
        """Normalised log density of a block (or a batch of blocks)."""
        chol = self._cholesky
        columns = jnp.swapaxes(jnp.asarray(value), -1, -2)  # (..., n, N_t)
        projected = jnp.einsum("jkl,...jk->...jl", chol, columns)  # L_j^T c_j
        quadratic = jnp.sum(projected**2, axis=(-1, -2))
        log_det = 2.0 * jnp.sum(jnp.log(jnp.diagonal(chol, axis1=-2, axis2=-1)))
        n, n_time, _ = self.precision_blocks.shape
        return -0.5 * quadratic + 0.5 * log_det - 0.5 * n * n_time * jnp.log(2.0 * jnp.pi)

    @property
    def mean(self):
        """Zero block of shape (N_t, n)."""
        return jnp.zeros(self.event_shape)

    def dense_precision(self):
        """Precision of ``C.reshape(-1)`` (row-major, index ``k n + j``), (N_t n, N_t n)."""
        n, n_time, _ = self.precision_blocks.shape
        eye = jnp.eye(n)
        dense = jnp.einsum("jkl,ji->kjli", self.precision_blocks, eye)
        return dense.reshape(n_time * n, n_time * n)
