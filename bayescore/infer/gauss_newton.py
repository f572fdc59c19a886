"""MAP estimation by iterative linearisation (Gauss-Newton / Levenberg-Marquardt).

Lesur et al. (2010, eq. 20) minimise their objective by linearising the frozen-flux
residual ``r_i = gdot_i - A(g_i) u_i`` around the current (g_k, u_k) and solving the
resulting linear least-squares problem for (dg, du), with the data misfit (linear in g)
and the flow norms (quadratic) kept exact. That is the Gauss-Newton method on the joint
objective, which here is the negative log posterior ``U`` of a NumPyro model with
real-valued sites (e.g. :func:`bayescore.models.coestimation_model`,
:func:`~bayescore.models.usn_model`):

* the gradient of ``U`` is computed by automatic differentiation of NumPyro's potential
  energy, so the fixed point is exactly the model's MAP;
* the curvature is the Gauss-Newton matrix: the exact precision of every Gaussian prior
  site (a prior distribution with a ``dense_precision()`` method provides its own), plus
  the Gauss-Newton blocks of every factor site that carries ``infer["bayescore"]``
  metadata (:func:`bayescore.models.factor`, e.g. ``kind="frozen_flux", scale=...``).

The driver knows no model: the blocks of the factors come from hooks of the model's first
positional argument (the *problem*):

``problem.gauss_newton_precompute(values, kinds)``
    Host-side (not traced), once per iteration: whatever the curvature needs that cannot
    be traced, e.g. the data's normal matrix, iteratively reweighted for robust
    likelihoods (as the paper's L1 fits). ``values`` holds the site values (sampled and
    fixed), ``kinds`` the factors' kinds.
``problem.gauss_newton_blocks(kind, values, precomputed, **metadata)``
    Traced: ``{(site_a, site_b): block}``, the Gauss-Newton Hessian of the factor's
    negative log; blocks of sites that are not sampled are dropped.
``problem.convergence_sites`` (optional)
    Sites whose relative change between iterations must fall below ``tolerance``.
``problem.gauss_newton_monitor(values)`` (optional)
    Extra per-iteration numbers for the history (e.g. rho).

:class:`bayescore.models.CoestimationProblem` provides them (the data normal matrix and
``2 lambda_1 sum_i w_i J_i^T W J_i`` for the frozen-flux factor, Lesur et al. 2010, Earth
Planets Space 62, 503, eq. 20).

A step ``(H + mu diag(H)) delta = -grad U`` is accepted when it lowers ``U``; otherwise the
Levenberg-Marquardt damping ``mu`` grows tenfold and the step is retried (``mu`` starts at
0, a pure Gauss-Newton step as in the paper, and shrinks after accepted steps). The
iteration stops when two successive values of the convergence sites differ by less than
``tolerance`` (relative change; the flow coefficients for the co-estimation, the
paper's criterion) and the predicted decrease
``1/2 delta^T H delta`` is below ``decrement_tolerance`` (the step is then far below one
posterior standard deviation). All step functions are jit-compiled once (per model,
site layout and array shapes: a second call with other dampings reuses them).

With the Laplace (L1) likelihood the reweighted steps converge only linearly, as the
paper's L1 fits (up to 60 iterations): raise ``max_iterations`` or loosen
``decrement_tolerance`` there; ``converged`` and the history tell how far it got.

The co-estimation's starting point (the USN field and the flow inverted from its SV) is
:func:`bayescore.models.starting_model`.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from functools import partial

import jax
import jax.numpy as jnp
import numpy as np
import numpyro.distributions as dist
from numpyro import handlers
from numpyro.distributions import constraints

from bayescore.errors import ModelConfigError
from bayescore.infer.inference_data import PointEstimateViews
from bayescore.infer.layout import BlockLayout
from bayescore.infer.optimise import join_model_kwargs, model_potential, split_model_kwargs
from bayescore.progress import progress

__all__ = ["GaussNewtonResult", "gauss_newton_map"]


@dataclass(frozen=True)
class GaussNewtonResult(PointEstimateViews):
    """Result of :func:`gauss_newton_map`.

    ``to_xarray(coords, dims, units)`` and ``to_inference_data(coords, dims, units)``
    give the MAP labelled (:class:`~bayescore.infer.inference_data.PointEstimateViews`).

    Attributes
    ----------
    values : dict of str to numpy.ndarray
        MAP value of every sampled site.
    theta : numpy.ndarray
        The same as one flat vector (:attr:`layout`, NumPyro's ravel order).
    layout : BlockLayout
    hessian : numpy.ndarray
        Gauss-Newton Hessian of the negative log posterior at the MAP (the precision of
        the Laplace approximation, :func:`bayescore.infer.laplace_from_gauss_newton`).
    potential_energy : float
        Negative log posterior density at the MAP.
    history : xarray.Dataset
        Per iteration: ``potential_energy``, ``decrement`` (predicted decrease),
        ``relative_change`` (of the convergence sites; NaN without any),
        ``lm_damping``, ``rejected_steps`` and the problem's monitored numbers (``rho``
        for the co-estimation with a flow).
    converged : bool
    n_iterations : int
    wall_time_s : float
    """

    values: dict
    theta: np.ndarray
    layout: BlockLayout
    hessian: np.ndarray
    potential_energy: float
    history: object = field(repr=False)
    converged: bool = False
    n_iterations: int = 0
    wall_time_s: float = 0.0

    def estimate_attrs(self) -> dict:
        """Attributes of the labelled views (``to_xarray``, ``to_inference_data``)."""
        return {
            "estimate": "MAP (Gauss-Newton)",
            "potential_energy": float(self.potential_energy),
            "converged": int(self.converged),
            "n_iterations": int(self.n_iterations),
        }


def _trace(model, model_args, kwargs, values):
    seeded = handlers.seed(handlers.substitute(model, data=values), 0)
    return handlers.trace(seeded).get_trace(*model_args, **kwargs)


def _prior_precision(fn, value):
    """Precision matrix of a Gaussian prior site (exact: the prior is quadratic)."""
    base = fn
    while isinstance(base, dist.Independent):
        base = base.base_dist
    if isinstance(base, dist.Normal):
        scale = jnp.broadcast_to(base.scale, jnp.shape(value))
        return jnp.diag(1.0 / scale.reshape(-1) ** 2)
    if hasattr(fn, "dense_precision"):
        return fn.dense_precision()
    shape = jnp.shape(value)
    flat = jnp.reshape(value, -1)
    return -jax.hessian(lambda v: fn.log_prob(v.reshape(shape)))(flat)


def _sampled_sites(trace) -> dict:
    return {
        name: site
        for name, site in trace.items()
        if site["type"] == "sample" and not site["is_observed"]
    }


def _factor_sites(trace) -> dict:
    return {
        name: site["infer"]["bayescore"]
        for name, site in trace.items()
        if site["type"] == "sample" and "bayescore" in site.get("infer", {})
    }


@partial(jax.jit, static_argnames=("model", "layout", "static_kwargs"))
def _value_and_grad(theta, model_args, dynamic_kwargs, *, model, layout, static_kwargs):
    return jax.value_and_grad(model_potential)(
        theta, model_args, dynamic_kwargs, model=model, layout=layout, static_kwargs=static_kwargs
    )


@partial(jax.jit, static_argnames=("model", "layout", "static_kwargs"))
def _curvature(theta, model_args, dynamic_kwargs, precomputed, *, model, layout, static_kwargs):
    """Gauss-Newton matrix of the negative log posterior at theta."""
    kwargs = join_model_kwargs(dynamic_kwargs, static_kwargs)
    values = layout.unpack(theta)
    trace = _trace(model, model_args, kwargs, values)
    hessian = jnp.zeros((layout.size, layout.size))
    for name, site in _sampled_sites(trace).items():
        sl = layout.slice(name)
        hessian = hessian.at[sl, sl].add(_prior_precision(site["fn"], site["value"]))
    all_values = {**(kwargs.get("fixed") or {}), **values}
    problem = model_args[0]
    for meta in _factor_sites(trace).values():
        options = {key: value for key, value in meta.items() if key != "kind"}
        blocks = problem.gauss_newton_blocks(meta["kind"], all_values, precomputed, **options)
        hessian = _add_blocks(hessian, layout, blocks)
    return 0.5 * (hessian + hessian.T)


def _add_blocks(hessian, layout: BlockLayout, blocks: dict):
    names = layout.names
    for (a, b), block in blocks.items():
        if a in names and b in names:
            sa, sb = layout.slice(a), layout.slice(b)
            hessian = hessian.at[sa, sb].add(block)
            if a != b:
                hessian = hessian.at[sb, sa].add(block.T)
    return hessian


def _is_real(support) -> bool:
    while hasattr(support, "base_constraint"):
        support = support.base_constraint
    return support is constraints.real


def _check_real_sites(trace) -> dict:
    """Sampled sites, after checking that they are all unconstrained reals."""
    sampled = _sampled_sites(trace)
    constrained = [name for name, site in sampled.items() if not _is_real(site["fn"].support)]
    if constrained:
        raise ModelConfigError(
            f"Gauss-Newton needs fixed dampings and real-valued sites; the model samples "
            f"{constrained} (use bayescore.infer.map_lbfgs for models with hyperpriors)"
        )
    return sampled


class _Objective:
    """Potential, gradient and Gauss-Newton matrix of a model with fixed dampings."""

    def __init__(self, model, model_args: tuple, kwargs: dict, init_values: dict):
        trace = _trace(model, model_args, kwargs, init_values)
        sampled = _check_real_sites(trace)
        self.layout = BlockLayout.from_shapes({n: s["value"].shape for n, s in sampled.items()})
        self.kinds = tuple(sorted({m["kind"] for m in _factor_sites(trace).values()}))
        if self.kinds and not hasattr(model_args[0], "gauss_newton_blocks"):
            raise ModelConfigError(
                f"the model has factor sites of kinds {list(self.kinds)}: its first argument "
                "must provide gauss_newton_precompute and gauss_newton_blocks"
            )
        self.fixed = dict(kwargs.get("fixed") or {})
        self.dynamic, static = split_model_kwargs(kwargs)
        self.statics = {"model": model, "layout": self.layout, "static_kwargs": static}

    def values(self, theta) -> dict:
        """Site values (fixed and sampled) at theta."""
        return {**self.fixed, **self.layout.unpack(theta)}

    def value_and_grad(self, theta, model_args):
        return _value_and_grad(theta, model_args, self.dynamic, **self.statics)

    def precompute(self, theta, model_args):
        """Host-side part of the curvature (the problem's hook; nothing without factors)."""
        if not self.kinds:
            return jnp.zeros((0, 0))
        return model_args[0].gauss_newton_precompute(self.values(theta), self.kinds)

    def curvature(self, theta, model_args):
        return _curvature(
            theta, model_args, self.dynamic, self.precompute(theta, model_args), **self.statics
        )

    def solve(self, hessian, gradient, mu):
        return _damped_solve(hessian, gradient, mu)


@jax.jit
def _damped_solve(hessian, gradient, mu):
    scale = jnp.sqrt(jnp.maximum(jnp.diag(hessian), 1e-300))
    normalised = hessian / scale[:, None] / scale[None, :]
    matrix = normalised + mu * jnp.eye(hessian.shape[0])
    chol = jnp.linalg.cholesky(matrix)
    step = jax.scipy.linalg.cho_solve((chol, True), -gradient / scale) / scale
    ok = jnp.all(jnp.isfinite(step))
    return step, ok


def _monitored_vector(layout: BlockLayout, theta, names):
    names = [n for n in sorted(names) if n in layout.names]
    if not names:
        return None
    return np.concatenate([np.asarray(theta)[layout.slice(n)] for n in names])


def gauss_newton_map(
    model,
    *model_args,
    model_kwargs: dict | None = None,
    init_values: dict | None = None,
    max_iterations: int = 50,
    tolerance: float = 1e-6,
    decrement_tolerance: float = 1e-8,
    max_rejections: int = 30,
    progress_bar: bool = False,
) -> GaussNewtonResult:
    """MAP of a NumPyro model by Gauss-Newton / Levenberg-Marquardt iterations.

    Parameters
    ----------
    model : callable
        NumPyro model with real-valued sites, e.g.
        :func:`bayescore.models.coestimation_model` or :func:`~bayescore.models.usn_model`.
        Factor sites with ``infer["bayescore"]`` metadata need the hooks of the module
        notes on the first positional argument.
    *model_args
        Positional arguments of the model (e.g. a
        :class:`bayescore.models.CoestimationProblem`), traced.
    model_kwargs : dict, optional
        Keyword arguments of the model (fixed dampings, ``fixed`` sites). Hyperpriors are
        not supported here (use :func:`bayescore.infer.map_lbfgs`).
    init_values : dict, optional
        Starting values of the sampled sites; missing ones start at zero. For the
        co-estimation use :func:`bayescore.models.starting_model` (far starts diverge,
        as in the paper). The iterations are deterministic (no seed).
    max_iterations : int, default 50
    tolerance : float, default 1e-6
        Relative change of the convergence sites (the flow coefficients of the
        co-estimation: the paper's criterion) between two iterations below which they
        count as converged.
    decrement_tolerance : float, default 1e-8
        Largest predicted decrease ``1/2 delta^T H delta`` of the negative log posterior
        at convergence (dimensionless: a step of about 1e-4 posterior standard deviation).
    max_rejections : int, default 30
        Levenberg-Marquardt retries per iteration before giving up.
    progress_bar : bool, default False
        Report progress (lines off a terminal).

    Returns
    -------
    GaussNewtonResult

    Raises
    ------
    ModelConfigError
        Sites that are not real-valued (hyperpriors), or factor sites without hooks.
    RuntimeError
        No step lowers the objective after ``max_rejections`` increases of the damping.
    """
    import xarray as xr

    start_time = time.perf_counter()
    kwargs = dict(model_kwargs or {})
    init_values = dict(init_values or {})
    # discover the sites (zeros for missing ones) with a first trace
    probe = _trace(model, model_args, kwargs, init_values)
    shapes = {n: s["value"].shape for n, s in _check_real_sites(probe).items()}
    start = {
        n: jnp.asarray(init_values.get(n, jnp.zeros(shape)), dtype=float)
        for n, shape in shapes.items()
    }
    objective = _Objective(model, model_args, kwargs, start)
    layout = objective.layout
    problem = model_args[0] if model_args else None
    monitored_sites = tuple(getattr(problem, "convergence_sites", ()))
    monitor = getattr(problem, "gauss_newton_monitor", None)
    theta = layout.pack(start)
    value, gradient = objective.value_and_grad(theta, model_args)
    mu = 0.0
    records = []
    converged = False
    old = _monitored_vector(layout, theta, monitored_sites)
    has_monitored = old is not None
    iterations = progress(range(max_iterations), desc="Gauss-Newton", enabled=progress_bar)
    n_done = 0
    hessian = None
    for _ in iterations:
        n_done += 1
        hessian = objective.curvature(theta, model_args)
        rejected = 0
        while True:
            step, ok = objective.solve(hessian, gradient, mu)
            if bool(ok):
                candidate = theta + step
                new_value, new_gradient = objective.value_and_grad(candidate, model_args)
                lower = float(new_value) <= float(value) + 1e-12 * abs(float(value))
                # at the optimum to rounding a step may not lower U measurably: accept it
                negligible = mu == 0.0 and float(-0.5 * gradient @ step) < decrement_tolerance
                if bool(jnp.isfinite(new_value)) and (lower or negligible):
                    break
            rejected += 1
            if rejected > max_rejections:
                raise RuntimeError(
                    f"Gauss-Newton: no step lowers the objective after {max_rejections} "
                    "Levenberg-Marquardt increases (start too far from the optimum?)"
                )
            mu = 1e-6 if mu == 0.0 else 10.0 * mu
        decrement = float(-0.5 * gradient @ step)
        theta, value, gradient = candidate, new_value, new_gradient
        mu = 0.0 if mu <= 1e-9 else mu / 10.0
        if has_monitored:
            new = _monitored_vector(layout, theta, monitored_sites)
            norm = max(float(np.linalg.norm(new)), 1e-300)
            change = float(np.linalg.norm(new - old)) / norm
            old = new
        else:
            change = 0.0
        record = {
            "potential_energy": float(value),
            "decrement": decrement,
            "relative_change": change if has_monitored else np.nan,
            "lm_damping": mu,
            "rejected_steps": rejected,
        }
        if monitor is not None:
            record.update(monitor(objective.values(theta)))
        records.append(record)
        if decrement < decrement_tolerance and change < tolerance:
            converged = True
            break
    hessian = objective.curvature(theta, model_args)
    history = xr.Dataset(
        {
            key: ("iteration", np.array([r.get(key, np.nan) for r in records], dtype=float))
            for key in records[0]
        },
        coords={"iteration": np.arange(1, len(records) + 1)},
        attrs={"converged": int(converged), "tolerance": tolerance},
    )
    values = {k: np.asarray(v) for k, v in layout.unpack(theta).items()}
    return GaussNewtonResult(
        values=values,
        theta=np.asarray(theta),
        layout=layout,
        hessian=np.asarray(hessian),
        potential_energy=float(value),
        history=history,
        converged=converged,
        n_iterations=n_done,
        wall_time_s=time.perf_counter() - start_time,
    )
