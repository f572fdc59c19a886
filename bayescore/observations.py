"""Vector magnetic data in the long format: read, validate and write.

The co-estimation (:func:`bayescore.models.build_problem`) takes one row per scalar datum,
an :class:`xarray.Dataset` with dimension ``datum`` (the format of
:func:`bayescore.synthetic.make_dataset` and of the how-to guide "Co-estimate field and
flow from your data" in the documentation):

============== =====================================================================
variable       meaning
============== =====================================================================
``t``          time, decimal years
``r``          geocentric radius, km
``theta``      geocentric colatitude, rad, in [0, pi]
``phi``        longitude, rad
``component``  0 = B_r, 1 = B_theta, 2 = B_phi (geocentric spherical components)
``value``      the measured component, nT
``sigma``      its noise scale, nT (> 0)
``source``     optional: ``"satellite"`` or ``"observatory"``
``site_index`` optional: observatory number 0, 1, ... (-1 for satellite data)
============== =====================================================================

The noise-free parts that :func:`~bayescore.synthetic.make_dataset` stores for testing
(``value_true``, ``value_core``, ``value_external``, ``bias``, nT) are accepted too; any
other per-datum variable is an error, so that a misspelt column is not silently ignored.

Files
-----
* **CSV** (``.csv``): UTF-8 text, a header line with the column names, then one datum
  per line, comma-separated; lines starting with ``#`` before the header are comments.
  An empty numeric field counts as missing (NaN) and is rejected with its line number.
  :func:`write_vector_data` writes floats with 17 significant digits (exact round trip)
  and puts everything that is not a per-datum column (dataset and variable attributes,
  data types, the per-site tables of synthetic data sets) in one comment line
  ``# bayescore-metadata: {JSON}``, so that a data set written and read back is identical.
* **netCDF** (``.nc``, ``.nc4``, ``.cdf``, ``.netcdf``): any file xarray opens whose
  required variables are 1-D along one shared dimension (renamed to ``datum``).

:func:`validate_vector_data` checks a data set (columns, NaN and infinite values with the
offending row, component codes, sigma > 0, colatitudes in [0, pi], radii in km above the
core-mantle boundary, values and times in plausible units, times inside a requested span)
and returns a copy with canonical data types; :func:`read_vector_data` reads and
validates a file; :func:`write_vector_data` validates and writes one atomically.

Plausible units
---------------
Data in other units than bayescore's give a fit that looks fine (a tesla data set is
fitted to 0.00 nT by a zero field) but means nothing, so they are refused
(:class:`~bayescore.errors.ImplausibleUnitsError`, with the likely cause):

* **values** (nT): the largest ``|value|`` of a data set must lie in
  [:data:`SMALLEST_FIELD_NT`, :data:`LARGEST_FIELD_NT`] = [1, 1e7] nT. The main field
  has an intensity of at least ~20,000 nT on the Earth's surface and ~18,000 nT at
  low-Earth-orbit altitudes, so one component of any vector datum there exceeds 1e4 nT;
  even at the largest radius accepted (1e5 km, 16 Earth radii) the dipole field alone
  is above 7 nT. A data set whose largest component is below 1 nT is in tesla (~5e-5)
  or gauss (~0.5). The core field peaks at about 1e6 nT at the core-mantle boundary
  (its radial component under the high-latitude flux patches), so values above 1e7 nT
  at r >= c are in pT or smaller units.
* **times** (decimal years): every time must lie in [:data:`EARLIEST_YEAR`,
  :data:`LATEST_YEAR`] = [1590, 2100]. Direct field measurements start about 1590 (the
  historical record of the gufm1 model, Jackson, Jonkers and Walker 2000); IGRF-14 is
  defined to 2030, and 2100 leaves room for synthetic studies. Satellite data
  (``source == "satellite"``) must lie after :data:`FIRST_SATELLITE_YEAR` = 1957 (the
  first satellite flew in October 1957). Times in days since 2000 (2005.0 is day 1827)
  fall below these bounds for dates before 2004.35 (before 2005.36 for satellite data)
  and above them after 2005.75; those in between cannot be told from decimal years by
  their range, but a ``span`` in decimal years then catches them.
* **positions**: radii above 1e5 km (16 Earth radii) are taken for metres, all radii
  below the core-mantle boundary for altitudes; colatitudes above pi and longitudes
  beyond 2 pi in magnitude for degrees.
"""

from __future__ import annotations

