"""Ground- and virtual-observatory series of the core field and its secular variation.

Readers of the CDF files of the Swarm geomagnetic virtual observatory (GVO) product
(Hammer et al. 2021, *Earth Planets Space* 73, 54) and of its ground-observatory (GO)
companion (annual or 4-monthly revised means from the BGS AUX_OBS hourly means, processed
at DTU; Macmillan & Olsen 2013, *Earth Planets Space* 65, 1355). Users of the GO series
are asked to acknowledge: "The staff of the geomagnetic observatories and INTERMAGNET are
thanked for supplying high-quality observatory data."

File layout (product definition SW-DS-DTU-GS-004): a flat list of records, each a site
(``Latitude``, ``Longitude`` in geocentric degrees, ``Radius`` in m; for GO also ``Obs``,
the IAGA code plus a digit numbering a station's series) at a time ``Timestamp``
(CDF_EPOCH, ms since 0000-01-01) with ``B_OB`` (observed field), ``B_CF`` (core field),
their ``sigma_*`` (nT), and the secular variation ``B_SV``, ``sigma_SV`` (nT/yr, annual
differences of ``B_CF``) at its own time ``Timestamp_SV``; GO files add ``bias_crust``
(the per-series crustal bias, nT). Vectors are geocentric spherical (B_r, B_theta,
B_phi): B_theta = -B_north, B_phi = B_east, B_r = -B_down (``docs/conventions.md``).
NaN marks a missing value.

The readers reshape the list into ``time x site x component`` arrays by grouping records
on their site (the series code for GO, the exact position for GVO) and their time, never
by record order alone; missing (site, time) pairs are NaN. The SV records are matched to
sites record by record when the SV list is as long as the main list, else (4-monthly GVO
files, whose SV list is shorter) through the site order of the main list's time blocks,
which the reader checks to be the same in every block. The placeholder SV record that
opens each site's series (time 1900-01-01, ``B_SV = (NaN, 0, NaN)``) is dropped: its zero
is not a measurement.

Times are calendar-exact decimal years (:mod:`bayescore.epochs`).
"""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import xarray as xr

from bayescore.epochs import decimal_year_from_cdf_epoch
from bayescore.errors import (
    DataNotFoundError,
    EmptySiteError,
    EpochOutOfRangeError,
    InvalidSettingError,
    MalformedFileError,
    MissingVariableError,
)

__all__ = [
    "GO_FILES",
    "GVO_FILES",
    "load_ground_observatories",
    "load_virtual_observatories",
    "read_observatory_cdf",
    "series_at_epoch",
]

#: Registry keys (:func:`bayescore.datasets.fetch`) of the ground-observatory files, by cadence.
GO_FILES = {
    "12M": "real/go/GObs_12M_19970701T000000_20230701T000000_0108.cdf",
    "4M": "real/go/GObs_4M_19970301T000000_20231101T000000_0108.cdf",
}

#: Registry keys of the virtual-observatory files, by (mission, cadence): Oersted (OR,
#: 1999-2005, r = 7126.2 km), CHAMP (CH, 2000-2010, r = 6741.2 km), CryoSat-2 (CR,
#: 2010-2018, r = 7098.2 km).
GVO_FILES = {
    ("OR", "12M"): "real/gvo/OR_OPER_VOBS_12M_2__19990701T000000_20050701T000000_0201.cdf",
    ("OR", "4M"): "real/gvo/OR_OPER_VOBS_4M_2__19990301T000000_20051101T000000_0201.cdf",
    ("CH", "12M"): "real/gvo/CH_OPER_VOBS_12M_2__20000701T000000_20100701T000000_0201.cdf",
    ("CH", "4M"): "real/gvo/CH_OPER_VOBS_4M_2__20000701T000000_20100701T000000_0201.cdf",
    ("CR", "12M"): "real/gvo/CR_OPER_VOBS_12M_2__20100701T000000_20180701T000000_0201.cdf",
    ("CR", "4M"): "real/gvo/CR_OPER_VOBS_4M_2__20100701T000000_20181101T000000_0201.cdf",
}

