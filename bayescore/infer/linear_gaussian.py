"""Exact posteriors of linear-Gaussian problems (model-agnostic, float64, jit-compiled).

For ``data = design @ x + e`` with zero-mean Gaussian errors of diagonal precision W and a
zero-mean Gaussian prior of diagonal precision P, the posterior of x is Gaussian,

    covariance  C = (A^T W A + P)^-1,    mean  x = C A^T W d,

solved here by a Cholesky factorisation (:func:`gaussian_posterior`).

A series of K such problems whose parameter vectors are coupled by a prior precision
``T (x) diag(w)`` (T a symmetric K x K tridiagonal matrix, w per-parameter weights; e.g.
the temporal norm of a flow piecewise linear in time, Lesur et al. 2010, eq. 23) has a
block-tridiagonal posterior precision. :func:`coupled_block_posterior` factorises it by a
block Cholesky recursion (``lax.scan``) and returns the mean and the marginal covariance
of each block from the matching backward recursion (:func:`block_tridiagonal_cholesky`,
:func:`block_tridiagonal_solve`, :func:`block_tridiagonal_marginals`);
:func:`independent_block_posterior` solves K uncoupled problems in one call.
"""

from __future__ import annotations

from functools import partial

import jax
import jax.numpy as jnp
import numpy as np
from jax.scipy.linalg import cho_factor, cho_solve, solve_triangular

from bayescore.errors import CoefficientShapeError, ModelConfigError
from bayescore.fields.synthesis import finite_array

__all__ = [
    "SECOND_MOMENTS",
    "batched_normal_equations",
    "block_tridiagonal_cholesky",
    "block_tridiagonal_marginals",
    "block_tridiagonal_solve",
    "coupled_block_posterior",
    "dense_gaussian_posterior",
    "gaussian_posterior",
    "independent_block_posterior",
]

#: What the block solvers return besides the mean: nothing, the marginal variances or the
#: marginal covariance of each block.
SECOND_MOMENTS = ("none", "variance", "covariance")


@jax.jit
def dense_gaussian_posterior(design, data, data_precision, prior_precision):
    """Mean and covariance of a linear-Gaussian posterior, without input checks (jitted).

    Parameters
    ----------
    design : jax.Array, shape (n_data, n_params)
    data : jax.Array, shape (n_data,)
    data_precision : jax.Array, shape (n_data,)
        Diagonal W (inverse variances of the data errors).
    prior_precision : jax.Array, shape (n_params,)
        Diagonal P (inverse prior variances).

    Returns
    -------
    mean : jax.Array, shape (n_params,)
        ``(A^T W A + P)^-1 A^T W d``; NaN when the Cholesky factorisation fails (the
        precision is not numerically positive definite).
    covariance : jax.Array, shape (n_params, n_params)
        ``(A^T W A + P)^-1``, symmetrised.
    """
    weighted = design * data_precision[:, None]
    normal = design.T @ weighted + jnp.diag(prior_precision)
    factor = cho_factor(normal, lower=True)
    mean = cho_solve(factor, weighted.T @ data)
    covariance = cho_solve(factor, jnp.eye(normal.shape[0], dtype=normal.dtype))
    return mean, 0.5 * (covariance + covariance.T)


def gaussian_posterior(design, data, data_precision, prior_precision):
    """Posterior of ``x`` for ``data = design @ x + e`` with diagonal Gaussian e and prior.

    The data errors e are zero-mean Gaussian with precision ``diag(data_precision)`` and
    the prior on x is zero-mean Gaussian with precision ``diag(prior_precision)``.

    Parameters
    ----------
    design : array_like, shape (n_data, n_params)
        Units of data per unit of x.
    data : array_like, shape (n_data,)
    data_precision : array_like, shape (n_data,)
        Inverse variances of the data errors (units of 1/data^2), non-negative.
    prior_precision : array_like, shape (n_params,)
        Inverse variances of the prior (units of 1/x^2), positive.

    Returns
    -------
    mean : jax.Array, shape (n_params,)
        ``(A^T W A + P)^-1 A^T W d``.
    covariance : jax.Array, shape (n_params, n_params)
        ``(A^T W A + P)^-1``.

    Raises
    ------
    CoefficientShapeError
        Arrays of inconsistent shapes.
    NonFiniteError
        NaN or infinite entries.
    ValueError
        Negative data precisions or non-positive prior precisions.
    """
    design = finite_array(design, "design matrix", ndim=2)
    data = finite_array(data, "data", ndim=1)
    data_precision = finite_array(data_precision, "data precision", ndim=1)
    prior_precision = finite_array(prior_precision, "prior precision", ndim=1)
    n_data, n_params = design.shape
    if data.shape != (n_data,) or data_precision.shape != (n_data,):
        raise CoefficientShapeError(
            f"design has {n_data} rows but data/data_precision have shapes {data.shape} and "
            f"{data_precision.shape}"
        )
    if prior_precision.shape != (n_params,):
        raise CoefficientShapeError(
            f"design has {n_params} columns but prior_precision has shape {prior_precision.shape}"
        )
    if np.any(data_precision < 0) or np.any(prior_precision <= 0):
        raise ModelConfigError("data precisions must be >= 0 and prior precisions > 0")
    return dense_gaussian_posterior(
        jnp.asarray(design), jnp.asarray(data), jnp.asarray(data_precision), prior_precision
    )


