"""Length of day (LOD): the IERS C04 series.

The IERS 20 C04 Earth-orientation series (Bizouard et al., IERS EOP Product Center,
Paris Observatory; consistent with ITRF 2020) gives daily values at 0h UTC since
1962-01-01. Its LOD column is the excess of the length of day over 86400 s SI; its error
falls from 1.4 ms in the 1960s to about 0.01-0.05 ms after 2010. The series still holds
the zonal solid-Earth tides (IERS Conventions 2010, ch. 8) and the atmospheric and
seasonal signal: remove or low-pass them before comparing with core flows, whose LOD
signal is decadal (ms) plus a ~6-yr oscillation (~0.1 ms).

Times are calendar-exact decimal years (:mod:`bayescore.epochs`).

Length of day from a core flow
------------------------------
A zonal toroidal flow at the core surface, ``u_phi = -dT/dtheta`` with
``T = sum_l t_l0 P_l(cos theta)`` (Schmidt, t in km/yr), continued into the core as rigid
geostrophic cylinders (Jault, Gire & Le Mouel 1988, *Nature* 333, 353; Jackson, Bloxham &
Gubbins 1993, AGU Geophys. Monogr. 72): the cylinder of radius ``s = R sin(theta)``
turns at ``omega(s) = u_phi(theta) / s = (1/c) sum_l t_l0 P_l'(cos theta)``. Its axial
angular momentum relative to the mantle is ``L = int rho s^2 omega dV
= (C_c / c) sum_l K_l t_l0`` with ``K_l = int rho s^2 P_l'(sqrt(1 - s^2/R^2)) dV /
int rho s^2 dV`` (K_1 = 1; the equatorially antisymmetric even degrees carry none).
Conservation of the total axial angular momentum with the flow measured in the mantle's
frame, ``C_m dOmega + C_c (dOmega + omega) = 0``, gives

    dLOD = LOD_0 C_c / ((C_m + C_c) Omega c) * sum_l K_l t_l0,

the leading factor ``LOD_0 C_c / ((C_m + C_c) Omega c)`` in ms per km/yr. With the PREM
moments of inertia (Dziewonski & Anderson 1981, *Phys. Earth Planet. Inter.* 25, 297;
computed here from its density polynomials: C_c = 9.12e36 kg m^2 for the whole core,
C_m = 7.11e37 kg m^2 for mantle and crust), Omega = 7.292115e-5 rad/s, LOD_0 = 86400 s
and c = 3485 km it is 1.226 ms per km/yr (1.383 with C_m alone in the denominator, the
approximation C_m + C_c ~ C_m); PREM's density gives K_3 = 1.782, K_5 = 0.087,
K_7 = 0.003 (the literature's 1.776, 0.080, 0.002), a uniform density K_3 = 12/7 and
K_5 = K_7 = 0.
"""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import xarray as xr

from bayescore.constants import CORE_RADIUS_KM
from bayescore.epochs import MJD_UNIX_OFFSET_DAYS, decimal_year_from_mjd
from bayescore.errors import (
    CoefficientShapeError,
    EpochOutOfRangeError,
    InvalidSettingError,
    MalformedFileError,
    NonFiniteError,
    SeriesLengthError,
    UnevenSamplingError,
)
from bayescore.sh.indexing import degree_order_arrays, lmax_from_size

__all__ = [
    "C04_KEY",
    "DEFAULT_CUTOFF_PERIOD_YR",
    "EARTH_ROTATION_RATE",
    "NOMINAL_LOD_MS",
    "PREM_CORE_RADIUS_KM",
    "PREM_DENSITY_LAYERS",
    "annual_mean_lod",
    "decadal_lod",
    "gaussian_lowpass",
    "gaussian_lowpass_gain",
    "gaussian_sigma_yr",
    "load_lod_c04",
    "lod_change_from_zonal_flow",
    "lod_factor_ms",
    "polar_moment_of_inertia",
    "remove_linear_trend",
    "zonal_lod_weights",
]

