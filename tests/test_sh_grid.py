"""Tests of the Gauss-Legendre grid: synthesis, gradients, analysis, quadrature."""

import jax
import jax.numpy as jnp
import numpy as np
import pyshtools as pysh
import pytest
from scipy.special import roots_legendre

import bayescore  # noqa: F401  (float64)
from bayescore.errors import CoefficientShapeError
from bayescore.sh.grid import GaussLegendreGrid, gauss_legendre_grid, quadrature_grid
from bayescore.sh.indexing import degree_order_arrays
from bayescore.sh.legendre import schmidt_legendre_at_coefficients

_legendre_at_coefficients = jax.jit(schmidt_legendre_at_coefficients, static_argnums=0)

# Tolerances: every quantity here is computed exactly up to floating-point rounding
# (Gauss quadrature of band-limited integrands), so the comparisons allow a few hundred
# ulps of the values' scale (O(1) random coefficients, sums of ~100 terms): 1e-12.
TOL = 1e-12


def _random_coeffs(lmax, seed=0):
    return np.random.default_rng(seed).normal(size=lmax * (lmax + 2))


def _explicit_basis(lmax, theta, phi):
    """Y, dY/dtheta, (1/sin) dY/dphi at points, from legendre + explicit cos/sin."""
    _, order, is_sine = degree_order_arrays(lmax)
    P, dP, P_over_sin = (np.asarray(a) for a in _legendre_at_coefficients(lmax, theta))
    mp = np.asarray(phi)[..., None] * order
    trig = np.where(is_sine, np.sin(mp), np.cos(mp))
    dtrig = order * np.where(is_sine, np.cos(mp), -np.sin(mp))
    return P * trig, dP * trig, P_over_sin * dtrig


def test_nodes_and_weights_match_scipy():
    grid = GaussLegendreGrid(10)
    x, w = roots_legendre(11)
    order = np.argsort(-x)
    np.testing.assert_allclose(grid.cos_colatitude, x[order], rtol=0, atol=TOL)
    np.testing.assert_allclose(grid.weights, w[order], rtol=0, atol=TOL)
    assert np.all(np.diff(grid.colatitude) > 0)
    assert grid.nlon == 22 and grid.exact_degree == 21
    np.testing.assert_allclose(grid.area_weights.sum(), 4 * np.pi, rtol=TOL)


def test_synthesis_matches_explicit_sum_and_pyshtools():
    lmax = 9
    coeffs = _random_coeffs(lmax, 1)
    grid = GaussLegendreGrid(lmax, nlat=14, nlon=25)  # odd nlon, extra latitudes
    theta, phi = grid.meshgrid()
    Y, Y_theta, Y_phi = _explicit_basis(lmax, theta, phi)
    np.testing.assert_allclose(grid.synthesis(coeffs), Y @ coeffs, rtol=0, atol=TOL)
    d_theta, d_phi = grid.gradient(coeffs)
    np.testing.assert_allclose(d_theta, Y_theta @ coeffs, rtol=0, atol=1e-11)
    np.testing.assert_allclose(d_phi, Y_phi @ coeffs, rtol=0, atol=1e-11)
    # independent library: pyshtools with Schmidt normalisation and no Condon-Shortley phase
    degree, order, is_sine = degree_order_arrays(lmax)
    array = np.zeros((2, lmax + 1, lmax + 1))
    array[is_sine.astype(int), degree, order] = coeffs
    clm = pysh.SHCoeffs.from_array(array, normalization="schmidt", csphase=1)
    ref = clm.expand(lat=90 - np.degrees(theta).ravel(), lon=np.degrees(phi).ravel())
    np.testing.assert_allclose(grid.synthesis(coeffs), ref.reshape(theta.shape), atol=TOL)


def test_gradient_matches_finite_differences_of_pyshtools():
    """Angular derivatives against fourth-order central differences of pyshtools' point
    evaluation (an independent implementation). With h = 1e-3 rad the truncation error
    h^4 |f^(5)| / 30 ~ 1e-12 * l^5 |f| / 30 ~ 2e-8 for degree 9 and |f| ~ 10, rounding
    ~1e-14 |f| / h ~ 1e-10, hence atol 1e-7 (values of the derivatives reach ~40)."""
    lmax = 9
    coeffs = _random_coeffs(lmax, 2)
    grid = GaussLegendreGrid(lmax)
    degree, order, is_sine = degree_order_arrays(lmax)
    array = np.zeros((2, lmax + 1, lmax + 1))
    array[is_sine.astype(int), degree, order] = coeffs
    clm = pysh.SHCoeffs.from_array(array, normalization="schmidt", csphase=1)

    def f(theta, phi):
        return clm.expand(lat=90 - np.degrees(theta.ravel()), lon=np.degrees(phi.ravel()))

    theta, phi = grid.meshgrid()
    h = 1e-3

    def central(shift):  # 4th-order central difference along shift = (dtheta, dphi)
        def at(k):
            return f(theta + k * shift[0], phi + k * shift[1])

        return (8 * (at(h) - at(-h)) - (at(2 * h) - at(-2 * h))) / (12 * h)

    d_theta, d_phi = grid.gradient(coeffs)
    np.testing.assert_allclose(np.ravel(d_theta), central((1, 0)), rtol=0, atol=1e-7)
    np.testing.assert_allclose(
        np.ravel(d_phi), central((0, 1)) / np.sin(theta.ravel()), rtol=0, atol=1e-7
    )


