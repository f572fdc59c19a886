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
from bayescore.epochs import decimal_year_from_mjd
from bayescore.errors import (
    CoefficientShapeError,
    EpochOutOfRangeError,
    MalformedFileError,
    SeriesLengthError,
    UnevenSamplingError,
)
from bayescore.flow.diagnostics import LOD_FACTOR_MS, LOD_ZONAL_COEFFICIENTS
from bayescore.lod import (
    C04_KEY,
    EARTH_ROTATION_RATE,
    PREM_CORE_RADIUS_KM,
    annual_mean_lod,
    decadal_lod,
    gaussian_lowpass,
    gaussian_lowpass_gain,
    gaussian_sigma_yr,
    load_lod_c04,
    lod_change_from_zonal_flow,
    lod_factor_ms,
    polar_moment_of_inertia,
    remove_linear_trend,
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


# ----------------------------------------------------------------------------- decadal signal
# Truth for the low-pass: the continuous Gaussian kernel's gain exp(-2 pi^2 sigma^2 f^2).
# The filter is that kernel sampled every year and truncated at 4 sigma; the truncated
# tail holds erfc(4 / sqrt 2) = 6e-5 of the weight, and the sampled kernel's aliases add
# at most exp(-2 pi^2 sigma^2 (1 - f)^2) = 2e-5 at f = 1/3 cycle/yr (sigma = 1.12 yr), so
# the gain of the discrete filter is the continuous one to 1e-3 away from the ends.
GAIN_TOLERANCE = 1e-3


def _interior(times, cutoff):
    margin = 5.0 * gaussian_sigma_yr(cutoff)
    return (times > times[0] + margin) & (times < times[-1] - margin)


@pytest.mark.parametrize(
    ("period", "expected"),
    [(6.0, 0.5), (24.0, 2.0 ** (-1.0 / 16.0)), (60.0, 2.0 ** (-0.01)), (3.0, 2.0**-4)],
)
def test_lowpass_gain_of_a_sinusoid(period, expected):
    times = np.arange(1800.0, 2100.0) + 0.5
    signal = np.sin(2 * np.pi * times / period + 0.3)
    filtered = gaussian_lowpass(times, signal, 6.0)
    inside = _interior(times, 6.0)
    assert gaussian_lowpass_gain(period, 6.0) == pytest.approx(expected, rel=1e-12)
    np.testing.assert_allclose(filtered[inside], expected * signal[inside], atol=GAIN_TOLERANCE)


def test_lowpass_passes_decades_and_removes_interannual_signal():
    times = np.arange(1900.0, 2020.0) + 0.5
    decadal = 2.0 * np.sin(2 * np.pi * times / 60.0)
    interannual = 0.5 * np.sin(2 * np.pi * times / 3.0) + 0.3 * np.cos(2 * np.pi * times / 2.5)
    filtered = gaussian_lowpass(times, decadal + interannual, 6.0)
    inside = _interior(times, 6.0)
    # a linear filter: each term keeps its own gain (0.993 at 60 yr; 0.063 and 0.018 at
    # 3 and 2.5 yr)
    assert gaussian_lowpass_gain(60.0) > 0.99
    assert gaussian_lowpass_gain(3.0) < 0.07 and gaussian_lowpass_gain(2.5) < 0.02
    expected = (
        gaussian_lowpass_gain(60.0) * decadal
        + 0.5 * gaussian_lowpass_gain(3.0) * np.sin(2 * np.pi * times / 3.0)
        + 0.3 * gaussian_lowpass_gain(2.5) * np.cos(2 * np.pi * times / 2.5)
    )
    np.testing.assert_allclose(filtered[inside], expected[inside], atol=GAIN_TOLERANCE)


def test_lowpass_keeps_a_line_to_the_ends_and_filters_rows():
    # odd reflection at the ends and a symmetric kernel summing to one keep any line
    times = np.arange(0.0, 30.0, 0.5)
    values = np.vstack([np.full(times.size, 3.0), 0.017 * times - 1.0])
    np.testing.assert_allclose(gaussian_lowpass(times, values, 6.0), values, atol=1e-13)
    with pytest.raises(SeriesLengthError, match="kernel"):
        gaussian_lowpass(times[:8], values[:, :8], 6.0)


def test_lowpass_rejects_uneven_sampling_and_bad_cutoff():
    with pytest.raises(UnevenSamplingError):
        gaussian_lowpass([0.0, 1.0, 3.0], [1.0, 2.0, 3.0])
    with pytest.raises(SeriesLengthError):
        gaussian_lowpass([0.0], [1.0])
    with pytest.raises(ValueError, match="cutoff"):
        gaussian_lowpass([0.0, 1.0, 2.0], [1.0, 2.0, 3.0], cutoff_period_yr=0.0)


def test_remove_linear_trend_removes_an_exact_line():
    times = np.linspace(1962.5, 2019.5, 58)
    line = 0.017 * (times - 2000.0) + 1.3
    residual, slope, intercept = remove_linear_trend(times, line)
    np.testing.assert_allclose(residual, 0.0, atol=1e-12)
    assert slope == pytest.approx(0.017, rel=1e-12)
    assert intercept == pytest.approx(0.017 * (times.mean() - 2000.0) + 1.3, rel=1e-12)
    # and the least-squares line of a noisy series is numpy's polyfit
    noisy = line + np.random.default_rng(1).normal(0.0, 0.3, times.size)
    _, slope, _ = remove_linear_trend(times, noisy)
    assert slope == pytest.approx(np.polyfit(times, noisy, 1)[0], rel=1e-10)
    with pytest.raises(SeriesLengthError):
        remove_linear_trend([0.0, 1.0], [0.0, 1.0])


def _daily_lod(first_mjd, last_mjd, function):
    mjd = np.arange(first_mjd, last_mjd + 1, dtype=float)
    time = decimal_year_from_mjd(mjd)
    import xarray as xr

    return xr.Dataset(
        {"lod": ("time", function(time))}, coords={"time": time, "mjd": ("time", mjd)}
    )


def test_decadal_lod_removes_the_annual_cycle_and_the_trend():
    # 1962-01-01 is MJD 37665, 2019-12-31 is MJD 58848: daily values at 0h, equally
    # spaced in calendar-exact decimal years within each year, so a whole annual cycle
    # averages to zero (to rounding) and the annual means keep the line (2 ms/cy) at the
    # mean time of the year's days, half a day before mid-year
    lod = _daily_lod(37665, 58848, lambda t: 0.02 * (t - 1990.0) + 0.4 * np.sin(2 * np.pi * t))
    decadal = decadal_lod(lod)
    assert decadal["time"].values[[0, -1]].tolist() == [1962.5, 2019.5]
    years = np.floor(lod["time"].values)
    mean_times = [lod["time"].values[years == y].mean() for y in range(1962, 2020)]
    np.testing.assert_allclose(decadal["annual"], 0.02 * (np.array(mean_times) - 1990.0), atol=1e-9)
    # the half-day offset differs between 365- and 366-day years by 0.02 * 4e-6 ms
    np.testing.assert_allclose(decadal["detrended"], 0.0, atol=1e-6)
    assert decadal.attrs["trend_ms_per_cy"] == pytest.approx(2.0, rel=1e-6)
    with pytest.raises(EpochOutOfRangeError):
        decadal_lod(lod, start=1950)
    short = _daily_lod(37665, 37665 + 200, lambda t: t * 0.0)
    with pytest.raises(SeriesLengthError):
        decadal_lod(short)


def test_decadal_lod_of_the_c04_series(c04):
    _, series, _ = c04
    decadal = decadal_lod(series, start=1962, end=2019)
    # the decadal maximum of the excess LOD in the early 1970s (Jault et al. 1988; Holme &
    # de Viron 2013), after which it fell by about 3 ms to the 2000s: over 1962-2019 that
    # decline outweighs the secular +1.8 ms/cy, and the fitted line falls
    peak = float(decadal["time"][int(np.argmax(decadal["filtered"].values))])
    assert 1969.5 <= peak <= 1975.5
    assert decadal.attrs["trend_ms_per_cy"] < 0.0