#: Registry key (:func:`bayescore.datasets.fetch`) of the C04 file.
C04_KEY = "real/lod/eopc04.1962-now"

C04_REFERENCE = (
    "IERS 20 C04 Earth orientation series (IERS Earth Orientation Centre, Paris "
    "Observatory), consistent with ITRF 2020"
)

#: Fixed-width columns of the C04 format used here (1-based bytes, ReadMe.eopc04).
_COLUMNS = {
    "year": (1, 4),
    "month": (5, 8),
    "day": (9, 12),
    "hour": (13, 16),
    "mjd": (17, 26),
    "lod": (111, 122),
    "lod_error": (207, 218),
}
_LINE_LENGTH = 218


def _parse_columns(lines: list[str], numbers: list[int], path: Path) -> np.ndarray:
    """The :data:`_COLUMNS` of the data lines as a (lines, columns) float array."""
    short = [i for i, line in enumerate(lines) if len(line.rstrip()) < _LINE_LENGTH]
    if short:
        i = short[0]
        raise MalformedFileError(
            f"{path}, line {numbers[i]}: expected {_LINE_LENGTH} characters (C04 fixed-width "
            f"format), found {len(lines[i].rstrip())} (truncated line?)"
        )
    columns = []
    for name, (first, last) in _COLUMNS.items():
        tokens = np.array([line[first - 1 : last] for line in lines])
        try:
            values = tokens.astype(np.float64)
        except ValueError:
            bad = _first_non_number(tokens)
            raise MalformedFileError(
                f"{path}, line {numbers[bad]}: column {name} (bytes {first}-{last}) must be "
                f"a number, got {tokens[bad].strip()!r}"
            ) from None
        if not np.all(np.isfinite(values)):
            bad = int(np.flatnonzero(~np.isfinite(values))[0])
            raise MalformedFileError(f"{path}, line {numbers[bad]}: column {name} is not finite")
        columns.append(values)
    return np.stack(columns, axis=1)


def _first_non_number(tokens: np.ndarray) -> int:
    for i, token in enumerate(tokens):
        try:
            float(token)
        except ValueError:
            return i
    return 0


