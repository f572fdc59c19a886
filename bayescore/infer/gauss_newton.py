"""MAP estimation by iterative linearisation (Gauss-Newton / Levenberg-Marquardt).

Lesur et al. (2010, eq. 20) minimise their objective by linearising the frozen-flux
residual ``r_i = gdot_i - A(g_i) u_i`` around the current (g_k, u_k) and solving the
resulting linear least-squares problem for (dg, du), with the data misfit (linear in g)
and the flow norms (quadratic) kept exact. That is the Gauss-Newton method on the joint
objective, which here is the negative log posterior ``U`` of a bayescore NumPyro model
(:func:`bayescore.models.coestimation_model`, :func:`~bayescore.models.usn_model`):

* the gradient of ``U`` is computed by automatic differentiation of NumPyro's potential
  energy, so the fixed point is exactly the model's MAP;
* the curvature is the Gauss-Newton matrix: the exact precision of every Gaussian prior
  site, the data's normal equations (Gaussian likelihood; for the Laplace and Student-t
  likelihoods the iteratively reweighted least-squares weights, as the paper's L1 fits),
  and ``2 lambda_1 sum_i w_i J_i^T W J_i`` for the frozen-flux factor (from
  :meth:`bayescore.models.CoestimationProblem.frozen_flux_gauss_newton`).

A step ``(H + mu diag(H)) delta = -grad U`` is accepted when it lowers ``U``; otherwise the
Levenberg-Marquardt damping ``mu`` grows tenfold and the step is retried (``mu`` starts at
0, a pure Gauss-Newton step as in the paper, and shrinks after accepted steps). The
iteration stops when two successive flows differ by less than ``tolerance`` (relative
change of the flow coefficients, the paper's criterion) and the predicted decrease
``1/2 delta^T H delta`` is below ``decrement_tolerance`` (the step is then far below one
posterior standard deviation). All step functions are jit-compiled once (per model,
site layout and array shapes: a second call with other dampings reuses them).

With the Laplace (L1) likelihood the reweighted steps converge only linearly, as the
paper's L1 fits (up to 60 iterations): raise ``max_iterations`` or loosen
``decrement_tolerance`` there; ``converged`` and the history tell how far it got.

:func:`starting_model` builds the paper's start: the USN field (one Gauss-Newton step: the
USN model is linear-Gaussian) and the flow inverted from its SV (the co-estimation model
with the field held fixed: linear in the flow), and fixes Lesur's SV weights there.
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

from bayescore.infer.optimise import join_model_kwargs, model_potential, split_model_kwargs
from bayescore.models.coestimation import FIELD_SITES, CoestimationProblem, coestimation_model
from bayescore.models.parametrisation import BlockLayout, TimeBlockGaussian
from bayescore.models.usn import usn_model
from bayescore.progress import progress

__all__ = ["GaussNewtonResult", "gauss_newton_map", "starting_model"]


@dataclass(frozen=True)
class GaussNewtonResult:
    """Result of :func:`gauss_newton_map`.

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
        ``flow_change`` (relative), ``lm_damping``, ``rejected_steps``, ``rho`` (when
        the model has a flow).
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


def _trace(model, problem, kwargs, values):
    seeded = handlers.seed(handlers.substitute(model, data=values), 0)
    return handlers.trace(seeded).get_trace(problem, **kwargs)


def _prior_precision(fn, value):
    """Precision matrix of a Gaussian prior site (exact: the prior is quadratic)."""
    base = fn
    while isinstance(base, dist.Independent):
        base = base.base_dist
    if isinstance(base, dist.Normal):
        scale = jnp.broadcast_to(base.scale, jnp.shape(value))
        return jnp.diag(1.0 / scale.reshape(-1) ** 2)
    if isinstance(fn, TimeBlockGaussian):
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
def _value_and_grad(theta, problem, dynamic_kwargs, *, model, layout, static_kwargs):
    return jax.value_and_grad(model_potential)(
        theta, (problem,), dynamic_kwargs, model=model, layout=layout, static_kwargs=static_kwargs
    )


