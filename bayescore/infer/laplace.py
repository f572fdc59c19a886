"""Laplace approximation of a posterior at its mode.

The posterior is approximated by the Gaussian ``N(x*, H^-1)`` in NumPyro's unconstrained
space, with x* the MAP and H the Hessian of the potential energy there: the exact Hessian
(:func:`laplace_approximation`, automatic differentiation, fine up to a few thousand
parameters) or the Gauss-Newton matrix of :func:`bayescore.infer.gauss_newton_map`
(:func:`laplace_from_gauss_newton`, cheap at any size; for the Gaussian likelihood it
differs from the exact Hessian only by the frozen-flux residual's second-order term,
which vanishes with the residual). For a linear-Gaussian model (the flow with the field
held fixed, the USN model with Gaussian data) the approximation is exact.

The result also provides the square root ``S`` of the covariance (``S S^T = H^-1``, from
the Cholesky factor of H) used by :func:`bayescore.infer.run_nuts` to whiten the
posterior for the sampler.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import jax
import jax.numpy as jnp
import numpy as np

from bayescore.errors import ModelConfigError, NotAModeError
from bayescore.infer.inference_data import labelled_dataset, to_inference_data
from bayescore.infer.layout import BlockLayout
from bayescore.infer.optimise import (
    model_constrain,
    model_hessian,
    split_model_kwargs,
    unconstrained_init,
)

__all__ = ["LaplaceResult", "laplace_approximation", "laplace_from_gauss_newton"]


@dataclass(frozen=True)
class LaplaceResult:
    """Gaussian approximation ``N(mean, covariance)`` in the unconstrained space.

    Attributes
    ----------
    mean : numpy.ndarray, shape (n,)
        The MAP as a flat unconstrained vector (sites in sorted name order).
    precision : numpy.ndarray, shape (n, n)
        The Hessian H of the potential energy at the MAP.
    scale : numpy.ndarray, shape (n, n)
        ``S = R^-T`` with ``H = R R^T``, so that ``S S^T = H^-1``.
    layout : BlockLayout
        Names and shapes of the sites in the flat vector.
    values : dict of str to numpy.ndarray
        The MAP in the constrained space (with deterministic sites).
    postprocess : callable or None
        Maps one flat unconstrained vector to the dict of constrained values (None: the
        sites are unconstrained reals, ``layout.unpack``).
    """

    mean: np.ndarray
    precision: np.ndarray
    scale: np.ndarray
    layout: BlockLayout
    values: dict
    postprocess: object = field(default=None, repr=False)

    @property
    def covariance(self) -> np.ndarray:
        """``H^-1`` in the unconstrained space."""
        return self.scale @ self.scale.T

    @property
    def sd(self) -> np.ndarray:
        """Marginal standard deviations in the unconstrained space, shape (n,)."""
        return np.sqrt(np.sum(self.scale**2, axis=1))

    def site_sd(self) -> dict:
        """Marginal standard deviations per site (unconstrained space)."""
        return {k: np.asarray(v) for k, v in self.layout.unpack(self.sd).items()}

    def constrain(self, flat) -> dict:
        """Constrained site values (and deterministic sites) for flat unconstrained vectors.

        Parameters
        ----------
        flat : array_like, shape (..., n)

        Returns
        -------
        dict of str to numpy.ndarray with leading dims ``...``
        """
        flat = jnp.asarray(flat)
        if self.postprocess is None:
            return {k: np.asarray(v) for k, v in self.layout.unpack(flat).items()}
        lead = flat.shape[:-1]
        batch = flat.reshape((-1, flat.shape[-1]))
        values = jax.vmap(self.postprocess)(batch)
        return {k: np.asarray(v).reshape(lead + np.shape(v)[1:]) for k, v in values.items()}

    def sample(self, num_samples: int, seed: int = 0) -> dict:
        """Draws from the approximation, mapped to the constrained space.

        Parameters
        ----------
        num_samples : int
        seed : int, default 0
            Seed of the standard normal draws (``jax.random.PRNGKey(seed)``).

        Returns
        -------
        dict of str to numpy.ndarray, each of shape (num_samples, ...)
        """
        z = jax.random.normal(jax.random.PRNGKey(seed), (int(num_samples), self.mean.size))
        flat = jnp.asarray(self.mean) + z @ jnp.asarray(self.scale).T
        return self.constrain(flat)

    def to_xarray(self, coords=None, dims=None, units=None):
        """The MAP and the marginal standard deviations as an :class:`xarray.Dataset`.

        Parameters
        ----------
        coords : dict, optional
            Labels per dimension name.
        dims : dict, optional
            Dimension names per site.
        units : dict, optional
            ``units`` attribute per site. For a co-estimation problem pass
            ``**problem.site_labels()``.

        Returns
        -------
        xarray.Dataset
            One variable per site (the MAP, :attr:`values`) and ``<site>_sd`` (the
            Laplace posterior standard deviation, unconstrained space: the same as the
            constrained one for real-valued sites).
        """
        units = dict(units or {})
        dims = dict(dims or {})
        sd = {f"{name}_sd": value for name, value in self.site_sd().items()}
        return labelled_dataset(
            {**self.values, **sd},
            coords=coords,
            dims={**dims, **{f"{name}_sd": dims[name] for name in self.site_sd() if name in dims}},
            units={**units, **{f"{n}_sd": units[n] for n in self.site_sd() if n in units}},
            attrs={"estimate": "Laplace approximation at the MAP"},
        )

    def to_inference_data(
        self, num_samples: int = 1000, seed: int = 0, coords=None, dims=None, units=None
    ):
        """Draws of the approximation as ArviZ InferenceData (one chain).

        Parameters
        ----------
        num_samples : int, default 1000
            Number of draws.
        seed : int, default 0
            Seed of the draws (:meth:`sample`).
        coords, dims, units : dict, optional
            As :meth:`to_xarray`.

        Returns
        -------
        arviz.InferenceData
            Posterior of shape (1 chain, ``num_samples`` draws, ...).
        """
        draws = self.sample(num_samples, seed=seed)
        return to_inference_data(
            {name: value[None] for name, value in draws.items()},
            coords=coords,
            dims=dims,
            units=units,
            attrs={"estimate": "Laplace approximation draws", "seed": int(seed)},
        )


def _factorise(precision) -> np.ndarray:
    precision = jnp.asarray(precision, dtype=float)
    precision = 0.5 * (precision + precision.T)
    chol = jnp.linalg.cholesky(precision)
    if not bool(jnp.all(jnp.isfinite(chol))):
        raise NotAModeError(
            "the Hessian at the MAP is not positive definite: the point is not a local "
            "maximum of the posterior (optimisation not converged?)"
        )
    eye = jnp.eye(precision.shape[0])
    inverse = jax.scipy.linalg.solve_triangular(chol, eye, lower=True)  # R^-1
    return np.asarray(inverse.T)  # S = R^-T


def laplace_approximation(
    model,
    *model_args,
    model_kwargs: dict | None = None,
    map_values: dict,
    hessian="exact",
) -> LaplaceResult:
    """Laplace approximation of a NumPyro model's posterior at a given MAP.

    Parameters
    ----------
    model : callable
        NumPyro model.
    *model_args
        Its positional arguments.
    model_kwargs : dict, optional
        Its keyword arguments.
    map_values : dict
        The MAP in the constrained space (e.g. ``MAPResult.values``), all latent sites:
        the point of the approximation, not a starting value (the drivers' starting
        values are ``init_values``). The function is deterministic (no seed).
    hessian : "exact" or array_like, default "exact"
        ``"exact"``: the Hessian of the potential energy by automatic differentiation;
        or a precision matrix in NumPyro's flat unconstrained order.

    Returns
    -------
    LaplaceResult

    Raises
    ------
    NotAModeError
        The Hessian at ``map_values`` is not positive definite.
    ModelConfigError
        A bad ``hessian`` argument.
    """
    mean, layout = unconstrained_init(model, model_args, model_kwargs, map_values)
    dynamic, static = split_model_kwargs(model_kwargs)
    statics = {"model": model, "layout": layout, "static_kwargs": static}
    if isinstance(hessian, str):
        if hessian != "exact":
            raise ModelConfigError(f"hessian must be 'exact' or a matrix, got {hessian!r}")
        precision = model_hessian(mean, model_args, dynamic, **statics)
    else:
        precision = jnp.asarray(hessian, dtype=float)
        if precision.shape != (mean.size, mean.size):
            raise ModelConfigError(
                f"hessian must have shape ({mean.size}, {mean.size}), got {precision.shape}"
            )

    def postprocess(flat):
        return model_constrain(flat, model_args, dynamic, **statics)

    constrained = postprocess(mean)
    return LaplaceResult(
        mean=np.asarray(mean),
        precision=np.asarray(precision),
        scale=_factorise(precision),
        layout=layout,
        values={k: np.asarray(v) for k, v in constrained.items()},
        postprocess=postprocess,
    )


def laplace_from_gauss_newton(result) -> LaplaceResult:
    """Laplace approximation from a :class:`bayescore.infer.GaussNewtonResult`.

    The Gauss-Newton Hessian at the MAP is the precision; the sites are all real-valued
    (fixed dampings), so the unconstrained and constrained spaces coincide.

    Parameters
    ----------
    result : GaussNewtonResult

    Returns
    -------
    LaplaceResult
    """
    return LaplaceResult(
        mean=np.asarray(result.theta),
        precision=np.asarray(result.hessian),
        scale=_factorise(result.hessian),
        layout=result.layout,
        values=dict(result.values),
        postprocess=None,
    )