def load_lod_c04(path=None, *, start: float | None = None, end: float | None = None) -> xr.Dataset:
    """Read the IERS C04 Earth-orientation file and return its length of day.

    Parameters
    ----------
    path : str or path-like, optional
        The ``eopc04.1962-now`` file (fixed-width format of its ReadMe: LOD in bytes
        111-122, its error in bytes 207-218, seconds); by default located with
        :func:`bayescore.datasets.fetch` under the key :data:`C04_KEY`.
    start, end : float, optional
        Keep only the days with ``start <= time <= end`` (decimal years).

    Returns
    -------
    xarray.Dataset
        Dimension ``time`` (daily, 0h UTC, calendar-exact decimal years) with ``lod``, the
        excess length of day (ms), ``lod_error`` (ms) and the coordinate ``mjd`` (Modified
        Julian Date, days).

    Raises
    ------
    MalformedFileError
        A short or non-numeric data line, dates that disagree with the MJD column, MJDs
        that do not increase, or no data line at all (the message gives the line).
    EpochOutOfRangeError
        If ``start`` or ``end`` lies outside the series, or ``start > end``.
    DataNotFoundError
        If ``path`` is None and the file cannot be found (set ``BAYESCORE_DATA``).
    """
    from bayescore.datasets import fetch

    path = Path(fetch(C04_KEY, path))
    try:
        lines = path.read_text().splitlines()
    except UnicodeDecodeError as exc:
        raise MalformedFileError(f"{path} is not a text file ({exc})") from None
    numbers = [
        no
        for no, line in enumerate(lines, start=1)
        if line.strip() and not line.lstrip().startswith("#")
    ]
    if not numbers:
        raise MalformedFileError(f"{path}: no data line (empty file or only comments)")
    table = _parse_columns([lines[no - 1] for no in numbers], numbers, path)
    year, month, day, hour, mjd, lod_s, error_s = table.T
    months = (year.astype(np.int64) - 1970) * 12 + month.astype(np.int64) - 1
    dates = months.astype("datetime64[M]").astype("datetime64[D]") + (
        day.astype(np.int64) - 1
    ).astype("timedelta64[D]")
    date_mjd = dates.astype(np.int64) + MJD_UNIX_OFFSET_DAYS + hour / 24.0
    wrong = np.flatnonzero(np.abs(date_mjd - mjd) > 1e-6)
    if wrong.size:
        i = int(wrong[0])
        raise MalformedFileError(
            f"{path}, line {numbers[i]}: date {dates[i]} {int(hour[i])}h is MJD "
            f"{date_mjd[i]:.2f}, the MJD column says {mjd[i]:.2f}"
        )
    back = np.flatnonzero(np.diff(mjd) <= 0)
    if back.size:
        raise MalformedFileError(f"{path}, line {numbers[int(back[0]) + 1]}: MJD does not increase")
    time = decimal_year_from_mjd(mjd)
    dataset = xr.Dataset(
        {
            "lod": ("time", lod_s * 1000.0, {"units": "ms", "long_name": "excess length of day"}),
            "lod_error": ("time", error_s * 1000.0, {"units": "ms"}),
        },
        coords={
            "time": ("time", time, {"units": "decimal year", "long_name": "0h UTC"}),
            "mjd": ("time", mjd, {"units": "day", "long_name": "Modified Julian Date"}),
        },
        attrs={"source_file": path.name, "reference": C04_REFERENCE},
    )
    if start is None and end is None:
        return dataset
    first, last = float(time[0]), float(time[-1])
    lo = first if start is None else float(start)
    hi = last if end is None else float(end)
    if not (first <= lo <= hi <= last):
        raise EpochOutOfRangeError(
            f"requested interval {lo}-{hi} is not inside the C04 series {first:.4f}-"
            f"{last:.4f} (or start > end)"
        )
    return dataset.isel(time=np.flatnonzero((time >= lo) & (time <= hi)))


def annual_mean_lod(lod: xr.Dataset) -> xr.Dataset:
    """Calendar-year means of a daily LOD series.

    Parameters
    ----------
    lod : xarray.Dataset
        Output of :func:`load_lod_c04` (``lod`` in ms along ``time``).

    Returns
    -------
    xarray.Dataset
        Dimension ``year`` (integer calendar years present in the series) with ``lod``,
        the mean excess length of day of that year's days (ms), and ``n_days``.

    Raises
    ------
    SeriesLengthError
        If the series is empty.
    """
    if lod.sizes.get("time", 0) == 0:
        raise SeriesLengthError("annual_mean_lod needs at least one daily value")
    years = np.floor(np.asarray(lod["time"].values)).astype(int)
    grouped = lod["lod"].assign_coords(year=("time", years)).groupby("year")
    return xr.Dataset(
        {
            "lod": grouped.mean().assign_attrs(units="ms", long_name="annual mean excess LOD"),
            "n_days": grouped.count(),
        }
    )


# ----------------------------------------------------------------------------- LOD from flows
#: Nominal rotation rate of the Earth, rad/s (IERS Conventions 2010, Table 1.1).
EARTH_ROTATION_RATE = 7.292115e-5

#: Nominal length of day, ms.
NOMINAL_LOD_MS = 86_400_000.0

#: PREM's radius of the core-mantle boundary, km (Dziewonski & Anderson 1981).
PREM_CORE_RADIUS_KM = 3480.0

