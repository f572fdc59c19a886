"""Tests of bayescore.synthetic: orbits, observatories, frozen-flux truth, data sets."""

from __future__ import annotations

import numpy as np
import pytest
import xarray as xr

from bayescore.constants import CORE_RADIUS_KM, EARTH_REFERENCE_RADIUS_KM
from bayescore.errors import CoefficientShapeError, EpochOutOfRangeError, NonFiniteError
from bayescore.flow.operator import sv_from_flow
from bayescore.sh.indexing import degree_order_arrays
from bayescore.synthetic.dataset import make_dataset
from bayescore.synthetic.observatories import (
    geodetic_to_geocentric,
    observatory_epochs,
    observatory_sites,
)
from bayescore.synthetic.orbits import (
    EARTH_ROTATION_RATE_RAD_S,
    SECONDS_PER_YEAR,
    nodal_precession_rate,
    orbital_period,
    satellite_orbit,
)
from bayescore.synthetic.truth import frozen_flux_truth

# ----------------------------------------------------------------------------- orbits


def test_orbit_latitude_bounded_by_inclination_and_reached():
    orbit = satellite_orbit(2005.0, 1.0 / 365.25, dt_seconds=5.0, inclination_deg=87.0)
    latitude = 90.0 - np.degrees(orbit.theta)
    # |lat| = asin(|sin u| sin i) <= i exactly; 1e-9 deg allows rounding of arcsin/atan2
    assert np.max(np.abs(latitude)) <= 87.0 + 1e-9
    # 5 s samples: the argument of latitude moves 0.0057 rad per sample, so the nearest
    # sample to the apex is within 0.0028 rad of it and its latitude within
    # (0.0028^2 / 2) * tan(87 deg) = 7.5e-5 rad = 0.0043 deg of 87 deg; allow 0.005 deg.
    assert np.max(latitude) > 87.0 - 0.005
    assert np.min(latitude) < -87.0 + 0.005


def test_orbit_radius_constant_and_ranges():
    orbit = satellite_orbit(2005.0, 0.1, dt_seconds=60.0, thin=7, altitude_km=400.0)
    np.testing.assert_array_equal(orbit.r, EARTH_REFERENCE_RADIUS_KM + 400.0)
    assert np.all((orbit.theta >= 0) & (orbit.theta <= np.pi))
    assert np.all((orbit.phi >= 0) & (orbit.phi < 2 * np.pi))
    # thinning keeps one sample in 7: spacing 420 s in decimal years (differences of
    # values near 2005 carry rounding of a few ulp(2005) = 2.3e-13 yr)
    np.testing.assert_allclose(np.diff(orbit.t), 420.0 / SECONDS_PER_YEAR, rtol=0, atol=1e-12)
    assert orbit.t[0] == 2005.0 and orbit.t[-1] < 2005.1


def test_orbit_thinning_equals_subsampling():
    full = satellite_orbit(2005.0, 0.01, dt_seconds=10.0)
    thinned = satellite_orbit(2005.0, 0.01, dt_seconds=10.0, thin=6)
    for a, b in zip(full, thinned, strict=True):
        np.testing.assert_allclose(a[::6], b, rtol=0, atol=1e-9)


def test_orbit_longitude_coverage_over_one_day():
    orbit = satellite_orbit(2005.0, 1.0 / 365.25, dt_seconds=10.0)
    counts, _ = np.histogram(np.degrees(orbit.phi), bins=8, range=(0.0, 360.0))
    # ~15.6 orbits a day give 31 equator crossings 11.6 deg apart: a 45-deg bin holds 3
    # or 4 of them, so counts may differ from the mean by up to ~1/7 = 14 %; allow 15 %.
    assert np.all(np.abs(counts / counts.mean() - 1.0) < 0.15), counts