@partial(jax.jit, static_argnames=("model", "layout", "static_kwargs"))
def _curvature(theta, problem, dynamic_kwargs, data_hessian, *, model, layout, static_kwargs):
    """Gauss-Newton matrix of the negative log posterior at theta."""
    kwargs = join_model_kwargs(dynamic_kwargs, static_kwargs)
    values = layout.unpack(theta)
    trace = _trace(model, problem, kwargs, values)
    hessian = jnp.zeros((layout.size, layout.size))
    for name, site in _sampled_sites(trace).items():
        sl = layout.slice(name)
        hessian = hessian.at[sl, sl].add(_prior_precision(site["fn"], site["value"]))
    all_values = {**(kwargs.get("fixed") or {}), **values}
    for meta in _factor_sites(trace).values():
        if meta["kind"] == "data":
            hessian = _add_blocks(hessian, layout, _field_blocks(problem, data_hessian))
        elif meta["kind"] == "frozen_flux":
            blocks = problem.frozen_flux_gauss_newton(
                all_values["core"], all_values["toroidal"], all_values["poloidal"]
            )
            scale = 2.0 * meta["scale"]
            hessian = _add_blocks(
                hessian, layout, {key: scale * block for key, block in blocks.items()}
            )
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


@jax.jit
def _irls_weights(data, x):
    return data.irls_weights(x)


def _is_real(support) -> bool:
    while hasattr(support, "base_constraint"):
        support = support.base_constraint
    return support is constraints.real


def _check_real_sites(trace) -> dict:
    """Sampled sites, after checking that they are all unconstrained reals."""
    sampled = _sampled_sites(trace)
    constrained = [name for name, site in sampled.items() if not _is_real(site["fn"].support)]
    if constrained:
        raise ValueError(
            f"Gauss-Newton needs fixed dampings and real-valued sites; the model samples "
            f"{constrained} (use bayescore.infer.map_lbfgs for models with hyperpriors)"
        )
    return sampled


class _Objective:
    """Potential, gradient and Gauss-Newton matrix of a model with fixed dampings."""

    def __init__(self, model, problem: CoestimationProblem, kwargs: dict, init: dict):
        trace = _trace(model, problem, kwargs, init)
        sampled = _check_real_sites(trace)
        self.layout = BlockLayout.from_shapes({n: s["value"].shape for n, s in sampled.items()})
        self.has_data = any(m["kind"] == "data" for m in _factor_sites(trace).values())
        self.fixed = dict(kwargs.get("fixed") or {})
        self.dynamic, static = split_model_kwargs(kwargs)
        self.statics = {"model": model, "layout": self.layout, "static_kwargs": static}

    def value_and_grad(self, theta, problem):
        return _value_and_grad(theta, problem, self.dynamic, **self.statics)

    def data_hessian(self, theta, problem):
        """Normal matrix of the data term at theta (constant for the Gaussian likelihood)."""
        if not self.has_data:
            return jnp.zeros((0, 0))
        data = problem.data
        if data.likelihood == "gaussian":
            return data.hessian
        values = {**self.fixed, **self.layout.unpack(theta)}
        weights = _irls_weights(data, problem.field_vector(values))
        hessian, _, _ = data.normal_equations(np.asarray(weights))
        return hessian

    def curvature(self, theta, problem):
        return _curvature(
            theta, problem, self.dynamic, self.data_hessian(theta, problem), **self.statics
        )

    def solve(self, hessian, gradient, mu):
        return _damped_solve(hessian, gradient, mu)


def _field_blocks(problem, data_hessian) -> dict:
    layout = problem.data.layout
    names = layout.names
    blocks = {}
    for i, a in enumerate(names):
        for b in names[i:]:
            blocks[(a, b)] = data_hessian[layout.slice(a), layout.slice(b)]
    return blocks


@jax.jit
def _damped_solve(hessian, gradient, mu):
    scale = jnp.sqrt(jnp.maximum(jnp.diag(hessian), 1e-300))
    normalised = hessian / scale[:, None] / scale[None, :]
    matrix = normalised + mu * jnp.eye(hessian.shape[0])
    chol = jnp.linalg.cholesky(matrix)
    step = jax.scipy.linalg.cho_solve((chol, True), -gradient / scale) / scale
    ok = jnp.all(jnp.isfinite(step))
    return step, ok


def _flow_vector(layout: BlockLayout, theta):
    names = [n for n in ("poloidal", "toroidal") if n in layout.names]
    if not names:
        return None
    return np.concatenate([np.asarray(theta)[layout.slice(n)] for n in names])


