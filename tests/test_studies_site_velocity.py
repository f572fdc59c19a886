"""Tests of the core-surface velocity forecasting study (bayescore.studies.site_velocity)."""

from __future__ import annotations

import json

import numpy as np
import pytest
import xarray as xr

from bayescore.errors import (
    EpochOutOfRangeError,
    ForecastConfigError,
    NonFiniteError,
    SeriesLengthError,
    SeriesShapeError,
    UnevenSamplingError,
)
from bayescore.flow.sites import DEFAULT_SITES, site_velocities
from bayescore.flow.velocity import Flow, velocity
from bayescore.studies.site_velocity import (
    COMPONENTS,
    DM_METRICS,
    FractionSweepResult,
    VelocityStudyResult,
    plot_fraction_sweep,
    plot_site_series,
    plot_study_forecasts,
    run_velocity_study,
    site_velocity_series,
    training_fraction_sweep,
)

# Rotating pattern of the synthetic flow: T = A sin(theta) cos(phi - omega t) (a degree-1,
# order-1 toroidal scalar drifting eastward at omega) plus a solid-body rotation t10.
AMPLITUDE = 3.0  # km/yr
OMEGA = 2 * np.pi / 23.0  # rad/yr
T10 = -10.0  # km/yr (westward solid-body rotation)
TINY_NET = {"hidden_size": 4, "num_layers": 1, "epochs": 3, "batch_size": 8, "n_mc": 8}


def _stack(site_ds: xr.Dataset) -> xr.Dataset:
    """(time, site) u_theta/u_phi -> the (time, site, component) layout of the study."""
    velocity_da = xr.concat(
        [site_ds[c] for c in COMPONENTS], dim=xr.DataArray(list(COMPONENTS), dims="component")
    ).transpose("time", "site", "component")
    return xr.Dataset({"velocity": velocity_da})


def rotating_flow_series(n_time: int = 40, start: float = 1900.0) -> xr.Dataset:
    """Site velocities of the rotating synthetic flow, computed by site_velocities."""
    time = start + np.arange(n_time, dtype=float)
    flows = [
        Flow(
            np.array([T10, AMPLITUDE * np.cos(OMEGA * t), AMPLITUDE * np.sin(OMEGA * t)]),
            np.zeros(3),
            t,
        )
        for t in time
    ]
    return _stack(site_velocities(flows, DEFAULT_SITES))


def analytic_velocity(time, latitude, longitude):
    """Closed form of the rotating flow: u_theta = (1/sin th) dT/dphi, u_phi = -dT/dth."""
    theta = np.deg2rad(90.0 - latitude)
    phase = np.deg2rad(longitude) - OMEGA * np.asarray(time)
    u_theta = -AMPLITUDE * np.sin(phase)
    u_phi = -AMPLITUDE * np.cos(theta) * np.cos(phase) + T10 * np.sin(theta)
    return u_theta, u_phi


def random_walk_series(n_time: int = 40, seed: int = 0) -> xr.Dataset:
    rng = np.random.default_rng(seed)
    values = np.cumsum(rng.normal(size=(n_time, len(DEFAULT_SITES), 2)), axis=0)
    return xr.Dataset(
        {
            "velocity": (
                ("time", "site", "component"),
                values,
                {"units": "km/yr"},
            )
        },
        coords={
            "time": 1935.0 + np.arange(n_time),
            "site": list(DEFAULT_SITES),
            "component": list(COMPONENTS),
        },
    )


# ----------------------------------------------------------------------------- series


@pytest.fixture(scope="module")
def gufm1_series_1980(shared_data):
    return site_velocity_series(start=1979.0, end=1981.0)