#: PREM density (Dziewonski & Anderson 1981, Table 1): layers ``(r_inner, r_outer,
#: (a0, a1, a2, a3))`` in km with ``rho = a0 + a1 x + a2 x^2 + a3 x^3`` g/cm^3,
#: ``x = r / 6371 km`` (isotropic, ocean layer included).
PREM_DENSITY_LAYERS = (
    (0.0, 1221.5, (13.0885, 0.0, -8.8381, 0.0)),
    (1221.5, 3480.0, (12.5815, -1.2638, -3.6426, -5.5281)),
    (3480.0, 5701.0, (7.9565, -6.4761, 5.5283, -3.0807)),
    (5701.0, 5771.0, (5.3197, -1.4836, 0.0, 0.0)),
    (5771.0, 5971.0, (11.2494, -8.0298, 0.0, 0.0)),
    (5971.0, 6151.0, (7.1089, -3.8045, 0.0, 0.0)),
    (6151.0, 6346.6, (2.6910, 0.6924, 0.0, 0.0)),
    (6346.6, 6356.0, (2.900, 0.0, 0.0, 0.0)),
    (6356.0, 6368.0, (2.600, 0.0, 0.0, 0.0)),
    (6368.0, 6371.0, (1.020, 0.0, 0.0, 0.0)),
)
_PREM_SCALE_KM = 6371.0
#: Gauss-Legendre points per layer and in cos(theta): exact for the polynomial integrands
#: of cubic densities up to flow degree 88.
_QUADRATURE_POINTS = 48


def _layer_nodes(layers, r_min: float, r_max: float):
    """Radii (km), weights (km) and densities (kg/m^3) of a quadrature over [r_min, r_max]."""
    nodes, weights = np.polynomial.legendre.leggauss(_QUADRATURE_POINTS)
    radii, widths, density = [], [], []
    for inner, outer, coefficients in layers:
        a, b = max(inner, r_min), min(outer, r_max)
        if b <= a:
            continue
        r = 0.5 * (b - a) * nodes + 0.5 * (b + a)
        x = r / _PREM_SCALE_KM
        a0, a1, a2, a3 = coefficients
        radii.append(r)
        widths.append(0.5 * (b - a) * weights)
        density.append(1000.0 * (a0 + x * (a1 + x * (a2 + x * a3))))
    if not radii:
        raise InvalidSettingError(f"no density layer inside {r_min}-{r_max} km")
    return np.concatenate(radii), np.concatenate(widths), np.concatenate(density)


def polar_moment_of_inertia(r_min_km: float, r_max_km: float, layers=PREM_DENSITY_LAYERS) -> float:
    """Axial moment of inertia of a spherically symmetric shell, ``(8 pi/3) int rho r^4 dr``.

    Parameters
    ----------
    r_min_km, r_max_km : float
        Inner and outer radius of the shell, km.
    layers : sequence of (float, float, tuple), default PREM
        Density layers in the format of :data:`PREM_DENSITY_LAYERS`.

    Returns
    -------
    float
        Moment of inertia, kg m^2 (PREM: 9.12e36 for the core, 0 to 3480 km; 7.11e37 for
        mantle and crust; 8.02e37 for the Earth, C / (M a^2) = 0.3308).
    """
    r, width, rho = _layer_nodes(layers, r_min_km, r_max_km)
    return float(8.0 * np.pi / 3.0 * np.sum(width * rho * r**4) * 1e15)  # km^5 -> m^5


