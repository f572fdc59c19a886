"""Tests of the recurrent forecaster (bayescore.forecast.rnn) and its data plumbing.

Truth used here: an AR(2) process with known coefficients and innovation sd (the best
possible one-step RMSE is the innovation sd), explicit loops for the windows, numpy for
the scaler statistics, and Flax's own ``nnx.RNN`` for the fused recurrent scan.
"""

from __future__ import annotations

import numpy as np
import pytest

import bayescore  # noqa: F401  (switches JAX to float64, as users get it)
from bayescore.errors import MalformedFileError, NonFiniteError
from bayescore.forecast.rnn import NotFittedError, RNNForecaster, trace_counts
from bayescore.forecast.scaling import StandardScaler
from bayescore.forecast.windows import (
    ForecastConfigError,
    SeriesLengthError,
    SeriesShapeError,
    chronological_split,
    sliding_windows,
)

AR_PHI = (0.75, -0.5)  # stationary (complex roots, modulus sqrt(0.5)): a damped ~6-step cycle
AR_SIGMA = 1.0


def ar2_series(n: int, seed: int, phi=AR_PHI, sigma=AR_SIGMA, offset=5.0) -> np.ndarray:
    """AR(2) sample path with a burn-in, shifted by ``offset`` (so scaling matters)."""
    rng = np.random.default_rng(seed)
    eps = sigma * rng.standard_normal(n + 200)
    y = np.zeros(n + 200)
    for t in range(2, n + 200):
        y[t] = phi[0] * y[t - 1] + phi[1] * y[t - 2] + eps[t]
    return y[200:] + offset


def small_forecaster(**overrides) -> RNNForecaster:
    settings = dict(hidden_size=16, num_layers=1, window=10, learning_rate=3e-3, seed=0)
    settings.update(overrides)
    return RNNForecaster(**settings)


@pytest.fixture(scope="module")
def ar2_fitted():
    """A small LSTM trained on 3000 AR(2) steps (65 % training part)."""
    series = ar2_series(3000, seed=1)
    model = small_forecaster().fit(series, epochs=15, progress=False, patience=None)
    return model, series


# ------------------------------------------------------------------ windows & scaler --
def test_sliding_windows_match_explicit_loop():
    values = np.arange(30.0).reshape(15, 2)
    inputs, targets, target_start = sliding_windows(values, window=4, horizon=2)
    assert np.array_equal(target_start, np.arange(4, 14))
    for k, t in enumerate(target_start):
        assert np.array_equal(inputs[k], values[t - 4 : t])
        assert np.array_equal(targets[k], values[t : t + 2])
    inputs, _, target_start = sliding_windows(values, 4, 2, start=10, stop=12)
    assert np.array_equal(target_start, [10, 11])
    assert np.array_equal(inputs[0], values[6:10])


def test_chronological_split_is_ordered_and_disjoint():
    split = chronological_split(1000, window=60, horizon=2, train_fraction=0.65, validation=0.1)
    assert split.train_end == 650
    # Training-part windows: target starts 60 .. 648 (last target 649 < train_end).
    n_windows = 650 - 60 - 2 + 1
    assert split.n_validation == int(np.ceil(0.1 * n_windows))
    assert split.n_fit + split.n_validation == n_windows
    assert split.fit_range[0] == 60
    assert split.fit_range[1] == split.validation_range[0]
    assert split.validation_range[1] - 1 + 2 <= split.train_end  # last val target in training
    assert split.test_range == (650, 999)
    with pytest.raises(SeriesLengthError):
        chronological_split(70, window=60, horizon=1, train_fraction=0.65, validation=0.1)
    with pytest.raises(ForecastConfigError):
        chronological_split(1000, 60, 1, train_fraction=1.5, validation=0.1)


def test_scaler_statistics_and_round_trip():
    rng = np.random.default_rng(0)
    values = rng.normal(3.0, 2.0, size=(200, 3))
    values[:, 2] = 7.0  # constant feature: centred only
    scaler = StandardScaler.fit(values)
    assert np.allclose(scaler.mean, values.mean(axis=0), rtol=0, atol=1e-13)
    assert np.allclose(scaler.scale[:2], values[:, :2].std(axis=0), rtol=1e-14)
    assert scaler.scale[2] == 1.0
    assert np.allclose(scaler.inverse_transform(scaler.transform(values)), values, atol=1e-12)
    with pytest.raises(NonFiniteError):
        StandardScaler.fit([1.0, np.nan])