COMPONENTS = ("r", "theta", "phi")

GO_ACKNOWLEDGEMENT = (
    "The staff of the geomagnetic observatories and INTERMAGNET are thanked for supplying "
    "high-quality observatory data."
)
GO_REFERENCE = "Macmillan S, Olsen N (2013) Earth Planets Space 65:1355-1362"
GVO_REFERENCE = "Hammer MD et al. (2021) Earth Planets Space 73:54"

_MAIN_SCALARS = ("Timestamp", "Latitude", "Longitude", "Radius")
_MAIN_VECTORS = ("B_OB", "sigma_OB", "B_CF", "sigma_CF")
_SV_VARIABLES = ("Timestamp_SV", "B_SV", "sigma_SV")
_DESCRIPTIONS = {
    "B_OB": ("observed field", "nT"),
    "sigma_OB": ("error estimate of the observed field", "nT"),
    "B_CF": ("core field (external, ionospheric and induced fields removed)", "nT"),
    "sigma_CF": ("error estimate of the core field", "nT"),
    "B_SV": ("secular variation, annual differences of B_CF", "nT/yr"),
    "sigma_SV": ("error estimate of the secular variation", "nT/yr"),
    "bias_crust": ("crustal bias of the series (subtract or co-estimate)", "nT"),
}


# ----------------------------------------------------------------------------- file access
def _open_cdf(path: Path):
    import cdflib

    if not path.is_file():
        raise DataNotFoundError(f"observatory file {path} does not exist")
    try:
        return cdflib.CDF(os.fspath(path))
    except Exception as exc:  # cdflib raises many types (OSError, ValueError, struct.error)
        raise MalformedFileError(
            f"{path} is not a readable CDF file ({type(exc).__name__}: {exc})"
        ) from None


def _variable(cdf, path: Path, name: str, width: int | None) -> np.ndarray:
    """One CDF variable as an array of shape (records,) or (records, width)."""
    try:
        values = np.asarray(cdf.varget(name))
    except Exception as exc:  # truncated files fail inside cdflib in many ways
        raise MalformedFileError(
            f"{path}: variable {name!r} cannot be read (file truncated or corrupted? "
            f"{type(exc).__name__}: {exc})"
        ) from None
    expected_ndim = 1 if width is None else 2
    if values.ndim != expected_ndim or (width is not None and values.shape[1] != width):
        shape = "(records,)" if width is None else f"(records, {width})"
        raise MalformedFileError(
            f"{path}: variable {name!r} has shape {values.shape}, expected {shape}"
        )
    return values


def _read_variables(cdf, path: Path) -> dict[str, np.ndarray]:
    try:
        info = cdf.cdf_info()
        present = set(info.zVariables) | set(info.rVariables)
    except Exception as exc:
        raise MalformedFileError(
            f"{path}: CDF header cannot be read ({type(exc).__name__}: {exc})"
        ) from None
    required = _MAIN_SCALARS + _MAIN_VECTORS + _SV_VARIABLES
    missing = [name for name in required if name not in present]
    if missing:
        raise MissingVariableError(
            f"{path}: required variable(s) {', '.join(missing)} missing (found "
            f"{', '.join(sorted(present)) or 'none'}); not a virtual/ground-observatory file"
        )
    out = {name: _variable(cdf, path, name, None) for name in _MAIN_SCALARS}
    out.update({name: _variable(cdf, path, name, 3) for name in _MAIN_VECTORS})
    out["Timestamp_SV"] = _variable(cdf, path, "Timestamp_SV", None)
    out.update({name: _variable(cdf, path, name, 3) for name in ("B_SV", "sigma_SV")})
    if "Obs" in present:
        codes = _variable(cdf, path, "Obs", 4)
        out["Obs"] = np.array(["".join(row).strip() for row in codes.astype(str)])
        if "bias_crust" in present:
            out["bias_crust"] = _variable(cdf, path, "bias_crust", 3)
    for group, names in (("main", _MAIN_SCALARS + _MAIN_VECTORS), ("SV", _SV_VARIABLES)):
        lengths = {name: out[name].shape[0] for name in names}
        if len(set(lengths.values())) != 1:
            raise MalformedFileError(
                f"{path}: the {group} variables have different record counts {lengths}"
            )
    n_records = out["Timestamp"].shape[0]
    for name in ("Obs", "bias_crust"):
        if name in out and out[name].shape[0] != n_records:
            raise MalformedFileError(
                f"{path}: {name} has {out[name].shape[0]} records, Timestamp {n_records}"
            )
    if n_records == 0:
        raise MalformedFileError(f"{path}: the file holds no records")
    return out


