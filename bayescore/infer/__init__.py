"""Inference for bayescore's NumPyro models.

* :func:`gauss_newton_map`: MAP by iterative linearisation (the paper's method), with
  :func:`starting_model` (USN field + flow inverted from its SV);
* :func:`map_lbfgs`: MAP by optax L-BFGS on any model's potential energy;
* :func:`laplace_approximation`, :func:`laplace_from_gauss_newton`: Gaussian approximation
  at the MAP;
* :func:`run_nuts`: NUTS, whitened by the Laplace approximation, chains in parallel across
  devices when available;
* :func:`to_inference_data`, :func:`sampling_diagnostics`,
  :func:`coestimation_diagnostics`, :func:`save_inference_data`: ArviZ output and
  diagnostics (r_hat, ESS, divergences, BFMI, rho, misfits).
"""

from bayescore.infer.gauss_newton import GaussNewtonResult, gauss_newton_map, starting_model
from bayescore.infer.inference_data import (
    bfmi,
    coestimation_diagnostics,
    misfit_table,
    sampling_diagnostics,
    save_inference_data,
    to_inference_data,
)
from bayescore.infer.laplace import LaplaceResult, laplace_approximation, laplace_from_gauss_newton
from bayescore.infer.linear_gaussian import gaussian_posterior
from bayescore.infer.nuts import NUTSResult, default_chain_method, run_nuts
from bayescore.infer.optimise import MAPResult, map_lbfgs

__all__ = [
    "GaussNewtonResult",
    "LaplaceResult",
    "MAPResult",
    "NUTSResult",
    "bfmi",
    "coestimation_diagnostics",
    "default_chain_method",
    "gauss_newton_map",
    "gaussian_posterior",
    "laplace_approximation",
    "laplace_from_gauss_newton",
    "map_lbfgs",
    "misfit_table",
    "run_nuts",
    "sampling_diagnostics",
    "save_inference_data",
    "starting_model",
    "to_inference_data",
]
