"""Training of the recurrent forecaster: one compiled epoch, early stopping.

:func:`_train_epoch` shuffles the training windows with a JAX PRNG key and runs all Adam
steps of an epoch in one compiled :func:`jax.lax.scan`, then computes the validation
loss (dropout off); :func:`train_network` repeats it with early stopping on the
validation loss and keeps the weights of the best epoch.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from functools import lru_cache, partial

import jax
import jax.numpy as jnp
import numpy as np
import optax
from flax import nnx

from bayescore.forecast.network import _TRACE_COUNTS
from bayescore.progress import progress as progress_iterator

__all__ = ["train_network"]


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


def train_network(
    graphdef,
    state,
    x_fit,
    y_fit,
    x_val,
    y_val,
    *,
    key,
    epochs: int,
    batch_size: int,
    patience: int | None,
    fused: bool,
    progress: bool | Callable[[int, float, float], None],
):
    """Train ``(network, optimizer)`` for up to ``epochs`` epochs with early stopping.

    Parameters
    ----------
    graphdef, state
        ``nnx.split((network, optimizer))``.
    x_fit, y_fit, x_val, y_val : jax.Array, float32
        Training and validation windows and targets (standardised units); with no
        validation windows the training loss is monitored and there is no early stop.
    key : jax.Array
        PRNG key; epoch ``e`` shuffles and draws its dropout masks from
        ``fold_in(key, e)``.
    epochs, batch_size : int
        Maximum number of epochs, windows per Adam step.
    patience : int or None
        Stop after this many epochs without a lower validation loss.
    fused : bool
        Evaluate the network with the fused scan.
    progress : bool or callable
        ``True``: a progress bar or lines; a callable gets
        ``(epoch, train_loss, validation_loss)`` after each epoch.

    Returns
    -------
    best_state, train_losses, validation_losses, best_epoch
        The state of the epoch with the lowest monitored loss, the per-epoch mean
        squared errors of standardised values (lists of float), and that epoch (0-based).

    Raises
    ------
    FloatingPointError
        If the training loss becomes NaN or infinite.
    """
    has_validation = x_val.shape[0] > 0
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
            jax.random.fold_in(key, epoch),
            batch_size=batch_size,
            fused=fused,
        )
        train_loss, val_loss = float(train_loss), float(val_loss)
        if not math.isfinite(train_loss):
            raise FloatingPointError(
                f"training diverged at epoch {epoch} (loss {train_loss}); lower the learning rate"
            )
        train_losses.append(train_loss)
        val_losses.append(val_loss)
        if callable(progress):
            progress(epoch, train_loss, val_loss)
        monitored = val_loss if has_validation else train_loss
        if monitored < best_loss:
            best_state, best_loss, best_epoch, since_best = state, monitored, epoch, 0
        else:
            since_best += 1
            if patience is not None and has_validation and since_best >= patience:
                break
    return best_state, train_losses, val_losses, best_epoch
