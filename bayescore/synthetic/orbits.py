"""Positions of a near-polar low-Earth-orbit satellite (CHAMP-like), geocentric.

The orbit is circular, of radius ``a_E + h`` (``a_E`` = 6371.2 km, the reference radius
of the Gauss coefficients, so that the altitude is above the mean sphere, not above the
ellipsoid). In the inertial frame the satellite moves on its orbital plane at the
Keplerian mean motion ``n = sqrt(GM / R^3)`` (argument of latitude ``u = u0 + n t``); the
plane is tilted by the inclination ``i`` and its ascending node precesses at the J2 rate

    dOmega/dt = -3/2 n J2 (R_eq / R)^2 cos(i)            (circular orbit),

with the WGS84/EGM96 values GM = 398600.4418 km^3/s^2, J2 = 1.08263e-3 and
R_eq = 6378.137 km. Beneath it the Earth turns at the sidereal rate
omega_E = 7.2921150e-5 rad/s. The J2 perturbations of the argument of latitude (a
0.1 % change of the orbital period) and the slow orbital decay are neglected: they do not
change the sampling geometry that matters for field modelling.

Inertial position (x toward the vernal equinox, z along the rotation axis)::

    x = R (cos Omega cos u - sin Omega sin u cos i)
    y = R (sin Omega cos u + cos Omega sin u cos i)
    z = R sin u sin i

so the geocentric latitude is ``asin(sin u sin i)``: it never exceeds ``i`` (for
i <= 90 deg) and reaches it at the top of each orbit. The Earth-fixed longitude is the
inertial longitude minus the Earth rotation angle.

Time is in decimal years of 365.25 days (Julian years): the conversion to seconds is
``(t - t_start) * 365.25 * 86400``. The Earth rotation angle at 2000.0 is taken as that of
J2000 (0.7790572732640 turns); this fixes the phase of the longitudes only roughly (to
within the half day between 2000.0 and J2000), which is irrelevant for synthetic data.
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np

from bayescore.constants import EARTH_REFERENCE_RADIUS_KM
from bayescore.errors import ModelConfigError

__all__ = [
    "EARTH_GM_KM3_S2",
    "EARTH_J2",
    "EARTH_EQUATORIAL_RADIUS_KM",
    "EARTH_ROTATION_RATE_RAD_S",
    "SECONDS_PER_YEAR",
    "OrbitSamples",
    "nodal_precession_rate",
    "orbit_positions",
    "orbital_period",
    "satellite_orbit",
]

#: Geocentric gravitational constant (km^3/s^2), WGS84.
EARTH_GM_KM3_S2 = 398600.4418
#: Second zonal harmonic of the gravity field (EGM96, unnormalised).
EARTH_J2 = 1.08263e-3
#: Equatorial radius of the WGS84 ellipsoid (km), the reference radius of J2.
EARTH_EQUATORIAL_RADIUS_KM = 6378.137
#: Sidereal rotation rate of the Earth (rad/s).
EARTH_ROTATION_RATE_RAD_S = 7.2921150e-5
#: Seconds in a decimal (Julian) year of 365.25 days.
SECONDS_PER_YEAR = 365.25 * 86400.0
#: Earth rotation angle at 2000.0 in turns (the J2000 value, see the module notes).
_ROTATION_ANGLE_2000_TURNS = 0.7790572732640


class OrbitSamples(NamedTuple):
    """Geocentric positions of a satellite along its orbit.

    Attributes
    ----------
    t : numpy.ndarray
        Times, decimal years.
    r : numpy.ndarray
        Geocentric radius, km.
    theta : numpy.ndarray
        Geocentric colatitude, rad, in [0, pi].
    phi : numpy.ndarray
        East longitude, rad, in [0, 2 pi).
    """

    t: np.ndarray
    r: np.ndarray
    theta: np.ndarray
    phi: np.ndarray


def _check_orbit_radius(altitude_km: float) -> float:
    altitude_km = float(altitude_km)
    if not np.isfinite(altitude_km) or altitude_km <= 0.0:
        raise ModelConfigError(f"altitude_km must be a positive number of km, got {altitude_km}")
    return EARTH_REFERENCE_RADIUS_KM + altitude_km


def orbital_period(altitude_km: float = 400.0) -> float:
    """Keplerian period of a circular orbit.

    Parameters
    ----------
    altitude_km : float, default 400
        Altitude above the sphere of radius a_E = 6371.2 km, km.

    Returns
    -------
    float
        Period, s (about 5550 s at 400 km).
    """
    radius = _check_orbit_radius(altitude_km)
    return 2.0 * np.pi * np.sqrt(radius**3 / EARTH_GM_KM3_S2)


def nodal_precession_rate(altitude_km: float = 400.0, inclination_deg: float = 87.0) -> float:
    """J2 precession rate of the ascending node of a circular orbit.

    ``dOmega/dt = -3/2 n J2 (R_eq / R)^2 cos(i)`` with ``n`` the mean motion.

    Parameters
    ----------
    altitude_km : float, default 400
        Altitude above the sphere of radius a_E = 6371.2 km, km.
    inclination_deg : float, default 87
        Inclination, degrees (prograde below 90, retrograde above).

    Returns
    -------
    float
        Rate of change of the right ascension of the ascending node, rad/s (negative,
        westward, for a prograde orbit; +0.9856 deg/day for a sun-synchronous one).
    """
    radius = _check_orbit_radius(altitude_km)
    mean_motion = np.sqrt(EARTH_GM_KM3_S2 / radius**3)
    return (
        -1.5
        * mean_motion
        * EARTH_J2
        * (EARTH_EQUATORIAL_RADIUS_KM / radius) ** 2
        * np.cos(np.radians(inclination_deg))
    )


def satellite_orbit(
    start: float = 2005.0,
    duration_years: float = 1.0,
    *,
    dt_seconds: float = 60.0,
    thin: int = 1,
    **elements,
) -> OrbitSamples:
    """Sample a circular, precessing, near-polar orbit over a rotating Earth.

    Parameters
    ----------
    start : float, default 2005.0
        Time of the first sample, decimal years.
    duration_years : float, default 1.0
        Length of the sampled interval, years (of 365.25 days). Samples lie in
        ``[start, start + duration_years)``.
    dt_seconds : float, default 60
        Sampling interval along the orbit, s.
    thin : int, default 1
        Keep one sample in ``thin`` (the kept samples are ``thin * dt_seconds`` apart).
    **elements
        The orbit: ``altitude_km``, ``inclination_deg``, ``node_rate_rad_s``,
        ``initial_node_deg``, ``initial_argument_deg``, as in :func:`orbit_positions`
        (default a 400 km high orbit inclined at 87 degrees, J2 node precession, node and
        argument of latitude 0 at ``start``).

    Returns
    -------
    OrbitSamples
        Named tuple ``(t, r, theta, phi)``: decimal years, km, rad, rad.

    Raises
    ------
    ValueError
        For a non-positive duration, interval, thinning or altitude, or an inclination
        outside (0, 180) degrees.
    """
    duration_years = float(duration_years)
    dt_seconds = float(dt_seconds)
    if not np.isfinite(duration_years) or duration_years <= 0.0:
        raise ModelConfigError(f"duration_years must be positive, got {duration_years}")
    if not np.isfinite(dt_seconds) or dt_seconds <= 0.0:
        raise ModelConfigError(f"dt_seconds must be a positive number of seconds, got {dt_seconds}")
    if int(thin) != thin or thin < 1:
        raise ModelConfigError(f"thin must be a positive integer, got {thin}")

    step = dt_seconds * int(thin)
    n_samples = int(np.ceil(duration_years * SECONDS_PER_YEAR / step - 1e-9))
    t = float(start) + np.arange(n_samples) * step / SECONDS_PER_YEAR
    return orbit_positions(t, float(start), **elements)


def orbit_positions(
    t,
    epoch: float,
    *,
    altitude_km: float = 400.0,
    inclination_deg: float = 87.0,
    node_rate_rad_s: float | None = None,
    initial_node_deg: float = 0.0,
    initial_argument_deg: float = 0.0,
) -> OrbitSamples:
    """Positions of the orbit of :func:`satellite_orbit` at arbitrary times.

    Parameters
    ----------
    t : array_like
        Times, decimal years (any order).
    epoch : float
        Time at which the node and argument of latitude take their initial values,
        decimal years.
    altitude_km : float, default 400
        Altitude above the sphere of radius a_E = 6371.2 km, km.
    inclination_deg : float, default 87
        Orbit inclination, degrees, in (0, 180).
    node_rate_rad_s : float, optional
        Precession rate of the ascending node, rad/s; default the J2 rate
        (:func:`nodal_precession_rate`).
    initial_node_deg : float, default 0
        Right ascension of the ascending node at ``epoch``, degrees.
    initial_argument_deg : float, default 0
        Argument of latitude (angle from the ascending node) at ``epoch``, degrees.

    Returns
    -------
    OrbitSamples
        ``(t, r, theta, phi)``: decimal years, km, rad, rad (1-D).

    Raises
    ------
    ValueError
        For a non-positive altitude, an inclination outside (0, 180) degrees or
        non-finite times.
    """
    radius = _check_orbit_radius(altitude_km)
    if not 0.0 < float(inclination_deg) < 180.0:
        raise ModelConfigError(
            f"inclination_deg must lie in (0, 180) degrees, got {inclination_deg}"
        )
    t = np.asarray(t, dtype=float).ravel()
    if not np.all(np.isfinite(t)):
        raise ModelConfigError("orbit times must be finite decimal years")
    if node_rate_rad_s is None:
        node_rate_rad_s = nodal_precession_rate(altitude_km, inclination_deg)
    seconds = (t - float(epoch)) * SECONDS_PER_YEAR

    mean_motion = np.sqrt(EARTH_GM_KM3_S2 / radius**3)
    inclination = np.radians(inclination_deg)
    u = np.radians(initial_argument_deg) + mean_motion * seconds
    node = np.radians(initial_node_deg) + node_rate_rad_s * seconds
    cos_u, sin_u = np.cos(u), np.sin(u)
    cos_n, sin_n = np.cos(node), np.sin(node)
    x = cos_n * cos_u - sin_n * sin_u * np.cos(inclination)
    y = sin_n * cos_u + cos_n * sin_u * np.cos(inclination)
    z = sin_u * np.sin(inclination)

    theta = np.arctan2(np.hypot(x, y), z)
    rotation_angle = 2.0 * np.pi * _ROTATION_ANGLE_2000_TURNS + EARTH_ROTATION_RATE_RAD_S * (
        (t - 2000.0) * SECONDS_PER_YEAR
    )
    phi = np.mod(np.arctan2(y, x) - rotation_angle, 2.0 * np.pi)
    return OrbitSamples(t=t, r=np.full_like(t, radius), theta=theta, phi=phi)