# ------------------------------------------------------------------------- network --
@pytest.mark.parametrize("cell", ["lstm", "gru"])
def test_fused_scan_equals_nnx_rnn(cell):
    """The wavefront scan computes the same function, and gradient, as nnx.RNN."""
    import jax
    import jax.numpy as jnp
    from flax import nnx

    model = RNNForecaster(cell=cell, hidden_size=8, num_layers=3, window=7, n_features=2)
    graphdef, params = nnx.split(model.network)

    def output(params, x, key, fused):
        return nnx.merge(graphdef, params)(x, dropout_key=key, fused=fused)

    @jax.jit
    def compare(params, x, key):
        values = [output(params, x, k, fused) for k in (None, key) for fused in (True, False)]
        grads = [
            jax.grad(lambda p, f=fused: jnp.sum(jnp.sin(output(p, x, key, f))))(params)
            for fused in (True, False)
        ]
        return values, grads

    x = np.random.default_rng(3).normal(size=(5, 7, 2)).astype(np.float32)
    values, grads = compare(params, x, jax.random.key(11))
    plain, plain_ref, masked, masked_ref = map(np.asarray, values)
    assert plain.dtype == np.float32 and plain.shape == (5, 2)
    # float32 sums in a different order: agreement to a few ulps of O(1) values.
    np.testing.assert_allclose(plain, plain_ref, rtol=0, atol=2e-6)
    np.testing.assert_allclose(masked, masked_ref, rtol=0, atol=2e-6)
    assert not np.allclose(masked, plain)
    fused_grads, reference_grads = (jax.tree.leaves(g) for g in grads)
    assert len(fused_grads) == len(reference_grads) == len(jax.tree.leaves(params))
    for g_fused, g_reference in zip(fused_grads, reference_grads, strict=True):
        # Gradients of O(1) sums of O(1) terms: float32 reordering only.
        np.testing.assert_allclose(np.asarray(g_fused), np.asarray(g_reference), atol=1e-5)


# -------------------------------------------------------------- what must be shown --
def test_ar2_one_step_rmse_and_interval_coverage(ar2_fitted):
    """One-step RMSE within 10 % of the innovation sd; 90 % MC intervals cover 80-97 %."""
    model, series = ar2_fitted
    start = model.split_.test_range[0]
    pred = model.predict(series, start=start).sel(lead=1, feature=0)
    truth = series[pred.time.values]
    rmse = float(np.sqrt(np.mean((pred.values - truth) ** 2)))
    # Best possible is AR_SIGMA; with 1050 test points the RMSE's own sampling error is
    # about 2 %, so 10 % leaves room for the network's approximation error only.
    assert abs(rmse / AR_SIGMA - 1.0) < 0.10, rmse
    mc = model.predict_mc(series, n_samples=100, seed=5, start=start)
    q = mc["quantiles"].sel(lead=1, feature=0)
    inside = (truth >= q.sel(quantile=0.05).values) & (truth <= q.sel(quantile=0.95).values)
    coverage = float(inside.mean())
    assert 0.80 <= coverage <= 0.97, coverage
    # The noise term is the validation RMS residual, close to the innovation sd.
    assert abs(float(model.noise_sd[0, 0]) / AR_SIGMA - 1.0) < 0.15


@pytest.mark.slow
def test_ar2_full_size_network():
    """The talk's 4 x 50 LSTM (window 60, 50 epochs) passes the same check."""
    series = ar2_series(4000, seed=2)
    model = RNNForecaster(seed=1).fit(series, epochs=50, progress=False)
    start = model.split_.test_range[0]
    truth = series[start:]
    rmse = float(
        np.sqrt(np.mean((model.predict(series, start=start).values[:, 0, 0] - truth) ** 2))
    )
    assert abs(rmse / AR_SIGMA - 1.0) < 0.10, rmse
    q = model.predict_mc(series, n_samples=100, seed=3, start=start)["quantiles"]
    lo = q.sel(quantile=0.05).values[:, 0, 0]
    hi = q.sel(quantile=0.95).values[:, 0, 0]
    coverage = float(np.mean((truth >= lo) & (truth <= hi)))
    assert 0.80 <= coverage <= 0.97, coverage


