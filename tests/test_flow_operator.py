"""Tests of the frozen-flux SV operator against independent truth.

Tolerances: the operator is exact up to rounding (Gauss-Legendre quadrature of
band-limited products), so comparisons are at 1e-12 relative to the scale of the
quantity compared (sums of a few thousand float64 terms lose at most ~1e-13).
"""

from functools import cache

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from pyshtools.utils import Wigner3j
from scipy.special import roots_legendre

import bayescore  # noqa: F401  (float64)
from bayescore.constants import CORE_RADIUS_KM, EARTH_REFERENCE_RADIUS_KM
from bayescore.errors import CoefficientShapeError, NonFiniteError
from bayescore.flow.operator import (
    FrozenFluxMatrix,
    cmb_sv_on_grid,
    field_matrix,
    frozen_flux_matrix,
    operator_grid,
    sv_from_flow,
)
from bayescore.flow.velocity import Flow
from bayescore.sh.grid import GaussLegendreGrid
from bayescore.sh.indexing import degree_order_arrays
from bayescore.sh.legendre import schmidt_legendre_at_coefficients

_legendre_at_coefficients = jax.jit(schmidt_legendre_at_coefficients, static_argnums=0)

A, C = EARTH_REFERENCE_RADIUS_KM, CORE_RADIUS_KM
RTOL = 1e-12
LB, LF = 4, 3  # small degrees keep compilation short; all rules are degree-independent


def _random(lmax, seed, scale=1.0):
    return scale * np.random.default_rng(seed).normal(size=lmax * (lmax + 2))


def _field(lmax=LB, seed=0):
    # a roughly geomagnetic spectrum at a: large dipole, decaying higher degrees (nT)
    degree = degree_order_arrays(lmax)[0]
    return _random(lmax, seed) * 3e4 * 0.3 ** (degree - 1)


def _assert_close(actual, expected, rtol=RTOL):
    actual, expected = np.asarray(actual), np.asarray(expected)
    scale = np.abs(expected).max()
    np.testing.assert_allclose(actual, expected, rtol=0, atol=rtol * scale)


# ---------------------------------------------------------------------- (1) rotation
def test_solid_body_rotation_drifts_field_east():
    """Only t10 = w c: dBr/dt = -w dBr/dphi (the pattern Br(theta, phi - w t) drifts
    east), i.e. gdot_lm = -m w h_lm and hdot_lm = +m w g_lm for every harmonic."""
    w = 0.002  # rad/yr
    g = _field(seed=1)
    flow = Flow.solid_body_rotation(w, lmax=LF)
    gdot = np.asarray(sv_from_flow(g, flow.t, flow.s, lmax_sv=LB + LF))
    degree, order, is_sine = degree_order_arrays(LB)
    expected = np.zeros_like(g)
    cos_pos = np.flatnonzero(~is_sine & (order > 0))  # g_lm, m > 0; h_lm follows it
    expected[cos_pos] = -order[cos_pos] * w * g[cos_pos + 1]
    expected[cos_pos + 1] = order[cos_pos] * w * g[cos_pos]
    n = g.size
    _assert_close(gdot[:n], expected)
    # no SV above L_B: zero up to rounding of the scale w |g|
    np.testing.assert_allclose(gdot[n:], 0.0, atol=RTOL * w * np.abs(g).max())
    # sign check on one pattern: Br ~ cos(phi) (g11 only) moves its maximum east
    g11 = np.zeros(3)
    g11[1] = 1.0
    hdot11 = float(sv_from_flow(g11, flow.t, flow.s, lmax_sv=1)[2])
    assert hdot11 == pytest.approx(w)  # cos(phi) + w dt sin(phi) = cos(phi - w dt)


# ---------------------------------------------------------------------- (2) Gaunt, Elsasser
@cache
def _wigner3j(l1, l2, l3, m1, m2, m3):
    """(l1 l2 l3; m1 m2 m3) from pyshtools.utils.Wigner3j (which returns all j = l1)."""
    if abs(m1) > l1 or abs(m2) > l2 or abs(m3) > l3:
        return 0.0
    values, jmin, jmax = Wigner3j(l2, l3, m1, m2, m3)
    if not jmin <= l1 <= jmax:
        return 0.0
    return float(values[l1 - jmin])


