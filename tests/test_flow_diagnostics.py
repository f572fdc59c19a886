"""Flow diagnostics on analytic flows and against direct evaluation of the velocity field."""

from __future__ import annotations

import numpy as np
import pytest
import xarray as xr

from bayescore.constants import CORE_RADIUS_KM as C
from bayescore.errors import CoefficientShapeError, NonFiniteError
from bayescore.flow.diagnostics import (
    LOD_FACTOR_MS,
    flow_statistics,
    hemispheric_drift,
    kinetic_energy_spectrum,
    sector_drift,
    summarise,
)
from bayescore.flow.velocity import velocity
from bayescore.sh.indexing import degree_order_arrays

LMAX = 7
N = LMAX * (LMAX + 2)
DEGREE, ORDER, _ = degree_order_arrays(LMAX)


def _random_flow(seed=0):
    rng = np.random.default_rng(seed)
    return rng.normal(size=N), rng.normal(size=N)


def _sphere_mean(values_fn, nlat=LMAX + 2, nlon=2 * LMAX + 4):
    """Mean over the unit sphere of a band-limited function of degree <= 2 LMAX (exact)."""
    x, w = np.polynomial.legendre.leggauss(nlat)
    theta = np.arccos(x)[:, None]
    phi = 2 * np.pi * np.arange(nlon)[None, :] / nlon
    values = values_fn(theta, phi)
    return np.sum(w[:, None] * values) * (2 * np.pi / nlon) / (4 * np.pi)


def test_solid_body_rotation():
    rate_deg = -0.2  # deg/yr, westward
    t = np.zeros(N)
    t[0] = np.deg2rad(rate_deg) * C  # t10 = w c
    s = np.zeros(N)
    stats = flow_statistics(t, s)
    # rounding only: a single coefficient
    assert float(stats["toroidal_fraction"]) == pytest.approx(1.0, abs=1e-15)
    assert float(stats["zonal_geostrophic_fraction"]) == pytest.approx(1.0, abs=1e-15)
    assert float(stats["geostrophic_fraction"]) == pytest.approx(1.0, abs=1e-15)
    assert float(stats["solid_body_drift"]) == pytest.approx(rate_deg, rel=1e-14)
    # KE of solid-body rotation: mean of (w c sin theta)^2 over the sphere = 2/3 (w c)^2
    assert float(stats["kinetic_energy"]) == pytest.approx(2 / 3 * t[0] ** 2, rel=1e-14)
    # westward rotation of the core -> mantle speeds up -> shorter day: negative dLOD
    assert float(stats["lod_change"]) == pytest.approx(LOD_FACTOR_MS * t[0], rel=1e-14)
    assert float(stats["lod_change"]) < 0


def test_solid_body_drift_matches_velocity_at_equator():
    """u_phi at the equator of t10 alone is w c: the drift is u_phi / c in rad/yr."""
    t = np.zeros(N)
    t[0] = 7.3
    u_theta, u_phi = velocity(t, np.zeros(N), np.pi / 2, 0.3)
    assert float(u_theta) == pytest.approx(0.0, abs=1e-12)
    expected = np.rad2deg(float(u_phi) / C)
    drift = float(flow_statistics(t, np.zeros(N))["solid_body_drift"])
    assert drift == pytest.approx(expected, rel=1e-13)


def test_pure_poloidal_flow():
    _, s = _random_flow(1)
    stats = flow_statistics(np.zeros(N), s)
    assert float(stats["toroidal_fraction"]) == 0.0
    assert float(stats["zonal_geostrophic_fraction"]) == 0.0
    assert float(stats["solid_body_drift"]) == 0.0


def test_kinetic_energy_and_spectrum_against_velocity():
    t, s = _random_flow(2)
    tor, pol = kinetic_energy_spectrum(t, s)
    assert tor.shape == (LMAX,)

    def speed2(theta, phi):
        ut, up = velocity(t, s, theta, phi)
        return np.asarray(ut) ** 2 + np.asarray(up) ** 2

    mean_square = _sphere_mean(speed2)
    # exact quadrature of a degree-2L polynomial: rounding only
    np.testing.assert_allclose(float(np.sum(tor) + np.sum(pol)), mean_square, rtol=1e-12)
    # the toroidal spectrum of one degree is the mean square speed of that degree alone
    only = np.where(DEGREE == 3, t, 0.0)

    def speed2_deg3(theta, phi):
        ut, up = velocity(only, np.zeros(N), theta, phi)
        return np.asarray(ut) ** 2 + np.asarray(up) ** 2

    np.testing.assert_allclose(float(tor[2]), _sphere_mean(speed2_deg3), rtol=1e-12)
    stats = flow_statistics(t, s)
    np.testing.assert_allclose(float(stats["rms_speed"]), np.sqrt(mean_square), rtol=1e-12)
    np.testing.assert_allclose(
        float(stats["toroidal_fraction"]),
        float(np.sum(tor)) / mean_square,
        rtol=1e-12,
    )