@pytest.mark.parametrize(("lmax", "nlat", "nlon"), [(12, None, None), (6, 9, 20), (5, 6, 11)])
def test_round_trip(lmax, nlat, nlon):
    grid = GaussLegendreGrid(lmax, nlat, nlon)
    coeffs = _random_coeffs(lmax, lmax)
    np.testing.assert_allclose(grid.analysis(grid.synthesis(coeffs)), coeffs, atol=TOL)


def test_round_trip_batched_and_lower_degree():
    grid = GaussLegendreGrid(8)
    coeffs = np.stack([_random_coeffs(5, k) for k in range(3)])
    values = grid.synthesis(coeffs)
    assert values.shape == (3, grid.nlat, grid.nlon)
    np.testing.assert_allclose(grid.analysis(values, 5), coeffs, atol=TOL)
    # the degree-6..8 projections of a degree-5 field vanish
    high = np.asarray(grid.analysis(values, 8))[:, 5 * 7 :]
    np.testing.assert_allclose(high, 0.0, atol=TOL)


def test_analysis_of_product_against_fine_brute_force_quadrature():
    """Projection of f1 * f2 (degree 5 + 6) onto degree 9 on the minimal exact grid
    (integrand degree 5 + 6 + 9 = 20 -> nlat = 11, nlon = 21) equals a brute-force sum
    over a much finer Gauss grid (60 x 128 nodes) with explicit harmonics."""
    l1, l2, lout = 5, 6, 9
    c1, c2 = _random_coeffs(l1, 3), _random_coeffs(l2, 4)
    grid = GaussLegendreGrid(lout, nlat=11, nlon=21)
    assert grid.exact_degree >= l1 + l2 + lout
    product = grid.synthesis(c1) * grid.synthesis(c2)
    coarse = grid.analysis(product, lout)

    x, w = roots_legendre(60)
    phi = 2 * np.pi * np.arange(128) / 128
    theta, phi = np.meshgrid(np.arccos(x), phi, indexing="ij")
    dA = (w[:, None] * np.full(phi.shape, 2 * np.pi / 128)).ravel()
    # coefficient order is by degree: the degree-L basis is the first L(L+2) columns
    Y = _explicit_basis(lout, theta, phi)[0].reshape(-1, lout * (lout + 2))
    f = (Y[:, : c1.size] @ c1) * (Y[:, : c2.size] @ c2)
    degree = degree_order_arrays(lout)[0]
    fine = (2 * degree + 1) / (4 * np.pi) * (Y.T @ (f.ravel() * dA))
    np.testing.assert_allclose(coarse, fine, atol=TOL * np.abs(fine).max())


def test_integrate_orthogonality():
    # int Y_lm Y_l'm' dOmega = 4 pi / (2l+1) delta
    lmax = 6
    grid = GaussLegendreGrid(lmax)
    n = lmax * (lmax + 2)
    basis = grid.synthesis(np.eye(n))
    gram = grid.integrate(basis[:, None] * basis[None, :])
    degree = degree_order_arrays(lmax)[0]
    np.testing.assert_allclose(gram, np.diag(4 * np.pi / (2 * degree + 1)), atol=TOL)


def test_differentiable_and_jittable():
    # d/dc int f^2 dOmega = 8 pi c / (2l+1)
    lmax = 6
    grid = gauss_legendre_grid(lmax)
    coeffs = jnp.asarray(_random_coeffs(lmax, 5))
    energy = jax.jit(lambda c: grid.integrate(grid.synthesis(c) ** 2))
    degree = degree_order_arrays(lmax)[0]
    np.testing.assert_allclose(
        jax.grad(energy)(coeffs), 8 * np.pi * coeffs / (2 * degree + 1), atol=TOL
    )
    round_trip = jax.jit(lambda c: grid.analysis(grid.synthesis(c)))
    np.testing.assert_allclose(round_trip(coeffs), coeffs, atol=TOL)


def test_grid_identity_and_cache():
    assert gauss_legendre_grid(5) is gauss_legendre_grid(5)
    assert GaussLegendreGrid(5) == GaussLegendreGrid(5, 6, 12)
    assert hash(GaussLegendreGrid(5)) == hash(GaussLegendreGrid(5, 6, 12))
    assert GaussLegendreGrid(5) != GaussLegendreGrid(5, 7, 12)


def test_quadrature_grid_sizes():
    grid = quadrature_grid(56, 28)
    assert grid.nlat == 29 and grid.nlon > 56 and grid.nlon % 2 == 0
    assert grid.exact_degree >= 56 and grid.lmax == 28


def test_bad_input():
    grid = GaussLegendreGrid(4)
    with pytest.raises(CoefficientShapeError, match="not L\\(L\\+2\\)"):
        grid.synthesis(np.zeros(7))
    with pytest.raises(CoefficientShapeError, match="exceed the grid's lmax"):
        grid.synthesis(np.zeros(35))
    with pytest.raises(CoefficientShapeError, match="trailing shape"):
        grid.analysis(np.zeros((3, 4)))
    with pytest.raises(ValueError, match="cannot resolve order"):
        GaussLegendreGrid(4, nlon=8)
    with pytest.raises(CoefficientShapeError, match="lmax must be >= 1"):
        GaussLegendreGrid(0)
    with pytest.raises(ValueError, match="component must be"):
        grid.to_fourier(np.zeros(8), "laplacian")
