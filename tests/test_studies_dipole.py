"""Tests of the dipole forecasting study (bayescore.studies.dipole).

Independent truths: an AR(1) process with known coefficient and innovation sd, for which
the best one-step RMSE (1), persistence's (sqrt(2 / (1 + phi))), climatology's
(1 / sqrt(1 - phi**2)) and the expected CRPS of the correct Gaussian forecast
(sigma / sqrt(pi)) are closed forms; numpy's reading of the reference CSV files.
"""

from __future__ import annotations

import json
import math

import numpy as np
import pytest
import xarray as xr

from bayescore.errors import (
    DataNotFoundError,
    ForecastConfigError,
    MalformedFileError,
    ModelFitError,
    NonFiniteError,
    SeriesLengthError,
    SeriesShapeError,
    UnevenSamplingError,
)
from bayescore.studies.dipole import (
    BASELINES,
    DipoleStudyResult,
    load_dipole_series,
    plot_dipole_prediction,
    plot_dipole_spectra,
    run_dipole_study,
)

PHI = 0.8


def ar1_series(n: int, seed: int, phi: float = PHI, offset: float = 5.0) -> np.ndarray:
    rng = np.random.default_rng(seed)
    x = np.zeros(n + 200)
    eps = rng.standard_normal(n + 200)
    for t in range(1, n + 200):
        x[t] = phi * x[t - 1] + eps[t]
    return x[200:] + offset


TINY = dict(window=10, hidden_size=4, num_layers=1, epochs=2, n_mc=8, patience=None)


@pytest.fixture(scope="module")
def tiny_study() -> DipoleStudyResult:
    """Both networks (tiny) and all baselines on a short AR(1) series."""
    return run_dipole_study(ar1_series(600, seed=1), "signed", **TINY)


# ------------------------------------------------------------------ against truth --
def test_baseline_scores_match_ar1_closed_forms():
    """Baselines only (no network) through the study API on 3000 AR(1) steps."""
    result = run_dipole_study(ar1_series(3000, seed=2), "signed", targets=(), n_mc=100)
    table = result.score_table("one_step")
    assert list(table) == list(BASELINES)
    # 1050 held-out values: an RMSE's sampling error is ~2.2 %, so 7 % is 3 sigma.
    assert abs(table["AR(3)"]["rmse"] - 1.0) < 0.07
    assert abs(table["AR(AIC)"]["rmse"] - 1.0) < 0.07
    assert abs(table["OU"]["rmse"] - 1.0) < 0.07  # OU is the true model class
    assert abs(table["persistence"]["rmse"] / math.sqrt(2 / (1 + PHI)) - 1) < 0.07
    assert abs(table["climatology"]["rmse"] / (1 / math.sqrt(1 - PHI**2)) - 1) < 0.10
    # Expected CRPS of the correct N(mu, 1) forecast, E[CRPS] = 1 / sqrt(pi) (Gneiting &
    # Raftery 2007 closed form averaged over y ~ N(mu, 1)); sampling error ~2.5 %.
    crps_true = 1.0 / math.sqrt(math.pi)
    assert abs(table["AR(3)"]["crps"] / crps_true - 1) < 0.08
    # Calibrated Gaussian intervals: binomial sd of a 90 % coverage over 1050 is 0.9 %.
    assert abs(table["AR(3)"]["coverage_90"] - 0.90) < 0.035
    assert abs(table["AR(3)"]["width_90"] - 2 * 1.6449) < 0.15
    # AR(3)'s estimated innovation sd is the generating one (sampling error ~2.5 %).
    assert abs(result.fitted["AR(3)"]["sigma"] - 1.0) < 0.08
    assert result.fitted["AR(3)"]["order"] == 3
    # The one-step predicted mean of a good model has the observed spectrum up to the
    # smoothing of its innovation: a few dB at most, much less than climatology (NaN).
    assert table["AR(3)"]["lsd_db"] < 6.0
    assert math.isnan(table["climatology"]["lsd_db"])
    # Free-running AR(1) forecasts relax to the mean: their RMSE over 1050 steps is
    # close to the stationary sd, and their sample paths have the observed spectrum.
    free = result.score_table("free_run")
    assert abs(free["AR(3)"]["rmse"] / (1 / math.sqrt(1 - PHI**2)) - 1) < 0.15
    assert free["AR(3)"]["envelope_outside"] < 0.2


