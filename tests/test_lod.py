"""IERS C04 length-of-day reader (bayescore.lod).

Truth: the file's whitespace-separated columns read with numpy.loadtxt (the reader uses
the fixed byte columns of the format description) and dates from the standard library.
"""

from __future__ import annotations

from datetime import date
from pathlib import Path

import numpy as np
import pytest

from bayescore.errors import EpochOutOfRangeError, MalformedFileError, SeriesLengthError
from bayescore.lod import C04_KEY, annual_mean_lod, load_lod_c04

#: Columns of the C04 file (0-based, whitespace-separated): year, month, day, MJD, LOD, error.
YEAR, MONTH, DAY, MJD, LOD, LOD_ERROR = 0, 1, 2, 4, 12, 20


def _file(shared_data: Path) -> Path:
    path = shared_data / C04_KEY
    if not path.is_file():
        pytest.skip(f"{path} not found (set BAYESCORE_DATA to the shared data directory)")
    return path


@pytest.fixture(scope="module")
def c04(shared_data):
    path = _file(shared_data)
    return path, load_lod_c04(path), np.loadtxt(path, comments="#")


@pytest.mark.parametrize("year", [1972, 2022])
def test_annual_mean_lod_against_loadtxt(c04, year):
    _, series, table = c04
    days = table[:, YEAR] == year
    expected_ms = 1000.0 * table[days, LOD].mean()
    means = annual_mean_lod(series)
    assert int(means["n_days"].sel(year=year)) == days.sum() == (366 if year == 1972 else 365)
    np.testing.assert_allclose(float(means["lod"].sel(year=year)), expected_ms, rtol=1e-12)
    # the length of day was about 3 ms longer in 1972 than 86400 s; near 0 in 2022
    assert (2.0 < expected_ms < 4.0) if year == 1972 else (-1.0 < expected_ms < 0.5)


def test_columns_units_and_times(c04):
    _, series, table = c04
    assert series.sizes["time"] == table.shape[0]
    np.testing.assert_allclose(series["lod"].values, 1000.0 * table[:, LOD], rtol=1e-15)
    np.testing.assert_allclose(series["lod_error"].values, 1000.0 * table[:, LOD_ERROR], rtol=1e-15)
    np.testing.assert_array_equal(series["mjd"].values, table[:, MJD])
    assert series["lod"].attrs["units"] == "ms"
    assert series["lod_error"].values[0] == pytest.approx(1.4)  # 1962: 1.4 ms
    # decimal years at 0h UTC, calendar-exact, from the date columns and the stdlib
    for i in (0, 1000, 13880, table.shape[0] - 1):
        day = date(*(int(v) for v in table[i, [YEAR, MONTH, DAY]]))
        first, following = date(day.year, 1, 1), date(day.year + 1, 1, 1)
        expected = day.year + (day - first).days / (following - first).days
        assert series["time"].values[i] == pytest.approx(expected, abs=1e-12)
    assert series["time"].values[0] == 1962.0


def test_interval_selection_and_epochs_outside(c04):
    path, series, _ = c04
    part = load_lod_c04(path, start=2000.0, end=2001.0)
    assert part.sizes["time"] == 367  # 2000-01-01 .. 2001-01-01 inclusive
    np.testing.assert_array_equal(part["lod"].values, series["lod"].sel(time=slice(2000, 2001)))
    with pytest.raises(EpochOutOfRangeError, match="1950"):
        load_lod_c04(path, start=1950.0)
    with pytest.raises(EpochOutOfRangeError):
        load_lod_c04(path, end=2100.0)
    with pytest.raises(EpochOutOfRangeError):
        load_lod_c04(path, start=2001.0, end=2000.0)


def _variant(tmp_path, path, edit):
    lines = path.read_text().splitlines()[:30]
    out = tmp_path / "eopc04"
    out.write_text("\n".join(edit(lines)) + "\n")
    return out


@pytest.mark.parametrize(
    "edit, message",
    [
        (lambda lines: lines[:20] + [lines[20][:150]], "line 21: expected 218 characters"),
        (
            lambda lines: lines[:10] + [lines[10][:115] + "abcdefg" + lines[10][122:]],
            "line 11: column lod",
        ),
        (lambda lines: lines[:10] + [lines[10][:11] + "9" + lines[10][12:]], "line 11: date"),
        (lambda lines: lines[:10] + [lines[11], lines[10]], "line 11: date|MJD"),
        (lambda lines: [line for line in lines if line.startswith("#")], "no data line"),
    ],
    ids=["short-line", "non-numeric", "date-vs-mjd", "order", "no-data"],
)
def test_malformed_c04_files(c04, tmp_path, edit, message):
    path, _, _ = c04
    with pytest.raises(MalformedFileError, match=message):
        load_lod_c04(_variant(tmp_path, path, edit))


def test_annual_mean_of_an_empty_series(c04):
    _, series, _ = c04
    with pytest.raises(SeriesLengthError):
        annual_mean_lod(series.isel(time=slice(0, 0)))