# ------------------------------------------------------------------ predict shapes --
def test_prediction_shapes_and_alignment(ar2_fitted):
    model, series = ar2_fitted
    pred = model.predict(series)
    assert pred.dims == ("time", "lead", "feature")
    assert pred.shape == (len(series) - 10, 1, 1)
    assert np.array_equal(pred.time.values, np.arange(10, len(series)))
    labels = np.linspace(-2.0, 0.0, len(series))
    labelled = model.predict(series, start=2000, time=labels)
    assert np.array_equal(labelled.time.values, labels[2000:])
    # Batches of other sizes may run other float32 kernels: agreement to ulps.
    np.testing.assert_allclose(labelled.values, pred.values[2000 - 10 :], rtol=1e-6)
    mc = model.predict_mc(series, n_samples=7, seed=0, start=2900)
    assert mc["samples"].dims == ("sample", "time", "lead", "feature")
    assert mc["samples"].shape == (7, 100, 1, 1)
    assert mc["quantiles"].shape == (7, 100, 1, 1)  # 7 default quantile levels
    assert set(mc.data_vars) >= {"mean", "sd", "epistemic_sd", "quantiles", "noise_sd"}


def test_forecast_is_recursive_prediction(ar2_fitted):
    """forecast() step 1 equals predict() at the same window; step 2 feeds step 1 back."""
    model, series = ar2_fitted
    t = 2500
    fc = model.forecast(series[:t], steps=3)
    assert fc.dims == ("time", "feature")
    assert np.array_equal(fc.time.values, [t, t + 1, t + 2])
    one_step = model.predict(series[: t + 1], start=t).values[0, 0, 0]
    # Same float32 network, evaluated batched vs. unbatched: a few ulps.
    np.testing.assert_allclose(fc.values[0, 0], one_step, rtol=1e-6)
    fed_back = np.concatenate([series[:t], fc.values[:1, 0]])
    two_step = model.predict(np.concatenate([fed_back, [0.0]]), start=t + 1).values[0, 0, 0]
    np.testing.assert_allclose(fc.values[1, 0], two_step, rtol=1e-5)
    # MC forecast: without noise, step 1 of each path uses that pass's masks, as
    # predict_mc does with the same seed.
    fmc = model.forecast_mc(series[:t], 2, n_samples=20, seed=4, include_noise=False)
    pmc = model.predict_mc(series[: t + 1], 20, seed=4, start=t, include_noise=False)
    np.testing.assert_allclose(
        fmc["samples"].values[:, 0, 0], pmc["samples"].values[:, 0, 0, 0], rtol=1e-5
    )
    noisy = model.forecast_mc(series[:t], 40, n_samples=200, seed=4)
    sd = noisy["sd"].values[:, 0]
    assert sd[-1] > sd[0]  # fed-back noise: the spread grows with lead time


# ------------------------------------------------------------------ MC dropout --
def test_mc_passes_differ_and_seed_reproduces(ar2_fitted):
    model, series = ar2_fitted
    a = model.predict_mc(series, n_samples=30, seed=1, start=2000, include_noise=False)
    b = model.predict_mc(series, n_samples=30, seed=1, start=2000, include_noise=False)
    c = model.predict_mc(series, n_samples=30, seed=2, start=2000, include_noise=False)
    samples = a["samples"].values
    assert np.array_equal(samples, b["samples"].values)  # same seed: bit-identical
    assert not np.array_equal(samples, c["samples"].values)
    assert not np.array_equal(samples[0], samples[1])  # each pass a fresh mask
    # 16 units x keep-probability 0.8: two passes share all masks with probability
    # 0.68**16 = 0.2 %, so a repeat or two among 30 passes can happen, more cannot.
    assert len(np.unique(samples[:, 0, 0, 0])) >= 27
    # Without noise the total spread is the epistemic spread.
    np.testing.assert_allclose(a["sd"].values, a["epistemic_sd"].values, rtol=1e-12)


