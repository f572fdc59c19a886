"""The single-epoch frozen-flux flow inversion as a plain NumPyro model.

:func:`bayescore.flow.inversion.invert_flow` minimises

    Phi(x) = 1/2 (gdot - A x)^T W (gdot - A x) + lambda x^T N x,

for the flow ``x = [t, s]`` (km/yr) given the main field g (through the frozen-flux
matrix ``A = [E | G]``), the SV ``gdot`` (nT/yr, zero-padded to L_SV), the diagonal SV
weights W ((nT/yr)^-2), the spatial-norm weights N and the damping lambda. Read as a
posterior ``p(x | gdot) ~ exp(-Phi(x))`` this is

* prior: ``t, s ~ N(0, (2 lambda N)^-1)``, independent per coefficient;
* likelihood: ``gdot ~ N(A x, W^-1)`` (equations with zero weight are masked out).

:func:`flow_inversion_model` writes exactly that density as a NumPyro model, so the
generic inference of :mod:`bayescore.infer` (Laplace approximation, NUTS whitened by it)
can be checked against the closed-form Gaussian posterior
``N((A^T W A + 2 lambda N)^-1 A^T W gdot, (A^T W A + 2 lambda N)^-1)`` of
:func:`~bayescore.flow.inversion.invert_flow` (:func:`posterior_agreement`). Build the
problem from an inversion result with :func:`flow_inversion_problem`, which takes its SV,
weights, damping and norm, so the two describe the same posterior.
"""

from __future__ import annotations

from dataclasses import dataclass

import jax
import jax.numpy as jnp
import numpy as np
import numpyro
import numpyro.distributions as dist

from bayescore.errors import CoefficientShapeError, NonFiniteError
from bayescore.flow.norms import coefficient_weights
from bayescore.models.parametrisation import flow_labels
from bayescore.sh.indexing import n_coefficients

__all__ = [
    "FlowInversionProblem",
    "flow_inversion_model",
    "flow_inversion_problem",
    "posterior_agreement",
]


@dataclass(frozen=True)
class FlowInversionProblem:
    """Arrays of the single-epoch flow inversion (a JAX pytree).

    Build it with :func:`flow_inversion_problem`.

    Attributes
    ----------
    design : jax.Array, shape (L_SV(L_SV+2), 2 L_F(L_F+2))
        Frozen-flux matrix ``[E | G]`` of the main field, nT/yr per km/yr.
    sv : jax.Array, shape (L_SV(L_SV+2),)
        SV coefficients at a (zero above the SV model's degree), nT/yr.
    sv_weights : jax.Array, shape (L_SV(L_SV+2),)
        Diagonal W, (nT/yr)^-2 (the precision of the SV equations).
    norm_weights : jax.Array, shape (L_F(L_F+2),)
        Spatial-norm weights N of one flow scalar (the same for t and s).
    damping : jax.Array, scalar
        lambda, in the units that make ``lambda x^T N x`` dimensionless.
    lmax_flow : int
        L_F.
    norm : str
        ``"strong"``, ``"weak"`` or ``"energy"``.
    """

    design: jax.Array
    sv: jax.Array
    sv_weights: jax.Array
    norm_weights: jax.Array
    damping: jax.Array
    lmax_flow: int
    norm: str

    @property
    def n_flow(self) -> int:
        """L_F(L_F+2): coefficients of t (and of s)."""
        return n_coefficients(self.lmax_flow)

    @property
    def prior_sd(self) -> jax.Array:
        """Prior standard deviation of each t (and s) coefficient, km/yr: (2 lambda N)^-1/2."""
        return 1.0 / jnp.sqrt(2.0 * self.damping * self.norm_weights)

    def coords(self) -> dict:
        """Coefficient labels for labelled outputs (``t_1_0, t_1_1, t_1_-1, ...``)."""
        return {
            "toroidal_coeff": flow_labels(self.lmax_flow, "t"),
            "poloidal_coeff": flow_labels(self.lmax_flow, "s"),
        }

    def dims(self) -> dict:
        """Dimension names of the sample sites (ArviZ ``dims``)."""
        return {"toroidal": ["toroidal_coeff"], "poloidal": ["poloidal_coeff"]}

    def exact_posterior(self) -> tuple[np.ndarray, np.ndarray]:
        """Closed-form Gaussian posterior of ``x = [t, s]``.

        Returns
        -------
        mean : numpy.ndarray, shape (2 L_F(L_F+2),)
            ``(A^T W A + 2 lambda N)^-1 A^T W gdot``, km/yr.
        covariance : numpy.ndarray, shape (2 L_F(L_F+2), 2 L_F(L_F+2))
            ``(A^T W A + 2 lambda N)^-1``, (km/yr)^2.
        """
        return tuple(np.asarray(v) for v in _exact_posterior(self))


@jax.jit
def _exact_posterior(problem: FlowInversionProblem):
    design = problem.design
    weighted = design * problem.sv_weights[:, None]
    prior = 2.0 * problem.damping * jnp.concatenate([problem.norm_weights] * 2)
    precision = design.T @ weighted + jnp.diag(prior)
    factor = jax.scipy.linalg.cho_factor(precision, lower=True)
    mean = jax.scipy.linalg.cho_solve(factor, weighted.T @ problem.sv)
    covariance = jax.scipy.linalg.cho_solve(factor, jnp.eye(precision.shape[0]))
    return mean, 0.5 * (covariance + covariance.T)