def _complex_gaunt(l1, m1, l2, m2, l3, m3):
    """int Y_l1^m1 Y_l2^m2 Y_l3^m3 dOmega for orthonormal complex harmonics (with the
    Condon-Shortley phase): sqrt((2l1+1)(2l2+1)(2l3+1)/4pi) (l1 l2 l3;0 0 0)(l1 l2 l3;m1 m2 m3)."""
    if m1 + m2 + m3 != 0:
        return 0.0
    norm = np.sqrt((2 * l1 + 1) * (2 * l2 + 1) * (2 * l3 + 1) / (4 * np.pi))
    return norm * _wigner3j(l1, l2, l3, 0, 0, 0) * _wigner3j(l1, l2, l3, m1, m2, m3)


def _real_to_complex(ell, m, sine):
    """Real Schmidt harmonic (no Condon-Shortley phase) as sum of coef * Y_l^mu.

    P_l^m(Schmidt) e^{i m phi} = (-1)^m sqrt(4 pi k_m / (2l+1)) Y_l^m (k_0 = 1, k_m = 2)
    and conj(Y_l^m) = (-1)^m Y_l^-m, so with p = (-1)^m sqrt(8 pi / (2l+1)):
    Y^c = p/2 [Y^m + (-1)^m Y^-m],  Y^s = p/(2i) [Y^m - (-1)^m Y^-m],
    Y^c_l0 = sqrt(4 pi / (2l+1)) Y_l^0.
    """
    if m == 0:
        return [(np.sqrt(4 * np.pi / (2 * ell + 1)), 0)]
    p = (-1) ** m * np.sqrt(8 * np.pi / (2 * ell + 1))
    sign = (-1) ** m
    if sine:
        return [(p / 2j, m), (-sign * p / 2j, -m)]
    return [(p / 2, m), (sign * p / 2, -m)]


def _real_gaunt(h1, h2, h3):
    """int Y1 Y2 Y3 dOmega of three real Schmidt harmonics h = (l, m, is_sine)."""
    total = 0j  # complex in every case, so that the check below always runs
    for a1, mu1 in _real_to_complex(*h1):
        for a2, mu2 in _real_to_complex(*h2):
            for a3, mu3 in _real_to_complex(*h3):
                if mu1 + mu2 + mu3 == 0:
                    total += a1 * a2 * a3 * _complex_gaunt(h1[0], mu1, h2[0], mu2, h3[0], mu3)
    # the integral of three real functions is real: the imaginary parts of the complex
    # expansion cancel to rounding
    assert abs(total.imag) < 1e-13, f"imaginary part {total.imag!r} for {h1}, {h2}, {h3}"
    return float(np.real(total))


def test_real_gaunt_closed_form_normalisation():
    # sanity of the closed form itself: int Y_lm^2 = 4 pi/(2l+1) (with Y_00 = 1)
    for h in [(1, 0, False), (2, 1, True), (3, 2, False), (3, 3, True)]:
        assert _real_gaunt((0, 0, False), h, h) == pytest.approx(4 * np.pi / (2 * h[0] + 1))
    # int Y10 Y10 Y20 = 2 pi int x^2 (3x^2-1)/2 dx = 8 pi / 15
    assert _real_gaunt((1, 0, False), (1, 0, False), (2, 0, False)) == pytest.approx(8 * np.pi / 15)


