"""Free-running (recursive) forecasts of :class:`~bayescore.forecast.rnn.RNNForecaster`.

:class:`FreeRunningForecasts` holds the forecaster's recursive methods: the network's
output is fed back as its next input, dropout off (:meth:`~FreeRunningForecasts.forecast`)
or as an MC-dropout ensemble of sample paths with the aleatoric noise fed back
(:meth:`~FreeRunningForecasts.forecast_mc`, ancestral sampling). It relies on the
forecaster's scaler, network and configuration and is not used on its own.
"""

from __future__ import annotations

from collections.abc import Sequence
from functools import partial

import jax
import jax.numpy as jnp
import numpy as np
import xarray as xr

from bayescore.forecast.mc_dropout import DEFAULT_QUANTILES, _forecast
from bayescore.forecast.windows import (
    ForecastConfigError,
    SeriesLengthError,
    _check_positive_int,
    as_series,
)

__all__ = ["FreeRunningForecasts"]


class FreeRunningForecasts:
    """Recursive forecasts, mixed into :class:`~bayescore.forecast.rnn.RNNForecaster`."""

    # ------------------------------------------------------------------- forecast --
    def _forecast_setup(self, history, steps: int):
        self._require_fitted()
        if self.n_outputs != self.n_features:
            raise ForecastConfigError(
                "recursive forecasts feed predictions back as inputs and need "
                f"n_outputs == n_features (got {self.n_outputs} and {self.n_features})"
            )
        steps = _check_positive_int(steps, "steps")
        values = as_series(history, self.n_features, name="history")
        if len(values) < self.window:
            raise SeriesLengthError(
                f"history has {len(values)} time steps; a forecast needs at least "
                f"window={self.window}"
            )
        features = self._input_features(values[-self.window - 1 :])[-self.window :]
        window = jnp.asarray(features, dtype=jnp.float32)
        return values, window, steps, -(-steps // self.horizon)

    def _recursion_ratio(self) -> jax.Array:
        """Standardised units per unit of network output, (horizon, n_features), float32."""
        ratio = self._output_unit() / self.scaler.scale[: self.n_outputs]
        return jnp.asarray(ratio, dtype=jnp.float32)

    def _input_ratio(self) -> jax.Array:
        """Increment-channel units per standardised unit, (n_features,), float32."""
        if self.increment_scale is None:
            return jnp.ones(self.n_features, jnp.float32)
        return jnp.asarray(self.scaler.scale / self.increment_scale[0], dtype=jnp.float32)

    def _forecast_time(self, time, n_history: int, steps: int):
        if time is None:
            return n_history + np.arange(steps)
        labels = np.asarray(time)
        if labels.shape != (steps,):
            raise ForecastConfigError(
                f"time must have one label per forecast step ({steps}), got {labels.shape}"
            )
        return labels

    def forecast(self, history, steps: int, *, time=None) -> xr.DataArray:
        """Free-running forecast: predictions are fed back as inputs (dropout off).

        Parameters
        ----------
        history : array_like, shape (n_time,) or (n_time, n_features)
            Past values in the series' units; the last ``window`` of them start the
            recursion.
        steps : int
            Number of future time steps.
        time : array_like, shape (steps,), optional
            Labels of the forecast times; default: integer indices continuing the
            history (``n_time, n_time + 1, ...``).

        Returns
        -------
        xarray.DataArray, dims (time, feature)
            Forecasts in the series' units.
        """
        values, window, steps, n_calls = self._forecast_setup(history, steps)
        graphdef, params = self._params()
        keys = jax.random.split(jax.random.key(0), 1)
        out = _forecast(
            graphdef,
            params,
            window,
            keys,
            jnp.zeros(self.horizon * self.n_features, jnp.float32),
            jax.random.split(keys[0], (1, n_calls)),
            self._recursion_ratio(),
            self._input_ratio(),
            fused=self.fused,
            n_calls=n_calls,
            horizon=self.horizon,
            mc=False,
            increment=self.target == "increment",
            increment_inputs=self.inputs == "level+increment",
        )[0, :steps]
        return xr.DataArray(
            self.scaler.inverse_transform(np.asarray(out, np.float64)),
            dims=("time", "feature"),
            coords={
                "time": self._forecast_time(time, len(values), steps),
                "feature": np.arange(self.n_features),
            },
            name="forecast",
            attrs={"method": "recursive, dropout off"},
        )

    def forecast_mc(
        self,
        history,
        steps: int,
        n_samples: int = 100,
        seed: int | None = None,
        *,
        include_noise: bool = True,
        quantiles: Sequence[float] = DEFAULT_QUANTILES,
        time=None,
    ) -> xr.Dataset:
        """MC-dropout ensemble of free-running forecasts.

        Each sample path uses one set of dropout masks for all its recursive steps (one
        thinned network); with ``include_noise`` Gaussian noise of standard deviation
        ``noise_sd`` is added to each predicted value and the noisy value is fed back.

        Parameters
        ----------
        history : array_like, shape (n_time,) or (n_time, n_features)
            Past values in the series' units.
        steps : int
            Number of future time steps.
        n_samples, seed, quantiles
            Number of sample paths, seed and quantile levels, as in :meth:`predict_mc`.
        include_noise : bool, default True
            Add and feed back the aleatoric noise term.
        time : array_like, shape (steps,), optional
            Labels of the forecast times, as in :meth:`forecast`.

        Returns
        -------
        xarray.Dataset
            ``samples`` (sample, time, feature), ``mean``, ``sd``,
            ``epistemic_samples``, ``epistemic_mean`` and ``epistemic_sd`` (noise-free
            paths with the same masks, their mean and spread), ``quantiles``
            (quantile, time, feature), in the series' units, and ``noise_sd``.
        """
        n_samples, mask_keys, noise_key = self._mc_keys(n_samples, seed)
        values, window, steps, n_calls = self._forecast_setup(history, steps)
        graphdef, params = self._params()
        noise_keys = jax.random.split(noise_key, (n_samples, n_calls))
        run = partial(
            _forecast,
            graphdef,
            params,
            window,
            mask_keys,
            fused=self.fused,
            n_calls=n_calls,
            horizon=self.horizon,
            mc=True,
            increment=self.target == "increment",
            increment_inputs=self.inputs == "level+increment",
        )
        ratios = (self._recursion_ratio(), self._input_ratio())
        noisy = run(self._noise_scaled(include_noise), noise_keys, *ratios)[:, :steps]
        clean = run(self._noise_scaled(False), noise_keys, *ratios)[:, :steps]
        to_units = self.scaler.inverse_transform
        coords = {
            "time": self._forecast_time(time, len(values), steps),
            "feature": np.arange(self.n_features),
            "lead": np.arange(1, self.horizon + 1),
        }
        return self._summary(
            to_units(np.asarray(noisy, np.float64)),
            to_units(np.asarray(clean, np.float64)),
            ("time", "feature"),
            coords,
            quantiles,
            include_noise,
            "MC dropout, recursive",
        )