def test_orbit_period_and_j2_rates_against_known_values():
    # period of a 400 km circular orbit: 2 pi sqrt(R^3 / GM) = 5545 s (~92.4 min)
    assert abs(orbital_period(400.0) - 5545.1) < 1.0
    # a sun-synchronous orbit (800 km above the equatorial radius 6378.137 km, i = 98.6
    # deg) precesses eastward at 360 deg per tropical year = 0.9856 deg/day; inclination
    # quoted to 0.05 deg, which is a 0.4 % uncertainty on cos(i): allow 1 %.
    altitude = 6378.137 + 800.0 - EARTH_REFERENCE_RADIUS_KM
    rate = np.degrees(nodal_precession_rate(altitude, 98.6)) * 86400.0
    assert abs(rate / 0.9856 - 1.0) < 0.01
    # prograde 87 deg: westward drift
    assert nodal_precession_rate(400.0, 87.0) < 0


def test_orbit_ascending_node_drifts_at_the_prescribed_rate():
    node_rate = -2e-7  # rad/s, ten times the J2 value, to see it clearly in a few days
    orbit = satellite_orbit(2005.0, 5.0 / 365.25, dt_seconds=1.0, node_rate_rad_s=node_rate)
    latitude = np.pi / 2 - orbit.theta
    ascending = np.nonzero((latitude[:-1] < 0) & (latitude[1:] >= 0))[0]
    seconds = (orbit.t[ascending] - 2005.0) * SECONDS_PER_YEAR
    rotation = EARTH_ROTATION_RATE_RAD_S * (orbit.t[ascending] - 2000.0) * SECONDS_PER_YEAR
    inertial = np.unwrap(orbit.phi[ascending] + rotation)
    slope = np.polyfit(seconds, inertial, 1)[0]
    # 1 s sampling: each crossing's longitude is late by < 1 s of ground motion (a
    # constant offset that a straight-line fit absorbs); 1 % tolerance on the slope.
    np.testing.assert_allclose(slope, node_rate, rtol=1e-2)


@pytest.mark.parametrize(
    "kwargs",
    [
        {"duration_years": -1.0},
        {"dt_seconds": 0.0},
        {"thin": 0},
        {"altitude_km": -10.0},
        {"inclination_deg": 190.0},
    ],
)
def test_orbit_rejects_bad_input(kwargs):
    with pytest.raises(ValueError):
        satellite_orbit(2005.0, **({"duration_years": 0.1} | kwargs))


# ----------------------------------------------------------------------------- observatories


def test_geodetic_to_geocentric_pole_equator_and_45_degrees():
    a = 6378.137
    b = a * (1 - 1 / 298.257223563)  # WGS84 polar radius, 6356.752 km
    r, theta = geodetic_to_geocentric(np.array([90.0, 0.0, -90.0]), 0.0)
    np.testing.assert_allclose(r, [b, a, b], rtol=1e-13)
    np.testing.assert_allclose(theta, [0.0, np.pi / 2, np.pi], atol=1e-13)
    # geocentric latitude of geodetic 45 deg on the ellipsoid: atan((b/a)^2 tan 45 deg)
    r45, theta45 = geodetic_to_geocentric(45.0, 0.0)
    np.testing.assert_allclose(np.pi / 2 - theta45, np.arctan((b / a) ** 2), rtol=1e-13)
    np.testing.assert_allclose(r45, np.sqrt(0.5 * (a**4 + b**4) / (0.5 * (a**2 + b**2))))


def test_geodetic_to_geocentric_matches_ppigrf():
    ppigrf = pytest.importorskip("ppigrf.ppigrf")
    lat = np.linspace(-89.5, 89.5, 37)
    height = np.linspace(0.0, 4.0, 37)
    theta_deg, r_ref, _, _ = ppigrf.geod2geoc(lat, height, np.zeros(37), np.zeros(37))
    r, theta = geodetic_to_geocentric(lat, height)
    # two closed forms of the same conversion: agree to rounding (1e-9 km, 1e-12 rad)
    np.testing.assert_allclose(r, r_ref, rtol=0, atol=1e-9)
    np.testing.assert_allclose(theta, np.radians(theta_deg), rtol=0, atol=1e-12)


def test_geodetic_to_geocentric_rejects_bad_latitude():
    with pytest.raises(ValueError, match="latitude"):
        geodetic_to_geocentric(91.0, 0.0)
    with pytest.raises(ValueError, match="finite"):
        geodetic_to_geocentric(np.nan, 0.0)