def test_series_equals_velocity_of_single_epoch_inversion(gufm1_series_1980):
    """The series at 1980 = velocity() of invert_flow() at 1980 with the same damping."""
    from bayescore.fields import load_gufm1
    from bayescore.flow.inversion import find_damping_for_rms, invert_flow

    series = gufm1_series_1980
    model = load_gufm1()
    g, gdot = model.coeffs(1980.0), model.sv(1980.0)
    damping = find_damping_for_rms(g, gdot, 14, 10.0, sv_weights="uniform")
    # same root-finder on the same problem: equal to rounding
    assert series.attrs["damping"] == pytest.approx(damping, rel=1e-12)
    single = invert_flow(g, gdot, 14, damping=damping, sv_weights="uniform")
    latitude = np.array([lat for lat, _ in DEFAULT_SITES.values()])
    longitude = np.array([lon for _, lon in DEFAULT_SITES.values()])
    u_theta, u_phi = velocity(
        single.t, single.s, np.deg2rad(90.0 - latitude), np.deg2rad(longitude)
    )
    at_1980 = series["velocity"].sel(time=1980.0)
    # batched vs single Cholesky of the same float64 normal equations (condition ~1e6):
    # agreement to ~1e-10 relative; 1e-8 of the ~2-8 km/yr speeds leaves margin.
    np.testing.assert_allclose(at_1980.sel(component="u_theta"), u_theta, rtol=0, atol=1e-8)
    np.testing.assert_allclose(at_1980.sel(component="u_phi"), u_phi, rtol=0, atol=1e-8)
    # the reference flow of docs/theory/frozen_flux.md (values given to 3 decimals there)
    assert float(series["toroidal_fraction"].sel(time=1980.0)) == pytest.approx(0.893, abs=1e-3)
    assert float(series["solid_body_drift"].sel(time=1980.0)) == pytest.approx(-0.177, abs=1e-3)
    assert list(series["velocity"].dims) == ["time", "site", "component"]
    assert series["velocity"].attrs["units"] == "km/yr"
    np.testing.assert_array_equal(series["time"], [1979.0, 1980.0, 1981.0])


def test_series_epochs_outside_gufm1_span(shared_data):
    with pytest.raises(EpochOutOfRangeError, match="span"):
        site_velocity_series(start=1985.0, end=1995.0)
    with pytest.raises(EpochOutOfRangeError, match="1500"):
        site_velocity_series(start=1500.0, end=1600.0)
    with pytest.raises(EpochOutOfRangeError, match="reference_epoch"):
        site_velocity_series(start=1800.0, end=1810.0, reference_epoch=2000.0)


def test_series_bad_grid(shared_data):
    with pytest.raises(ValueError, match="later than start"):
        site_velocity_series(start=1980.0, end=1970.0)
    with pytest.raises(ValueError, match="step must be positive"):
        site_velocity_series(step=0.0)
    with pytest.raises(NonFiniteError):
        site_velocity_series(start=np.nan)
    with pytest.raises(ValueError, match="target_rms"):
        site_velocity_series(start=1979.0, end=1981.0, target_rms=-1.0)


# ----------------------------------------------------------------------------- synthetic


def test_synthetic_series_matches_closed_form():
    """site_velocities of the rotating flow equals the closed form (the test's truth)."""
    series = rotating_flow_series()
    for name, (lat, lon) in DEFAULT_SITES.items():
        u_theta, u_phi = analytic_velocity(series["time"].values - 0.0, lat, lon)
        at_site = series["velocity"].sel(site=name)
        # two float64 evaluations of degree-1 harmonics: rounding only
        np.testing.assert_allclose(at_site.sel(component="u_theta"), u_theta, atol=1e-12)
        np.testing.assert_allclose(at_site.sel(component="u_phi"), u_phi, atol=1e-12)


def test_baselines_on_rotating_flow_have_known_errors():
    """AR(2) is exact for a sinusoid plus a constant; persistence errors are analytic."""
    series = rotating_flow_series(n_time=40)
    result = run_velocity_study(series, cell=(), train_fraction=0.75, ar_order=2, n_mc=16)
    time = series["time"].values
    starts = result.observed["start_index"].values
    lat, lon = DEFAULT_SITES["centre"]
    u_theta, u_phi = analytic_velocity(time, lat, lon)
    truth = np.stack([u_theta, u_phi], axis=-1)
    # persistence: every lead forecasts the last value before the window
    expected_error = np.stack([truth[starts + h] - truth[starts - 1] for h in range(2)], axis=1)
    persistence = result.mean.sel(forecast="persistence").values
    np.testing.assert_allclose(persistence - result.observed.values, -expected_error, atol=1e-12)
    rmse = np.sqrt(np.mean(expected_error**2))
    assert float(result.scores.sel(forecast="persistence", metric="rmse")) == pytest.approx(
        rmse, rel=1e-10
    )
    # AR(2) with intercept reproduces x_t = c + 2 cos(w) x_{t-1} - x_{t-2} exactly: errors
    # at the rounding level of a least-squares fit on O(10) values (1e-9 is generous)
    assert float(result.scores.sel(forecast="AR", metric="rmse")) < 1e-9
    # climatology forecasts the training mean
    np.testing.assert_allclose(
        result.mean.sel(forecast="climatology").values[0, 0], truth[: result.train_end].mean(0)
    )
    assert result.ar_orders == [2, 2]


# ----------------------------------------------------------------------------- bookkeeping


