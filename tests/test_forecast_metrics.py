"""Tests of bayescore.forecast.metrics against closed forms and NumPy/SciPy references."""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from scipy import integrate, stats

import bayescore.spectral
from bayescore.forecast import metrics
from bayescore.forecast.windows import SeriesShapeError


def brute_force_crps(samples: np.ndarray, y: np.ndarray, fair: bool) -> np.ndarray:
    """O(n**2) energy-form CRPS in NumPy."""
    n = samples.shape[0]
    to_obs = np.mean(np.abs(samples - y[None]), axis=0)
    pairs = np.abs(samples[:, None] - samples[None, :]).sum(axis=(0, 1))
    return to_obs - 0.5 * pairs / (n * (n - 1) if fair else n * n)


def test_point_scores_match_numpy():
    rng = np.random.default_rng(0)
    y = rng.normal(size=(50, 3))
    f = y + rng.normal(scale=0.5, size=y.shape)
    train = np.cumsum(rng.normal(size=(80, 3)), axis=0)
    assert float(metrics.rmse(y, f)) == pytest.approx(np.sqrt(np.mean((f - y) ** 2)))
    assert float(metrics.mae(y, f)) == pytest.approx(np.mean(np.abs(f - y)))
    np.testing.assert_allclose(metrics.rmse(y, f, axis=0), np.sqrt(np.mean((f - y) ** 2, 0)))
    scale = np.mean(np.abs(np.diff(train, axis=0)), axis=0)
    assert float(metrics.mase(y, f, train)) == pytest.approx(np.mean(np.abs(f - y) / scale))
    # forecasting with in-sample persistence on the training series itself gives MASE 1
    assert float(metrics.mase(train[1:], train[:-1], train)) == pytest.approx(1.0)


def test_crps_ensemble_matches_brute_force():
    rng = np.random.default_rng(1)
    samples = rng.normal(size=(37, 4, 2))
    y = rng.normal(size=(4, 2))
    for fair in (False, True):
        np.testing.assert_allclose(
            metrics.crps_ensemble(samples, y, fair=fair),
            brute_force_crps(samples, y, fair),
            rtol=1e-12,
        )


def test_crps_of_point_mass_is_absolute_error():
    y = np.array([0.3, -1.2, 4.0])
    x = np.array([1.0, -1.0, 2.5])
    np.testing.assert_allclose(metrics.crps_ensemble(x[None], y), np.abs(x - y))
    # an ensemble of identical members is still a point mass
    np.testing.assert_allclose(metrics.crps_ensemble(np.repeat(x[None], 7, 0), y), np.abs(x - y))


def test_gaussian_crps_closed_form_against_quadrature():
    """CRPS = int (F(x) - 1{x >= y})**2 dx, integrated numerically with SciPy."""
    for mu, sd, y in [(0.0, 1.0, 0.0), (2.0, 0.5, 3.1), (-1.0, 3.0, -7.5)]:
        below, _ = integrate.quad(lambda x, m=mu, s=sd: stats.norm.cdf(x, m, s) ** 2, -np.inf, y)
        above, _ = integrate.quad(lambda x, m=mu, s=sd: stats.norm.sf(x, m, s) ** 2, y, np.inf)
        assert float(metrics.crps_gaussian(mu, sd, y)) == pytest.approx(below + above, rel=1e-7)


def test_gaussian_crps_matches_sample_crps_within_mc_error():
    rng = np.random.default_rng(2)
    mu, sd = 1.5, 2.0
    y = np.array([1.5, 0.0, 4.0, 9.0])
    n_batches, batch = 20, 2000
    samples = rng.normal(mu, sd, size=(n_batches, batch, y.size))
    per_batch = np.stack([metrics.crps_ensemble(s, y, fair=True) for s in samples])
    estimate = per_batch.mean(axis=0)
    mc_error = per_batch.std(axis=0, ddof=1) / np.sqrt(n_batches)
    exact = np.asarray(metrics.crps_gaussian(mu, sd, y))
    # the fair CRPS is unbiased: the 40000-sample estimate lies within 4 MC sd
    assert np.all(np.abs(estimate - exact) < 4.0 * mc_error)


