"""Bayesian co-estimation of the core field and the core flow (Lesur et al. 2010).

The regularised least-squares problem of Lesur et al. (2010), Earth Planets Space 62, 503,
is written as a NumPyro model; inference is separate (:mod:`bayescore.infer`). The data
term lives in :mod:`bayescore.models.field_data`, the precomputed problem in
:mod:`bayescore.models.problem` (built by :func:`bayescore.models.build_problem`); this
module holds the model and its building blocks (:func:`damping`, :func:`site`,
:func:`factor`, :func:`field_sites`).

Parameters (NumPyro sample sites, all real-valued)
--------------------------------------------------
``core`` (N_t, L_B(L_B+2))
    Gauss coefficients (nT at a = 6371.2 km) of the core field on a time basis:
    ``g(t) = psi(t) @ core`` (:mod:`bayescore.timebasis`; Legendre
    polynomials of degree N_t - 1 on the span by default, the paper's choice).
``static`` (n(L_static) - n(L_B),)
    Optional static internal (lithospheric) field of degrees L_B+1..L_static, nT.
``external`` (3,)
    Optional static external degree-1 field (q10, q11, s11), nT
    (:func:`bayescore.fields.external_dipole_field`).
``bias`` (3 n_sites,)
    Optional static crustal offsets of the observatory components, nT.
``toroidal``, ``poloidal`` (N_tF, L_F(L_F+2))
    Flow coefficients (km/yr) at the CMB on their own (or the same) time basis.

Density (fixed dampings; the negative log posterior is the paper's objective up to the
factor conventions stated here)
-------------------------------------------------------------------------------------
* Data: Gaussian ``value ~ N(prediction, sigma^2)`` (L2), Laplace with scale sigma (the
  paper's L1 misfit) or Student-t with scale sigma. The Gaussian likelihood is evaluated
  from normal equations precomputed once (:class:`~bayescore.models.FieldData`): the data
  are linear in the field parameters, so
  ``-2 log L = (x - x_ref)^T H (x - x_ref) - 2 b^T (x - x_ref) + chi2(x_ref) + const``
  costs O(n_params^2) per evaluation, whatever the number of data.
  ``x_ref`` is a damped least-squares solution; centring there keeps the numbers small
  (``chi2(x_ref)`` is computed directly from the residuals).
* Frozen flux (paper eqs. 15, 18): a factor ``exp(-Phi_1)`` with
  ``Phi_1 = lambda_1 sum_i w_i r_i^T W r_i``, ``r_i = gdot(t_i) - A(g(t_i)) u(t_i)`` on
  Gauss-Legendre nodes t_i that integrate the residual's square (a piecewise polynomial
  in time) exactly, W the SV weights of :mod:`bayescore.flow.weights` (Lesur's by
  default). It is normalised as a Gaussian pseudo-likelihood of zero-valued residuals with
  precision ``2 lambda_1 w_i W`` (adds ``1/2 sum log(lambda_1 w_i W_j / pi)``), so that a
  hyperprior on lambda_1 is meaningful. Lesur's representation-error weights depend on
  the SV; they are **held fixed** at the values computed from the starting model (the
  time average over the nodes of its SV power per degree,
  `CoestimationProblem.with_lesur_weights`), which keeps the density a fixed
  function of the parameters.
* Flow priors (paper eqs. 21-23): zero-mean Gaussian with precision
  ``2 lambda_2 (M (x) N) + 2 lambda_3 (M' (x) N_t)`` per toroidal and poloidal block, M and
  M' the Gram matrices of the flow's time basis and its derivative, N the spatial norm's
  weights (strong, weak or kinetic energy) and N_t the temporal-norm weights
  (:mod:`bayescore.flow.norms`): ``lambda_2 int_span norm(u) dt + lambda_3 int_span int_S
  |du/dt|^2 dS dt``, both integrated over the span.
* Field priors: broad independent Gaussians, per degree, meant to be weakly informative:
  core coefficients of degree l have standard deviation
  ``sqrt(R / ((l+1)(2l+1))) (c/a)^(l+2)`` with a flat CMB spectrum ``R = 1e13 nT^2`` per
  degree (100 to 1e4 times the geomagnetic core spectrum), the same for every time-basis
  function; lithospheric coefficients ``sqrt(R_lith / ((l+1)(2l+1)))`` with
  ``R_lith = 1e3 nT^2`` at a; external coefficients 100 nT; observatory offsets 1000 nT.

The dampings are arguments (floats) or get log-uniform hyperpriors
(``hyperpriors={"lambda_space": (low, high), ...}``).
"""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np
import numpyro
import numpyro.distributions as dist

from bayescore.coestimation_settings import DEFAULT_DAMPINGS
from bayescore.errors import ModelConfigError
from bayescore.models.problem import CoestimationProblem

__all__ = [
    "DEFAULT_DAMPINGS",
    "coestimation_model",
    "damping",
    "factor",
    "field_sites",
    "site",
]


