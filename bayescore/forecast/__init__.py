"""Forecasters of geomagnetic time series and their scores.

- :mod:`~bayescore.forecast.rnn`: Flax NNX LSTM/GRU forecasters with Monte-Carlo dropout.
- :mod:`~bayescore.forecast.baselines`: persistence, climatology, AR(p), Ornstein-Uhlenbeck.
- :mod:`~bayescore.forecast.metrics`: RMSE, MAE, MASE, CRPS, pinball, coverage, interval
  and energy scores, PIT.
- :mod:`~bayescore.forecast.windows`, :mod:`~bayescore.forecast.scaling`: sliding windows,
  chronological splits and the training-only scaler.

The network module (and with it Flax) is imported only when :class:`RNNForecaster` is
first used, so the baselines and scores load quickly.
"""

from bayescore.forecast.baselines import (
    AutoRegressive,
    Climatology,
    OrnsteinUhlenbeck,
    Persistence,
)

__all__ = [
    "AutoRegressive",
    "Climatology",
    "OrnsteinUhlenbeck",
    "Persistence",
    "RNNForecaster",
]


def __getattr__(name: str):
    if name == "RNNForecaster":
        from bayescore.forecast.rnn import RNNForecaster

        return RNNForecaster
    raise AttributeError(f"module 'bayescore.forecast' has no attribute {name!r}")
