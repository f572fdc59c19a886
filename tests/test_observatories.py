"""Ground- and virtual-observatory CDF readers (bayescore.observatories).

Truth: IGRF-14 synthesised at the CHAMP GVO positions, the raw CDF variables read with
cdflib directly, calendar dates decoded with the standard library, and the product's own
definition of B_SV as annual differences of B_CF.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from pathlib import Path

import numpy as np
import pytest

cdflib = pytest.importorskip("cdflib")

from bayescore.errors import (  # noqa: E402
    EmptySiteError,
    EpochOutOfRangeError,
    MalformedFileError,
    MissingVariableError,
)
from bayescore.fields import igrf  # noqa: E402
from bayescore.observatories import (  # noqa: E402
    GO_FILES,
    GVO_FILES,
    load_ground_observatories,
    load_virtual_observatories,
    read_observatory_cdf,
    series_at_epoch,
)

CHAMP_12M = GVO_FILES[("CH", "12M")]
CHAMP_4M = GVO_FILES[("CH", "4M")]
OERSTED_12M = GVO_FILES[("OR", "12M")]
GO_12M = GO_FILES["12M"]

#: Milliseconds from 0000-01-01 to 0001-01-01 (year 0 is a leap year, proleptic Gregorian).
MS_YEAR_ZERO = 366 * 86_400_000


def _file(shared_data: Path, key: str) -> Path:
    path = shared_data / key
    if not path.is_file():
        pytest.skip(f"{path} not found (set BAYESCORE_DATA to the shared data directory)")
    return path


def _decimal_year_stdlib(epoch_ms: float) -> float:
    """Calendar-exact decimal year of a CDF_EPOCH value with the standard library."""
    instant = datetime(1, 1, 1) + timedelta(milliseconds=float(epoch_ms) - MS_YEAR_ZERO)
    start, end = datetime(instant.year, 1, 1), datetime(instant.year + 1, 1, 1)
    return instant.year + (instant - start) / (end - start)


def _raw(path: Path) -> dict[str, np.ndarray]:
    cdf = cdflib.CDF(str(path))
    return {name: np.asarray(cdf.varget(name)) for name in cdf.cdf_info().zVariables}


def _write_cdf(path: Path, variables: dict[str, np.ndarray]) -> Path:
    """A minimal CDF with the given variables (Timestamp* as CDF_EPOCH, others double)."""
    from cdflib.cdfwrite import CDF

    writer = CDF(str(path))
    for name, values in variables.items():
        values = np.ascontiguousarray(values, dtype=np.float64)
        spec = {
            "Variable": name,
            "Data_Type": 31 if name.startswith("Timestamp") else 45,  # CDF_EPOCH, CDF_DOUBLE
            "Num_Elements": 1,
            "Rec_Vary": True,
            "Dim_Sizes": list(values.shape[1:]),
        }
        writer.write_var(spec, var_data=values)
    writer.close()
    return path


# --------------------------------------------------------------------------- CHAMP GVOs
def test_champ_gvo_core_field_agrees_with_igrf(shared_data):
    series = read_observatory_cdf(_file(shared_data, CHAMP_12M))
    sample = series_at_epoch(series, 2005.5)
    epoch = float(sample["time"])
    assert abs(epoch - 2005.5) < 0.01  # 2005-07-01T12:00
    theta = np.deg2rad(series["colatitude"].values)
    phi = np.deg2rad(series["longitude"].values)
    b_r, b_theta, b_phi = igrf().synth(epoch, series["radius"].values, theta, phi)
    model = np.stack([np.asarray(b_r), np.asarray(b_theta), np.asarray(b_phi)], axis=-1)
    residual = sample.values - model
    assert np.all(np.isfinite(residual))  # no missing CHAMP GVO in 2005
    rms = np.sqrt(np.mean(residual**2, axis=0))
    # IGRF-14 (degree 13) against the GVO core field (degrees 14+ of the crust removed)
    assert np.all(rms < 10.0), rms
    # a wrong frame (B_theta = +B_north, or components swapped) misses by thousands of nT
    assert np.sqrt(np.mean((sample.values[:, 1] + model[:, 1]) ** 2)) > 1000.0


def test_gvo_positions_and_times_decode_as_documented(shared_data):
    path = _file(shared_data, CHAMP_12M)
    raw = _raw(path)
    series = read_observatory_cdf(path)
    assert dict(series.sizes) == {"time": 11, "site": 300, "component": 3, "time_sv": 10}
    assert list(series["component"].values) == ["r", "theta", "phi"]
    np.testing.assert_array_equal(series["radius"].values, 6741.2)
    # every raw record's position is its site's position (latitude -> colatitude, m -> km)
    index = {
        (lat, lon): i
        for i, (lat, lon) in enumerate(
            zip(90.0 - series["colatitude"].values, series["longitude"].values, strict=True)
        )
    }
    sites = np.array(
        [index[(lat, lon)] for lat, lon in zip(raw["Latitude"], raw["Longitude"], strict=True)]
    )
    np.testing.assert_allclose(series["radius"].values[sites], raw["Radius"] / 1000.0, rtol=0)
    # times: calendar-exact decimal years, checked with the standard library
    expected = [_decimal_year_stdlib(ms) for ms in np.unique(raw["Timestamp"])]
    np.testing.assert_allclose(series["time"].values, expected, rtol=0, atol=1e-9)
    assert cdflib.cdfepoch.encode(np.unique(raw["Timestamp"]))[5] == "2005-07-01T12:00:00.000"
    np.testing.assert_allclose(series["time"].values[5], 2005 + 181.5 / 365, atol=1e-12)
    # every record's B_CF lies at its (time, site)
    times = np.searchsorted(np.unique(raw["Timestamp"]), raw["Timestamp"])
    np.testing.assert_array_equal(series["B_CF"].values[times, sites], raw["B_CF"])


def test_missing_values_stay_nan(shared_data):
    path = _file(shared_data, CHAMP_12M)
    raw = _raw(path)
    series = read_observatory_cdf(path)
    raw_missing = np.isnan(raw["B_CF"]).any(axis=1).sum()
    assert raw_missing == 26  # the file's gaps
    assert np.isnan(series["B_CF"].values).any(axis=2).sum() == raw_missing
    assert np.isnan(series["sigma_CF"].values).any(axis=2).sum() == raw_missing
    # the placeholder SV record of each site (1900-01-01, B_SV = (NaN, 0, NaN)) is dropped
    assert series["time_sv"].values.min() > series["time"].values.min()
    assert not np.any(series["B_SV"].values == 0.0)
    assert not np.any(series["sigma_SV"].values == 0.0)
    finite = np.isfinite(raw["B_SV"]).all(axis=1)
    assert np.isfinite(series["B_SV"].values).all(axis=2).sum() == finite.sum()


@pytest.mark.parametrize("key", [CHAMP_12M, CHAMP_4M, GO_12M], ids=["CH-12M", "CH-4M", "GO-12M"])
def test_secular_variation_is_the_annual_difference_of_the_core_field(shared_data, key):
    # the product defines B_SV as annual differences of B_CF: a check that the SV records
    # reached their sites (the 4-monthly GVO SV list is shorter and matched by blocks)
    series = read_observatory_cdf(_file(shared_data, key))
    times = series["time"].values
    core = series["B_CF"].values
    checked = 0
    for j, t_sv in enumerate(series["time_sv"].values):
        later, earlier = np.nonzero(np.abs(times[:, None] - times[None, :] - 1.0) < 0.01)
        best = np.argmin(np.abs(0.5 * (times[later] + times[earlier]) - t_sv))
        difference = core[later[best]] - core[earlier[best]]
        sv = series["B_SV"].values[j]
        assert np.array_equal(np.isnan(sv), np.isnan(difference))
        np.testing.assert_allclose(sv, difference, rtol=0, atol=1e-6)
        checked += int(np.isfinite(sv).sum())
    assert checked > 1000


# --------------------------------------------------------------------------- ground
def test_ground_observatory_series_codes_positions_and_bias(shared_data):
    path = _file(shared_data, GO_12M)
    raw = _raw(path)
    series = load_ground_observatories("12M", path=path)
    codes = np.array(["".join(row) for row in raw["Obs"].astype(str)])
    assert series.sizes["site"] == 218 == np.unique(codes).size
    assert series.sizes["time"] == 27
    positions = np.stack(
        [series["colatitude"].values, series["longitude"].values, series["radius"].values], 1
    )
    assert np.unique(positions, axis=0).shape[0] == 187
    assert all(
        code[:3] == iaga
        for code, iaga in zip(series["site"].values, series["iaga_code"].values, strict=True)
    )
    assert "INTERMAGNET" in series.attrs["acknowledgement"]
    # every record by its code and time; bias_crust once per series
    times = np.searchsorted(np.unique(raw["Timestamp"]), raw["Timestamp"])
    site = {code: i for i, code in enumerate(series["site"].values)}
    sites = np.array([site[code] for code in codes])
    np.testing.assert_array_equal(series["B_CF"].values[times, sites], raw["B_CF"])
    np.testing.assert_array_equal(series["B_OB"].values[times, sites], raw["B_OB"])
    np.testing.assert_array_equal(series["bias_crust"].values[sites], raw["bias_crust"])
    np.testing.assert_allclose(series["colatitude"].values[sites], 90.0 - raw["Latitude"])


def test_records_in_any_order_read_the_same(shared_data, tmp_path):
    raw = _raw(_file(shared_data, CHAMP_12M))
    order = np.random.default_rng(3).permutation(raw["Timestamp"].size)
    shuffled = _write_cdf(tmp_path / "shuffled.cdf", {k: v[order] for k, v in raw.items()})
    original = read_observatory_cdf(shared_data / CHAMP_12M)
    mixed = read_observatory_cdf(shuffled)
    # sites are numbered in the order the file first lists them: align by position
    position = {
        (c, lo): s
        for s, c, lo in zip(
            mixed["site"].values, mixed["colatitude"].values, mixed["longitude"].values, strict=True
        )
    }
    labels = [
        position[(c, lo)]
        for c, lo in zip(original["colatitude"].values, original["longitude"].values, strict=True)
    ]
    aligned = mixed.sel(site=labels).assign_coords(site=original["site"].values)
    for name in ("B_OB", "sigma_OB", "B_CF", "sigma_CF", "B_SV", "sigma_SV"):
        np.testing.assert_array_equal(aligned[name].values, original[name].values)
    np.testing.assert_array_equal(aligned["time_sv"].values, original["time_sv"].values)


# --------------------------------------------------------------------------- bad input
def test_truncated_and_non_cdf_files_raise_named_errors(shared_data, tmp_path):
    data = _file(shared_data, CHAMP_12M).read_bytes()
    truncated = tmp_path / "truncated.cdf"
    truncated.write_bytes(data[: len(data) // 2])
    with pytest.raises(MalformedFileError, match="truncated.cdf"):
        read_observatory_cdf(truncated)
    text = tmp_path / "text.cdf"
    text.write_text("Timestamp, B_CF\n2005.5, 1.0\n")
    with pytest.raises(MalformedFileError, match="not a readable CDF file"):
        read_observatory_cdf(text)


def test_file_without_the_expected_variables(shared_data, tmp_path):
    raw = _raw(_file(shared_data, CHAMP_12M))
    partial = {k: v for k, v in raw.items() if k not in ("B_SV", "sigma_SV")}
    path = _write_cdf(tmp_path / "no_sv.cdf", partial)
    with pytest.raises(MissingVariableError, match="B_SV, sigma_SV"):
        read_observatory_cdf(path)


def test_all_nan_site(shared_data, tmp_path):
    raw = _raw(_file(shared_data, CHAMP_12M))
    empty = (raw["Latitude"] == raw["Latitude"][7]) & (raw["Longitude"] == raw["Longitude"][7])
    raw["B_CF"][empty] = np.nan
    path = _write_cdf(tmp_path / "empty_site.cdf", raw)
    with pytest.raises(EmptySiteError, match="1 site.*GVO008"):
        read_observatory_cdf(path, empty_sites="raise")
    kept = read_observatory_cdf(path)
    assert kept.sizes["site"] == 300
    assert np.all(np.isnan(kept["B_CF"].sel(site="GVO008").values))
    dropped = read_observatory_cdf(path, empty_sites="drop")
    assert dropped.sizes["site"] == 299 and dropped.attrs["dropped_empty_sites"] == ["GVO008"]
    with pytest.raises(ValueError, match="empty_sites"):
        read_observatory_cdf(path, empty_sites="ignore")


def test_oersted_polar_gvos_are_empty(shared_data):
    # Oersted's orbit leaves the two polar GVOs without data in the 12-month file
    path = _file(shared_data, OERSTED_12M)
    with pytest.raises(EmptySiteError, match="GVO001, GVO300"):
        load_virtual_observatories("OR", "12M", path=path, empty_sites="raise")
    series = load_virtual_observatories("OR", "12M", path=path)
    np.testing.assert_array_equal(series["radius"].values, 7126.2)


def test_epoch_outside_the_data(shared_data):
    series = read_observatory_cdf(_file(shared_data, CHAMP_12M))
    with pytest.raises(EpochOutOfRangeError, match="2012.*2000.4986-2010.4973"):
        series_at_epoch(series, 2012.0)
    with pytest.raises(EpochOutOfRangeError):
        series_at_epoch(series, 1999.0, variable="B_SV")
    assert float(series_at_epoch(series, 2001.0, variable="B_SV")["time_sv"]) == pytest.approx(
        2001.0, abs=0.01
    )


def test_unknown_mission_or_cadence():
    with pytest.raises(ValueError, match="mission='SW'"):
        load_virtual_observatories("SW", "12M")
    with pytest.raises(ValueError, match="cadence='1M'"):
        load_ground_observatories("1M")


def test_registry_keys_are_paths_in_the_data_directory(shared_data):
    # the readers' default paths go through bayescore.datasets.fetch(key), whose keys are
    # paths relative to the data directory ($BAYESCORE_DATA)
    from bayescore.lod import C04_KEY

    keys = [*GO_FILES.values(), *GVO_FILES.values(), C04_KEY]
    keys += ["real/covobs/real_001", "real/igrf/igrf12coeffs.txt"]
    if not (shared_data / "real").is_dir():
        pytest.skip(f"{shared_data / 'real'} not found")
    missing = [key for key in keys if not (shared_data / key).is_file()]
    assert not missing, missing