def damping(name: str, value, hyperpriors):
    """A damping: the fixed ``value`` or a log-uniform hyperprior sample site ``name``.

    ``hyperpriors`` maps damping names to ``(low, high)`` bounds (same units as the
    damping); a name present there gets ``numpyro.sample(name, LogUniform(low, high))``.
    """
    if hyperpriors and name in hyperpriors:
        low, high = (float(v) for v in hyperpriors[name])
        if not (0 < low < high):
            raise ModelConfigError(
                f"hyperprior bounds of {name} must satisfy 0 < low < high, got {(low, high)}"
            )
        return numpyro.sample(name, dist.LogUniform(low, high))
    if not isinstance(value, jax.core.Tracer):  # a concrete value: check it here
        number = np.asarray(value, dtype=float)
        # lambda_time may be 0 (no temporal smoothing: the prior stays proper); the
        # frozen-flux weight and the spatial norm must be positive or the density is improper
        lowest_ok = 0.0 if name == "lambda_time" else np.nextafter(0.0, 1.0)
        if number.ndim != 0 or not np.isfinite(number) or number < lowest_ok:
            need = "non-negative" if name == "lambda_time" else "positive"
            raise ModelConfigError(f"{name} must be a {need} finite number, got {value!r}")
    return jnp.asarray(value, dtype=float)


def site(name: str, prior, fixed):
    """Sample site ``name`` from ``prior`` unless ``fixed`` holds its value."""
    if fixed and name in fixed:
        return jnp.asarray(fixed[name], dtype=float)
    return numpyro.sample(name, prior)


def factor(name: str, log_factor, **gauss_newton):
    """``numpyro.factor`` that also records metadata for the Gauss-Newton solver.

    The metadata (e.g. ``kind="frozen_flux", scale=lambda_1``) is stored in the site's
    ``infer["bayescore"]`` entry: :func:`bayescore.infer.gauss_newton_map` passes it to
    the problem's curvature hook (``CoestimationProblem.gauss_newton_blocks``).
    """
    unit = dist.Unit(log_factor)
    numpyro.sample(
        name, unit, obs=unit.sample(None), infer={"is_auxiliary": True, "bayescore": gauss_newton}
    )


def field_sites(problem: CoestimationProblem, fixed=None, core_prior=None) -> dict:
    """Sample (or take from ``fixed``) the field blocks and add the data likelihood."""
    priors = {
        "core": (lambda: core_prior) if core_prior is not None else problem.core_prior,
        "static": problem.static_prior,
        "external": problem.external_prior,
        "bias": problem.bias_prior,
    }
    values = {name: site(name, priors[name](), fixed) for name in problem.field_sites}
    if not (fixed and all(name in fixed for name in problem.field_sites)):
        factor(
            "data",
            problem.data.log_likelihood(problem.field_vector(values)),
            kind="data",
        )
    return values


def coestimation_model(
    problem: CoestimationProblem,
    lambda_frozen_flux=DEFAULT_DAMPINGS["lambda_frozen_flux"],
    lambda_space=None,
    lambda_time=DEFAULT_DAMPINGS["lambda_time"],
    *,
    hyperpriors: dict | None = None,
    fixed: dict | None = None,
):
    """NumPyro model of the core field and flow co-estimation (BSN/WSN of Lesur et al.).

    Parameters
    ----------
    problem : CoestimationProblem
        From :func:`build_problem` (with a flow) and SV weights set
        (:meth:`CoestimationProblem.with_lesur_weights`).
    lambda_frozen_flux : float, default 1e4
        lambda_1 of the frozen-flux term, 1/yr (W a precision in (nT/yr)^-2 and node
        weights in years: Phi_1 = lambda_1 sum_i w_i r_i^T W r_i).
    lambda_space : float, optional
        lambda_2 (B or W) of the spatial flow norm integrated over the span; default
        from :data:`DEFAULT_DAMPINGS` for the problem's norm.
    lambda_time : float, default 1e-8
        lambda_3 of the temporal flow norm, yr^3/km^4.
    hyperpriors : dict, optional
        ``{"lambda_frozen_flux" | "lambda_space" | "lambda_time": (low, high)}``: replace
        the fixed damping by a log-uniform hyperprior on [low, high].
    fixed : dict, optional
        Site values held fixed (not sampled), e.g. ``{"core": ...}`` for the linear flow
        problem with a known field. A fully fixed field drops the (constant) data term.

    Notes
    -----
    Sites: ``core``, optional ``static``, ``external``, ``bias``, ``toroidal``,
    ``poloidal`` (and the dampings given hyperpriors); factors ``data`` and
    ``frozen_flux``. See the module docstring for the density.
    """
    if not problem.has_flow:
        raise ModelConfigError(
            "the problem has no flow (lmax_flow=0): use bayescore.models.usn_model"
        )
    if lambda_space is None:
        lambda_space = DEFAULT_DAMPINGS["lambda_space"][problem.norm]
    lam_ff = damping("lambda_frozen_flux", lambda_frozen_flux, hyperpriors)
    lam_space = damping("lambda_space", lambda_space, hyperpriors)
    lam_time = damping("lambda_time", lambda_time, hyperpriors)
    values = field_sites(problem, fixed)
    flow_prior = problem.flow_prior(lam_space, lam_time)
    toroidal = site("toroidal", flow_prior, fixed)
    poloidal = site("poloidal", flow_prior, fixed)
    factor(
        "frozen_flux",
        problem.frozen_flux_log_factor(values["core"], toroidal, poloidal, lam_ff),
        kind="frozen_flux",
        scale=lam_ff,
    )