def lod_factor_ms(
    core_moment: float | None = None,
    mantle_moment: float | None = None,
    core_radius_km: float = CORE_RADIUS_KM,
) -> float:
    """Length-of-day change per km/yr of solid-body core rotation t10 (module docstring).

    ``LOD_0 C_c / ((C_m + C_c) Omega c)``: the rotation ``omega = t10 / c`` of the core
    relative to the mantle changes the mantle's rotation by ``-C_c omega / (C_m + C_c)``.

    Parameters
    ----------
    core_moment, mantle_moment : float, optional
        Axial moments of inertia C_c and C_m, kg m^2; by default PREM's (core 0-3480 km,
        mantle and crust 3480-6371 km, :func:`polar_moment_of_inertia`).
    core_radius_km : float, default 3485.0
        Radius c of the flow coefficients, km.

    Returns
    -------
    float
        ms of LOD per km/yr of t10 (1.226 with the defaults).
    """
    if core_moment is None:
        core_moment = polar_moment_of_inertia(0.0, PREM_CORE_RADIUS_KM)
    if mantle_moment is None:
        mantle_moment = polar_moment_of_inertia(PREM_CORE_RADIUS_KM, _PREM_SCALE_KM)
    seconds_per_year = 365.25 * 86400.0
    omega_per_unit_t10 = 1.0 / (core_radius_km * seconds_per_year)  # rad/s per km/yr
    ratio = core_moment / (core_moment + mantle_moment)
    return NOMINAL_LOD_MS * ratio * omega_per_unit_t10 / EARTH_ROTATION_RATE


def zonal_lod_weights(
    lmax: int, layers=PREM_DENSITY_LAYERS, core_radius_km: float = PREM_CORE_RADIUS_KM
) -> np.ndarray:
    """Angular-momentum weights K_l of the zonal toroidal coefficients t_l0 (K_1 = 1).

    ``K_l = int rho s^2 P_l'(sqrt(1 - s^2/R^2)) dV / int rho s^2 dV`` over the core
    (radius R), the angular momentum of geostrophic cylinders driven by t_l0 relative to a
    solid-body rotation of the same t10 (module docstring). Computed by Gauss-Legendre
    quadrature in r (per density layer) and cos(theta), exact for polynomial densities.

    Parameters
    ----------
    lmax : int
        Highest degree.
    layers : sequence, default PREM
        Density layers in the format of :data:`PREM_DENSITY_LAYERS`; only the part
        inside ``core_radius_km`` is used (a zero density excludes a region, e.g. the
        inner core).
    core_radius_km : float, default 3480.0
        Radius R of the core in the density model, km.

    Returns
    -------
    numpy.ndarray, shape (lmax,)
        K_l for l = 1..lmax; 0 for even l (equatorially antisymmetric flows).
    """
    r, width, rho = _layer_nodes(layers, 0.0, core_radius_km)
    mu, mu_weights = np.polynomial.legendre.leggauss(_QUADRATURE_POINTS)
    sin2 = 1.0 - mu**2
    # s^2 dV ~ r^4 sin^3(theta) dr dtheta = r^4 (1 - mu^2) dr dmu
    weight = (width * rho * r**4)[:, None] * (mu_weights * sin2)[None, :]
    x_cylinder = np.sqrt(1.0 - (r[:, None] / core_radius_km) ** 2 * sin2[None, :])
    out = np.zeros(int(lmax))
    for ell in range(1, int(lmax) + 1, 2):  # one Legendre derivative per odd degree
        derivative = np.polynomial.legendre.Legendre.basis(ell).deriv()
        out[ell - 1] = np.sum(weight * derivative(x_cylinder)) / np.sum(weight)
    return out


