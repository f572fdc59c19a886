"""Inference for NumPyro models (model-agnostic, as NumPyro's own ``infer``).

Drivers
-------
* :func:`gauss_newton_map`: MAP by iterative linearisation (the method of Lesur et al.
  2010, Earth Planets Space 62, 503), for models with real-valued sites; factor sites
  get their curvature from hooks of the model's first argument (module notes of
  :mod:`bayescore.infer.gauss_newton`);
* :func:`map_lbfgs`: MAP by optax L-BFGS on any model's potential energy;
* :func:`laplace_approximation`, :func:`laplace_from_gauss_newton`: Gaussian approximation
  at the MAP;
* :func:`gaussian_posterior` and the block-tridiagonal solvers of
  :mod:`bayescore.infer.linear_gaussian`: exact posteriors of linear-Gaussian problems;
* :func:`run_nuts`: NUTS, whitened by the Laplace approximation, chains in parallel across
  devices when available.

Calling convention
------------------
Every driver is called as ``driver(model, *model_args, model_kwargs=None, **options)``:

* ``model``: the NumPyro model (a callable); ``*model_args``: its positional arguments
  (e.g. a :class:`bayescore.models.CoestimationProblem`), traced, not baked in;
  ``model_kwargs``: a dict of its keyword arguments (dampings, ``fixed`` sites,
  ``hyperpriors``), always passed by keyword;
* every option is keyword-only;
* starting values are ``init_values`` (a dict of site values in the constrained space:
  :func:`gauss_newton_map`, :func:`map_lbfgs`, :func:`run_nuts`);
  :func:`laplace_approximation` takes the mode itself as ``map_values``;
* randomness is a ``seed: int`` (``jax.random.PRNGKey(seed)``): :func:`map_lbfgs`
  (initialisation of sites without starting values), :func:`run_nuts` and
  :meth:`LaplaceResult.sample`; :func:`gauss_newton_map` and
  :func:`laplace_approximation` are deterministic.

Results
-------
:class:`GaussNewtonResult`, :class:`MAPResult` and :class:`LaplaceResult` hold dicts of
bare arrays (``values``) and give labelled views: ``to_xarray(coords, dims, units)`` (an
:class:`xarray.Dataset`, one variable per site) and ``to_inference_data(coords, dims,
units)`` (ArviZ: the MAP as one chain of one draw, the Laplace approximation as draws);
:class:`NUTSResult` carries its :class:`arviz.InferenceData`. For a co-estimation problem
the labels are ``**problem.site_labels()``.

Output and diagnostics
----------------------
:func:`to_inference_data`, :func:`labelled_dataset`, :func:`sampling_diagnostics`,
:func:`bfmi`, :func:`save_inference_data` (r_hat, ESS, divergences, BFMI). The
co-estimation's own diagnostics (rho, misfits) are
:func:`bayescore.models.coestimation_diagnostics` and
:func:`bayescore.models.misfit_table`.
"""

from bayescore.infer.gauss_newton import GaussNewtonResult, gauss_newton_map
from bayescore.infer.inference_data import (
    bfmi,
    labelled_dataset,
    sampling_diagnostics,
    sampling_summary,
    save_inference_data,
    to_inference_data,
)
from bayescore.infer.laplace import LaplaceResult, laplace_approximation, laplace_from_gauss_newton
from bayescore.infer.layout import BlockLayout
from bayescore.infer.linear_gaussian import gaussian_posterior
from bayescore.infer.nuts import NUTSResult, default_chain_method, run_nuts
from bayescore.infer.optimise import MAPResult, map_lbfgs

__all__ = [
    "BlockLayout",
    "GaussNewtonResult",
    "LaplaceResult",
    "MAPResult",
    "NUTSResult",
    "bfmi",
    "default_chain_method",
    "gauss_newton_map",
    "labelled_dataset",
    "gaussian_posterior",
    "laplace_approximation",
    "laplace_from_gauss_newton",
    "map_lbfgs",
    "run_nuts",
    "sampling_diagnostics",
    "sampling_summary",
    "save_inference_data",
    "to_inference_data",
]