def gauss_newton_map(
    model,
    problem: CoestimationProblem,
    model_kwargs: dict | None = None,
    *,
    init: dict | None = None,
    max_iterations: int = 50,
    tolerance: float = 1e-6,
    decrement_tolerance: float = 1e-8,
    max_rejections: int = 30,
    progress_bar: bool = False,
) -> GaussNewtonResult:
    """MAP of a bayescore model by Gauss-Newton / Levenberg-Marquardt iterations.

    Parameters
    ----------
    model : callable
        :func:`bayescore.models.coestimation_model` or :func:`~bayescore.models.usn_model`
        (or a model built from the same sites and factors).
    problem : CoestimationProblem
    model_kwargs : dict, optional
        Keyword arguments of the model (fixed dampings, ``fixed`` sites). Hyperpriors are
        not supported here (use :func:`bayescore.infer.map_lbfgs`).
    init : dict, optional
        Starting values of the sampled sites; missing ones start at zero. For the
        co-estimation use :func:`starting_model` (far starts diverge, as in the paper).
    max_iterations : int, default 50
    tolerance : float, default 1e-6
        Relative change of the flow coefficients between two iterations below which the
        flow counts as converged (the paper's criterion).
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
    """
    import xarray as xr

    start_time = time.perf_counter()
    kwargs = dict(model_kwargs or {})
    init = dict(init or {})
    # discover the sites (zeros for missing ones) with a first trace
    probe = _trace(model, problem, kwargs, init)
    shapes = {n: s["value"].shape for n, s in _check_real_sites(probe).items()}
    start = {
        n: jnp.asarray(init.get(n, jnp.zeros(shape)), dtype=float) for n, shape in shapes.items()
    }
    objective = _Objective(model, problem, kwargs, start)
    layout = objective.layout
    theta = layout.pack(start)
    value, gradient = objective.value_and_grad(theta, problem)
    mu = 0.0
    records = []
    converged = False
    flow_old = _flow_vector(layout, theta)
    has_flow = flow_old is not None
    iterations = progress(range(max_iterations), desc="Gauss-Newton", enabled=progress_bar)
    n_done = 0
    hessian = None
    for _ in iterations:
        n_done += 1
        hessian = objective.curvature(theta, problem)
        rejected = 0
        while True:
            step, ok = objective.solve(hessian, gradient, mu)
            if bool(ok):
                candidate = theta + step
                new_value, new_gradient = objective.value_and_grad(candidate, problem)
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
        flow_new = _flow_vector(layout, theta)
        if has_flow:
            norm = max(float(np.linalg.norm(flow_new)), 1e-300)
            flow_change = float(np.linalg.norm(flow_new - flow_old)) / norm
            flow_old = flow_new
        else:
            flow_change = 0.0
        record = {
            "potential_energy": float(value),
            "decrement": decrement,
            "flow_change": flow_change if has_flow else np.nan,
            "lm_damping": mu,
            "rejected_steps": rejected,
        }
        if has_flow and problem.sv_weights is not None:
            values = {**objective.fixed, **layout.unpack(theta)}
            record["rho"] = float(
                _rho(problem, values["core"], values["toroidal"], values["poloidal"])
            )
        records.append(record)
        if decrement < decrement_tolerance and flow_change < tolerance:
            converged = True
            break
    hessian = objective.curvature(theta, problem)
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


@jax.jit
def _rho(problem, core, toroidal, poloidal):
    return problem.frozen_flux_misfit(core, toroidal, poloidal) / problem.frozen_flux_misfit(
        core, jnp.zeros_like(toroidal), jnp.zeros_like(poloidal)
    )


def starting_model(
    problem: CoestimationProblem,
    coestimation_kwargs: dict | None = None,
    usn_kwargs: dict | None = None,
    *,
    truncation_variance: float = 0.5,
    representation_scale: float = 1.0,
    sv_weight_scheme: str = "lesur",
):
    """The paper's starting point: the USN field and the flow inverted from its SV.

    Parameters
    ----------
    problem : CoestimationProblem
        With a flow; its SV weights are (re)set from the USN field.
    coestimation_kwargs : dict, optional
        Dampings of :func:`bayescore.models.coestimation_model` (fixed values).
    usn_kwargs : dict, optional
        Dampings of :func:`bayescore.models.usn_model`.
    truncation_variance, representation_scale : float
        Lesur weights (:meth:`CoestimationProblem.with_lesur_weights`).
    sv_weight_scheme : {"lesur", "uniform", "cmb"}

    Returns
    -------
    problem : CoestimationProblem
        A copy with the SV weights fixed from the USN model.
    init : dict
        Starting values of all sites (USN field, inverted flow).
    usn : GaussNewtonResult
        The USN fit.
    """
    usn = gauss_newton_map(usn_model, problem, usn_kwargs)
    problem = problem.with_lesur_weights(
        usn.values["core"], truncation_variance, representation_scale, sv_weight_scheme
    )
    field_values = {k: v for k, v in usn.values.items() if k in FIELD_SITES}
    kwargs = dict(coestimation_kwargs or {})
    kwargs["fixed"] = {**field_values, **(kwargs.get("fixed") or {})}
    flow = gauss_newton_map(coestimation_model, problem, kwargs)
    init = {**field_values, **flow.values}
    return problem, init, usn
