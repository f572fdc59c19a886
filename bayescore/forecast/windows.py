"""Sliding windows over a time series and chronological train/validation/test splits.

Conventions used throughout :mod:`bayescore.forecast`:

* A series has shape ``(n_time, n_features)`` (a 1-D series is one feature).
* A window that *issues* a forecast at time index ``t`` holds the inputs
  ``series[t - window : t]`` and its targets are ``series[t : t + horizon]``; ``t`` is
  called the window's *target start*. Every window is identified by its target start.
* Splits are chronological. The training part is ``series[:train_end]`` with
  ``train_end = round(train_fraction * n_time)``. Training windows are those whose targets
  all lie in the training part (``window <= t <= train_end - horizon``); the last
  ``ceil(validation * n)`` of them (the latest in time) are the validation windows, used
  for early stopping and for the noise estimate, never for gradient steps. Test windows
  have ``train_end <= t <= n_time - horizon``: their targets are all held out, while their
  inputs may reach back into the training part (as when forecasting forward from the
  end of the training data).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from bayescore.errors import (
    ForecastConfigError,
    NonFiniteError,
    SeriesLengthError,
    SeriesShapeError,
)

__all__ = [
    "ForecastConfigError",
    "SeriesShapeError",
    "SeriesLengthError",
    "as_series",
    "sliding_windows",
    "ChronologicalSplit",
    "chronological_split",
]


def _positive_int(value, name: str) -> int:
    if isinstance(value, bool) or int(value) != value or int(value) < 1:
        raise ForecastConfigError(f"{name} must be a positive integer, got {value!r}")
    return int(value)


def _check_positive_int(value, name: str) -> int:
    """A positive Python or numpy integer (no bool, no float) as int."""
    if isinstance(value, bool) or not isinstance(value, int | np.integer) or value < 1:
        raise ForecastConfigError(f"{name} must be a positive integer, got {value!r}")
    return int(value)


def as_series(series, n_features: int | None = None, *, name: str = "series") -> np.ndarray:
    """Validate a series and return it as a float64 array of shape (n_time, n_features).

    Parameters
    ----------
    series : array_like, shape (n_time,) or (n_time, n_features)
        The series, in its own units. An ``xarray.DataArray`` is accepted (its values are
        used in their stored order, time first).
    n_features : int, optional
        Required number of features; checked when given.
    name : str
        Name used in error messages.

    Returns
    -------
    numpy.ndarray, shape (n_time, n_features)
        A float64 copy.

    Raises
    ------
    SeriesShapeError
        If the array is not 1-D or 2-D, or has the wrong number of features.
    NonFiniteError
        If it contains NaN or infinite values.
    """
    array = np.array(getattr(series, "values", series), dtype=np.float64)
    if array.ndim == 1:
        array = array[:, None]
    if array.ndim != 2:
        raise SeriesShapeError(
            f"{name} must have shape (n_time,) or (n_time, n_features), got {array.shape}"
        )
    if n_features is not None and array.shape[1] != n_features:
        raise SeriesShapeError(
            f"{name} has {array.shape[1]} features but the forecaster expects {n_features}"
        )
    if not np.all(np.isfinite(array)):
        bad = np.argwhere(~np.isfinite(array))[0]
        raise NonFiniteError(
            f"{name} contains NaN or infinite values (first at time index {bad[0]}, "
            f"feature {bad[1]}); fill or drop them before forecasting"
        )
    return array


def sliding_windows(
    values, window: int, horizon: int = 1, *, start: int | None = None, stop: int | None = None
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Cut a series into overlapping input/target windows.

    Parameters
    ----------
    values : array_like, shape (n_time, n_features)
        The series (already validated, e.g. by :func:`as_series`).
    window : int
        Number of input time steps per window.
    horizon : int, default 1
        Number of target time steps per window.
    start, stop : int, optional
        Range of target starts ``t`` to produce, ``start <= t < stop``. Defaults: every
        window whose inputs and targets fit, ``window <= t <= n_time - horizon``.

    Returns
    -------
    inputs : numpy.ndarray, shape (n_windows, window, n_features)
        ``inputs[k] = values[t_k - window : t_k]``.
    targets : numpy.ndarray, shape (n_windows, horizon, n_features)
        ``targets[k] = values[t_k : t_k + horizon]``.
    target_start : numpy.ndarray of int, shape (n_windows,)
        The target start ``t_k`` of each window (time index of its first target).

    Raises
    ------
    ForecastConfigError
        If ``window`` or ``horizon`` is not a positive integer.
    SeriesLengthError
        If the requested range holds no window.
    """
    window = _positive_int(window, "window")
    horizon = _positive_int(horizon, "horizon")
    array = np.asarray(values)
    if array.ndim == 1:
        array = array[:, None]
    n_time = array.shape[0]
    first = window if start is None else max(int(start), window)
    last = n_time - horizon + 1 if stop is None else min(int(stop), n_time - horizon + 1)
    if last <= first:
        raise SeriesLengthError(
            f"no window with target start in [{first}, {last}) fits a series of {n_time} "
            f"time steps with window={window} and horizon={horizon} (a window needs "
            f"window + horizon = {window + horizon} time steps)"
        )
    target_start = np.arange(first, last)
    # Every window of length window + horizon, then keep those whose split point is wanted.
    blocks = np.lib.stride_tricks.sliding_window_view(array, window + horizon, axis=0)
    blocks = np.moveaxis(blocks[target_start - window], -1, 1)
    inputs = np.ascontiguousarray(blocks[:, :window])
    targets = np.ascontiguousarray(blocks[:, window:])
    return inputs, targets, target_start


