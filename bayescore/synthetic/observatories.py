"""Ground magnetic observatories: sites, geodetic-to-geocentric conversion, sampling.

The site table (``observatory_sites.csv``, package data beside this module: one site a
line, ``#`` lines name the regions) holds approximate coordinates of INTERMAGNET/WDC
observatories, compiled from public lists: IAGA code, name, geodetic latitude and east
longitude (degrees, to about 0.1 degree; sites whose position was not known to within
about a degree were left out rather than guessed) and elevation above the ellipsoid (m,
approximate). The synthetic data are computed at the tabulated positions, so an error in
the table moves a site but makes no inconsistency between data and truth. The table has
149 sites (the paper's data set had 137 observatories). Like the real network it is dense
in Europe, North America and East Asia, sparse in the southern hemisphere and over the
oceans.

Positions are converted to geocentric (r, theta, phi) with the WGS84 ellipsoid
(:func:`geodetic_to_geocentric`); bayescore works in geocentric coordinates only (the
conventions page of the documentation), so the vector components simulated at an
observatory are the geocentric B_r, B_theta, B_phi, not the geodetic X, Y, Z.
"""

from __future__ import annotations

import csv
import functools
from importlib import resources
from typing import NamedTuple

import numpy as np

from bayescore.errors import ModelConfigError

__all__ = [
    "WGS84_SEMI_MAJOR_AXIS_KM",
    "WGS84_FLATTENING",
    "ObservatorySites",
    "geodetic_to_geocentric",
    "observatory_sites",
    "observatory_epochs",
]

#: Semi-major axis of the WGS84 ellipsoid (km).
WGS84_SEMI_MAJOR_AXIS_KM = 6378.137
#: Flattening of the WGS84 ellipsoid.
WGS84_FLATTENING = 1.0 / 298.257223563

#: The site table, package data beside this module (module notes).
_SITES_FILE = "observatory_sites.csv"


@functools.cache
def _site_table() -> tuple[tuple[str, str, float, float, float], ...]:
    """Rows (code, name, latitude_deg, longitude_deg, elevation_m) of the site table."""
    text = resources.files(__package__).joinpath(_SITES_FILE).read_text(encoding="utf-8")
    rows = csv.DictReader(line for line in text.splitlines() if not line.startswith("#"))
    return tuple(
        (
            row["code"],
            row["name"],
            float(row["latitude_deg"]),
            float(row["longitude_deg"]),
            float(row["elevation_m"]),
        )
        for row in rows
    )


class ObservatorySites(NamedTuple):
    """Observatory sites, geodetic and geocentric positions (arrays of equal length).

    Attributes
    ----------
    code, name : numpy.ndarray of str
        IAGA code and name.
    latitude_deg, longitude_deg : numpy.ndarray
        Geodetic latitude and east longitude in (-180, 180], degrees.
    elevation_m : numpy.ndarray
        Height above the WGS84 ellipsoid, m.
    r, theta, phi : numpy.ndarray
        Geocentric radius (km), colatitude (rad, [0, pi]) and longitude (rad, [0, 2 pi)).
    """

    code: np.ndarray
    name: np.ndarray
    latitude_deg: np.ndarray
    longitude_deg: np.ndarray
    elevation_m: np.ndarray
    r: np.ndarray
    theta: np.ndarray
    phi: np.ndarray


