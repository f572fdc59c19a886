"""Point and probabilistic forecast scores (JAX, jit-able, float32 or float64).

Conventions
-----------
* ``y_true`` has any shape ``S`` (e.g. ``(n_time,)`` or ``(n_time, n_features)``).
* Point forecasts have shape ``S``.
* Sample (ensemble) forecasts have shape ``(n_samples,) + S``: the sample axis first.
* Multivariate samples for the energy score have shape ``(n_samples, ..., d)`` with the
  vector components on the last axis.

Every function accepts NumPy or JAX arrays, returns JAX arrays in the input's floating
dtype (float32 stays float32), and can be wrapped in :func:`jax.jit` (options such as
``fair`` are static arguments). NaN inputs propagate to NaN scores; shapes that do not
match raise :class:`bayescore.errors.SeriesShapeError` when traced.

Scores (lower is better unless stated)
--------------------------------------
* RMSE, MAE, MASE (MAE scaled by the in-sample MAE of one-step persistence on a training
  series; below 1 beats persistence).
* CRPS from samples, energy form ``E|X - y| - 0.5 E|X - X'|`` (``fair=True`` divides the
  second term by ``n(n-1)`` instead of ``n**2``, which makes it unbiased for the CRPS of
  the distribution the samples come from), in O(n log n) through sorting; closed-form
  CRPS of a Gaussian predictive ``sigma [z (2 Phi(z) - 1) + 2 phi(z) - 1/sqrt(pi)]``.
* Pinball (quantile) loss ``(y - q) (tau - 1{y < q})``; ``CRPS = 2 int_0^1 L_tau dtau``
  and at ``tau = 0.5`` it is half the absolute error.
* Central-interval coverage and mean width; Winkler (interval) score
  ``(u - l) + (2/alpha)(l - y) 1{y < l} + (2/alpha)(y - u) 1{y > u}``, ``alpha = 1 - level``.
* PIT values (randomised rank of the observation among the samples; uniform on (0, 1)
  for a calibrated forecast) and their histogram.
* Energy score ``E||X - y|| - 0.5 E||X - X'||`` for vectors; equal to CRPS in 1-D.
* :func:`log_spectral_distance` (re-exported from :mod:`bayescore.spectral`).
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from functools import partial

import jax
import jax.numpy as jnp
import numpy as np
from jax.scipy.stats import norm

from bayescore.errors import ForecastConfigError, SeriesShapeError
from bayescore.spectral import log_spectral_distance

__all__ = [
    "rmse",
    "mae",
    "mase",
    "crps_ensemble",
    "crps_gaussian",
    "pinball_loss",
    "sample_quantiles",
    "central_interval",
    "interval_coverage",
    "interval_width",
    "interval_score",
    "pit",
    "pit_gaussian",
    "pit_histogram",
    "energy_score",
    "log_spectral_distance",
    "score_table",
    "format_score_table",
]


def _float_array(x) -> jax.Array:
    arr = jnp.asarray(x)
    if not jnp.issubdtype(arr.dtype, jnp.floating):
        arr = arr.astype(jnp.result_type(float))
    return arr


def _same_shape(a: jax.Array, b: jax.Array, what: str) -> None:
    if a.shape != b.shape:
        raise SeriesShapeError(f"{what}: shapes {a.shape} and {b.shape} differ")


def _samples_match(samples: jax.Array, y: jax.Array) -> None:
    if samples.ndim != y.ndim + 1 or samples.shape[1:] != y.shape:
        raise SeriesShapeError(
            f"samples must have shape (n_samples,) + {y.shape}; got {samples.shape}"
        )


# ----------------------------------------------------------------------------- point scores


@partial(jax.jit, static_argnames=("axis",))
def rmse(y_true, y_pred, axis=None) -> jax.Array:
    """Root mean square error ``sqrt(mean((y_pred - y_true)**2))`` (units of y).

    Parameters
    ----------
    y_true, y_pred : array_like, same shape
        Observations and point forecasts.
    axis : int or tuple of int, optional
        Axes to average over (default: all).

    Returns
    -------
    jax.Array
        RMSE.
    """
    y, f = _float_array(y_true), _float_array(y_pred)
    _same_shape(y, f, "rmse")
    return jnp.sqrt(jnp.mean((f - y) ** 2, axis=axis))


@partial(jax.jit, static_argnames=("axis",))
def mae(y_true, y_pred, axis=None) -> jax.Array:
    """Mean absolute error ``mean(|y_pred - y_true|)`` (units of y); see :func:`rmse`."""
    y, f = _float_array(y_true), _float_array(y_pred)
    _same_shape(y, f, "mae")
    return jnp.mean(jnp.abs(f - y), axis=axis)


@partial(jax.jit, static_argnames=("axis",))
def mase(y_true, y_pred, y_train, axis=None) -> jax.Array:
    """Mean absolute scaled error (Hyndman & Koehler 2006), dimensionless.

    ``mean(|y_pred - y_true| / s)`` with ``s = mean_t |y_train[t] - y_train[t-1]|``, the
    in-sample MAE of one-step persistence on the training series (per feature).

    Parameters
    ----------
    y_true, y_pred : array_like, shape (n_time,) or (n_time, n_features)
        Observations and point forecasts.
    y_train : array_like, shape (n_train,) or (n_train, n_features)
        Training series (time on axis 0), at least 2 samples.
    axis : int or tuple of int, optional
        Axes to average over (default: all).

    Returns
    -------
    jax.Array
        MASE (1 = as good as in-sample persistence).
    """
    y, f, train = _float_array(y_true), _float_array(y_pred), _float_array(y_train)
    _same_shape(y, f, "mase")
    if train.ndim < 1 or train.shape[0] < 2:
        raise SeriesShapeError(f"y_train needs >= 2 time steps on axis 0; got {train.shape}")
    if train.shape[1:] != y.shape[1:]:
        raise SeriesShapeError(
            f"y_train features {train.shape[1:]} do not match y_true features {y.shape[1:]}"
        )
    scale = jnp.mean(jnp.abs(jnp.diff(train, axis=0)), axis=0)
    return jnp.mean(jnp.abs(f - y) / scale, axis=axis)


# ----------------------------------------------------------------------------- CRPS


@partial(jax.jit, static_argnames=("fair",))
def crps_ensemble(samples, y_true, fair: bool = False) -> jax.Array:
    """CRPS of a sample (ensemble) forecast, energy form, per observation.

    ``CRPS = mean_i |x_i - y| - 0.5 * mean_{i,j} |x_i - x_j|``; the pair term is computed
    in O(n log n) as ``(2 / n**2) sum_i (2i - n - 1) x_(i)`` over sorted samples. With
    ``fair=True`` the pair term is normalised by ``n (n - 1)`` (Ferro 2014), an unbiased
    estimate of the CRPS of the distribution that generated the samples.

    Parameters
    ----------
    samples : array_like, shape (n_samples,) + S
        Forecast samples (units of y).
    y_true : array_like, shape S
        Observations.
    fair : bool
        Use the fair (unbiased) ensemble CRPS.

    Returns
    -------
    jax.Array, shape S
        CRPS per observation (units of y); average it for a summary score. A single
        sample (point mass) gives ``|x - y|``.
    """
    x, y = _float_array(samples), _float_array(y_true)
    _samples_match(x, y)
    n = x.shape[0]
    spread_to_obs = jnp.mean(jnp.abs(x - y[None]), axis=0)
    if n == 1:
        return spread_to_obs
    ordered = jnp.sort(x, axis=0)
    rank = jnp.arange(1, n + 1, dtype=x.dtype).reshape((n,) + (1,) * y.ndim)
    pair_sum = 2.0 * jnp.sum((2.0 * rank - n - 1.0) * ordered, axis=0)
    denominator = n * (n - 1) if fair else n * n
    return spread_to_obs - 0.5 * pair_sum / denominator


@jax.jit
def crps_gaussian(mean, std, y_true) -> jax.Array:
    """Closed-form CRPS of a Gaussian predictive N(mean, std**2), per observation.

    ``CRPS = std [z (2 Phi(z) - 1) + 2 phi(z) - 1 / sqrt(pi)]``, ``z = (y - mean) / std``
    (Gneiting & Raftery 2007). Units of y. Arguments broadcast against each other.
    """
    mu, sd, y = _float_array(mean), _float_array(std), _float_array(y_true)
    z = (y - mu) / sd
    return sd * (z * (2.0 * norm.cdf(z) - 1.0) + 2.0 * norm.pdf(z) - 1.0 / math.sqrt(math.pi))


# ----------------------------------------------------------------------------- quantiles


@jax.jit
def pinball_loss(y_true, quantile_pred, quantiles) -> jax.Array:
    """Pinball (quantile) loss per quantile level and observation.

    ``L_tau(y, q) = (y - q) (tau - 1{y < q})``: ``tau (y - q)`` when ``y >= q`` and
    ``(1 - tau)(q - y)`` otherwise. At ``tau = 0.5`` it is half the absolute error.

    Parameters
    ----------
    y_true : array_like, shape S
        Observations.
    quantile_pred : array_like, shape (n_quantiles,) + S
        Predicted quantiles, one row per level.
    quantiles : array_like, shape (n_quantiles,)
        Levels ``tau`` in (0, 1).

    Returns
    -------
    jax.Array, shape (n_quantiles,) + S
        Losses (units of y); average for a summary.
    """
    y, q = _float_array(y_true), _float_array(quantile_pred)
    tau = _float_array(quantiles).astype(q.dtype)
    _samples_match(q, y)
    if tau.shape != (q.shape[0],):
        raise SeriesShapeError(
            f"quantiles has shape {tau.shape}; expected ({q.shape[0]},) to match quantile_pred"
        )
    tau = tau.reshape((-1,) + (1,) * y.ndim)
    diff = y[None] - q
    return diff * (tau - (diff < 0).astype(q.dtype))


@jax.jit
def sample_quantiles(samples, quantiles) -> jax.Array:
    """Empirical quantiles of samples along axis 0 (linear interpolation).

    Returns shape ``(n_quantiles,) + samples.shape[1:]``.
    """
    x = _float_array(samples)
    return jnp.quantile(x, _float_array(quantiles).astype(x.dtype), axis=0)


@partial(jax.jit, static_argnames=("level",))
def central_interval(samples, level: float = 0.9) -> tuple[jax.Array, jax.Array]:
    """Central ``level`` interval of samples: quantiles ``(1 -+ level) / 2`` along axis 0."""
    if not 0.0 < level < 1.0:
        raise ForecastConfigError(f"level must lie in (0, 1); got {level!r}")
    x = _float_array(samples)
    probs = jnp.asarray([(1.0 - level) / 2.0, (1.0 + level) / 2.0], dtype=x.dtype)
    bounds = jnp.quantile(x, probs, axis=0)
    return bounds[0], bounds[1]


@jax.jit
def interval_coverage(y_true, lower, upper) -> jax.Array:
    """Fraction of observations with ``lower <= y <= upper`` (0 to 1)."""
    y, lo, hi = _float_array(y_true), _float_array(lower), _float_array(upper)
    inside = (y >= lo) & (y <= hi)
    return jnp.mean(inside.astype(y.dtype))


@jax.jit
def interval_width(lower, upper) -> jax.Array:
    """Mean width ``mean(upper - lower)`` of prediction intervals (units of y)."""
    return jnp.mean(_float_array(upper) - _float_array(lower))


@partial(jax.jit, static_argnames=("level",))
def interval_score(y_true, lower, upper, level: float) -> jax.Array:
    """Winkler / interval score of a central ``level`` interval, per observation.

    ``(u - l) + (2/alpha)(l - y) 1{y < l} + (2/alpha)(y - u) 1{y > u}`` with
    ``alpha = 1 - level`` (Gneiting & Raftery 2007, eq. 43). Units of y.
    """
    if not 0.0 < level < 1.0:
        raise ForecastConfigError(f"level must lie in (0, 1); got {level!r}")
    y, lo, hi = _float_array(y_true), _float_array(lower), _float_array(upper)
    alpha = 1.0 - level
    below = jnp.where(y < lo, lo - y, 0.0)
    above = jnp.where(y > hi, y - hi, 0.0)
    return (hi - lo) + (2.0 / alpha) * (below + above)


# ----------------------------------------------------------------------------- calibration


@jax.jit
def pit(samples, y_true, key=None) -> jax.Array:
    """Probability integral transform of observations under sample forecasts.

    ``PIT = (#{x_i < y} + u (#{x_i = y} + 1)) / (n + 1)`` with ``u ~ U(0, 1)`` when a PRNG
    ``key`` is given (randomised rank: exactly uniform on (0, 1) when ``y`` is
    exchangeable with the samples) and ``u = 1/2`` otherwise (mid-rank).

    Parameters
    ----------
    samples : array_like, shape (n_samples,) + S
        Forecast samples.
    y_true : array_like, shape S
        Observations.
    key : jax.Array, optional
        PRNG key for the randomisation.

    Returns
    -------
    jax.Array, shape S
        PIT values in (0, 1).
    """
    x, y = _float_array(samples), _float_array(y_true)
    _samples_match(x, y)
    n = x.shape[0]
    below = jnp.sum(x < y[None], axis=0).astype(x.dtype)
    ties = jnp.sum(x == y[None], axis=0).astype(x.dtype)
    if key is None:
        u = jnp.asarray(0.5, dtype=x.dtype)
    else:
        u = jax.random.uniform(key, y.shape, dtype=x.dtype)
    return (below + u * (ties + 1.0)) / (n + 1.0)


@jax.jit
def pit_gaussian(mean, std, y_true) -> jax.Array:
    """PIT under a Gaussian predictive: ``Phi((y - mean) / std)``."""
    mu, sd, y = _float_array(mean), _float_array(std), _float_array(y_true)
    return norm.cdf((y - mu) / sd)


@partial(jax.jit, static_argnames=("n_bins",))
def pit_histogram(pit_values, n_bins: int = 10) -> tuple[jax.Array, jax.Array]:
    """Histogram of PIT values on ``[0, 1]``: ``(density, edges)``.

    ``density`` integrates to one (flat at 1 for a calibrated forecast); ``edges`` has
    ``n_bins + 1`` entries.
    """
    values = _float_array(pit_values).ravel()
    density, edges = jnp.histogram(values, bins=n_bins, range=(0.0, 1.0), density=True)
    return density, edges


# ----------------------------------------------------------------------------- energy score


@partial(jax.jit, static_argnames=("fair",))
def energy_score(samples, y_true, fair: bool = False) -> jax.Array:
    """Energy score ``E||X - y|| - 0.5 E||X - X'||`` of multivariate sample forecasts.

    The pair term loops over samples (``lax.fori_loop``), so memory stays
    O(n_samples * size of y). ``fair=True`` normalises it by ``n (n - 1)``. In one
    dimension (``d = 1``) it equals :func:`crps_ensemble`.

    Parameters
    ----------
    samples : array_like, shape (n_samples, ..., d)
        Forecast sample vectors.
    y_true : array_like, shape (..., d)
        Observed vectors.
    fair : bool
        Unbiased (fair) pair term.

    Returns
    -------
    jax.Array, shape (...)
        Energy score per observed vector (units of y).
    """
    x, y = _float_array(samples), _float_array(y_true)
    _samples_match(x, y)
    if y.ndim < 1:
        raise SeriesShapeError("energy_score needs vectors: y_true must have a last axis d")
    n = x.shape[0]
    to_obs = jnp.mean(jnp.linalg.norm(x - y[None], axis=-1), axis=0)

    def add_row(i, total):
        return total + jnp.sum(jnp.linalg.norm(x - x[i][None], axis=-1), axis=0)

    pair_sum = jax.lax.fori_loop(0, n, add_row, jnp.zeros(y.shape[:-1], dtype=x.dtype))
    if n == 1:
        return to_obs
    denominator = n * (n - 1) if fair else n * n
    return to_obs - 0.5 * pair_sum / denominator


# ----------------------------------------------------------------------------- tables


def _interval_key(kind: str, level: float) -> str:
    return f"{kind}_{round(100 * level):d}"


def score_table(
    y_true,
    forecasts: Mapping[str, object],
    *,
    y_train=None,
    levels: Sequence[float] = (0.9, 0.95),
    fair: bool = False,
) -> dict[str, dict[str, float]]:
    """Scores of several forecasts of the same observations, side by side.

    Parameters
    ----------
    y_true : array_like, shape S
        Observations.
    forecasts : mapping of name -> forecast
        Each forecast is either a point forecast (shape ``S``), samples (shape
        ``(n_samples,) + S``), or a Gaussian predictive given as a ``(mean, std)`` tuple
        or a mapping with keys ``"mean"`` and ``"std"`` (each broadcastable to ``S``).
    y_train : array_like, optional
        Training series for MASE (time on axis 0); MASE is NaN without it.
    levels : sequence of float
        Central-interval levels for coverage and width (default 90 % and 95 %).
    fair : bool
        Fair ensemble CRPS for sample forecasts.

    Returns
    -------
    dict of dict
        ``table[name][metric]`` (Python floats) with metrics ``rmse``, ``mae``, ``mase``,
        ``crps`` and ``coverage_XX`` / ``width_XX`` for each level. RMSE/MAE/MASE use
        the sample mean of sample forecasts. A point forecast is a point mass: its CRPS
        equals its MAE, its coverage and width are NaN.
    """
    y = _float_array(y_true)
    table: dict[str, dict[str, float]] = {}
    for name, forecast in forecasts.items():
        kind, payload = _classify_forecast(forecast, y, name)
        row: dict[str, float] = {}
        if kind == "point":
            centre = payload
            crps = jnp.mean(jnp.abs(centre - y))
        elif kind == "samples":
            centre = jnp.mean(payload, axis=0)
            crps = jnp.mean(crps_ensemble(payload, y, fair=fair))
        else:
            mean, std = payload
            centre = jnp.broadcast_to(mean, y.shape)
            crps = jnp.mean(crps_gaussian(mean, std, y))
        row["rmse"] = float(rmse(y, centre))
        row["mae"] = float(mae(y, centre))
        row["mase"] = float(mase(y, centre, y_train)) if y_train is not None else math.nan
        row["crps"] = float(crps)
        for level in levels:
            if kind == "point":
                coverage = width = math.nan
            else:
                if kind == "samples":
                    lower, upper = central_interval(payload, level=float(level))
                else:
                    mean, std = payload
                    z = float(norm.ppf(0.5 + level / 2.0))
                    lower = jnp.broadcast_to(mean - z * std, y.shape)
                    upper = jnp.broadcast_to(mean + z * std, y.shape)
                coverage = float(interval_coverage(y, lower, upper))
                width = float(interval_width(lower, upper))
            row[_interval_key("coverage", level)] = coverage
            row[_interval_key("width", level)] = width
        table[name] = row
    return table


def _classify_forecast(forecast, y: jax.Array, name: str):
    if isinstance(forecast, Mapping):
        if not {"mean", "std"} <= set(forecast):
            raise SeriesShapeError(f"forecast {name!r}: a mapping needs keys 'mean' and 'std'")
        forecast = (forecast["mean"], forecast["std"])
    if isinstance(forecast, tuple):
        if len(forecast) != 2:
            raise SeriesShapeError(f"forecast {name!r}: a Gaussian is given as (mean, std)")
        mean, std = (_float_array(v) for v in forecast)
        try:
            jnp.broadcast_shapes(mean.shape, std.shape, y.shape)
        except ValueError as exc:
            raise SeriesShapeError(
                f"forecast {name!r}: mean {mean.shape} / std {std.shape} do not broadcast "
                f"to the observations {y.shape}"
            ) from exc
        return "gaussian", (mean, std)
    arr = _float_array(forecast)
    if arr.shape == y.shape:
        return "point", arr
    if arr.ndim == y.ndim + 1 and arr.shape[1:] == y.shape:
        return "samples", arr
    raise SeriesShapeError(
        f"forecast {name!r} has shape {arr.shape}; expected {y.shape} (point) or "
        f"(n_samples,) + {y.shape} (samples)"
    )


def format_score_table(
    table: Mapping[str, Mapping[str, float]],
    *,
    metrics: Sequence[str] | None = None,
    digits: int = 3,
) -> str:
    """Markdown table of :func:`score_table` output: one row per forecast.

    Parameters
    ----------
    table : mapping of name -> mapping of metric -> float
        Output of :func:`score_table`.
    metrics : sequence of str, optional
        Columns, in order (default: the metrics of the first row).
    digits : int
        Significant digits (``g`` format); NaN is shown as ``-``.

    Returns
    -------
    str
        Markdown table (header, separator, rows), newline-terminated.
    """
    if not table:
        raise ForecastConfigError("score table is empty")
    names = list(table)
    columns = list(metrics) if metrics is not None else list(table[names[0]])
    header = "| forecast | " + " | ".join(columns) + " |"
    separator = "|---|" + "|".join("---:" for _ in columns) + "|"
    lines = [header, separator]
    for name in names:
        cells = []
        for column in columns:
            value = table[name].get(column, math.nan)
            cells.append("-" if value is None or np.isnan(value) else f"{value:.{digits}g}")
        lines.append(f"| {name} | " + " | ".join(cells) + " |")
    return "\n".join(lines) + "\n"
