"""The recurrent network of :class:`~bayescore.forecast.rnn.RNNForecaster` (Flax NNX).

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

The module also holds the deterministic prediction kernel :func:`_predict`, the chunked
map shared by the prediction kernels, and the count of how often each jitted kernel of
the forecaster is traced (:func:`trace_counts`).
"""

from __future__ import annotations

import collections
from functools import partial

import jax
import jax.numpy as jnp
import numpy as np
from flax import nnx

__all__ = ["RecurrentNetwork", "trace_counts"]

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