def test_total_variance_is_epistemic_plus_noise(ar2_fitted):
    model, series = ar2_fitted
    mc = model.predict_mc(series, n_samples=200, seed=8, start=2000)
    total = float((mc["sd"] ** 2).mean())
    parts = float((mc["epistemic_sd"] ** 2).mean()) + float(model.noise_sd[0, 0] ** 2)
    # 200 samples x 1000 windows of independent noise: the averaged variances agree to
    # well under 3 % (the epistemic-noise cross term averages out).
    assert abs(total / parts - 1.0) < 0.03, (total, parts)


# ------------------------------------------------------------------ training rules --
def test_scaler_is_fitted_on_training_part_only():
    series = ar2_series(600, seed=4)
    changed = series.copy()
    changed[400:] = changed[400:] * 50.0 + 1e3  # wild held-out part
    first = small_forecaster().fit(series, train_fraction=0.65, epochs=2, progress=False)
    second = small_forecaster().fit(changed, train_fraction=0.65, epochs=2, progress=False)
    train_end = first.split_.train_end
    assert train_end == 390
    np.testing.assert_allclose(first.scaler.mean, [series[:train_end].mean()], rtol=1e-14)
    np.testing.assert_allclose(first.scaler.scale, [series[:train_end].std()], rtol=1e-14)
    # Nothing after train_end reaches the model: identical weights and noise estimate.
    p1 = first.predict(series[:train_end])
    p2 = second.predict(changed[:train_end])
    assert np.array_equal(p1.values, p2.values)
    assert np.array_equal(first.noise_sd, second.noise_sd)


def white_noise(n: int = 800, seed: int = 6) -> np.ndarray:
    return np.random.default_rng(seed).standard_normal(n)


def test_early_stopping_keeps_best_weights_and_compiles_once():
    series = white_noise()  # nothing to learn: the validation loss soon stalls
    seen = []
    before = trace_counts()
    model = small_forecaster(learning_rate=1e-2).fit(
        series, epochs=200, patience=3, progress=lambda *args: seen.append(args)
    )
    # Every epoch (17 batches each) ran from a single trace of the epoch function.
    assert trace_counts()["train_epoch"] - before.get("train_epoch", 0) == 1
    history = model.history
    n_epochs = len(history.epoch)
    best = int(history.attrs["best_epoch"])
    assert n_epochs < 200
    assert n_epochs == best + 3 + 1  # stopped `patience` epochs after the best
    assert best == int(np.argmin(history.validation_loss.values))
    assert [a[0] for a in seen] == list(range(n_epochs))
    assert np.allclose([a[1] for a in seen], history.train_loss.values)
    # The kept weights reproduce the best epoch's validation loss (float32 sums).
    split = model.split_
    pred = model.predict(series[: split.train_end], start=split.validation_range[0])
    scaled = (pred.values[:, 0, 0] - series[pred.time.values]) / model.scaler.scale[0]
    np.testing.assert_allclose(np.mean(scaled**2), history.validation_loss.values[best], rtol=1e-5)
    # Predictions on windows of an already seen shape are not traced again.
    middle = trace_counts()
    model.predict(series[100 : 100 + split.train_end], start=split.validation_range[0])
    assert trace_counts()["predict"] == middle["predict"]


def test_progress_lines_off_terminal(capsys):
    # Same settings and shapes as the test above: the compiled epoch is reused.
    small_forecaster(learning_rate=1e-2).fit(white_noise(), epochs=3, progress=True)
    err = capsys.readouterr().err
    assert "RNNForecaster.fit" in err and "3/3" in err