# ----------------------------------------------------------------------------- reshaping
def _site_index(variables: dict, path: Path) -> tuple[np.ndarray, np.ndarray]:
    """Site number of every record (first-appearance order) and the site keys."""
    if "Obs" in variables:
        keys = variables["Obs"]
    else:
        position = np.stack(
            [variables["Latitude"], variables["Longitude"], variables["Radius"]], axis=1
        )
        if not np.all(np.isfinite(position)):
            raise MalformedFileError(f"{path}: non-finite Latitude/Longitude/Radius")
        keys = np.array([f"{a!r}/{b!r}/{c!r}" for a, b, c in position])
    unique, first, inverse = np.unique(keys, return_index=True, return_inverse=True)
    order = np.argsort(first)  # sites in the order in which the file first lists them
    rank = np.empty_like(order)
    rank[order] = np.arange(order.size)
    return rank[inverse], first[order]


def _grid(values, time_index, site_index, shape, path, what) -> np.ndarray:
    """Place record values into a NaN-filled (time, site, ...) array; duplicates are errors."""
    flat = time_index * shape[1] + site_index
    if np.unique(flat).size != flat.size:
        _, counts = np.unique(flat, return_counts=True)
        raise MalformedFileError(
            f"{path}: {int((counts > 1).sum())} (time, site) pair(s) of {what} appear in "
            "more than one record"
        )
    out = np.full(shape, np.nan)
    out[time_index, site_index] = values
    return out