def test_geostrophic_fraction_is_the_equatorially_symmetric_energy():
    """Independent truth: mirror the velocity field about the equator and average."""
    t, s = _random_flow(3)

    def symmetric_speed2(theta, phi):
        ut, up = (np.asarray(v) for v in velocity(t, s, theta, phi))
        ut_m, up_m = (np.asarray(v) for v in velocity(t, s, np.pi - theta, phi))
        # equatorial symmetry: u_theta odd, u_phi even under theta -> pi - theta
        return (0.5 * (ut - ut_m)) ** 2 + (0.5 * (up + up_m)) ** 2

    def speed2(theta, phi):
        ut, up = velocity(t, s, theta, phi)
        return np.asarray(ut) ** 2 + np.asarray(up) ** 2

    expected = _sphere_mean(symmetric_speed2) / _sphere_mean(speed2)
    stats = flow_statistics(t, s)
    np.testing.assert_allclose(float(stats["geostrophic_fraction"]), expected, rtol=1e-12)
    assert 0.2 < expected < 0.8  # a random flow has both parts (the test is not vacuous)


def test_zonal_geostrophic_and_lod():
    t = np.zeros(N)
    s = np.zeros(N)
    zonal = {1: 2.0, 3: -1.5, 5: 0.7, 7: 3.0}
    for ell, value in zonal.items():
        t[np.flatnonzero((DEGREE == ell) & (ORDER == 0))[0]] = value
    t[np.flatnonzero((DEGREE == 2) & (ORDER == 0))[0]] = 1.0  # even zonal: not geostrophic
    stats = flow_statistics(t, s)
    expected_lod = 1.232 * (2.0 + 1.776 * -1.5 + 0.080 * 0.7 + 0.002 * 3.0)
    assert float(stats["lod_change"]) == pytest.approx(expected_lod, rel=1e-14)
    w = {ell: ell * (ell + 1) / (2 * ell + 1) for ell in range(1, 8)}
    odd = sum(w[ell] * v**2 for ell, v in zonal.items())
    assert float(stats["zonal_geostrophic_fraction"]) == pytest.approx(
        odd / (odd + w[2]), rel=1e-14
    )


def test_summarise_dataset_and_series():
    t, s = _random_flow(4)
    ds = summarise(t, s)
    assert isinstance(ds, xr.Dataset)
    assert ds["rms_speed"].attrs["units"] == "km/yr"
    assert ds["solid_body_drift"].attrs["units"] == "deg/yr"
    assert ds["toroidal_spectrum"].dims == ("degree",)
    series = summarise(np.stack([t, 2 * t]), np.stack([s, 2 * s]), time=[1980.0, 1981.0])
    assert series["kinetic_energy"].dims == ("time",)
    np.testing.assert_allclose(
        series["kinetic_energy"].values[1], 4 * float(ds["kinetic_energy"]), rtol=1e-14
    )
    np.testing.assert_allclose(
        series["toroidal_fraction"].values[1], float(ds["toroidal_fraction"]), rtol=1e-14
    )


def test_bad_inputs():
    t, s = _random_flow(5)
    with pytest.raises(CoefficientShapeError):
        flow_statistics(t, s[:8])
    with pytest.raises(CoefficientShapeError):
        flow_statistics(t[:7], s[:7])
    bad = t.copy()
    bad[4] = np.nan
    with pytest.raises(NonFiniteError):
        flow_statistics(bad, s)
    with pytest.raises(CoefficientShapeError, match="time"):
        summarise(np.stack([t, t]), np.stack([s, s]), time=[1.0, 2.0, 3.0])


