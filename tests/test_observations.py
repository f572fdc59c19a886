"""Reading, validating and writing long-format vector data (bayescore.observations)."""

from __future__ import annotations

import numpy as np
import pytest
import xarray as xr

from bayescore.errors import (
    DataNotFoundError,
    EpochOutOfRangeError,
    ImplausibleUnitsError,
    MalformedFileError,
    NonFiniteError,
    UnreadableFileError,
)
from bayescore.observations import read_vector_data, validate_vector_data, write_vector_data

SPAN = (2004.5, 2005.5)


@pytest.fixture(scope="module")
def synthetic():
    """A make_dataset data set with every optional part: biases, external field, sites."""
    from bayescore.fields import igrf
    from bayescore.synthetic import make_dataset

    return make_dataset(
        igrf(),  # any model with coeffs(t) and span serves as the truth
        n_satellite=60,
        n_observatory_sites=4,
        span=SPAN,
        external_dipole=(20.0, -3.0, 4.0),
        observatory_bias_nT=30.0,
        seed=5,
    )


@pytest.fixture
def small():
    """Six hand-made data (two vectors) without optional variables."""
    return xr.Dataset(
        {
            "t": ("datum", np.array([2005.0, 2005.0, 2005.0, 2005.2, 2005.2, 2005.2])),
            "r": ("datum", np.full(6, 6771.2)),
            "theta": ("datum", np.array([0.5, 0.5, 0.5, 2.0, 2.0, 2.0])),
            "phi": ("datum", np.array([1.0, 1.0, 1.0, -2.0, -2.0, -2.0])),
            "component": ("datum", np.array([0, 1, 2, 0, 1, 2])),
            "value": ("datum", np.array([-41000.0, -9000.0, 1200.0, 30000.0, 8000.0, -500.0])),
            "sigma": ("datum", np.full(6, 2.0)),
        }
    )


def _csv(path, header, rows, comments=()):
    lines = [*comments, ",".join(header), *(",".join(str(v) for v in row) for row in rows)]
    path.write_text("\n".join(lines) + "\n")
    return path


HEADER = ["t", "r", "theta", "phi", "component", "value", "sigma"]
GOOD_ROW = [2005.0, 6771.2, 0.5, 1.0, 0, -41000.0, 2.0]


# ------------------------------------------------------------------ round trips
@pytest.mark.parametrize("suffix", [".csv", ".nc"])
def test_synthetic_data_round_trip_exactly(synthetic, tmp_path, suffix):
    path = write_vector_data(synthetic, tmp_path / f"data{suffix}")
    back = read_vector_data(path)
    # identical: same variables (the per-site tables included), values bit for bit,
    # attributes, coordinates
    xr.testing.assert_identical(back, synthetic)
    for name in synthetic.variables:
        assert back[name].dtype.kind == synthetic[name].dtype.kind, name
    assert back["component"].dtype == np.int8
    assert [p.name for p in tmp_path.iterdir()] == [f"data{suffix}"], "temporary file left"


def test_plain_user_csv_with_comments_reads(small, tmp_path):
    rows = np.stack([small[name].values for name in HEADER], axis=1).tolist()
    path = _csv(tmp_path / "mine.csv", HEADER, rows, comments=["# my CHAMP subset", "#"])
    ds = read_vector_data(path)
    assert ds.sizes["datum"] == 6
    np.testing.assert_array_equal(ds["value"].values, small["value"].values)
    assert ds["component"].dtype == np.int8


def test_netcdf_with_other_dimension_name_is_renamed(small, tmp_path):
    path = tmp_path / "other.nc"
    small.rename({"datum": "obs"}).to_netcdf(path)
    ds = read_vector_data(path)
    assert ds["t"].dims == ("datum",)


def test_validate_returns_canonical_types(small):
    floats = small.assign(component=small["component"].astype(float))
    ds = validate_vector_data(floats)
    assert ds["component"].dtype == np.int8
    np.testing.assert_array_equal(ds["component"].values, small["component"].values)
    assert floats["component"].dtype == np.float64  # the input is left unchanged


# ------------------------------------------------------------------ bad input
def test_missing_file(tmp_path):
    with pytest.raises(DataNotFoundError, match="nowhere.csv"):
        read_vector_data(tmp_path / "nowhere.csv")


def test_unknown_file_type(tmp_path):
    path = tmp_path / "data.xlsx"
    path.write_text("x")
    with pytest.raises(MalformedFileError, match="xlsx"):
        read_vector_data(path)
    with pytest.raises(MalformedFileError, match="xlsx"):
        write_vector_data(xr.Dataset(), path)


