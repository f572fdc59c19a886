"""NUTS sampling of a bayescore (or any NumPyro) model, whitened by a Laplace approximation.

The co-estimation posterior is badly scaled (Gauss coefficients from 3e4 nT down to 0.1 nT,
flows in km/yr, a frozen-flux constraint much tighter than the data) and strongly
correlated. Rather than letting NUTS learn a dense mass matrix during warm-up, the sampler
runs in **whitened coordinates** z with ``x = mu + S z``, where ``N(mu, S S^T)`` is the
Laplace approximation in NumPyro's unconstrained space
(:mod:`bayescore.infer.laplace`): the sampler then sees a posterior close to ``N(0, I)``,
the remaining non-Gaussianity (the bilinear frozen-flux term, non-Gaussian noise,
hyperparameters) is handled by NUTS with a diagonal mass matrix adapted on top. This is
equivalent to a dense mass matrix equal to the Laplace covariance, but it is robust (no
adaptation of an n x n matrix from a short warm-up) and the whitening is exact for a
linear-Gaussian posterior. The potential in z is the model's own potential energy at
``mu + S z`` (the Jacobian of the linear map is constant), written as a NumPyro model
with an improper flat site ``z`` and one factor, so that the model's arguments stay
run-time arguments of the compiled sampler.

Chains run in parallel across JAX devices when there are enough of them
(``chain_method="parallel"``, e.g. several GPUs, or CPU devices made with
``XLA_FLAGS=--xla_force_host_platform_device_count=N`` set before JAX is imported), else
one after another (``"sequential"``); ``"vectorized"`` is available too. The code is the
same on CPU and GPU.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from functools import partial
from typing import TYPE_CHECKING

import jax
import jax.numpy as jnp
import numpy as np
import numpyro
import numpyro.distributions as dist
from numpyro.distributions import constraints
from numpyro.infer import MCMC, NUTS, init_to_median, init_to_value

from bayescore.errors import ModelConfigError
from bayescore.infer.laplace import LaplaceResult
from bayescore.infer.optimise import model_potential, split_model_kwargs, unconstrained_init

if TYPE_CHECKING:
    import arviz

__all__ = ["NUTSResult", "default_chain_method", "run_nuts"]

_EXTRA_FIELDS = (
    "diverging",
    "energy",
    "num_steps",
    "accept_prob",
    "adapt_state.step_size",
    "potential_energy",
)


@dataclass(frozen=True)
class NUTSResult:
    """Posterior draws of :func:`run_nuts`.

    Attributes
    ----------
    samples : dict of str to numpy.ndarray
        Constrained site values (and deterministic sites), shape (chain, draw, ...).
    sample_stats : dict of str to numpy.ndarray
        Per draw, shape (chain, draw): ``diverging``, ``energy``, ``n_steps``,
        ``tree_depth``, ``acceptance_rate``, ``step_size``, ``lp`` (log joint density).
    wall_time_s : float
        Warm-up plus sampling, compilation included.
    num_chains, num_warmup, num_samples : int
    chain_method : str
    whitened : bool
        Whether the sampler ran in Laplace-whitened coordinates.
    inference_data : arviz.InferenceData
        Labelled draws (posterior and sample_stats groups; coordinates, dimension names
        and units as given to :func:`run_nuts`).
    """

    samples: dict
    sample_stats: dict
    wall_time_s: float
    num_chains: int
    num_warmup: int
    num_samples: int
    chain_method: str
    whitened: bool
    inference_data: arviz.InferenceData | None = field(default=None, repr=False)


def default_chain_method(num_chains: int) -> str:
    """``"parallel"`` when there are at least ``num_chains`` JAX devices, else sequential."""
    if num_chains > 1 and jax.local_device_count() >= num_chains:
        return "parallel"
    return "sequential"


def _whitened_model(mean, scale, model_args, dynamic_kwargs, *, model, layout, static_kwargs):
    """Flat site ``z`` with the original model's log joint density at ``mean + scale z``."""
    z = numpyro.sample("z", dist.ImproperUniform(constraints.real_vector, (), (mean.shape[0],)))
    x = mean + scale @ z
    # the original model runs inside this one: hide its sites from the outer handlers,
    # or its densities would be counted twice
    with numpyro.handlers.block():
        potential = model_potential(
            x, model_args, dynamic_kwargs, model=model, layout=layout, static_kwargs=static_kwargs
        )
    numpyro.factor("log_joint", -potential)


