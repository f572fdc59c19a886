"""Tests of the core-surface flow representation (bayescore.flow.velocity)."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest
import xarray as xr

import bayescore  # noqa: F401  (float64)
from bayescore.constants import CORE_RADIUS_KM
from bayescore.errors import CoefficientShapeError, NonFiniteError
from bayescore.flow.velocity import Flow, velocity
from bayescore.sh.grid import GaussLegendreGrid
from bayescore.sh.indexing import degree_order_arrays
from bayescore.sh.legendre import schmidt_legendre

C = CORE_RADIUS_KM
LMAX = 6


def _random_flow(lmax=LMAX, seed=0):
    rng = np.random.default_rng(seed)
    n = lmax * (lmax + 2)
    return rng.normal(size=n), rng.normal(size=n)


def test_solid_body_rotation():
    # t_10 = w c: u_phi = w c sin(theta) eastward, u_theta = 0 (exact up to rounding)
    w = 0.3  # rad/yr
    flow = Flow.solid_body_rotation(w, lmax=3)
    assert flow.t[0] == pytest.approx(w * C)
    theta = np.linspace(0, np.pi, 13)[:, None]
    phi = np.linspace(0, 2 * np.pi, 7)[None, :]
    u_theta, u_phi = flow.velocity(theta, phi)
    assert u_phi.shape == (13, 7)
    np.testing.assert_allclose(u_theta, 0.0, atol=1e-12 * w * C)
    np.testing.assert_allclose(u_phi, w * C * np.sin(theta) * np.ones_like(phi), atol=1e-12 * w * C)


def _fd_divergence_and_vorticity(t, s, theta, phi, h=1e-3):
    """c div_H u and c r.curl_H u by 4th-order central differences of the velocity.

    c div_H u = [d(sin u_theta)/dtheta + du_phi/dphi] / sin,
    c r.curl_H u = [d(sin u_phi)/dtheta - du_theta/dphi] / sin.
    """

    def components(dth, dph):
        # (sin u_theta, sin u_phi, u_theta, u_phi) at the shifted points
        ut, up = (np.asarray(a) for a in velocity(t, s, theta + dth, phi + dph))
        sin = np.sin(theta + dth)
        return np.stack([sin * ut, sin * up, ut, up])

    def derivative(shift):
        def at(k):
            return components(k * shift[0], k * shift[1])

        return (8 * (at(h) - at(-h)) - (at(2 * h) - at(-2 * h))) / (12 * h)

    d_theta, d_phi = derivative((1, 0)), derivative((0, 1))
    sin = np.sin(theta)
    divergence = (d_theta[0] + d_phi[3]) / sin
    vorticity = (d_theta[1] - d_phi[2]) / sin
    return divergence, vorticity


@pytest.mark.parametrize(("ell", "m", "sine"), [(1, 0, False), (2, 1, True), (4, 3, False)])
def test_divergence_and_vorticity_per_harmonic(ell, m, sine):
    """For a single harmonic Y: c div_H u = -l(l+1) S and c r.curl_H u = l(l+1) T,
    checked with 4th-order finite differences (h = 1e-3: truncation h^4 l^5 / 30 ~ 1e-11
    relative; rounding 1e-16 / h ~ 1e-13), at points away from the poles: rtol 1e-8."""
    degree, order, is_sine = degree_order_arrays(4)
    index = int(np.flatnonzero((degree == ell) & (order == m) & (is_sine == sine))[0])
    basis = np.zeros(24)
    basis[index] = 1.0
    rng = np.random.default_rng(ell)
    theta = rng.uniform(0.3, np.pi - 0.3, 20)
    phi = rng.uniform(0, 2 * np.pi, 20)
    P = np.asarray(schmidt_legendre(4, theta, derivatives=False))[:, ell, m]
    Y = P * (np.sin(m * phi) if sine else np.cos(m * phi))
    L = ell * (ell + 1)
    zero = np.zeros(24)
    # poloidal S = Y
    div, vort = _fd_divergence_and_vorticity(zero, basis, theta, phi)
    np.testing.assert_allclose(div, -L * Y, rtol=0, atol=1e-8 * L)
    np.testing.assert_allclose(vort, 0.0, atol=1e-8 * L)
    # toroidal T = Y
    div, vort = _fd_divergence_and_vorticity(basis, zero, theta, phi)
    np.testing.assert_allclose(div, 0.0, atol=1e-8 * L)
    np.testing.assert_allclose(vort, L * Y, rtol=0, atol=1e-8 * L)


def test_mean_square_speed_matches_spectrum():
    """(1/4pi) int |u|^2 dOmega = sum l(l+1)/(2l+1) (t^2 + s^2) (equations.md), with the
    integral computed by the Gauss-Legendre rule exact for degree 2 L_F (rounding only)."""
    t, s = _random_flow()
    grid = GaussLegendreGrid(LMAX + 1)
    theta, phi = grid.meshgrid()
    u_theta, u_phi = velocity(t, s, theta, phi)
    mean_square = float(grid.integrate(u_theta**2 + u_phi**2)) / (4 * np.pi)
    degree = degree_order_arrays(LMAX)[0]
    expected = np.sum(degree * (degree + 1) / (2 * degree + 1) * (t**2 + s**2))
    assert mean_square == pytest.approx(expected, rel=1e-12)


def test_velocity_matches_grid_gradient():
    # u from the point formula equals grad/curl assembled from the grid transforms
    t, s = _random_flow(seed=1)
    grid = GaussLegendreGrid(LMAX)
    theta, phi = grid.meshgrid()
    t_theta, t_phi = grid.gradient(t)
    s_theta, s_phi = grid.gradient(s)
    u_theta, u_phi = velocity(t, s, theta, phi)
    np.testing.assert_allclose(u_theta, t_phi + s_theta, atol=1e-11)
    np.testing.assert_allclose(u_phi, -t_theta + s_phi, atol=1e-11)


def test_velocity_finite_and_continuous_at_poles():
    """At the poles u is finite and equals the limit theta -> 0 (pi) at fixed phi; the
    components vary with phi like those of one fixed tangent vector. A step of 1e-9 rad
    changes the components by O(1e-9 |u'|) ~ 1e-8 for these O(10) velocities."""
    t, s = _random_flow(seed=2)
    phi = np.linspace(0, 2 * np.pi, 9)
    for pole, inside in ((0.0, 1e-9), (np.pi, np.pi - 1e-9)):
        at_pole = np.stack(velocity(t, s, pole, phi))
        near = np.stack(velocity(t, s, inside, phi))
        assert np.all(np.isfinite(at_pole))
        np.testing.assert_allclose(at_pole, near, atol=1e-6)
    # at the north pole, (u_theta, u_phi) = (ux cos phi + uy sin phi, -ux sin phi + uy cos phi)
    u_theta, u_phi = (np.asarray(a) for a in velocity(t, s, 0.0, phi))
    ux, uy = u_theta[0], u_phi[0]  # phi = 0: theta-hat = x-hat, phi-hat = y-hat
    np.testing.assert_allclose(u_theta, ux * np.cos(phi) + uy * np.sin(phi), atol=1e-9)
    np.testing.assert_allclose(u_phi, -ux * np.sin(phi) + uy * np.cos(phi), atol=1e-9)


def test_velocity_jit_and_grad():
    t, s = _random_flow(seed=3)
    theta, phi = 0.7, 1.9
    f = jax.jit(lambda t, s: velocity(t, s, theta, phi)[1])
    # u is linear in (t, s): the gradient is the basis evaluated at the point
    grad_t = jax.grad(f, 0)(jnp.asarray(t), jnp.asarray(s))
    basis = np.eye(t.size)
    expected = np.array([velocity(b, np.zeros_like(b), theta, phi)[1] for b in basis])
    np.testing.assert_allclose(grad_t, expected, atol=1e-12)
    assert float(f(t, s)) == pytest.approx(float(velocity(t, s, theta, phi)[1]), rel=1e-14)


def test_flow_on_grid_dataset():
    t, s = _random_flow(seed=4)
    flow = Flow(t, s, epoch=1990.0)
    ds = flow.on_grid(nlat=6, nlon=12)
    assert isinstance(ds, xr.Dataset)
    assert ds.u_theta.dims == ("colatitude", "longitude")
    assert ds.u_phi.attrs["units"] == "km/yr"
    np.testing.assert_allclose(ds.speed, np.hypot(ds.u_theta, ds.u_phi))
    np.testing.assert_allclose(ds.latitude, 90 - np.degrees(ds.colatitude))
    u_theta, _ = flow.velocity(ds.colatitude.values[2], ds.longitude.values[5])
    assert float(ds.u_theta[2, 5]) == pytest.approx(float(u_theta), rel=1e-13)
    assert ds.attrs["epoch"] == 1990.0


def test_flow_to_xarray_and_vector():
    t, s = _random_flow(lmax=2, seed=5)
    flow = Flow(t, s)
    ds = flow.to_xarray()
    assert list(ds.coefficient.values[:3]) == ["cos_1_0", "cos_1_1", "sin_1_1"]
    assert float(ds.t.sel(coefficient="cos_1_0")) == t[0]
    assert float(ds.s.sel(coefficient="sin_2_2")) == s[-1]
    assert list(ds.degree.values) == [1, 1, 1, 2, 2, 2, 2, 2]
    np.testing.assert_array_equal(flow.vector, np.concatenate([t, s]))
    again = Flow.from_vector(flow.vector)
    np.testing.assert_array_equal(again.t, t)
    np.testing.assert_array_equal(again.s, s)
    assert flow.lmax == 2
    # pytree: passes through jit
    doubled = jax.jit(lambda f: Flow(2 * f.t, f.s))(flow)
    np.testing.assert_allclose(doubled.t, 2 * t)


def test_bad_input():
    with pytest.raises(CoefficientShapeError, match="toroidal t has 3 coefficients"):
        Flow(np.zeros(3), np.zeros(8))
    with pytest.raises(CoefficientShapeError, match="not L\\(L\\+2\\)"):
        Flow(np.zeros(5), np.zeros(5))
    with pytest.raises(NonFiniteError, match="flow coefficients s"):
        Flow(np.zeros(3), np.array([0.0, np.nan, 0.0]))
    with pytest.raises(CoefficientShapeError, match="1-D"):
        Flow(np.zeros((2, 3)), np.zeros((2, 3)))
    with pytest.raises(CoefficientShapeError, match="1-D t and s"):
        velocity(np.zeros((2, 3)), np.zeros((2, 3)), 0.5, 0.5)
    with pytest.raises(NonFiniteError):
        velocity(np.array([np.inf, 0, 0]), np.zeros(3), 0.5, 0.5)
    with pytest.raises(CoefficientShapeError, match="even length"):
        Flow.from_vector(np.zeros(7))
    with pytest.raises(ValueError, match="positive"):
        Flow(np.zeros(3), np.zeros(3)).on_grid(0, 4)