def test_poloidal_matrix_equals_gaunt_closed_form():
    """G(g) against the closed form through Gaunt integrals.

    With u = grad_1 S (S = Y_j), dBr/dt = -(1/c) div_1(Br grad_1 Y_j). Projecting on Y_k
    and integrating by parts on the closed sphere,

        int Y_k dBr/dt dOmega = (1/c) int Br grad_1 Y_k . grad_1 Y_j dOmega,

    and since grad Y_k . grad Y_j = [lap(Y_k Y_j) + (L_k + L_j) Y_k Y_j] / 2 with
    L = l(l+1) and int Y_i lap(Y_k Y_j) = -L_i int Y_i Y_j Y_k,

        int Y_i grad Y_k . grad Y_j dOmega = (L_j + L_k - L_i)/2 * Gaunt(i, j, k),

    where Gaunt(i, j, k) = int Y_i Y_j Y_k dOmega for real Schmidt harmonics (computed
    from 3j symbols via the real <-> complex transformation, see _real_to_complex). With
    Br = sum_i f_i g_i Y_i, f_i = (l_i+1)(a/c)^(l_i+2), and the SV coefficient at a
    gdot_k = (c/a)^(l_k+2)/(l_k+1) * (2l_k+1)/(4 pi) int Y_k dBr/dt dOmega:

        G[k, j] = sum_i g_i f_i (c/a)^(l_k+2)/(l_k+1) (2l_k+1)/(4 pi c)
                  (L_j + L_k - L_i)/2 Gaunt(i, j, k).
    """
    lb, lf = 3, 2
    lsv = lb + lf
    g = _field(lb, seed=2)
    G = np.asarray(frozen_flux_matrix(g, lf).G)

    def harmonics(lmax):
        d, o, s = degree_order_arrays(lmax)
        return list(zip(d.tolist(), o.tolist(), s.tolist(), strict=True))

    expected = np.zeros((lsv * (lsv + 2), lf * (lf + 2)))
    for k, hk in enumerate(harmonics(lsv)):
        lk = hk[0]
        row_scale = (C / A) ** (lk + 2) / (lk + 1) * (2 * lk + 1) / (4 * np.pi * C)
        for j, hj in enumerate(harmonics(lf)):
            for i, hi in enumerate(harmonics(lb)):
                li, lj = hi[0], hj[0]
                if not abs(li - lj) <= lk <= li + lj:
                    continue
                f_i = (li + 1) * (A / C) ** (li + 2)
                weight = (lj * (lj + 1) + lk * (lk + 1) - li * (li + 1)) / 2
                expected[k, j] += g[i] * f_i * row_scale * weight * _real_gaunt(hi, hj, hk)
    _assert_close(G, expected)
    assert np.abs(expected).max() > 0


def _fine_grid_basis(lmax, nlat=40, nlon=96):
    """Y, dY/dtheta, (1/sin) dY/dphi on a fine Gauss grid (scipy nodes, explicit trig)."""
    x, w = roots_legendre(nlat)
    theta, phi = np.meshgrid(np.arccos(x), 2 * np.pi * np.arange(nlon) / nlon, indexing="ij")
    _, order, is_sine = degree_order_arrays(lmax)
    P, dP, Ps = (np.asarray(a) for a in _legendre_at_coefficients(lmax, theta))
    mp = phi[..., None] * order
    trig = np.where(is_sine, np.sin(mp), np.cos(mp))
    dtrig = order * np.where(is_sine, np.cos(mp), -np.sin(mp))
    area = w[:, None] * np.full(phi.shape, 2 * np.pi / nlon)
    flat = (-1, lmax * (lmax + 2))
    return (
        (P * trig).reshape(flat),
        (dP * trig).reshape(flat),
        (Ps * dtrig).reshape(flat),
        area.ravel(),
    )


