"""Flow norms against direct quadrature of the velocity field over the core surface.

The per-degree weights of :mod:`bayescore.flow.norms` are closed forms; the truth here is
the integral of the physical quantity (|u|^2, the horizontal divergence and radial
vorticity, and their gradients) computed from :func:`bayescore.flow.velocity.velocity`,
differentiated with JAX autodiff and integrated with a numpy Gauss-Legendre x trapezoid
rule built here. Every integrand is a band-limited function of degree <= 2 L_F, which
the rule integrates exactly, so the comparisons hold to rounding.
"""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from bayescore.constants import CORE_RADIUS_KM as C
from bayescore.errors import CoefficientShapeError, NonFiniteError
from bayescore.flow.norms import (
    coefficient_weights,
    degree_weights,
    flow_norm,
    flow_norm_weights,
    gauss_legendre_time_nodes,
    piecewise_linear_temporal_precision,
    temporal_norm,
    temporal_weights,
)
from bayescore.flow.velocity import velocity

LMAX = 5
N = LMAX * (LMAX + 2)
# rounding of sums of ~1e3 terms of size O(1) relative to the total: 1e-11 is ~1e5 ulps,
# far above rounding and far below any error in a weight (which would be O(1) relative)
RTOL = 1e-11


def _sphere_rule(nlat, nlon):
    """Gauss-Legendre in cos(theta) x trapezoid in phi on the unit sphere (numpy)."""
    x, w = np.polynomial.legendre.leggauss(nlat)
    theta = np.arccos(x)
    phi = 2 * np.pi * np.arange(nlon) / nlon
    th, ph = np.meshgrid(theta, phi, indexing="ij")
    weights = np.outer(w, np.full(nlon, 2 * np.pi / nlon))
    return th.ravel(), ph.ravel(), weights.ravel()


@pytest.fixture(scope="module")
def flow():
    rng = np.random.default_rng(42)
    return rng.normal(size=N) * 3.0, rng.normal(size=N) * 2.0


def test_weights_closed_forms():
    ell = np.arange(1, 4, dtype=float)
    np.testing.assert_allclose(degree_weights(3, "energy"), ell * (ell + 1) / (2 * ell + 1))
    np.testing.assert_allclose(
        degree_weights(3, "weak"), 4 * np.pi * (ell * (ell + 1)) ** 2 / (2 * ell + 1)
    )
    np.testing.assert_allclose(
        degree_weights(3, "strong"), 4 * np.pi / C**2 * (ell * (ell + 1)) ** 3 / (2 * ell + 1)
    )
    # coefficient order: degree 1 has 3 entries, degree 2 has 5
    w = coefficient_weights(2, "energy")
    np.testing.assert_allclose(w, [2 / 3] * 3 + [6 / 5] * 5)
    assert flow_norm_weights(2, "weak").shape == (16,)
    np.testing.assert_allclose(temporal_weights(2), 4 * np.pi * C**2 * w)


def test_kinetic_energy_matches_quadrature_of_speed(flow):
    t, s = flow
    theta, phi, w = _sphere_rule(LMAX + 2, 2 * LMAX + 4)
    u_theta, u_phi = velocity(t, s, theta, phi)
    mean_square = np.sum(w * (np.asarray(u_theta) ** 2 + np.asarray(u_phi) ** 2)) / (4 * np.pi)
    np.testing.assert_allclose(float(flow_norm(t, s, "energy")), mean_square, rtol=RTOL)


def _scalar_fields(t, s):
    """div_H u and r.curl_H u (1/yr) at one point, by autodiff of velocity()."""

    def u(theta, phi):
        ut, up = velocity(t, s, theta, phi)
        return ut, up

    def divergence(theta, phi):
        # div_H u = 1/(c sin) [d(sin u_theta)/dtheta + du_phi/dphi]
        d_sin_ut = jax.grad(lambda th: jnp.sin(th) * u(th, phi)[0])(theta)
        d_up = jax.grad(lambda ph: u(theta, ph)[1])(phi)
        return (d_sin_ut + d_up) / (C * jnp.sin(theta))

    def vorticity(theta, phi):
        # r.curl_H u = 1/(c sin) [d(sin u_phi)/dtheta - du_theta/dphi]
        d_sin_up = jax.grad(lambda th: jnp.sin(th) * u(th, phi)[1])(theta)
        d_ut = jax.grad(lambda ph: u(theta, ph)[0])(phi)
        return (d_sin_up - d_ut) / (C * jnp.sin(theta))

    return divergence, vorticity


def test_weak_norm_matches_quadrature(flow):
    t, s = flow
    divergence, vorticity = _scalar_fields(t, s)
    theta, phi, w = _sphere_rule(LMAX + 2, 2 * LMAX + 4)
    both = jax.jit(jax.vmap(lambda a, b: (divergence(a, b), vorticity(a, b))))
    div, vort = both(jnp.asarray(theta), jnp.asarray(phi))
    integral = C**2 * np.sum(w * (np.asarray(div) ** 2 + np.asarray(vort) ** 2))
    np.testing.assert_allclose(float(flow_norm(t, s, "weak")), integral, rtol=RTOL)
    # each part separately: the divergence sees only s, the vorticity only t
    np.testing.assert_allclose(
        float(flow_norm(np.zeros(N), s, "weak")),
        C**2 * np.sum(w * np.asarray(div) ** 2),
        rtol=RTOL,
    )