def test_network_outputs_are_labelled_and_consistent(tiny_study):
    result = tiny_study
    names = ["LSTM (increment)", "LSTM (level)", *BASELINES]
    assert result.models == names
    config = result.config
    assert (config["n_time"], config["train_end"], config["n_test"]) == (600, 390, 210)
    one = result.one_step
    assert one["samples"].dims == ("model", "sample", "time")
    assert one["samples"].shape == (7, 8, 210)
    assert one["quantiles"].shape == (7, 7, 210)
    assert one["mean"].attrs["units"] == "1e22 A m^2" and one["time"].attrs["units"] == "Ma"
    np.testing.assert_array_equal(one["observed"].values, result.series.values[390:])
    # Times: an array series at 1 kyr spacing ends at present.
    assert result.series["time"].values[-1] == 0.0
    np.testing.assert_allclose(np.diff(result.series["time"].values), 1e-3, rtol=1e-9)
    # Network one-step variance = MC-dropout spread + noise_sd**2 (8 samples: loose).
    for name in names[:2]:
        network = result.networks[name]
        assert network.split_.train_end == 390  # trained on the training part only
        noise = result.fitted[name]["noise_sd"]
        sd = one["sd"].sel(model=name).values
        epistemic = one["epistemic_sd"].sel(model=name).values
        ratio = np.mean(sd**2) / (np.mean(epistemic**2) + noise**2)
        assert 0.6 < ratio < 1.5, ratio
    assert result.networks["LSTM (increment)"].inputs == "level+increment"
    assert result.networks["LSTM (level)"].config()["target"] == "level"
    # Baselines have no MC-dropout paths: one-step envelope scores are NaN, free-run not.
    table, free = result.score_table("one_step"), result.score_table("free_run")
    assert math.isnan(table["AR(3)"]["envelope_outside"])
    assert 0.0 <= table["LSTM (level)"]["envelope_outside"] <= 1.0
    assert 0.0 <= free["AR(3)"]["envelope_outside"] <= 1.0
    spectra = result.spectra["one_step"]
    assert spectra["envelope_median"].dims == ("model", "frequency")
    assert spectra["frequency"].attrs["units"] == "1/kyr"
    markdown = result.format_table()
    assert markdown.count("\n") == 2 + len(names) and "| LSTM (increment) |" in markdown


def test_to_dict_and_save_round_trip(tiny_study, tmp_path):
    result = tiny_study
    payload = result.to_dict()
    text = json.dumps(payload, allow_nan=False)  # NaN written as null, strict JSON
    assert payload["scores"]["one_step"]["climatology"]["lsd_db"] is None
    assert payload["units"]["moment"] == "1e22 A m^2"
    written = result.save(tmp_path / "out")
    names = sorted(p.name for p in (tmp_path / "out").iterdir())
    assert names == sorted(
        ["dipole_study.nc", "dipole_study.json", "network_increment.npz", "network_level.npz"]
    )  # no temporary files left behind
    stored = json.loads(written["json"].read_text())
    assert stored["config"] == json.loads(text)["config"]
    with xr.open_dataset(written["netcdf"], group="one_step") as one:
        np.testing.assert_array_equal(one["samples"].values, result.one_step["samples"].values)
        assert list(one["model"].values) == result.models
    with xr.open_dataset(written["netcdf"], group="scores_free_run") as scores:
        np.testing.assert_array_equal(scores["score"].values, result.scores["free_run"].values)
    from bayescore.forecast.rnn import RNNForecaster

    loaded = DipoleStudyResult.load(tmp_path / "out")
    assert loaded.config == json.loads(text)["config"] and loaded.models == result.models
    for kind in ("one_step", "free_run"):
        np.testing.assert_array_equal(loaded.scores[kind].values, result.scores[kind].values)
        np.testing.assert_array_equal(
            loaded.spectra[kind]["envelope_median"].values,
            result.spectra[kind]["envelope_median"].values,
        )
    np.testing.assert_array_equal(loaded.series.values, result.series.values)
    assert loaded.format_table() == result.format_table()
    assert sorted(loaded.networks) == sorted(result.networks)
    with pytest.raises(DataNotFoundError, match="not a saved dipole study"):
        DipoleStudyResult.load(tmp_path / "nowhere")
    network = RNNForecaster.load(written["network_increment"])
    series = result.series.values
    np.testing.assert_array_equal(
        network.predict(series).values, result.networks["LSTM (increment)"].predict(series).values
    )