import csv
import io
import json
import os
from collections.abc import Callable
from pathlib import Path

import numpy as np
import xarray as xr

from bayescore.atomic import atomic_path, json_ready
from bayescore.constants import CORE_RADIUS_KM
from bayescore.errors import (
    DataNotFoundError,
    EpochOutOfRangeError,
    ImplausibleUnitsError,
    MalformedFileError,
    NonFiniteError,
    UnreadableFileError,
)

__all__ = [
    "CSV_SUFFIXES",
    "EARLIEST_YEAR",
    "FIRST_SATELLITE_YEAR",
    "LARGEST_FIELD_NT",
    "LATEST_YEAR",
    "NETCDF_SUFFIXES",
    "OPTIONAL_VARIABLES",
    "REQUIRED_VARIABLES",
    "SMALLEST_FIELD_NT",
    "SOURCES",
    "read_vector_data",
    "validate_vector_data",
    "write_vector_data",
]

#: Per-datum variables every data set must have.
REQUIRED_VARIABLES = ("t", "r", "theta", "phi", "component", "value", "sigma")
#: Per-datum variables that may be present (the last four: noise-free parts of synthetic
#: data sets).
OPTIONAL_VARIABLES = (
    "source",
    "site_index",
    "value_true",
    "value_core",
    "value_external",
    "bias",
)
#: Allowed values of ``source``.
SOURCES = ("satellite", "observatory")
#: File name endings read and written as CSV or netCDF.
CSV_SUFFIXES = (".csv",)
NETCDF_SUFFIXES = (".nc", ".nc4", ".cdf", ".netcdf")
#: Bounds (nT) of the largest ``|value|`` of main-field data (module notes: below, tesla
#: or gauss; above, pT).
SMALLEST_FIELD_NT = 1.0
LARGEST_FIELD_NT = 1.0e7
#: Bounds of plausible data times, decimal years (module notes: the first direct field
#: measurements; room for synthetic data beyond IGRF-14).
EARLIEST_YEAR = 1590.0
LATEST_YEAR = 2100.0
#: No satellite data before this decimal year (Sputnik 1, October 1957).
FIRST_SATELLITE_YEAR = 1957.0

_FLOAT_VARIABLES = (
    "t",
    "r",
    "theta",
    "phi",
    "value",
    "sigma",
    "value_true",
    "value_core",
    "value_external",
    "bias",
)
_INTEGER_DTYPES = {"component": np.int8, "site_index": np.int64}
_METADATA_PREFIX = "# bayescore-metadata:"
_FORMAT_NAME = "bayescore-vector-data"
#: Radii above this (km) are taken for metres: 1e5 km is 16 Earth radii, 6.4e6 m is the
#: surface.
_METRES_THRESHOLD_KM = 1.0e5
_MAX_LISTED = 3


# --------------------------------------------------------------------------------------
# validation
# --------------------------------------------------------------------------------------


def _datum(index: int) -> str:
    return f"datum {index}"


def _first(values: np.ndarray, mask: np.ndarray) -> str:
    """The first value where ``mask`` holds, formatted for a message."""
    return f"{float(values[mask][0]):g}"


def _first_rows(mask: np.ndarray, locate: Callable[[int], str]) -> str:
    """``"datum 3, datum 7 (and 12 more)"`` for the rows where ``mask`` holds."""
    rows = np.flatnonzero(mask)
    listed = ", ".join(locate(int(i)) for i in rows[:_MAX_LISTED])
    more = rows.size - _MAX_LISTED
    return listed + (f" (and {more} more)" if more > 0 else "")


def _datum_dimension(ds: xr.Dataset, where: str) -> str:
    dims = {name: ds[name].dims for name in REQUIRED_VARIABLES}
    bad = {name: d for name, d in dims.items() if len(d) != 1}
    if bad:
        raise MalformedFileError(
            f"{where}: the data variables must be 1-D (one row per scalar datum); got "
            "dimensions " + ", ".join(f"{name}{d}" for name, d in bad.items())
        )
    distinct = sorted({d[0] for d in dims.values()})
    if len(distinct) != 1:
        raise MalformedFileError(
            f"{where}: the data variables must share one dimension, got {distinct} "
            f"({', '.join(f'{n}: {d[0]}' for n, d in dims.items())})"
        )
    return distinct[0]