def test_toroidal_matrix_equals_fine_grid_elsasser_integrals():
    """E(g) against brute-force quadrature of the Elsasser integrals on a fine grid.

    With u = (1/sin dT/dphi, -dT/dtheta), T = Y_j, dBr/dt = -(1/c) u . grad_1 Br, so

        E[k, j] = (c/a)^(l_k+2)/(l_k+1) (2l_k+1)/(4 pi) * (-1/c)
                  int Y_k [(1/sin) dY_j/dphi dBr/dtheta - dY_j/dtheta (1/sin) dBr/dphi],

    the Elsasser integrals int Y_k r.(grad Y_i x grad Y_j) weighted by Br's coefficients.
    The integrand is band-limited (degree <= L_B + L_F + L_SV = 12), so a 40 x 96 Gauss
    grid (exact to degree 79) evaluates it exactly, independently of the operator's
    grid code (explicit harmonics from bayescore.sh.legendre and numpy trig).
    """
    lb, lf = 3, 2
    lsv = lb + lf
    g = _field(lb, seed=3)
    E = np.asarray(frozen_flux_matrix(g, lf).E)
    Y, Y_theta, Y_phi, area = _fine_grid_basis(lsv)
    nb, nf = lb * (lb + 2), lf * (lf + 2)
    degree = degree_order_arrays(lsv)[0]
    f = (degree[:nb] + 1) * (A / C) ** (degree[:nb] + 2)
    br_theta, br_phi = Y_theta[:, :nb] @ (f * g), Y_phi[:, :nb] @ (f * g)
    integrand = Y_phi[:, :nf] * br_theta[:, None] - Y_theta[:, :nf] * br_phi[:, None]
    projection = Y.T @ (integrand * area[:, None])  # (n_sv, n_flow)
    scale = (C / A) ** (degree + 2) / (degree + 1) * (2 * degree + 1) / (4 * np.pi)
    expected = -scale[:, None] * projection / C
    _assert_close(E, expected)


# ---------------------------------------------------------------------- (3) zonal/axisymmetric
def test_zonal_toroidal_flow_on_axisymmetric_field_gives_no_sv():
    degree, order, _ = degree_order_arrays(LB)
    g = np.where(order == 0, _field(seed=4), 0.0)
    t = np.where(degree_order_arrays(LF)[1] == 0, _random(LF, 5, 10.0), 0.0)
    gdot = np.asarray(sv_from_flow(g, t, np.zeros_like(t)))
    # scale: the SV the same flow would produce with a non-axisymmetric field
    scale = np.abs(np.asarray(sv_from_flow(_field(seed=4), t, np.zeros_like(t)))).max()
    np.testing.assert_allclose(gdot, 0.0, atol=RTOL * scale)


# ---------------------------------------------------------------------- (4) grid refinement
def test_refined_grid_gives_same_result():
    g, t, s = _field(seed=6), _random(LF, 7, 10.0), _random(LF, 8, 10.0)
    default = sv_from_flow(g, t, s)
    base = operator_grid(LB, LF)
    fine = GaussLegendreGrid(LB + LF + 4, nlat=base.nlat + 7, nlon=base.nlon + 13)
    _assert_close(sv_from_flow(g, t, s, grid=fine), default)
    _assert_close(frozen_flux_matrix(g, LF, grid=fine).matrix, frozen_flux_matrix(g, LF).matrix)


# ---------------------------------------------------------------------- (5) invariants
def test_toroidal_flow_conserves_cmb_integral_of_br_squared():
    """d/dt int Br^2 dS = 2 int Br dBr/dt dS = -2 int Br u.grad Br / c = -(1/c) int
    u.grad Br^2 = 0 for div u = 0. In coefficients at a (all degrees up to L_B + L_F):
    sum_l (l+1)^2 (a/c)^(2l+4) / (2l+1) sum_m g_lm gdot_lm = 0."""
    g, t = _field(seed=9), _random(LF, 10, 10.0)
    gdot = np.asarray(sv_from_flow(g, t, np.zeros_like(t)))
    degree = degree_order_arrays(LB + LF)[0]
    g_full = np.zeros(gdot.size)
    g_full[: g.size] = g
    terms = (degree + 1) ** 2 * (A / C) ** (2 * degree + 4) / (2 * degree + 1) * g_full * gdot
    assert abs(terms.sum()) < RTOL * np.abs(terms).sum()
    assert np.abs(terms).sum() > 0
    # a poloidal flow does change it (the identity is not trivially satisfied)
    gdot_s = np.asarray(sv_from_flow(g, np.zeros_like(t), t))
    terms_s = (degree + 1) ** 2 * (A / C) ** (2 * degree + 4) / (2 * degree + 1) * g_full * gdot_s
    assert abs(terms_s.sum()) > 1e-3 * np.abs(terms_s).sum()


