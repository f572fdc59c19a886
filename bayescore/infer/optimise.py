"""MAP estimation by L-BFGS (optax) on the potential energy of any NumPyro model.

The model's potential energy (negative log joint density in NumPyro's unconstrained space,
:func:`numpyro.infer.util.potential_energy`) is minimised with :func:`optax.lbfgs` and its
zoom line search, the whole loop in one jit-compiled :func:`jax.lax.while_loop`. This is
the generic counterpart of :func:`bayescore.infer.gauss_newton_map`: it handles any model,
hyperpriors on the dampings included.

Geomagnetic parameters span many orders of magnitude (g10 ~ 3e4 nT next to degree-14
coefficients ~ 0.1 nT and flows in km/yr), so the optimisation runs in preconditioned
coordinates ``x = x0 + S y``. ``preconditioner="hessian"`` takes ``S`` from the exact
Hessian of the potential at the start (eigen-decomposition with the absolute values of
the eigenvalues, floored), so that the problem in y is close to the identity near the
start; an array gives ``S`` directly (a vector of scales or a matrix). The stopping test is
on the gradient norm in y: with the Hessian preconditioner it measures the distance to the
optimum in (approximate) posterior standard deviations.

Compilation: the model function, the layout of its sites and the hyperprior settings are
static; the model's positional arguments (e.g. a
:class:`bayescore.models.CoestimationProblem`, a JAX pytree) and its numeric keyword
arguments (dampings, fixed site values) are traced, so a second call with other dampings
or data of the same shapes reuses the compiled code. The helpers here
(:func:`unconstrained_init`, :func:`model_potential`, :func:`model_constrain`) are shared
by the Laplace and NUTS modules.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from functools import partial

import jax
import jax.numpy as jnp
import numpy as np
import optax
import optax.tree_utils as otu
from numpyro import handlers
from numpyro.distributions.transforms import biject_to
from numpyro.infer import init_to_median
from numpyro.infer.util import constrain_fn, potential_energy

from bayescore.errors import ModelConfigError
from bayescore.infer.inference_data import PointEstimateViews
from bayescore.infer.layout import BlockLayout

__all__ = [
    "MAPResult",
    "map_lbfgs",
    "model_constrain",
    "model_hessian",
    "join_model_kwargs",
    "model_potential",
    "split_model_kwargs",
    "unconstrained_init",
]


# --------------------------------------------------------------------------------------
# flat unconstrained view of a NumPyro model
# --------------------------------------------------------------------------------------


def split_model_kwargs(kwargs: dict | None) -> tuple[dict, tuple]:
    """Split model keyword arguments into traced (numeric) and static (hashable) parts.

    ``hyperpriors`` (a dict of bounds), strings, booleans and None are static; numbers,
    arrays and dicts of arrays (e.g. ``fixed``) are traced.

    Returns
    -------
    dynamic : dict
    static : tuple
        Hashable ``(key, value)`` pairs (``hyperpriors`` frozen to sorted tuples).
    """
    dynamic, static = {}, []
    for key, value in (kwargs or {}).items():
        if key == "hyperpriors":
            frozen = None
            if value:
                frozen = tuple(sorted((k, tuple(float(b) for b in v)) for k, v in value.items()))
            static.append((key, frozen))
        elif value is None or isinstance(value, str | bool):
            static.append((key, value))
        else:
            dynamic[key] = value
    return dynamic, tuple(sorted(static))


def join_model_kwargs(dynamic: dict, static: tuple) -> dict:
    """Inverse of :func:`split_model_kwargs`."""
    kwargs = dict(dynamic)
    for key, value in static:
        kwargs[key] = dict(value) if key == "hyperpriors" and value is not None else value
    return kwargs


def _init_strategy(values):
    def strategy(site=None):
        if site is None:
            return strategy
        if site["type"] == "sample" and not site["is_observed"] and site["name"] in values:
            return values[site["name"]]
        return init_to_median(site)

    return strategy


def unconstrained_init(model, model_args=(), model_kwargs=None, values=None, seed: int = 0):
    """Flat unconstrained starting point of a model's latent sites.

    Parameters
    ----------
    model : callable
        NumPyro model.
    model_args : tuple
        Its positional arguments.
    model_kwargs : dict, optional
        Its keyword arguments.
    values : dict, optional
        Constrained starting values of some sites; the others start at their prior median.
    seed : int, default 0

    Returns
    -------
    x0 : jax.Array, shape (n,)
        Unconstrained values, sites in sorted name order.
    layout : BlockLayout
        Names and (unconstrained) shapes of the sites.
    """
    values = dict(values or {})
    # the seed handler must sit inside substitute, so that the strategy sees the rng key
    seeded = handlers.substitute(handlers.seed(model, seed), substitute_fn=_init_strategy(values))
    trace = handlers.trace(seeded).get_trace(*model_args, **(model_kwargs or {}))
    unconstrained = {}
    for name, site in trace.items():
        if site["type"] != "sample" or site["is_observed"]:
            continue
        if site.get("infer", {}).get("is_auxiliary"):
            continue
        transform = biject_to(site["fn"].support)
        unconstrained[name] = jnp.asarray(transform.inv(jnp.asarray(site["value"])))
    layout = BlockLayout.from_shapes({k: v.shape for k, v in unconstrained.items()})
    return layout.pack(unconstrained), layout


@partial(jax.jit, static_argnames=("model", "layout", "static_kwargs"))
def model_potential(x, model_args, dynamic_kwargs, *, model, layout, static_kwargs):
    """Potential energy of ``model`` at the flat unconstrained point ``x`` (jit-compiled).

    Parameters
    ----------
    x : jax.Array, shape (n,)
    model_args : tuple
        Positional model arguments (traced pytrees).
    dynamic_kwargs : dict
        Traced keyword arguments (:func:`split_model_kwargs`).
    model : callable
        Static.
    layout : BlockLayout
        Static layout of ``x``.
    static_kwargs : tuple
        Static keyword arguments.

    Returns
    -------
    jax.Array, scalar
    """
    kwargs = join_model_kwargs(dynamic_kwargs, static_kwargs)
    return potential_energy(model, model_args, kwargs, layout.unpack(x))


@partial(jax.jit, static_argnames=("model", "layout", "static_kwargs"))
def model_constrain(x, model_args, dynamic_kwargs, *, model, layout, static_kwargs):
    """Constrained site values and deterministic sites at the flat unconstrained ``x``."""
    kwargs = join_model_kwargs(dynamic_kwargs, static_kwargs)
    return constrain_fn(model, model_args, kwargs, layout.unpack(x), return_deterministic=True)


# --------------------------------------------------------------------------------------
# L-BFGS
# --------------------------------------------------------------------------------------


@dataclass(frozen=True)
class MAPResult(PointEstimateViews):
    """Result of :func:`map_lbfgs`.

    ``to_xarray(coords, dims, units)`` and ``to_inference_data(coords, dims, units)``
    give the MAP labelled (:class:`~bayescore.infer.inference_data.PointEstimateViews`).

    Attributes
    ----------
    values : dict of str to numpy.ndarray
        MAP of every latent site in its constrained space (and the model's deterministic
        sites).
    unconstrained : numpy.ndarray
        The MAP as NumPyro's flat unconstrained vector (sites in sorted name order).
    layout : BlockLayout
        Site names and shapes of that vector.
    potential_energy : float
        Negative log joint density at the MAP (unconstrained space).
    gradient_norm : float
        Norm of the gradient in the preconditioned coordinates at the end.
    n_iterations : int
    converged : bool
        Whether ``gradient_norm < tolerance`` was reached within ``max_iterations``.
    wall_time_s : float
        Including compilation.
    """

    values: dict
    unconstrained: np.ndarray
    layout: BlockLayout
    potential_energy: float
    gradient_norm: float
    n_iterations: int
    converged: bool
    wall_time_s: float

    def estimate_attrs(self) -> dict:
        """Attributes of the labelled views (``to_xarray``, ``to_inference_data``)."""
        return {
            "estimate": "MAP (L-BFGS)",
            "potential_energy": float(self.potential_energy),
            "converged": int(self.converged),
            "n_iterations": int(self.n_iterations),
        }


@partial(jax.jit, static_argnames=("model", "layout", "static_kwargs"))
def model_hessian(x, model_args, dynamic_kwargs, *, model, layout, static_kwargs):
    """Hessian of :func:`model_potential` at ``x`` (dense, forward-over-reverse)."""

    def potential(point):
        return model_potential(
            point,
            model_args,
            dynamic_kwargs,
            model=model,
            layout=layout,
            static_kwargs=static_kwargs,
        )

    return jax.hessian(potential)(x)


def _preconditioner(kind, x0, hessian_fn):
    n = x0.shape[0]
    if kind is None:
        return jnp.eye(n)
    if isinstance(kind, str):
        if kind != "hessian":
            raise ModelConfigError(
                f"preconditioner must be None, 'hessian' or an array, got {kind!r}"
            )
        hessian = hessian_fn(x0)
        hessian = 0.5 * (hessian + hessian.T)
        eigenvalues, vectors = jnp.linalg.eigh(hessian)
        magnitude = jnp.abs(eigenvalues)
        floor = 1e-12 * jnp.max(magnitude)
        return vectors / jnp.sqrt(jnp.maximum(magnitude, floor))[None, :]
    scale = jnp.asarray(kind, dtype=float)
    if scale.ndim == 1 and scale.shape == (n,):
        return jnp.diag(scale)
    if scale.shape == (n, n):
        return scale
    raise ModelConfigError(
        f"preconditioner array must have shape ({n},) or ({n}, {n}), got {scale.shape}"
    )


@partial(
    jax.jit,
    static_argnames=("model", "layout", "static_kwargs", "memory_size", "max_iterations"),
)
def _lbfgs(
    x0, scale, tolerance, model_args, dynamic_kwargs, *, model, layout, static_kwargs,
    memory_size, max_iterations,
):  # fmt: skip
    optimiser = optax.lbfgs(
        memory_size=memory_size,
        linesearch=optax.scale_by_zoom_linesearch(max_linesearch_steps=50),
    )

    def objective(y):
        return model_potential(
            x0 + scale @ y, model_args, dynamic_kwargs, model=model, layout=layout,
            static_kwargs=static_kwargs,
        )  # fmt: skip

    value_and_grad = optax.value_and_grad_from_state(objective)

    def step(carry):
        y, state = carry
        value, grad = value_and_grad(y, state=state)
        updates, state = optimiser.update(
            grad, state, y, value=value, grad=grad, value_fn=objective
        )
        return optax.apply_updates(y, updates), state

    def keep_going(carry):
        _, state = carry
        count = otu.tree_get(state, "count")
        grad = otu.tree_get(state, "grad")
        return (count == 0) | ((count < max_iterations) & (otu.tree_norm(grad) >= tolerance))

    y0 = jnp.zeros_like(x0)
    y, state = jax.lax.while_loop(keep_going, step, (y0, optimiser.init(y0)))
    value, grad = jax.value_and_grad(objective)(y)
    return x0 + scale @ y, value, jnp.linalg.norm(grad), otu.tree_get(state, "count")


def map_lbfgs(
    model,
    *model_args,
    model_kwargs: dict | None = None,
    init_values: dict | None = None,
    seed: int = 0,
    max_iterations: int = 1000,
    tolerance: float = 1e-6,
    preconditioner="hessian",
    memory_size: int = 20,
) -> MAPResult:
    """Maximum a posteriori estimate of a NumPyro model with L-BFGS.

    Parameters
    ----------
    model : callable
        NumPyro model.
    *model_args
        Positional arguments of the model (e.g. a
        :class:`bayescore.models.CoestimationProblem`), traced (not baked in as
        constants).
    model_kwargs : dict, optional
        Keyword arguments of the model (:func:`split_model_kwargs`).
    init_values : dict, optional
        Starting values of (some) sites in the constrained space; the others start at the
        median of their prior.
    seed : int, default 0
        Seed of the initialisation (``jax.random.PRNGKey(seed)``; it matters only for
        sites without ``init_values`` whose prior median is drawn by sampling).
    max_iterations : int, default 1000
    tolerance : float, default 1e-6
        Gradient norm (preconditioned coordinates) at which to stop.
    preconditioner : {"hessian", None} or array_like, default "hessian"
        See the module notes. ``"hessian"`` costs one dense Hessian (n forward-over-reverse
        passes) at the start: fine up to a few thousand parameters.
    memory_size : int, default 20
        L-BFGS memory.

    Returns
    -------
    MAPResult
    """
    start_time = time.perf_counter()
    x0, layout = unconstrained_init(model, model_args, model_kwargs, init_values, seed)
    dynamic, static = split_model_kwargs(model_kwargs)
    statics = {"model": model, "layout": layout, "static_kwargs": static}
    scale = _preconditioner(
        preconditioner, x0, lambda x: model_hessian(x, model_args, dynamic, **statics)
    )
    x, value, grad_norm, count = _lbfgs(
        x0,
        scale,
        float(tolerance),
        model_args,
        dynamic,
        memory_size=int(memory_size),
        max_iterations=int(max_iterations),
        **statics,
    )
    constrained = model_constrain(x, model_args, dynamic, **statics)
    grad_norm = float(grad_norm)
    return MAPResult(
        values={k: np.asarray(v) for k, v in constrained.items()},
        unconstrained=np.asarray(x),
        layout=layout,
        potential_energy=float(value),
        gradient_norm=grad_norm,
        n_iterations=int(count),
        converged=bool(grad_norm < tolerance),
        wall_time_s=time.perf_counter() - start_time,
    )