def _as_float(ds: xr.Dataset, name: str, where: str) -> np.ndarray:
    values = np.asarray(ds[name].values)
    if values.dtype.kind not in "biuf":
        try:
            values = values.astype(float)
        except (TypeError, ValueError) as exc:
            raise MalformedFileError(
                f"{where}: variable {name!r} must be numeric, got entries of type {values.dtype}"
            ) from exc
    return values.astype(np.float64)


def _check_finite(name: str, values: np.ndarray, locate) -> None:
    bad = ~np.isfinite(values)
    if np.any(bad):
        raise NonFiniteError(f"{name!r} is NaN, infinite or missing at {_first_rows(bad, locate)}")


def _check_integer_codes(name: str, values: np.ndarray, locate) -> np.ndarray:
    bad = values != np.round(values)
    if np.any(bad):
        raise MalformedFileError(
            f"{name!r} must hold integers, got {_first(values, bad)} at {_first_rows(bad, locate)}"
        )
    return values.astype(np.int64)


def _time_unit_hint(times: np.ndarray) -> str:
    """The likely unit of times that are not decimal years."""
    late = float(np.max(times))
    if late > 1.0e8:
        return "seconds (e.g. since 1970 or 2000)"
    if late > 3.0e4:
        return "Modified Julian Days (2005.0 is MJD 53371)"
    return "days since 2000 (2005.0 is day 1827)"


def _check_time_units(times: np.ndarray, source, locate) -> None:
    """Refuse times that are not decimal years (module notes, "Plausible units")."""
    bad = (times < EARLIEST_YEAR) | (times > LATEST_YEAR)
    if np.any(bad):
        raise ImplausibleUnitsError(
            f"t = {_first(times, bad)} at {_first_rows(bad, locate)} is no plausible time of "
            f"a measurement (data from {times.min():g} to {times.max():g}): bayescore expects "
            f"decimal years in [{EARLIEST_YEAR:g}, {LATEST_YEAR:g}]; these look like "
            f"{_time_unit_hint(times)}"
        )
    if source is None:
        return
    bad = (source == "satellite") & (times < FIRST_SATELLITE_YEAR)
    if np.any(bad):
        raise ImplausibleUnitsError(
            f"satellite data at t = {_first(times, bad)} ({_first_rows(bad, locate)}) predate "
            f"the first satellite (October 1957): bayescore expects decimal years; these look "
            f"like {_time_unit_hint(times)}"
        )


def _check_field_units(values: np.ndarray, locate) -> None:
    """Refuse field values that are not nT (module notes, "Plausible units")."""
    largest = np.abs(values)
    row = largest == largest.max()
    if largest.max() < SMALLEST_FIELD_NT:
        raise ImplausibleUnitsError(
            f"the largest |value| is {largest.max():g} ({_first_rows(row, locate)}), below "
            f"{SMALLEST_FIELD_NT:g} nT, where the main field reaches 1e4 nT or more in at "
            "least one component of any vector: the values look like tesla (or gauss); "
            "bayescore expects nT (1 T = 1e9 nT, 1 G = 1e5 nT)"
        )
    if largest.max() > LARGEST_FIELD_NT:
        raise ImplausibleUnitsError(
            f"|value| = {largest.max():g} at {_first_rows(row, locate)} exceeds "
            f"{LARGEST_FIELD_NT:g} nT, ten times the core field at the core-mantle boundary: "
            "the values look like pT or smaller units; bayescore expects nT"
        )


def _check_positions(out: xr.Dataset, locate) -> None:
    """Colatitudes in [0, pi], longitudes in radians, radii in km above the CMB."""
    theta = out["theta"].values
    bad = (theta < 0) | (theta > np.pi)
    if np.any(bad):
        in_degrees = theta.max() > np.pi
        error = ImplausibleUnitsError if in_degrees else MalformedFileError
        raise error(
            f"theta (geocentric colatitude) must lie in [0, pi] rad, got {_first(theta, bad)} at "
            f"{_first_rows(bad, locate)}{' (degrees instead of radians?)' if in_degrees else ''}"
        )
    phi = out["phi"].values
    bad = np.abs(phi) > 2 * np.pi
    if np.any(bad):
        raise ImplausibleUnitsError(
            f"phi (longitude) must be in radians within [-2 pi, 2 pi], got {_first(phi, bad)} at "
            f"{_first_rows(bad, locate)} (degrees instead of radians?)"
        )
    r = out["r"].values
    bad = r > _METRES_THRESHOLD_KM
    if np.any(bad):
        raise ImplausibleUnitsError(
            f"r must be a geocentric radius in km; {_first(r, bad)} at {_first_rows(bad, locate)} "
            f"looks like metres (Earth's surface is at 6371.2 km)"
        )
    bad = r < CORE_RADIUS_KM
    if np.any(bad):
        altitudes = r.max() < CORE_RADIUS_KM
        error = ImplausibleUnitsError if altitudes else MalformedFileError
        raise error(
            f"r = {_first(r, bad)} km at {_first_rows(bad, locate)} lies below the core-mantle "
            f"boundary ({CORE_RADIUS_KM} km): r must be a geocentric radius in km"
            f"{' (altitudes instead of geocentric radii?)' if altitudes else ''}"
        )


