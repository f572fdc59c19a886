"""Tests of bayescore.spectral against analytic spectra and exact distributions."""

from __future__ import annotations

import numpy as np
import pytest
from matplotlib.figure import Figure
from scipy import signal

from bayescore.errors import NonFiniteError
from bayescore.spectral import (
    PowerSpectrum,
    SeriesLengthError,
    SeriesShapeError,
    UnevenSamplingError,
    compare_psd,
    log_spectral_distance,
    plot_psd_comparison,
    power_law_slope,
    psd,
    psd_envelope,
)


def ar_series(rng, coefficients, n_time, n_series=1, burn_in=500):
    """AR(p) paths x_t = sum a_i x_{t-i} + e_t with unit-variance innovations."""
    noise = rng.normal(size=(n_series, n_time + burn_in))
    paths = signal.lfilter([1.0], np.concatenate([[1.0], -np.asarray(coefficients)]), noise)
    return paths[:, burn_in:]


def ar_one_sided_psd(frequency, coefficients, dt=1.0, innovation_var=1.0):
    """Analytic one-sided PSD of an AR(p) process (halved at 0 and Nyquist)."""
    z = np.exp(-2j * np.pi * frequency * dt)
    denominator = 1.0 - sum(a * z ** (i + 1) for i, a in enumerate(coefficients))
    two_sided = innovation_var * dt / np.abs(denominator) ** 2
    one_sided = 2.0 * two_sided
    edges = np.isclose(frequency, 0.0) | np.isclose(frequency, 0.5 / dt)
    return np.where(edges, two_sided, one_sided)


def power_law_series(rng, n_time, exponent):
    """Periodic series with spectrum proportional to f**-exponent (Fourier synthesis)."""
    f = np.fft.rfftfreq(n_time)
    amplitude = np.zeros_like(f)
    amplitude[1:] = f[1:] ** (-exponent / 2.0)
    coefficients = (rng.normal(size=f.size) + 1j * rng.normal(size=f.size)) * amplitude
    coefficients[-1] = coefficients[-1].real * np.sqrt(2.0)
    return np.fft.irfft(coefficients, n_time)


def coverage(spec: PowerSpectrum, truth: np.ndarray, mask: np.ndarray) -> float:
    inside = (spec.lower <= truth) & (truth <= spec.upper)
    return float(np.mean(inside[..., mask]))


# ----------------------------------------------------------------------------- white noise

ALL_EVEN_METHODS = [
    ("periodogram", {}),
    ("welch", {}),
    ("multitaper", {}),
    ("multitaper", {"adaptive": False, "ntapers": 6}),
]


@pytest.mark.parametrize(("method", "kwargs"), ALL_EVEN_METHODS)
def test_white_noise_level_and_integral(method, kwargs):
    rng = np.random.default_rng(11)
    sigma, dt, n_time = 2.0, 0.5, 4096
    x = sigma * rng.normal(size=(8, n_time))
    spec = psd(x, dt, method, **kwargs)
    level = 2.0 * sigma**2 * dt
    interior = (spec.frequency > 0) & (spec.frequency < spec.nyquist)
    # mean over 8 series x >= 2000 bins of an unbiased estimate: relative MC error
    # sqrt(1 / (8 * 2000)) ~ 0.8 % even for 2-dof periodogram bins; 3 % is > 3.5 sigma
    assert np.mean(spec.psd[:, interior]) == pytest.approx(level, rel=0.03)
    # the flat level lies inside the 95 % chi-square interval about 95 % of the time
    assert 0.93 <= coverage(spec, np.full(spec.psd.shape, level), interior) <= 0.97
    # integral of the one-sided PSD = variance: exact for the periodogram (Parseval),
    # in expectation otherwise (relative sd of a sample variance sqrt(2/4096) = 2.2 %)
    variance = x.var(axis=-1)
    if method == "periodogram":
        np.testing.assert_allclose(spec.integral(), variance, rtol=1e-10)
    else:
        np.testing.assert_allclose(spec.integral(), sigma**2, rtol=0.09)
    assert spec.psd.shape == spec.lower.shape == spec.dof.shape == (8, spec.frequency.size)
    assert spec.frequency[-1] == pytest.approx(spec.nyquist)


