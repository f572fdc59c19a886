"""Schmidt semi-normalised Legendre functions at high degree, including near the poles.

References:

* an mpmath evaluation (40 significant digits) of the explicit polynomial form
  ``P_l^m(cos t) = N_lm sin^m(t) sum_k c_lmk cos^(l-2k-m)(t)`` from the Rodrigues formula,
  with its theta-derivative and ``P/sin`` taken analytically from the same polynomial.
  (``mpmath.legenp`` itself fails to converge within ~1e-6 of the pole at degree 60, so
  the explicit sum is used.) It shares nothing with the implementation's recursion.
* ``pyshtools.legendre.PlmSchmidt_d1`` away from the poles only: it works in
  ``z = cos(theta)``, which cannot resolve theta within 1e-6 of a pole, and returns
  ``dP/dz`` (``dP/dtheta = -sin(theta) dP/dz``).

Tolerance: errors are measured relative to the largest magnitude of the degree's functions
(floor 1), plus element-wise relative errors for the non-underflowed values at the pole
points. The degree recursion accumulates a few rounding errors of float64 (2.2e-16) per
step, amplified by recursion coefficients of order 2, over 60 steps: ~1e-13 expected
(observed <= 7e-14). 1e-12 leaves a margin while any formula or normalisation error would
be O(1).
"""

from functools import lru_cache

import jax
import mpmath
import numpy as np
import pyshtools
import pytest

import bayescore  # noqa: F401  (float64)
from bayescore.sh.legendre import schmidt_legendre, schmidt_legendre_at_coefficients

LMAX = 60
TOL = 1e-12
# degrees checked against mpmath (every order of each); 60 is the top of the recursion
MP_DEGREES = (0, 1, 2, 3, 10, 31, 59, 60)