def _check_span(times: np.ndarray, span, locate) -> None:
    start, end = (float(v) for v in span)
    if not (np.isfinite(start) and np.isfinite(end)) or not end > start:
        raise EpochOutOfRangeError(
            f"the span must be two finite decimal years with end > start, got ({start}, {end})"
        )
    outside = (times < start) | (times > end)
    if np.any(outside):
        raise EpochOutOfRangeError(
            f"{int(outside.sum())} data times lie outside the span [{start}, {end}] "
            f"(decimal years; data from {times.min():.4f} to {times.max():.4f}), first at "
            f"{_first_rows(outside, locate)}"
            + ("; none lies inside: are the times decimal years?" if outside.all() else "")
        )


def _check_columns(ds: xr.Dataset, where: str) -> str:
    """The datum dimension, after checking the per-datum variables' names and shapes."""
    if not isinstance(ds, xr.Dataset):
        raise TypeError(f"expected an xarray.Dataset, got {type(ds).__name__}")
    missing = [name for name in REQUIRED_VARIABLES if name not in ds.variables]
    if missing:
        raise MalformedFileError(
            f"{where}: missing column(s) {missing}; required: {list(REQUIRED_VARIABLES)}, "
            f"optional: {list(OPTIONAL_VARIABLES)}"
        )
    dim = _datum_dimension(ds, where)
    known = set(REQUIRED_VARIABLES) | set(OPTIONAL_VARIABLES)
    extra = sorted(
        str(name) for name, var in ds.data_vars.items() if dim in var.dims and name not in known
    )
    if extra:
        raise MalformedFileError(
            f"{where}: unknown column(s) {extra}; required: {list(REQUIRED_VARIABLES)}, "
            f"optional: {list(OPTIONAL_VARIABLES)}"
        )
    for name in OPTIONAL_VARIABLES:
        if name in ds.variables and ds[name].dims != (dim,):
            raise MalformedFileError(
                f"{where}: variable {name!r} has dimensions {ds[name].dims}, expected ({dim!r},)"
            )
    if ds.sizes[dim] == 0:
        raise MalformedFileError(f"{where}: no rows (no data)")
    return dim


def _validate(ds, span, locate: Callable[[int], str], where: str) -> xr.Dataset:
    dim = _check_columns(ds, where)
    out = ds.copy()
    for name in _FLOAT_VARIABLES:
        if name in ds.variables:
            values = _as_float(ds, name, where)
            _check_finite(name, values, locate)
            out[name] = ds[name].copy(data=values)
    component = _check_integer_codes("component", _as_float(ds, "component", where), locate)
    bad = (component < 0) | (component > 2)
    if np.any(bad):
        raise MalformedFileError(
            f"component codes must be 0 (B_r), 1 (B_theta) or 2 (B_phi); got "
            f"{sorted(set(component[bad].tolist()))[:5]} at {_first_rows(bad, locate)}"
        )
    out["component"] = ds["component"].copy(data=component.astype(_INTEGER_DTYPES["component"]))

    sigma = out["sigma"].values
    bad = sigma <= 0
    if np.any(bad):
        raise MalformedFileError(
            f"sigma must be positive (nT), got {_first(sigma, bad)} at {_first_rows(bad, locate)}"
        )
    _check_positions(out, locate)

    source = None
    if "source" in ds.variables:
        source = np.asarray(ds["source"].values).astype(str)
        bad = ~np.isin(source, SOURCES)
        if np.any(bad):
            raise MalformedFileError(
                f"source must be one of {list(SOURCES)}, got {str(source[bad][0])!r} at "
                f"{_first_rows(bad, locate)}"
            )
        out["source"] = ds["source"].copy(data=source)
    if "site_index" in ds.variables:
        values = _as_float(ds, "site_index", where)
        _check_finite("site_index", values, locate)
        site = _check_integer_codes("site_index", values, locate)
        bad = site < -1
        if np.any(bad):
            raise MalformedFileError(
                f"site_index must be an observatory number >= 0 or -1 (no site), got "
                f"{site[bad][0]} at {_first_rows(bad, locate)}"
            )
        if source is not None:
            bad = (source == "observatory") & (site < 0)
            if np.any(bad):
                raise MalformedFileError(
                    f"observatory data need a site_index >= 0, got -1 at {_first_rows(bad, locate)}"
                )
        out["site_index"] = ds["site_index"].copy(data=site.astype(_INTEGER_DTYPES["site_index"]))
    _check_field_units(out["value"].values, locate)
    _check_time_units(out["t"].values, source, locate)
    if span is not None:
        _check_span(out["t"].values, span, locate)
    if dim != "datum":
        out = out.rename({dim: "datum"})
    return out