@pytest.mark.parametrize(
    ("method", "kwargs", "edge_dof"),
    [("periodogram", {}, 1.0), ("multitaper", {"adaptive": False, "ntapers": 5}, 5.0)],
)
def test_chi_square_interval_coverage_monte_carlo(method, kwargs, edge_dof):
    """200 replicates of white noise: the 95 % intervals cover the truth ~95 % of the time."""
    rng = np.random.default_rng(5)
    n_time, n_rep = 256, 200
    x = rng.normal(size=(n_rep, n_time))
    spec = psd(x, 1.0, method, detrend=False, **kwargs)
    truth = ar_one_sided_psd(spec.frequency, [])
    interior = (spec.frequency > 0) & (spec.frequency < 0.5)
    edges = ~interior
    # exact dof at the edges (real-valued transforms): K at 0 and Nyquist
    np.testing.assert_allclose(spec.dof[0, edges], edge_dof, rtol=1e-12)
    # interior: 200 x ~128 (periodogram: independent) estimates -> binomial sd <= 0.002
    # (multitaper: correlated over ~2K bins, >= 200 x 25 independent -> sd 0.003)
    assert 0.935 <= coverage(spec, truth, interior) <= 0.965
    # 400 edge estimates (0 and Nyquist): binomial sd 0.011, band is +-2.7 sd
    assert 0.92 <= coverage(spec, truth, edges) <= 0.98


def test_welch_dof_matches_percival_walden_hann():
    """Hann window, 50 % overlap: nu = 36 K**2 / (19 K - 1) (Percival & Walden 1993)."""
    rng = np.random.default_rng(0)
    n_time, nperseg = 4096, 256
    spec = psd(rng.normal(size=n_time), 1.0, "welch", nperseg=nperseg)
    n_segments = (n_time - nperseg) // (nperseg // 2) + 1
    expected = 36.0 * n_segments**2 / (19.0 * n_segments - 1.0)
    # bins >= 2 away from 0 and Nyquist have no 2f-leakage term for the periodic Hann
    np.testing.assert_allclose(spec.dof[2:-2], expected, rtol=1e-10)
    assert spec.dof[0] < spec.dof[5]


