"""Recurrent (LSTM/GRU) forecaster with Monte-Carlo-dropout predictive intervals.

The architecture follows the dipole-moment forecaster of the data-science talk "What is
Data Science: a concise introduction with typical applications" (its geomagnetism part):
a stack of recurrent layers (four LSTM layers of 50 units), dropout (rate 0.2) after each
layer, a dense output layer, Adam on the mean squared error, batches of 32 windows of 60 values. The
same class covers the talk's GRU that predicts the next two vectors of several velocity
components from the ten preceding vectors (``cell="gru"``, ``n_features=10``,
``window=10``, ``horizon=2``).

Network and training
--------------------
The network is :class:`~bayescore.forecast.network.RecurrentNetwork` (Flax NNX, float32,
fused wavefront scan over the layers); training is
:func:`~bayescore.forecast.training.train_network`; the Monte-Carlo-dropout kernels are in
:mod:`~bayescore.forecast.mc_dropout` and the file format in
:mod:`~bayescore.forecast.checkpoint`.
A training epoch (shuffle, all Adam steps, validation loss) is one compiled function
with a ``lax.scan`` over the batches.

Uncertainty
-----------
``predict_mc`` and ``forecast_mc`` draw ``n_samples`` Monte-Carlo-dropout passes
(Gal & Ghahramani 2016): dropout stays on, each pass with a fresh set of masks. Within a
pass one set of masks is shared by every window (and, in ``forecast_mc``, by every
recursive step), so each pass is one thinned network and a sample is a coherent path.
The spread of the passes is the *epistemic* part. The *aleatoric* part is a Gaussian
noise term with standard deviation ``noise_sd`` (per lead time and output feature, in
the series' units), estimated after training as the root-mean-square residual of the
deterministic one-step predictions on the validation windows. With ``include_noise=True``
every MC sample gets an independent draw ``noise_sd * N(0, 1)`` added, so that the
sample variance is

    total variance = variance of the MC-dropout passes + noise_sd**2,

and the reported quantiles are the quantiles of these noisy samples. In ``forecast_mc``
the noisy value is fed back into the window (ancestral sampling), so the spread grows
with lead time.

Splits and scaling follow :mod:`bayescore.forecast.windows` and
:mod:`bayescore.forecast.scaling`: chronological split, standardisation fitted on the
training part only.

Targets and inputs: levels or increments
----------------------------------------
What the network outputs is set by ``target``:

``"level"`` (default; the talk's set-up)
    the standardised future values ``(x_{t+k} - mean) / scale``; a prediction is
    ``mean + scale * output``.
``"increment"`` (residual target)
    the change from the last input value, ``(x_{t+k} - x_{t-1}) / s_{k+1}``, where
    ``s_j`` is the root-mean-square ``j``-step difference of the training part (per
    output feature; ``s_1`` is the step size of the persistence baseline); a prediction
    is ``x_{t-1} + s_{k+1} * output``. A network whose output is zero *is* persistence,
    so the network only has to learn the departure from it.

Why the option exists: a slowly varying series such as the axial dipole moment changes
by a few percent of its range per step. On levels, the network must carry the last
value through every layer (and its dropout) to the output with an error well below one
step (and values outside the training range, such as the strongest values of the
Brunhes chron in the PADM2M and Sint-2000 test parts, land on the saturated part of the
gates). These errors are proportional to the series' scale; on increments they are
proportional to the step size, which is much smaller. MC-dropout
passes and noise then spread the increment, and the free-running recursion adds each
increment to the previous (sampled) value, so the same combination rule holds.

What the network sees is set by ``inputs``: ``"level"`` (default) feeds the standardised
window; ``"level+increment"`` adds, per feature, a second channel with the one-step
increments ``(x_i - x_{i-1}) / s_1`` (the increment before the first value of a series
is taken as zero). A change of one step is a few hundredths of the standardised level,
and dropout multiplies hidden units by 0 or 1/0.8: differences that small do not survive
the layers unless the network is given them directly. In free-running forecasts the
increment channel of a fed-back value is computed from the fed-back levels. On the
PADM2M dipole-moment magnitude, an increment target with level inputs did no better
than persistence (one-step RMSE 0.270 against 0.272 in 1e22 A m^2); with both channels
it reached 0.221, level with AR(3) (docs/studies/dipole-forecasts.md).
"""