def validate_vector_data(ds: xr.Dataset, span: tuple[float, float] | None = None) -> xr.Dataset:
    """Check long-format vector data and return them with canonical data types.

    The one validator of vector data: :func:`read_vector_data`,
    :func:`write_vector_data` and the co-estimation's data checks use it.

    Parameters
    ----------
    ds : xarray.Dataset
        One row per scalar datum (module notes): ``t`` (decimal years), ``r`` (km),
        ``theta``, ``phi`` (rad), ``component`` (0, 1, 2), ``value``, ``sigma`` (nT);
        optional ``source``, ``site_index`` and the noise-free parts of synthetic data.
        The variables must be 1-D along one shared dimension.
    span : (float, float), optional
        Decimal years: every datum time must lie in ``[start, end]``.

    Returns
    -------
    xarray.Dataset
        A copy with dimension ``datum``, float64 values, ``component`` as int8,
        ``site_index`` as int64 and ``source`` as strings; other variables (e.g. per-site
        tables) and attributes unchanged.

    Raises
    ------
    TypeError
        If ``ds`` is not an :class:`xarray.Dataset`.
    MalformedFileError
        Missing or unknown per-datum variables (named), variables of other shapes, no
        rows, non-numeric entries, component codes outside {0, 1, 2}, sigma <= 0, theta
        outside [0, pi], radii below the core-mantle boundary, an unknown ``source``, a
        bad ``site_index``. Messages name the variable, the first offending rows
        (``datum i``) and the offending value.
    ImplausibleUnitsError
        A subclass of :class:`MalformedFileError`: values, times or positions in other
        units than nT, decimal years, km and rad (module notes, "Plausible units":
        values in tesla or pT, times in days since 2000, MJD or seconds, satellite data
        before 1957, radii in metres or altitudes, angles in degrees).
    NonFiniteError
        NaN or infinite values (the variable and the rows are named).
    EpochOutOfRangeError
        Times outside ``span``, or an empty span.
    """
    return _validate(ds, span, _datum, "vector data")


# --------------------------------------------------------------------------------------
# reading
# --------------------------------------------------------------------------------------


def read_vector_data(
    path: str | os.PathLike, span: tuple[float, float] | None = None
) -> xr.Dataset:
    """Read long-format vector data from a CSV or netCDF file and validate them.

    Parameters
    ----------
    path : str or path-like
        A ``.csv`` file (UTF-8 text, module notes) or a netCDF file (``.nc``, ``.nc4``,
        ``.cdf``, ``.netcdf``).
    span : (float, float), optional
        Decimal years that every datum time must lie in.

    Returns
    -------
    xarray.Dataset
        Validated as by :func:`validate_vector_data` (dimension ``datum``; CSV files get
        the coordinate ``datum = 0, 1, ...``).

    Raises
    ------
    DataNotFoundError
        If the file does not exist.
    UnreadableFileError
        If ``path`` is a directory or the file cannot be read (no permission).
    MalformedFileError
        Unknown file type, a file that cannot be parsed (not UTF-8 text, no header line,
        rows with the wrong number of fields, non-numeric entries, a damaged
        ``# bayescore-metadata:`` line: file, line and column named) or invalid contents
        (:func:`validate_vector_data`, also for its subclass
        :class:`~bayescore.errors.ImplausibleUnitsError`).
    NonFiniteError, EpochOutOfRangeError
        As :func:`validate_vector_data`; for CSV files the line numbers are given.
    """
    path = Path(path)
    if path.is_dir():
        raise UnreadableFileError(
            f"{str(path)!r} is a directory, not a vector data file: give the CSV or netCDF "
            "file itself"
        )
    if not path.exists():
        raise DataNotFoundError(f"vector data file {str(path)!r} not found")
    suffix = path.suffix.lower()
    if suffix in CSV_SUFFIXES:
        ds, lines = _read_csv(path)
        return _validate(ds, span, lambda i: f"line {lines[i]} of {path.name}", str(path))
    if suffix in NETCDF_SUFFIXES:
        try:
            with xr.open_dataset(path) as opened:
                ds = opened.load()
        except PermissionError as exc:
            raise _unreadable(path, exc) from exc
        except (OSError, ValueError) as exc:
            raise MalformedFileError(f"cannot read {path} as netCDF: {exc}") from exc
        return _validate(ds, span, _datum, str(path))
    raise MalformedFileError(
        f"unknown vector data file type {path.suffix!r} ({path.name}): expected "
        f"{', '.join(CSV_SUFFIXES + NETCDF_SUFFIXES)}"
    )


