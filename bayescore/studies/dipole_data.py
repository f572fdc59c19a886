"""Dipole-moment series for :mod:`bayescore.studies.dipole`: named series and CSV files.

PADM2M (Ziegler et al. 2011) and Sint-2000 (Valet et al. 2005), 2000 values at 1 kyr
spacing from -1.999 Ma to 0 Ma, read through :func:`bayescore.datasets.fetch`, or any CSV
file with the same columns, or an array. Units: ``1e22 A m^2``; time in Ma (negative
before present).
"""

from __future__ import annotations

import math
import os
from pathlib import Path

import numpy as np
import xarray as xr

from bayescore.datasets import fetch
from bayescore.errors import (
    DataNotFoundError,
    ForecastConfigError,
    MalformedFileError,
    NonFiniteError,
    SeriesLengthError,
    SeriesShapeError,
    UnevenSamplingError,
)
from bayescore.spectral import EVEN_SAMPLING_RTOL
from bayescore.synthetic.axial_dipole import simulate_axial_dipole_moment

__all__ = ["SERIES", "SYNTHETIC_SERIES", "QUANTITIES", "UNITS", "load_dipole_series"]


#: Named series: registry key of :func:`bayescore.datasets.fetch` and a description.
SERIES = {
    "padm2m": ("dipole/padm2m_signed_dipole.csv", "PADM2M (Ziegler et al. 2011)"),
    "sint2000": ("dipole/sint2000_signed_dipole.csv", "Sint-2000 (Valet et al. 2005)"),
}


#: Name of the simulated series that needs no data file
#: (:func:`bayescore.synthetic.axial_dipole.simulate_axial_dipole_moment`, seed 0).
SYNTHETIC_SERIES = "synthetic"


QUANTITIES = ("signed", "magnitude")


UNITS = "1e22 A m^2"


TIME_COLUMN = "time_Ma"


VALUE_COLUMN = "axial_dipole_moment_1e22Am2"


SIGMA_COLUMN = "sigma_1e22Am2"


def _read_dipole_csv(path: Path) -> tuple[np.ndarray, np.ndarray]:
    """Time (Ma) and moment (1e22 A m^2) columns of a dipole CSV file, validated."""
    import pandas as pd

    try:
        table = pd.read_csv(path, dtype=str, keep_default_na=False)
    except (pd.errors.ParserError, pd.errors.EmptyDataError, UnicodeDecodeError) as error:
        raise MalformedFileError(f"{path} is not a readable CSV table: {error}") from error
    table.columns = [str(name).strip() for name in table.columns]
    missing = [name for name in (TIME_COLUMN, VALUE_COLUMN) if name not in table.columns]
    if missing:
        raise MalformedFileError(
            f"{path} lacks the column(s) {missing}; a dipole series file has the columns "
            f"{TIME_COLUMN}, {VALUE_COLUMN}[, {SIGMA_COLUMN}] (found {list(table.columns)})"
        )
    if len(table) == 0:
        raise SeriesLengthError(f"{path} has a header and no data rows")
    columns = []
    for name in (TIME_COLUMN, VALUE_COLUMN):
        text = [str(entry).strip() for entry in table[name]]
        numeric = pd.to_numeric(pd.Series(text), errors="coerce").to_numpy(dtype=np.float64)
        missing_marks = {"nan", "", "na", "n/a", "null", "none", "inf", "-inf", "+inf"}
        marked = np.array([entry.lower() not in missing_marks for entry in text], dtype=bool)
        bad = np.isnan(numeric) & marked
        if np.any(bad):
            row = int(np.argmax(bad))
            raise MalformedFileError(
                f"{path}: column {name} has the non-numeric entry {text[row]!r} "
                f"in data row {row + 1}"
            )
        if not np.all(np.isfinite(numeric)):
            row = int(np.argmax(~np.isfinite(numeric)))
            raise NonFiniteError(
                f"{path}: column {name} has a missing, NaN or infinite value in data row "
                f"{row + 1}; fill or drop it first"
            )
        columns.append(numeric)
    return columns[0], columns[1]


def _even_step(time_ma: np.ndarray, where: str) -> float:
    """Sampling step in kyr of strictly increasing, evenly spaced times in Ma."""
    steps = np.diff(time_ma)
    if np.any(steps <= 0):
        row = int(np.argmax(steps <= 0))
        raise SeriesShapeError(
            f"{where}: times must increase strictly (oldest first); row {row + 1} is "
            f"followed by {time_ma[row + 1]} Ma after {time_ma[row]} Ma"
        )
    mean_step = (time_ma[-1] - time_ma[0]) / (len(time_ma) - 1)
    # files store times to 1e-6 Ma: allow that rounding besides the relative tolerance
    tolerance = max(EVEN_SAMPLING_RTOL * mean_step, 2e-6)
    if np.any(np.abs(steps - mean_step) > tolerance):
        raise UnevenSamplingError(
            f"{where}: samples are not evenly spaced in time (steps from {steps.min():g} to "
            f"{steps.max():g} Ma); resample onto a regular grid first"
        )
    return float(mean_step * 1000.0)


