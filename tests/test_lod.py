"""IERS C04 length-of-day reader and the LOD change of zonal core flows (bayescore.lod).

Truth: the file's whitespace-separated columns read with numpy.loadtxt (the reader uses
the fixed byte columns of the format description), dates from the standard library, and
for the flows a direct angular-momentum integral over geostrophic cylinders (SciPy quad in
the cylindrical radius, Legendre functions from SciPy, derivatives by differences).
"""

from __future__ import annotations

from datetime import date
from pathlib import Path

import numpy as np
import pytest
from scipy.integrate import quad
from scipy.special import eval_legendre

from bayescore.constants import CORE_RADIUS_KM
from bayescore.errors import (
    CoefficientShapeError,
    EpochOutOfRangeError,
    MalformedFileError,
    SeriesLengthError,
)
from bayescore.flow.diagnostics import LOD_FACTOR_MS, LOD_ZONAL_COEFFICIENTS
from bayescore.lod import (
    C04_KEY,
    EARTH_ROTATION_RATE,
    PREM_CORE_RADIUS_KM,
    annual_mean_lod,
    load_lod_c04,
    lod_change_from_zonal_flow,
    lod_factor_ms,
    polar_moment_of_inertia,
    zonal_lod_weights,
)

#: Columns of the C04 file (0-based, whitespace-separated): year, month, day, MJD, LOD, error.
YEAR, MONTH, DAY, MJD, LOD, LOD_ERROR = 0, 1, 2, 4, 12, 20


def _file(shared_data: Path) -> Path:
    path = shared_data / C04_KEY
    if not path.is_file():
        pytest.skip(f"{path} not found (set BAYESCORE_DATA to the shared data directory)")
    return path


@pytest.fixture(scope="module")
def c04(shared_data):
    path = _file(shared_data)
    return path, load_lod_c04(path), np.loadtxt(path, comments="#")


@pytest.mark.parametrize("year", [1972, 2022])
def test_annual_mean_lod_against_loadtxt(c04, year):
    _, series, table = c04
    days = table[:, YEAR] == year
    expected_ms = 1000.0 * table[days, LOD].mean()
    means = annual_mean_lod(series)
    assert int(means["n_days"].sel(year=year)) == days.sum() == (366 if year == 1972 else 365)
    np.testing.assert_allclose(float(means["lod"].sel(year=year)), expected_ms, rtol=1e-12)
    # the length of day was about 3 ms longer in 1972 than 86400 s; near 0 in 2022
    assert (2.0 < expected_ms < 4.0) if year == 1972 else (-1.0 < expected_ms < 0.5)


def test_columns_units_and_times(c04):
    _, series, table = c04
    assert series.sizes["time"] == table.shape[0]
    np.testing.assert_allclose(series["lod"].values, 1000.0 * table[:, LOD], rtol=1e-15)
    np.testing.assert_allclose(series["lod_error"].values, 1000.0 * table[:, LOD_ERROR], rtol=1e-15)
    np.testing.assert_array_equal(series["mjd"].values, table[:, MJD])
    assert series["lod"].attrs["units"] == "ms"
    assert series["lod_error"].values[0] == pytest.approx(1.4)  # 1962: 1.4 ms
    # decimal years at 0h UTC, calendar-exact, from the date columns and the stdlib
    for i in (0, 1000, 13880, table.shape[0] - 1):
        day = date(*(int(v) for v in table[i, [YEAR, MONTH, DAY]]))
        first, following = date(day.year, 1, 1), date(day.year + 1, 1, 1)
        expected = day.year + (day - first).days / (following - first).days
        assert series["time"].values[i] == pytest.approx(expected, abs=1e-12)
    assert series["time"].values[0] == 1962.0


