"""Temporal bases against SciPy's B-splines and NumPy's Legendre polynomials.

Tolerance: both sides evaluate the same piecewise polynomials (or polynomials) in float64
with a handful of operations per value; the derivatives scale as 1/h^r for knot spacing h,
so errors are compared relative to the largest value of each derivative: 1e-12.
"""

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from numpy.polynomial import legendre as npleg
from scipy.interpolate import BSpline

import bayescore  # noqa: F401  (float64)
from bayescore.timebasis import (
    bspline_basis,
    clamped_knots,
    legendre_basis,
    n_bspline_functions,
)

TOL = 1e-12


def _scipy_basis(t, knots, order, derivative):
    n = knots.size - order
    return np.stack(
        [BSpline(knots, np.eye(n)[j], order - 1)(t, nu=derivative) for j in range(n)], axis=-1
    )


KNOT_SETS = {
    # clamped cubic with irregular interior knots and a double interior knot at 1.5
    "clamped-cubic": (np.r_[[0.0] * 4, 0.7, 1.5, 1.5, 3.0, 4.2, [6.0] * 4], 4),
    # gufm1-like: uniform, not clamped (base interval knots[3] .. knots[-4])
    "uniform-cubic": (1582.5 + 2.5 * np.arange(20.0), 4),
    # CHAOS-like order 6, clamped
    "clamped-order6": (clamped_knots(np.linspace(1999.0, 2009.0, 11), 6), 6),
    # piecewise linear (IGRF)
    "linear": (clamped_knots(np.arange(1900.0, 1930.1, 5.0), 2), 2),
}


@pytest.mark.parametrize("name", list(KNOT_SETS))
@pytest.mark.parametrize("derivative", [0, 1, 2])
def test_bspline_basis_matches_scipy(name, derivative):
    knots, order = KNOT_SETS[name]
    n = n_bspline_functions(knots, order)
    lo, hi = knots[order - 1], knots[n]
    rng = np.random.default_rng(derivative)
    # random times, every knot of the base interval, its ends, and points just outside
    # (extrapolation with the end pieces, as SciPy's default)
    t = np.concatenate(
        [
            rng.uniform(lo, hi, 200),
            knots[(knots >= lo) & (knots <= hi)],
            [lo - 0.3 * (hi - lo) / n, hi + 0.3 * (hi - lo) / n],
        ]
    )
    ours = np.asarray(bspline_basis(t, knots, order, derivative))
    reference = _scipy_basis(t, knots, order, derivative)
    assert ours.shape == (t.size, n)
    scale = max(np.abs(reference).max(), 1.0)
    np.testing.assert_allclose(ours, reference, rtol=0, atol=TOL * scale)


def test_bspline_partition_of_unity_and_high_derivatives_vanish():
    knots, order = KNOT_SETS["clamped-cubic"]
    t = np.linspace(0.0, 6.0, 101)
    np.testing.assert_allclose(np.asarray(bspline_basis(t, knots, order)).sum(-1), 1.0, rtol=TOL)
    np.testing.assert_allclose(
        np.asarray(bspline_basis(t, knots, order, 1)).sum(-1), 0.0, atol=1e-11
    )
    assert not np.any(np.asarray(bspline_basis(t, knots, order, 4)))


def test_bspline_basis_jit_grad_and_shapes():
    knots, order = KNOT_SETS["uniform-cubic"]
    coeffs = jnp.asarray(np.random.default_rng(1).normal(size=knots.size - order))

    def spline(t):
        return bspline_basis(t, knots, order) @ coeffs

    t0 = 1600.3
    grad = jax.grad(spline)(t0)
    expected = bspline_basis(t0, knots, order, 1) @ coeffs
    np.testing.assert_allclose(float(grad), float(expected), rtol=1e-12)
    jitted = jax.jit(lambda t: bspline_basis(t, knots, order, 2))
    t = np.array([[1600.0, 1610.0], [1620.0, 1625.5]])
    assert jitted(t).shape == (2, 2, knots.size - order)
    np.testing.assert_allclose(
        np.asarray(jitted(t)), np.asarray(bspline_basis(t, knots, order, 2)), rtol=1e-14
    )


def test_clamped_knots_and_errors():
    knots = clamped_knots([2000.0, 2001.0, 2003.0], 4)
    np.testing.assert_array_equal(knots, [2000.0] * 4 + [2001.0] + [2003.0] * 4)
    assert n_bspline_functions(knots, 4) == 5  # m + k - 2
    with pytest.raises(ValueError, match="increasing"):
        clamped_knots([2000.0, 1999.0], 2)
    with pytest.raises(ValueError, match="two break"):
        clamped_knots([2000.0], 2)
    with pytest.raises(ValueError, match="order"):
        bspline_basis(0.0, knots, 0)
    with pytest.raises(ValueError, match="no B-spline"):
        bspline_basis(0.0, [0.0, 1.0], 4)


@pytest.mark.parametrize("derivative", [0, 1, 2])
def test_legendre_basis_matches_numpy(derivative):
    n_terms, span = 9, (1990.0, 2020.0)
    t = np.concatenate([np.linspace(*span, 61), [1985.0, 2024.0]])
    ours = np.asarray(legendre_basis(t, n_terms, span, derivative))
    x = (2 * t - sum(span)) / (span[1] - span[0])
    dx_dt = 2.0 / (span[1] - span[0])
    reference = np.stack(
        [
            npleg.legval(x, npleg.legder(np.eye(n_terms)[n], derivative)) * dx_dt**derivative
            for n in range(n_terms)
        ],
        axis=-1,
    )
    assert ours.shape == (t.size, n_terms)
    scale = np.abs(reference).max()
    np.testing.assert_allclose(ours, reference, rtol=0, atol=TOL * scale)


def test_legendre_basis_grad_and_errors():
    dt = jax.grad(lambda t: legendre_basis(t, 6, (0.0, 10.0))[4])(3.3)
    np.testing.assert_allclose(
        float(dt), float(legendre_basis(3.3, 6, (0.0, 10.0), 1)[4]), rtol=1e-12
    )
    with pytest.raises(ValueError, match="span"):
        legendre_basis(1.0, 3, (2.0, 2.0))
    with pytest.raises(ValueError, match="n_terms"):
        legendre_basis(1.0, 0, (0.0, 1.0))