def test_observatory_table():
    sites = observatory_sites()
    assert 130 <= len(sites.code) <= 160  # "about 140", like the paper's 137
    assert len(set(sites.code.tolist())) == len(sites.code)
    assert all(len(c) == 3 and c.isupper() for c in sites.code)
    assert np.all(np.abs(sites.latitude_deg) <= 90) and np.all(np.abs(sites.longitude_deg) <= 180)
    assert np.all((sites.elevation_m >= 0) & (sites.elevation_m < 4000))
    assert np.all((sites.theta >= 0) & (sites.theta <= np.pi))
    assert np.all((sites.phi >= 0) & (sites.phi < 2 * np.pi))
    # on the ellipsoid plus at most a few km: between the polar and equatorial radii
    assert np.all((sites.r > 6356.7) & (sites.r < 6378.137 + 4.0))
    # realistic distribution: a northern-hemisphere majority, yet sites near both poles
    north = np.mean(sites.latitude_deg > 0)
    assert 0.6 < north < 0.85
    assert sites.latitude_deg.max() > 80 and sites.latitude_deg.min() < -75
    # spot check of a known observatory (Niemegk 52.07 N, 12.68 E)
    ngk = observatory_sites(["NGK"])
    assert abs(ngk.latitude_deg[0] - 52.07) < 0.01 and abs(ngk.longitude_deg[0] - 12.68) < 0.01
    with pytest.raises(KeyError, match="XXX"):
        observatory_sites(["XXX"])


def test_observatory_epochs():
    monthly = observatory_epochs(2005.0, 2006.0)
    assert len(monthly) == 12
    np.testing.assert_allclose(monthly[0], 2005.0 + 1 / 24)
    hourly = observatory_epochs(2005.0, 2005.0 + 1 / 365.25, interval_days=1 / 24)
    assert len(hourly) == 24
    assert observatory_epochs(2005.0, 2005.01, interval_days=30).tolist() == [2005.005]
    with pytest.raises(ValueError):
        observatory_epochs(2006.0, 2005.0)
    with pytest.raises(ValueError):
        observatory_epochs(2005.0, 2006.0, interval_days=-1)


# ----------------------------------------------------------------------------- truth


def _field_like(lmax: int, seed: int = 0) -> np.ndarray:
    """Seeded Gauss coefficients with an Earth-like spectrum (axial dipole -29,500 nT,
    Lowes-Mauersberger spectrum falling ~ (0.3)^l at r = a)."""
    degree, _, _ = degree_order_arrays(lmax)
    rng = np.random.default_rng(seed)
    g = rng.standard_normal(len(degree)) * 3.0e4 * 0.3 ** (degree - 1) / np.sqrt(2 * degree + 1)
    g[0] = -29500.0
    return g


def _flow_like(lmax: int, rms: float, seed: int = 1) -> tuple[np.ndarray, np.ndarray]:
    """Seeded flow coefficients with a red spectrum, scaled to an rms speed (km/yr)."""
    degree, _, _ = degree_order_arrays(lmax)
    rng = np.random.default_rng(seed)
    t, s = rng.standard_normal((2, len(degree))) / (degree * (degree + 1))
    s *= 0.5
    energy = np.sum(degree * (degree + 1) / (2 * degree + 1) * (t**2 + s**2))
    return t * rms / np.sqrt(energy), s * rms / np.sqrt(energy)


def test_truth_rk4_converges_at_fourth_order():
    # degrees 10 and at most 64 steps throughout these tests, so that one compiled
    # integrator serves them all
    g0 = _field_like(10)
    flow = _flow_like(10, rms=100.0)  # fast flow: RK4 errors well above rounding
    finals = [
        frozen_flux_truth(
            g0, 2005.0, (2005.0, 2007.0), 10, 10, flow=flow, flow_time_change=0.1, dt=dt
        ).coeffs(2007.0)
        for dt in (0.5, 0.25, 0.125)
    ]
    coarse = np.max(np.abs(finals[0] - finals[1]))
    fine = np.max(np.abs(finals[1] - finals[2]))
    # Richardson: successive differences of a p-th order scheme shrink by 2^p = 16;
    # at these steps the next error term (relative size ~ 2 x step x rate) keeps the
    # measured ratio within ~15 % of 16.
    assert 13.5 < coarse / fine < 18.5, (coarse, fine)
    assert fine > 1e-9  # the comparison is not at rounding level