def lod_change_from_zonal_flow(t, *, factor_ms: float | None = None, weights=None):
    """Length-of-day change (ms) from the toroidal flow coefficients at the core surface.

    ``dLOD = factor_ms * sum_l K_l t_l0`` (module docstring); positive for an eastward
    (t10 > 0) rotation of the core relative to the mantle, which slows the mantle. Only
    changes between epochs are meaningful.

    Parameters
    ----------
    t : array_like, shape (..., L(L+2))
        Toroidal coefficients t (km/yr, Schmidt, order t10, t11, ...); the zonal ones
        (m = 0) are used.
    factor_ms : float, optional
        ms per km/yr of t10; default :func:`lod_factor_ms` (PREM, 1.226).
    weights : array_like, shape (L,), optional
        K_l for l = 1..L; default :func:`zonal_lod_weights` (PREM).

    Returns
    -------
    numpy.ndarray, shape (...)
        LOD change, ms.

    Raises
    ------
    CoefficientShapeError
        If the last axis of ``t`` is not L(L+2) long or ``weights`` is not (L,).
    """
    t = np.asarray(t, dtype=float)
    lmax = lmax_from_size(t.shape[-1], "toroidal coefficients t")
    weights = zonal_lod_weights(lmax) if weights is None else np.asarray(weights, dtype=float)
    if weights.shape != (lmax,):
        raise CoefficientShapeError(
            f"weights must have shape ({lmax},) for degree {lmax}, got {weights.shape}"
        )
    factor_ms = lod_factor_ms() if factor_ms is None else float(factor_ms)
    degree, order, _ = degree_order_arrays(lmax)
    zonal = np.flatnonzero(order == 0)
    return factor_ms * (t[..., zonal] @ weights[degree[zonal] - 1])


# ----------------------------------------------------------------------------- decadal signal
#: Default cut-off period of the decadal low-pass, years (gain 1/2 there).
DEFAULT_CUTOFF_PERIOD_YR = 6.0

#: The Gaussian kernel is truncated at this many standard deviations (weight
#: ``exp(-8) = 3.4e-4`` of the centre's there; the gain changes by less than 1e-3).
_KERNEL_HALF_WIDTH_SIGMAS = 4.0


def gaussian_sigma_yr(cutoff_period_yr: float) -> float:
    """Standard deviation (yr) of the Gaussian kernel whose gain is 1/2 at the cut-off period.

    A Gaussian kernel of standard deviation sigma has the gain
    ``H(f) = exp(-2 pi^2 sigma^2 f^2)``; ``H(1/P_c) = 1/2`` gives
    ``sigma = sqrt(ln 2 / 2) P_c / pi = 0.187 P_c`` (1.12 yr for P_c = 6 yr).

    Parameters
    ----------
    cutoff_period_yr : float
        Period P_c (yr) at which the gain is 1/2; positive.

    Returns
    -------
    float
        sigma, yr.
    """
    cutoff = float(cutoff_period_yr)
    if not (np.isfinite(cutoff) and cutoff > 0):
        raise InvalidSettingError(
            f"cutoff_period_yr must be positive and finite, got {cutoff_period_yr!r}"
        )
    return math.sqrt(math.log(2.0) / 2.0) * cutoff / math.pi


def gaussian_lowpass_gain(period_yr, cutoff_period_yr: float = DEFAULT_CUTOFF_PERIOD_YR):
    """Gain of :func:`gaussian_lowpass` for a sinusoid of the given period (away from the ends).

    Parameters
    ----------
    period_yr : float or array_like
        Periods, yr.
    cutoff_period_yr : float, default 6.0
        Cut-off period P_c, yr.

    Returns
    -------
    numpy.ndarray
        ``exp(-ln 2 (P_c / P)^2)``: 1/2 at P = P_c, 0.94 at 4 P_c, 0.06 at P_c / 2.
    """
    period = np.asarray(period_yr, dtype=float)
    return np.exp(-math.log(2.0) * (float(cutoff_period_yr) / period) ** 2)


def _even_step(times: np.ndarray) -> float:
    if times.ndim != 1 or times.size < 2:
        raise SeriesLengthError(f"need at least two sample times, got shape {times.shape}")
    steps = np.diff(times)
    step = float(np.mean(steps))
    if not step > 0 or np.max(np.abs(steps - step)) > 1e-6 * step:
        raise UnevenSamplingError(
            "the low-pass filter needs evenly spaced, increasing sample times "
            f"(steps from {steps.min():g} to {steps.max():g} yr)"
        )
    return step