@lru_cache(maxsize=1)
def _mp_terms():
    """Coefficients of the explicit polynomial form, per (l, m), in mpmath (theta-free)."""
    mpmath.mp.dps = 40
    terms = {}
    for ell in MP_DEGREES:
        for m in range(ell + 1):
            norm = mpmath.sqrt(
                (1 if m == 0 else 2) * mpmath.factorial(ell - m) / mpmath.factorial(ell + m)
            )
            powers = []
            for k in range((ell - m) // 2 + 1):
                j = ell - 2 * k
                coef = (
                    (-1) ** k
                    * mpmath.binomial(ell, k)
                    * mpmath.binomial(2 * ell - 2 * k, ell)
                    / mpmath.mpf(2) ** ell
                    * mpmath.factorial(j)
                    / mpmath.factorial(j - m)
                )
                powers.append((j - m, norm * coef))
            terms[ell, m] = powers
    return terms


def _mp_reference(theta: float):
    """P, dP/dtheta, P/sin(theta) at degrees MP_DEGREES, from the explicit polynomial."""
    mpmath.mp.dps = 40
    th = mpmath.mpf(theta)  # the float64 theta, exactly
    c, s = mpmath.cos(th), mpmath.sin(th)
    out = {name: np.zeros((LMAX + 1, LMAX + 1)) for name in ("P", "dP", "Ps")}
    for (ell, m), powers in _mp_terms().items():
        q = sum((coef * c**p for p, coef in powers), mpmath.mpf(0))
        dq = sum((coef * p * c ** (p - 1) for p, coef in powers if p > 0), mpmath.mpf(0))
        out["P"][ell, m] = s**m * q
        sin_m_minus_1 = s ** (m - 1) if m > 0 else mpmath.mpf(0)
        out["dP"][ell, m] = (m * sin_m_minus_1 * c * q if m else 0) - s ** (m + 1) * dq
        out["Ps"][ell, m] = sin_m_minus_1 * q
    return out


def _scaled_error(ours, reference, degrees):
    ours, reference = ours[list(degrees)], reference[list(degrees)]
    scale = np.maximum(np.abs(reference).max(axis=1, keepdims=True), 1.0)
    return float(np.max(np.abs(ours - reference) / scale))


@pytest.mark.parametrize(
    "theta", [0.0, 1e-7, 5e-7, 1e-6, np.pi - 3e-7, np.pi - 1e-6, np.pi], ids=lambda t: f"{t:.7g}"
)
def test_degree_60_near_the_poles_matches_mpmath(theta):
    P, dP, Ps = (np.asarray(a) for a in schmidt_legendre(LMAX, theta))
    for values in (P, dP, Ps):
        assert np.all(np.isfinite(values))
    ref = _mp_reference(theta)
    for ours, name in ((P, "P"), (dP, "dP"), (Ps, "Ps")):
        assert _scaled_error(ours, ref[name], MP_DEGREES) < TOL, name
        # element-wise relative error where the value has not underflowed: near the pole
        # the functions are monotone in theta (no zero crossings), so this is meaningful
        r = ref[name][list(MP_DEGREES)]
        o = ours[list(MP_DEGREES)]
        significant = np.abs(r) > 1e-250
        rel = np.abs(o - r)[significant] / np.abs(r)[significant]
        assert rel.max() < TOL, name


def test_pole_limits_are_exact():
    # at theta = 0: P_l^0 = 1, P_l^m = 0 (m > 0); dP_l^1/dtheta = P_l^1/sin = sqrt(l(l+1)/2)
    P, dP, Ps = (np.asarray(a) for a in schmidt_legendre(LMAX, 0.0))
    ell = np.arange(LMAX + 1)
    np.testing.assert_allclose(P[:, 0], 1.0, rtol=TOL)
    assert np.all(P[:, 1:] == 0.0)
    np.testing.assert_allclose(dP[1:, 1], np.sqrt(ell[1:] * (ell[1:] + 1) / 2.0), rtol=TOL)
    np.testing.assert_allclose(Ps[1:, 1], np.sqrt(ell[1:] * (ell[1:] + 1) / 2.0), rtol=TOL)


def test_matches_pyshtools_away_from_the_poles():
    rng = np.random.default_rng(1)
    # pyshtools works in z = cos(theta): keep |z| <= 0.999 (theta >= 0.045 rad from a pole)
    thetas = np.arccos(rng.uniform(-0.999, 0.999, size=40))
    P, dP, Ps = (np.asarray(a) for a in schmidt_legendre(LMAX, thetas))
    ell, m = np.meshgrid(np.arange(LMAX + 1), np.arange(LMAX + 1), indexing="ij")
    lower = m <= ell
    index = np.where(lower, ell * (ell + 1) // 2 + m, 0)
    for i, theta in enumerate(thetas):
        p, dp_dz = pyshtools.legendre.PlmSchmidt_d1(LMAX, np.cos(theta))
        ref_P = np.where(lower, p[index], 0.0)
        ref_dP = np.where(lower, -np.sin(theta) * dp_dz[index], 0.0)
        ref_Ps = np.where(lower & (m > 0), p[index] / np.sin(theta), 0.0)
        degrees = range(LMAX + 1)
        assert _scaled_error(P[i], ref_P, degrees) < TOL
        assert _scaled_error(dP[i], ref_dP, degrees) < TOL
        assert _scaled_error(Ps[i], ref_Ps, degrees) < TOL


def test_gather_in_coefficient_order_and_jit():
    theta = np.array([0.2, 1.3, 2.9])
    P, dP, Ps = schmidt_legendre(3, theta)
    gathered = jax.jit(schmidt_legendre_at_coefficients, static_argnums=0)(3, theta)
    # g10, g11, h11, g20, g21, h21, g22, h22: (l, m) = (1,0), (1,1), (1,1), (2,0), ...
    expected_lm = [(1, 0), (1, 1), (1, 1), (2, 0), (2, 1), (2, 1), (2, 2), (2, 2)]
    for ours, full in zip(gathered, (P, dP, Ps), strict=True):
        assert ours.shape == (3, 15)
        for n, (ell, m) in enumerate(expected_lm):
            np.testing.assert_array_equal(np.asarray(ours[:, n]), np.asarray(full[:, ell, m]))


def test_derivative_is_the_autodiff_derivative():
    # dP/dtheta returned by the routine equals the autodiff theta-derivative of P
    theta = 0.7
    dP_auto = jax.jacfwd(lambda t: schmidt_legendre(8, t, derivatives=False))(theta)
    _, dP, _ = schmidt_legendre(8, theta)
    np.testing.assert_allclose(np.asarray(dP_auto), np.asarray(dP), rtol=1e-11, atol=1e-12)
