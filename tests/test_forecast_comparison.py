"""Diebold-Mariano test and seed spread against independent computations."""

import math

import numpy as np
import pytest
import xarray as xr
from scipy import stats

from bayescore.errors import (
    ForecastConfigError,
    NonFiniteError,
    SeriesLengthError,
    SeriesShapeError,
)
from bayescore.forecast.comparison import diebold_mariano, seed_spread


def _dm_by_loops(a, b, h, kernel="bartlett"):
    """The statistic and two-sided p-value written out with explicit loops."""
    n = len(a)
    d = [a[t] - b[t] for t in range(n)]
    dbar = sum(d) / n
    variance = 0.0
    for k in range(h):
        gamma = 0.0
        for t in range(k, n):
            gamma += (d[t] - dbar) * (d[t - k] - dbar)
        gamma /= n
        weight = 1.0 if k == 0 else 2.0 * ((1.0 - k / h) if kernel == "bartlett" else 1.0)
        variance += weight * gamma
    dm = dbar / math.sqrt(variance / n)
    dm *= math.sqrt((n + 1 - 2 * h + h * (h - 1) / n) / n)
    return dm, 2.0 * stats.t.sf(abs(dm), n - 1)


def test_hand_computed_example():
    # d = 1, 2, 3, 4: dbar 2.5, gamma_0 = 5/4, DM = 2.5 / sqrt(5/16) = sqrt(20),
    # HLN factor sqrt(3/4): DM* = sqrt(15)
    result = diebold_mariano([2.0, 3.0, 4.0, 5.0], [1.0, 1.0, 1.0, 1.0])
    assert result.statistic == pytest.approx(math.sqrt(15.0), rel=1e-12)
    assert result.p_value == pytest.approx(2 * stats.t.sf(math.sqrt(15.0), 3), rel=1e-12)
    assert result.mean_difference == pytest.approx(2.5)
    assert result.long_run_variance == pytest.approx(1.25)


@pytest.mark.parametrize("h", [1, 2, 3])
@pytest.mark.parametrize("kernel", ["bartlett", "truncated"])
def test_matches_explicit_loops(h, kernel):
    rng = np.random.default_rng(3)
    n = 57
    a = rng.standard_normal(n) ** 2 + 0.2
    b = np.convolve(rng.standard_normal(n + 2), [1.0, 0.6, 0.3], mode="valid") ** 2
    result = diebold_mariano(a, b, horizon=h, kernel=kernel)
    statistic, p_value = _dm_by_loops(list(a), list(b), h, kernel)
    assert result.statistic == pytest.approx(statistic, rel=1e-12)
    assert result.p_value == pytest.approx(p_value, rel=1e-10)


def test_antisymmetric_and_one_sided():
    rng = np.random.default_rng(0)
    a, b = rng.random(40), rng.random(40) + 0.1
    ab, ba = diebold_mariano(a, b), diebold_mariano(b, a)
    assert ab.statistic == pytest.approx(-ba.statistic)
    assert ab.p_value == pytest.approx(ba.p_value)
    less = diebold_mariano(a, b, alternative="less")
    greater = diebold_mariano(a, b, alternative="greater")
    assert less.p_value + greater.p_value == pytest.approx(1.0)
    assert less.p_value == pytest.approx(ab.p_value / 2) or greater.p_value == pytest.approx(
        ab.p_value / 2
    )


def test_asymptotic_version_uses_the_normal():
    d = np.array([0.3, -0.1, 0.4, 0.2, 0.0, 0.5, -0.2, 0.1])
    result = diebold_mariano(d, np.zeros_like(d), small_sample=False)
    expected = d.mean() / math.sqrt(np.mean((d - d.mean()) ** 2) / d.size)
    assert result.statistic == pytest.approx(expected)
    assert result.p_value == pytest.approx(2 * stats.norm.sf(abs(expected)))


