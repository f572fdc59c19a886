"""Reading, validating and writing long-format vector data (bayescore.observations)."""

from __future__ import annotations

import numpy as np
import pytest
import xarray as xr

from bayescore.errors import (
    DataNotFoundError,
    EpochOutOfRangeError,
    MalformedFileError,
    NonFiniteError,
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
    with pytest.raises(MalformedFileError, match="phi.*degrees"):
        validate_vector_data(small.assign(phi=small["phi"] * 100.0))


def test_radius_in_metres(small):
    with pytest.raises(MalformedFileError, match="km.*metres"):
        validate_vector_data(small.assign(r=small["r"] * 1000.0))


def test_radius_below_the_cmb(small):
    r = small["r"].values.copy()
    r[3] = 3000.0
    with pytest.raises(
        MalformedFileError, match="3000 km at datum 3 lies below the core-mantle boundary"
    ):
        validate_vector_data(small.assign(r=("datum", r)))
    with pytest.raises(MalformedFileError, match="altitudes"):
        validate_vector_data(small.assign(r=small["r"] * 0 + 400.0))


def test_times_outside_the_span(small, tmp_path):
    with pytest.raises(EpochOutOfRangeError, match=r"3 data times .* \[2004.5, 2005.1\]"):
        validate_vector_data(small, span=(2004.5, 2005.1))
    rows = np.stack([small[name].values for name in HEADER], axis=1).tolist()
    path = _csv(tmp_path / "d.csv", HEADER, rows)
    with pytest.raises(EpochOutOfRangeError, match="line 5 of d.csv"):
        read_vector_data(path, span=(2004.5, 2005.1))
    with pytest.raises(EpochOutOfRangeError, match="end > start"):
        validate_vector_data(small, span=(2006.0, 2005.0))


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


def test_write_refuses_invalid_data_and_leaves_nothing(small, tmp_path):
    bad = small.assign(sigma=small["sigma"] * 0)
    with pytest.raises(MalformedFileError, match="sigma"):
        write_vector_data(bad, tmp_path / "bad.csv")
    assert not list(tmp_path.iterdir())