from __future__ import annotations

import warnings
from collections.abc import Callable, Sequence
from pathlib import Path

import jax
import jax.numpy as jnp
import numpy as np
import xarray as xr
from flax import nnx

from bayescore.errors import NotFittedError
from bayescore.forecast.free_run import FreeRunningForecasts
from bayescore.forecast.mc_dropout import DEFAULT_QUANTILES, _predict_mc, predictive_summary
from bayescore.forecast.network import RecurrentNetwork, _predict, trace_counts
from bayescore.forecast.scaling import StandardScaler
from bayescore.forecast.training import _adam, _increment_scale, train_network
from bayescore.forecast.windows import (
    ChronologicalSplit,
    ForecastConfigError,
    SeriesLengthError,
    _check_positive_int,
    as_series,
    chronological_split,
    sliding_windows,
)

__all__ = [
    "RecurrentNetwork",
    "RNNForecaster",
    "NotFittedError",
    "DEFAULT_QUANTILES",
    "trace_counts",
]

TARGETS = ("level", "increment")
INPUTS = ("level", "level+increment")


class RNNForecaster(FreeRunningForecasts):
    """LSTM/GRU forecaster with Monte-Carlo-dropout predictive intervals.

    See the module docstring for the architecture and for how the epistemic
    (MC-dropout) and aleatoric (noise) parts of the uncertainty are combined.

    Parameters
    ----------
    cell : {"lstm", "gru"}, default "lstm"
        Recurrent cell.
    hidden_size : int, default 50
        Units per recurrent layer.
    num_layers : int, default 4
        Number of stacked recurrent layers.
    dropout : float, default 0.2
        Dropout rate after each recurrent layer, in [0, 1). MC-dropout intervals need a
        positive rate.
    window : int, default 60
        Number of past time steps fed to the network.
    horizon : int, default 1
        Number of future time steps predicted at once; the output layer has
        ``horizon * n_outputs`` units.
    n_features : int, default 1
        Number of input features (columns of the series).
    n_outputs : int, optional
        Number of predicted features; the targets are the *first* ``n_outputs`` columns
        of the series. Defaults to ``n_features``. Recursive forecasts need
        ``n_outputs == n_features``.
    learning_rate : float, default 1e-3
        Adam step size.
    seed : int, default 0
        Seed of the weight initialisation (and the default seed of :meth:`fit`).
    fused : bool, default True
        Evaluate the recurrent layers with the fused scan (same function as ``nnx.RNN``,
        faster); ``False`` runs ``nnx.RNN`` itself.
    target : {"level", "increment"}, default "level"
        What the network predicts (module docstring): the standardised future values
        (the talk's set-up), or their change from the last input value in units of the
        training part's RMS step (``"increment"``; zero output is persistence).
    inputs : {"level", "level+increment"}, default "level"
        What the network sees (module docstring): the standardised window, or that and
        the one-step increments of every feature in units of the training RMS step.

    Attributes
    ----------
    network : RecurrentNetwork
        The Flax NNX network (float32).
    scaler : StandardScaler or None
        Standardisation fitted on the training part by :meth:`fit`.
    noise_sd : numpy.ndarray or None, shape (horizon, n_outputs)
        Aleatoric standard deviation in the series' units (see the module docstring).
    increment_scale : numpy.ndarray or None, shape (horizon, n_features)
        With increment targets or inputs: RMS ``k``-step difference (``k = 1..horizon``)
        of each feature over the training part, in the series' units (the unit of the
        increment outputs and, for ``k = 1``, of the increment inputs). ``None``
        otherwise.
    history : xarray.Dataset or None
        Per-epoch ``train_loss`` (mean over the epoch's batches, dropout on) and
        ``validation_loss`` (dropout off), both mean squared errors of standardised
        values; attribute ``best_epoch`` (0-based) is the epoch whose weights were kept.
    split_ : ChronologicalSplit or None
        The split used by the last :meth:`fit`; ``split_.test_range[0]`` is the first
        held-out target (pass it as ``start`` to :meth:`predict`).
    """

    def __init__(
        self,
        cell: str = "lstm",
        hidden_size: int = 50,
        num_layers: int = 4,
        dropout: float = 0.2,
        window: int = 60,
        horizon: int = 1,
        n_features: int = 1,
        n_outputs: int | None = None,
        learning_rate: float = 1e-3,
        seed: int = 0,
        fused: bool = True,
        target: str = "level",
        inputs: str = "level",
    ):
        if cell not in ("lstm", "gru"):
            raise ForecastConfigError(f"cell must be 'lstm' or 'gru', got {cell!r}")
        if target not in TARGETS:
            raise ForecastConfigError(f"target must be one of {TARGETS}, got {target!r}")
        self.target = target
        if inputs not in INPUTS:
            raise ForecastConfigError(f"inputs must be one of {INPUTS}, got {inputs!r}")
        self.inputs = inputs
        self.cell = cell
        self.hidden_size = _check_positive_int(hidden_size, "hidden_size")
        self.num_layers = _check_positive_int(num_layers, "num_layers")
        self.window = _check_positive_int(window, "window")
        self.horizon = _check_positive_int(horizon, "horizon")
        self.n_features = _check_positive_int(n_features, "n_features")
        self.n_outputs = _check_positive_int(
            n_features if n_outputs is None else n_outputs, "n_outputs"
        )
        if self.n_outputs > self.n_features:
            raise ForecastConfigError(
                f"n_outputs ({self.n_outputs}) cannot exceed n_features ({self.n_features}): "
                "the targets are the first n_outputs columns of the series"
            )
        if not (isinstance(dropout, int | float) and 0.0 <= float(dropout) < 1.0):
            raise ForecastConfigError(f"dropout must be a rate in [0, 1), got {dropout!r}")
        self.dropout = float(dropout)
        if not (isinstance(learning_rate, int | float) and float(learning_rate) > 0.0):
            raise ForecastConfigError(f"learning_rate must be positive, got {learning_rate!r}")
        self.learning_rate = float(learning_rate)
        self.seed = int(seed)
        self.fused = bool(fused)
        self.network = self._new_network()
        self.scaler: StandardScaler | None = None
        self.noise_sd: np.ndarray | None = None
        self.increment_scale: np.ndarray | None = None
        self.history: xr.Dataset | None = None
        self.split_: ChronologicalSplit | None = None

    # ---------------------------------------------------------------- configuration --
    def config(self) -> dict:
        """Constructor arguments as a JSON-serialisable dict."""
        return {
            "cell": self.cell,
            "hidden_size": self.hidden_size,
            "num_layers": self.num_layers,
            "dropout": self.dropout,
            "window": self.window,
            "horizon": self.horizon,
            "n_features": self.n_features,
            "n_outputs": self.n_outputs,
            "learning_rate": self.learning_rate,
            "seed": self.seed,
            "fused": self.fused,
            "target": self.target,
            "inputs": self.inputs,
        }

    def __repr__(self) -> str:
        args = ", ".join(f"{k}={v!r}" for k, v in self.config().items())
        return f"RNNForecaster({args})"

    @property
    def n_inputs(self) -> int:
        """Input channels of the network: ``n_features``, doubled with increment inputs."""
        return self.n_features * (2 if self.inputs == "level+increment" else 1)

    @property
    def _uses_increments(self) -> bool:
        return self.target == "increment" or self.inputs == "level+increment"

    def _new_network(self) -> RecurrentNetwork:
        return RecurrentNetwork(
            self.cell,
            self.n_inputs,
            self.hidden_size,
            self.num_layers,
            self.dropout,
            self.horizon * self.n_outputs,
            rngs=nnx.Rngs(self.seed),
        )

    @property
    def is_fitted(self) -> bool:
        """Whether a scaler (and so trained weights) is available."""
        return self.scaler is not None

    def _require_fitted(self) -> None:
        if not self.is_fitted:
            raise NotFittedError("the forecaster is not fitted: call fit() or load() first")

    # ------------------------------------------------------------------------ data --
    def _scaled_windows(self, values: np.ndarray, start: int, stop: int):
        """Standardised float32 input windows and network targets, target starts in
        [start, stop); targets are standardised levels or scaled increments."""
        scaled = self.scaler.transform(values)
        inputs, targets, target_start = sliding_windows(
            scaled, self.window, self.horizon, start=start, stop=stop
        )
        if self.inputs == "level+increment":
            inputs, _, _ = sliding_windows(
                self._input_features(values, scaled),
                self.window,
                self.horizon,
                start=start,
                stop=stop,
            )
        if self.target == "increment":
            _, future, _ = sliding_windows(
                values[:, : self.n_outputs], self.window, self.horizon, start=start, stop=stop
            )
            targets = (future - self._anchor(values, target_start)[:, None, :]) / (
                self._target_unit()
            )
        else:
            targets = targets[..., : self.n_outputs]
        targets = targets.reshape(len(targets), -1)
        return (
            jnp.asarray(inputs, dtype=jnp.float32),
            jnp.asarray(targets, dtype=jnp.float32),
            target_start,
        )

    def _output_scaler(self) -> StandardScaler:
        return StandardScaler(
            mean=self.scaler.mean[: self.n_outputs], scale=self.scaler.scale[: self.n_outputs]
        )

    def _input_features(self, values: np.ndarray, scaled: np.ndarray | None = None):
        """Network input channels for every time step, (n_time, n_inputs), float64."""
        if scaled is None:
            scaled = self.scaler.transform(values)
        if self.inputs == "level":
            return scaled
        steps = np.diff(values, axis=0, prepend=values[:1]) / self.increment_scale[0]
        return np.concatenate([scaled, steps], axis=1)

    def _target_unit(self) -> np.ndarray:
        """Series' units per unit of increment output, (horizon, n_outputs)."""
        return self.increment_scale[:, : self.n_outputs]

    def _anchor(self, values: np.ndarray, target_start: np.ndarray) -> np.ndarray:
        """Last input value of each window, (n_windows, n_outputs), series' units."""
        return values[np.asarray(target_start) - 1, : self.n_outputs]

    def _output_unit(self) -> np.ndarray:
        """Series' units per unit of network output, shape (horizon, n_outputs)."""
        if self.target == "increment":
            return self._target_unit()
        return np.broadcast_to(self.scaler.scale[: self.n_outputs], self.noise_shape)

    @property
    def noise_shape(self) -> tuple[int, int]:
        """Shape ``(horizon, n_outputs)`` of one prediction (and of ``noise_sd``)."""
        return (self.horizon, self.n_outputs)

    def _to_original(self, outputs, anchor: np.ndarray | None = None) -> np.ndarray:
        """(…, horizon*n_outputs) float32 network outputs -> (…, horizon, n_outputs) in
        the series' units; ``anchor`` (…, n_outputs) is the last input value of each
        window (needed for increment targets)."""
        outputs = np.asarray(outputs, dtype=np.float64)
        outputs = outputs.reshape(outputs.shape[:-1] + (self.horizon, self.n_outputs))
        if self.target == "increment":
            return np.asarray(anchor)[..., None, :] + outputs * self._target_unit()
        return self._output_scaler().inverse_transform(outputs)

    def _params(self):
        return nnx.split(self.network)

    # ------------------------------------------------------------------------- fit --
    def fit(
        self,
        series,
        train_fraction: float = 0.65,
        epochs: int = 50,
        batch_size: int = 32,
        seed: int | None = None,
        validation: float = 0.1,
        patience: int | None = 10,
        progress: bool | Callable[[int, float, float], None] = True,
    ) -> RNNForecaster:
        """Train on the first part of a series, with early stopping on a validation split.

        The weights are re-initialised from the constructor's ``seed`` at every call. The
        series is split chronologically (:func:`bayescore.forecast.windows.chronological_split`):
        the scaler is fitted on ``series[:train_end]`` only, gradient steps use the
        training windows, early stopping and the noise estimate use the validation
        windows (the latest ``validation`` fraction of the training windows), and the
        rest of the series is left for testing. Each epoch shuffles the training windows
        with a JAX PRNG key and runs all its Adam steps in one compiled ``lax.scan``.

        Parameters
        ----------
        series : array_like, shape (n_time,) or (n_time, n_features)
            Evenly sampled series in its own units (e.g. 1e22 A m^2). No NaN.
        train_fraction : float, default 0.65
            Fraction of the series (from its start) forming the training part.
        epochs : int, default 50
            Maximum number of passes over the training windows.
        batch_size : int, default 32
            Windows per Adam step.
        seed : int, optional
            Seed of the shuffling and the training dropout masks (default: the
            constructor's ``seed``).
        validation : float, default 0.1
            Fraction of the training windows, from their end, used for validation. With
            0 there is no early stopping and ``noise_sd`` is estimated from the
            training windows (which understates it; a warning says so).
        patience : int or None, default 10
            Stop after this many epochs without a lower validation loss; ``None`` trains
            all ``epochs``. Either way the weights of the epoch with the lowest
            validation loss are kept.
        progress : bool or callable, default True
            ``True``: a tqdm bar on a terminal, plain lines otherwise. A callable is
            called as ``progress(epoch, train_loss, validation_loss)`` after each epoch.

        Returns
        -------
        RNNForecaster
            ``self``, trained, with ``scaler``, ``noise_sd``, ``increment_scale``,
            ``history`` and ``split_``.

        Raises
        ------
        NonFiniteError
            If the series contains NaN or inf.
        SeriesShapeError
            If the series does not have ``n_features`` columns.
        SeriesLengthError
            If the training part holds too few windows.
        ForecastConfigError
            If a size or fraction is out of range.
        """
        values = as_series(series, self.n_features)
        epochs = _check_positive_int(epochs, "epochs")
        batch_size = _check_positive_int(batch_size, "batch_size")
        if patience is not None:
            patience = _check_positive_int(patience, "patience")
        split = chronological_split(
            len(values), self.window, self.horizon, train_fraction, validation
        )
        self.scaler = StandardScaler.fit(values[: split.train_end])
        self.increment_scale = (
            _increment_scale(values[: split.train_end], self.horizon)
            if self._uses_increments
            else None
        )
        x_fit, y_fit, _ = self._scaled_windows(values, *split.fit_range)
        if split.n_validation > 0:
            x_val, y_val, _ = self._scaled_windows(values, *split.validation_range)
        else:
            x_val = jnp.zeros((0,) + x_fit.shape[1:], jnp.float32)
            y_val = jnp.zeros((0,) + y_fit.shape[1:], jnp.float32)

        self.network = self._new_network()
        optimizer = nnx.Optimizer(self.network, _adam(self.learning_rate), wrt=nnx.Param)
        graphdef, state = nnx.split((self.network, optimizer))
        root_key = jax.random.key(self.seed if seed is None else int(seed))
        batch_size = min(batch_size, split.n_fit)

        best_state, train_losses, val_losses, best_epoch = train_network(
            graphdef,
            state,
            x_fit,
            y_fit,
            x_val,
            y_val,
            key=root_key,
            epochs=epochs,
            batch_size=batch_size,
            patience=patience,
            fused=self.fused,
            progress=progress,
        )
        network, _ = nnx.merge(graphdef, best_state)
        self.network = network
        self.split_ = split
        self.history = xr.Dataset(
            {
                "train_loss": ("epoch", np.asarray(train_losses)),
                "validation_loss": ("epoch", np.asarray(val_losses)),
            },
            coords={"epoch": np.arange(len(train_losses))},
            attrs={
                "best_epoch": best_epoch,
                "units": "mean squared error of standardised values",
            },
        )
        if split.n_validation > 0:
            residual_x, residual_y = x_val, y_val
        else:
            warnings.warn(
                "validation=0: noise_sd is estimated from the training windows, which "
                "understates the one-step error",
                stacklevel=2,
            )
            residual_x, residual_y = x_fit, y_fit
        self.noise_sd = self._residual_sd(residual_x, residual_y)
        return self

    def _residual_sd(self, x, y) -> np.ndarray:
        """RMS residual of deterministic predictions, shape (horizon, n_outputs), units."""
        graphdef, params = self._params()
        pred = _predict(graphdef, params, x, fused=self.fused)
        residual = (np.asarray(pred, np.float64) - np.asarray(y, np.float64)).reshape(
            -1, self.horizon, self.n_outputs
        )
        rms = np.sqrt(np.mean(residual**2, axis=0))
        if self.target == "increment":
            return rms * self._target_unit()
        return self._output_scaler().inverse_transform_spread(rms)

    # -------------------------------------------------------------------- predict --
    def _prediction_windows(self, series, start):
        self._require_fitted()
        values = as_series(series, self.n_features)
        first = self.window if start is None else int(start)
        if first < self.window:
            raise SeriesLengthError(
                f"start={first} is before the first predictable index {self.window} "
                f"(a prediction needs window={self.window} preceding values)"
            )
        x, _, target_start = self._scaled_windows(values, first, len(values))
        return values, x, target_start, self._anchor(values, target_start)

    @staticmethod
    def _time_labels(time, n_time: int, index: np.ndarray):
        if time is None:
            return index
        labels = np.asarray(time)
        if labels.shape != (n_time,):
            raise ForecastConfigError(
                f"time must have one label per time step ({n_time}), got shape {labels.shape}"
            )
        return labels[index]

    def _coords(self, time_values) -> dict:
        return {
            "time": time_values,
            "lead": np.arange(1, self.horizon + 1),
            "feature": np.arange(self.n_outputs),
        }

    def predict(self, series, start: int | None = None, *, time=None) -> xr.DataArray:
        """One-step-ahead (``horizon``-step) predictions given the true history.

        For every target start ``t`` with ``start <= t <= n_time - horizon``, the window
        ``series[t - window : t]`` is fed to the network with dropout off.

        Parameters
        ----------
        series : array_like, shape (n_time,) or (n_time, n_features)
            The series in its own units (usually the one passed to :meth:`fit`).
        start : int, optional
            First target start (time index). Default: ``window``, the earliest possible.
            ``self.split_.test_range[0]`` gives predictions over the held-out part.
        time : array_like, shape (n_time,), optional
            Labels of the series' time steps (e.g. ages in Ma); default: integer indices.

        Returns
        -------
        xarray.DataArray, dims (time, lead, feature)
            Predictions in the series' units. ``time`` labels the first predicted step
            ``t``; lead ``l`` (1-based) refers to time index ``t + l - 1``.

        Raises
        ------
        NotFittedError, NonFiniteError, SeriesShapeError, SeriesLengthError
        """
        values, x, target_start, anchor = self._prediction_windows(series, start)
        graphdef, params = self._params()
        outputs = _predict(graphdef, params, x, fused=self.fused)
        return xr.DataArray(
            self._to_original(outputs, anchor),
            dims=("time", "lead", "feature"),
            coords=self._coords(self._time_labels(time, len(values), target_start)),
            name="prediction",
            attrs={"method": "deterministic (dropout off), true history"},
        )

    def _mc_keys(self, n_samples: int, seed: int | None):
        n_samples = _check_positive_int(n_samples, "n_samples")
        if self.dropout == 0.0:
            warnings.warn(
                "dropout is 0: the MC-dropout passes are identical; only the noise term "
                "spreads the samples",
                stacklevel=3,
            )
        key = jax.random.key(self.seed if seed is None else int(seed))
        mask_root, noise_key = jax.random.split(key)
        return n_samples, jax.random.split(mask_root, n_samples), noise_key

    def _noise_scaled(self, include_noise: bool) -> jax.Array:
        """Noise sd in standardised units, flattened like the network output."""
        if not include_noise:
            return jnp.zeros(self.horizon * self.n_outputs, jnp.float32)
        scaled = self.noise_sd / self._output_unit()
        return jnp.asarray(scaled.reshape(-1), dtype=jnp.float32)

    def _summary(self, samples, epistemic, dims, coords, quantiles, include_noise, name):
        return predictive_summary(
            samples,
            epistemic,
            dims,
            coords,
            quantiles,
            noise_sd=self.noise_sd,
            attrs={"method": name, "include_noise": int(include_noise), "dropout": self.dropout},
        )

    def predict_mc(
        self,
        series,
        n_samples: int = 100,
        seed: int | None = None,
        *,
        start: int | None = None,
        include_noise: bool = True,
        quantiles: Sequence[float] = DEFAULT_QUANTILES,
        time=None,
    ) -> xr.Dataset:
        """Monte-Carlo-dropout predictive distribution of the one-step predictions.

        Each of the ``n_samples`` passes uses a fresh set of dropout masks (shared by all
        windows of the pass); with ``include_noise`` each sample gets independent
        Gaussian noise of standard deviation ``noise_sd`` added, so that the samples'
        variance is the variance of the passes plus ``noise_sd**2``.

        Parameters
        ----------
        series : array_like, shape (n_time,) or (n_time, n_features)
            The series in its own units.
        n_samples : int, default 100
            Number of MC-dropout passes.
        seed : int, optional
            Seed of the masks and the noise (default: the constructor's ``seed``). The
            same seed gives bit-identical samples.
        start : int, optional
            First target start, as in :meth:`predict`.
        include_noise : bool, default True
            Add the aleatoric noise term (predictive intervals); ``False`` gives the
            epistemic (MC-dropout) spread only.
        quantiles : sequence of float
            Quantile levels in [0, 1].
        time : array_like, shape (n_time,), optional
            Labels of the time steps, as in :meth:`predict`.

        Returns
        -------
        xarray.Dataset
            ``samples`` (sample, time, lead, feature), ``mean``, ``sd`` (total),
            ``epistemic_samples``, ``epistemic_mean`` and ``epistemic_sd`` (the passes
            without noise, their mean and spread; the zero-mean noise leaves the exact
            predictive mean equal to ``epistemic_mean``), ``quantiles``
            (quantile, time, lead, feature), all in the series' units, and ``noise_sd``
            (lead, feature).
        """
        n_samples, mask_keys, noise_key = self._mc_keys(n_samples, seed)
        values, x, target_start, anchor = self._prediction_windows(series, start)
        graphdef, params = self._params()
        passes, noisy = _predict_mc(
            graphdef,
            params,
            x,
            mask_keys,
            self._noise_scaled(include_noise),
            noise_key,
            fused=self.fused,
        )
        coords = self._coords(self._time_labels(time, len(values), target_start))
        return self._summary(
            self._to_original(noisy, anchor),
            self._to_original(passes, anchor),
            ("time", "lead", "feature"),
            coords,
            quantiles,
            include_noise,
            "MC dropout, true history",
        )

    # ------------------------------------------------------------------ save/load --
    def save(self, path) -> Path:
        """Write the fitted forecaster to ``path`` (``.npz``) atomically; return the path.

        Format, parameters and errors: :func:`bayescore.forecast.checkpoint.save_forecaster`.
        """
        from bayescore.forecast.checkpoint import save_forecaster

        return save_forecaster(self, path)

    @classmethod
    def load(cls, path) -> RNNForecaster:
        """Read a forecaster written by :meth:`save`.

        Parameters, return value and errors as
        :func:`bayescore.forecast.checkpoint.load_forecaster` (a fitted forecaster whose
        predictions are bit-identical to the saved one's).
        """
        from bayescore.forecast.checkpoint import load_forecaster

        return load_forecaster(path, cls)