# ------------------------------------------------------------------ multivariate --
def test_multivariate_gru_horizon_two():
    """The talk's GRU set-up: 10 components, 10 past vectors -> next 2 vectors."""
    rng = np.random.default_rng(9)
    n, d = 1000, 10
    q, _ = np.linalg.qr(rng.standard_normal((d, d)))
    transition = 0.9 * q  # stable VAR(1): eigenvalues of modulus 0.9
    innovation_sd = 0.3
    values = np.zeros((n, d))
    for t in range(1, n):
        values[t] = transition @ values[t - 1] + innovation_sd * rng.standard_normal(d)
    model = RNNForecaster(
        cell="gru",
        hidden_size=32,
        num_layers=1,
        window=10,
        horizon=2,
        n_features=d,
        learning_rate=1e-2,
        seed=0,
    ).fit(values, epochs=10, progress=False)
    start = model.split_.test_range[0]
    pred = model.predict(values, start=start)
    assert pred.shape == (n - 1 - start, 2, d)
    truth = np.stack([values[pred.time.values + lead] for lead in (0, 1)], axis=1)
    rmse = np.sqrt(np.mean((pred.values - truth) ** 2, axis=(0, 2)))
    # Optimal one- and two-step errors: 0.3 and 0.3*sqrt(1 + 0.81) = 0.40; the series'
    # own sd is 0.3/sqrt(1 - 0.81) = 0.69. A learned model lies clearly in between.
    print("multivariate rmse by lead", rmse)
    assert rmse[0] < 0.45 and rmse[1] < 0.55, rmse
    assert model.noise_sd.shape == (2, d)
    fc = model.forecast(values[:start], steps=5)  # 3 calls of 2 steps, cut to 5
    assert fc.shape == (5, d)
    np.testing.assert_allclose(fc.values[:2], pred.values[0], rtol=1e-5, atol=1e-6)
    mc = model.forecast_mc(values[:start], steps=3, n_samples=4, seed=0)
    assert mc["samples"].shape == (4, 3, d)

    subset = RNNForecaster(
        cell="gru",
        hidden_size=4,
        num_layers=1,
        window=10,
        horizon=2,
        n_features=d,
        n_outputs=2,
    ).fit(values, epochs=1, progress=False)
    assert subset.predict(values, start=start).shape == (n - 1 - start, 2, 2)
    with pytest.raises(ForecastConfigError, match="n_outputs == n_features"):
        subset.forecast(values, steps=2)


# ------------------------------------------------------------------ save / load --
def test_save_load_round_trip_is_exact(ar2_fitted, tmp_path):
    model, series = ar2_fitted
    path = model.save(tmp_path / "ar2.npz")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["ar2.npz"]  # no temp file left
    loaded = RNNForecaster.load(path)
    assert loaded.config() == model.config()
    assert np.array_equal(loaded.noise_sd, model.noise_sd)
    assert loaded.split_ == model.split_
    assert np.array_equal(loaded.history.train_loss.values, model.history.train_loss.values)
    assert np.array_equal(model.predict(series).values, loaded.predict(series).values)
    a = model.predict_mc(series, n_samples=10, seed=3, start=2800)
    b = loaded.predict_mc(series, n_samples=10, seed=3, start=2800)
    assert np.array_equal(a["samples"].values, b["samples"].values)
    assert np.array_equal(model.forecast(series, 5).values, loaded.forecast(series, 5).values)


def test_load_rejects_bad_files(tmp_path):
    with pytest.raises(FileNotFoundError):
        RNNForecaster.load(tmp_path / "missing.npz")
    junk = tmp_path / "junk.npz"
    junk.write_bytes(b"not a zip archive")
    with pytest.raises(MalformedFileError):
        RNNForecaster.load(junk)
    other = tmp_path / "other.npz"
    np.savez(other, weights=np.zeros(3))
    with pytest.raises(MalformedFileError, match="lacks"):
        RNNForecaster.load(other)


# ------------------------------------------------------------------ bad input --
@pytest.mark.parametrize(
    "kwargs",
    [
        {"hidden_size": 0},
        {"num_layers": -1},
        {"window": 0},
        {"horizon": 0},
        {"n_features": 0},
        {"n_features": 2, "n_outputs": 3},
        {"dropout": 1.0},
        {"learning_rate": 0.0},
        {"cell": "rnn"},
        {"window": 2.5},
        {"target": "difference"},
        {"inputs": "increment"},
    ],
)
def test_bad_configuration_is_rejected(kwargs):
    with pytest.raises(ForecastConfigError):
        RNNForecaster(**kwargs)


