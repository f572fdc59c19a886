"""bayescore.studies.coestimation: checks before computing, the study and its outputs."""

from __future__ import annotations

import json
import warnings

import numpy as np
import pytest
import xarray as xr

from bayescore.errors import EpochOutOfRangeError, ProblemTooLargeError
from bayescore.studies.coestimation import (
    check_problem_memory,
    misfit_by_source,
    problem_memory_bytes,
    resolve_span_and_epoch,
    run_coestimation_study,
)

GB = 1e9


# ------------------------------------------------------------------ span and epoch
def test_span_defaults_and_data_range():
    assert resolve_span_and_epoch() == ((2004.5, 2005.5), 2005.0)
    assert resolve_span_and_epoch(None, 2004.6, times=[2004.2, 2005.0, 2004.6]) == (
        (2004.2, 2005.0),
        2004.6,
    )


def test_single_epoch_data_ask_for_a_span():
    with pytest.raises(EpochOutOfRangeError, match="single epoch, 2004.7") as info:
        resolve_span_and_epoch(times=[2004.7, 2004.7])
    assert "--span START END" in str(info.value)
    # with a span, single-epoch data are fine
    assert resolve_span_and_epoch((2004.5, 2005.0), times=[2004.7])[0] == (2004.5, 2005.0)


def test_bad_span_and_epoch_are_named():
    with pytest.raises(EpochOutOfRangeError, match="--span must be .* END > START"):
        resolve_span_and_epoch((2005.5, 2004.5), span_name="--span")
    with pytest.raises(EpochOutOfRangeError, match="epoch 2010.0 lies outside"):
        resolve_span_and_epoch((2004.5, 2005.5), 2010)


# ------------------------------------------------------------------ memory
def test_memory_estimate_covers_the_degree_200_request():
    # `coestimate --lmax-field 200` (L_F = 6, N_t = 3, synthetic: L_SV = L_B = 200)
    # asked XLA for 117 GB: the data normal matrix, (3 x 200 x 202)^2 float64 = 117.5 GB,
    # is one of the arrays the estimate counts
    normal_matrix = (3 * 200 * 202) ** 2 * 8
    assert normal_matrix > 117 * GB
    assert problem_memory_bytes(200, 6, 200, 3) > normal_matrix
    assert problem_memory_bytes(200, 200, 200, 3) > problem_memory_bytes(200, 6, 200, 3)
    # the default problem (L = 6, N_t = 3, 432 parameters) needs a few MB
    assert problem_memory_bytes(6, 6, 6, 3) < 50e6
    # the estimate grows with every degree
    sizes = [problem_memory_bytes(lmax, lmax, lmax, 3) for lmax in range(1, 40)]
    assert np.all(np.diff(sizes) > 0)


def test_too_large_problem_names_its_size_and_the_largest_degree_that_fits():
    available = 2 * GB
    with pytest.raises(ProblemTooLargeError) as info:
        check_problem_memory(200, 200, n_time=3, available=available)
    message = str(info.value)
    assert "L_B = 200" in message and "2 GB are available" in message
    fits = int(message.split("largest degree that fits is ")[1].split()[0])
    assert problem_memory_bytes(fits, fits, fits, 3) <= available
    assert problem_memory_bytes(fits + 1, fits + 1, fits + 1, 3) > available
    # a problem that fits returns its estimate
    assert check_problem_memory(6, 6, n_time=3, available=available) == problem_memory_bytes(
        6, 6, 6, 3
    )


# ------------------------------------------------------------------ the study
class _AxialDipole:
    """A constant axial dipole of -30000 nT: the simplest truth for make_dataset."""

    lmax = 1
    span = (1900.0, 2100.0)

    def coeffs(self, t):
        return np.broadcast_to([-30000.0, 0.0, 0.0], np.shape(t) + (3,))


@pytest.fixture(scope="module")
def study():
    """A Laplace study on a tiny synthetic problem (L_B = L_F = 3, linear in time)."""
    return run_coestimation_study(
        n_satellite=200,
        n_sites=5,
        lmax_field=3,
        lmax_flow=3,
        n_time=2,
        usn=True,
        method="laplace",
        seed=0,
    )