def test_sine_multitaper_dof_matches_brute_force_satterthwaite():
    """Exact dof (tr A)**2 / tr(A**2) of the K-taper quadratic form, built explicitly."""
    n_time, n_tapers = 64, 4
    spec = psd(
        np.random.default_rng(1).normal(size=n_time),
        1.0,
        "multitaper",
        adaptive=False,
        ntapers=n_tapers,
    )
    n = np.arange(1, n_time + 1)
    tapers = np.sqrt(2.0 / (n_time + 1)) * np.sin(
        np.pi * np.outer(np.arange(1, n_tapers + 1), n) / (n_time + 1)
    )
    for j in [0, 1, 2, 3, 5, 20, n_time // 2, n_time + 1]:
        f = spec.frequency[j]
        vectors = np.concatenate(
            [tapers * np.cos(2 * np.pi * f * (n - 1)), tapers * np.sin(2 * np.pi * f * (n - 1))]
        )
        quad_form = vectors.T @ vectors
        exact = np.trace(quad_form) ** 2 / np.trace(quad_form @ quad_form)
        edge_distance = min(j, n_time + 1 - j)
        # tabulated exactly within K + 8 bins of the ends; 2K beyond (documented < 0.5 %)
        tolerance = 1e-9 if edge_distance < n_tapers + 8 else 5e-3
        assert spec.dof[j] == pytest.approx(exact, rel=tolerance)


# ----------------------------------------------------------------------------- signals


@pytest.mark.parametrize(("method", "kwargs"), ALL_EVEN_METHODS)
def test_sinusoid_peak_at_its_frequency(method, kwargs):
    rng = np.random.default_rng(2)
    dt, n_time, f0 = 1.0, 2048, 0.0625  # 1/16 cycles per kyr
    t = np.arange(n_time) * dt
    x = 3.0 * np.sin(2 * np.pi * f0 * t + 0.4) + 0.3 * rng.normal(size=n_time)
    spec = psd(x, dt, method, **kwargs)
    spacing = spec.frequency[1] - spec.frequency[0]
    assert abs(spec.frequency[np.argmax(spec.psd)] - f0) <= spacing
    if spec.method == "multitaper" and kwargs.get("adaptive", True):
        # the adaptive estimate resolves the line with very few tapers; it does not
        # conserve power across frequencies (K changes from bin to bin), so no power check
        assert spec.ntapers[np.argmax(spec.psd)] <= 3
        return
    # the power of the line (amplitude**2 / 2 = 4.5) is recovered around the peak; the
    # noise adds 0.09 * 0.02 / 0.5 ~ 0.004, leakage outside +-0.01 is < 5 %
    assert spec.integral(f0 - 0.01, f0 + 0.01) == pytest.approx(4.5, rel=0.05)


def test_lomb_scargle_uneven_peak_and_even_equals_periodogram():
    rng = np.random.default_rng(3)
    n_time = 500
    x = rng.normal(size=n_time)
    t = np.arange(n_time) * 2.0
    ls = psd(x, t=t, method="lombscargle")
    per = psd(x, 2.0, "periodogram")
    # same Fourier frequencies k / (N dt), k = 1 .. ceil(N/2) - 1: identical values
    np.testing.assert_allclose(ls.frequency, per.frequency[1 : ls.frequency.size + 1])
    np.testing.assert_allclose(ls.psd, per.psd[1 : ls.frequency.size + 1], rtol=1e-8)
    assert np.all(ls.dof == 2.0)
    # uneven sampling: a sinusoid is found at its frequency
    t_uneven = np.sort(rng.uniform(0.0, 1000.0, size=400))
    y = np.cos(2 * np.pi * 0.05 * t_uneven) + 0.2 * rng.normal(size=400)
    spec = psd(y, t=t_uneven, method="lombscargle")
    assert abs(spec.frequency[np.argmax(spec.psd)] - 0.05) <= 1.0 / 1000.0
    with pytest.raises(UnevenSamplingError, match="lombscargle"):
        psd(y, t=t_uneven, method="welch")


@pytest.mark.parametrize(
    ("method", "kwargs", "low", "high"),
    [
        # Welch and fixed-K multitaper: exact dof, bias negligible for phi = 0.9 at
        # these resolutions -> nominal coverage; 20 x >= 100 independent estimates give
        # a binomial sd <= 0.005, so [0.93, 0.97] is a >= 4 sd band
        ("welch", {}, 0.93, 0.97),
        ("multitaper", {"adaptive": False, "ntapers": 8}, 0.93, 0.97),
        # adaptive: K is chosen from the data (spread inflated by ~4 %) and may accept
        # some curvature bias; simulated 0.94. About 20 x 45 independent estimates
        # (K ~ 22) -> sd 0.007; the lower limit 0.91 is > 4 sd below
        ("multitaper", {}, 0.91, 0.97),
    ],
)
def test_ar1_analytic_spectrum_inside_confidence_band(method, kwargs, low, high):
    rng = np.random.default_rng(4)
    phi = 0.9
    x = ar_series(rng, [phi], 2000, n_series=20)
    spec = psd(x, 1.0, method, **kwargs)
    truth = ar_one_sided_psd(spec.frequency, [phi])
    positive = spec.frequency > 0
    assert low <= coverage(spec, truth, positive) <= high


def test_adaptive_tapers_shrink_at_a_spectral_peak():
    rng = np.random.default_rng(6)
    radius, f_peak = 0.99, 0.1  # resonance half-width (1 - r) / (2 pi) = 6 grid bins
    coefficients = [2 * radius * np.cos(2 * np.pi * f_peak), -(radius**2)]
    x = ar_series(rng, coefficients, 2000, n_series=10)
    spec = psd(x, 1.0, "multitaper")
    at_peak = spec.ntapers[:, np.argmin(np.abs(spec.frequency - f_peak))].mean()
    flat = np.median(spec.ntapers[:, (spec.frequency > 0.3) & (spec.frequency < 0.45)])
    # MSE-optimal K at the peak is (3 w**2 / 2)**0.4 ~ 5 (w = 6 bins) versus ~20 in the
    # smooth part; simulated mean ratio 0.5
    assert at_peak < 0.7 * flat
    # neighbouring taper numbers differ by at most one (Parker's constraint)
    assert np.max(np.abs(np.diff(spec.ntapers, axis=-1))) <= 1


# ----------------------------------------------------------------------------- comparison


@pytest.mark.parametrize(("method", "high"), [("periodogram", 0.065), ("multitaper", 0.085)])
def test_f_test_rejection_rate_for_same_process(method, high):
    """Two AR(1) series of one process: ~5 % of frequencies flagged at alpha = 0.05."""
    rng = np.random.default_rng(7)
    fractions = []
    for _ in range(25):
        a = ar_series(rng, [0.9], 512)[0]
        b = ar_series(rng, [0.9], 1024)[0]
        fractions.append(compare_psd(a, b, 1.0, method=method).fraction_differ)
    # periodogram: exact F(2, 2) tests, 25 x 255 independent bins -> sd 0.003;
    # multitaper: correlated bins and the slightly optimistic adaptive intervals
    # (simulated 0.06) -> a wider upper limit
    assert 0.035 <= np.mean(fractions) <= high


def test_compare_psd_common_band_distance_and_power():
    rng = np.random.default_rng(8)
    a = ar_series(rng, [0.9], 600)[0]
    b = ar_series(rng, [0.3], 1500)[0]
    result = compare_psd(a, b, 1.0, method="multitaper")
    assert result.frequency[0] >= 1.0 / 600.0 - 1e-12
    assert result.frequency[-1] == pytest.approx(0.5)
    np.testing.assert_allclose(result.ratio, result.psd_a / result.psd_b)
    # different processes are flagged where their spectra differ by a large factor
    # (x50 at low, x0.5 at high frequency; they cross near 0.1): simulated 0.48
    assert result.fraction_differ > 0.3
    expected_distance = np.sqrt(np.mean((10 * np.log10(result.psd_a / result.psd_b)) ** 2))
    assert result.log_spectral_distance_db == pytest.approx(expected_distance)
    same = compare_psd(a, a, 1.0)
    assert same.log_spectral_distance_db == pytest.approx(0.0, abs=1e-12)
    assert not np.any(same.differs)


def test_log_spectral_distance_definition():
    p = np.array([1.0, 2.0, 5.0])
    assert float(log_spectral_distance(2 * p, p)) == pytest.approx(10 * np.log10(2.0))
    assert float(log_spectral_distance(2 * p, p, decibel=False)) == pytest.approx(np.log(2.0))


def test_power_law_slope_recovered_within_standard_error():
    rng = np.random.default_rng(9)
    x = power_law_series(rng, 4096, 2.0)
    for method in ("periodogram", "multitaper"):
        fit = power_law_slope(psd(x, 1.0, method), fmin=0.005, fmax=0.4)
        assert abs(fit.slope + 2.0) < 3.0 * fit.stderr, method
    # the standard error is calibrated: spread of slopes over 60 replicates
    slopes, errors = [], []
    for _ in range(60):
        fit = power_law_slope(psd(power_law_series(rng, 1024, 2.0), 1.0, "periodogram"), 0.01)
        slopes.append(fit.slope)
        errors.append(fit.stderr)
    # mean slope within 3 MC standard errors of -2; sd of 60 slopes known to ~9 %,
    # so mean SE / sd within [0.75, 1.33]
    assert abs(np.mean(slopes) + 2.0) < 3.0 * np.std(slopes) / np.sqrt(60)
    assert 0.75 < np.mean(errors) / np.std(slopes) < 1.33


def test_psd_envelope_quantiles_and_outside():
    rng = np.random.default_rng(10)
    samples = ar_series(rng, [0.8], 512, n_series=200)
    envelope = psd_envelope(samples, 1.0, "welch", nperseg=128)
    direct = np.array([psd(s, 1.0, "welch", nperseg=128).psd for s in samples[:5]])
    np.testing.assert_allclose(envelope.spectra.psd[:5], direct)
    np.testing.assert_allclose(
        envelope.upper, np.quantile(envelope.spectra.psd, 0.975, axis=0), rtol=1e-12
    )
    same = psd(ar_series(rng, [0.8], 512)[0], 1.0, "welch", nperseg=128)
    other = psd(ar_series(rng, [0.0], 512)[0], 1.0, "welch", nperseg=128)
    # pointwise 95 % band: a path of the same process is out at ~5 % of frequencies
    # (65 bins, correlated; 0.25 is > 4 binomial sd), white noise is out at most
    assert envelope.fraction_outside(same) < 0.25
    assert envelope.fraction_outside(other) > 0.6
    assert envelope.outside(other).shape == envelope.frequency.shape


def test_plot_psd_comparison_agg(tmp_path):
    rng = np.random.default_rng(12)
    observed = psd(ar_series(rng, [0.9], 800)[0], 1.0, "multitaper")
    predicted = psd(ar_series(rng, [0.9], 800)[0], 1.0, "multitaper")
    envelope = psd_envelope(ar_series(rng, [0.9], 800, n_series=20), 1.0, "multitaper")
    fig = Figure()  # no pyplot: Agg canvas, no display needed
    ax = fig.subplots()
    plot_psd_comparison(ax, observed, predicted, envelope, labels=("PADM2M", "LSTM"))
    assert ax.get_xscale() == "log" and ax.get_yscale() == "log"
    assert "kyr" in ax.get_xlabel() and "PSD" in ax.get_ylabel()
    legend = [t.get_text() for t in ax.get_legend().get_texts()]
    assert "PADM2M" in legend and "LSTM" in legend
    fig.savefig(tmp_path / "psd.png")
    assert (tmp_path / "psd.png").stat().st_size > 0


def test_result_helpers_band_and_xarray():
    spec = psd(np.random.default_rng(13).normal(size=300), 2.0, "multitaper")
    sub = spec.band(0.05, 0.2)
    assert sub.frequency.min() >= 0.05 and sub.frequency.max() <= 0.2
    assert sub.psd.shape == sub.ntapers.shape == sub.frequency.shape
    ds = spec.to_xarray()
    np.testing.assert_allclose(ds["psd"].values, spec.psd)
    assert ds.attrs["method"] == "multitaper" and "ntapers" in ds


# ----------------------------------------------------------------------------- validation


def test_bad_input_raises_specific_errors():
    good = np.random.default_rng(0).normal(size=64)
    with pytest.raises(NonFiniteError):
        psd(np.where(np.arange(64) == 3, np.nan, good), 1.0)
    with pytest.raises(SeriesShapeError):
        psd(3.0, 1.0)
    with pytest.raises(SeriesLengthError):
        psd(good[:3], 1.0)
    with pytest.raises(ValueError, match="unknown PSD method"):
        psd(good, 1.0, "maximum-entropy")
    with pytest.raises(ValueError, match="dt"):
        psd(good, -1.0)
    with pytest.raises(ValueError, match="dt or the sample times"):
        psd(good)
    with pytest.raises(SeriesShapeError, match="t must be 1-D"):
        psd(good, t=np.arange(10.0))
    with pytest.raises(ValueError, match="nperseg"):
        psd(good, 1.0, "welch", nperseg=1000)
    with pytest.raises(SeriesShapeError):
        compare_psd(np.ones((2, 64)), good, 1.0)
    with pytest.raises(SeriesShapeError):
        psd_envelope(good, 1.0)