def test_bad_series_are_rejected(ar2_fitted):
    model, series = ar2_fitted
    with_nan = series.copy()
    with_nan[17] = np.nan
    with pytest.raises(NonFiniteError, match="time index 17"):
        small_forecaster().fit(with_nan, epochs=1, progress=False)
    with pytest.raises(NonFiniteError):
        model.predict(with_nan)
    with pytest.raises(SeriesLengthError):
        small_forecaster().fit(series[:15], epochs=1, progress=False)
    with pytest.raises(SeriesLengthError):
        model.predict(series[:10])  # window 10 + horizon 1 needs 11 values
    with pytest.raises(SeriesLengthError):
        model.predict(series, start=3)
    with pytest.raises(SeriesLengthError):
        model.forecast(series[:5], steps=2)
    with pytest.raises(SeriesShapeError, match="2 features"):
        model.predict(np.stack([series, series], axis=1))
    with pytest.raises(SeriesShapeError):
        model.predict(series.reshape(1, -1, 1))
    with pytest.raises(ForecastConfigError):
        small_forecaster().fit(series, epochs=0, progress=False)
    with pytest.raises(ForecastConfigError):
        model.predict_mc(series, n_samples=0)
    with pytest.raises(ForecastConfigError):
        model.forecast(series, steps=0)
    with pytest.raises(NotFittedError):
        small_forecaster().predict(series)
    # Every error is also a ValueError, for generic handlers.
    assert issubclass(SeriesShapeError, ValueError) and issubclass(NotFittedError, ValueError)


# ------------------------------------------------------------------ increment target --
ARI_PHI = 0.6  # increments follow AR(1): x_t - x_{t-1} = 0.6 (x_{t-1} - x_{t-2}) + e_t


def ari_series(n: int, seed: int, phi=ARI_PHI, sigma=1.0) -> np.ndarray:
    """ARIMA(1, 1, 0) path: a random walk whose steps are AR(1); it wanders far outside
    the range of its first part, as the dipole moment's Brunhes chron does."""
    rng = np.random.default_rng(seed)
    eps = sigma * rng.standard_normal(n + 100)
    steps = np.zeros(n + 100)
    for t in range(1, n + 100):
        steps[t] = phi * steps[t - 1] + eps[t]
    return np.cumsum(steps[100:]) + 20.0


@pytest.fixture(scope="module")
def ari_fitted():
    """A small LSTM predicting increments from levels and increments (65 % training)."""
    series = ari_series(3000, seed=3)
    model = small_forecaster(target="increment", inputs="level+increment")
    model.fit(series, epochs=15, progress=False, patience=None)
    return model, series


def test_increment_model_one_step_rmse_is_innovation_sd(ari_fitted):
    """On ARIMA(1,1,0) the best one-step RMSE is the innovation sd (1); persistence's is
    the sd of the steps, 1/sqrt(1 - 0.36) = 1.25."""
    model, series = ari_fitted
    start = model.split_.test_range[0]
    pred = model.predict(series, start=start).values[:, 0, 0]
    truth = series[start:]
    rmse = float(np.sqrt(np.mean((pred - truth) ** 2)))
    persistence = float(np.sqrt(np.mean((series[start - 1 : -1] - truth) ** 2)))
    # 1050 test points: the RMSE's sampling error is about 2 %; 10 % leaves the rest for
    # the network's approximation error. Persistence is ~25 % worse, so this also
    # shows the network learned the momentum of the steps.
    assert abs(rmse - 1.0) < 0.10, rmse
    assert persistence > 1.15 and rmse < 0.92 * persistence, (rmse, persistence)
    assert abs(float(model.noise_sd[0, 0]) - 1.0) < 0.15
    # The output unit is the training part's RMS step (numpy truth).
    steps = np.diff(series[: model.split_.train_end])
    np.testing.assert_allclose(model.increment_scale, [[np.sqrt(np.mean(steps**2))]], rtol=1e-14)


def test_increment_scale_is_fitted_on_training_part_only():
    series = ari_series(600, seed=5)
    changed = series.copy()
    changed[400:] = changed[400:] * 50.0 - 1e3  # wild held-out part
    settings = dict(target="increment", inputs="level+increment")
    first = small_forecaster(**settings).fit(series, epochs=2, progress=False)
    second = small_forecaster(**settings).fit(changed, epochs=2, progress=False)
    assert np.array_equal(first.increment_scale, second.increment_scale)
    end = first.split_.train_end
    assert np.array_equal(first.predict(series[:end]).values, second.predict(changed[:end]).values)
    assert np.array_equal(first.noise_sd, second.noise_sd)


