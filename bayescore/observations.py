"""Vector magnetic data in the long format: read, validate and write.

The co-estimation (:func:`bayescore.models.build_problem`) takes one row per scalar datum,
an :class:`xarray.Dataset` with dimension ``datum`` (the format of
:func:`bayescore.synthetic.make_dataset` and of ``docs/how-to/coestimate-your-data.md``):

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
* **CSV** (``.csv``): a header line with the column names, then one datum per line,
  comma-separated; lines starting with ``#`` before the header are comments. An empty
  numeric field counts as missing (NaN) and is rejected with its line number.
  :func:`write_vector_data` writes floats with 17 significant digits (exact round trip)
  and puts everything that is not a per-datum column (dataset and variable attributes,
  data types, the per-site tables of synthetic data sets) in one comment line
  ``# bayescore-metadata: {JSON}``, so that a data set written and read back is identical.
* **netCDF** (``.nc``, ``.nc4``, ``.cdf``, ``.netcdf``): any file xarray opens whose
  required variables are 1-D along one shared dimension (renamed to ``datum``).

:func:`validate_vector_data` checks a data set (columns, NaN and infinite values with the
offending row, component codes, sigma > 0, colatitudes in [0, pi], radii in km above the
core-mantle boundary, times inside a requested span) and returns a copy with canonical
data types; :func:`read_vector_data` reads and validates a file; :func:`write_vector_data`
validates and writes one atomically.
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

from bayescore.atomic import atomic_path
from bayescore.constants import CORE_RADIUS_KM
from bayescore.errors import (
    DataNotFoundError,
    EpochOutOfRangeError,
    MalformedFileError,
    NonFiniteError,
)

__all__ = [
    "CSV_SUFFIXES",
    "NETCDF_SUFFIXES",
    "OPTIONAL_VARIABLES",
    "REQUIRED_VARIABLES",
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


def _datum_dimension(ds: xr.Dataset) -> str:
    dims = {name: ds[name].dims for name in REQUIRED_VARIABLES}
    bad = {name: d for name, d in dims.items() if len(d) != 1}
    if bad:
        raise MalformedFileError(
            "the data variables must be 1-D (one row per scalar datum); got dimensions "
            + ", ".join(f"{name}{d}" for name, d in bad.items())
        )
    distinct = sorted({d[0] for d in dims.values()})
    if len(distinct) != 1:
        raise MalformedFileError(
            f"the data variables must share one dimension, got {distinct} "
            f"({', '.join(f'{n}: {d[0]}' for n, d in dims.items())})"
        )
    return distinct[0]


def _as_float(ds: xr.Dataset, name: str) -> np.ndarray:
    values = np.asarray(ds[name].values)
    if values.dtype.kind not in "biuf":
        try:
            values = values.astype(float)
        except (TypeError, ValueError) as exc:
            raise MalformedFileError(
                f"variable {name!r} must be numeric, got entries of type {values.dtype}"
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
        )


def _validate(ds, span, locate: Callable[[int], str]) -> xr.Dataset:
    if not isinstance(ds, xr.Dataset):
        raise TypeError(f"expected an xarray.Dataset, got {type(ds).__name__}")
    missing = [name for name in REQUIRED_VARIABLES if name not in ds.variables]
    if missing:
        raise MalformedFileError(
            f"the vector data lack the column(s) {missing}; required: "
            f"{list(REQUIRED_VARIABLES)}, optional: {list(OPTIONAL_VARIABLES)}"
        )
    dim = _datum_dimension(ds)
    known = set(REQUIRED_VARIABLES) | set(OPTIONAL_VARIABLES)
    extra = sorted(
        str(name) for name, var in ds.data_vars.items() if dim in var.dims and name not in known
    )
    if extra:
        raise MalformedFileError(
            f"unknown column(s) {extra} in the vector data; required: "
            f"{list(REQUIRED_VARIABLES)}, optional: {list(OPTIONAL_VARIABLES)}"
        )
    for name in OPTIONAL_VARIABLES:
        if name in ds.variables and ds[name].dims != (dim,):
            raise MalformedFileError(
                f"variable {name!r} has dimensions {ds[name].dims}, expected ({dim!r},)"
            )
    n = ds.sizes[dim]
    if n == 0:
        raise MalformedFileError("the vector data hold no rows")

    out = ds.copy()
    for name in _FLOAT_VARIABLES:
        if name in ds.variables:
            values = _as_float(ds, name)
            _check_finite(name, values, locate)
            out[name] = ds[name].copy(data=values)
    component = _check_integer_codes("component", _as_float(ds, "component"), locate)
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
    theta = out["theta"].values
    bad = (theta < 0) | (theta > np.pi)
    if np.any(bad):
        hint = " (degrees instead of radians?)" if theta.max() > np.pi else ""
        raise MalformedFileError(
            f"theta (geocentric colatitude) must lie in [0, pi] rad, got {_first(theta, bad)} at "
            f"{_first_rows(bad, locate)}{hint}"
        )
    phi = out["phi"].values
    bad = np.abs(phi) > 2 * np.pi
    if np.any(bad):
        raise MalformedFileError(
            f"phi (longitude) must be in radians within [-2 pi, 2 pi], got {_first(phi, bad)} at "
            f"{_first_rows(bad, locate)} (degrees instead of radians?)"
        )
    r = out["r"].values
    bad = r > _METRES_THRESHOLD_KM
    if np.any(bad):
        raise MalformedFileError(
            f"r must be a geocentric radius in km; {_first(r, bad)} at {_first_rows(bad, locate)} "
            f"looks like metres (Earth's surface is at 6371.2 km)"
        )
    bad = r < CORE_RADIUS_KM
    if np.any(bad):
        hint = " (altitudes instead of geocentric radii?)" if r.max() < CORE_RADIUS_KM else ""
        raise MalformedFileError(
            f"r = {_first(r, bad)} km at {_first_rows(bad, locate)} lies below the core-mantle "
            f"boundary ({CORE_RADIUS_KM} km): r must be a geocentric radius in km{hint}"
        )

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
        values = _as_float(ds, "site_index")
        _check_finite("site_index", values, locate)
        site = _check_integer_codes("site_index", values, locate)
        bad = site < -1
        if np.any(bad):
            raise MalformedFileError(
                f"site_index must be an observatory number >= 0 or -1 (no site), got "
                f"{site[bad][0]} at {_first_rows(bad, locate)}"
            )
        if "source" in ds.variables:
            bad = (out["source"].values == "observatory") & (site < 0)
            if np.any(bad):
                raise MalformedFileError(
                    f"observatory data need a site_index >= 0, got -1 at {_first_rows(bad, locate)}"
                )
        out["site_index"] = ds["site_index"].copy(data=site.astype(_INTEGER_DTYPES["site_index"]))
    if span is not None:
        _check_span(out["t"].values, span, locate)
    if dim != "datum":
        out = out.rename({dim: "datum"})
    return out


def validate_vector_data(ds: xr.Dataset, span=None) -> xr.Dataset:
    """Check long-format vector data and return them with canonical data types.

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
    MalformedFileError
        Missing or unknown per-datum variables (named), variables of other shapes, no
        rows, non-numeric entries, component codes outside {0, 1, 2}, sigma <= 0, theta
        outside [0, pi], phi beyond 2 pi in magnitude (degrees?), r in metres or below the
        core-mantle boundary, an unknown ``source``, a bad ``site_index``.
    NonFiniteError
        NaN or infinite values (the variable and the rows are named).
    EpochOutOfRangeError
        Times outside ``span``, or an empty span.
    """
    return _validate(ds, span, _datum)


# --------------------------------------------------------------------------------------
# reading
# --------------------------------------------------------------------------------------


def read_vector_data(path: str | os.PathLike, span=None) -> xr.Dataset:
    """Read long-format vector data from a CSV or netCDF file and validate them.

    Parameters
    ----------
    path : str or path-like
        A ``.csv`` file (module notes) or a netCDF file (``.nc``, ``.nc4``, ``.cdf``,
        ``.netcdf``).
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
    MalformedFileError
        Unknown file type, a file that cannot be parsed (rows with the wrong number of
        fields, non-numeric entries: line and column named) or invalid contents
        (:func:`validate_vector_data`).
    NonFiniteError, EpochOutOfRangeError
        As :func:`validate_vector_data`; for CSV files the line numbers are given.
    """
    path = Path(path)
    if not path.is_file():
        raise DataNotFoundError(f"vector data file {str(path)!r} not found")
    suffix = path.suffix.lower()
    if suffix in CSV_SUFFIXES:
        ds, lines = _read_csv(path)
        return _validate(ds, span, lambda i: f"line {lines[i]} of {path.name}")
    if suffix in NETCDF_SUFFIXES:
        try:
            with xr.open_dataset(path) as opened:
                ds = opened.load()
        except (OSError, ValueError) as exc:
            raise MalformedFileError(f"cannot read {path} as netCDF: {exc}") from exc
        return _validate(ds, span, _datum)
    raise MalformedFileError(
        f"unknown vector data file type {path.suffix!r} ({path.name}): expected "
        f"{', '.join(CSV_SUFFIXES + NETCDF_SUFFIXES)}"
    )


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


def _read_csv(path: Path) -> tuple[xr.Dataset, list[int]]:
    """Parse a CSV file into a dataset (unvalidated) and the file line of each datum."""
    text = path.read_text(encoding="utf-8")
    lines = text.splitlines()
    metadata = None
    header_index = None
    for number, line in enumerate(lines):
        stripped = line.strip()
        if stripped.startswith(_METADATA_PREFIX):
            try:
                metadata = json.loads(stripped[len(_METADATA_PREFIX) :])
            except json.JSONDecodeError as exc:
                raise MalformedFileError(
                    f"line {number + 1} of {path.name}: unreadable bayescore metadata ({exc})"
                ) from exc
        elif stripped and not stripped.startswith("#"):
            header_index = number
            break
    if header_index is None:
        raise MalformedFileError(f"{path.name} has no header line with the column names")
    reader = csv.reader(io.StringIO("\n".join(lines[header_index:])))
    header = [name.strip() for name in next(reader)]
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
    variables_meta = (metadata or {}).get("variables", {})
    data_vars = {}
    for name, column in zip(header, columns, strict=True):
        meta = variables_meta.get(name, {})
        if name == "source" or meta.get("dtype", "").startswith(("<U", "|S", "object")):
            values = np.array([v.strip() for v in column], dtype=str)
        else:
            values = _parse_float_column(name, column, line_numbers, path)
            dtype = meta.get("dtype")
            if dtype and np.dtype(dtype).kind in "iu" and np.all(np.isfinite(values)):
                values = values.astype(dtype)
        data_vars[name] = ("datum", values, meta.get("attrs", {}))
    ds = xr.Dataset(data_vars, coords={"datum": np.arange(len(rows))})
    if metadata:
        ds = _apply_metadata(ds, metadata, path)
    return ds, line_numbers


def _apply_metadata(ds: xr.Dataset, metadata: dict, path: Path) -> xr.Dataset:
    if metadata.get("format") != _FORMAT_NAME:
        raise MalformedFileError(
            f"{path.name}: the metadata line is not of format {_FORMAT_NAME!r}"
        )
    other = metadata.get("other")
    if other:
        extra = xr.Dataset.from_dict(other)
        for name, dtype in metadata.get("other_dtypes", {}).items():
            if name in extra.variables:
                extra[name] = extra[name].astype(dtype)
        ds = ds.merge(extra)
    ds.attrs = dict(metadata.get("attrs", {}))
    return ds


# --------------------------------------------------------------------------------------
# writing
# --------------------------------------------------------------------------------------


def _jsonable(value):
    if hasattr(value, "tolist"):
        return value.tolist()
    raise TypeError(f"object of type {type(value).__name__} is not JSON serialisable")


def _format_column(values: np.ndarray) -> list[str]:
    if values.dtype.kind == "f":
        return [repr(v) for v in values.tolist()]  # shortest exact representation
    if values.dtype.kind in "iub":
        return [str(v) for v in values.tolist()]
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
    buffer.write(f"{_METADATA_PREFIX} {json.dumps(metadata, default=_jsonable)}\n")
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(columns)
    formatted = [_format_column(np.asarray(ds[name].values)) for name in columns]
    writer.writerows(zip(*formatted, strict=True))
    with atomic_path(path) as tmp:
        tmp.write_text(buffer.getvalue(), encoding="utf-8")
    return path
