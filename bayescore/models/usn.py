"""The USN field-only baseline (Lesur et al. 2010, Earth Planets Space 62, 503, eq. 30).

The "usual" field model: the same data, field parametrisation and likelihood as the
co-estimation (:mod:`bayescore.models.coestimation`), no flow, and a roughness prior in
time on the radial field at the CMB. The paper follows its GRIMM model without printing
eq. 30; bayescore uses the common pair

    R_span = int_span <(d^2 Br/dt^2)^2>_CMB dt,
    R_ends = <(d^2 Br/dt^2)^2>_CMB at t_0 + the same at t_1,

where ``<.>_CMB`` is the mean over the CMB sphere: for Gauss coefficients at a,
``<f^2> = sum_l (l+1)^2 (a/c)^(2l+4) / (2l+1) sum_m fdot..._lm^2`` (units (nT/yr^2)^2,
so R_span is in nT^2/yr^3 and R_ends in nT^2/yr^4). The prior is
``exp(-lambda_span R_span - lambda_ends R_ends)`` times the broad Gaussian of the
co-estimation (which alone constrains the constant and linear parts in time, untouched
by the second derivative); as a Gaussian on each core coefficient's time-basis block its
precision is ``diag(1/sd^2) + 2 w_l (lambda_span int psi'' psi''^T dt + lambda_ends
sum_ends psi'' psi''^T)``. It is normalised (:class:`TimeBlockGaussian`), so the dampings
may get hyperpriors. The model is linear-Gaussian for the Gaussian likelihood: its
posterior is exactly Gaussian and one Gauss-Newton step finds the MAP.
"""

from __future__ import annotations

from bayescore.models.coestimation import damping, field_sites
from bayescore.models.problem import CoestimationProblem

__all__ = ["DEFAULT_USN_DAMPINGS", "usn_model"]

#: Default USN dampings: lambda_span (yr^3/nT^2) and lambda_ends (yr^4/nT^2). The values
#: allow a mean square SA at the CMB of order 1e5 (nT/yr^2)^2; tune them for real work.
DEFAULT_USN_DAMPINGS = {"lambda_span": 1.0e-5, "lambda_ends": 1.0e-6}


def usn_model(
    problem: CoestimationProblem,
    lambda_span=DEFAULT_USN_DAMPINGS["lambda_span"],
    lambda_ends=DEFAULT_USN_DAMPINGS["lambda_ends"],
    *,
    hyperpriors: dict | None = None,
    fixed: dict | None = None,
):
    """NumPyro model of the field alone with a temporal roughness prior (paper's USN).

    Parameters
    ----------
    problem : CoestimationProblem
        From :func:`bayescore.models.build_problem` (a flow, if any, is ignored).
    lambda_span : float, default 1e-5
        Damping of the span-integrated mean square of d^2 Br/dt^2 at the CMB (yr^3/nT^2).
    lambda_ends : float, default 1e-6
        Damping of the same at the span's two end points (yr^4/nT^2).
    hyperpriors : dict, optional
        ``{"lambda_span" | "lambda_ends": (low, high)}``: log-uniform hyperpriors.
    fixed : dict, optional
        Field blocks held fixed.

    Notes
    -----
    Sites ``core`` and the optional ``static``, ``external``, ``bias``; factor ``data``.
    """
    lam_span = damping("lambda_span", lambda_span, hyperpriors)
    lam_ends = damping("lambda_ends", lambda_ends, hyperpriors)
    field_sites(problem, fixed, core_prior=problem.usn_core_prior(lam_span, lam_ends))
