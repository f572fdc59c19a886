"""Model-agnostic linear-Gaussian posteriors against dense numpy solves.

Independent truths: numpy inverses of the assembled precision matrices and the Gaussian
conditioning identity (the "Kalman gain" form of the posterior).
"""

from __future__ import annotations

import jax.numpy as jnp
import numpy as np
import pytest

import bayescore  # noqa: F401  (float64)
from bayescore.errors import CoefficientShapeError, NonFiniteError
from bayescore.infer.linear_gaussian import (
    batched_normal_equations,
    coupled_block_posterior,
    gaussian_posterior,
    independent_block_posterior,
)


def test_gaussian_posterior_random_matrix():
    rng = np.random.default_rng(0)
    design = rng.normal(size=(40, 12))
    data = rng.normal(size=40)
    data_precision = rng.uniform(0.5, 2.0, size=40)
    prior_precision = rng.uniform(0.1, 1.0, size=12)
    mean, cov = gaussian_posterior(design, data, data_precision, prior_precision)
    precision = design.T @ np.diag(data_precision) @ design + np.diag(prior_precision)
    # a well-conditioned 12 x 12 system: agreement to ~1e-13 relative
    np.testing.assert_allclose(cov, np.linalg.inv(precision), rtol=1e-12, atol=1e-15)
    np.testing.assert_allclose(
        mean, np.linalg.solve(precision, design.T @ (data_precision * data)), rtol=1e-12
    )
    # sampling check of the Gaussian identity: the posterior mean is E[x | data] of the
    # joint Gaussian (prior x ~ N(0, P^-1), data = A x + e): E[x d^T] E[d d^T]^-1 d
    prior_cov = np.diag(1 / prior_precision)
    data_cov = design @ prior_cov @ design.T + np.diag(1 / data_precision)
    kalman = prior_cov @ design.T @ np.linalg.inv(data_cov)
    np.testing.assert_allclose(mean, kalman @ data, rtol=1e-10)
    np.testing.assert_allclose(cov, prior_cov - kalman @ design @ prior_cov, atol=1e-12)


def test_gaussian_posterior_rejects_bad_input():
    design, data = np.ones((3, 2)), np.ones(3)
    with pytest.raises(CoefficientShapeError):
        gaussian_posterior(design, np.ones(4), np.ones(3), np.ones(2))
    with pytest.raises(CoefficientShapeError):
        gaussian_posterior(design, data, np.ones(3), np.ones(3))
    with pytest.raises(NonFiniteError):
        gaussian_posterior(design, np.array([1.0, np.nan, 1.0]), np.ones(3), np.ones(2))
    with pytest.raises(ValueError, match="prior precisions > 0"):
        gaussian_posterior(design, data, np.ones(3), np.array([1.0, 0.0]))


def _blocks(rng, k=4, n_data=9, n=5):
    design = rng.normal(size=(k, n_data, n))
    data = rng.normal(size=(k, n_data))
    weights = rng.uniform(0.5, 2.0, size=(k, n_data))
    prior = rng.uniform(0.2, 1.0, size=(k, n))
    return design, data, weights, prior


def test_independent_blocks_equal_separate_dense_solves():
    design, data, weights, prior = _blocks(np.random.default_rng(1))
    normal, rhs = batched_normal_equations(
        jnp.asarray(design), jnp.asarray(data), jnp.asarray(weights)
    )
    mean, cov = independent_block_posterior(normal, rhs, jnp.asarray(prior), "covariance")
    _, var = independent_block_posterior(normal, rhs, jnp.asarray(prior), "variance")
    for k in range(design.shape[0]):
        precision = design[k].T @ np.diag(weights[k]) @ design[k] + np.diag(prior[k])
        expected = np.linalg.solve(precision, design[k].T @ (weights[k] * data[k]))
        np.testing.assert_allclose(mean[k], expected, rtol=1e-12)
        np.testing.assert_allclose(cov[k], np.linalg.inv(precision), rtol=1e-12, atol=1e-15)
        np.testing.assert_allclose(var[k], np.diag(np.linalg.inv(precision)), rtol=1e-12)


def test_coupled_blocks_equal_the_dense_block_tridiagonal_solve():
    """Prior precision diag(prior) + T (x) diag(w), T symmetric tridiagonal (K x K)."""
    rng = np.random.default_rng(2)
    design, data, weights, prior = _blocks(rng)
    k, _, n = design.shape
    chain_diagonal = rng.uniform(1.0, 2.0, size=k)
    chain_off = -rng.uniform(0.1, 0.4, size=k - 1)
    chain_weights = rng.uniform(0.5, 1.5, size=n)
    normal, rhs = batched_normal_equations(
        jnp.asarray(design), jnp.asarray(data), jnp.asarray(weights)
    )
    args = (normal, rhs, jnp.asarray(prior), jnp.asarray(chain_diagonal))
    args += (jnp.asarray(chain_off), jnp.asarray(chain_weights))
    mean, blocks = coupled_block_posterior(*args, "covariance")
    _, variances = coupled_block_posterior(*args, "variance")
    none_mean, nothing = coupled_block_posterior(*args, "none")
    # the dense (K n) x (K n) precision, assembled independently
    tridiagonal = np.diag(chain_diagonal) + np.diag(chain_off, 1) + np.diag(chain_off, -1)
    precision = np.kron(tridiagonal, np.diag(chain_weights))
    precision += np.diag(prior.ravel())
    for j in range(k):
        sl = slice(j * n, (j + 1) * n)
        precision[sl, sl] += design[j].T @ np.diag(weights[j]) @ design[j]
    rhs_dense = np.concatenate([design[j].T @ (weights[j] * data[j]) for j in range(k)])
    covariance = np.linalg.inv(precision)
    np.testing.assert_allclose(np.ravel(mean), np.linalg.solve(precision, rhs_dense), rtol=1e-11)
    np.testing.assert_allclose(np.ravel(none_mean), np.ravel(mean), rtol=1e-14)
    assert nothing is None
    for j in range(k):
        sl = slice(j * n, (j + 1) * n)
        np.testing.assert_allclose(blocks[j], covariance[sl, sl], rtol=1e-11, atol=1e-14)
        np.testing.assert_allclose(variances[j], np.diag(covariance[sl, sl]), rtol=1e-11)