@pytest.fixture(scope="module")
def small_truth():
    g0 = _field_like(10)
    flow = _flow_like(10, rms=13.0)
    return frozen_flux_truth(
        g0, 2005.0, (2004.9, 2006.0), 10, 10, flow=flow, flow_time_change=0.05, dt=1 / 12, seed=3
    )


def test_truth_obeys_frozen_flux_at_every_node(small_truth):
    ds = small_truth.dataset
    assert ds.attrs["t0"] == 2005.0 and 2005.0 in ds["time"].values
    gdot = np.asarray(
        sv_from_flow(ds["g"].values, ds["t"].values, ds["s"].values, lmax_sv=small_truth.lmax)
    )
    scale = np.max(np.abs(ds["gdot"].values))
    # the same operator re-evaluated on the stored nodes: agreement to rounding
    np.testing.assert_allclose(ds["gdot"].values, gdot, rtol=0, atol=1e-10 * scale)
    # the flow is linear in time through (t0, t_ref)
    i0 = int(np.argmin(np.abs(ds["time"].values - 2005.0)))
    expected_t = ds["t"].values[i0] + (ds["time"].values - 2005.0)[:, None] * ds["t_rate"].values
    np.testing.assert_allclose(ds["t"].values, expected_t, rtol=1e-13, atol=1e-12)
    # the interpolant reproduces the nodes and its derivative the nodal SV
    np.testing.assert_allclose(small_truth.coeffs(ds["time"].values), ds["g"].values, atol=1e-9)
    np.testing.assert_allclose(small_truth.sv(ds["time"].values), ds["gdot"].values, atol=1e-9)
    assert ds["g"].dims == ("time", "coeff") and ds["coeff"].values[0] == "g_1_0"


def test_truth_hermite_interpolant_error(small_truth):
    # a truth with half the step has RK4 nodes at the interval midpoints of the first
    ds = small_truth.dataset
    finer = frozen_flux_truth(
        _field_like(10), 2005.0, (2004.9, 2006.0), 10, 10,
        flow=(ds["t"].sel(time=2005.0).values, ds["s"].sel(time=2005.0).values),
        flow_time_change=(ds["t_rate"].values, ds["s_rate"].values), dt=1 / 24,
    )  # fmt: skip
    times = finer.dataset["time"].values
    diff = np.max(np.abs(small_truth.coeffs(times) - finer.coeffs(times)))
    # Hermite error ~ h^4/384 max|g''''|: a few 1e-10 nT for month-long steps; the stored
    # estimate (against an RK4 half step) has the same size. Both far below 1e-6 nT.
    assert diff < 1e-6
    assert ds.attrs["interpolation_error_nT"] < 1e-6
    assert diff < 20 * ds.attrs["interpolation_error_nT"] + 1e-9