def test_missing_columns_are_named(tmp_path):
    header = [h for h in HEADER if h not in ("sigma", "phi")]
    row = [v for h, v in zip(HEADER, GOOD_ROW, strict=True) if h in header]
    path = _csv(tmp_path / "d.csv", header, [row])
    with pytest.raises(MalformedFileError, match=r"\['phi', 'sigma'\]"):
        read_vector_data(path)


def test_extra_columns_are_named(tmp_path):
    path = _csv(tmp_path / "d.csv", [*HEADER, "quality"], [[*GOOD_ROW, 1]])
    with pytest.raises(MalformedFileError, match="quality"):
        read_vector_data(path)


def test_wrong_field_count_names_the_line(tmp_path):
    path = _csv(tmp_path / "d.csv", HEADER, [GOOD_ROW, GOOD_ROW[:-1]])
    with pytest.raises(MalformedFileError, match="line 3 .* 6 fields, expected 7"):
        read_vector_data(path)


def test_non_numeric_entry_names_line_and_column(tmp_path):
    row = list(GOOD_ROW)
    row[5] = "n/a"
    path = _csv(tmp_path / "d.csv", HEADER, [GOOD_ROW, row], comments=["# header comment"])
    with pytest.raises(MalformedFileError, match=r"line 4 .*'value'.*'n/a'"):
        read_vector_data(path)


@pytest.mark.parametrize("entry", ["", "nan", "inf"])
def test_nan_inf_and_empty_entries_name_the_line(tmp_path, entry):
    row = list(GOOD_ROW)
    row[5] = entry
    path = _csv(tmp_path / "d.csv", HEADER, [GOOD_ROW, GOOD_ROW, row])
    with pytest.raises(NonFiniteError, match=r"'value' .* line 4 of d.csv"):
        read_vector_data(path)


def test_nan_in_dataset_names_the_datum(small):
    value = small["value"].values.copy()
    value[4] = np.nan
    with pytest.raises(NonFiniteError, match="'value' .* datum 4"):
        validate_vector_data(small.assign(value=("datum", value)))


@pytest.mark.parametrize("code", [3, -1, 1.5])
def test_bad_component_codes(small, code):
    component = small["component"].values.astype(float)
    component[2] = code
    with pytest.raises(MalformedFileError, match="component|integers"):
        validate_vector_data(small.assign(component=("datum", component)))


@pytest.mark.parametrize("sigma", [0.0, -1.0])
def test_non_positive_sigma(small, sigma):
    values = small["sigma"].values.copy()
    values[1] = sigma
    with pytest.raises(MalformedFileError, match="sigma must be positive.*datum 1"):
        validate_vector_data(small.assign(sigma=("datum", values)))


def test_theta_outside_range_suggests_degrees(small):
    with pytest.raises(MalformedFileError, match=r"\[0, pi\].*degrees"):
        validate_vector_data(small.assign(theta=np.degrees(small["theta"])))
    with pytest.raises(MalformedFileError, match=r"\[0, pi\]"):
        validate_vector_data(small.assign(theta=small["theta"] - 1.0))


def test_phi_in_degrees(small):
    with pytest.raises(ImplausibleUnitsError, match="phi.*degrees"):
        validate_vector_data(small.assign(phi=small["phi"] * 100.0))


def test_radius_in_metres(small):
    with pytest.raises(ImplausibleUnitsError, match="km.*metres"):
        validate_vector_data(small.assign(r=small["r"] * 1000.0))


def test_radius_below_the_cmb(small):
    r = small["r"].values.copy()
    r[3] = 3000.0
    with pytest.raises(
        MalformedFileError, match="3000 km at datum 3 lies below the core-mantle boundary"
    ):
        validate_vector_data(small.assign(r=("datum", r)))
    with pytest.raises(ImplausibleUnitsError, match="altitudes"):
        validate_vector_data(small.assign(r=small["r"] * 0 + 400.0))


# ------------------------------------------------------------------ implausible units
def test_field_in_tesla_or_gauss_is_refused(small):
    # the fuzzing case: tesla data were fitted to "0.00 nT" by a zero field
    with pytest.raises(ImplausibleUnitsError, match=r"4.1e-05 \(datum 0\).*tesla.*expects nT"):
        validate_vector_data(small.assign(value=small["value"] * 1e-9))
    with pytest.raises(ImplausibleUnitsError, match="gauss"):
        validate_vector_data(small.assign(value=small["value"] * 1e-5))
    # one datum above 1 nT is enough (a near-zero component is plausible)
    value = small["value"].values * 1e-9
    value[4] = 3.0
    assert validate_vector_data(small.assign(value=("datum", value))).sizes["datum"] == 6


def test_field_in_picotesla_is_refused(small):
    with pytest.raises(ImplausibleUnitsError, match=r"4.1e\+07 at datum 0.*pT"):
        validate_vector_data(small.assign(value=small["value"] * 1e3))
    # the strongest core field, ~1e6 nT at the core-mantle boundary, is accepted
    at_cmb = small.assign(value=small["value"] * 25.0, r=small["r"] * 0 + 3485.0)
    assert validate_vector_data(at_cmb)["value"].max() == 750000.0


