"""Calendar instants to decimal years, the time coordinate of every bayescore series.

Convention (calendar-exact): the decimal year of an instant is its calendar year plus the
elapsed fraction of that year, ``Y + (t - Y-01-01T00:00) / (length of year Y)``, with the
length of a year 365 or 366 days (proleptic Gregorian calendar, UTC, no leap seconds).
So 2000-07-01T12:00 is 2000 + 182.5 / 366 = 2000.49863 and every 1 January 00:00 is an
integer. The difference from the Julian-year convention ``2000 + days since 2000.0 /
365.25`` stays below 0.0014 yr (half a day) for 1900-2100.

Sources of instants:

* CDF_EPOCH values: milliseconds since 0000-01-01T00:00 (the time variables of the Swarm
  virtual-observatory product, ``Timestamp``, ``Timestamp_SV``);
* Modified Julian Dates (days since 1858-11-17T00:00, the IERS series).
"""

from __future__ import annotations

import numpy as np

__all__ = [
    "CDF_EPOCH_UNIX_OFFSET_MS",
    "MJD_UNIX_OFFSET_DAYS",
    "decimal_year",
    "decimal_year_from_cdf_epoch",
    "decimal_year_from_mjd",
]

#: Milliseconds from 0000-01-01T00:00 (CDF_EPOCH zero) to 1970-01-01T00:00.
CDF_EPOCH_UNIX_OFFSET_MS = 62_167_219_200_000

#: Days from 1858-11-17T00:00 (MJD zero) to 1970-01-01T00:00.
MJD_UNIX_OFFSET_DAYS = 40_587


def decimal_year(instants) -> np.ndarray:
    """Decimal years (calendar-exact) of :class:`numpy.datetime64` instants.

    Parameters
    ----------
    instants : array_like of numpy.datetime64
        Instants (UTC); any datetime64 unit.

    Returns
    -------
    numpy.ndarray of float64, same shape
        ``Y + (t - Y-01-01) / (Y+1-01-01 - Y-01-01)``; NaT gives NaN.
    """
    instants = np.asarray(instants, dtype="datetime64[ms]")
    year_start = instants.astype("datetime64[Y]")
    start_ms = year_start.astype("datetime64[ms]")
    end_ms = (year_start + np.timedelta64(1, "Y")).astype("datetime64[ms]")
    elapsed = (instants - start_ms).astype(np.float64)
    length = (end_ms - start_ms).astype(np.float64)
    years = year_start.astype(np.int64).astype(np.float64) + 1970.0
    out = years + elapsed / length
    return np.where(np.isnat(instants), np.nan, out)


def decimal_year_from_cdf_epoch(epoch_ms) -> np.ndarray:
    """Decimal years of CDF_EPOCH values (milliseconds since 0000-01-01T00:00).

    Parameters
    ----------
    epoch_ms : array_like of float
        CDF_EPOCH values, ms. Fractions of a millisecond are dropped.

    Returns
    -------
    numpy.ndarray of float64
        Calendar-exact decimal years (module docstring); non-finite inputs give NaN.
    """
    epoch_ms = np.asarray(epoch_ms, dtype=np.float64)
    finite = np.isfinite(epoch_ms)
    unix_ms = np.where(finite, epoch_ms, CDF_EPOCH_UNIX_OFFSET_MS) - CDF_EPOCH_UNIX_OFFSET_MS
    instants = np.floor(unix_ms).astype(np.int64).astype("datetime64[ms]")
    return np.where(finite, decimal_year(instants), np.nan)


def decimal_year_from_mjd(mjd) -> np.ndarray:
    """Decimal years of Modified Julian Dates (days since 1858-11-17T00:00 UTC).

    Parameters
    ----------
    mjd : array_like of float
        Modified Julian Dates, days (resolved to the millisecond).

    Returns
    -------
    numpy.ndarray of float64
        Calendar-exact decimal years (module docstring).
    """
    mjd = np.asarray(mjd, dtype=np.float64)
    unix_ms = np.rint((mjd - MJD_UNIX_OFFSET_DAYS) * 86_400_000.0).astype(np.int64)
    return decimal_year(unix_ms.astype("datetime64[ms]"))
