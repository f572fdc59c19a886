"""bayescore.fields.shcoeffs against pyshtools' own synthesis, spectra and Wigner-3j symbols.

pyshtools is an independent implementation (Fortran) of the same Schmidt semi-normalised
harmonics; its ``csphase=1`` means no Condon-Shortley phase, as in ``docs/conventions.md``.
Every check here compares bayescore's numbers with pyshtools' on the same coefficients.
"""

import numpy as np
import pytest

from bayescore.constants import CORE_RADIUS_KM, EARTH_REFERENCE_RADIUS_KM
from bayescore.errors import CoefficientShapeError
from bayescore.fields import (
    cmb_radial_field_grids,
    from_shmagcoeffs,
    igrf,
    lowes_spectrum,
    radial_field_grid,
    synth,
    to_shmagcoeffs,
)
from bayescore.sh.grid import quadrature_grid
from bayescore.sh.indexing import degree_order_arrays, n_coefficients

pyshtools = pytest.importorskip("pyshtools")
Wigner3j = pyshtools.utils.Wigner3j

LMAX = 13


@pytest.fixture(scope="module")
def model():
    return igrf()  # IGRF-14 as shipped by ppigrf


@pytest.fixture(scope="module")
def random_coeffs():
    rng = np.random.default_rng(1)
    degree, _, _ = degree_order_arrays(LMAX)
    return rng.standard_normal(n_coefficients(LMAX)) * 3e4 * 0.3**degree


def test_round_trip_is_exact(random_coeffs):
    clm = to_shmagcoeffs(random_coeffs, name="random", year=2000.0)
    assert (clm.normalization, clm.csphase, clm.units, clm.lmax) == ("schmidt", 1, "nT", LMAX)
    assert clm.r0 == EARTH_REFERENCE_RADIUS_KM * 1e3  # pyshtools: metres
    assert clm.year == 2000.0 and clm.name == "random"
    np.testing.assert_array_equal(from_shmagcoeffs(clm), random_coeffs)
    # the layout itself: g_lm in clm[0, l, m], h_lm in clm[1, l, m], no degree 0
    assert clm.coeffs[0, 1, 0] == random_coeffs[0]
    assert clm.coeffs[0, 1, 1] == random_coeffs[1]
    assert clm.coeffs[1, 1, 1] == random_coeffs[2]
    assert clm.coeffs[0, 2, 2] == random_coeffs[6] and clm.coeffs[1, 2, 2] == random_coeffs[7]
    assert clm.coeffs[0, 0, 0] == 0.0


@pytest.mark.parametrize(("normalization", "csphase"), [("4pi", 1), ("ortho", -1), ("schmidt", -1)])
def test_other_pyshtools_conventions_convert_back(random_coeffs, normalization, csphase):
    converted = to_shmagcoeffs(random_coeffs).convert(normalization=normalization, csphase=csphase)
    np.testing.assert_allclose(from_shmagcoeffs(converted), random_coeffs, rtol=1e-12)


def test_tesla_coefficients_come_back_in_nanotesla(random_coeffs):
    array = to_shmagcoeffs(random_coeffs).coeffs * 1e-9
    clm = pyshtools.SHMagCoeffs.from_array(array, r0=6371.2e3, units="T")
    np.testing.assert_allclose(from_shmagcoeffs(clm), random_coeffs, rtol=1e-14)


def test_reference_radius_change_is_the_upward_continuation_factor(random_coeffs):
    degree, _, _ = degree_order_arrays(LMAX)
    at_cmb = from_shmagcoeffs(to_shmagcoeffs(random_coeffs), radius_km=CORE_RADIUS_KM)
    expected = random_coeffs * (EARTH_REFERENCE_RADIUS_KM / CORE_RADIUS_KM) ** (degree + 2)
    np.testing.assert_allclose(at_cmb, expected, rtol=1e-12)
    # and the field they describe is the same one
    theta, phi = np.array([0.3, 1.2, 2.9]), np.array([0.1, 2.0, 5.5])
    r = np.full(3, 4000.0)
    ours = np.array(synth(random_coeffs, r, theta, phi))
    moved = np.array(synth(at_cmb, r, theta, phi, radius=CORE_RADIUS_KM))
    np.testing.assert_allclose(moved, ours, rtol=1e-10, atol=1e-10 * np.abs(ours).max())