@pytest.mark.parametrize("train_fraction", [0.75, 0.9])
def test_windows_are_the_next_two_vectors(train_fraction):
    series = random_walk_series(n_time=40)
    series.attrs["temporal_damping"] = np.nan  # as site_velocity_series writes it
    result = run_velocity_study(
        series, cell=(), approach="spatial", train_fraction=train_fraction, n_mc=4
    )
    summary = json.loads(json.dumps(result.to_dict(), allow_nan=False))
    assert summary["config"]["series_attrs"]["temporal_damping"] is None
    values = series["velocity"].values  # (time, site, component), centre first
    n_time = values.shape[0]
    train_end = int(round(train_fraction * n_time))
    assert result.train_end == train_end
    starts = result.observed["start_index"].values
    np.testing.assert_array_equal(starts, np.arange(train_end, n_time - 2 + 1))
    for w, start in enumerate(starts):
        for lead in range(2):
            np.testing.assert_array_equal(result.observed.values[w, lead], values[start + lead, 0])
            assert result.observed["target_time"].values[w, lead] == 1935.0 + start + lead
    assert result.observed["time"].values[0] == 1935.0 + train_end
    assert list(result.observed["feature"].values) == ["centre/u_theta", "centre/u_phi"]
    assert result.samples.sizes == {
        "forecast": 3,
        "sample": 4,
        "time": len(starts),
        "lead": 2,
        "feature": 2,
    }


def test_spatial_series_puts_target_site_first():
    series = random_walk_series(n_time=30)
    result = run_velocity_study(series, cell=(), approach="spatial", site="north", n_mc=4)
    labels = list(result.series["feature"].values)
    assert labels[:2] == ["north/u_theta", "north/u_phi"]
    assert len(labels) == 10 and len(set(labels)) == 10
    np.testing.assert_array_equal(
        result.series.values[:, :2], series["velocity"].sel(site="north").values
    )
    result_all = run_velocity_study(series, cell=(), approach="spatial", outputs="all", n_mc=4)
    assert result_all.observed.sizes["feature"] == 10


def test_scores_against_direct_computation():
    """Energy score, coverage and MASE recomputed by hand in NumPy."""
    series = random_walk_series(n_time=40, seed=3)
    result = run_velocity_study(series, cell=(), train_fraction=0.7, n_mc=30, seed=2)
    y = result.observed.values  # (W, H, F)
    train = result.series.values[: result.train_end, :2]
    for method in result.methods:
        samples = result.samples.sel(forecast=method).values  # (S, W, H, F)
        mean = result.mean.sel(forecast=method).values
        n = samples.shape[0]
        flat = samples.reshape(n, y.shape[0], -1)
        obs = y.reshape(y.shape[0], -1)
        to_obs = np.linalg.norm(flat - obs[None], axis=-1).mean(0)
        pair = np.linalg.norm(flat[:, None] - flat[None, :], axis=-1).sum((0, 1))
        energy = np.mean(to_obs - 0.5 * pair / (n * (n - 1)))  # fair form
        row = result.scores.sel(forecast=method)
        # float64 sums of O(100) terms: rounding only
        assert float(row.sel(metric="energy")) == pytest.approx(energy, rel=1e-10)
        scale = np.abs(np.diff(train, axis=0)).mean(0)
        mase = np.mean(np.abs(mean - y) / scale)
        assert float(row.sel(metric="mase")) == pytest.approx(mase, rel=1e-10)
        lower, upper = np.quantile(samples, [0.05, 0.95], axis=0)
        coverage = np.mean((y >= lower) & (y <= upper))
        assert float(row.sel(metric="coverage_90")) == pytest.approx(coverage, abs=1e-12)
        lead2 = np.sqrt(np.mean((mean[:, 1] - y[:, 1]) ** 2))
        assert float(row.sel(metric="rmse_lead2")) == pytest.approx(lead2, rel=1e-10)
    # the subset score of the last window equals the full-table recomputation on it
    last = int(result.observed["start_index"].values[-1])
    subset = result.score(first_index=last)
    assert subset.attrs["n_windows"] == 1
    persistence = result.mean.sel(forecast="persistence").values[-1]
    assert float(subset.sel(forecast="persistence", metric="rmse")) == pytest.approx(
        np.sqrt(np.mean((persistence - y[-1]) ** 2)), rel=1e-10
    )
    with pytest.raises(SeriesLengthError):
        result.score(first_index=10_000)


# ----------------------------------------------------------------------------- networks