def geodetic_to_geocentric(latitude_deg, height_km):
    """Convert WGS84 geodetic latitude and height to geocentric radius and colatitude.

    Through Earth-centred Cartesian coordinates: with ``e^2 = f (2 - f)`` and the prime
    vertical radius ``N = a / sqrt(1 - e^2 sin^2 lat)``,
    ``rho = (N + h) cos lat`` and ``z = (N (1 - e^2) + h) sin lat``; then
    ``r = hypot(rho, z)`` and ``theta = atan2(rho, z)``.

    Parameters
    ----------
    latitude_deg : array_like
        Geodetic latitude, degrees, in [-90, 90].
    height_km : array_like
        Height above the ellipsoid, km (broadcast against ``latitude_deg``).

    Returns
    -------
    r : numpy.ndarray
        Geocentric radius, km.
    theta : numpy.ndarray
        Geocentric colatitude, rad.

    Raises
    ------
    ValueError
        If a latitude lies outside [-90, 90] degrees or an input is not finite.
    """
    lat_deg = np.asarray(latitude_deg, dtype=float)
    height = np.asarray(height_km, dtype=float)
    if not (np.all(np.isfinite(lat_deg)) and np.all(np.isfinite(height))):
        raise ModelConfigError("geodetic latitude and height must be finite")
    if np.any(np.abs(lat_deg) > 90.0):
        raise ModelConfigError(
            f"geodetic latitude must lie in [-90, 90] degrees, got values up to "
            f"{np.max(np.abs(lat_deg))}"
        )
    lat = np.radians(lat_deg)
    e2 = WGS84_FLATTENING * (2.0 - WGS84_FLATTENING)
    sin_lat, cos_lat = np.sin(lat), np.cos(lat)
    prime_vertical = WGS84_SEMI_MAJOR_AXIS_KM / np.sqrt(1.0 - e2 * sin_lat**2)
    rho = (prime_vertical + height) * cos_lat
    z = (prime_vertical * (1.0 - e2) + height) * sin_lat
    return np.hypot(rho, z), np.arctan2(rho, z)


def observatory_sites(codes=None) -> ObservatorySites:
    """The observatory site table, with geocentric positions.

    Parameters
    ----------
    codes : sequence of str, optional
        IAGA codes to return, in that order; default all sites (alphabetical by region as
        listed in the table).

    Returns
    -------
    ObservatorySites

    Raises
    ------
    KeyError
        If a requested code is not in the table.
    """
    sites = _site_table()
    table = {row[0]: row for row in sites}
    if codes is None:
        rows = list(sites)
    else:
        missing = [c for c in codes if c not in table]
        if missing:
            raise KeyError(f"unknown observatory codes {missing}; see observatory_sites()")
        rows = [table[c] for c in codes]
    code = np.array([row[0] for row in rows])
    name = np.array([row[1] for row in rows])
    lat = np.array([row[2] for row in rows], dtype=float)
    lon = np.array([row[3] for row in rows], dtype=float)
    elevation = np.array([row[4] for row in rows], dtype=float)
    r, theta = geodetic_to_geocentric(lat, elevation / 1000.0)
    phi = np.mod(np.radians(lon), 2.0 * np.pi)
    return ObservatorySites(code, name, lat, lon, elevation, r, theta, phi)


def observatory_epochs(start: float, end: float, interval_days: float = 365.25 / 12) -> np.ndarray:
    """Epochs of observatory means (centres of consecutive averaging windows).

    Parameters
    ----------
    start, end : float
        Span covered, decimal years (``start < end``).
    interval_days : float, default 365.25 / 12
        Length of an averaging window, days (monthly means by default; 1/24 for hourly).

    Returns
    -------
    numpy.ndarray
        Centres ``start + (k + 1/2) * interval`` of the whole windows that fit in the span,
        decimal years; the span's centre alone if no whole window fits.

    Raises
    ------
    ValueError
        If ``end <= start`` or ``interval_days <= 0``.
    """
    start, end, interval_days = float(start), float(end), float(interval_days)
    if not end > start:
        raise ModelConfigError(f"observatory span must have end > start, got ({start}, {end})")
    if not np.isfinite(interval_days) or interval_days <= 0.0:
        raise ModelConfigError(f"interval_days must be positive, got {interval_days}")
    interval = interval_days / 365.25
    n = int(np.floor((end - start) / interval + 1e-9))
    if n == 0:  # one window longer than the span: its mean is taken at the span's centre
        return np.array([0.5 * (start + end)])
    return start + (np.arange(n) + 0.5) * interval
