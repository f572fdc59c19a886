"""Recurrent (LSTM/GRU) forecaster with Monte-Carlo-dropout predictive intervals.

The architecture follows the dipole-moment forecaster of the geomagnetism data-science
talk (``shared/references/talk-data-science-geomagnetism.txt``): a stack of recurrent
layers (four LSTM layers of 50 units), dropout (rate 0.2) after each layer, a dense
output layer, Adam on the mean squared error, batches of 32 windows of 60 values. The
same class covers the talk's GRU that predicts the next two vectors of several velocity
components from the ten preceding vectors (``cell="gru"``, ``n_features=10``,
``window=10``, ``horizon=2``).

Network (Flax NNX)
------------------
:class:`RecurrentNetwork` holds ``num_layers`` :class:`flax.nnx.RNN` layers over
:class:`flax.nnx.LSTMCell` or :class:`flax.nnx.GRUCell` (in an :class:`flax.nnx.List`),
one :class:`flax.nnx.Dropout` per layer, and an :class:`flax.nnx.Linear` head that
outputs ``horizon * n_outputs`` values. Intermediate layers pass their whole output
sequence on (Keras ``return_sequences=True``); the last one passes only its final
hidden state. Dropout masks are drawn independently for every time step and unit, as
Keras' ``Dropout`` layer does.

Parameters and inputs are float32 (the package runs JAX in 64-bit mode for the inverse
problems; the network casts explicitly so training is not slowed down). The default hot
path (``fused=True``) runs all layers in one :func:`jax.lax.scan` in wavefront order
(iteration ``k`` advances layer ``l`` to time ``k - l``): ``T + L - 1`` loop iterations
instead of ``T * L``, the layers' updates within an iteration independent of each other
(XLA can run them on different cores), each one input and one recurrent product with
the four LSTM (three GRU) gate kernels concatenated. It reads the very parameters of the
``nnx`` cells and computes the same function as ``nnx.RNN`` layer after layer
(``fused=False``); the tests check values and gradients.
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

import collections
import json
import math
import warnings
from collections.abc import Callable, Sequence
from functools import lru_cache, partial
from pathlib import Path

import jax
import jax.numpy as jnp
import numpy as np
import optax
import xarray as xr
from flax import nnx

from bayescore.atomic import atomic_path
from bayescore.errors import MalformedFileError, NotFittedError
from bayescore.forecast.scaling import StandardScaler
from bayescore.forecast.windows import (
    ChronologicalSplit,
    ForecastConfigError,
    SeriesLengthError,
    as_series,
    chronological_split,
    sliding_windows,
)
from bayescore.progress import progress as progress_iterator

__all__ = [
    "RecurrentNetwork",
    "RNNForecaster",
    "NotFittedError",
    "DEFAULT_QUANTILES",
    "trace_counts",
]

DEFAULT_QUANTILES = (0.025, 0.05, 0.25, 0.5, 0.75, 0.95, 0.975)
"""Quantile levels reported by the MC-dropout methods by default."""

_FORMAT_VERSION = 2
_READABLE_VERSIONS = (1, 2)  # version 1: written before ``target`` existed
TARGETS = ("level", "increment")
INPUTS = ("level", "level+increment")
_PARAM_PREFIX = "param:"
# Windows evaluated at once by the (deterministic and MC) predictions: about this many,
# split evenly. For the 4 x 50 LSTM, chunks of 64-350 windows keep a step's activations
# in cache: MC passes ran about 1.3x faster than with chunks of 1024 (one CPU core).
_PREDICT_CHUNK = 256


def _chunk_size(n: int, target: int = _PREDICT_CHUNK) -> int:
    """Chunk length close to ``target`` that splits ``n`` items with little padding."""
    return -(-n // -(-n // target))


# Number of times each jitted function has been traced (Python-executed); tests use it
# to check that training compiles its step once, not once per batch or epoch.
_TRACE_COUNTS: collections.Counter[str] = collections.Counter()


def trace_counts() -> dict[str, int]:
    """Return how often each jitted function of this module has been traced.

    Returns
    -------
    dict of str to int
        Keys ``"train_epoch"``, ``"predict"``, ``"predict_mc"``, ``"forecast"``.
    """
    return dict(_TRACE_COUNTS)


# --------------------------------------------------------------------------------------
# Network
# --------------------------------------------------------------------------------------


def _lstm_weights(cell: nnx.LSTMCell):
    """Input kernel (I, 4H), recurrent kernel (H, 4H) and bias (4H,), gates i, f, g, o."""
    kernel_in = jnp.concatenate(
        [cell.ii.kernel[...], cell.if_.kernel[...], cell.ig.kernel[...], cell.io.kernel[...]],
        axis=1,
    )
    kernel_rec = jnp.concatenate(
        [cell.hi.kernel[...], cell.hf.kernel[...], cell.hg.kernel[...], cell.ho.kernel[...]],
        axis=1,
    )
    bias = jnp.concatenate(
        [cell.hi.bias[...], cell.hf.bias[...], cell.hg.bias[...], cell.ho.bias[...]]
    )
    return kernel_in, kernel_rec, bias


def _gru_weights(cell: nnx.GRUCell):
    """Input kernel (I, 3H), recurrent kernel (H, 3H) and input bias (3H,), gates r, z, n."""
    return cell.dense_i.kernel[...], cell.dense_h.kernel[...], cell.dense_i.bias[...]


def _stacked_scan(cells, kind: str, x: jax.Array, masks: jax.Array | None) -> jax.Array:
    """Final hidden state of a stack of LSTM/GRU cells, all layers in one time scan.

    Wavefront order: loop iteration ``k`` advances layer ``l`` to time ``t = k - l``, so
    the layers run side by side and a window needs ``T + L - 1`` iterations instead of
    ``T * L``. Within an iteration the layers' updates are independent of each other
    (layer ``l`` reads what layer ``l - 1`` emitted in the previous iteration, after its
    dropout mask), so XLA may run them concurrently on several cores; each layer does
    one input and one recurrent product, its gate kernels concatenated. Layers outside
    their time range keep their state. This is the same function as running ``nnx.RNN``
    layer after layer (checked, with its gradient, in the tests).

    Parameters
    ----------
    cells : sequence of nnx.LSTMCell or nnx.GRUCell
        The layers, bottom first; layers 1.. take ``H`` inputs. Flax's default gate
        functions (logistic sigmoid, tanh) are assumed.
    kind : {"lstm", "gru"}
    x : jax.Array, shape (..., T, I)
        Input windows, float32.
    masks : jax.Array or None, shape (L - 1, T, ..., H)
        Dropout multipliers (0 or 1/keep) of the outputs of layers 0..L-2. The batch
        part of the shape may be all ones: one set of masks shared by every window.

    Returns
    -------
    jax.Array, shape (..., H)
        Hidden state of the top layer after the last time step (before its dropout).
    """
    weights = [(_lstm_weights if kind == "lstm" else _gru_weights)(cell) for cell in cells]
    n_layers, hidden = len(cells), weights[0][1].shape[0]
    batch_shape = x.shape[:-2]
    xs = jnp.moveaxis(x.reshape((-1,) + x.shape[-2:]), 1, 0)  # (T, B, I)
    n_time = xs.shape[0]
    if masks is not None:
        masks = masks.reshape(masks.shape[:2] + (-1, hidden))

    def cell_update(layer: int, inputs, h, c):
        kernel_in, kernel_rec, bias = weights[layer]
        if kind == "lstm":
            pre = inputs @ kernel_in + h @ kernel_rec + bias
            i, f, g, o = jnp.split(pre, 4, axis=-1)
            c = jax.nn.sigmoid(f) * c + jax.nn.sigmoid(i) * jnp.tanh(g)
            return jax.nn.sigmoid(o) * jnp.tanh(c), c
        x_r, x_z, x_n = jnp.split(inputs @ kernel_in + bias, 3, axis=-1)
        h_r, h_z, h_n = jnp.split(h @ kernel_rec, 3, axis=-1)
        r = jax.nn.sigmoid(x_r + h_r)
        z = jax.nn.sigmoid(x_z + h_z)
        return (1.0 - z) * jnp.tanh(x_n + r * h_n) + z * h, None

    def step(carry, k):
        hs, cs, below = carry
        new_h, new_c, new_below = [], [], []
        for layer in range(n_layers):
            inputs = xs[jnp.minimum(k, n_time - 1)] if layer == 0 else below[layer - 1]
            h, c = cell_update(layer, inputs, hs[layer], cs[layer])
            time = k - layer
            active = (time >= 0) & (time < n_time)
            new_h.append(jnp.where(active, h, hs[layer]))
            new_c.append(None if c is None else jnp.where(active, c, cs[layer]))
            if layer < n_layers - 1:
                out = new_h[-1]
                if masks is not None:
                    out = out * masks[layer, jnp.clip(time, 0, n_time - 1)]
                new_below.append(out)
        return (tuple(new_h), tuple(new_c), tuple(new_below)), None

    zeros = jnp.zeros((xs.shape[1], hidden), jnp.float32)
    carry = (
        (zeros,) * n_layers,
        (zeros if kind == "lstm" else None,) * n_layers,
        (zeros,) * (n_layers - 1),
    )
    (hs, _, _), _ = jax.lax.scan(step, carry, jnp.arange(n_time + n_layers - 1))
    return hs[-1].reshape(batch_shape + (hidden,))


class RecurrentNetwork(nnx.Module):
    """Stacked recurrent network: (RNN layer -> Dropout) x num_layers -> Linear.

    Parameters
    ----------
    cell : {"lstm", "gru"}
        Recurrent cell type.
    n_inputs : int
        Number of input features per time step.
    hidden_size : int
        Units per recurrent layer.
    num_layers : int
        Number of stacked recurrent layers.
    dropout : float
        Dropout rate after each layer, in [0, 1).
    n_outputs : int
        Width of the output layer (``horizon * n_output_features`` for a forecaster).
    rngs : flax.nnx.Rngs
        Random streams for the parameter initialisation.
    """

    def __init__(
        self,
        cell: str,
        n_inputs: int,
        hidden_size: int,
        num_layers: int,
        dropout: float,
        n_outputs: int,
        *,
        rngs: nnx.Rngs,
    ):
        cell_type = {"lstm": nnx.LSTMCell, "gru": nnx.GRUCell}[cell]
        sizes = [n_inputs] + [hidden_size] * (num_layers - 1)
        self.cell_kind = cell
        self.hidden_size = hidden_size
        self.layers = nnx.List(
            [
                nnx.RNN(
                    cell_type(size, hidden_size, param_dtype=jnp.float32, rngs=rngs),
                    rngs=False,
                )
                for size in sizes
            ]
        )
        # A float32 rate keeps the masks' uniform draws in float32 under x64 (a Python
        # float would make nnx.Dropout draw float64 numbers, twice the random bits).
        rate = np.float32(dropout)
        self.dropouts = nnx.List([nnx.Dropout(rate) for _ in range(num_layers)])
        self.head = nnx.Linear(hidden_size, n_outputs, param_dtype=jnp.float32, rngs=rngs)

    def _initial_carry(self, batch_shape: tuple[int, ...]):
        zeros = jnp.zeros(batch_shape + (self.hidden_size,), dtype=jnp.float32)
        return (zeros, zeros) if self.cell_kind == "lstm" else zeros

    def __call__(
        self,
        x: jax.Array,
        *,
        dropout_key: jax.Array | None = None,
        fused: bool = True,
        shared_masks: bool = False,
    ) -> jax.Array:
        """Map input windows to outputs.

        Parameters
        ----------
        x : jax.Array, shape (..., window, n_inputs)
            Standardised input windows (cast to float32).
        dropout_key : jax.Array, optional
            PRNG key for the dropout masks. ``None`` switches dropout off.
        fused : bool, default True
            Run all layers in one wavefront scan (:func:`_stacked_scan`, faster);
            ``False`` runs ``nnx.RNN`` layer after layer. Same function either way.
        shared_masks : bool, default False
            Draw one set of masks, of a single window's shape, and apply it to every
            window of the batch (one thinned network: MC-dropout passes). Otherwise
            every window gets its own masks (training).

        Returns
        -------
        jax.Array, shape (..., n_outputs)
            Standardised outputs, float32.
        """
        h = jnp.asarray(x, dtype=jnp.float32)
        n_layers, hidden = len(self.layers), self.hidden_size
        n_time, n_batch_dims = h.shape[-2], h.ndim - 2
        keys = None if dropout_key is None else jax.random.split(dropout_key, n_layers)

        def mask(index: int, shape: tuple[int, ...]) -> jax.Array:
            """Multipliers (0 or 1/keep): exactly the draws of nnx.Dropout on ``shape``."""
            ones = jnp.ones(shape, jnp.float32)
            return self.dropouts[index](ones, deterministic=False, rngs=keys[index])

        def shared(index: int, shape: tuple[int, ...]) -> jax.Array:
            return mask(index, shape).reshape((1,) * n_batch_dims + shape)

        if fused:
            masks = None
            if keys is not None and n_layers > 1:
                masks = jnp.stack(
                    [
                        jnp.moveaxis(
                            shared(index, (n_time, hidden))
                            if shared_masks
                            else mask(index, h.shape[:-1] + (hidden,)),
                            -2,
                            0,
                        )
                        for index in range(n_layers - 1)
                    ]
                )
            h = _stacked_scan([layer.cell for layer in self.layers], self.cell_kind, h, masks)
        else:
            for index, layer in enumerate(self.layers):
                h = layer(h, initial_carry=self._initial_carry(h.shape[:-2]))
                if index == n_layers - 1:
                    h = h[..., -1, :]
                elif keys is not None:
                    h = (
                        h * shared(index, (n_time, hidden))
                        if shared_masks
                        else (self.dropouts[index](h, deterministic=False, rngs=keys[index]))
                    )
        if keys is not None:
            h = (
                h * shared(n_layers - 1, (hidden,))
                if shared_masks
                else (self.dropouts[-1](h, deterministic=False, rngs=keys[-1]))
            )
        return self.head(h)


# --------------------------------------------------------------------------------------
# Jitted kernels (module level: compiled once per network structure and input shape)
# --------------------------------------------------------------------------------------


@partial(jax.jit, static_argnames=("graphdef", "batch_size", "fused"))
def _train_epoch(graphdef, state, x_fit, y_fit, x_val, y_val, key, *, batch_size, fused):
    """One epoch: shuffle, then a lax.scan of Adam steps over all batches, then validate."""
    _TRACE_COUNTS["train_epoch"] += 1
    n = x_fit.shape[0]
    n_batches = -(-n // batch_size)
    pad = n_batches * batch_size - n
    perm_key, dropout_root = jax.random.split(key)
    order = jax.random.permutation(perm_key, n)
    # The last, partial batch is padded with zero-weight copies so all batches share one
    # shape; its loss is the mean over its real windows only (as Keras does).
    index = jnp.concatenate([order, jnp.zeros(pad, order.dtype)]).reshape(n_batches, -1)
    weight = jnp.concatenate([jnp.ones(n, jnp.float32), jnp.zeros(pad, jnp.float32)])
    weight = weight.reshape(n_batches, -1)
    dropout_keys = jax.random.split(dropout_root, n_batches)

    def train_step(carry_state, batch):
        batch_index, batch_weight, dropout_key = batch
        model, optimizer = nnx.merge(graphdef, carry_state)
        inputs, targets = x_fit[batch_index], y_fit[batch_index]

        def loss_fn(network):
            pred = network(inputs, dropout_key=dropout_key, fused=fused)
            per_window = jnp.mean(jnp.square(pred - targets), axis=-1)
            return jnp.sum(batch_weight * per_window) / jnp.sum(batch_weight)

        loss, grads = nnx.value_and_grad(loss_fn)(model)
        optimizer.update(model, grads)
        return nnx.split((model, optimizer))[1], loss * jnp.sum(batch_weight)

    state, weighted_losses = jax.lax.scan(train_step, state, (index, weight, dropout_keys))
    train_loss = jnp.sum(weighted_losses) / n
    model, _ = nnx.merge(graphdef, state)
    if x_val.shape[0] > 0:
        val_loss = jnp.mean(jnp.square(model(x_val, fused=fused) - y_val))
    else:
        val_loss = jnp.array(jnp.nan, dtype=jnp.float32)
    return state, train_loss, val_loss


def _map_in_chunks(fn, params, xs, chunk: int):
    """``fn(params, xs[i:i + chunk])`` over chunks of the leading axis, concatenated.

    A ``lax.scan`` whose carry holds ``params``: nnx only runs its own transforms (the
    scan inside ``nnx.RNN``) on modules whose variables belong to the current trace, so
    the parameters are passed through every transform explicitly rather than captured.
    The last chunk is padded with copies of the first items and the padding dropped.
    """
    n = xs.shape[0]
    n_chunks = -(-n // chunk)
    pad = n_chunks * chunk - n
    if pad:
        xs = jnp.concatenate([xs, jnp.broadcast_to(xs[:1], (pad,) + xs.shape[1:])])
    chunks = xs.reshape((n_chunks, chunk) + xs.shape[1:])
    _, out = jax.lax.scan(lambda p, block: (p, fn(p, block)), params, chunks)
    return jax.tree.map(lambda a: a.reshape((n_chunks * chunk,) + a.shape[2:])[:n], out)


@partial(jax.jit, static_argnames=("graphdef", "fused"))
def _predict(graphdef, params, x, *, fused):
    """Deterministic outputs for a batch of windows, in chunks of ``_PREDICT_CHUNK``."""
    _TRACE_COUNTS["predict"] += 1

    def apply(p, block):
        return nnx.merge(graphdef, p)(block, fused=fused)

    return _map_in_chunks(apply, params, x, _chunk_size(x.shape[0]))


@partial(jax.jit, static_argnames=("graphdef", "fused"))
def _predict_mc(graphdef, params, x, mask_keys, noise, noise_key, *, fused):
    """MC-dropout passes over windows: one mask set per pass, shared by all windows.

    Passes run one after the other and windows in chunks of about ``_PREDICT_CHUNK``: on
    a CPU the activations of a chunk then stay in cache, which is faster than one big
    batch of all passes.
    """
    _TRACE_COUNTS["predict_mc"] += 1

    def one_pass(p, key):
        def chunk(p, block):
            network = nnx.merge(graphdef, p)
            return network(block, dropout_key=key, fused=fused, shared_masks=True)

        return _map_in_chunks(chunk, p, x, _chunk_size(x.shape[0]))

    passes = _map_in_chunks(lambda p, keys: one_pass(p, keys[0])[None], params, mask_keys, 1)
    eps = jax.random.normal(noise_key, passes.shape, dtype=jnp.float32)
    return passes, passes + noise * eps


@partial(
    jax.jit,
    static_argnames=(
        "graphdef",
        "fused",
        "n_calls",
        "horizon",
        "mc",
        "increment",
        "increment_inputs",
    ),
)
def _forecast(
    graphdef,
    params,
    window,
    mask_keys,
    noise,
    noise_keys,
    ratio,
    input_ratio,
    *,
    fused,
    n_calls,
    horizon,
    mc,
    increment=False,
    increment_inputs=False,
):
    """Recursive forecasts: feed each output back into the window.

    ``mask_keys`` has shape (S,) and ``noise_keys`` (S, n_calls); ``noise`` has shape
    (horizon * n_features,) (zeros for no noise). With ``mc=False`` dropout is off.
    With ``increment=True`` the (noisy) outputs are increments in units of the training
    step sizes; ``ratio`` (horizon, n_features) converts them to standardised units and
    they are added to the last value of the window. With ``increment_inputs=True`` the
    window has a second block of channels, the one-step increments of the levels times
    ``input_ratio`` (n_features,), and the fed-back rows get theirs from the fed-back
    levels. Returns the standardised levels, shape (S, n_calls * horizon, n_features).
    """
    _TRACE_COUNTS["forecast"] += 1
    n_features = window.shape[-1] // 2 if increment_inputs else window.shape[-1]

    def path(p, mask_key, step_keys):
        def step(carry, step_key):
            p, current = carry
            model = nnx.merge(graphdef, p)
            key = mask_key if mc else None
            out = model(current, dropout_key=key, fused=fused, shared_masks=True)
            out = out + noise * jax.random.normal(step_key, out.shape, dtype=jnp.float32)
            block = out.reshape(horizon, n_features)
            last = current[-1, :n_features]
            if increment:
                block = last + block * ratio
            rows = block
            if increment_inputs:
                steps = jnp.diff(jnp.concatenate([last[None], block], axis=0), axis=0)
                rows = jnp.concatenate([block, steps * input_ratio], axis=1)
            current = jnp.concatenate([current, rows], axis=0)[-current.shape[0] :]
            return (p, current), block

        _, blocks = jax.lax.scan(step, (p, window), step_keys)
        return blocks.reshape(n_calls * horizon, n_features)

    return jax.vmap(path, in_axes=(None, 0, 0))(params, mask_keys, noise_keys)


# --------------------------------------------------------------------------------------
# Forecaster
# --------------------------------------------------------------------------------------


@lru_cache(maxsize=32)
def _adam(learning_rate: float) -> optax.GradientTransformation:
    """One Adam transformation per step size: the optimiser is part of the nnx graph
    definition, so reusing it lets fits with equal settings and shapes share one
    compiled epoch function."""
    return optax.adam(learning_rate)


def _increment_scale(train: np.ndarray, horizon: int) -> np.ndarray:
    """RMS ``k``-step difference of each column of ``train`` for ``k = 1..horizon``.

    Parameters
    ----------
    train : numpy.ndarray, shape (n_train, n_features)
        Training part of the series (series' units).
    horizon : int
        Largest step.

    Returns
    -------
    numpy.ndarray, shape (horizon, n_features)
        ``sqrt(mean((x[t + k] - x[t])**2))`` in the series' units (not centred: a
        drift counts as part of the step); a column that never changes gets 1, as a
        constant feature does in the scaler.
    """
    scale = np.stack(
        [np.sqrt(np.mean((train[k:] - train[:-k]) ** 2, axis=0)) for k in range(1, horizon + 1)]
    )
    return np.where(scale > 0, scale, 1.0)


def _check_positive_int(value, name: str) -> int:
    if isinstance(value, bool) or not isinstance(value, int | np.integer) or value < 1:
        raise ForecastConfigError(f"{name} must be a positive integer, got {value!r}")
    return int(value)


class RNNForecaster:
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

        train_losses: list[float] = []
        val_losses: list[float] = []
        best_state, best_loss, best_epoch, since_best = state, math.inf, 0, 0
        epoch_iter = progress_iterator(
            range(epochs), desc="RNNForecaster.fit", enabled=progress is True
        )
        for epoch in epoch_iter:
            state, train_loss, val_loss = _train_epoch(
                graphdef,
                state,
                x_fit,
                y_fit,
                x_val,
                y_val,
                jax.random.fold_in(root_key, epoch),
                batch_size=batch_size,
                fused=self.fused,
            )
            train_loss, val_loss = float(train_loss), float(val_loss)
            if not math.isfinite(train_loss):
                raise FloatingPointError(
                    f"training diverged at epoch {epoch} (loss {train_loss}); "
                    "lower the learning rate"
                )
            train_losses.append(train_loss)
            val_losses.append(val_loss)
            if callable(progress):
                progress(epoch, train_loss, val_loss)
            monitored = val_loss if split.n_validation > 0 else train_loss
            if monitored < best_loss:
                best_state, best_loss, best_epoch, since_best = state, monitored, epoch, 0
            else:
                since_best += 1
                if patience is not None and split.n_validation > 0 and since_best >= patience:
                    break

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
        quantiles = np.asarray(quantiles, dtype=np.float64)
        if quantiles.ndim != 1 or np.any((quantiles < 0) | (quantiles > 1)):
            raise ForecastConfigError(f"quantiles must be levels in [0, 1], got {quantiles}")
        sample_dims = ("sample",) + dims
        coords = dict(coords, sample=np.arange(samples.shape[0]), quantile=quantiles)
        return xr.Dataset(
            {
                "samples": (sample_dims, samples),
                "mean": (dims, samples.mean(axis=0)),
                "epistemic_mean": (dims, epistemic.mean(axis=0)),
                "epistemic_samples": (sample_dims, epistemic),
                "sd": (dims, samples.std(axis=0, ddof=1) if len(samples) > 1 else 0 * samples[0]),
                "epistemic_sd": (
                    dims,
                    epistemic.std(axis=0, ddof=1) if len(epistemic) > 1 else 0 * epistemic[0],
                ),
                "quantiles": (("quantile",) + dims, np.quantile(samples, quantiles, axis=0)),
                "noise_sd": (("lead", "feature"), self.noise_sd),
            },
            coords=coords,
            attrs={
                "method": name,
                "include_noise": int(include_noise),
                "dropout": self.dropout,
                "combination": "total variance = variance of MC-dropout passes + noise_sd**2",
            },
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
        n_samples : int, default 100
            Number of sample paths.
        seed : int, optional
            Seed of the masks and the noise (default: the constructor's ``seed``).
        include_noise : bool, default True
            Add and feed back the aleatoric noise term.
        quantiles : sequence of float
            Quantile levels in [0, 1].
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

    # ------------------------------------------------------------------ save/load --
    def save(self, path) -> Path:
        """Write weights, scaler, noise sd, split, history and configuration to ``.npz``.

        The file is written atomically (temporary name, then ``os.replace``) and holds
        only arrays and one JSON string, so it loads with ``allow_pickle=False``.

        Parameters
        ----------
        path : str or path-like
            Destination file (conventionally ``*.npz``).

        Returns
        -------
        pathlib.Path
            The written path.
        """
        self._require_fitted()
        arrays: dict[str, np.ndarray] = {}
        for key_path, variable in nnx.to_flat_state(nnx.state(self.network, nnx.Param)):
            name = _PARAM_PREFIX + "/".join(str(part) for part in key_path)
            arrays[name] = np.asarray(variable.get_value())
        arrays["scaler_mean"] = self.scaler.mean
        arrays["scaler_scale"] = self.scaler.scale
        arrays["noise_sd"] = np.asarray(self.noise_sd, dtype=np.float64)
        if self.increment_scale is not None:
            arrays["increment_scale"] = np.asarray(self.increment_scale, dtype=np.float64)
        if self.history is not None:
            arrays["history_train_loss"] = self.history["train_loss"].values
            arrays["history_validation_loss"] = self.history["validation_loss"].values
        meta = {
            "format_version": _FORMAT_VERSION,
            "config": self.config(),
            "split": None if self.split_ is None else self.split_.to_dict(),
            "best_epoch": None if self.history is None else int(self.history.attrs["best_epoch"]),
        }
        arrays["meta_json"] = np.asarray(json.dumps(meta))
        destination = Path(path)
        with atomic_path(destination) as tmp, open(tmp, "wb") as handle:
            np.savez(handle, **arrays)
        return destination

    @classmethod
    def load(cls, path) -> RNNForecaster:
        """Read a forecaster written by :meth:`save`.

        Parameters
        ----------
        path : str or path-like
            File written by :meth:`save`.

        Returns
        -------
        RNNForecaster
            A fitted forecaster whose predictions are bit-identical to the saved one's.

        Raises
        ------
        FileNotFoundError
            If the file does not exist.
        MalformedFileError
            If the file is not a forecaster file, or its weights do not match its
            configuration.
        """
        try:
            with np.load(Path(path), allow_pickle=False) as archive:
                arrays = {name: archive[name] for name in archive.files}
        except (ValueError, OSError) as error:
            if isinstance(error, FileNotFoundError):
                raise
            raise MalformedFileError(f"{path} is not a readable .npz file: {error}") from error
        try:
            meta = json.loads(str(arrays["meta_json"]))
            config = meta["config"]
            if meta["format_version"] not in _READABLE_VERSIONS:
                raise MalformedFileError(
                    f"{path} has format version {meta['format_version']}, "
                    f"expected one of {_READABLE_VERSIONS}"
                )
            forecaster = cls(**config)
            params = nnx.state(forecaster.network, nnx.Param)
            for key_path, variable in nnx.to_flat_state(params):
                name = _PARAM_PREFIX + "/".join(str(part) for part in key_path)
                stored = arrays[name]
                if stored.shape != variable.get_value().shape:
                    raise MalformedFileError(
                        f"{path}: weight {name} has shape {stored.shape}, the configuration "
                        f"needs {variable.get_value().shape}"
                    )
                variable.set_value(jnp.asarray(stored, dtype=jnp.float32))
            nnx.update(forecaster.network, params)
            forecaster.scaler = StandardScaler(
                mean=arrays["scaler_mean"], scale=arrays["scaler_scale"]
            )
            forecaster.noise_sd = np.asarray(arrays["noise_sd"], dtype=np.float64)
            if forecaster._uses_increments:
                scale = np.asarray(arrays["increment_scale"], dtype=np.float64)
                needed = (forecaster.horizon, forecaster.n_features)
                if scale.shape != needed:
                    raise MalformedFileError(
                        f"{path}: increment_scale has shape {scale.shape}, the configuration "
                        f"needs {needed}"
                    )
                forecaster.increment_scale = scale
            if meta["split"] is not None:
                forecaster.split_ = ChronologicalSplit.from_dict(meta["split"])
            if "history_train_loss" in arrays:
                train = arrays["history_train_loss"]
                forecaster.history = xr.Dataset(
                    {
                        "train_loss": ("epoch", train),
                        "validation_loss": ("epoch", arrays["history_validation_loss"]),
                    },
                    coords={"epoch": np.arange(len(train))},
                    attrs={
                        "best_epoch": meta["best_epoch"],
                        "units": "mean squared error of standardised values",
                    },
                )
        except KeyError as error:
            raise MalformedFileError(
                f"{path} lacks the entry {error} of a forecaster file"
            ) from error
        return forecaster