def test_zero_output_increment_network_is_persistence():
    """With a zero output layer the increment model predicts the last value exactly."""
    series = ari_series(400, seed=7)
    model = small_forecaster(target="increment").fit(series, epochs=1, progress=False)
    model.network.head.kernel.set_value(0.0 * model.network.head.kernel.get_value())
    model.network.head.bias.set_value(0.0 * model.network.head.bias.get_value())
    pred = model.predict(series, start=300).values[:, 0, 0]
    assert np.array_equal(pred, series[299:-1])  # anchor + 0 * scale: exact
    mc = model.predict_mc(series, 5, seed=0, start=300, include_noise=False)
    assert np.array_equal(mc["samples"].values[:, :, 0, 0], np.broadcast_to(pred, (5, 100)))
    fc = model.forecast(series[:300], steps=4).values[:, 0]
    # The recursion runs on standardised float32 values: last value to float32 ulps.
    np.testing.assert_allclose(fc, np.full(4, series[299]), rtol=1e-6)


def test_increment_inputs_forecast_feeds_back_increments(ari_fitted):
    """Step 2 of a forecast equals a prediction on the history extended by step 1, whose
    increment channel is computed from the fed-back level."""
    model, series = ari_fitted
    t = 2500
    fc = model.forecast(series[:t], steps=3).values[:, 0]
    one_step = model.predict(series[: t + 1], start=t).values[0, 0, 0]
    # float32 network on standardised values: agreement to a few ulps of the level (~20).
    np.testing.assert_allclose(fc[0], one_step, rtol=1e-6)
    extended = np.concatenate([series[:t], fc[:1], [0.0]])
    two_step = model.predict(extended, start=t + 1).values[0, 0, 0]
    np.testing.assert_allclose(fc[1], two_step, rtol=1e-5)
    paths = model.forecast_mc(series[:t], 30, n_samples=100, seed=2)
    sd = paths["sd"].values[:, 0]
    assert sd[-1] > 3 * sd[0]  # integrated process: the spread grows fast with lead time


def test_increment_model_save_load_round_trip(ari_fitted, tmp_path):
    model, series = ari_fitted
    loaded = RNNForecaster.load(model.save(tmp_path / "ari.npz"))
    assert loaded.config() == model.config()
    assert loaded.config()["target"] == "increment"
    assert loaded.config()["inputs"] == "level+increment"
    assert np.array_equal(loaded.increment_scale, model.increment_scale)
    assert np.array_equal(model.predict(series).values, loaded.predict(series).values)
    a = model.predict_mc(series, n_samples=10, seed=3, start=2800)
    b = loaded.predict_mc(series, n_samples=10, seed=3, start=2800)
    assert np.array_equal(a["samples"].values, b["samples"].values)
    c = model.forecast_mc(series, 7, n_samples=5, seed=1)
    d = loaded.forecast_mc(series, 7, n_samples=5, seed=1)
    assert np.array_equal(c["samples"].values, d["samples"].values)


def test_format_version_1_files_load_as_level_models(ar2_fitted, tmp_path):
    """Files written before ``target``/``inputs`` existed load as the level model."""
    import json

    model, series = ar2_fitted
    path = model.save(tmp_path / "v2.npz")
    with np.load(path) as archive:
        arrays = {name: archive[name] for name in archive.files}
    meta = json.loads(str(arrays["meta_json"]))
    meta["format_version"] = 1
    del meta["config"]["target"], meta["config"]["inputs"]
    arrays["meta_json"] = np.asarray(json.dumps(meta))
    np.savez(tmp_path / "v1.npz", **arrays)
    loaded = RNNForecaster.load(tmp_path / "v1.npz")
    assert loaded.target == "level" and loaded.inputs == "level"
    assert np.array_equal(model.predict(series).values, loaded.predict(series).values)
    meta["format_version"] = 99
    arrays["meta_json"] = np.asarray(json.dumps(meta))
    np.savez(tmp_path / "v99.npz", **arrays)
    with pytest.raises(MalformedFileError, match="format version"):
        RNNForecaster.load(tmp_path / "v99.npz")