def test_strong_norm_matches_quadrature(flow):
    t, s = flow
    divergence, vorticity = _scalar_fields(t, s)

    def gradient_squared(f, theta, phi):
        # |grad_H f|^2 = (1/c^2) [(df/dtheta)^2 + (df/dphi / sin)^2]
        d_theta = jax.grad(f, argnums=0)(theta, phi)
        d_phi = jax.grad(f, argnums=1)(theta, phi)
        return (d_theta**2 + (d_phi / jnp.sin(theta)) ** 2) / C**2

    theta, phi, w = _sphere_rule(LMAX + 3, 2 * LMAX + 6)
    th, ph = jnp.asarray(theta), jnp.asarray(phi)
    integrand = jax.jit(
        jax.vmap(
            lambda a, b: gradient_squared(divergence, a, b) + gradient_squared(vorticity, a, b)
        )
    )(th, ph)
    integral = C**2 * np.sum(w * np.asarray(integrand))
    np.testing.assert_allclose(float(flow_norm(t, s, "strong")), integral, rtol=RTOL)


def test_norms_accept_batches(flow):
    t, s = flow
    batch_t = np.stack([t, 2 * t])
    batch_s = np.stack([s, 2 * s])
    values = np.asarray(flow_norm(batch_t, batch_s, "strong"))
    np.testing.assert_allclose(values[1], 4 * values[0], rtol=1e-14)


def test_temporal_norm_of_polynomial_flow(flow):
    """int int |du/dt|^2 dS dt for t(tau) = t0 + t1 tau + t2 tau^2, exact by Gauss rule."""
    t0, s0 = flow
    rng = np.random.default_rng(1)
    t1, s1, t2, s2 = (rng.normal(size=N) for _ in range(4))
    start, end = 1980.0, 1990.0
    nodes, qw = gauss_legendre_time_nodes(start, end, 3)
    tau = nodes - start
    tdot = t1[None] + 2 * tau[:, None] * t2[None]
    sdot = s1[None] + 2 * tau[:, None] * s2[None]
    value = float(temporal_norm(tdot, sdot, qw))
    # closed form: int_0^T (a + 2 b tau)^2 dtau = a^2 T + 2 a b T^2 + 4 b^2 T^3 / 3
    span = end - start
    wt = temporal_weights(LMAX)
    expected = np.sum(
        wt
        * (
            t1**2 * span
            + 2 * t1 * t2 * span**2
            + 4 * t2**2 * span**3 / 3
            + s1**2 * span
            + 2 * s1 * s2 * span**2
            + 4 * s2**2 * span**3 / 3
        )
    )
    np.testing.assert_allclose(value, expected, rtol=1e-13)
    # and at each node the spatial integral equals 4 pi c^2 times the KE of (tdot, sdot)
    np.testing.assert_allclose(
        np.asarray(jnp.sum(wt * (tdot**2 + sdot**2), axis=-1)),
        4 * np.pi * C**2 * np.asarray(flow_norm(tdot, sdot, "energy")),
        rtol=1e-13,
    )


def test_piecewise_linear_coupling_closed_form():
    epochs = np.array([1900.0, 1901.0, 1903.0, 1906.5])
    coupling = piecewise_linear_temporal_precision(epochs)
    dt = np.diff(epochs)
    expected = np.zeros((4, 4))
    for k, d in enumerate(dt):
        expected[k : k + 2, k : k + 2] += np.array([[1, -1], [-1, 1]]) / d
    np.testing.assert_allclose(coupling, expected, rtol=1e-14)
    # the norm of a flow linear in time between epochs: sum over intervals of
    # |x_{k+1} - x_k|^2 / dt_k, weighted per coefficient
    rng = np.random.default_rng(3)
    x = rng.normal(size=(4, 2))
    direct = sum(np.sum((x[k + 1] - x[k]) ** 2) / dt[k] for k in range(3))
    np.testing.assert_allclose(np.einsum("jk,ji,ki->", coupling, x, x), direct, rtol=1e-13)


def test_bad_inputs():
    with pytest.raises(ValueError, match="unknown flow norm"):
        degree_weights(3, "medium")
    with pytest.raises(CoefficientShapeError):
        degree_weights(0)
    with pytest.raises(CoefficientShapeError, match="differ in shape"):
        flow_norm(np.zeros(8), np.zeros(3))
    with pytest.raises(CoefficientShapeError, match="not L\\(L\\+2\\)"):
        flow_norm(np.zeros(7), np.zeros(7))
    with pytest.raises(ValueError, match="end > start"):
        gauss_legendre_time_nodes(1990.0, 1980.0, 2)
    with pytest.raises(NonFiniteError):
        gauss_legendre_time_nodes(np.nan, 1980.0, 2)
    with pytest.raises(ValueError, match="strictly increasing"):
        piecewise_linear_temporal_precision([1900.0, 1900.0, 1901.0])
    with pytest.raises(CoefficientShapeError):
        temporal_norm(np.zeros((2, 3)), np.zeros((2, 3)), np.ones(3))
