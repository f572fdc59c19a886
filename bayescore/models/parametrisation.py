"""Labels of coefficient blocks and the block-structured Gaussian prior on them.

Time-dependent coefficient blocks ``C`` of shape ``(N_t, n)`` (row k: the coefficients of
time-basis function k, :mod:`bayescore.timebasis`) are labelled with :func:`gauss_labels`
(``g_1_0, g_1_1, h_1_1, ...``) and :func:`flow_labels` (``t_1_0, t_1_1, t_1_-1, ...``).

:class:`TimeBlockGaussian` is the zero-mean Gaussian prior on a block ``C`` whose precision
couples the time-basis coefficients of each spatial coefficient j but not different j's:
``-log p = 1/2 sum_j C[:, j]^T P_j C[:, j] + const``. The flow priors (spatial norm x
Gram matrix plus temporal norm x derivative Gram matrix) and the field roughness priors
of the USN model have that structure. Its log-density is normalised (batched Cholesky of
the ``N_t x N_t`` blocks), so hyperpriors on the dampings inside ``P_j`` are valid.
"""

from __future__ import annotations

from functools import cached_property

import jax
import jax.numpy as jnp
from numpyro.distributions import Distribution, constraints

from bayescore.errors import CoefficientShapeError
from bayescore.sh.indexing import coefficient_labels, degree_order_arrays

__all__ = ["TimeBlockGaussian", "flow_labels", "gauss_labels"]


# --------------------------------------------------------------------------------------
# labels
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