def test_truth_secular_acceleration_matches_finite_difference_of_its_sv(small_truth):
    # forward of t0 the RK4 nodes are 1/12 yr apart; at a node the truth's SV is the
    # frozen-flux SV of the nodal field to rounding, so central differences of the SV at
    # nodes k +- j approximate the SA at node k with error (j h)^2 / 6 |d^3 g/dt^3| + ...
    times = small_truth.dataset["time"].values
    k = int(np.argmin(np.abs(times - 2005.5)))
    np.testing.assert_allclose(np.diff(times[k - 2 : k + 3]), 1 / 12, rtol=1e-9)
    change = small_truth.secular_change(times[k])
    sv = small_truth.sv(times[k - 2 : k + 3])
    central = [(sv[2 + j] - sv[2 - j]) / (times[k + j] - times[k - j]) for j in (1, 2)]
    errors = [np.max(np.abs(d - change.sa)) for d in central]
    # second order: doubling the step multiplies the error by 4 (measured 4.000002; the
    # next term is smaller by ~(h / time scale of the SA)^2)
    assert 3.9 < errors[1] / errors[0] < 4.1, errors
    # the flow-change part (max ~5.7 nT/yr^2 here) and the advection part (~0.5) are both
    # far above the finite-difference error (4e-6), so either one missing would fail
    assert errors[0] < 1e-5 * np.max(np.abs(change.sa))
    # Richardson extrapolation removes the h^2 term: what remains is the h^4 term and
    # the RK4 error of the nodes (the stored estimate, ~1e-10 nT, divided by 2h = 1/6 yr:
    # ~1e-9 nT/yr^2 at most); measured 2e-11 nT/yr^2
    extrapolated = (4 * central[0] - central[1]) / 3
    np.testing.assert_allclose(extrapolated, change.sa, rtol=0, atol=1e-8)
    # the SV is the interpolant's, the background the advection of the SV by the flow
    np.testing.assert_array_equal(change.sv, small_truth.sv(times[k]))
    t_coeffs, s_coeffs = small_truth.flow(times[k])
    background = sv_from_flow(change.sv, t_coeffs, s_coeffs, lmax_sv=small_truth.lmax)
    np.testing.assert_allclose(change.sa_background, background, rtol=0, atol=1e-12)


def test_truth_secular_change_to_another_degree(small_truth):
    full = small_truth.secular_change(2005.3)
    lower = small_truth.secular_change(2005.3, lmax=6)
    higher = small_truth.secular_change(2005.3, lmax=12)
    for name in ("sv", "sa", "sa_background"):
        np.testing.assert_array_equal(getattr(lower, name), getattr(full, name)[:48])
        np.testing.assert_array_equal(getattr(higher, name)[:120], getattr(full, name))
        assert np.all(getattr(higher, name)[120:] == 0.0) and getattr(higher, name).size == 168
    with pytest.raises(EpochOutOfRangeError):
        small_truth.secular_change(2007.0)


def test_truth_solid_body_rotation_matches_analytic_rotation():
    lmax = 10
    omega = 0.01  # rad/yr eastward (~0.57 deg/yr, like the westward drift in size)
    g0 = _field_like(lmax, seed=5)
    t_coeffs = np.zeros(lmax * (lmax + 2))
    t_coeffs[0] = omega * CORE_RADIUS_KM  # t_10 = w c: solid-body rotation
    truth = frozen_flux_truth(
        g0, 2005.0, (2004.0, 2006.0), lmax, lmax, flow=(t_coeffs, 0 * t_coeffs),
        flow_time_change=0.0, dt=1 / 12,
    )  # fmt: skip
    degree, order, is_sine = degree_order_arrays(lmax)
    cos_index = np.nonzero(~is_sine)[0]
    rows = zip(degree, order, is_sine, strict=True)
    sin_partner = {(d, m): i for i, (d, m, s) in enumerate(rows) if s}
    times = np.linspace(2004.0, 2006.0, 41)
    got = truth.coeffs(times)
    for i in cos_index:
        m = order[i]
        angle = m * omega * (times - 2005.0)
        if m == 0:
            expected_g = np.full_like(times, g0[i])
            np.testing.assert_allclose(got[:, i], expected_g, rtol=0, atol=1e-9)
            continue
        j = sin_partner[(degree[i], m)]
        # (g + i h)(t) = (g + i h)(t0) exp(i m w (t - t0)): an eastward rotation
        expected_g = g0[i] * np.cos(angle) - g0[j] * np.sin(angle)
        expected_h = g0[j] * np.cos(angle) + g0[i] * np.sin(angle)
        # RK4 phase error per step ~ (m w dt)^5 / 120 < 1e-15: agreement to rounding of
        # coefficients up to 3e4 nT (1e-9 nT)
        np.testing.assert_allclose(got[:, i], expected_g, rtol=0, atol=1e-9)
        np.testing.assert_allclose(got[:, j], expected_h, rtol=0, atol=1e-9)