@jax.jit
def batched_normal_equations(design, data, weights):
    """Normal matrices ``A_k^T W_k A_k`` and right-hand sides ``A_k^T W_k d_k`` of K problems.

    Parameters
    ----------
    design : jax.Array, shape (K, n_data, n_params)
    data : jax.Array, shape (K, n_data)
    weights : jax.Array, shape (K, n_data)
        Diagonal data precisions W_k.

    Returns
    -------
    normal : jax.Array, shape (K, n_params, n_params)
    rhs : jax.Array, shape (K, n_params)
    """
    weighted = design * weights[..., :, None]
    normal = jnp.einsum("kij,kil->kjl", design, weighted)
    rhs = jnp.einsum("kij,ki->kj", weighted, data)
    return normal, rhs


def block_tridiagonal_cholesky(diagonal, coupling):
    """Block Cholesky of a symmetric positive-definite block-tridiagonal matrix M.

    Parameters
    ----------
    diagonal : jax.Array, shape (K, n, n)
        Diagonal blocks ``D_k = M[k, k]``.
    coupling : jax.Array, shape (K - 1, n, n)
        Upper off-diagonal blocks ``B_k = M[k, k+1]``.

    Returns
    -------
    chol : jax.Array, shape (K, n, n)
        Lower Cholesky factors L_k of the Schur complements S_k.
    factors : jax.Array, shape (K - 1, n, n)
        ``F_k = L_k^-1 B_k`` (so that ``M[k+1, k] = F_k^T L_k^T``).
    """
    first = jnp.linalg.cholesky(diagonal[0])

    def step(previous, blocks):
        d_k, b_prev = blocks
        f = solve_triangular(previous, b_prev, lower=True)
        current = jnp.linalg.cholesky(d_k - f.T @ f)
        return current, (current, f)

    _, (rest, factors) = jax.lax.scan(step, first, (diagonal[1:], coupling))
    return jnp.concatenate([first[None], rest]), factors


def block_tridiagonal_solve(chol, factors, rhs):
    """Solve ``M x = rhs`` with the factors of :func:`block_tridiagonal_cholesky`.

    Parameters
    ----------
    chol, factors : jax.Array
        From :func:`block_tridiagonal_cholesky`.
    rhs : jax.Array, shape (K, n)

    Returns
    -------
    jax.Array, shape (K, n)
    """
    y0 = solve_triangular(chol[0], rhs[0], lower=True)

    def forward(y_prev, blocks):
        l_k, f_prev, b_k = blocks
        y = solve_triangular(l_k, b_k - f_prev.T @ y_prev, lower=True)
        return y, y

    _, y_rest = jax.lax.scan(forward, y0, (chol[1:], factors, rhs[1:]))
    y = jnp.concatenate([y0[None], y_rest])
    x_last = solve_triangular(chol[-1], y[-1], lower=True, trans="T")

    def backward(x_next, blocks):
        l_k, f_k, y_k = blocks
        x = solve_triangular(l_k, y_k - f_k @ x_next, lower=True, trans="T")
        return x, x

    _, x_rest = jax.lax.scan(backward, x_last, (chol[:-1], factors, y[:-1]), reverse=True)
    return jnp.concatenate([x_rest, x_last[None]])