def test_interval_selection_and_epochs_outside(c04):
    path, series, _ = c04
    part = load_lod_c04(path, start=2000.0, end=2001.0)
    assert part.sizes["time"] == 367  # 2000-01-01 .. 2001-01-01 inclusive
    np.testing.assert_array_equal(part["lod"].values, series["lod"].sel(time=slice(2000, 2001)))
    with pytest.raises(EpochOutOfRangeError, match="1950"):
        load_lod_c04(path, start=1950.0)
    with pytest.raises(EpochOutOfRangeError):
        load_lod_c04(path, end=2100.0)
    with pytest.raises(EpochOutOfRangeError):
        load_lod_c04(path, start=2001.0, end=2000.0)


def _variant(tmp_path, path, edit):
    lines = path.read_text().splitlines()[:30]
    out = tmp_path / "eopc04"
    out.write_text("\n".join(edit(lines)) + "\n")
    return out


@pytest.mark.parametrize(
    "edit, message",
    [
        (lambda lines: lines[:20] + [lines[20][:150]], "line 21: expected 218 characters"),
        (
            lambda lines: lines[:10] + [lines[10][:115] + "abcdefg" + lines[10][122:]],
            "line 11: column lod",
        ),
        (lambda lines: lines[:10] + [lines[10][:11] + "9" + lines[10][12:]], "line 11: date"),
        (lambda lines: lines[:10] + [lines[11], lines[10]], "line 11: date|MJD"),
        (lambda lines: [line for line in lines if line.startswith("#")], "no data line"),
    ],
    ids=["short-line", "non-numeric", "date-vs-mjd", "order", "no-data"],
)
def test_malformed_c04_files(c04, tmp_path, edit, message):
    path, _, _ = c04
    with pytest.raises(MalformedFileError, match=message):
        load_lod_c04(_variant(tmp_path, path, edit))


def test_annual_mean_of_an_empty_series(c04):
    _, series, _ = c04
    with pytest.raises(SeriesLengthError):
        annual_mean_lod(series.isel(time=slice(0, 0)))


# --------------------------------------------------------------------------- LOD from flows
SECONDS_PER_YEAR = 365.25 * 86400.0


def _cmb_u_phi(coefficients, theta):
    """u_phi = -dT/dtheta (km/yr) of a zonal T = sum_l t_l P_l(cos theta), central differences."""
    step = 1e-6

    def potential(angle):
        return sum(t * eval_legendre(ell, np.cos(angle)) for ell, t in coefficients.items())

    return -(potential(theta + step) - potential(theta - step)) / (2.0 * step)


def _angular_momentum_of_cylinders(coefficients, density, radius_km, inner_km):
    """L = int rho s^2 omega(s) dV (kg m^2 rad/s) over a uniform shell, by quadrature in s.

    Each cylinder s turns rigidly with the equatorially symmetric part of the core-surface
    flow where it meets the CMB; its height excludes the inner region r < inner_km.
    """
    radius = radius_km * 1e3
    inner = inner_km * 1e3

    def integrand(s):
        theta = np.arcsin(s / radius)
        u_sym = 0.5 * (_cmb_u_phi(coefficients, theta) + _cmb_u_phi(coefficients, np.pi - theta))
        omega = u_sym * 1e3 / SECONDS_PER_YEAR / s  # rad/s
        height = 2.0 * np.sqrt(radius**2 - s**2)
        if s < inner:
            height -= 2.0 * np.sqrt(inner**2 - s**2)
        return density * s**2 * omega * 2.0 * np.pi * s * height

    value, _ = quad(
        integrand,
        1e-3,
        radius,
        points=[inner] if inner > 0 else None,
        limit=400,
        epsabs=0.0,
        epsrel=1e-10,
    )
    return value