def test_plots_have_labelled_axes_and_units():
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from bayescore.flow.plotting import (
        cmb_radial_map,
        plot_flow_map,
        plot_ke_spectra,
        plot_sv_map,
    )
    from bayescore.flow.velocity import Flow

    t, s = _random_flow(6)
    flow = Flow(t, s, epoch=1980.0)
    g = np.zeros(8)
    g[0] = -30000.0  # axial dipole: B_r at the CMB = 2 (a/c)^3 g10 cos(theta)
    lat, lon, radial = cmb_radial_map(g, n_lat=19, n_lon=37)
    ratio = 6371.2 / C
    expected = 2 * ratio**3 * g[0] * np.sin(np.deg2rad(lat))[:, None] * np.ones(lon.size)
    np.testing.assert_allclose(radial, expected, rtol=1e-12, atol=1e-6)

    ax = plot_flow_map(flow, g=g, arrow_spacing=30.0)
    assert "1980.0" in ax.get_title()
    assert "degrees" in ax.get_xlabel() and "degrees" in ax.get_ylabel()
    colorbar_labels = [a.get_ylabel() for a in ax.figure.axes if a is not ax]
    assert any("µT" in label for label in colorbar_labels)
    ax = plot_sv_map(g * 1e-3, epoch=1990.0)
    assert "1990.0" in ax.get_title()
    assert any("µT/yr" in a.get_ylabel() for a in ax.figure.axes if a is not ax)
    ax = plot_ke_spectra([flow, Flow(2 * t, s, epoch=1990.0)])
    assert "(km/yr)" in ax.get_ylabel() and "degree" in ax.get_xlabel()
    assert len(ax.get_lines()) == 4  # toroidal and poloidal of each flow
    plt.close("all")


def test_solid_body_rotation_drifts_equally_in_both_hemispheres():
    rate_deg = -0.17  # deg/yr, westward
    t = np.zeros(N)
    t[0] = np.deg2rad(rate_deg) * C
    drift = hemispheric_drift(t, np.zeros(N))
    # u_phi / (c sin theta) = w at every point: rounding only
    assert drift["atlantic"] == pytest.approx(rate_deg, rel=1e-13)
    assert drift["pacific"] == pytest.approx(rate_deg, rel=1e-13)
    assert sector_drift(t, np.zeros(N), 10.0, 20.0, half_width_deg=5.0) == pytest.approx(
        rate_deg, rel=1e-13
    )


@pytest.mark.parametrize("half_width", [10.0, 30.0, 60.0])
def test_sectoral_flow_drifts_east_in_one_hemisphere_and_west_in_the_other(half_width):
    """T = t21c P21(cos theta) cos(phi): eastward near phi = 0, westward near 180 E.

    With Schmidt P21 = sqrt(3) sin(theta) cos(theta), u_phi = -dT/dtheta =
    -sqrt(3) t cos(2 theta) cos(phi), so the rate u_phi / (c sin theta) averaged over
    |latitude| <= h (uniform in cos theta, i.e. by area) and over 90W-90E is
    sqrt(3) t cos(h) (2 / pi) / c (closed form: int (1 - 2 mu^2) / sqrt(1 - mu^2) dmu =
    sin(2 h) over mu in [-sin h, sin h]); over 90E-270E it is minus that.
    """
    amplitude = 4.0  # km/yr
    t = np.zeros(N)
    t[4] = amplitude  # t21c (order t10, t11c, t11s, t20, t21c)
    expected = np.degrees(np.sqrt(3) * amplitude * np.cos(np.radians(half_width)) * 2 / np.pi / C)
    drift = hemispheric_drift(t, np.zeros(N), half_width_deg=half_width)
    assert drift["atlantic"] == pytest.approx(expected, rel=1e-9)
    assert drift["pacific"] == pytest.approx(-expected, rel=1e-9)
    # the global solid-body rate of this flow is zero
    assert float(flow_statistics(t, np.zeros(N))["solid_body_drift"]) == 0.0


def test_rotating_a_flow_by_half_a_turn_swaps_the_hemispheres():
    """A flow rotated by 180 deg in longitude (order m coefficients times (-1)^m)."""
    t, s = _random_flow(3)
    sign = (-1.0) ** ORDER
    drift = hemispheric_drift(t, s)
    rotated = hemispheric_drift(sign * t, sign * s)
    assert rotated["atlantic"] == pytest.approx(drift["pacific"], rel=1e-10)
    assert rotated["pacific"] == pytest.approx(drift["atlantic"], rel=1e-10)


def test_sector_drift_rejects_bad_sectors():
    t, s = _random_flow(4)
    with pytest.raises(ValueError, match="eastward"):
        sector_drift(t, s, 90.0, -90.0)
    with pytest.raises(ValueError, match="half_width_deg"):
        sector_drift(t, s, -90.0, 90.0, half_width_deg=90.0)
    with pytest.raises(CoefficientShapeError):
        sector_drift(np.stack([t, t]), np.stack([s, s]), -90.0, 90.0)