def _unreadable(path: Path, exc: OSError) -> UnreadableFileError:
    reason = "permission denied" if isinstance(exc, PermissionError) else exc.strerror or exc
    return UnreadableFileError(f"cannot read the vector data file {str(path)!r}: {reason}")


def _csv_text(path: Path) -> str:
    """The text of a CSV file; named errors for unreadable and binary files."""
    try:
        raw = path.read_bytes()
    except OSError as exc:
        raise _unreadable(path, exc) from exc
    try:
        text = raw.decode("utf-8-sig")  # a byte-order mark (spreadsheet exports) is dropped
    except UnicodeDecodeError as exc:
        raise MalformedFileError(
            f"{str(path)!r} is not a UTF-8 text file (byte 0x{raw[exc.start]:02x} at offset "
            f"{exc.start}): vector data must be CSV text or netCDF"
        ) from exc
    if "\x00" in text:
        raise MalformedFileError(
            f"{str(path)!r} holds NUL bytes (offset {text.index(chr(0))}): a binary file, "
            "not CSV text"
        )
    return text


def _parse_float_column(name, column, lines, path) -> np.ndarray:
    try:
        return np.asarray(column, dtype=np.float64)
    except ValueError:
        pass
    values = np.empty(len(column))
    for i, text in enumerate(column):
        stripped = text.strip()
        if not stripped:
            values[i] = np.nan  # missing: reported by the NaN check with its line
            continue
        try:
            values[i] = float(stripped)
        except ValueError:
            raise MalformedFileError(
                f"line {lines[i]} of {path.name}: column {name!r} holds {text!r}, not a number"
            ) from None
    return values


def _is_number(text: str) -> bool:
    try:
        float(text)
    except ValueError:
        return False
    return True


def _read_csv(path: Path) -> tuple[xr.Dataset, list[int]]:
    """Parse a CSV file into a dataset (unvalidated) and the file line of each datum."""
    lines = _csv_text(path).splitlines()
    metadata = None
    header_index = None
    for number, line in enumerate(lines):
        stripped = line.strip()
        if stripped.startswith(_METADATA_PREFIX):
            metadata = _CsvMetadata(stripped[len(_METADATA_PREFIX) :], path, number + 1)
        elif stripped and not stripped.startswith("#"):
            header_index = number
            break
    if header_index is None:
        raise MalformedFileError(f"{path.name} has no header line with the column names")
    reader = csv.reader(io.StringIO("\n".join(lines[header_index:])))
    header = [name.strip() for name in next(reader)]
    if all(_is_number(name) for name in header):
        raise MalformedFileError(
            f"line {header_index + 1} of {path.name} holds numbers where the header line "
            f"with the column names ({','.join(REQUIRED_VARIABLES)}, ...) must come first"
        )
    duplicated = sorted({name for name in header if header.count(name) > 1})
    if duplicated:
        raise MalformedFileError(f"{path.name}: duplicated column(s) {duplicated}")
    rows, line_numbers = [], []
    for offset, row in enumerate(reader):
        number = header_index + offset + 2  # 1-based line of this row
        if not row or (len(row) == 1 and not row[0].strip()):
            continue  # blank line
        if row[0].lstrip().startswith("#"):
            continue
        if len(row) != len(header):
            raise MalformedFileError(
                f"line {number} of {path.name} has {len(row)} fields, expected "
                f"{len(header)} ({', '.join(header)})"
            )
        rows.append(row)
        line_numbers.append(number)
    columns = list(zip(*rows, strict=True)) if rows else [() for _ in header]
    data_vars = {}
    for name, column in zip(header, columns, strict=True):
        dtype = metadata.dtype(name) if metadata else None
        if name == "source" or (dtype is not None and dtype.kind in "USO"):
            values = np.array([v.strip() for v in column], dtype=str)
        else:
            values = _parse_float_column(name, column, line_numbers, path)
            integral = np.all(np.isfinite(values)) and np.all(values == np.round(values))
            if dtype is not None and dtype.kind in "iu" and integral:
                values = values.astype(dtype)
        attrs = metadata.variable_attrs(name) if metadata else {}
        data_vars[name] = ("datum", values, attrs)
    ds = xr.Dataset(data_vars, coords={"datum": np.arange(len(rows))})
    if metadata:
        ds = metadata.apply(ds)
    return ds, line_numbers