def block_tridiagonal_marginals(chol, factors, full: bool):
    """Diagonal blocks of ``M^-1``: ``Sigma_k = S_k^-1 + G_k Sigma_{k+1} G_k^T``.

    With ``G_k = L_k^-T F_k`` (backward recursion from ``Sigma_K = S_K^-1``).

    Parameters
    ----------
    chol, factors : jax.Array
        From :func:`block_tridiagonal_cholesky`.
    full : bool
        Return the blocks (K, n, n); otherwise only their diagonals (K, n).

    Returns
    -------
    jax.Array, shape (K, n, n) or (K, n)
    """
    n = chol.shape[-1]
    eye = jnp.eye(n, dtype=chol.dtype)

    def schur_inverse(l_k):
        inv_l = solve_triangular(l_k, eye, lower=True)
        return inv_l.T @ inv_l

    def output(sigma):
        return sigma if full else jnp.diagonal(sigma)

    last = schur_inverse(chol[-1])

    def backward(sigma_next, blocks):
        l_k, f_k = blocks
        gain = solve_triangular(l_k, f_k, lower=True, trans="T")
        sigma = schur_inverse(l_k) + gain @ sigma_next @ gain.T
        sigma = 0.5 * (sigma + sigma.T)
        return sigma, output(sigma)

    _, rest = jax.lax.scan(backward, last, (chol[:-1], factors), reverse=True)
    return jnp.concatenate([rest, output(last)[None]])


@partial(jax.jit, static_argnames=("second",))
def coupled_block_posterior(
    normal, rhs, prior, chain_diagonal, chain_off_diagonal, chain_weights, second
):
    """Posterior of K parameter blocks coupled by a tridiagonal prior precision (jitted).

    The posterior precision is block tridiagonal: diagonal blocks
    ``normal_k + diag(prior_k + T_kk w)`` and off-diagonal blocks ``diag(T_k,k+1 w)``,
    i.e. a prior precision ``diag(prior) + T (x) diag(w)``.

    Parameters
    ----------
    normal : jax.Array, shape (K, n, n)
        Data precision of each block, ``A_k^T W_k A_k``.
    rhs : jax.Array, shape (K, n)
        ``A_k^T W_k d_k``.
    prior : jax.Array, shape (K, n)
        Diagonal prior precision of each block.
    chain_diagonal : jax.Array, shape (K,)
        Diagonal ``T_kk`` of the coupling matrix.
    chain_off_diagonal : jax.Array, shape (K - 1,)
        Off-diagonal ``T_k,k+1``.
    chain_weights : jax.Array, shape (n,)
        Per-parameter weights w of the coupling.
    second : {"none", "variance", "covariance"}
        Also return nothing (None), the marginal variances (K, n) or the marginal
        covariances (K, n, n) of the blocks (:data:`SECOND_MOMENTS`).

    Returns
    -------
    mean : jax.Array, shape (K, n)
    second : jax.Array or None
    """
    diagonal = normal + jax.vmap(jnp.diag)(prior + chain_diagonal[:, None] * chain_weights)
    coupling = jax.vmap(jnp.diag)(chain_off_diagonal[:, None] * chain_weights)
    chol, factors = block_tridiagonal_cholesky(diagonal, coupling)
    mean = block_tridiagonal_solve(chol, factors, rhs)
    if second == "none":
        return mean, None
    return mean, block_tridiagonal_marginals(chol, factors, second == "covariance")


@partial(jax.jit, static_argnames=("second",))
def independent_block_posterior(normal, rhs, prior, second):
    """Posteriors of K independent linear-Gaussian problems in one call (jitted).

    Parameters
    ----------
    normal : jax.Array, shape (K, n, n)
        ``A_k^T W_k A_k``.
    rhs : jax.Array, shape (K, n)
        ``A_k^T W_k d_k``.
    prior : jax.Array, shape (K, n)
        Diagonal prior precisions.
    second : {"none", "variance", "covariance"}
        As in :func:`coupled_block_posterior`.

    Returns
    -------
    mean : jax.Array, shape (K, n)
    second : jax.Array or None
    """

    def one(m, b, p):
        chol = jnp.linalg.cholesky(m + jnp.diag(p))
        mean = cho_solve((chol, True), b)
        if second == "none":
            return mean, None
        inv_l = solve_triangular(chol, jnp.eye(m.shape[0], dtype=m.dtype), lower=True)
        if second == "variance":
            return mean, jnp.sum(inv_l**2, axis=0)
        return mean, inv_l.T @ inv_l

    return jax.lax.map(lambda args: one(*args), (normal, rhs, prior))
