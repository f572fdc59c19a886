"""Tests of bayescore.forecast.baselines against simulated processes with known parameters."""

from __future__ import annotations

import numpy as np
import pytest
from scipy import signal

from bayescore.errors import NonFiniteError
from bayescore.forecast.baselines import (
    AutoRegressive,
    Climatology,
    ModelFitError,
    NotFittedError,
    OrnsteinUhlenbeck,
    Persistence,
)
from bayescore.forecast.windows import ForecastConfigError, SeriesLengthError, SeriesShapeError


def simulate_ar(rng, phi, n_time, intercept=0.0, sigma=1.0, burn_in=500):
    """x_t = c + sum phi_i x_{t-i} + sigma e_t (stationary start after burn-in)."""
    noise = intercept + sigma * rng.normal(size=n_time + burn_in)
    return signal.lfilter([1.0], np.concatenate([[1.0], -np.asarray(phi)]), noise)[burn_in:]


def simulate_ou(rng, gamma, mu, diffusion, dt, n_time):
    """Exact OU transition x_{t+1} = mu + a (x_t - mu) + e, started from stationarity."""
    a = np.exp(-gamma * dt)
    innovation_sd = np.sqrt(diffusion / gamma * (1 - a**2))
    x = np.empty(n_time)
    x[0] = mu + np.sqrt(diffusion / gamma) * rng.normal()
    shocks = innovation_sd * rng.normal(size=n_time)
    for t in range(1, n_time):
        x[t] = mu + a * (x[t - 1] - mu) + shocks[t]
    return x


# ----------------------------------------------------------------------------- AR(p)


@pytest.mark.parametrize(("phi", "intercept"), [([0.5, -0.3], 1.0), ([0.6, -0.3, 0.2], 3.0)])
def test_ar_recovers_coefficients_within_three_standard_errors(phi, intercept):
    rng = np.random.default_rng(len(phi))
    x = simulate_ar(rng, phi, 5000, intercept=intercept, sigma=0.5)
    model = AutoRegressive(order=len(phi)).fit(x)
    truth = np.concatenate([[intercept], phi])
    estimate = np.concatenate([model.intercept_, model.coef_[0]])
    # least-squares estimates are asymptotically normal with these standard errors:
    # each within 3 SE (probability 0.997 per coefficient)
    assert np.all(np.abs(estimate - truth) < 3 * model.stderr_[0])
    # innovation sd: relative SE 1/sqrt(2 n) = 1 %; 4 % is 4 SE
    assert model.sigma_[0] == pytest.approx(0.5, rel=0.04)


def test_order_selection_aic_and_bic():
    rng = np.random.default_rng(10)
    n_rep = 30
    aic_orders, bic_orders = [], []
    for _ in range(n_rep):
        x = simulate_ar(rng, [0.5, -0.3], 2000)
        aic_orders.append(AutoRegressive(max_order=6).fit(x).order_[0])
        bic_orders.append(AutoRegressive(max_order=6, criterion="bic").fit(x).order_[0])
    aic_orders, bic_orders = np.array(aic_orders), np.array(bic_orders)
    # AIC never under-fits a long series and picks the true order most often; it is not
    # consistent: asymptotically P(true order) ~ 0.7 (Shibata 1976), so with 30
    # replicates (sd 0.08) >= 0.45 is a 3 sd bound
    assert np.all(aic_orders >= 2)
    assert np.bincount(aic_orders).argmax() == 2
    assert np.mean(aic_orders == 2) >= 0.45
    # BIC is consistent: P(overfit) -> 0; with n = 2000 simulated 29/30
    assert np.mean(bic_orders == 2) >= 0.85


def test_ar_forecast_mean_variance_and_samples():
    rng = np.random.default_rng(11)
    x = simulate_ar(rng, [0.6, -0.3, 0.2], 3000, intercept=1.0, sigma=0.5)
    model = AutoRegressive(order=3).fit(x)
    c, (p1, p2, p3) = model.intercept_[0], model.coef_[0]
    mean, sd = model.forecast_distribution(x, 4)
    # hand recursion of the mean and of the psi weights
    expected = []
    past = list(x[-3:])
    for _ in range(4):
        nxt = c + p1 * past[-1] + p2 * past[-2] + p3 * past[-3]
        expected.append(nxt)
        past.append(nxt)
    np.testing.assert_allclose(mean, expected, rtol=1e-12)
    psi = [1.0, p1, p1 * p1 + p2, p1 * (p1 * p1 + p2) + p2 * p1 + p3]
    np.testing.assert_allclose(sd**2, model.sigma_[0] ** 2 * np.cumsum(np.square(psi)))
    # sample paths: mean and variance agree within Monte-Carlo error (20000 paths:
    # 4 SE of the mean, relative SE of the variance sqrt(2/20000) = 1 % -> 5 %)
    paths = model.sample_forecast(x, 4, n_samples=20000, seed=3)
    assert paths.shape == (20000, 4)
    assert np.all(np.abs(paths.mean(axis=0) - mean) < 4 * sd / np.sqrt(20000))
    np.testing.assert_allclose(paths.var(axis=0), sd**2, rtol=0.05)
    # one-step predictions with the true history
    predicted = model.predict(x, start=10)
    manual = c + p1 * x[9:-1] + p2 * x[8:-2] + p3 * x[7:-3]
    np.testing.assert_allclose(predicted, manual, rtol=1e-12)