def test_study_labelled_outputs(study):
    ds = study.to_xarray()
    assert ds["core"].dims == ("time_basis", "core_coeff")
    assert ds["core"].attrs["units"] == study.problem.units()["core"] == "nT"
    assert list(ds["toroidal_coeff"].values[:3]) == ["t_1_0", "t_1_1", "t_1_-1"]
    assert np.all(ds["toroidal_sd"].values > 0)
    assert list(ds["model"].values) == ["coestimation", "usn"]
    assert study.to_inference_data() is None  # no NUTS
    # the misfit per source pools the table's rows by their number of data
    table = ds.sel(model="coestimation")
    pooled = misfit_by_source(
        xr.Dataset(
            {name: table[f"misfit_{name}"] for name in ("n", "rms", "chi2_per_datum")},
            coords={"group": table["group"]},
        )
    )
    assert pooled == study.summary["map"]["misfit"]
    n = table["misfit_n"].values
    assert (
        pooled["all"]["n"]
        == study.data.sizes["datum"]
        == n[[str(g).startswith("all") for g in table["group"].values]].sum()
    )


def test_study_summary_is_strict_json_and_save_writes_it_last(study, tmp_path):
    summary = study.to_dict()
    json.dumps(summary, allow_nan=False)
    assert summary["map"]["converged"] and summary["map"]["rho"] < 1e-9
    assert len(summary["map"]["sv_degree_correlation"]) == 3
    outputs = study.save(tmp_path / "out")
    assert outputs["figures"] == [str(tmp_path / "out" / "spectra_cmb.png")]
    written = json.loads((tmp_path / "out" / "summary.json").read_text())
    assert written["outputs"] == outputs
    assert written["map"] == summary["map"]
    with xr.open_dataset(outputs["estimate"]) as ds:
        np.testing.assert_array_equal(ds["core"].values, study.to_xarray()["core"].values)
    assert not list((tmp_path / "out").glob(".*")), "temporary files left behind"


def test_study_on_a_given_dataset_has_no_truth(study):
    data = study.data
    result = run_coestimation_study(
        data, lmax_field=3, lmax_flow=3, lmax_sv=3, n_time=2, source="tiny"
    )
    assert result.truth is None and "sv_degree_correlation" not in result.summary["map"]
    assert result.summary["data"]["source"] == "tiny"
    assert result.summary["data"]["span"] == [float(data["t"].min()), float(data["t"].max())]


# ------------------------------------------------------------------ fuzzing findings
def test_data_without_observatories_round_trip_through_csv(tmp_path):
    """The per-site tables of a data set without observatories (site_bias of shape
    (0, 3)) used to come back from CSV as a 'damaged metadata' error."""
    from bayescore.observations import read_vector_data, write_vector_data
    from bayescore.synthetic import make_dataset

    data = make_dataset(
        _AxialDipole(), n_satellite=20, n_observatory_sites=0, span=(2004.5, 2005.5), seed=4
    )
    assert data.sizes["site"] == 0
    back = read_vector_data(write_vector_data(data, tmp_path / "no_sites.csv"))
    assert back["site_bias"].shape == (0, 3)
    np.testing.assert_array_equal(back["value"].values, data["value"].values)


def test_single_chain_diagnostics_do_not_warn():
    """ArviZ gives no r_hat for a single chain (``coestimate --nuts --chains 1``): the
    extremes are NaN without numpy's 'All-NaN slice' RuntimeWarning."""
    import arviz as az

    from bayescore.infer import sampling_diagnostics

    rng = np.random.default_rng(0)
    idata = az.from_dict(
        posterior={"x": rng.normal(size=(1, 50, 2)), "c": np.ones((1, 50, 2))},
        sample_stats={"energy": rng.normal(size=(1, 50)), "diverging": np.zeros((1, 50), bool)},
    )
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        out = sampling_diagnostics(idata)
    assert np.isnan(out["per_variable"]["x"]["r_hat_max"]) and np.isnan(out["r_hat_max"])
    assert out["ess_bulk_min"] > 0
    assert out["n_draws"] == 50