def test_any_flow_gives_no_degree_zero_sv():
    # int dBr/dt dOmega = -(1/c) int div_1(u Br) = 0, computed by quadrature on the grid
    g, t, s = _field(seed=11), _random(LF, 12, 10.0), _random(LF, 13, 10.0)
    values, grid = cmb_sv_on_grid(g, t, s)
    assert values.shape == (grid.nlat, grid.nlon)
    mean = float(grid.integrate(values)) / (4 * np.pi)
    assert abs(mean) < RTOL * float(grid.integrate(jnp.abs(values))) / (4 * np.pi)
    # the gridded values are those whose projection sv_from_flow returns
    degree = degree_order_arrays(LB + LF)[0]
    to_a = (C / A) ** (degree + 2) / (degree + 1)
    _assert_close(grid.analysis(values, LB + LF) * to_a, sv_from_flow(g, t, s))


# ---------------------------------------------------------------------- (6) bilinearity
def test_bilinearity_and_jacobians():
    g, t, s = _field(seed=14), _random(LF, 15, 10.0), _random(LF, 16, 10.0)
    gdot = sv_from_flow(g, t, s)
    M = frozen_flux_matrix(g, LF)
    assert isinstance(M, FrozenFluxMatrix) and M.matrix.shape == (gdot.size, 2 * t.size)
    Au = field_matrix((t, s), LB)
    assert Au.shape == (gdot.size, g.size)
    _assert_close(M.E @ t + M.G @ s, gdot)
    _assert_close(M.apply(t, s), gdot)
    _assert_close(Au @ g, gdot)
    _assert_close(field_matrix(np.concatenate([t, s]), LB), Au, rtol=0)
    _assert_close(field_matrix(Flow(t, s), LB), Au, rtol=0)
    # the matrices (Fourier-shift assembly) against autodiff of the grid path
    jac_t, jac_s = jax.jacfwd(sv_from_flow, argnums=(1, 2))(g, t, s)
    _assert_close(M.matrix, np.hstack([jac_t, jac_s]))
    _assert_close(Au, jax.jacfwd(sv_from_flow, argnums=0)(g, t, s))


def test_lower_sv_degree_is_a_truncation():
    g, t, s = _field(seed=17), _random(LF, 18, 10.0), _random(LF, 19, 10.0)
    full = sv_from_flow(g, t, s)
    for lsv in (2, LB + LF + 2):
        n = lsv * (lsv + 2)
        part = sv_from_flow(g, t, s, lmax_sv=lsv)
        assert part.shape == (n,)
        m = min(n, full.size)
        _assert_close(part[:m], full[:m])
        np.testing.assert_allclose(part[m:], 0.0, atol=RTOL * np.abs(full).max())
        _assert_close(frozen_flux_matrix(g, LF, lsv).apply(t, s), part)
        _assert_close(field_matrix((t, s), LB, lsv) @ g, part)


# ---------------------------------------------------------------------- batching, autodiff
def test_batches_vmap_and_jit():
    gs = np.stack([_field(seed=k) for k in range(3)])
    ts = np.stack([_random(LF, 20 + k, 10.0) for k in range(3)])
    s = _random(LF, 30, 10.0)
    loop = np.stack([sv_from_flow(gs[k], ts[k], s) for k in range(3)])
    _assert_close(jax.vmap(lambda g, t: sv_from_flow(g, t, s))(gs, ts), loop)
    _assert_close(sv_from_flow(gs, ts, s), loop)  # leading batch dimensions broadcast
    _assert_close(jax.jit(sv_from_flow)(gs, ts, s), loop)
    mats = jax.vmap(lambda g: frozen_flux_matrix(g, LF))(gs)
    assert mats.matrix.shape[0] == 3 and mats.lmax_flow == LF
    _assert_close(mats.matrix[1], frozen_flux_matrix(gs[1], LF).matrix)
    _assert_close(frozen_flux_matrix(gs, LF).matrix, mats.matrix)
    _assert_close(field_matrix((ts, np.broadcast_to(s, ts.shape)), LB)[2] @ gs[2], loop[2])