def test_plots_draw_labelled_axes(tiny_study):
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    ax = plot_dipole_prediction(tiny_study, "free_run", ["LSTM (level)", "OU"], level=0.5)
    assert "1e22 A m^2" in ax.get_ylabel() and "ka" in ax.get_xlabel()
    assert len(ax.get_legend().get_texts()) >= 4
    ax = plot_dipole_spectra(tiny_study, "LSTM (increment)", "one_step")
    assert ax.get_xscale() == "log" and ax.get_yscale() == "log"
    assert "cycles / kyr" in ax.get_xlabel()
    ax = plot_dipole_spectra(tiny_study, "AR(3)", "one_step")  # no envelope: no band
    assert all("MC-dropout" not in t.get_text() for t in ax.get_legend().get_texts())
    with pytest.raises(ValueError, match="unknown model"):
        plot_dipole_spectra(tiny_study, "GRU (level)")
    plt.close("all")


# ------------------------------------------------------------------ no leakage --
def test_held_out_values_do_not_reach_the_fitted_models():
    series = ar1_series(500, seed=4)
    changed = series.copy()
    changed[325:] = -40.0 * changed[325:] + 100.0  # train_end = round(0.65 * 500) = 325
    settings = dict(TINY, targets=("increment",), epochs=1)
    first = run_dipole_study(series, **settings)
    second = run_dipole_study(changed, **settings)
    assert first.config["train_end"] == 325
    assert first.fitted == second.fitted  # baselines' parameters, scaler, noise, steps
    a, b = first.networks["LSTM (increment)"], second.networks["LSTM (increment)"]
    np.testing.assert_array_equal(a.predict(series[:325]).values, b.predict(changed[:325]).values)
    # Free-running forecasts start from the training part alone: identical.
    np.testing.assert_array_equal(
        first.free_run["samples"].values, second.free_run["samples"].values
    )
    assert not np.array_equal(first.one_step["mean"].values, second.one_step["mean"].values)


# ------------------------------------------------------------------ bad input --
def write_csv(path, text: str):
    path.write_text(text)
    return path


def test_bad_files_are_rejected(tmp_path):
    header = "time_Ma,axial_dipole_moment_1e22Am2,sigma_1e22Am2\n"
    rows = "".join(f"{-0.05 + 0.001 * i:.6f},{5 + np.sin(i):.4f},0.1\n" for i in range(50))
    good = write_csv(tmp_path / "good.csv", header + rows)
    assert load_dipole_series(good).shape == (50,)
    missing = write_csv(tmp_path / "missing.csv", "time_Ma,sigma_1e22Am2\n-0.001,0.1\n0.0,0.1\n")
    with pytest.raises(MalformedFileError, match="axial_dipole_moment_1e22Am2"):
        load_dipole_series(missing)
    with_nan = write_csv(tmp_path / "nan.csv", header + rows.replace(",5.8415,", ",nan,", 1))
    with pytest.raises(NonFiniteError, match="row 2"):
        load_dipole_series(with_nan)
    text = write_csv(tmp_path / "text.csv", header + rows.replace(",5.8415,", ",strong,", 1))
    with pytest.raises(MalformedFileError, match="non-numeric"):
        load_dipole_series(text)
    lines = rows.splitlines(keepends=True)
    uneven = write_csv(tmp_path / "uneven.csv", header + "".join(lines[:10] + lines[11:]))
    with pytest.raises(UnevenSamplingError):
        load_dipole_series(uneven)
    backwards = write_csv(tmp_path / "back.csv", header + "".join(lines[::-1]))
    with pytest.raises(SeriesShapeError, match="increase"):
        load_dipole_series(backwards)
    with pytest.raises(DataNotFoundError, match="neither a named dipole series"):
        load_dipole_series(tmp_path / "absent.csv")
    with pytest.raises(DataNotFoundError):
        load_dipole_series("padm3m")


