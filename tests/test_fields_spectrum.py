"""Lowes-Mauersberger spectra and dipole moment: published values, pyshtools, quadrature."""

import numpy as np
import pytest
from pyshtools.gravmag import mag_spectrum

import bayescore  # noqa: F401  (float64)
from bayescore.constants import CORE_RADIUS_KM as C
from bayescore.constants import EARTH_REFERENCE_RADIUS_KM as A
from bayescore.constants import MU0
from bayescore.errors import CoefficientShapeError, NonFiniteError
from bayescore.fields import dipole_moment, igrf, lowes_spectrum, synth
from bayescore.sh.indexing import degree_order_arrays


def _to_pyshtools(coeffs, lmax):
    """(2, L+1, L+1) Schmidt array [cos/sin, l, m] of a coefficient vector."""
    degree, order, is_sine = degree_order_arrays(lmax)
    clm = np.zeros((2, lmax + 1, lmax + 1))
    clm[is_sine.astype(int), degree, order] = coeffs
    return clm


def test_igrf_2020_degree_one_power_matches_the_published_value():
    spectrum = np.asarray(igrf().spectrum(2020.0))
    # Published R_1 for IGRF 2020 at the surface: 1.78e9 nT^2 (three significant figures),
    # so the tolerance is the rounding half-width, 0.005e9 nT^2 (we get 1.7766e9)
    assert abs(spectrum[0] - 1.78e9) <= 0.005e9
    # and exactly 2 (g10^2 + g11^2 + h11^2) of the published 2020 coefficients
    g10, g11, h11 = -29403.41, -1451.37, 4653.35
    np.testing.assert_allclose(spectrum[0], 2 * (g10**2 + g11**2 + h11**2), rtol=1e-14)


def test_lowes_spectrum_matches_pyshtools_at_surface_and_cmb():
    coeffs = np.asarray(igrf().coeffs(2020.0))
    clm = _to_pyshtools(coeffs, 13)
    for r in (A, C, 7000.0):
        reference = mag_spectrum(clm, A, r, normalization="schmidt")[1:]
        np.testing.assert_allclose(np.asarray(lowes_spectrum(coeffs, r)), reference, rtol=1e-13)


def test_downward_continuation_to_the_cmb_is_the_exact_factor():
    model = igrf()
    surface = np.asarray(model.spectrum(2020.0))
    cmb = np.asarray(model.spectrum(2020.0, r=C))
    ell = np.arange(1, 14)
    np.testing.assert_allclose(cmb, surface * (A / C) ** (2 * ell + 4), rtol=1e-13)
    for kind in ("sv", "sa"):
        np.testing.assert_allclose(
            np.asarray(model.spectrum(2012.0, r=C, kind=kind)),
            np.asarray(model.spectrum(2012.0, kind=kind)) * (A / C) ** (2 * ell + 4),
            rtol=1e-13,
            atol=0.0,
        )


@pytest.mark.parametrize("r", [A, C])
def test_spectrum_sum_is_the_mean_square_field_on_the_sphere(r):
    # Lowes: sum_l R_l(r) = (1/4 pi) int |B|^2 dOmega at radius r. |B|^2 of a degree-13
    # field has degree 26: 14 Gauss-Legendre latitudes and 32 longitudes integrate it
    # exactly, so only rounding separates the two sides (relative 1e-12).
    coeffs = np.asarray(igrf().coeffs(2020.0))
    x, w = np.polynomial.legendre.leggauss(14)
    nlon = 32
    theta = np.arccos(x)[:, None] * np.ones((1, nlon))
    phi = (2 * np.pi * np.arange(nlon) / nlon)[None, :] * np.ones((14, 1))
    b = np.stack([np.asarray(c) for c in synth(coeffs, r, theta, phi)])
    mean_square = np.sum(np.sum(b**2, axis=0) * w[:, None]) / (2.0 * nlon)
    np.testing.assert_allclose(float(np.sum(lowes_spectrum(coeffs, r))), mean_square, rtol=1e-12)


def test_batch_dimensions_and_sv_units():
    model = igrf()
    times = np.array([1950.0, 2000.0, 2020.0])
    batched = np.asarray(lowes_spectrum(model.sv(times), C))
    assert batched.shape == (3, 13)
    for i, t in enumerate(times):
        np.testing.assert_allclose(
            batched[i], np.asarray(model.spectrum(t, r=C, kind="sv")), rtol=1e-14
        )
    # radii broadcast against the batch dimensions
    radii = np.array([A, C, 5000.0])
    per_radius = np.asarray(lowes_spectrum(model.coeffs(times), radii))
    for i, r in enumerate(radii):
        np.testing.assert_allclose(
            per_radius[i], np.asarray(lowes_spectrum(model.coeffs(times[i]), r)), rtol=1e-14
        )


def test_dipole_moment_of_igrf_2020():
    coeffs = np.asarray(igrf().coeffs(2020.0))
    moment = float(dipole_moment(coeffs))
    expected = 4 * np.pi * (A * 1e3) ** 3 / MU0 * np.linalg.norm(coeffs[:3]) * 1e-9
    np.testing.assert_allclose(moment, expected, rtol=1e-14)
    # published: 7.71e22 A m^2 in 2020 (three significant figures: +-0.005e22)
    assert abs(moment - 7.71e22) <= 0.005e22
    assert dipole_moment(np.stack([coeffs, coeffs])).shape == (2,)


def test_spectrum_input_errors():
    with pytest.raises(CoefficientShapeError):
        lowes_spectrum(np.ones(5))
    with pytest.raises(NonFiniteError):
        lowes_spectrum(np.array([1.0, np.nan, 2.0]))
    with pytest.raises(ValueError, match="positive radius"):
        lowes_spectrum(np.ones(3), 0.0)
    with pytest.raises(CoefficientShapeError):
        dipole_moment(np.ones(4))


def test_degree_correlation_against_a_loop_and_closed_cases():
    """Per-degree cosine, checked against an explicit loop over degrees (independent
    code path) to rounding, and against cases with known answers."""
    from bayescore.fields import degree_correlation
    from bayescore.sh.indexing import degree_order_arrays

    rng = np.random.default_rng(3)
    lmax = 7
    a, b = rng.normal(size=(2, lmax * (lmax + 2)))
    degree = degree_order_arrays(lmax)[0]
    loop = [
        np.dot(a[degree == ell], b[degree == ell])
        / np.linalg.norm(a[degree == ell])
        / np.linalg.norm(b[degree == ell])
        for ell in range(1, lmax + 1)
    ]
    np.testing.assert_allclose(degree_correlation(a, b), loop, rtol=1e-12)
    np.testing.assert_allclose(degree_correlation(a, 3.0 * a), 1.0, rtol=1e-12)
    np.testing.assert_allclose(degree_correlation(a, -a), -1.0, rtol=1e-12)
    zero_degree_two = a.copy()
    zero_degree_two[degree == 2] = 0.0
    assert np.isnan(degree_correlation(zero_degree_two, b)[1])
    # leading dimensions broadcast
    assert degree_correlation(np.stack([a, b]), b).shape == (2, lmax)
    with pytest.raises(CoefficientShapeError, match="degree"):
        degree_correlation(a, b[:15])