def run_nuts(
    model,
    *model_args,
    model_kwargs: dict | None = None,
    laplace: LaplaceResult | None = None,
    num_warmup: int = 500,
    num_samples: int = 500,
    num_chains: int = 4,
    chain_method: str | None = None,
    seed: int = 0,
    target_accept_prob: float = 0.8,
    max_tree_depth: int = 10,
    dense_mass: bool = False,
    init_values: dict | None = None,
    init_scale: float = 1.0,
    progress_bar: bool = True,
    coords: dict | None = None,
    dims: dict | None = None,
    units: dict | None = None,
    save_path=None,
) -> NUTSResult:
    """Sample a NumPyro model's posterior with NUTS, optionally Laplace-whitened.

    Parameters
    ----------
    model : callable
        NumPyro model.
    *model_args
        Its positional arguments (e.g. a :class:`bayescore.models.CoestimationProblem`).
    model_kwargs : dict, optional
        Its keyword arguments.
    laplace : LaplaceResult, optional
        Laplace approximation of the posterior: sample in whitened coordinates (module
        notes). Without it NUTS runs on the model directly, started at ``init_values``
        (or prior medians), with a diagonal or ``dense_mass`` matrix adapted in warm-up.
    num_warmup, num_samples, num_chains : int
        Warm-up and kept draws per chain, and the number of chains.
    chain_method : {"parallel", "sequential", "vectorized"}, optional
        Default :func:`default_chain_method`.
    seed : int, default 0
        Seed of the run (``jax.random.PRNGKey(seed)``, split into the chains' starting
        points and the sampler's key).
    target_accept_prob : float, default 0.8
    max_tree_depth : int, default 10
    dense_mass : bool, default False
        Dense mass-matrix adaptation (only without ``laplace``).
    init_values : dict, optional
        Initial site values (without ``laplace``).
    init_scale : float, default 1
        With ``laplace``: chains start at ``z ~ N(0, init_scale^2 I)``, i.e. at draws of
        the Laplace approximation (over-dispersed for ``init_scale > 1``).
    progress_bar : bool, default True
        NumPyro's progress bar.
    coords, dims, units : dict, optional
        Coordinates, dimension names and ``units`` of the sites for the ArviZ output
        (for a co-estimation problem ``**problem.site_labels()``).
    save_path : str or path-like, optional
        Write the InferenceData there (netCDF, atomically: temporary file, then rename).

    Returns
    -------
    NUTSResult
    """
    from bayescore.infer.inference_data import save_inference_data, to_inference_data

    model_kwargs = dict(model_kwargs or {})
    num_chains = int(num_chains)
    chain_method = chain_method or default_chain_method(num_chains)
    if chain_method == "parallel" and jax.local_device_count() < num_chains:
        chain_method = "sequential"
    key_init, key_run = jax.random.split(jax.random.PRNGKey(seed))

    def sampler(kernel_model, jit_model_args: bool, **nuts_options) -> MCMC:
        kernel = NUTS(
            kernel_model,
            target_accept_prob=target_accept_prob,
            max_tree_depth=max_tree_depth,
            **nuts_options,
        )
        return MCMC(
            kernel,
            num_warmup=int(num_warmup),
            num_samples=int(num_samples),
            num_chains=num_chains,
            chain_method=chain_method,
            progress_bar=progress_bar,
            jit_model_args=jit_model_args,
        )

    start = time.perf_counter()
    if laplace is not None:
        _, layout = unconstrained_init(model, model_args, model_kwargs, laplace.values)
        if layout != laplace.layout:
            raise ModelConfigError(
                f"the Laplace approximation's sites {laplace.layout.blocks} differ from the "
                f"model's {layout.blocks}"
            )
        dynamic, static = split_model_kwargs(model_kwargs)
        whitened = partial(_whitened_model, model=model, layout=layout, static_kwargs=static)
        mcmc = sampler(whitened, chain_method != "parallel", dense_mass=False)
        z0 = init_scale * jax.random.normal(key_init, (num_chains, laplace.mean.size))
        mean = jnp.asarray(laplace.mean)
        scale = jnp.asarray(laplace.scale)
        mcmc.run(
            key_run,
            mean,
            scale,
            model_args,
            dynamic,
            init_params={"z": z0 if num_chains > 1 else z0[0]},
            extra_fields=_EXTRA_FIELDS,
        )
        z = mcmc.get_samples(group_by_chain=True)["z"]
        flat = mean + jnp.einsum("cdk,jk->cdj", z, scale)
        samples = laplace.constrain(flat)
    else:
        strategy = init_to_value(values=init_values) if init_values else init_to_median()
        mcmc = sampler(model, False, dense_mass=dense_mass, init_strategy=strategy)
        mcmc.run(key_run, *model_args, extra_fields=_EXTRA_FIELDS, **model_kwargs)
        samples = {k: np.asarray(v) for k, v in mcmc.get_samples(group_by_chain=True).items()}
    wall = time.perf_counter() - start
    extra = mcmc.get_extra_fields(group_by_chain=True)
    num_steps = np.asarray(extra["num_steps"])
    stats = {
        "diverging": np.asarray(extra["diverging"]).astype(bool),
        "energy": np.asarray(extra["energy"]),
        "n_steps": num_steps,
        "tree_depth": np.floor(np.log2(np.maximum(num_steps, 1))).astype(int) + 1,
        "acceptance_rate": np.asarray(extra["accept_prob"]),
        "step_size": np.asarray(extra["adapt_state.step_size"]),
        "lp": -np.asarray(extra["potential_energy"]),
    }
    samples = {k: np.asarray(v) for k, v in samples.items()}
    idata = to_inference_data(
        samples,
        stats,
        coords=coords,
        dims=dims,
        units=units,
        attrs={
            "sampler": "NUTS (numpyro)",
            "whitened_by_laplace": int(laplace is not None),
            "chain_method": chain_method,
            "num_warmup": int(num_warmup),
            "wall_time_s": float(wall),
        },
    )
    if save_path is not None:
        save_inference_data(idata, save_path)
    return NUTSResult(
        samples=samples,
        sample_stats=stats,
        wall_time_s=wall,
        num_chains=num_chains,
        num_warmup=int(num_warmup),
        num_samples=int(num_samples),
        chain_method=chain_method,
        whitened=laplace is not None,
        inference_data=idata,
    )
