"""Save and load a trained :class:`~bayescore.forecast.rnn.RNNForecaster` (``.npz``).

File format (version 2; version 1 files, written before ``target`` existed, are read
too): one array per network weight, named ``param:<path in the nnx state>`` (float32),
``scaler_mean`` and ``scaler_scale`` (series' units), ``noise_sd`` (horizon, n_outputs),
optionally ``increment_scale`` (horizon, n_features), ``history_train_loss`` and
``history_validation_loss`` (epoch), and ``meta_json``: a JSON string with
``format_version``, the constructor ``config``, the chronological ``split`` and the
``best_epoch``. Only arrays and one string: the file loads with ``allow_pickle=False``.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import TYPE_CHECKING

import jax.numpy as jnp
import numpy as np
import xarray as xr
from flax import nnx

from bayescore.atomic import atomic_path
from bayescore.errors import MalformedFileError
from bayescore.forecast.scaling import StandardScaler
from bayescore.forecast.windows import ChronologicalSplit

if TYPE_CHECKING:
    from bayescore.forecast.rnn import RNNForecaster

__all__ = ["save_forecaster", "load_forecaster", "FORMAT_VERSION"]

FORMAT_VERSION = 2
_READABLE_VERSIONS = (1, 2)  # version 1: written before ``target`` existed
_PARAM_PREFIX = "param:"


def save_forecaster(forecaster: RNNForecaster, path) -> Path:
    """Write weights, scaler, noise sd, split, history and configuration to ``.npz``.

    The file is written atomically (temporary name, then ``os.replace``).

    Parameters
    ----------
    forecaster : RNNForecaster
        A fitted forecaster.
    path : str or path-like
        Destination file (conventionally ``*.npz``).

    Returns
    -------
    pathlib.Path
        The written path.

    Raises
    ------
    NotFittedError
        If the forecaster is not fitted.
    """
    forecaster._require_fitted()
    arrays: dict[str, np.ndarray] = {}
    for key_path, variable in nnx.to_flat_state(nnx.state(forecaster.network, nnx.Param)):
        name = _PARAM_PREFIX + "/".join(str(part) for part in key_path)
        arrays[name] = np.asarray(variable.get_value())
    arrays["scaler_mean"] = forecaster.scaler.mean
    arrays["scaler_scale"] = forecaster.scaler.scale
    arrays["noise_sd"] = np.asarray(forecaster.noise_sd, dtype=np.float64)
    if forecaster.increment_scale is not None:
        arrays["increment_scale"] = np.asarray(forecaster.increment_scale, dtype=np.float64)
    if forecaster.history is not None:
        arrays["history_train_loss"] = forecaster.history["train_loss"].values
        arrays["history_validation_loss"] = forecaster.history["validation_loss"].values
    meta = {
        "format_version": FORMAT_VERSION,
        "config": forecaster.config(),
        "split": None if forecaster.split_ is None else forecaster.split_.to_dict(),
        "best_epoch": (
            None if forecaster.history is None else int(forecaster.history.attrs["best_epoch"])
        ),
    }
    arrays["meta_json"] = np.asarray(json.dumps(meta))
    destination = Path(path)
    with atomic_path(destination) as tmp, open(tmp, "wb") as handle:
        np.savez(handle, **arrays)
    return destination


def load_forecaster(path, cls: type[RNNForecaster] | None = None) -> RNNForecaster:
    """Read a forecaster written by :func:`save_forecaster`.

    Parameters
    ----------
    path : str or path-like
        File written by :func:`save_forecaster`.
    cls : type, optional
        Forecaster class to build (default :class:`~bayescore.forecast.rnn.RNNForecaster`).

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
    if cls is None:
        from bayescore.forecast.rnn import RNNForecaster as cls
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
        forecaster.scaler = StandardScaler(mean=arrays["scaler_mean"], scale=arrays["scaler_scale"])
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
        raise MalformedFileError(f"{path} lacks the entry {error} of a forecaster file") from error
    return forecaster