def test_networks_do_not_see_held_out_values():
    """Changing the held-out values leaves the fit (and the first window's forecast) as is."""
    series = random_walk_series(n_time=36, seed=1)
    changed = series.copy(deep=True)
    train_end = int(round(0.75 * 36))
    rng = np.random.default_rng(9)
    changed["velocity"][train_end:] += rng.normal(
        scale=5.0, size=changed["velocity"][train_end:].shape
    )
    kwargs = dict(cell="gru", train_fraction=0.75, differencing=True, seed=4, **TINY_NET)
    a = run_velocity_study(series, **kwargs)
    b = run_velocity_study(changed, **kwargs)
    assert a.networks == b.networks  # same training summary: best epoch, noise sd, ...
    # the first held-out window's inputs all lie in the training part
    np.testing.assert_array_equal(a.samples.values[:, :, 0], b.samples.values[:, :, 0])
    np.testing.assert_array_equal(a.mean.values[:, 0], b.mean.values[:, 0])
    # while later windows read the changed values as their history
    assert not np.allclose(a.mean.values[:, -1], b.mean.values[:, -1])


def test_network_outputs_and_result_io(tmp_path):
    series = random_walk_series(n_time=36, seed=2)
    result = run_velocity_study(
        series, approach="spatial", cell=("gru", "lstm"), n_networks=2, **TINY_NET
    )
    assert isinstance(result, VelocityStudyResult)
    assert result.methods == ["GRU", "LSTM", "persistence", "climatology", "AR"]
    assert result.samples.sizes["sample"] == 8
    assert len(result.networks["GRU"]) == 2
    scores = result.scores.drop_sel(metric=list(DM_METRICS))
    assert np.all(np.isfinite(scores.values))
    # Diebold-Mariano columns: NaN exactly in the row of the best baseline for each loss
    for loss in ("se", "crps"):
        reference = result.scores.attrs[f"dm_reference_{loss}"]
        columns = result.scores.sel(metric=[f"dm_{loss}", f"dm_{loss}_p"])
        assert np.all(np.isnan(columns.sel(forecast=reference).values))
        others = columns.drop_sel(forecast=reference).values
        assert np.all(np.isfinite(others)) and np.all((others[:, 1] >= 0) & (others[:, 1] <= 1))
    # strict JSON: NaN attributes of the series (none here) would become null
    summary = json.loads(json.dumps(result.to_dict(), allow_nan=False))
    assert summary["test_windows"] == result.n_test_windows
    assert set(summary["scores"]) == set(result.methods)
    assert "| GRU |" in result.table()
    result.save(tmp_path / "run", figures=False)
    assert json.loads((tmp_path / "run" / "summary.json").read_text())["train_end"] == 32
    reloaded = xr.load_dataset(tmp_path / "run" / "forecasts.nc")
    np.testing.assert_array_equal(reloaded["scores"].values, result.scores.values)
    assert sorted(p.name for p in (tmp_path / "run").iterdir()) == [
        "forecasts.nc",
        "summary.json",
    ]


def test_temporal_all_outputs_fit_one_network_per_site():
    # same shapes as test_networks_do_not_see_held_out_values: the compiled steps are shared
    series = random_walk_series(n_time=36, seed=5)
    result = run_velocity_study(
        series, cell="gru", outputs="all", train_fraction=0.75, differencing=True, **TINY_NET
    )
    assert result.observed.sizes["feature"] == 10
    assert [m["site"] for m in result.networks["GRU"]] == list(DEFAULT_SITES)
    assert list(result.series["feature"].values) == list(result.observed["feature"].values)


# ----------------------------------------------------------------------------- sweep


def test_training_fraction_sweep_common_windows(tmp_path):
    series = random_walk_series(n_time=40, seed=6)
    sweep = training_fraction_sweep(series, fractions=(0.8, 0.6), cell=(), n_mc=8)
    assert isinstance(sweep, FractionSweepResult)
    np.testing.assert_array_equal(sweep.scores["train_fraction"], [0.6, 0.8])
    windows = sweep.n_windows
    assert int(windows.sel(train_fraction=0.6, test_set="own")) == 40 - 24 - 1
    assert int(windows.sel(train_fraction=0.6, test_set="common")) == 40 - 32 - 1
    # the largest fraction's own windows are the common ones
    np.testing.assert_allclose(
        sweep.scores.sel(train_fraction=0.8, test_set="own"),
        sweep.scores.sel(train_fraction=0.8, test_set="common"),
    )
    np.testing.assert_allclose(
        sweep.scores.sel(train_fraction=0.6, test_set="common"),
        sweep.results[0].score(first_index=32),
    )
    assert "| persistence |" in sweep.table("crps")
    json.dumps(sweep.to_dict(), allow_nan=False)
    sweep.save(tmp_path / "sweep", figures=False)
    assert (tmp_path / "sweep" / "sweep.json").exists()
    with pytest.raises(ForecastConfigError, match="fractions"):
        training_fraction_sweep(series, train_fraction=0.9, cell=())