# ----------------------------------------------------------------------------- OU


def test_ou_fit_recovers_parameters():
    rng = np.random.default_rng(12)
    gamma, mu, diffusion, dt = 0.02, 5.0, 0.2, 1.0  # 1/kyr, 1e22 A m^2, (1e22 A m^2)^2/kyr
    x = simulate_ou(rng, gamma, mu, diffusion, dt, 50_000)
    model = OrnsteinUhlenbeck().fit(x, dt=dt)
    # maximum-likelihood estimates are asymptotically normal with the delta-method
    # standard errors: each within 4 SE
    for name, truth in (("gamma", gamma), ("mu", mu), ("diffusion", diffusion)):
        estimate = {"gamma": model.gamma_, "mu": model.mu_, "diffusion": model.diffusion_}[name]
        assert abs(estimate[0] - truth) < 4 * model.stderr_[name][0], name
    # and the standard errors themselves are as small as the theory says
    # (var(a_hat) = (1 - a**2)/n -> SE(gamma) ~ 0.0009 here)
    assert model.stderr_["gamma"][0] == pytest.approx(
        np.sqrt((1 - np.exp(-2 * gamma)) / 50_000) / np.exp(-gamma), rel=0.2
    )
    assert model.stationary_sd_[0] == pytest.approx(np.sqrt(diffusion / gamma), rel=0.1)


def test_ou_predictive_variance_is_analytic_and_matches_samples():
    rng = np.random.default_rng(13)
    dt = 2.0
    x = simulate_ou(rng, 0.05, -1.0, 0.4, dt, 3000)
    model = OrnsteinUhlenbeck().fit(x, dt=dt)
    g, d, m = model.gamma_[0], model.diffusion_[0], model.mu_[0]
    steps = np.arange(1, 31)
    mean, sd = model.forecast_distribution(x, 30)
    np.testing.assert_allclose(sd**2, d / g * (1 - np.exp(-2 * g * steps * dt)), rtol=1e-12)
    np.testing.assert_allclose(mean, m + np.exp(-g * steps * dt) * (x[-1] - m), rtol=1e-12)
    # continuous lead times agree at multiples of dt and start at zero variance
    mean_c, sd_c = model.predictive_moments(x[-1], np.concatenate([[0.0], steps * dt]))
    np.testing.assert_allclose(mean_c[1:], mean)
    np.testing.assert_allclose(sd_c[1:], sd)
    assert sd_c[0] == 0.0 and mean_c[0] == pytest.approx(x[-1])
    # exact simulation: sample variance within MC error (relative SE 1 % -> 5 %)
    paths = model.sample_forecast(x, 30, n_samples=20000, seed=1)
    np.testing.assert_allclose(paths.var(axis=0), sd**2, rtol=0.05)
    # the one-step predictive equals the AR(1) form of the same fit
    ar1 = AutoRegressive(order=1).fit(x)
    np.testing.assert_allclose(model.predict(x), ar1.predict(x), rtol=1e-10)


# ----------------------------------------------------------------------------- simple ones


def test_persistence_and_climatology():
    rng = np.random.default_rng(14)
    x = np.cumsum(rng.normal(scale=0.3, size=400)) + 2.0
    persistence = Persistence().fit(x)
    np.testing.assert_allclose(persistence.forecast(x, 7), np.full(7, x[-1]))
    np.testing.assert_allclose(persistence.predict(x, start=5), x[4:-1])
    step_sd = np.sqrt(np.mean(np.diff(x) ** 2))
    _, sd = persistence.forecast_distribution(x, 9)
    np.testing.assert_allclose(sd, step_sd * np.sqrt(np.arange(1, 10)))
    paths = persistence.sample_forecast(x, 9, n_samples=20000, seed=0)
    np.testing.assert_allclose(paths.var(axis=0), sd**2, rtol=0.05)

    climatology = Climatology().fit(x)
    mean, sd = climatology.forecast_distribution(x, 3)
    np.testing.assert_allclose(mean, x.mean())
    np.testing.assert_allclose(sd, x.std(ddof=1))
    assert climatology.predict(x).shape == x.shape  # climatology needs no history