def test_pinball_loss_values_and_crps_identity():
    y = np.array([0.0, 1.0, -2.0])
    q = np.array([[0.5, 0.5, 0.5], [-1.0, 2.0, -2.0]])
    taus = np.array([0.5, 0.9])
    loss = np.asarray(metrics.pinball_loss(y, q, taus))
    expected = np.where(y >= q, taus[:, None] * (y - q), (1 - taus[:, None]) * (q - y))
    np.testing.assert_allclose(loss, expected)
    # at tau = 0.5 the pinball loss is half the absolute error
    np.testing.assert_allclose(loss[0], 0.5 * np.abs(y - q[0]))
    # CRPS = 2 int_0^1 pinball(tau) dtau: midpoint rule with 2000 levels; the quadrature
    # error of the midpoint rule (integrand has bounded 2nd derivative away from the
    # tails) is < 1e-3 relative here
    taus = (np.arange(2000) + 0.5) / 2000
    mu, sd, obs = 0.2, 1.3, 1.7
    quantiles = stats.norm.ppf(taus, mu, sd)[:, None]
    crps_from_quantiles = 2 * np.mean(metrics.pinball_loss(np.array([obs]), quantiles, taus))
    assert crps_from_quantiles == pytest.approx(float(metrics.crps_gaussian(mu, sd, obs)), 1e-3)


def test_interval_coverage_of_calibrated_gaussian_samples():
    rng = np.random.default_rng(3)
    n_obs, n_samples = 2000, 200
    mean = rng.normal(size=n_obs)
    y = mean + rng.normal(size=n_obs)
    samples = mean[None] + rng.normal(size=(n_samples, n_obs))
    for level in (0.5, 0.9, 0.95):
        lower, upper = metrics.central_interval(samples, level=level)
        coverage = float(metrics.interval_coverage(y, lower, upper))
        # each observation has its own 200 samples, so quantile errors average out: the
        # count is binomial with sd sqrt(l (1 - l) / 2000) <= 0.011; +-0.035 is > 3 sd
        assert coverage == pytest.approx(level, abs=0.035)
        expected_width = 2 * stats.norm.ppf(0.5 + level / 2)
        # sample quantiles from 200 draws: relative sd of the mean width over 2000 sets
        # is < 0.5 %; 5 % also absorbs the O(1/n) bias of empirical quantiles
        assert float(metrics.interval_width(lower, upper)) == pytest.approx(expected_width, 0.05)


def test_interval_score_formula():
    y = np.array([0.0, 2.0, -3.0])
    lower = np.array([-1.0, -1.0, -1.0])
    upper = np.array([1.0, 1.0, 1.0])
    score = np.asarray(metrics.interval_score(y, lower, upper, level=0.9))
    alpha = 0.1
    expected = 2.0 + (2 / alpha) * np.array([0.0, 1.0, 2.0])
    np.testing.assert_allclose(score, expected)


def test_pit_of_calibrated_forecast_is_uniform():
    rng = np.random.default_rng(4)
    n_obs = 2000
    y = rng.normal(size=n_obs)
    samples = rng.normal(size=(199, n_obs))
    values = np.asarray(metrics.pit(samples, y, key=jax.random.key(0)))
    # KS test against U(0, 1): the randomised rank is exactly uniform, so p is uniform;
    # p > 0.001 fails 0.1 % of seeds
    assert stats.kstest(values, "uniform").pvalue > 1e-3
    density, edges = metrics.pit_histogram(values, n_bins=10)
    assert edges.shape == (11,) and float(jnp.sum(density * jnp.diff(edges))) == pytest.approx(1)
    # counts per bin ~ 200 +- 14: density within 1 +- 0.3 (> 4 sd)
    assert np.all(np.abs(np.asarray(density) - 1.0) < 0.3)
    # an over-confident forecast (spread / 3) is far from uniform (U-shaped PIT)
    narrow = np.asarray(metrics.pit(samples / 3, y, key=jax.random.key(1)))
    assert stats.kstest(narrow, "uniform").pvalue < 1e-10
    # Gaussian PIT agrees with SciPy
    np.testing.assert_allclose(metrics.pit_gaussian(0.0, 2.0, y), stats.norm.cdf(y, 0, 2))


def test_energy_score_reduces_to_crps_and_matches_brute_force():
    rng = np.random.default_rng(5)
    samples = rng.normal(size=(30, 6))
    y = rng.normal(size=6)
    np.testing.assert_allclose(
        metrics.energy_score(samples[..., None], y[..., None]),
        metrics.crps_ensemble(samples, y),
        rtol=1e-12,
    )
    vectors = rng.normal(size=(25, 4, 3))
    obs = rng.normal(size=(4, 3))
    norm_obs = np.linalg.norm(vectors - obs[None], axis=-1).mean(axis=0)
    pairs = np.linalg.norm(vectors[:, None] - vectors[None, :], axis=-1).sum(axis=(0, 1))
    for fair, denominator in ((False, 25 * 25), (True, 25 * 24)):
        np.testing.assert_allclose(
            metrics.energy_score(vectors, obs, fair=fair),
            norm_obs - 0.5 * pairs / denominator,
            rtol=1e-12,
        )