def test_bad_settings_are_rejected():
    series = ar1_series(400, seed=5)
    quick = dict(targets=(), n_mc=4)
    for fraction in (0.0, 1.0, 1.5, -0.2, float("nan")):
        with pytest.raises(ForecastConfigError, match="train_fraction"):
            run_dipole_study(series, train_fraction=fraction, **quick)
    with pytest.raises(ForecastConfigError, match="quantity"):
        run_dipole_study(series, quantity="absolute", **quick)
    with pytest.raises(ForecastConfigError, match="targets"):
        run_dipole_study(series, targets=("levels",), n_mc=4)
    with pytest.raises(ForecastConfigError, match="n_mc"):
        run_dipole_study(series, targets=(), n_mc=1)
    with pytest.raises(ForecastConfigError, match="forecast_steps"):
        run_dipole_study(series, forecast_steps=500, **quick)
    with pytest.raises(SeriesLengthError, match="held-out part"):
        run_dipole_study(series, train_fraction=0.95, **quick)
    with pytest.raises(SeriesLengthError, match="training part"):
        run_dipole_study(series[:60], train_fraction=0.3, **quick)
    with pytest.raises(SeriesLengthError, match="training part"):
        run_dipole_study(series[:200], window=150, n_mc=4)  # windows do not fit
    bad = series.copy()
    bad[7] = np.inf
    with pytest.raises(NonFiniteError, match="index 7"):
        run_dipole_study(bad, **quick)
    with pytest.raises(SeriesShapeError, match="1-D"):
        run_dipole_study(np.stack([series, series], axis=1), **quick)


# ------------------------------------------------------------------ reference data --
@pytest.mark.parametrize("name", ["padm2m", "sint2000"])
def test_reference_series_read_like_numpy(shared_data, name):
    table = np.loadtxt(
        shared_data / "dipole" / f"{name}_signed_dipole.csv", delimiter=",", skiprows=1
    )
    signed = load_dipole_series(name)
    assert signed.shape == (2000,) and signed.attrs["dt_kyr"] == pytest.approx(1.0)
    np.testing.assert_array_equal(signed.values, table[:, 1])
    np.testing.assert_array_equal(signed["time"].values, table[:, 0])
    magnitude = load_dipole_series(name.upper(), "magnitude")
    np.testing.assert_array_equal(magnitude.values, np.abs(table[:, 1]))
    # The held-out part (last 35 %) is the Brunhes chron: negative by the g10 convention.
    assert np.all(signed.values[1300:] < 0)


def test_header_without_rows_is_a_named_error(tmp_path):
    empty = write_csv(tmp_path / "empty.csv", "time_Ma,axial_dipole_moment_1e22Am2\n")
    with pytest.raises(SeriesLengthError, match="no data rows"):
        load_dipole_series(empty)


def test_constant_series_fails_before_any_training(monkeypatch):
    from bayescore.forecast.rnn import RNNForecaster

    def no_training(*args, **kwargs):
        raise AssertionError("a network was trained on a constant series")

    monkeypatch.setattr(RNNForecaster, "fit", no_training)
    with pytest.raises(ModelFitError, match="constant"):
        run_dipole_study(np.full(300, 4.0), targets=("increment",), window=10)


def test_diebold_mariano_columns_against_a_direct_test(tiny_study):
    """dm_se/dm_crps of every model equal the test of its one-step losses against the
    baseline with the lowest mean loss, recomputed here from the stored predictions."""
    from bayescore.forecast import metrics
    from bayescore.forecast.comparison import diebold_mariano

    one = tiny_study.one_step
    observed = one["observed"].values
    table = tiny_study.score_table("one_step")
    se = {m: (one["mean"].sel(model=m).values - observed) ** 2 for m in tiny_study.models}
    baselines = [m for m in tiny_study.models if not m.startswith("LSTM")]
    best = min(baselines, key=lambda m: se[m].mean())
    assert tiny_study.scores["one_step"].attrs["dm_reference_se"] == best
    assert math.isnan(table[best]["dm_se"]) and math.isnan(table[best]["dm_se_p"])
    for model in tiny_study.models:
        if model != best:
            expected = diebold_mariano(se[model], se[best])
            assert table[model]["dm_se"] == pytest.approx(expected.statistic, rel=1e-9)
            assert table[model]["dm_se_p"] == pytest.approx(expected.p_value, rel=1e-9)
    network = "LSTM (increment)"
    crps = np.asarray(
        metrics.crps_ensemble(one["samples"].sel(model=network).values, observed, fair=True)
    )
    reference = tiny_study.scores["one_step"].attrs["dm_reference_crps"]
    reference_crps = np.asarray(
        metrics.crps_gaussian(
            one["mean"].sel(model=reference).values, one["sd"].sel(model=reference).values, observed
        )
    )
    expected = diebold_mariano(crps, reference_crps)
    assert table[network]["dm_crps"] == pytest.approx(expected.statistic, rel=1e-6)
    assert "dm_se" not in tiny_study.score_table("free_run")[network]