def test_sample_forecast_reproducible_with_seed():
    x = simulate_ar(np.random.default_rng(15), [0.7], 500)
    for model in (Persistence(), Climatology(), AutoRegressive(2), OrnsteinUhlenbeck()):
        model.fit(x)
        first = model.sample_forecast(x, 12, n_samples=5, seed=42)
        np.testing.assert_array_equal(first, model.sample_forecast(x, 12, n_samples=5, seed=42))
        assert not np.array_equal(first, model.sample_forecast(x, 12, n_samples=5, seed=43))


def test_multivariate_is_per_component():
    rng = np.random.default_rng(16)
    columns = [simulate_ar(rng, [0.8], 1500), simulate_ar(rng, [0.5, -0.3], 1500)]
    series = np.column_stack(columns)
    joint = AutoRegressive(max_order=4, criterion="bic").fit(series)
    assert joint.coef_.shape[0] == 2
    for j, column in enumerate(columns):
        single = AutoRegressive(max_order=4, criterion="bic").fit(column)
        assert joint.order_[j] == single.order_[0]
        np.testing.assert_allclose(joint.forecast(series, 6)[:, j], single.forecast(column, 6))
    paths = joint.sample_forecast(series, 6, n_samples=8, seed=0)
    assert paths.shape == (8, 6, 2)
    assert joint.predict(series).shape == (1500 - joint.order_.max(), 2)


# ----------------------------------------------------------------------------- validation


def test_validation_errors():
    x = simulate_ar(np.random.default_rng(17), [0.5], 100)
    with pytest.raises(NonFiniteError):
        AutoRegressive(2).fit(np.where(np.arange(100) == 50, np.nan, x))
    with pytest.raises(SeriesShapeError):
        Persistence().fit(np.zeros((10, 2, 2)))
    with pytest.raises(SeriesLengthError, match="at least 8"):
        AutoRegressive(3).fit(x[:7])
    with pytest.raises(SeriesLengthError):
        Persistence().fit(x[:1])
    with pytest.raises(NotFittedError):
        OrnsteinUhlenbeck().forecast(x, 3)
    model = AutoRegressive(3).fit(x)
    with pytest.raises(SeriesLengthError, match="history"):
        model.forecast(x[:2], 3)
    with pytest.raises(SeriesLengthError, match="start"):
        model.predict(x, start=1)
    with pytest.raises(SeriesShapeError, match="features"):
        model.forecast(np.zeros((10, 2)), 3)
    with pytest.raises(ForecastConfigError, match="steps"):
        model.forecast(x, 0)
    with pytest.raises(ForecastConfigError, match="order"):
        AutoRegressive(order=0)
    with pytest.raises(ForecastConfigError, match="criterion"):
        AutoRegressive(criterion="hqic")
    with pytest.raises(ForecastConfigError, match="dt"):
        OrnsteinUhlenbeck().fit(x, dt=0.0)
    # an anti-persistent series has no OU representation
    alternating = simulate_ar(np.random.default_rng(18), [-0.6], 400)
    with pytest.raises(ModelFitError, match="mean reversion"):
        OrnsteinUhlenbeck().fit(alternating)


def test_dipole_baselines_on_padm2m(shared_data):
    from bayescore.datasets import fetch

    table = np.loadtxt(fetch("dipole/padm2m_signed_dipole.csv"), delimiter=",", skiprows=1)
    dipole = table[:, 1]
    split = 1300
    ar3 = AutoRegressive(order=3).fit(dipole[:split])
    persistence = Persistence().fit(dipole[:split])
    rmse_ar = np.sqrt(np.mean((ar3.predict(dipole, start=split) - dipole[split:]) ** 2))
    rmse_rw = np.sqrt(np.mean((persistence.predict(dipole, start=split) - dipole[split:]) ** 2))
    # the smooth 1 kyr PADM2M series is well predicted one step ahead by AR(3), better
    # than by persistence
    assert rmse_ar < rmse_rw
    ou = OrnsteinUhlenbeck().fit(dipole[:split], dt=1.0)
    assert ou.gamma_[0] > 0 and ou.diffusion_[0] > 0


@pytest.mark.parametrize(
    ("model", "series"),
    [
        (AutoRegressive(order=3), np.ones(500)),
        (AutoRegressive(max_order=10), np.ones(500)),
        (OrnsteinUhlenbeck(), np.ones(500)),
        (AutoRegressive(order=3), np.arange(500.0)),
        (AutoRegressive(max_order=10), np.arange(500.0)),
    ],
    ids=["AR(3)-constant", "AR(AIC)-constant", "OU-constant", "AR(3)-line", "AR(AIC)-line"],
)
def test_degenerate_series_raise_a_named_error(model, series):
    # used to raise numpy's LinAlgError ("Singular matrix") or a math domain error
    with pytest.raises(ModelFitError, match="not identified"):
        model.fit(series)
