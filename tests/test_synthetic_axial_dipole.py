"""The simulated axial dipole moment series: reproducible, reversing, and an exact
Ornstein-Uhlenbeck process about a well when the barrier is out of reach."""

from __future__ import annotations

import numpy as np
import pytest

from bayescore.errors import ForecastConfigError
from bayescore.synthetic.axial_dipole import simulate_axial_dipole_moment


def _polarity_changes(x: np.ndarray, threshold: float) -> int:
    """Transitions between the wells, with hysteresis (crossing +-threshold)."""
    state, changes = np.sign(x[0]), 0
    for value in x:
        if state < 0 and value > threshold or state > 0 and value < -threshold:
            state, changes = -state, changes + 1
    return changes


def test_seeded_series_is_reproducible_and_labelled():
    a = simulate_axial_dipole_moment(seed=3)
    b = simulate_axial_dipole_moment(seed=3)
    c = simulate_axial_dipole_moment(seed=4)
    np.testing.assert_array_equal(a.values, b.values)
    assert not np.array_equal(a.values, c.values)
    assert a.sizes["time"] == 2000
    assert a["time"].values[-1] == 0.0
    assert a["time"].values[0] == pytest.approx(-1.999)
    assert a.attrs["units"] == "1e22 A m^2"


def test_default_series_reverses_like_the_palaeomagnetic_record():
    x = simulate_axial_dipole_moment().values
    # PADM2M has about five polarity changes in 2 Myr (Brunhes-Matuyama, Jaramillo and
    # Olduvai boundaries); the default seed gives a few, and a moment of a few 1e22 A m^2
    assert 1 <= _polarity_changes(x, 0.5 * 5.5) <= 8
    assert 3.5 < np.mean(np.abs(x)) < 6.5
    assert x[0] < 0  # starts in the present polarity's well (g10 < 0)


def test_far_from_the_barrier_it_is_the_discrete_ou_process():
    # x0 = 50 with rms 1: the barrier is never reached and the cubic term is 3 % of the
    # linear one at one rms, so the Euler step with h = dt is the AR(1) process
    # y' = (1 - h/tau) y + sqrt(2 D h) e with variance rms^2 / (1 - h/(2 tau)).
    tau, rms = 25.0, 1.0
    x = simulate_axial_dipole_moment(
        100_000.0,
        1.0,
        seed=1,
        well_moment=50.0,
        relaxation_kyr=tau,
        fluctuation_rms=rms,
        substeps=1,
    ).values
    y = x - x.mean()
    lag1 = np.dot(y[:-1], y[1:]) / np.dot(y, y)
    assert lag1 == pytest.approx(1 - 1 / tau, abs=0.005)  # sd of the estimate ~0.001
    # ~2000 independent samples (N / 2 tau): the variance is known to ~3 %
    assert np.var(x) == pytest.approx(rms**2 / (1 - 1 / (2 * tau)), rel=0.12)
    assert np.mean(x) == pytest.approx(-50.0, abs=0.3)


@pytest.mark.parametrize(
    "kwargs",
    [
        {"duration_kyr": 0.5},
        {"dt_kyr": 0.0},
        {"relaxation_kyr": float("nan")},
        {"fluctuation_rms": -1.0},
        {"substeps": 0},
    ],
)
def test_bad_parameters_are_named(kwargs):
    with pytest.raises(ForecastConfigError):
        simulate_axial_dipole_moment(**kwargs)


def test_named_synthetic_series_of_the_dipole_study():
    from bayescore.studies.dipole import load_dipole_series

    series = load_dipole_series("synthetic")
    np.testing.assert_array_equal(series.values, simulate_axial_dipole_moment(seed=0).values)
    np.testing.assert_allclose(series["time"].values, np.arange(-1999, 1) / 1000.0, atol=1e-12)
    assert "synthetic" in series.attrs["source"]
    magnitude = load_dipole_series("synthetic", "magnitude")
    np.testing.assert_array_equal(magnitude.values, np.abs(series.values))
