"""Ground magnetic observatories: sites, geodetic-to-geocentric conversion, sampling.

The site table holds approximate coordinates of INTERMAGNET/WDC observatories, compiled
from public lists: IAGA code, name, geodetic latitude and east longitude (degrees, to
about 0.1 degree; sites whose position was not known to within about a degree were left
out rather than guessed) and elevation above the ellipsoid (m, approximate). The
synthetic data are computed at the tabulated positions, so an error in the table moves a
site but makes no inconsistency between data and truth.
The table has 149 sites (the paper's data set had 137 observatories). Like the real
network it is dense in Europe, North America and East Asia, sparse in the southern
hemisphere and over the oceans.

Positions are converted to geocentric (r, theta, phi) with the WGS84 ellipsoid
(:func:`geodetic_to_geocentric`); bayescore works in geocentric coordinates only
(``docs/conventions.md``), so the vector components simulated at an observatory are the
geocentric B_r, B_theta, B_phi, not the geodetic X, Y, Z.
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np

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

# IAGA code, name, geodetic latitude (deg N), longitude (deg E), elevation (m).
_SITES: tuple[tuple[str, str, float, float, float], ...] = (
    # Europe
    ("ABK", "Abisko", 68.36, 18.82, 380),
    ("AQU", "L'Aquila", 42.38, 13.32, 682),
    ("BDV", "Budkov", 49.08, 14.02, 496),
    ("BEL", "Belsk", 51.84, 20.79, 180),
    ("BFE", "Brorfelde", 55.63, 11.67, 80),
    ("BOX", "Borok", 58.07, 38.23, 115),
    ("CLF", "Chambon-la-Foret", 48.02, 2.26, 145),
    ("COI", "Coimbra", 40.22, -8.42, 99),
    ("DOU", "Dourbes", 50.10, 4.60, 225),
    ("EBR", "Ebro", 40.96, 0.33, 53),
    ("ESK", "Eskdalemuir", 55.31, -3.20, 245),
    ("FUR", "Fuerstenfeldbruck", 48.17, 11.28, 572),
    ("GCK", "Grocka", 44.63, 20.77, 190),
    ("HAD", "Hartland", 51.00, -4.48, 95),
    ("HLP", "Hel", 54.61, 18.82, 1),
    ("HRB", "Hurbanovo", 47.87, 18.19, 120),
    ("HRN", "Hornsund", 77.00, 15.55, 15),
    ("KIR", "Kiruna", 67.84, 20.42, 395),
    ("KIV", "Kiev (Dymer)", 50.72, 30.30, 140),
    ("LER", "Lerwick", 60.14, -1.18, 85),
    ("LON", "Lonjsko Polje", 45.41, 16.66, 97),
    ("LOV", "Lovo", 59.35, 17.83, 25),
    ("LRV", "Leirvogur", 64.18, -21.70, 5),
    ("LVV", "Lviv", 49.90, 23.75, 400),
    ("LYC", "Lycksele", 64.61, 18.75, 270),
    ("MAB", "Manhay", 50.30, 5.68, 440),
    ("MOS", "Moscow", 55.48, 37.31, 200),
    ("NAL", "Ny-Alesund", 78.92, 11.93, 7),
    ("NCK", "Nagycenk", 47.63, 16.72, 170),
    ("NGK", "Niemegk", 52.07, 12.68, 78),
    ("NUR", "Nurmijarvi", 60.51, 24.66, 105),
    ("PAG", "Panagyurishte", 42.52, 24.18, 556),
    ("PEG", "Pedeli", 38.09, 23.93, 500),
    ("SFS", "San Fernando", 36.47, -6.20, 111),
    ("SOD", "Sodankyla", 67.37, 26.63, 180),
    ("SPT", "San Pablo de los Montes", 39.55, -4.35, 922),
    ("SUA", "Surlari", 44.68, 26.25, 85),
    ("THY", "Tihany", 46.90, 17.89, 187),
    ("TRO", "Tromso", 69.66, 18.94, 105),
    ("UPS", "Uppsala", 59.90, 17.35, 50),
    ("VAL", "Valentia", 51.93, -10.25, 14),
    ("WIC", "Conrad Observatory", 47.93, 15.86, 1088),
    ("WNG", "Wingst", 53.74, 9.07, 50),
    ("GUI", "Guimar", 28.32, -16.44, 868),
    # Russia, Central and East Asia
    ("AAA", "Alma Ata", 43.25, 76.92, 1300),
    ("ARS", "Arti", 56.43, 58.57, 290),
    ("BMT", "Beijing Ming Tombs", 40.30, 116.20, 183),
    ("CCS", "Cape Chelyuskin", 77.72, 104.28, 15),
    ("DIK", "Dikson", 73.55, 80.57, 30),
    ("GZH", "Guangzhou", 23.09, 113.34, 11),
    ("IRT", "Irkutsk", 52.17, 104.45, 540),
    ("KHB", "Khabarovsk", 47.61, 134.69, 100),
    ("LZH", "Lanzhou", 36.09, 103.85, 1560),
    ("MGD", "Magadan", 60.05, 150.73, 200),
    ("NVS", "Novosibirsk", 54.85, 83.23, 130),
    ("PET", "Paratunka", 52.97, 158.25, 100),
    ("SSH", "Sheshan", 31.10, 121.19, 100),
    ("TIK", "Tiksi", 71.58, 129.00, 40),
    ("TKT", "Tashkent", 41.33, 69.62, 477),
    ("WHN", "Wuhan", 30.53, 114.56, 40),
    ("YAK", "Yakutsk", 62.01, 129.72, 100),
    # Japan and the western Pacific
    ("CBI", "Chichijima", 27.10, 142.18, 155),
    ("ESA", "Esashi", 39.24, 141.35, 395),
    ("GUA", "Guam", 13.59, 144.87, 140),
    ("HTY", "Hatizyo", 33.07, 139.82, 80),
    ("KAK", "Kakioka", 36.23, 140.19, 36),
    ("KNY", "Kanoya", 31.42, 130.88, 107),
    ("LNP", "Lunping", 25.00, 121.17, 300),
    ("MMB", "Memambetsu", 43.91, 144.19, 42),
    # Middle East, South and South-East Asia
    ("ABG", "Alibag", 18.64, 72.87, 7),
    ("HYB", "Hyderabad", 17.41, 78.55, 500),
    ("ISK", "Istanbul Kandilli", 41.06, 29.06, 130),
    ("PHU", "Phu Thuy", 21.03, 105.95, 5),
    # North America, Greenland, Caribbean
    ("ALE", "Alert", 82.50, -62.35, 60),
    ("BLC", "Baker Lake", 64.32, -96.03, 30),
    ("BOU", "Boulder", 40.14, -105.24, 1682),
    ("BRW", "Barrow", 71.32, -156.62, 12),
    ("BSL", "Stennis Space Center", 30.35, -89.64, 8),
    ("CBB", "Cambridge Bay", 69.12, -105.03, 20),
    ("CMO", "College", 64.87, -147.86, 197),
    ("DLR", "Del Rio", 29.49, -100.92, 355),
    ("DMH", "Danmarkshavn", 76.77, -18.63, 10),
    ("FCC", "Fort Churchill", 58.76, -94.09, 15),
    ("FRD", "Fredericksburg", 38.20, -77.37, 69),
    ("FRN", "Fresno", 37.09, -119.72, 331),
    ("GDH", "Qeqertarsuaq (Godhavn)", 69.25, -53.53, 24),
    ("GLN", "Glenlea", 49.65, -97.13, 235),
    ("HON", "Honolulu", 21.32, -158.00, 4),
    ("IQA", "Iqaluit", 63.75, -68.52, 67),
    ("MEA", "Meanook", 54.62, -113.35, 700),
    ("NAQ", "Narsarsuaq", 61.16, -45.44, 4),
    ("NEW", "Newport", 48.27, -117.12, 770),
    ("OTT", "Ottawa", 45.40, -75.55, 75),
    ("PBQ", "Poste-de-la-Baleine", 55.28, -77.75, 40),
    ("RES", "Resolute Bay", 74.69, -94.89, 30),
    ("SHU", "Shumagin", 55.35, -160.46, 80),
    ("SIT", "Sitka", 57.06, -135.33, 24),
    ("SJG", "San Juan", 18.11, -66.15, 424),
    ("STJ", "St John's", 47.60, -52.68, 100),
    ("TEO", "Teoloyucan", 19.75, -99.18, 2280),
    ("THL", "Qaanaaq (Thule)", 77.47, -69.23, 57),
    ("TUC", "Tucson", 32.17, -110.73, 946),
    ("VIC", "Victoria", 48.52, -123.42, 197),
    ("YKC", "Yellowknife", 62.48, -114.48, 198),
    # South America and the South Atlantic
    ("FUQ", "Fuquene", 5.47, -73.74, 2543),
    ("HUA", "Huancayo", -12.05, -75.33, 3313),
    ("IPM", "Isla de Pascua", -27.17, -109.42, 83),
    ("KOU", "Kourou", 5.21, -52.73, 10),
    ("PIL", "Pilar", -31.67, -63.88, 340),
    ("PST", "Port Stanley", -51.70, -57.89, 135),
    ("TRW", "Trelew", -43.25, -65.32, 15),
    ("TTB", "Tatuoca", -1.20, -48.51, 10),
    ("VSS", "Vassouras", -22.40, -43.65, 457),
    ("ASC", "Ascension Island", -7.95, -14.38, 180),
    ("TDC", "Tristan da Cunha", -37.07, -12.32, 20),
    # Africa and the Indian Ocean
    ("AAE", "Addis Ababa", 9.03, 38.77, 2441),
    ("AMS", "Martin de Vivies (Amsterdam Island)", -37.80, 77.57, 50),
    ("BNG", "Bangui", 4.33, 18.57, 395),
    ("CZT", "Port Alfred (Crozet)", -46.43, 51.87, 155),
    ("HBK", "Hartebeesthoek", -25.88, 27.71, 1522),
    ("HER", "Hermanus", -34.43, 19.23, 26),
    ("KMH", "Keetmanshoop", -26.54, 18.11, 1065),
    ("MBO", "Mbour", 14.38, -16.97, 7),
    ("PAF", "Port-aux-Francais (Kerguelen)", -49.35, 70.26, 35),
    ("TAM", "Tamanrasset", 22.79, 5.53, 1373),
    ("TAN", "Antananarivo", -18.92, 47.55, 1375),
    ("TSU", "Tsumeb", -19.20, 17.58, 1273),
    # Australia, New Zealand, the South Pacific
    ("API", "Apia", -13.81, -171.78, 2),
    ("ASP", "Alice Springs", -23.76, 133.88, 557),
    ("CNB", "Canberra", -35.32, 149.36, 859),
    ("CTA", "Charters Towers", -20.09, 146.26, 370),
    ("EYR", "Eyrewell", -43.42, 172.35, 102),
    ("GNA", "Gnangara", -31.78, 115.95, 60),
    ("KDU", "Kakadu", -12.69, 132.47, 14),
    ("LRM", "Learmonth", -22.22, 114.10, 4),
    ("MCQ", "Macquarie Island", -54.50, 158.95, 8),
    ("PPT", "Pamatai (Tahiti)", -17.57, -149.58, 357),
    # Antarctica
    ("AIA", "Argentine Islands (Vernadsky)", -65.25, -64.26, 10),
    ("CSY", "Casey", -66.28, 110.53, 40),
    ("DRV", "Dumont d'Urville", -66.67, 140.01, 30),
    ("DVS", "Davis", -68.58, 77.97, 20),
    ("MAW", "Mawson", -67.60, 62.88, 12),
    ("NVL", "Novolazarevskaya", -70.77, 11.83, 460),
    ("ORC", "Orcadas", -60.74, -44.74, 4),
    ("SBA", "Scott Base", -77.85, 166.78, 0),
    ("SPA", "South Pole", -90.00, 0.00, 2800),
    ("SYO", "Syowa", -69.00, 39.58, 21),
    ("VNA", "Neumayer", -70.68, -8.27, 50),
    ("VOS", "Vostok", -78.46, 106.84, 3500),
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
        raise ValueError("geodetic latitude and height must be finite")
    if np.any(np.abs(lat_deg) > 90.0):
        raise ValueError(
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
        listed in the module).

    Returns
    -------
    ObservatorySites

    Raises
    ------
    KeyError
        If a requested code is not in the table.
    """
    table = {row[0]: row for row in _SITES}
    if codes is None:
        rows = list(_SITES)
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
        raise ValueError(f"observatory span must have end > start, got ({start}, {end})")
    if not np.isfinite(interval_days) or interval_days <= 0.0:
        raise ValueError(f"interval_days must be positive, got {interval_days}")
    interval = interval_days / 365.25
    n = int(np.floor((end - start) / interval + 1e-9))
    if n == 0:  # one window longer than the span: its mean is taken at the span's centre
        return np.array([0.5 * (start + end)])
    return start + (np.arange(n) + 0.5) * interval