def test_field_at_points_matches_pyshtools_expand(model):
    """All three components at a few points against pyshtools' synthesis.

    Not at the poles themselves: pyshtools' point evaluation stops the interpreter there
    (PlmSchmidt_d1 cannot differentiate at cos(theta) = +-1) and loses digits close to
    them (sin(theta) from sqrt(1 - cos^2)); the grids include the poles.
    """
    g = np.asarray(model.coeffs(2020.0))
    theta = np.array([0.02, 0.4, 1.1, np.pi / 2, 2.5, np.pi - 0.02])
    phi = np.array([0.0, 1.0, 2.5, 3.7, 5.0, 6.0])
    r = np.array([6371.2, 6800.0, 3485.0, 4500.0, 7100.0, 3485.0])
    ours = np.stack([np.asarray(b) for b in synth(g, r, theta, phi)], axis=-1)
    theirs = to_shmagcoeffs(g).expand(colat=theta, lon=phi, r=r * 1e3, degrees=False)
    np.testing.assert_allclose(ours, theirs, rtol=1e-9, atol=1e-9 * np.abs(ours).max())


@pytest.mark.parametrize("epoch", [1900.0, 1980.0, 2020.0, 2027.5])
@pytest.mark.parametrize("r_km", [EARTH_REFERENCE_RADIUS_KM, CORE_RADIUS_KM])
def test_lowes_spectrum_of_igrf14_matches_pyshtools(model, epoch, r_km):
    g = np.asarray(model.coeffs(epoch))
    ours = np.asarray(lowes_spectrum(g, r_km))
    clm = model.to_shmagcoeffs(epoch).change_ref(r0=r_km * 1e3)
    theirs = clm.spectrum(function="total", unit="per_l")  # degrees 0..L, nT^2
    assert theirs[0] == 0.0
    np.testing.assert_allclose(ours, theirs[1:], rtol=1e-10)


def test_model_method_converts_field_and_sv(model):
    clm = model.to_shmagcoeffs(2010.0)
    np.testing.assert_array_equal(from_shmagcoeffs(clm), np.asarray(model.coeffs(2010.0)))
    sv = model.to_shmagcoeffs(2010.0, kind="sv")
    np.testing.assert_array_equal(from_shmagcoeffs(sv), np.asarray(model.sv(2010.0)))
    assert (clm.name, clm.year, clm.r0) == ("IGRF-14", 2010.0, 6371.2e3)


def _synth_on_grid(coeffs, grid, r_km):
    theta = np.deg2rad(90.0 - grid.latitude.values)
    phi = np.deg2rad(grid.longitude.values)
    theta_2d, phi_2d = np.meshgrid(theta, phi, indexing="ij")
    b_r, _, _ = synth(coeffs, np.full(theta_2d.shape, r_km), theta_2d, phi_2d)
    return np.asarray(b_r)


def test_cmb_grids_of_br_and_sv_match_the_package_synthesis(model):
    grids = cmb_radial_field_grids(model, 2015.0)
    assert grids.br.dims == ("latitude", "longitude")
    assert grids.br.attrs["units"] == "nT" and grids.br_sv.attrs["units"] == "nT/yr"
    assert grids.latitude.values[0] == 90.0 and grids.latitude.values[-1] == -90.0
    assert grids.longitude.values[0] == 0.0 and grids.longitude.values[-1] == 360.0
    for name, coeffs in (("br", model.coeffs(2015.0)), ("br_sv", model.sv(2015.0))):
        expected = _synth_on_grid(np.asarray(coeffs), grids[name], CORE_RADIUS_KM)
        scale = np.abs(expected).max()
        np.testing.assert_allclose(grids[name].values, expected, rtol=0, atol=1e-9 * scale)
    # B_r at the CMB is dominated by the axial dipole: about -2 g10 (a/c)^3 * 1.5 at the pole
    assert grids.br.values[0].std() < 1e-9 * np.abs(grids.br.values).max()  # one pole value


def test_finer_grid_and_other_radius(model):
    g = np.asarray(model.coeffs(2000.0))
    grid = radial_field_grid(g, 6371.2, lmax_grid=20)
    assert grid.shape == (2 * 21 + 1, 4 * 21 + 1)
    expected = _synth_on_grid(g, grid, 6371.2)
    np.testing.assert_allclose(grid.values, expected, rtol=0, atol=1e-9 * np.abs(expected).max())