@pytest.mark.parametrize("h", [1, 2])
def test_size_under_equal_accuracy(h):
    """Rejection rate at 5 % on simulated equal-accuracy errors.

    h = 1: iid Gaussian errors of both forecasts (squared-error loss). h = 2: both error
    series are MA(1), as h-step errors of an optimal forecaster are. 2000 replications
    of n = 200: the binomial standard error of a 5 % rate is 0.0049; the band 0.03-0.07
    allows 4 standard errors plus the small-sample distortion of the HAC variance that
    the simulations of Harvey et al. (1997) report (rates of 0.04-0.06 at n = 128).
    """
    rng = np.random.default_rng(20260 + h)
    n, reps = 200, 2000
    rejections = 0
    for _ in range(reps):
        shocks = rng.standard_normal((2, n + h - 1))
        if h == 1:
            errors = shocks
        else:
            errors = shocks[:, 1:] + 0.8 * shocks[:, :-1]
        rejections += diebold_mariano(errors[0] ** 2, errors[1] ** 2, horizon=h).p_value < 0.05
    assert 0.03 <= rejections / reps <= 0.07


def test_power_against_a_worse_forecast():
    rng = np.random.default_rng(1)
    truth = rng.standard_normal(300)
    good = truth + 0.5 * rng.standard_normal(300)
    bad = truth + 0.8 * rng.standard_normal(300)
    result = diebold_mariano((good - truth) ** 2, (bad - truth) ** 2)
    assert result.statistic < 0 and result.p_value < 1e-6


def test_degenerate_differentials():
    same = diebold_mariano([1.0, 2.0, 3.0], [1.0, 2.0, 3.0])
    assert same.statistic == 0.0 and same.p_value == 1.0
    shifted = diebold_mariano([2.0, 3.0, 4.0], [1.0, 2.0, 3.0])
    assert shifted.statistic == math.inf and shifted.p_value == 0.0


def test_errors():
    with pytest.raises(SeriesShapeError):
        diebold_mariano([1.0, 2.0], [1.0, 2.0, 3.0])
    with pytest.raises(SeriesShapeError):
        diebold_mariano(np.ones((3, 2)), np.ones((3, 2)))
    with pytest.raises(NonFiniteError):
        diebold_mariano([1.0, np.nan, 2.0], [1.0, 2.0, 3.0])
    with pytest.raises(SeriesLengthError):
        diebold_mariano([1.0], [2.0])
    with pytest.raises(SeriesLengthError):  # n + 1 - 2h + h(h-1)/n <= 0
        diebold_mariano([1.0, 2.0, 3.0], [0.0, 0.5, 0.1], horizon=3)
    with pytest.raises(ForecastConfigError):
        diebold_mariano([1.0, 2.0], [1.0, 2.0], horizon=0)
    with pytest.raises(ForecastConfigError):
        diebold_mariano([1.0, 2.0], [1.0, 2.0], kernel="parzen")
    with pytest.raises(ForecastConfigError):
        diebold_mariano([1.0, 2.0], [1.0, 2.0], alternative="both")


def test_seed_spread():
    coords = {"model": ["a", "b"], "metric": ["rmse", "crps"]}
    tables = [
        xr.DataArray(
            np.array([[1.0, 2.0], [3.0, np.nan]]) + k, dims=("model", "metric"), coords=coords
        )
        for k in range(3)
    ]
    spread = seed_spread(tables, seeds=[0, 5, 10])
    assert spread["mean"].sel(model="a", metric="rmse") == pytest.approx(2.0)
    assert spread["sd"].sel(model="a", metric="crps") == pytest.approx(1.0)
    assert spread["min"].sel(model="b", metric="rmse") == 3.0
    assert spread["max"].sel(model="b", metric="rmse") == 5.0
    assert np.isnan(spread["mean"].sel(model="b", metric="crps"))
    assert list(spread["seed"].values) == [0, 5, 10]
    with pytest.raises(SeriesLengthError):
        seed_spread([])
    with pytest.raises(SeriesShapeError):
        seed_spread(tables, seeds=[0])


def test_compare_with_best_picks_the_lowest_mean_loss():
    from bayescore.forecast.comparison import compare_with_best

    rng = np.random.default_rng(4)
    losses = {
        "net": rng.random(50),
        "persistence": rng.random(50) + 0.2,
        "AR": rng.random(50) + 0.1,
    }
    best, results = compare_with_best(losses, ["persistence", "AR", "absent"], horizon=2)
    assert best == "AR" and results["AR"] is None
    direct = diebold_mariano(losses["net"], losses["AR"], horizon=2)
    assert results["net"].statistic == direct.statistic
    assert results["net"].p_value == direct.p_value
    with pytest.raises(ForecastConfigError):
        compare_with_best(losses, ["climatology"])