@pytest.mark.parametrize(
    ("times", "cause"),
    [
        (np.linspace(0.0, 180.0, 6), "days since 2000"),  # early 2000
        (np.linspace(2200.0, 2550.0, 6), "days since 2000"),  # 2006-2007
        (np.full(6, 53371.5), "Modified Julian Days"),
        (np.full(6, 1.1e9), "seconds"),
    ],
)
def test_times_that_are_not_decimal_years_are_refused(small, times, cause):
    with pytest.raises(ImplausibleUnitsError, match=f"decimal years.*{cause}"):
        validate_vector_data(small.assign(t=("datum", times)))


def test_satellite_data_before_1957_are_refused(small):
    # 2005.2 in days since 2000 is 1899: a plausible year for observatory data, but no
    # satellite flew before October 1957
    days = (small["t"] - 2000.0) * 365.25
    satellite = small.assign(source=("datum", np.full(6, "satellite")))
    with pytest.raises(ImplausibleUnitsError, match=r"satellite data at t = 1826.25 \(datum 0"):
        validate_vector_data(satellite.assign(t=days))
    with pytest.raises(ImplausibleUnitsError, match="days since 2000"):
        validate_vector_data(satellite.assign(t=days))
    observatory = small.assign(
        source=("datum", np.full(6, "observatory")), site_index=("datum", np.zeros(6, int))
    )
    validate_vector_data(observatory.assign(t=days))  # observatories did record in 1899
    validate_vector_data(satellite.assign(t=small["t"] * 0 + 1958.0))


def test_implausible_units_in_a_file_name_the_line(small, tmp_path):
    rows = np.stack([small[name].values for name in HEADER], axis=1)
    rows[:, 0] = np.linspace(2200.0, 2300.0, 6)
    path = _csv(tmp_path / "days.csv", HEADER, rows.tolist())
    with pytest.raises(ImplausibleUnitsError, match="line 2 of days.csv.*days since 2000"):
        read_vector_data(path)


def test_times_outside_the_span(small, tmp_path):
    with pytest.raises(EpochOutOfRangeError, match=r"3 data times .* \[2004.5, 2005.1\]"):
        validate_vector_data(small, span=(2004.5, 2005.1))
    rows = np.stack([small[name].values for name in HEADER], axis=1).tolist()
    path = _csv(tmp_path / "d.csv", HEADER, rows)
    with pytest.raises(EpochOutOfRangeError, match="line 5 of d.csv"):
        read_vector_data(path, span=(2004.5, 2005.1))
    with pytest.raises(EpochOutOfRangeError, match="end > start"):
        validate_vector_data(small, span=(2006.0, 2005.0))
    # days since 2000 that fall in the plausible range (mid-2005) meet a span in years
    days = small.assign(t=(small["t"] - 2000.0) * 365.25 + 200.0)
    with pytest.raises(EpochOutOfRangeError, match="none lies inside: are the times decimal"):
        validate_vector_data(days, span=(2005.0, 2006.0))


def test_bad_source_and_site_index(small):
    source = np.array(["satellite"] * 3 + ["ground"] * 3)
    with pytest.raises(MalformedFileError, match="'ground'"):
        validate_vector_data(small.assign(source=("datum", source)))
    source = np.array(["satellite"] * 3 + ["observatory"] * 3)
    with pytest.raises(MalformedFileError, match="site_index >= 0"):
        validate_vector_data(
            small.assign(source=("datum", source), site_index=("datum", np.full(6, -1)))
        )
    with pytest.raises(MalformedFileError, match="site_index"):
        validate_vector_data(small.assign(site_index=("datum", np.full(6, -3))))


def test_shape_and_empty_problems(small, tmp_path):
    with pytest.raises(MalformedFileError, match="1-D"):
        validate_vector_data(small.assign(value=(("datum", "x"), np.ones((6, 2)))))
    with pytest.raises(MalformedFileError, match="share one dimension"):
        validate_vector_data(small.assign(sigma=("other", np.ones(6))))
    with pytest.raises(MalformedFileError, match="no rows"):
        validate_vector_data(small.isel(datum=slice(0, 0)))
    path = tmp_path / "only_comments.csv"
    path.write_text("# nothing here\n")
    with pytest.raises(MalformedFileError, match="no header"):
        read_vector_data(path)


# ------------------------------------------------------------------ damaged files
GOOD_LINES = [",".join(HEADER), ",".join(str(v) for v in GOOD_ROW)]


def _metadata_csv(path, metadata: str):
    path.write_text("\n".join(["# my data", f"# bayescore-metadata: {metadata}", *GOOD_LINES]))
    return path