class _CsvMetadata:
    """The ``# bayescore-metadata:`` line of a CSV file, checked against its layout.

    The layout (written by :func:`write_vector_data`): a JSON object with ``format``
    (``"bayescore-vector-data"``), ``version``, ``attrs`` (an object), ``variables``
    (column name -> ``{"attrs": object, "dtype": numpy dtype string}``), ``other`` (null
    or :meth:`xarray.Dataset.to_dict` output) and ``other_dtypes`` (name -> dtype
    string). A hand-edited line that breaks it is a :class:`MalformedFileError` naming
    the file and the line.
    """

    def __init__(self, text: str, path: Path, line: int):
        self.where = f"line {line} of {path.name}"
        try:
            content = json.loads(text)
        except json.JSONDecodeError as exc:
            raise self._error(f"unreadable bayescore metadata ({exc})") from exc
        content = self._object(content, "")
        if content.get("format") != _FORMAT_NAME:
            raise self._error(f"the metadata line is not of format {_FORMAT_NAME!r}")
        self.attrs = self._object(content.get("attrs", {}), "['attrs']")
        self.variables = {}
        for name, meta in self._object(content.get("variables", {}), "['variables']").items():
            key = f"['variables'][{name!r}]"
            meta = self._object(meta, key)
            self.variables[name] = {
                "attrs": self._object(meta.get("attrs", {}), key + "['attrs']"),
                "dtype": self._dtype(meta.get("dtype"), key + "['dtype']"),
            }
        other = content.get("other")
        self.other = None if other is None else self._object(other, "['other']")
        self.other_dtypes = {
            name: self._dtype(dtype, f"['other_dtypes'][{name!r}]")
            for name, dtype in self._object(
                content.get("other_dtypes", {}), "['other_dtypes']"
            ).items()
        }

    def _error(self, message: str) -> MalformedFileError:
        return MalformedFileError(f"{self.where}: {message}")

    def _object(self, value, key: str) -> dict:
        if not isinstance(value, dict):
            raise self._error(
                f"the bayescore metadata{key} must be a JSON object, got "
                f"{type(value).__name__} {json.dumps(value)[:60]}"
            )
        return value

    def _dtype(self, value, key: str) -> np.dtype | None:
        if value is None:
            return None
        try:
            return np.dtype(value)
        except (TypeError, ValueError, KeyError):
            raise self._error(
                f"the bayescore metadata{key} is {value!r}, not a numpy data type"
            ) from None

    def dtype(self, name: str) -> np.dtype | None:
        return self.variables.get(name, {}).get("dtype")

    def variable_attrs(self, name: str) -> dict:
        return self.variables.get(name, {}).get("attrs", {})

    def apply(self, ds: xr.Dataset) -> xr.Dataset:
        """``ds`` with the metadata's attributes and other variables."""
        if self.other:
            try:
                extra = xr.Dataset.from_dict(_with_empty_shapes(self.other))
                for name, dtype in self.other_dtypes.items():
                    if name in extra.variables:
                        extra[name] = extra[name].astype(dtype)
                ds = ds.merge(extra)
            except (ValueError, TypeError, KeyError, AttributeError) as exc:
                raise self._error(f"the bayescore metadata['other'] is damaged ({exc})") from exc
        ds.attrs = dict(self.attrs)
        return ds


