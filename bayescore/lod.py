"""Length of day (LOD): the IERS C04 series.

The IERS 20 C04 Earth-orientation series (Bizouard et al., IERS EOP Product Center,
Paris Observatory; consistent with ITRF 2020) gives daily values at 0h UTC since
1962-01-01. Its LOD column is the excess of the length of day over 86400 s SI; its error
falls from 1.4 ms in the 1960s to about 0.01-0.05 ms after 2010. The series still holds
the zonal solid-Earth tides (IERS Conventions 2010, ch. 8) and the atmospheric and
seasonal signal: remove or low-pass them before comparing with core flows, whose LOD
signal is decadal (ms) plus a ~6-yr oscillation (~0.1 ms).

Times are calendar-exact decimal years (:mod:`bayescore.epochs`).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import xarray as xr

from bayescore.epochs import MJD_UNIX_OFFSET_DAYS, decimal_year_from_mjd
from bayescore.errors import EpochOutOfRangeError, MalformedFileError, SeriesLengthError

__all__ = ["C04_KEY", "annual_mean_lod", "load_lod_c04"]

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