def test_gradient_of_misfit():
    # d/dg 0.5 |gdot - d|^2 = A_u^T (gdot - d), d/ds = G^T (gdot - d)
    g, t, s = _field(seed=31), _random(LF, 32, 10.0), _random(LF, 33, 10.0)
    data = _random(LB + LF, 34)

    def misfit(g, t, s):
        return 0.5 * jnp.sum((sv_from_flow(g, t, s) - data) ** 2)

    residual = np.asarray(sv_from_flow(g, t, s)) - data
    grad_g, _, grad_s = jax.grad(misfit, argnums=(0, 1, 2))(g, t, s)
    _assert_close(grad_g, field_matrix((t, s), LB).T @ residual)
    _assert_close(grad_s, frozen_flux_matrix(g, LF).G.T @ residual)


# ---------------------------------------------------------------------- bad input
def test_bad_input():
    g, t = _field(seed=0), _random(LF, 1)
    with pytest.raises(CoefficientShapeError, match="toroidal t has 15 coefficients"):
        sv_from_flow(g, t, np.zeros(8))
    with pytest.raises(CoefficientShapeError, match="Gauss coefficient vector g has 5"):
        sv_from_flow(np.zeros(5), t, t)
    with pytest.raises(NonFiniteError, match="Gauss coefficient vector g"):
        sv_from_flow(np.full(g.size, np.nan), t, t)
    with pytest.raises(NonFiniteError, match="flow coefficients t"):
        sv_from_flow(g, np.full(t.size, np.inf), t)
    with pytest.raises(CoefficientShapeError, match="lmax_sv must be an integer >= 1"):
        sv_from_flow(g, t, t, lmax_sv=0)
    with pytest.raises(CoefficientShapeError, match="lmax_flow must be an integer >= 1"):
        frozen_flux_matrix(g, 2.5)
    with pytest.raises(ValueError, match="too coarse"):
        sv_from_flow(g, t, t, grid=GaussLegendreGrid(LB + LF, nlat=5))
    with pytest.raises(TypeError, match="GaussLegendreGrid"):
        sv_from_flow(g, t, t, grid=(10, 20))
    with pytest.raises(CoefficientShapeError, match="the pair \\(t, s\\)"):
        field_matrix((t, t, t), LB)
    with pytest.raises(CoefficientShapeError, match="even length"):
        field_matrix(np.zeros(15), LB)
    with pytest.raises(NonFiniteError):
        field_matrix((t, np.full(t.size, np.nan)), LB)


# ---------------------------------------------------------------------- realistic field
def test_gufm1_field_identities(shared_data):
    """With the gufm1 field of 1980 (L_B = 14, dipole ~3e4 nT, degree 14 ~0.1 nT):
    a solid-body rotation drifts every harmonic exactly, and a random toroidal flow
    (L_F = 4, ~10 km/yr) conserves the CMB integral of Br^2, to rounding."""
    from bayescore.fields import load_gufm1

    g = np.asarray(load_gufm1().coeffs(1980.0))
    lb, lf = 14, 4
    assert g.size == lb * (lb + 2)
    w = 0.2 * np.pi / 180  # westward drift of 0.2 degree/yr: angular rate -w (rad/yr)
    flow = Flow.solid_body_rotation(-w, lmax=lf)
    gdot = np.asarray(sv_from_flow(g, flow.t, flow.s, lmax_sv=lb))
    _, order, is_sine = degree_order_arrays(lb)
    cos_pos = np.flatnonzero(~is_sine & (order > 0))
    expected = np.zeros_like(g)
    expected[cos_pos] = order[cos_pos] * w * g[cos_pos + 1]
    expected[cos_pos + 1] = -order[cos_pos] * w * g[cos_pos]
    _assert_close(gdot, expected)
    t = _random(lf, 40, 10.0)
    gdot = np.asarray(sv_from_flow(g, t, np.zeros_like(t)))
    degree = degree_order_arrays(lb + lf)[0]
    g_full = np.zeros(gdot.size)
    g_full[: g.size] = g
    terms = (degree + 1) ** 2 * (A / C) ** (2 * degree + 4) / (2 * degree + 1) * g_full * gdot
    assert abs(terms.sum()) < RTOL * np.abs(terms).sum()