def test_truth_default_starts_from_igrf_with_inverted_flow():
    from bayescore.fields import igrf

    truth = frozen_flux_truth(lmax_field=8, lmax_flow=8)  # IGRF-14 at 2005.0, paper span
    assert truth.span == (2004.87, 2005.94)
    assert truth.dataset.attrs["initial_field"] == "IGRF-14"
    model = igrf()
    np.testing.assert_array_equal(truth.coeffs(2005.0), np.asarray(model.coeffs(2005.0))[:80])
    t_coeffs, s_coeffs = truth.flow(2005.0)
    degree = degree_order_arrays(8)[0]
    rms = np.sqrt(np.sum(degree * (degree + 1) / (2 * degree + 1) * (t_coeffs**2 + s_coeffs**2)))
    np.testing.assert_allclose(rms, 13.0, rtol=1e-6)  # the inversion's target, km/yr
    # the damped flow explains most of IGRF's SV (measured misfit 24 % of its norm)
    igrf_sv = np.asarray(model.sv(2005.0))[:80]
    misfit = np.linalg.norm(truth.sv(2005.0) - igrf_sv) / np.linalg.norm(igrf_sv)
    assert misfit < 0.4


def test_truth_bad_input(small_truth):
    g0 = _field_like(4)
    flow = _flow_like(4, rms=13.0)
    with pytest.raises(EpochOutOfRangeError):
        frozen_flux_truth(g0, 2007.0, (2005.0, 2006.0), 4, 4, flow=flow)
    with pytest.raises(EpochOutOfRangeError):
        frozen_flux_truth(g0, 2005.0, (2006.0, 2005.0), 4, 4, flow=flow)
    with pytest.raises(CoefficientShapeError):
        frozen_flux_truth(g0, 2005.0, (2005.0, 2006.0), 4, 5, flow=flow)
    with pytest.raises(CoefficientShapeError):
        frozen_flux_truth(g0[:-1], 2005.0, (2005.0, 2006.0), 4, 4, flow=flow)
    with pytest.raises(NonFiniteError):
        frozen_flux_truth(np.full(24, np.nan), 2005.0, (2005.0, 2006.0), 4, 4, flow=flow)
    with pytest.raises(ValueError, match="dt"):
        frozen_flux_truth(g0, 2005.0, (2005.0, 2006.0), 4, 4, flow=flow, dt=0.0)
    with pytest.raises(ValueError, match="flow or gdot0"):
        frozen_flux_truth(g0, 2005.0, (2005.0, 2006.0), 4, 4)
    with pytest.raises(EpochOutOfRangeError, match="outside"):
        small_truth.coeffs(2010.0)
    with pytest.raises(NonFiniteError):
        small_truth.coeffs(np.nan)


# ----------------------------------------------------------------------------- data sets


def _reference_field(coeffs, r, theta, phi):
    """Independent field evaluation: pyshtools' Schmidt Legendre functions, numpy sums."""
    pyshtools = pytest.importorskip("pyshtools")
    lmax = int(round(np.sqrt(coeffs.size + 1))) - 1
    degree, order, is_sine = degree_order_arrays(lmax)
    p, dp_dz = pyshtools.legendre.PlmSchmidt_d1(lmax, np.cos(theta), csphase=1)
    index = degree * (degree + 1) // 2 + order
    P, dP = p[index], -np.sin(theta) * dp_dz[index]  # d/dtheta = -sin(theta) d/dz
    radial = (EARTH_REFERENCE_RADIUS_KM / r) ** (degree + 2)
    trig = np.where(is_sine, np.sin(order * phi), np.cos(order * phi))
    dtrig = np.where(is_sine, order * np.cos(order * phi), -order * np.sin(order * phi))
    b_r = np.sum(coeffs * (degree + 1) * radial * P * trig)
    b_theta = -np.sum(coeffs * radial * dP * trig)
    b_phi = -np.sum(coeffs * radial * P * dtrig) / np.sin(theta)
    return np.array([b_r, b_theta, b_phi])