# ----------------------------------------------------------------------------- bad input


@pytest.mark.parametrize("fraction", [0.0, 1.0, 1.2, -0.1, True])
def test_train_fraction_out_of_range(fraction):
    with pytest.raises(ForecastConfigError, match="train_fraction"):
        run_velocity_study(random_walk_series(), cell=(), train_fraction=fraction)


def test_too_short_series():
    with pytest.raises(SeriesLengthError, match="windows"):
        run_velocity_study(
            random_walk_series(n_time=14), cell="gru", train_fraction=0.75, **TINY_NET
        )
    with pytest.raises(SeriesLengthError, match="held-out"):
        run_velocity_study(random_walk_series(n_time=14), cell=(), train_fraction=0.95)


def test_nan_and_shape_errors():
    series = random_walk_series()
    broken = series.copy(deep=True)
    broken["velocity"][5, 1, 0] = np.nan
    with pytest.raises(NonFiniteError, match="time index 5"):
        run_velocity_study(broken, cell=())
    with pytest.raises(SeriesShapeError, match="dimensions"):
        run_velocity_study(series["velocity"].isel(site=0), cell=())
    with pytest.raises(SeriesShapeError, match="velocity"):
        run_velocity_study(series.rename({"velocity": "speed"}), cell=())
    with pytest.raises(SeriesShapeError, match="DataArray"):
        run_velocity_study(series["velocity"].values, cell=())
    with pytest.raises(SeriesShapeError, match="components"):
        run_velocity_study(series.assign_coords(component=["u_r", "u_phi"]), cell=())
    uneven = series.assign_coords(time=np.r_[1935.0, 1935.5, 1937.0 + np.arange(38)])
    with pytest.raises(UnevenSamplingError):
        run_velocity_study(uneven, cell=())
    with pytest.raises(ValueError, match="site"):
        run_velocity_study(series, cell=(), site="nowhere")
    with pytest.raises(ForecastConfigError, match="approach"):
        run_velocity_study(series, cell=(), approach="spectral")
    with pytest.raises(ForecastConfigError, match="outputs"):
        run_velocity_study(series, cell=(), outputs="centre")
    with pytest.raises(ForecastConfigError, match="cell"):
        run_velocity_study(series, cell="rnn")
    with pytest.raises(ForecastConfigError, match="window"):
        run_velocity_study(series, cell=(), window=0)


# ----------------------------------------------------------------------------- figures


def test_figures_have_labelled_axes():
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    series = rotating_flow_series(n_time=30)
    series = series.assign_coords(
        latitude=("site", [v[0] for v in DEFAULT_SITES.values()]),
        longitude=("site", [v[1] for v in DEFAULT_SITES.values()]),
    )
    fig = plot_site_series(series)
    assert all("km/yr" in ax.get_ylabel() for ax in fig.axes)
    result = run_velocity_study(series, cell=(), n_mc=8, train_fraction=0.7, ar_order=2)
    fig2 = plot_study_forecasts(result)
    assert all("km/yr" in ax.get_ylabel() for ax in fig2.axes)
    sweep = training_fraction_sweep(series, fractions=(0.7, 0.8), cell=(), n_mc=8, ar_order=2)
    fig3 = plot_fraction_sweep(sweep)
    assert fig3.axes[0].get_xlabel() == "training fraction"
    plt.close("all")


def test_forecast_figure_with_means_outside_the_sample_quantiles():
    """A mean outside the 5-95 % quantiles of its samples (skewed samples of a tiny
    network) used to make errorbar fail with "yerr must not contain negative values"."""
    import dataclasses

    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    result = run_velocity_study(rotating_flow_series(n_time=30), cell=(), n_mc=8, ar_order=2)
    shifted = dataclasses.replace(result, mean=result.mean + 100.0)
    fig = plot_study_forecasts(shifted)
    assert all("km/yr" in ax.get_ylabel() for ax in fig.axes)
    plt.close(fig)


def test_constant_component_fails_before_any_training(monkeypatch):
    from bayescore.errors import ModelFitError
    from bayescore.forecast.rnn import RNNForecaster

    def no_training(*args, **kwargs):
        raise AssertionError("a network was trained before the baselines were checked")

    monkeypatch.setattr(RNNForecaster, "fit", no_training)
    series = random_walk_series(n_time=36, seed=1)
    series["velocity"].loc[{"site": "centre", "component": "u_phi"}] = 2.0
    with pytest.raises(ModelFitError, match="constant"):
        run_velocity_study(series, cell="gru", **TINY_NET)
