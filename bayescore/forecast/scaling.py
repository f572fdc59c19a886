"""Standardisation of time series, fitted on the training part only.

A forecaster must not see the held-out part of a series when it is trained, and that
includes the statistics used to rescale the data: the mean and standard deviation are
computed from the training values alone and then applied, unchanged, to validation and
test values (otherwise the test period leaks into training through the scaling).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from bayescore.errors import ForecastConfigError, NonFiniteError

__all__ = ["StandardScaler"]


@dataclass(frozen=True)
class StandardScaler:
    """Per-feature affine map ``z = (x - mean) / scale``.

    Attributes
    ----------
    mean : numpy.ndarray, shape (n_features,)
        Mean of each feature over the fitting values, in the series' units.
    scale : numpy.ndarray, shape (n_features,)
        Population standard deviation (``ddof=0``) of each feature over the fitting
        values, in the series' units. A feature that is constant over the fitting values
        gets ``scale = 1`` so that it is only centred.
    """

    mean: np.ndarray
    scale: np.ndarray

    def __post_init__(self) -> None:
        mean = np.atleast_1d(np.asarray(self.mean, dtype=np.float64))
        scale = np.atleast_1d(np.asarray(self.scale, dtype=np.float64))
        if mean.ndim != 1 or mean.shape != scale.shape:
            raise ForecastConfigError(
                f"mean and scale must be 1-D of equal length, got shapes {mean.shape} "
                f"and {scale.shape}"
            )
        if not (np.all(np.isfinite(mean)) and np.all(np.isfinite(scale))):
            raise NonFiniteError("scaler mean and scale must be finite")
        if np.any(scale <= 0):
            raise ForecastConfigError(f"scaler scale must be positive, got {scale}")
        object.__setattr__(self, "mean", mean)
        object.__setattr__(self, "scale", scale)

    @property
    def n_features(self) -> int:
        """Number of features the scaler was fitted on."""
        return int(self.mean.shape[0])

    @classmethod
    def fit(cls, values) -> StandardScaler:
        """Fit the scaler to training values.

        Parameters
        ----------
        values : array_like, shape (n_time,) or (n_time, n_features)
            Training values only (never the held-out part), in the series' units.

        Returns
        -------
        StandardScaler
            Scaler with the per-feature mean and population standard deviation.

        Raises
        ------
        NonFiniteError
            If ``values`` contains NaN or infinite entries.
        ValueError
            If ``values`` is empty or has more than two dimensions.
        """
        array = np.asarray(values, dtype=np.float64)
        if array.ndim == 1:
            array = array[:, None]
        if array.ndim != 2 or array.shape[0] == 0:
            raise ForecastConfigError(
                f"values must have shape (n_time,) or (n_time, n_features) with n_time >= 1, "
                f"got {np.shape(values)}"
            )
        if not np.all(np.isfinite(array)):
            raise NonFiniteError("cannot fit a scaler to values containing NaN or inf")
        mean = array.mean(axis=0)
        std = array.std(axis=0)
        scale = np.where(std > 0, std, 1.0)
        return cls(mean=mean, scale=scale)

    def transform(self, values) -> np.ndarray:
        """Standardise values: ``(values - mean) / scale`` along the last axis.

        Parameters
        ----------
        values : array_like, shape (..., n_features)
            Values in the series' units.

        Returns
        -------
        numpy.ndarray
            Dimensionless standardised values, float64, same shape.
        """
        return (np.asarray(values, dtype=np.float64) - self.mean) / self.scale

    def inverse_transform(self, values) -> np.ndarray:
        """Map standardised values back to the series' units: ``values * scale + mean``.

        Parameters
        ----------
        values : array_like, shape (..., n_features)
            Standardised (dimensionless) values.

        Returns
        -------
        numpy.ndarray
            Values in the series' units, float64, same shape.
        """
        return np.asarray(values, dtype=np.float64) * self.scale + self.mean

    def inverse_transform_spread(self, spread) -> np.ndarray:
        """Map a standardised spread (standard deviation, residual) to the series' units.

        Parameters
        ----------
        spread : array_like, shape (..., n_features)
            Dimensionless standard deviations or differences.

        Returns
        -------
        numpy.ndarray
            ``spread * scale`` in the series' units (the mean does not enter).
        """
        return np.asarray(spread, dtype=np.float64) * self.scale

    def to_dict(self) -> dict[str, list[float]]:
        """JSON-serialisable form (``float`` values keep all float64 digits)."""
        return {"mean": self.mean.tolist(), "scale": self.scale.tolist()}

    @classmethod
    def from_dict(cls, payload: dict) -> StandardScaler:
        """Inverse of :meth:`to_dict`."""
        return cls(mean=np.asarray(payload["mean"]), scale=np.asarray(payload["scale"]))