@dataclass(frozen=True)
class ChronologicalSplit:
    """Chronological split of a series into training, validation and test windows.

    All ranges are of target starts (see the module docstring); they are half-open
    ``[first, stop)`` pairs of time indices.

    Attributes
    ----------
    n_time : int
        Length of the series.
    window, horizon : int
        Window length and number of predicted steps.
    train_end : int
        The training part is ``series[:train_end]``; the scaler is fitted on it.
    fit_range : tuple of int
        Target starts of the windows used for gradient steps.
    validation_range : tuple of int
        Target starts of the validation windows (empty when ``validation == 0``).
    test_range : tuple of int
        Target starts of the held-out test windows (may be empty when
        ``train_fraction == 1``).
    """

    n_time: int
    window: int
    horizon: int
    train_end: int
    fit_range: tuple[int, int]
    validation_range: tuple[int, int]
    test_range: tuple[int, int]

    @property
    def n_fit(self) -> int:
        """Number of training (gradient-step) windows."""
        return self.fit_range[1] - self.fit_range[0]

    @property
    def n_validation(self) -> int:
        """Number of validation windows."""
        return self.validation_range[1] - self.validation_range[0]

    @property
    def n_test(self) -> int:
        """Number of test windows."""
        return max(0, self.test_range[1] - self.test_range[0])

    def to_dict(self) -> dict:
        """JSON-serialisable form."""
        return {
            "n_time": self.n_time,
            "window": self.window,
            "horizon": self.horizon,
            "train_end": self.train_end,
            "fit_range": list(self.fit_range),
            "validation_range": list(self.validation_range),
            "test_range": list(self.test_range),
        }

    @classmethod
    def from_dict(cls, payload: dict) -> ChronologicalSplit:
        """Inverse of :meth:`to_dict`."""
        return cls(
            n_time=int(payload["n_time"]),
            window=int(payload["window"]),
            horizon=int(payload["horizon"]),
            train_end=int(payload["train_end"]),
            fit_range=tuple(int(v) for v in payload["fit_range"]),
            validation_range=tuple(int(v) for v in payload["validation_range"]),
            test_range=tuple(int(v) for v in payload["test_range"]),
        )


def chronological_split(
    n_time: int, window: int, horizon: int, train_fraction: float, validation: float
) -> ChronologicalSplit:
    """Split a series of ``n_time`` steps chronologically (see the module docstring).

    Parameters
    ----------
    n_time : int
        Length of the series.
    window : int
        Number of input time steps per window.
    horizon : int
        Number of target time steps per window.
    train_fraction : float
        Fraction of the series, from its start, forming the training part; in (0, 1].
    validation : float
        Fraction of the training windows, taken from their end, held out for validation;
        in [0, 1).

    Returns
    -------
    ChronologicalSplit

    Raises
    ------
    ForecastConfigError
        If a fraction is out of range or a size is not a positive integer.
    SeriesLengthError
        If the training part is too short to hold at least one training window (and one
        validation window when ``validation > 0``).
    """
    window = _positive_int(window, "window")
    horizon = _positive_int(horizon, "horizon")
    n_time = int(n_time)
    if not 0.0 < float(train_fraction) <= 1.0:
        raise ForecastConfigError(f"train_fraction must lie in (0, 1], got {train_fraction!r}")
    if not 0.0 <= float(validation) < 1.0:
        raise ForecastConfigError(f"validation must lie in [0, 1), got {validation!r}")
    train_end = int(round(float(train_fraction) * n_time))
    n_windows = train_end - window - horizon + 1
    n_validation = math.ceil(float(validation) * n_windows) if n_windows > 0 else 0
    needed = 1 + (1 if validation > 0 else 0)
    if n_windows - n_validation < 1 or n_windows < needed:
        raise SeriesLengthError(
            f"the training part ({train_end} of {n_time} time steps) holds {max(n_windows, 0)} "
            f"windows of window={window} + horizon={horizon}; at least {needed} needed "
            f"(one to train on{', one to validate on' if validation > 0 else ''})"
        )
    first = window
    validation_start = train_end - horizon + 1 - n_validation
    return ChronologicalSplit(
        n_time=n_time,
        window=window,
        horizon=horizon,
        train_end=train_end,
        fit_range=(first, validation_start),
        validation_range=(validation_start, train_end - horizon + 1),
        test_range=(train_end, n_time - horizon + 1),
    )