def _sv_sites(variables, site, n_sites, path) -> np.ndarray:
    """Site number of every SV record."""
    n_main = site.size
    n_sv = variables["Timestamp_SV"].size
    if n_sv == n_main:
        return site
    blocks_ok = n_main % n_sites == 0 and n_sv % n_sites == 0
    if blocks_ok:
        block_sites = site.reshape(-1, n_sites)
        sv_times = variables["Timestamp_SV"].reshape(-1, n_sites)
        blocks_ok = bool(
            np.all(block_sites == block_sites[0])
            and np.all((sv_times == sv_times[:, :1]) | ~np.isfinite(sv_times))
        )
    if not blocks_ok:
        raise MalformedFileError(
            f"{path}: {n_sv} SV records cannot be matched to the {n_main} main records of "
            f"{n_sites} sites (neither one SV record per record nor whole time blocks of "
            "all sites in one fixed order)"
        )
    return np.tile(block_sites[0], n_sv // n_sites)


def _data_array(values, dims, name):
    description, units = _DESCRIPTIONS[name]
    return xr.DataArray(values, dims=dims, attrs={"units": units, "long_name": description})


def _build_dataset(variables: dict, path: Path, empty_sites: str) -> xr.Dataset:
    site, first_record = _site_index(variables, path)
    n_sites = first_record.size
    timestamps = variables["Timestamp"]
    if not np.all(np.isfinite(timestamps)):
        raise MalformedFileError(f"{path}: non-finite Timestamp values")
    times_ms, time_index = np.unique(timestamps, return_inverse=True)
    shape = (times_ms.size, n_sites, 3)
    main = {
        name: _grid(variables[name], time_index, site, shape, path, name) for name in _MAIN_VECTORS
    }

    # secular variation: drop placeholder records dated before the first main record
    sv_site = _sv_sites(variables, site, n_sites, path)
    sv_ms = variables["Timestamp_SV"]
    real = np.isfinite(sv_ms) & (sv_ms >= times_ms[0])
    sv_times_ms, sv_time_index = np.unique(sv_ms[real], return_inverse=True)
    sv_shape = (sv_times_ms.size, n_sites, 3)
    secular = {
        name: _grid(variables[name][real], sv_time_index, sv_site[real], sv_shape, path, name)
        for name in ("B_SV", "sigma_SV")
    }

    is_ground = "Obs" in variables
    position = {name: variables[name][first_record] for name in ("Latitude", "Longitude", "Radius")}
    if is_ground:
        labels = variables["Obs"][first_record]
        for name in ("Latitude", "Longitude", "Radius"):
            moved = variables[name] != position[name][site]
            if np.any(moved):
                bad = labels[site[np.flatnonzero(moved)[0]]]
                raise MalformedFileError(
                    f"{path}: series {bad!r} changes its {name} between records"
                )
    else:
        labels = np.array([f"GVO{i + 1:03d}" for i in range(n_sites)])

    data_vars = {
        name: _data_array(values, ("time", "site", "component"), name)
        for name, values in main.items()
    }
    data_vars.update(
        {
            name: _data_array(values, ("time_sv", "site", "component"), name)
            for name, values in secular.items()
        }
    )
    if "bias_crust" in variables:
        bias = variables["bias_crust"]
        per_site = bias[first_record]
        same = (bias == per_site[site]) | (np.isnan(bias) & np.isnan(per_site[site]))
        if not np.all(same):
            raise MalformedFileError(f"{path}: bias_crust varies within a series")
        data_vars["bias_crust"] = _data_array(per_site, ("site", "component"), "bias_crust")

    coords = {
        "time": (
            "time",
            decimal_year_from_cdf_epoch(times_ms),
            {"units": "decimal year", "long_name": "epoch of B_OB and B_CF (calendar-exact)"},
        ),
        "time_sv": (
            "time_sv",
            decimal_year_from_cdf_epoch(sv_times_ms),
            {"units": "decimal year", "long_name": "epoch of B_SV (calendar-exact)"},
        ),
        "site": ("site", labels),
        "component": ("component", list(COMPONENTS)),
        "colatitude": (
            "site",
            90.0 - position["Latitude"],
            {"units": "degree", "long_name": "geocentric colatitude"},
        ),
        "longitude": (
            "site",
            position["Longitude"],
            {"units": "degree", "long_name": "longitude, east positive"},
        ),
        "radius": ("site", position["Radius"] / 1000.0, {"units": "km"}),
    }
    if is_ground:
        coords["iaga_code"] = ("site", np.array([label[:3] for label in labels]))
    attrs = {
        "source_file": path.name,
        "kind": "ground observatories" if is_ground else "geomagnetic virtual observatories",
        "frame": "geocentric spherical (B_r, B_theta = -B_north, B_phi = B_east)",
        "time_convention": "calendar-exact decimal years (bayescore.epochs)",
        "reference": GO_REFERENCE if is_ground else GVO_REFERENCE,
    }
    if is_ground:
        attrs["acknowledgement"] = GO_ACKNOWLEDGEMENT
    dataset = xr.Dataset(data_vars, coords=coords, attrs=attrs)

    empty = np.all(np.isnan(main["B_CF"]), axis=(0, 2))
    if np.any(empty) and empty_sites == "raise":
        names = ", ".join(str(label) for label in labels[empty][:5])
        raise EmptySiteError(
            f"{path}: {int(empty.sum())} site(s) hold no finite B_CF value ({names}"
            f"{', ...' if empty.sum() > 5 else ''}); pass empty_sites='keep' or 'drop'"
        )
    if np.any(empty) and empty_sites == "drop":
        dataset = dataset.isel(site=np.flatnonzero(~empty))
        dataset.attrs["dropped_empty_sites"] = [str(label) for label in labels[empty]]
    return dataset


# ----------------------------------------------------------------------------- public API
def read_observatory_cdf(path, *, empty_sites: str = "keep") -> xr.Dataset:
    """Read a ground- or virtual-observatory CDF file into a labelled data set.

    Parameters
    ----------
    path : str or path-like
        A file of the Swarm GVO product layout (``*_VOBS_*.cdf``) or a GO composite
        (``GObs_*.cdf``, recognised by its ``Obs`` variable).
    empty_sites : {"keep", "drop", "raise"}, default "keep"
        What to do with sites that hold no finite ``B_CF`` value (the two polar GVOs of
        the Oersted 12-month file, which the satellite's orbit does not reach): keep them
        as all-NaN series, drop them (listed in the attribute ``dropped_empty_sites``)
        or raise :class:`EmptySiteError`.

    Returns
    -------
    xarray.Dataset
        Dimensions ``time``, ``time_sv``, ``site``, ``component`` (``"r"``, ``"theta"``,
        ``"phi"``). Variables ``B_OB``, ``sigma_OB``, ``B_CF``, ``sigma_CF`` (nT) on
        ``(time, site, component)``; ``B_SV``, ``sigma_SV`` (nT/yr) on
        ``(time_sv, site, component)``; for GO files ``bias_crust`` (nT) on
        ``(site, component)``. Coordinates ``time``, ``time_sv`` (calendar-exact decimal
        years), ``site`` (the series code, e.g. ``"AAA0"``, for GO; ``"GVO001"``... in
        file order for GVO), ``colatitude`` and ``longitude`` (geocentric degrees) and
        ``radius`` (km) along ``site``; for GO also ``iaga_code``. Missing values are NaN.

    Raises
    ------
    DataNotFoundError
        If the file does not exist.
    MalformedFileError
        If the file is not a readable CDF file (truncated, another format), if variable
        shapes or record counts disagree, if a (time, site) pair appears twice or the SV
        records cannot be matched to sites.
    MissingVariableError
        If a required variable is absent (a subclass of :class:`MalformedFileError`).
    EmptySiteError
        If a site has no finite ``B_CF`` and ``empty_sites="raise"``.
    ValueError
        If ``empty_sites`` is not one of the three choices.
    """
    if empty_sites not in ("keep", "drop", "raise"):
        raise InvalidSettingError(
            f"empty_sites must be 'keep', 'drop' or 'raise', got {empty_sites!r}"
        )
    path = Path(path)
    cdf = _open_cdf(path)
    variables = _read_variables(cdf, path)
    return _build_dataset(variables, path, empty_sites)


def load_virtual_observatories(
    mission: str = "CH", cadence: str = "12M", path=None, *, empty_sites: str = "keep"
) -> xr.Dataset:
    """Geomagnetic virtual observatories of a satellite mission (Hammer et al. 2021).

    300 GVOs on an equal-area grid at satellite altitude, each a local cubic-potential fit
    to a year (``"12M"``) or four months (``"4M"``) of data within 700 km. ``B_CF`` has the
    LCS-1 crustal field (degrees 14-185), ionospheric, magnetospheric and induced fields
    removed; ``B_SV`` is the annual difference of ``B_CF``.

    Parameters
    ----------
    mission : {"OR", "CH", "CR"}, default "CH"
        Oersted (1999-2005), CHAMP (2000-2010) or CryoSat-2 (2010-2018).
    cadence : {"12M", "4M"}, default "12M"
        Annual or 4-monthly estimates.
    path : str or path-like, optional
        The CDF file; by default located with :func:`bayescore.datasets.fetch` under the
        key ``GVO_FILES[(mission, cadence)]``.
    empty_sites : {"keep", "drop", "raise"}, default "keep"
        See :func:`read_observatory_cdf`.

    Returns
    -------
    xarray.Dataset
        As :func:`read_observatory_cdf`; ``radius`` is 7126.2 km (OR), 6741.2 km (CH) or
        7098.2 km (CR).

    Raises
    ------
    ValueError
        Unknown mission or cadence.
    DataNotFoundError, MalformedFileError, EmptySiteError
        As :func:`read_observatory_cdf`.
    """
    key = GVO_FILES.get((mission, cadence))
    if key is None:
        raise InvalidSettingError(
            f"no GVO file for mission={mission!r}, cadence={cadence!r}; known: {sorted(GVO_FILES)}"
        )
    from bayescore.datasets import fetch

    return read_observatory_cdf(fetch(key, path), empty_sites=empty_sites)


def load_ground_observatories(
    cadence: str = "12M", path=None, *, empty_sites: str = "keep"
) -> xr.Dataset:
    """Ground-observatory revised means 1997-2023 (Macmillan & Olsen 2013).

    218 series (IAGA code plus a digit numbering a station's series across site or
    instrument changes) at 187 distinct positions; ``B_CF`` is the robust annual
    (``"12M"``) or 4-monthly (``"4M"``) mean with the CM4 Sq and CHAOS external fields
    removed; ``bias_crust`` is each series' crustal bias (median residual to CHAOS-7.15
    to degree 14), which ``B_CF`` still contains. Acknowledge: "The staff of the
    geomagnetic observatories and INTERMAGNET are thanked for supplying high-quality
    observatory data."

    Parameters
    ----------
    cadence : {"12M", "4M"}, default "12M"
        Annual or 4-monthly means.
    path : str or path-like, optional
        The CDF file; by default located with :func:`bayescore.datasets.fetch` under the
        key ``GO_FILES[cadence]``.
    empty_sites : {"keep", "drop", "raise"}, default "keep"
        See :func:`read_observatory_cdf`.

    Returns
    -------
    xarray.Dataset
        As :func:`read_observatory_cdf`, with ``bias_crust`` and ``iaga_code``.

    Raises
    ------
    ValueError
        Unknown cadence.
    DataNotFoundError, MalformedFileError, EmptySiteError
        As :func:`read_observatory_cdf`.
    """
    key = GO_FILES.get(cadence)
    if key is None:
        raise InvalidSettingError(f"no GO file for cadence={cadence!r}; known: {sorted(GO_FILES)}")
    from bayescore.datasets import fetch

    return read_observatory_cdf(fetch(key, path), empty_sites=empty_sites)


def series_at_epoch(series: xr.Dataset, epoch: float, *, variable: str = "B_CF") -> xr.DataArray:
    """The sample of an observatory series nearest to an epoch.

    Parameters
    ----------
    series : xarray.Dataset
        A data set of :func:`read_observatory_cdf`.
    epoch : float
        Decimal year.
    variable : str, default "B_CF"
        Variable to select (``B_SV`` and ``sigma_SV`` use ``time_sv``).

    Returns
    -------
    xarray.DataArray, dims (site, component)
        The sample at the nearest time, which is kept as a scalar coordinate.

    Raises
    ------
    EpochOutOfRangeError
        If ``epoch`` is farther from every sample time than half the median sampling
        interval (before the first, after the last sample or in a gap).
    KeyError
        If ``variable`` is not in ``series``.
    """
    data = series[variable]
    dim = data.dims[0]
    times = np.asarray(series[dim].values, dtype=float)
    epoch = float(epoch)
    half_step = 0.5 * float(np.median(np.diff(times))) if times.size > 1 else 0.0
    nearest = int(np.argmin(np.abs(times - epoch))) if times.size else -1
    if not np.isfinite(epoch) or nearest < 0 or abs(times[nearest] - epoch) > half_step:
        span = f"{times[0]:.4f}-{times[-1]:.4f}" if times.size else "empty"
        raise EpochOutOfRangeError(
            f"epoch {epoch!r} has no {variable} sample within {half_step:.3f} yr (samples "
            f"span {span} in {series.attrs.get('source_file', 'the series')})"
        )
    return data.isel({dim: nearest})