def _with_empty_shapes(other: dict) -> dict:
    """``other`` with its zero-size variables as arrays of their shape.

    ``Dataset.to_dict(data="list")`` writes a zero-size array of several dimensions (the
    per-site tables of a data set without observatories, e.g. ``site_bias`` of shape
    (0, 3)) as ``[]``, which ``Dataset.from_dict`` cannot give back its dimensions; the
    sizes come from the one-dimensional variables (0 where unknown).
    """
    sections = [other.get(key) or {} for key in ("coords", "data_vars")]
    sizes = {}
    for section in sections:
        for variable in section.values():
            if isinstance(variable, dict) and len(variable.get("dims") or ()) == 1:
                sizes.setdefault(variable["dims"][0], len(variable.get("data") or ()))
    out = dict(other)
    for key, section in zip(("coords", "data_vars"), sections, strict=True):
        fixed = {}
        for name, variable in section.items():
            dims = variable.get("dims") if isinstance(variable, dict) else None
            shape = [sizes.get(d, 0) for d in dims] if dims else []
            if len(shape) > 1 and variable.get("data") == [] and 0 in shape:
                variable = {**variable, "data": np.empty(shape)}
            fixed[name] = variable
        if key in other:
            out[key] = fixed
    return out


# --------------------------------------------------------------------------------------
# writing
# --------------------------------------------------------------------------------------


def _format_column(values: np.ndarray) -> list[str]:
    if values.dtype.kind == "f":
        return [repr(v) for v in values.tolist()]  # shortest exact representation
    return [str(v) for v in values.tolist()]


def write_vector_data(ds: xr.Dataset, path: str | os.PathLike) -> Path:
    """Validate long-format vector data and write them atomically as CSV or netCDF.

    Parameters
    ----------
    ds : xarray.Dataset
        Data as accepted by :func:`validate_vector_data` (e.g. from
        :func:`bayescore.synthetic.make_dataset`).
    path : str or path-like
        Destination; the type follows the suffix (``.csv`` or a netCDF suffix). The file
        appears complete or not at all (temporary file, then rename).

    Returns
    -------
    pathlib.Path

    Raises
    ------
    MalformedFileError
        Unknown suffix, or invalid data (:func:`validate_vector_data`).
    NonFiniteError
        NaN or infinite values.

    Notes
    -----
    CSV: per-datum variables become columns (floats with their shortest exact decimal
    representation); attributes, data types and the variables along other dimensions
    (e.g. the per-site tables of synthetic data) go into a ``# bayescore-metadata:`` JSON
    comment line, so :func:`read_vector_data` gives back an identical data set (the
    ``datum`` coordinate is rebuilt as 0, 1, ...).
    """
    path = Path(path)
    suffix = path.suffix.lower()
    if suffix not in CSV_SUFFIXES + NETCDF_SUFFIXES:
        raise MalformedFileError(
            f"unknown vector data file type {path.suffix!r}: expected "
            f"{', '.join(CSV_SUFFIXES + NETCDF_SUFFIXES)}"
        )
    ds = validate_vector_data(ds)
    if suffix in NETCDF_SUFFIXES:
        with atomic_path(path) as tmp:
            ds.to_netcdf(tmp)
        return path
    columns = [
        name
        for name in (*REQUIRED_VARIABLES, *OPTIONAL_VARIABLES)
        if name in ds.data_vars or name in ds.coords
    ]
    columns = [name for name in columns if ds[name].dims == ("datum",)]
    other = ds.drop_dims("datum")
    other = other.drop_vars([name for name in other.variables if name in columns])
    other.attrs = {}
    metadata = {
        "format": _FORMAT_NAME,
        "version": 1,
        "attrs": ds.attrs,
        "variables": {
            name: {"attrs": ds[name].attrs, "dtype": ds[name].dtype.str} for name in columns
        },
        "other": other.to_dict(data="list") if other.variables else None,
        "other_dtypes": {name: other[name].dtype.str for name in other.variables},
    }
    buffer = io.StringIO()
    buffer.write("# bayescore vector data: one scalar datum per row (t in decimal years, ")
    buffer.write("r in km, theta and phi in rad, value and sigma in nT)\n")
    buffer.write(f"{_METADATA_PREFIX} {json.dumps(json_ready(metadata), allow_nan=False)}\n")
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(columns)
    formatted = [_format_column(np.asarray(ds[name].values)) for name in columns]
    writer.writerows(zip(*formatted, strict=True))
    with atomic_path(path) as tmp:
        tmp.write_text(buffer.getvalue(), encoding="utf-8")
    return path
