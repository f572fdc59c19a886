"""Comparing power spectra: log-spectral distance, F test, power-law slope, envelopes.

See :mod:`bayescore.spectral` for the conventions (one-sided PSDs, frequencies in cycles
per unit of ``dt``).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import jax.numpy as jnp
import numpy as np
from scipy import stats

from bayescore.errors import (
    ForecastConfigError,
    SeriesLengthError,
    SeriesShapeError,
)
from bayescore.spectral.estimation import (
    PowerSpectrum,
    _bin_widths,
    _validate_series,
    psd,
)

__all__ = [
    "PowerLawFit",
    "SpectralComparison",
    "SpectralEnvelope",
    "power_law_slope",
    "log_spectral_distance",
    "compare_psd",
    "psd_envelope",
    "plot_psd_comparison",
]


@dataclass(frozen=True)
class PowerLawFit:
    """Least-squares power law ``psd = 10**intercept * frequency**slope`` over a band.

    Attributes
    ----------
    slope : float
        Log-log slope (dimensionless); white noise 0, random walk -2.
    intercept : float
        ``log10`` of the PSD at frequency 1 (PSD units).
    stderr : float
        Standard error of ``slope``: the ordinary least-squares error inflated by the
        mean number of grid points per independent estimate in the band (the estimates
        of Welch/multitaper spectra are correlated over their bandwidth).
    fmin, fmax : float
        Band actually used (cycles per time unit).
    n_points : int
        Number of frequencies in the fit.
    """

    slope: float
    intercept: float
    stderr: float
    fmin: float
    fmax: float
    n_points: int


@dataclass(frozen=True)
class SpectralComparison:
    """Two spectra on a common band with per-frequency F-tests (see :func:`compare_psd`).

    Attributes
    ----------
    frequency : numpy.ndarray, shape (n,)
        Common frequencies from ``1/shorter duration`` to the Nyquist frequency.
    psd_a, psd_b, dof_a, dof_b : numpy.ndarray, shape (n,)
        Estimates and degrees of freedom on the common frequencies.
    ratio : numpy.ndarray
        ``psd_a / psd_b``; under equal spectra distributed as ``F(dof_a, dof_b)``.
    p_value : numpy.ndarray
        Two-sided p-values of the F-test per frequency.
    differs : numpy.ndarray of bool
        ``p_value < alpha``.
    alpha : float
        Test level.
    fraction_differ : float
        Fraction of frequencies that differ; about ``alpha`` when the spectra agree
        (neighbouring frequencies of tapered estimates are correlated, so this fraction
        fluctuates more than a binomial count would).
    log_spectral_distance_db : float
        RMS of ``10 log10(psd_a / psd_b)`` over the common frequencies (dB).
    slope_a, slope_b : PowerLawFit
        Power-law fits of both spectra over the slope band.
    spectrum_a, spectrum_b : PowerSpectrum
        The full estimates.
    """

    frequency: np.ndarray
    psd_a: np.ndarray
    psd_b: np.ndarray
    dof_a: np.ndarray
    dof_b: np.ndarray
    ratio: np.ndarray
    p_value: np.ndarray
    differs: np.ndarray
    alpha: float
    fraction_differ: float
    log_spectral_distance_db: float
    slope_a: PowerLawFit
    slope_b: PowerLawFit
    spectrum_a: PowerSpectrum
    spectrum_b: PowerSpectrum


@dataclass(frozen=True)
class SpectralEnvelope:
    """Monte-Carlo quantile band of the PSDs of many sample paths.

    Attributes
    ----------
    frequency : numpy.ndarray, shape (n_freq,)
        Frequencies (cycles per time unit).
    lower, median, upper : numpy.ndarray, shape (n_freq,)
        Quantiles ``quantiles[0]``, 0.5, ``quantiles[1]`` of the sample PSDs.
    quantiles : tuple of float
        Lower and upper quantile levels.
    spectra : PowerSpectrum
        The PSD of every sample path (``psd`` shape ``(n_samples, n_freq)``).
    """

    frequency: np.ndarray
    lower: np.ndarray
    median: np.ndarray
    upper: np.ndarray
    quantiles: tuple[float, float]
    spectra: PowerSpectrum

    def outside(self, observed: PowerSpectrum | np.ndarray) -> np.ndarray:
        """Boolean mask, per envelope frequency, of where ``observed`` leaves the band.

        ``observed`` is a :class:`PowerSpectrum` (interpolated log-log onto the envelope
        frequencies if its grid differs; frequencies it does not cover are ``False``) or
        an array of PSD values on the envelope frequencies.
        """
        values = self._observed_on_grid(observed)
        with np.errstate(invalid="ignore"):
            return np.isfinite(values) & ((values < self.lower) | (values > self.upper))

    def fraction_outside(self, observed: PowerSpectrum | np.ndarray) -> float:
        """Fraction of the (positive, covered) envelope frequencies where ``observed`` is out."""
        values = self._observed_on_grid(observed)
        usable = np.isfinite(values) & (self.frequency > 0)
        if not np.any(usable):
            return float("nan")
        return float(np.mean(self.outside(observed)[usable]))

    def _observed_on_grid(self, observed: PowerSpectrum | np.ndarray) -> np.ndarray:
        if isinstance(observed, PowerSpectrum):
            if observed.psd.ndim != 1:
                raise SeriesShapeError("observed spectrum must be of a single series")
            if observed.frequency.shape == self.frequency.shape and np.allclose(
                observed.frequency, self.frequency
            ):
                return observed.psd
            return _loglog_interp(self.frequency, observed.frequency, observed.psd)
        values = np.asarray(observed, dtype=float)
        if values.shape != self.frequency.shape:
            raise SeriesShapeError(
                f"observed PSD has shape {values.shape}, envelope frequencies "
                f"{self.frequency.shape}"
            )
        return values


# ----------------------------------------------------------------------------- comparison


def _loglog_interp(f_new, f, values):
    """Interpolate positive values log-log; NaN outside the covered positive range."""
    positive = (f > 0) & (values > 0)
    out = np.full(np.shape(f_new), np.nan)
    inside = (f_new >= f[positive].min()) & (f_new <= f[positive].max()) & (f_new > 0)
    out[inside] = np.exp(
        np.interp(np.log(f_new[inside]), np.log(f[positive]), np.log(values[positive]))
    )
    return out


def log_spectral_distance(psd_a, psd_b, *, decibel: bool = True):
    """RMS log-spectral distance between two PSDs on the same frequencies.

    ``sqrt(mean((10 log10(psd_a / psd_b))**2))`` in dB (``decibel=True``), or
    ``sqrt(mean(ln(psd_a / psd_b)**2))`` (natural-log units) otherwise. Zero for equal
    spectra; a uniform factor 2 gives 3.01 dB. JAX, jit-able; reduces over the last axis.

    Parameters
    ----------
    psd_a, psd_b : array_like, shape (..., n_freq)
        Positive PSD values (same units).
    decibel : bool
        Decibels (default) or natural-log units.

    Returns
    -------
    jax.Array, shape (...)
        The distance.
    """
    a = jnp.asarray(psd_a)
    b = jnp.asarray(psd_b)
    log_ratio = jnp.log(a / b)
    if decibel:
        log_ratio = log_ratio * (10.0 / math.log(10.0))
    return jnp.sqrt(jnp.mean(log_ratio**2, axis=-1))


def power_law_slope(
    spectrum: PowerSpectrum, fmin: float | None = None, fmax: float | None = None
) -> PowerLawFit:
    """Fit ``log10 psd = intercept + slope * log10 f`` by least squares over a band.

    Parameters
    ----------
    spectrum : PowerSpectrum
        Estimate of a single series (1-D ``psd``).
    fmin, fmax : float, optional
        Band in cycles per time unit; defaults: lowest positive frequency and Nyquist.

    Returns
    -------
    PowerLawFit
        Slope, intercept and the standard error of the slope (see :class:`PowerLawFit`).
    """
    if spectrum.psd.ndim != 1:
        raise SeriesShapeError("power_law_slope needs the spectrum of a single series")
    f = spectrum.frequency
    mask = (f > 0) & (spectrum.psd > 0)
    if fmin is not None:
        mask &= f >= fmin
    if fmax is not None:
        mask &= f <= fmax
    n_points = int(mask.sum())
    if n_points < 3:
        raise SeriesLengthError(f"only {n_points} frequencies in the band; need >= 3")
    logf = np.log10(f[mask])
    logp = np.log10(spectrum.psd[mask])
    design = np.column_stack([np.ones(n_points), logf])
    coef, *_ = np.linalg.lstsq(design, logp, rcond=None)
    residual = logp - design @ coef
    sigma2 = residual @ residual / (n_points - 2)
    cov = sigma2 * np.linalg.inv(design.T @ design)
    widths = _bin_widths(f)[mask]
    # points per independent estimate: resolution / grid spacing (>= 1)
    inflation = float(np.mean(np.maximum(1.0, spectrum.resolution[mask] / widths)))
    return PowerLawFit(
        slope=float(coef[1]),
        intercept=float(coef[0]),
        stderr=float(np.sqrt(cov[1, 1] * inflation)),
        fmin=float(f[mask].min()),
        fmax=float(f[mask].max()),
        n_points=n_points,
    )


def _f_test_two_sided(ratio, dof_a, dof_b):
    cdf = stats.f.cdf(ratio, dof_a, dof_b)
    sf = stats.f.sf(ratio, dof_a, dof_b)
    return np.minimum(1.0, 2.0 * np.minimum(cdf, sf))


def compare_psd(
    a,
    b,
    dt: float,
    *,
    dt_b: float | None = None,
    method: str = "multitaper",
    alpha: float = 0.05,
    slope_band: tuple[float, float] | None = None,
    **psd_kwargs,
) -> SpectralComparison:
    """Compare the spectra of two series on the band both resolve.

    Both PSDs are estimated with the same ``method``. The common band runs from
    ``1 / (shorter duration)`` to the lower Nyquist frequency; the common frequencies are
    those of the shorter record, the other spectrum is interpolated log-log onto them
    (its dof linearly). Per frequency, ``psd_a / psd_b`` follows ``F(dof_a, dof_b)`` when
    the two series share one spectrum; the two-sided p-value is reported and bands with
    ``p < alpha`` are flagged (about ``alpha`` of them by chance; slightly more with the
    adaptive multitaper, whose intervals are slightly optimistic).

    The log-spectral distance is ``sqrt(mean((10 log10(psd_a/psd_b))**2))`` in dB over the
    common frequencies (:func:`log_spectral_distance`).

    Parameters
    ----------
    a, b : array_like, shape (n_a,), (n_b,)
        The two series (even sampling).
    dt : float
        Sampling interval of ``a`` (and of ``b`` unless ``dt_b`` is given), time units.
    dt_b : float, optional
        Sampling interval of ``b``.
    method : str
        PSD estimator for both (default ``"multitaper"``).
    alpha : float
        Level of the per-frequency F-tests (default 0.05).
    slope_band : (float, float), optional
        Band for the power-law fits (default: the common band).
    **psd_kwargs
        Passed to :func:`psd`.

    Returns
    -------
    SpectralComparison
        Common-band spectra, ratios, p-values, log-spectral distance (dB), slopes.
    """
    if method == "lombscargle":
        raise ForecastConfigError("compare_psd works on evenly sampled series; use another method")
    xa = _validate_series(a, "a")
    xb = _validate_series(b, "b")
    if xa.ndim != 1 or xb.ndim != 1:
        raise SeriesShapeError("compare_psd compares two single (1-D) series")
    if not 0.0 < alpha < 1.0:
        raise ForecastConfigError(f"alpha must lie in (0, 1); got {alpha!r}")
    spec_a = psd(xa, dt, method, **psd_kwargs)
    spec_b = psd(xb, dt if dt_b is None else dt_b, method, **psd_kwargs)
    short, other = (spec_a, spec_b) if spec_a.duration <= spec_b.duration else (spec_b, spec_a)
    fmin = 1.0 / short.duration
    fmax = min(spec_a.nyquist, spec_b.nyquist)
    grid_mask = (short.frequency >= fmin * (1 - 1e-12)) & (short.frequency <= fmax)
    freq = short.frequency[grid_mask]
    if freq.size < 3:
        raise SeriesLengthError("fewer than 3 common frequencies between the two spectra")

    def on_grid(spec: PowerSpectrum):
        if spec is short:
            return spec.psd[grid_mask], spec.dof[grid_mask]
        values = _loglog_interp(freq, spec.frequency, spec.psd)
        dof = np.interp(freq, spec.frequency, spec.dof)
        return values, dof

    psd_a, dof_a = on_grid(spec_a)
    psd_b, dof_b = on_grid(spec_b)
    ratio = psd_a / psd_b
    p_value = _f_test_two_sided(ratio, dof_a, dof_b)
    differs = np.asarray(p_value < alpha)
    band = slope_band if slope_band is not None else (fmin, fmax)
    return SpectralComparison(
        frequency=freq,
        psd_a=psd_a,
        psd_b=psd_b,
        dof_a=dof_a,
        dof_b=dof_b,
        ratio=ratio,
        p_value=p_value,
        differs=differs,
        alpha=float(alpha),
        fraction_differ=float(np.mean(differs)),
        log_spectral_distance_db=float(log_spectral_distance(psd_a, psd_b)),
        slope_a=power_law_slope(spec_a, *band),
        slope_b=power_law_slope(spec_b, *band),
        spectrum_a=spec_a,
        spectrum_b=spec_b,
    )


def psd_envelope(
    samples,
    dt: float,
    method: str = "welch",
    *,
    quantiles: tuple[float, float] = (0.025, 0.975),
    **psd_kwargs,
) -> SpectralEnvelope:
    """Monte-Carlo envelope: quantiles of the PSDs of many sample paths.

    Parameters
    ----------
    samples : array_like, shape (n_samples, n_time)
        Sample paths (e.g. draws of a probabilistic forecast), evenly sampled.
    dt : float
        Sampling interval (time units).
    method : str
        PSD estimator (default ``"welch"``); the same settings should be used for the
        observed spectrum that is compared with the envelope.
    quantiles : (float, float)
        Lower and upper quantile levels (default 2.5 % and 97.5 %).
    **psd_kwargs
        Passed to :func:`psd`.

    Returns
    -------
    SpectralEnvelope
        Per-frequency quantiles; ``outside(observed)`` flags where an observed PSD leaves
        the band.
    """
    paths = _validate_series(samples, "samples")
    if paths.ndim != 2:
        raise SeriesShapeError(f"samples must have shape (n_samples, n_time); got {paths.shape}")
    if paths.shape[0] < 2:
        raise SeriesLengthError("psd_envelope needs at least 2 sample paths")
    q_lo, q_hi = (float(q) for q in quantiles)
    if not 0.0 <= q_lo < q_hi <= 1.0:
        raise ForecastConfigError(
            f"quantiles must satisfy 0 <= lower < upper <= 1; got {quantiles}"
        )
    spectra = psd(paths, dt, method, **psd_kwargs)
    lower, median, upper = np.quantile(spectra.psd, [q_lo, 0.5, q_hi], axis=0)
    return SpectralEnvelope(
        frequency=spectra.frequency,
        lower=lower,
        median=median,
        upper=upper,
        quantiles=(q_lo, q_hi),
        spectra=spectra,
    )


# ----------------------------------------------------------------------------- figure


def plot_psd_comparison(
    ax,
    observed: PowerSpectrum,
    predicted: PowerSpectrum | None = None,
    envelope: SpectralEnvelope | None = None,
    labels: tuple[str, str] = ("observed", "predicted"),
    *,
    time_unit: str = "kyr",
    value_unit: str = r"$10^{22}$ A m$^2$",
    show_confidence: bool = True,
    title: str | None = None,
):
    """Log-log PSD comparison: observed and predicted spectra, optional MC envelope.

    Parameters
    ----------
    ax : matplotlib.axes.Axes
        Axes to draw on (works with the Agg backend).
    observed : PowerSpectrum
        Spectrum of the validation series (single series).
    predicted : PowerSpectrum, optional
        Spectrum of the predicted series.
    envelope : SpectralEnvelope, optional
        Monte-Carlo band of sample-path spectra, drawn in grey.
    labels : (str, str)
        Legend labels of observed and predicted.
    time_unit, value_unit : str
        Units for the axis labels: frequency in cycles/``time_unit``, PSD in
        ``value_unit**2 * time_unit``.
    show_confidence : bool
        Shade the chi-square confidence intervals of the spectra.
    title : str, optional
        Axes title.

    Returns
    -------
    matplotlib.axes.Axes
        The axes.
    """
    if envelope is not None:
        keep = envelope.frequency > 0
        q_lo, q_hi = envelope.quantiles
        ax.fill_between(
            envelope.frequency[keep],
            envelope.lower[keep],
            envelope.upper[keep],
            color="0.8",
            label=f"sample paths {100 * q_lo:g}-{100 * q_hi:g}%",
        )
        ax.plot(envelope.frequency[keep], envelope.median[keep], color="0.5", lw=0.8)
    for spec, label, colour in ((observed, labels[0], "C3"), (predicted, labels[1], "C0")):
        if spec is None:
            continue
        if spec.psd.ndim != 1:
            raise SeriesShapeError("plot_psd_comparison draws spectra of single series")
        keep = spec.frequency > 0
        ax.loglog(spec.frequency[keep], spec.psd[keep], color=colour, lw=1.2, label=label)
        if show_confidence:
            ax.fill_between(
                spec.frequency[keep],
                spec.lower[keep],
                spec.upper[keep],
                color=colour,
                alpha=0.2,
                lw=0,
                label=f"{label} {spec.confidence:.0%} interval",
            )
    ax.set_xscale("log")
    ax.set_yscale("log")
    ax.set_xlabel(f"Frequency (cycles / {time_unit})")
    ax.set_ylabel(f"PSD (({value_unit})$^2$ {time_unit})")
    if title is not None:
        ax.set_title(title)
    ax.legend(loc="best", fontsize="small")
    ax.grid(True, which="both", alpha=0.3)
    return ax