def test_dataset_layout_and_geometry(small_truth):
    data = make_dataset(small_truth, n_satellite=300, n_observatory_sites=15, seed=2)
    n_epochs = len(observatory_epochs(*small_truth.span))
    assert data.sizes["datum"] == 3 * (300 + 15 * n_epochs)
    assert data.sizes["site"] == 15
    assert set(np.unique(data["component"].values)) == {0, 1, 2}
    sat = data["source"].values == "satellite"
    assert sat.sum() == 900 and np.all(data["site_index"].values[sat] == -1)
    np.testing.assert_allclose(data["r"].values[sat], EARTH_REFERENCE_RADIUS_KM + 400.0)
    obs = ~sat
    site = data["site_index"].values[obs]
    np.testing.assert_array_equal(data["r"].values[obs], data["site_r"].values[site])
    np.testing.assert_array_equal(data["theta"].values[obs], data["site_theta"].values[site])
    t = data["t"].values
    assert np.all((t >= small_truth.span[0]) & (t <= small_truth.span[1]))
    assert np.all(data["sigma"].values == 2.0)
    # rows of one vector measurement are consecutive: B_r, B_theta, B_phi at one point
    np.testing.assert_array_equal(data["component"].values[:6], [0, 1, 2, 0, 1, 2])
    assert data["t"].values[0] == data["t"].values[2]
    assert data.attrs["seed"] == 2 and data.attrs["noise"] == "gaussian"
    only_horizontal = make_dataset(small_truth, 50, 2, components="pt", seed=2)
    assert set(np.unique(only_horizontal["component"].values)) == {1, 2}


def test_dataset_reproducible_with_seed(small_truth):
    first = make_dataset(small_truth, n_satellite=200, n_observatory_sites=10, seed=7)
    again = make_dataset(small_truth, n_satellite=200, n_observatory_sites=10, seed=7)
    xr.testing.assert_identical(first, again)
    other = make_dataset(small_truth, n_satellite=200, n_observatory_sites=10, seed=8)
    assert not np.allclose(first["value"].values, other["value"].values)


def test_dataset_values_match_independent_synthesis(small_truth):
    data = make_dataset(small_truth, n_satellite=40, n_observatory_sites=5, seed=4)
    t, r, theta, phi = (data[k].values[::3] for k in ("t", "r", "theta", "phi"))
    core = data["value_core"].values.reshape(-1, 3)
    for i in range(len(t)):
        if np.sin(theta[i]) < 1e-6:  # the reference divides by sin(theta) (site SPA)
            continue
        expected = _reference_field(small_truth.coeffs(t[i]), r[i], theta[i], phi[i])
        # two evaluations of a degree-10 sum of terms up to 5e4 nT: rounding ~1e-10 nT
        np.testing.assert_allclose(core[i], expected, rtol=0, atol=1e-8)
    # no external field, no bias: the noise-free datum is the core field
    np.testing.assert_array_equal(data["value_true"].values, data["value_core"].values)


def test_dataset_noise_statistics(small_truth):
    stats = pytest.importorskip("scipy.stats")
    sigma = 3.0
    results = {}
    for noise in ("gaussian", "laplace", "student-t"):
        data = make_dataset(
            small_truth, n_satellite=4000, n_observatory_sites=0, noise=noise,
            sigma_nT=sigma, seed=11,
        )  # fmt: skip
        results[noise] = (data["value"] - data["value_true"]).values / sigma
    n = results["gaussian"].size  # 12,000 values
    # Gaussian: the sample sd has relative standard error 1/sqrt(2n) = 0.65 %: 5 % is
    # far outside chance; the KS test (p > 1e-3) checks the whole shape
    assert abs(np.std(results["gaussian"]) - 1.0) < 0.05
    assert stats.kstest(results["gaussian"], "norm").pvalue > 1e-3
    # Laplace with scale b = sigma: mean |e| = b (standard error 1/sqrt(n) = 0.9 %),
    # sd = sqrt(2) b
    assert abs(np.mean(np.abs(results["laplace"])) - 1.0) < 0.04
    assert abs(np.std(results["laplace"]) / np.sqrt(2.0) - 1.0) < 0.06
    assert stats.kstest(results["laplace"], "laplace").pvalue > 1e-3
    # Student-t (4 dof) scaled by sigma; heavier tails: P(|e| > 4 sigma) = 1.6 % against
    # 6e-5 for a Gaussian
    assert stats.kstest(results["student-t"], "t", args=(4.0,)).pvalue > 1e-3
    tail_t = np.mean(np.abs(results["student-t"]) > 4.0)
    tail_gauss = np.mean(np.abs(results["gaussian"]) > 4.0)
    assert tail_t > 0.01 and tail_gauss < 0.002 and n == 12000


