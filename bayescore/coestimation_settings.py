"""Plain settings of the co-estimation model, importable without JAX.

:mod:`bayescore.models` re-exports these (``bayescore.models.DEFAULT_DAMPINGS``,
``bayescore.models.LIKELIHOODS``); they live here so that the command line can show
them in ``bayescore coestimate --help`` without importing JAX (the
:mod:`bayescore.models` package imports JAX and NumPyro when it is imported).
Equations: Lesur et al. (2010), Earth Planets Space 62, 503.
"""

from __future__ import annotations

__all__ = ["DEFAULT_DAMPINGS", "DEFAULT_SPAN", "LIKELIHOODS"]

#: Model span (decimal years) of synthetic data when none is given
#: (:func:`bayescore.studies.coestimation.run_coestimation_study`, ``bayescore coestimate``).
DEFAULT_SPAN = (2004.5, 2005.5)
#: Data likelihoods understood by :func:`bayescore.models.build_problem`.
LIKELIHOODS = ("gaussian", "laplace", "student-t")

#: Default dampings of :func:`bayescore.models.coestimation_model`. Units (every term of
#: the negative log posterior is dimensionless): lambda_frozen_flux 1/yr (W in
#: (nT/yr)^-2, node weights in yr); lambda_space yr for the strong norm (1/yr^2
#: integrated over the span) and yr/km^2 for the weak and energy norms; lambda_time
#: yr^3/km^4. The values give flows of order 10 km/yr at degree 1 over a one-year span;
#: tune them to a target (rms speed, rho, misfit) for real work.
DEFAULT_DAMPINGS = {
    "lambda_frozen_flux": 1.0e4,
    "lambda_space": {"strong": 1.0e3, "weak": 3.0e-4, "energy": 5.0e-3},
    "lambda_time": 1.0e-8,
}