def load_dipole_series(
    series="padm2m", quantity: str = "signed", *, dt_kyr: float = 1.0
) -> xr.DataArray:
    """Read a dipole-moment series and return it labelled.

    Parameters
    ----------
    series : {"padm2m", "sint2000", "synthetic"}, path-like or array_like
        A named reference series (read with :func:`bayescore.datasets.fetch`, so
        ``$BAYESCORE_DATA`` is honoured), ``"synthetic"`` (the simulated reversing
        series of :func:`bayescore.synthetic.axial_dipole.simulate_axial_dipole_moment`
        with seed 0: 2000 kyr at 1 kyr, needs no data file), a CSV file with the columns
        ``time_Ma`` and ``axial_dipole_moment_1e22Am2`` (``sigma_1e22Am2`` optional),
        evenly spaced and oldest first, or a 1-D array of moments in 1e22 A m^2, oldest first (an
        :class:`xarray.DataArray` with a ``time`` coordinate in Ma is taken as is).
    quantity : {"signed", "magnitude"}
        The signed moment (polarity kept) or its absolute value.
    dt_kyr : float, default 1.0
        Sampling step of a plain array (kyr); its times are then
        ``(i - (n - 1)) * dt_kyr / 1000`` Ma, ending at present. Ignored for files.

    Returns
    -------
    xarray.DataArray, dims ("time",)
        The moment in 1e22 A m^2 with coordinate ``time`` (Ma, negative before present)
        and attributes ``units``, ``source``, ``quantity`` and ``dt_kyr``.

    Raises
    ------
    DataNotFoundError
        If a named series or a file cannot be found.
    MalformedFileError
        If a file lacks a column or holds non-numeric entries.
    NonFiniteError
        If a value is missing, NaN or infinite.
    SeriesShapeError, UnevenSamplingError
        If the series is not 1-D, or its times do not increase evenly.
    ForecastConfigError
        If ``quantity`` or ``dt_kyr`` is invalid.
    """
    if quantity not in QUANTITIES:
        raise ForecastConfigError(f"quantity must be one of {QUANTITIES}, got {quantity!r}")
    if isinstance(series, str) and series.lower() == SYNTHETIC_SERIES:
        series = simulate_axial_dipole_moment(seed=0)
    if isinstance(series, str | os.PathLike):
        name = str(series)
        if name.lower() in SERIES:
            key, source = SERIES[name.lower()]
            path = fetch(key)
        else:
            if not Path(name).expanduser().is_file():
                raise DataNotFoundError(
                    f"{name!r} is neither a named dipole series ({', '.join(SERIES)}) nor an "
                    "existing CSV file"
                )
            path = fetch(SERIES["padm2m"][0], path=name)
            source = str(path)
        time_ma, values = _read_dipole_csv(Path(path))
        if len(values) < 2:
            raise SeriesLengthError(f"{path} holds {len(values)} values; a series needs more")
        dt = _even_step(time_ma, str(path))
    else:
        dt_value = float(dt_kyr)
        if not (math.isfinite(dt_value) and dt_value > 0):
            raise ForecastConfigError(f"dt_kyr must be a positive step in kyr, got {dt_kyr!r}")
        values = np.asarray(getattr(series, "values", series), dtype=np.float64)
        if values.ndim != 1:
            raise SeriesShapeError(
                f"a dipole series must be 1-D (one moment per time), got shape {values.shape}"
            )
        if not np.all(np.isfinite(values)):
            index = int(np.argmax(~np.isfinite(values)))
            raise NonFiniteError(f"the series has a NaN or infinite value at index {index}")
        source = "array"
        if isinstance(series, xr.DataArray) and "time" in series.coords and len(values) > 1:
            time_ma = np.asarray(series["time"].values, dtype=np.float64)
            dt = _even_step(time_ma, "series")
            source = str(series.attrs.get("source", "array"))
        else:
            time_ma = (np.arange(len(values)) - (len(values) - 1)) * dt_value / 1000.0
            dt = dt_value
    if quantity == "magnitude":
        values = np.abs(values)
    return xr.DataArray(
        values,
        dims=("time",),
        coords={"time": ("time", time_ma, {"units": "Ma", "long_name": "time (- before present)"})},
        name="axial_dipole_moment",
        attrs={
            "units": UNITS,
            "long_name": f"{quantity} axial dipole moment",
            "source": source,
            "quantity": quantity,
            "dt_kyr": dt,
        },
    )