def test_dataset_external_field_and_biases(small_truth):
    q10, q11, s11 = 20.0, -3.0, 5.0
    data = make_dataset(
        small_truth, n_satellite=100, n_observatory_sites=8, seed=5,
        external_dipole=(q10, q11, s11), observatory_bias_nT=50.0,
    )  # fmt: skip
    theta, phi, comp = data["theta"].values, data["phi"].values, data["component"].values
    # a degree-1 external potential is the uniform field -(q11, s11, q10) (Cartesian)
    uniform = -np.array([q11, s11, q10])
    unit = {
        0: np.stack([np.sin(theta) * np.cos(phi), np.sin(theta) * np.sin(phi), np.cos(theta)]),
        1: np.stack([np.cos(theta) * np.cos(phi), np.cos(theta) * np.sin(phi), -np.sin(theta)]),
        2: np.stack([-np.sin(phi), np.cos(phi), np.zeros_like(phi)]),
    }
    expected = np.array([uniform @ unit[c][:, i] for i, c in enumerate(comp)])
    np.testing.assert_allclose(data["value_external"].values, expected, rtol=0, atol=1e-12)
    # biases: zero for the satellite, one constant per site and component
    site = data["site_index"].values
    sat = site < 0
    assert np.all(data["bias"].values[sat] == 0.0)
    expected_bias = data["site_bias"].values[site[~sat], comp[~sat]]
    np.testing.assert_array_equal(data["bias"].values[~sat], expected_bias)
    assert np.all(data["site_bias"].values != 0.0)
    total = data["value_core"] + data["value_external"] + data["bias"]
    np.testing.assert_allclose(data["value_true"].values, total.values, rtol=1e-15, atol=1e-9)
    # a slowly varying external field: a function of time
    varying = make_dataset(
        small_truth, n_satellite=20, n_observatory_sites=0, seed=5,
        external_dipole=lambda t: np.stack([20 + (t - 2005), 0 * t, 0 * t], -1),
    )  # fmt: skip
    t, theta = varying["t"].values, varying["theta"].values
    radial = varying["component"].values == 0
    np.testing.assert_allclose(
        varying["value_external"].values[radial],
        -(20 + (t[radial] - 2005)) * np.cos(theta[radial]),
        atol=1e-12,
    )


@pytest.mark.parametrize(
    ("kwargs", "error", "match"),
    [
        ({"n_satellite": -1}, ValueError, "n_satellite"),
        ({"n_observatory_sites": -3}, ValueError, "n_observatory_sites"),
        ({"n_observatory_sites": 1000}, ValueError, "exceeds"),
        ({"n_satellite": 0, "n_observatory_sites": 0}, ValueError, "no data"),
        ({"sigma_nT": 0.0}, ValueError, "sigma_nT"),
        ({"sigma_nT": {"satellite": 2.0, "observatory": -1.0}}, ValueError, "observatory"),
        ({"noise": "cauchy"}, ValueError, "noise"),
        ({"components": "rx"}, ValueError, "components"),
        ({"observatory_bias_nT": -1.0}, ValueError, "bias"),
        ({"span": (2004.0, 2005.5)}, EpochOutOfRangeError, "outside"),
        ({"span": (2005.5, 2005.2)}, EpochOutOfRangeError, "end > start"),
        ({"external_dipole": lambda t: np.zeros((len(t), 2))}, ValueError, "shape"),
    ],
)
def test_dataset_bad_input(small_truth, kwargs, error, match):
    with pytest.raises(error, match=match):
        make_dataset(small_truth, **({"n_satellite": 10, "n_observatory_sites": 2} | kwargs))