@pytest.mark.parametrize("inner_km", [0.0, 1221.5], ids=["sphere", "shell"])
def test_lod_change_equals_a_direct_angular_momentum_integral(inner_km):
    radius_km, density, mantle_moment = 3485.0, 10900.0, 7.1e37
    # uniform shell: C = (8 pi / 15) rho (R^5 - r_i^5)
    core_moment = 8.0 * np.pi / 15.0 * density * ((radius_km * 1e3) ** 5 - (inner_km * 1e3) ** 5)
    zonal = {1: 2.0, 2: 5.0, 3: -1.5, 4: 3.0, 5: 0.7, 6: -2.0, 7: 0.3}
    t = np.zeros(63)
    for ell, value in zonal.items():
        t[ell * ell - 1] = value
    t[[1, 2, 9, 30]] = [4.0, -3.0, 2.0, 1.0]  # non-zonal terms carry no axial momentum
    momentum = _angular_momentum_of_cylinders(zonal, density, radius_km, inner_km)
    expected_ms = 86_400_000.0 * momentum / ((core_moment + mantle_moment) * EARTH_ROTATION_RATE)
    layers = ((0.0, inner_km, (0.0, 0.0, 0.0, 0.0)), (inner_km, radius_km, (10.9, 0, 0, 0)))
    weights = zonal_lod_weights(7, layers=layers, core_radius_km=radius_km)
    assert polar_moment_of_inertia(0.0, radius_km, layers) == pytest.approx(core_moment, 1e-12)
    factor = lod_factor_ms(core_moment, mantle_moment, core_radius_km=radius_km)
    ours = lod_change_from_zonal_flow(t, factor_ms=factor, weights=weights)
    np.testing.assert_allclose(ours, expected_ms, rtol=1e-8)
    if inner_km == 0.0:  # full uniform sphere: K_3 = 12/7, K_5 = K_7 = 0 analytically
        np.testing.assert_allclose(weights, [1, 0, 12 / 7, 0, 0, 0, 0], atol=1e-12)


def test_solid_body_rotation_lengthens_the_day_by_the_moment_ratio():
    # t10 = 1 km/yr eastward: omega = 1 / c rad/yr; the mantle slows by C_c / (C_m + C_c)
    t = np.zeros(3)
    t[0] = 1.0
    core, mantle = 9.0e36, 7.1e37
    omega = 1.0 / (CORE_RADIUS_KM * SECONDS_PER_YEAR)
    expected = 86_400_000.0 * core / (core + mantle) * omega / EARTH_ROTATION_RATE
    got = lod_change_from_zonal_flow(t, factor_ms=lod_factor_ms(core, mantle), weights=[1.0])
    assert got == pytest.approx(expected, rel=1e-14) and got > 0.0


def test_prem_moments_and_the_literature_factors():
    # PREM against the Earth's observed polar moment of inertia, 8.034e37 kg m^2
    earth = polar_moment_of_inertia(0.0, 6371.0)
    assert earth == pytest.approx(8.034e37, rel=5e-3)
    core = polar_moment_of_inertia(0.0, PREM_CORE_RADIUS_KM)
    mantle = polar_moment_of_inertia(PREM_CORE_RADIUS_KM, 6371.0)
    assert core + mantle == pytest.approx(earth, rel=1e-12)
    # the factor of bayescore.flow.diagnostics (1.232 ms per km/yr) and its zonal weights
    # (1.776, 0.080, 0.002) agree with the PREM derivation to 0.01
    assert lod_factor_ms() == pytest.approx(LOD_FACTOR_MS, abs=0.01)
    weights = zonal_lod_weights(7)
    for ell, literature in LOD_ZONAL_COEFFICIENTS.items():
        assert weights[ell - 1] == pytest.approx(literature, abs=0.01)
    # with C_m alone in the denominator (C_m + C_c ~ C_m) the factor would be 1.383
    approximate = lod_factor_ms(core, mantle) * (core + mantle) / mantle
    assert approximate == pytest.approx(1.383, abs=1e-3)


def test_lod_change_rejects_bad_shapes():
    with pytest.raises(CoefficientShapeError):
        lod_change_from_zonal_flow(np.zeros(5))
    with pytest.raises(CoefficientShapeError, match="weights"):
        lod_change_from_zonal_flow(np.zeros(8), weights=[1.0])