def gaussian_lowpass(times, values, cutoff_period_yr: float = DEFAULT_CUTOFF_PERIOD_YR):
    """Low-pass an evenly sampled series with a Gaussian kernel (decadal LOD).

    The kernel has the standard deviation :func:`gaussian_sigma_yr` (gain 1/2 at
    ``cutoff_period_yr``, :func:`gaussian_lowpass_gain` at other periods) and is truncated
    at 4 sigma. Beyond the ends the series is continued by odd reflection about the end
    values (``x[-k] = 2 x[0] - x[k]``, as ``scipy.signal.filtfilt(padtype="odd")``), so
    that a straight line passes unchanged up to the ends; within 4 sigma of either end
    the gain for other signals differs from :func:`gaussian_lowpass_gain`.

    Parameters
    ----------
    times : array_like, shape (n,)
        Evenly spaced, increasing sample times, yr.
    values : array_like, shape (..., n)
        The series (any unit); leading dimensions are filtered independently.
    cutoff_period_yr : float, default 6.0
        Period (yr) at which the gain is 1/2.

    Returns
    -------
    numpy.ndarray, shape (..., n)
        The filtered series, in the unit of ``values``.

    Raises
    ------
    UnevenSamplingError
        If the sample times are not evenly spaced and increasing.
    SeriesLengthError
        If there are fewer than ``4 sigma / step + 1`` samples (the kernel's half-width).
    NonFiniteError
        If a value or time is NaN or infinite.
    """
    times = np.asarray(times, dtype=float)
    values = np.asarray(values, dtype=float)
    if not (np.all(np.isfinite(times)) and np.all(np.isfinite(values))):
        raise NonFiniteError("gaussian_lowpass needs finite times and values")
    step = _even_step(times)
    if values.shape[-1] != times.size:
        raise SeriesLengthError(
            f"values have {values.shape[-1]} samples along the last axis, times {times.size}"
        )
    sigma = gaussian_sigma_yr(cutoff_period_yr) / step  # in samples
    half = int(math.ceil(_KERNEL_HALF_WIDTH_SIGMAS * sigma))
    n = times.size
    if half > n - 1:
        raise SeriesLengthError(
            f"the low-pass kernel reaches {half} samples to either side, the series has only "
            f"{n} samples (at least {half + 1} are needed; shorten cutoff_period_yr)"
        )
    kernel = np.exp(-0.5 * (np.arange(-half, half + 1) / sigma) ** 2)
    kernel /= kernel.sum()
    first, last = values[..., :1], values[..., -1:]
    padded = np.concatenate(
        [
            2.0 * first - values[..., half:0:-1],
            values,
            2.0 * last - values[..., -2 : -half - 2 : -1],
        ],
        axis=-1,
    )
    return sum(weight * padded[..., k : k + n] for k, weight in enumerate(kernel))


def remove_linear_trend(times, values):
    """Subtract the least-squares straight line from a series.

    Parameters
    ----------
    times : array_like, shape (n,)
        Sample times, yr.
    values : array_like, shape (..., n)
        The series; leading dimensions are detrended independently.

    Returns
    -------
    residual : numpy.ndarray, shape (..., n)
        ``values - (intercept + slope (times - mean(times)))``.
    slope : numpy.ndarray, shape (...)
        Fitted slope, unit of ``values`` per yr (ms/yr for LOD; ms/cy is 100 times it).
    intercept : numpy.ndarray, shape (...)
        Fitted value at ``mean(times)``.

    Raises
    ------
    SeriesLengthError
        If there are fewer than three samples (a line through two leaves nothing).
    """
    times = np.asarray(times, dtype=float)
    values = np.asarray(values, dtype=float)
    if times.ndim != 1 or times.size < 3 or values.shape[-1] != times.size:
        raise SeriesLengthError(
            f"remove_linear_trend needs at least 3 samples with matching times, got times "
            f"{times.shape} and values {values.shape}"
        )
    centred = times - times.mean()
    slope = (values @ centred) / (centred @ centred)
    intercept = values.mean(axis=-1)
    residual = values - intercept[..., None] - slope[..., None] * centred
    return residual, slope, intercept