def test_float32_in_float32_out_and_jit():
    rng = np.random.default_rng(6)
    y = jnp.asarray(rng.normal(size=20), dtype=jnp.float32)
    samples = jnp.asarray(rng.normal(size=(50, 20)), dtype=jnp.float32)
    outputs = [
        metrics.rmse(y, samples[0]),
        metrics.mae(y, samples[0]),
        metrics.mase(y, samples[0], samples[1]),
        metrics.crps_ensemble(samples, y),
        metrics.crps_gaussian(jnp.float32(0), jnp.float32(1), y),
        metrics.pinball_loss(y, samples[:2], jnp.asarray([0.1, 0.9])),
        metrics.interval_score(y, samples[0], samples[1], level=0.9),
        metrics.pit(samples, y),
        metrics.energy_score(samples[..., None], y[..., None]),
        metrics.log_spectral_distance(jnp.abs(y) + 1, jnp.abs(samples[0]) + 1),
    ]
    for out in outputs:
        assert out.dtype == jnp.float32
    # the functions compose under an outer jit and vmap (no Python-side branching)
    batched = jax.jit(jax.vmap(metrics.crps_ensemble, in_axes=(1, 0)))(samples, y)
    np.testing.assert_allclose(batched, metrics.crps_ensemble(samples, y), rtol=1e-6)
    # float64 stays float64
    assert metrics.crps_ensemble(np.asarray(samples, np.float64), np.asarray(y)).dtype == (
        jnp.float64
    )


def test_log_spectral_distance_is_reexported():
    assert metrics.log_spectral_distance is bayescore.spectral.log_spectral_distance


def test_score_table_and_markdown():
    rng = np.random.default_rng(7)
    n = 500
    train = np.cumsum(rng.normal(size=300))
    y = rng.normal(size=n)
    samples = rng.normal(size=(300, n))
    table = metrics.score_table(
        y,
        {
            "point": np.zeros(n),
            "ensemble": samples,
            "gaussian": (np.zeros(n), 1.0),
            "dict-gaussian": {"mean": 0.0, "std": np.ones(n)},
        },
        y_train=train,
    )
    assert set(table) == {"point", "ensemble", "gaussian", "dict-gaussian"}
    row = table["point"]
    assert row["crps"] == pytest.approx(row["mae"]) == pytest.approx(np.mean(np.abs(y)))
    assert np.isnan(row["coverage_90"]) and np.isnan(row["width_95"])
    # a calibrated Gaussian: coverage near nominal (binomial sd 0.013 for n = 500)
    assert table["gaussian"]["coverage_90"] == pytest.approx(0.9, abs=0.045)
    assert table["gaussian"]["width_95"] == pytest.approx(2 * 1.959964, rel=1e-6)
    assert table["gaussian"]["crps"] == pytest.approx(
        float(jnp.mean(metrics.crps_gaussian(0.0, 1.0, y)))
    )
    assert table["gaussian"] == table["dict-gaussian"]
    # samples of the same N(0, 1): CRPS close to the closed form (MC error ~ 0.2 %)
    assert table["ensemble"]["crps"] == pytest.approx(table["gaussian"]["crps"], rel=0.02)
    scale = np.mean(np.abs(np.diff(train)))
    assert row["mase"] == pytest.approx(np.mean(np.abs(y)) / scale)
    text = metrics.format_score_table(table, digits=3)
    lines = text.strip().splitlines()
    assert lines[0].startswith("| forecast | rmse | mae | mase | crps | coverage_90")
    assert lines[1].startswith("|---|")
    assert len(lines) == 2 + 4
    assert "| point |" in text and " - " in text  # NaN shown as '-'


def test_shape_errors():
    with pytest.raises(SeriesShapeError, match="differ"):
        metrics.rmse(np.zeros(3), np.zeros(4))
    with pytest.raises(SeriesShapeError, match="n_samples"):
        metrics.crps_ensemble(np.zeros((5, 3)), np.zeros(4))
    with pytest.raises(SeriesShapeError, match="quantiles"):
        metrics.pinball_loss(np.zeros(3), np.zeros((2, 3)), np.array([0.5]))
    with pytest.raises(SeriesShapeError, match="y_train"):
        metrics.mase(np.zeros(3), np.zeros(3), np.zeros(1))
    with pytest.raises(SeriesShapeError, match="expected"):
        metrics.score_table(np.zeros(3), {"bad": np.zeros((2, 2))})
    with pytest.raises(ValueError, match="level"):
        metrics.central_interval(np.zeros((4, 3)), level=1.5)