@pytest.mark.parametrize(
    ("metadata", "message"),
    [
        (  # an unknown dtype (was a TypeError from numpy)
            '{"format": "bayescore-vector-data", "variables": {"t": {"dtype": "float65"}}}',
            r"metadata\['variables'\]\['t'\]\['dtype'\] is 'float65', not a numpy data type",
        ),
        (  # a list where an object is expected (was an AttributeError)
            '["format", "bayescore-vector-data"]',
            "the bayescore metadata must be a JSON object, got list",
        ),
        (
            '{"format": "bayescore-vector-data", "variables": ["t", "r"]}',
            r"metadata\['variables'\] must be a JSON object, got list",
        ),
        (
            '{"format": "bayescore-vector-data", "variables": {"sigma": {"attrs": [1]}}}',
            r"metadata\['variables'\]\['sigma'\]\['attrs'\] must be a JSON object",
        ),
        (
            '{"format": "bayescore-vector-data", "other": {"data_vars": {"a": 5}}}',
            r"metadata\['other'\] is damaged",
        ),
        ('{"format": "bayescore-vector-data", "attrs": 3', "unreadable bayescore metadata"),
    ],
)
def test_hand_edited_metadata_line_names_file_and_line(tmp_path, metadata, message):
    path = _metadata_csv(tmp_path / "edited.csv", metadata)
    with pytest.raises(MalformedFileError, match=f"line 2 of edited.csv: .*{message}"):
        read_vector_data(path)


def test_intact_metadata_line_still_reads(tmp_path):
    metadata = (
        '{"format": "bayescore-vector-data", "attrs": {"mission": "CHAMP"}, '
        '"variables": {"component": {"attrs": {}, "dtype": "|i1"}}}'
    )
    ds = read_vector_data(_metadata_csv(tmp_path / "ok.csv", metadata))
    assert ds.attrs == {"mission": "CHAMP"} and ds["component"].dtype == np.int8


def test_one_line_csv_without_header_names_the_file(tmp_path):
    path = tmp_path / "one_row.csv"
    path.write_text(GOOD_LINES[1] + "\n")
    with pytest.raises(MalformedFileError, match="line 1 of one_row.csv .*header"):
        read_vector_data(path)
    path.write_text(GOOD_LINES[0] + "\n")  # the header alone
    with pytest.raises(MalformedFileError, match="one_row.csv: no rows"):
        read_vector_data(path)
    path.write_text("\n".join(GOOD_LINES))  # a single datum is fine
    assert read_vector_data(path).sizes["datum"] == 1


def test_binary_file_names_the_file(tmp_path):
    path = tmp_path / "vectors.csv"
    path.write_bytes(b"\x89HDF\r\n\x1a\n\xff\x00\x00")  # e.g. a netCDF-4 file named .csv
    with pytest.raises(MalformedFileError, match=r"vectors.csv' is not a UTF-8 text file"):
        read_vector_data(path)
    path.write_bytes(("\n".join(GOOD_LINES) + "\x00\x00").encode())  # valid UTF-8, with NUL
    with pytest.raises(MalformedFileError, match="vectors.csv' holds NUL bytes"):
        read_vector_data(path)


def test_utf8_byte_order_mark_is_dropped(tmp_path):
    path = tmp_path / "excel.csv"
    path.write_bytes(("\n".join(GOOD_LINES)).encode("utf-8-sig"))
    assert list(read_vector_data(path).data_vars)[0] == "t"


def test_directory_is_named_as_such(tmp_path):
    folder = tmp_path / "vectors.csv"
    folder.mkdir()
    with pytest.raises(UnreadableFileError, match="vectors.csv' is a directory"):
        read_vector_data(folder)


@pytest.mark.parametrize("suffix", [".csv", ".nc"])
def test_unreadable_file_is_named(small, tmp_path, monkeypatch, suffix):
    path = write_vector_data(small, tmp_path / f"locked{suffix}")

    def refuse(*args, **kwargs):
        # what open() raises for a file without read permission (chmod has no effect
        # when the tests run as root, so the error is injected)
        raise PermissionError(13, "Permission denied", str(path))

    monkeypatch.setattr("pathlib.Path.read_bytes", refuse)
    monkeypatch.setattr(xr, "open_dataset", refuse)
    with pytest.raises(UnreadableFileError, match=f"locked{suffix}'.*permission denied"):
        read_vector_data(path)
    assert isinstance(UnreadableFileError("x"), OSError)


def test_write_refuses_invalid_data_and_leaves_nothing(small, tmp_path):
    bad = small.assign(sigma=small["sigma"] * 0)
    with pytest.raises(MalformedFileError, match="sigma"):
        write_vector_data(bad, tmp_path / "bad.csv")
    assert not list(tmp_path.iterdir())
