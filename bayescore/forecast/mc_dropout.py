"""Monte-Carlo-dropout kernels of the recurrent forecaster (jitted, module level).

:func:`_predict_mc` draws MC-dropout passes over windows given the true history (one set
of dropout masks per pass, shared by all windows: each pass is one thinned network,
Gal & Ghahramani 2016), plus Gaussian noise; :func:`_forecast` runs free-running
recursive forecasts, one mask set per sample path, feeding each (noisy) output back.
"""

from __future__ import annotations

from functools import partial

import jax
import jax.numpy as jnp
import numpy as np
import xarray as xr
from flax import nnx

from bayescore.errors import ForecastConfigError
from bayescore.forecast.network import _TRACE_COUNTS, _chunk_size, _map_in_chunks

__all__ = ["DEFAULT_QUANTILES", "predictive_summary"]

DEFAULT_QUANTILES = (0.025, 0.05, 0.25, 0.5, 0.75, 0.95, 0.975)
"""Quantile levels reported by the MC-dropout methods by default."""


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


def predictive_summary(samples, epistemic, dims, coords, quantiles, *, noise_sd, attrs):
    """Dataset of MC-dropout samples: their mean, sd and quantiles, and the noise-free part.

    Parameters
    ----------
    samples, epistemic : numpy.ndarray, shape (n_samples,) + shape of ``dims``
        Samples with the noise term and without it (the passes), in the series' units.
    dims : tuple of str
        Dimensions of one sample, e.g. ``("time", "lead", "feature")``.
    coords : dict
        Coordinates of ``dims`` (``sample`` and ``quantile`` are added).
    quantiles : sequence of float
        Quantile levels in [0, 1].
    noise_sd : numpy.ndarray, shape (lead, feature)
        Aleatoric standard deviation (series' units).
    attrs : dict
        Attributes of the dataset (method, dropout, ...).

    Returns
    -------
    xarray.Dataset
        ``samples``, ``mean``, ``sd``, ``epistemic_samples``, ``epistemic_mean``,
        ``epistemic_sd``, ``quantiles``, ``noise_sd`` (see
        :meth:`~bayescore.forecast.rnn.RNNForecaster.predict_mc`).

    Raises
    ------
    ForecastConfigError
        If a quantile level lies outside [0, 1].
    """
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
            "noise_sd": (("lead", "feature"), noise_sd),
        },
        coords=coords,
        attrs=dict(
            attrs, combination="total variance = variance of MC-dropout passes + noise_sd**2"
        ),
    )