jax.tree_util.register_dataclass(
    FlowInversionProblem,
    data_fields=["design", "sv", "sv_weights", "norm_weights", "damping"],
    meta_fields=["lmax_flow", "norm"],
)


def flow_inversion_problem(g, inversion) -> FlowInversionProblem:
    """The NumPyro problem of a single-epoch flow inversion, from its exact solution.

    Parameters
    ----------
    g : array_like, shape (L_B(L_B+2),)
        The main field used in the inversion, Gauss coefficients at a (nT).
    inversion : bayescore.flow.inversion.FlowInversionResult
        From :func:`bayescore.flow.inversion.invert_flow` with that field: its SV data,
        SV weights, damping, norm and degrees define the posterior.

    Returns
    -------
    FlowInversionProblem

    Raises
    ------
    CoefficientShapeError
        If ``g`` does not give a frozen-flux matrix of the inversion's shape.
    NonFiniteError
        If ``g`` holds NaN or infinite values.
    """
    from bayescore.flow.inversion import flow_design_matrix

    g = np.asarray(g, dtype=float)
    if g.ndim != 1:
        raise CoefficientShapeError(f"g must be a 1-D coefficient vector, got shape {g.shape}")
    if not np.all(np.isfinite(g)):
        raise NonFiniteError("the main field g contains NaN or infinite values")
    lmax_flow, lmax_sv = int(inversion.lmax_flow), int(inversion.lmax_sv)
    design = flow_design_matrix(g, lmax_flow, lmax_sv)
    n_flow, n_sv = n_coefficients(lmax_flow), n_coefficients(lmax_sv)
    if design.shape != (n_sv, 2 * n_flow) or np.shape(inversion.sv) != (n_sv,):
        raise CoefficientShapeError(
            f"the frozen-flux matrix of g has shape {design.shape} but the inversion has "
            f"{np.shape(inversion.sv)[0]} SV equations and {2 * n_flow} flow coefficients"
        )
    return FlowInversionProblem(
        design=jnp.asarray(design),
        sv=jnp.asarray(inversion.sv, dtype=float),
        sv_weights=jnp.asarray(inversion.sv_weights, dtype=float),
        norm_weights=jnp.asarray(coefficient_weights(lmax_flow, inversion.norm)),
        damping=jnp.asarray(float(inversion.damping)),
        lmax_flow=lmax_flow,
        norm=str(inversion.norm),
    )


def flow_inversion_model(problem: FlowInversionProblem) -> None:
    """NumPyro model of the single-epoch flow inversion (module notes).

    Parameters
    ----------
    problem : FlowInversionProblem

    Notes
    -----
    Sample sites ``toroidal`` and ``poloidal`` (shape (L_F(L_F+2),), km/yr) with priors
    ``N(0, (2 lambda N)^-1)``; observed site ``sv``: ``N(A [t, s], W^-1)``, masked where
    W = 0. The negative log joint density is invert_flow's objective Phi(x) plus a
    constant.
    """
    prior = dist.Normal(0.0, problem.prior_sd).to_event(1)
    toroidal = numpyro.sample("toroidal", prior)
    poloidal = numpyro.sample("poloidal", prior)
    predicted = problem.design @ jnp.concatenate([toroidal, poloidal])
    observed = problem.sv_weights > 0
    scale = 1.0 / jnp.sqrt(jnp.where(observed, problem.sv_weights, 1.0))
    numpyro.sample("sv", dist.Normal(predicted, scale).mask(observed).to_event(1), obs=problem.sv)


def posterior_agreement(toroidal, poloidal, mean, covariance) -> dict:
    """How closely posterior draws of ``t, s`` match a Gaussian posterior.

    Parameters
    ----------
    toroidal, poloidal : array_like, shape (..., L_F(L_F+2))
        Draws (e.g. chain, draw, coefficient), km/yr.
    mean : array_like, shape (2 L_F(L_F+2),)
        The exact posterior mean of ``[t, s]`` (e.g. ``FlowInversionResult.vector``).
    covariance : array_like, shape (2 L_F(L_F+2), 2 L_F(L_F+2))
        The exact posterior covariance.

    Returns
    -------
    dict
        ``max_abs_mean_difference_sd``: the largest ``|mean(draws) - mean| / sd`` over the
        coefficients (sd the exact standard deviation); ``sd_ratio_min`` and
        ``sd_ratio_max``: the range of ``std(draws) / sd``; ``n_draws``.
    """
    toroidal = np.asarray(toroidal, dtype=float)
    poloidal = np.asarray(poloidal, dtype=float)
    if toroidal.shape != poloidal.shape:
        raise CoefficientShapeError(
            f"toroidal and poloidal draws differ in shape: {toroidal.shape}, {poloidal.shape}"
        )
    draws = np.concatenate([toroidal, poloidal], axis=-1).reshape(-1, 2 * toroidal.shape[-1])
    mean = np.asarray(mean, dtype=float)
    sd = np.sqrt(np.diag(np.asarray(covariance, dtype=float)))
    if mean.shape != (draws.shape[1],) or sd.shape != mean.shape:
        raise CoefficientShapeError(
            f"the exact posterior has {mean.size} coefficients, the draws {draws.shape[1]}"
        )
    z = (draws.mean(axis=0) - mean) / sd
    ratio = draws.std(axis=0, ddof=1) / sd
    return {
        "max_abs_mean_difference_sd": float(np.max(np.abs(z))),
        "sd_ratio_min": float(np.min(ratio)),
        "sd_ratio_max": float(np.max(ratio)),
        "n_draws": int(draws.shape[0]),
    }