def decadal_lod(
    lod: xr.Dataset,
    *,
    start: int | None = None,
    end: int | None = None,
    cutoff_period_yr: float = DEFAULT_CUTOFF_PERIOD_YR,
    min_days: int = 300,
) -> xr.Dataset:
    """Decadal LOD: calendar-year means, low-passed, and the same detrended.

    Steps (documented in ``docs/studies/lod.md``): (1) calendar-year means of the daily
    series (:func:`annual_mean_lod`; removes the annual and semi-annual signal and the
    short-period zonal tides), stamped at mid-year ``year + 0.5``; years with fewer than
    ``min_days`` days are dropped (the running year); (2) the Gaussian low-pass
    :func:`gaussian_lowpass` (gain 1/2 at ``cutoff_period_yr``; removes most of the
    interannual atmospheric signal, ENSO included; the 18.6-yr zonal tide, about 0.15 ms
    in amplitude, is *not* removed); (3) the least-squares straight line over the kept
    years is subtracted (:func:`remove_linear_trend`): the secular increase by tidal
    braking (about +2.3 ms/cy) less glacial isostatic adjustment (about -0.6 ms/cy) is not
    a core signal.

    Parameters
    ----------
    lod : xarray.Dataset
        Daily series as from :func:`load_lod_c04` (``lod`` in ms along ``time``).
    start, end : int, optional
        First and last calendar year kept (default: every complete year).
    cutoff_period_yr : float, default 6.0
        Cut-off period of the low-pass, yr.
    min_days : int, default 300
        Fewest days for a year's mean to be kept.

    Returns
    -------
    xarray.Dataset
        Dimension ``time`` (mid-year, decimal years) with ``annual`` (annual means, ms),
        ``filtered`` (low-passed, ms), ``detrended`` (low-passed less its line, ms); the
        line's ``trend_ms_per_cy`` and the ``cutoff_period_yr`` as attributes.

    Raises
    ------
    EpochOutOfRangeError
        If ``start`` or ``end`` lies outside the complete years of the series.
    SeriesLengthError
        If fewer than three years remain.
    """
    annual = annual_mean_lod(lod)
    annual = annual.isel(year=np.flatnonzero(annual["n_days"].values >= int(min_days)))
    years = annual["year"].values
    if years.size == 0:
        raise SeriesLengthError(f"no calendar year with at least {min_days} daily values")
    lo = int(years[0]) if start is None else int(start)
    hi = int(years[-1]) if end is None else int(end)
    if not (years[0] <= lo <= hi <= years[-1]):
        raise EpochOutOfRangeError(
            f"years {lo}-{hi} are not inside the complete years {years[0]}-{years[-1]} of "
            "the LOD series (or start > end)"
        )
    keep = (years >= lo) & (years <= hi)
    years = years[keep]
    if np.any(np.diff(years) != 1):
        raise UnevenSamplingError("the LOD series has a missing calendar year inside the span")
    values = annual["lod"].values[keep]
    times = years + 0.5
    filtered = gaussian_lowpass(times, values, cutoff_period_yr)
    detrended, slope, _ = remove_linear_trend(times, filtered)
    unit = {"units": "ms"}
    return xr.Dataset(
        {
            "annual": ("time", values, {**unit, "long_name": "calendar-year mean excess LOD"}),
            "filtered": ("time", filtered, {**unit, "long_name": "low-passed excess LOD"}),
            "detrended": ("time", detrended, {**unit, "long_name": "low-passed, detrended"}),
        },
        coords={"time": ("time", times, {"units": "decimal year", "long_name": "mid-year"})},
        attrs={
            "trend_ms_per_cy": float(slope) * 100.0,
            "cutoff_period_yr": float(cutoff_period_yr),
        },
    )