def test_bad_inputs():
    with pytest.raises(CoefficientShapeError):
        to_shmagcoeffs(np.ones(7))
    with pytest.raises(CoefficientShapeError):
        to_shmagcoeffs(np.ones((2, 3)))
    with pytest.raises(ValueError, match="lmax_grid"):
        radial_field_grid(np.ones(8), lmax_grid=1)
    with pytest.raises(ValueError, match="positive"):
        radial_field_grid(np.ones(3), r_km=0.0)


# ------------------------------------------------- Gaunt integrals from Wigner-3j symbols
def _wigner3j(l1, l2, l3, m1, m2, m3):
    """(l1 l2 l3; m1 m2 m3): pyshtools returns the symbols for all l1 at once."""
    values, jmin, jmax = Wigner3j(l2, l3, m1, m2, m3)
    if not jmin <= l1 <= jmax:
        return 0.0
    return float(values[l1 - jmin])


def _gaunt_closed_form(l1, l2, l3, m):
    """int P_l1 C_l2m C_l3m dOmega for real Schmidt harmonics C_lm = P_l^m cos(m phi).

    From the complex Gaunt coefficient (orthonormal harmonics with the Condon-Shortley
    phase) and P_l^m(Schmidt) e^{i m phi} = (-1)^m sqrt(8 pi/(2l+1)) Y_lm for m > 0:
    4 pi (-1)^m (l1 l2 l3; 0 0 0)(l1 l2 l3; 0 m -m), which for m = 0 is the classical
    4 pi (l1 l2 l3; 0 0 0)^2. The same holds with sin(m phi) in place of cos(m phi).
    """
    return 4 * np.pi * (-1) ** m * _wigner3j(l1, l2, l3, 0, 0, 0) * _wigner3j(l1, l2, l3, 0, m, -m)


#: Largest degree in the Gaunt cases; one grid integrates all their products exactly.
GAUNT_LMAX = 9


def _gaunt_by_quadrature(l1, l2, l3, m, trig):
    """The same integral on bayescore's Gauss-Legendre grid (exact for this degree)."""
    grid = quadrature_grid(3 * GAUNT_LMAX, GAUNT_LMAX)
    # the theta part is a polynomial of degree l1 + l2 + l3 in cos(theta) (Gauss rule exact
    # to 2 nlat - 1); the phi part trig(m phi)^2 needs more than 2m equispaced longitudes
    assert 2 * grid.nlat - 1 >= l1 + l2 + l3 and grid.nlon > 2 * m
    legendre = grid.legendre  # [i, l, m], Schmidt semi-normalised, no Condon-Shortley phase
    theta_part = legendre[:, l1, 0] * legendre[:, l2, m] * legendre[:, l3, m]
    phi_part = trig(m * grid.longitude) ** 2
    return 2 * np.pi * np.mean(phi_part) * np.sum(grid.weights * theta_part)


@pytest.mark.parametrize(
    ("l1", "l2", "l3", "m"),
    [(0, 3, 3, 2), (1, 1, 2, 0), (1, 1, 2, 1), (2, 3, 3, 1), (2, 4, 2, 2), (3, 5, 4, 3),
     (4, 6, 8, 5), (6, 7, 9, 7), (5, 5, 6, 0), (3, 2, 4, 1), (1, 2, 2, 2), (2, 5, 6, 4)],
)  # fmt: skip
def test_gaunt_integral_of_schmidt_harmonics_from_wigner_3j(l1, l2, l3, m):
    expected = _gaunt_closed_form(l1, l2, l3, m)
    assert _gaunt_by_quadrature(l1, l2, l3, m, np.cos) == pytest.approx(expected, abs=1e-12)
    if m > 0:
        assert _gaunt_by_quadrature(l1, l2, l3, m, np.sin) == pytest.approx(expected, abs=1e-12)


def test_gaunt_selection_rules_and_normalisation():
    # odd l1 + l2 + l3 or a broken triangle: zero by (l1 l2 l3; 0 0 0)
    assert _gaunt_closed_form(1, 2, 2, 1) == 0.0
    assert _gaunt_closed_form(1, 2, 5, 0) == 0.0
    # with P_0 = 1 it is the Schmidt norm int C_lm^2 dOmega = 4 pi / (2l + 1)
    for ell, m in [(1, 0), (3, 2), (7, 7)]:
        assert _gaunt_closed_form(0, ell, ell, m) == pytest.approx(4 * np.pi / (2 * ell + 1))
