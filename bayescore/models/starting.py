"""The starting model of the co-estimation (Lesur et al. 2010, Earth Planets Space 62, 503).

The paper starts its Gauss-Newton iterations from the USN field model (eq. 30) and the
flow inverted from that model's secular variation, and fixes the representation-error
weights of the frozen-flux term (eqs. 24-29) at that start. Both steps are linear (the USN
model with Gaussian data; the flow with the field held fixed), so one Gauss-Newton step
each finds them. The MAP solver is :func:`bayescore.infer.gauss_newton_map`, imported when
the function runs (the inference layer sits above the models).
"""

from __future__ import annotations

from bayescore.models.coestimation import coestimation_model
from bayescore.models.problem import FIELD_SITES, CoestimationProblem
from bayescore.models.usn import usn_model

__all__ = ["starting_model"]


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
    truncation_variance : float, default 0.5
        SV power per degree above L_B, (nT/yr)^2 (paper eq. 27).
    representation_scale : float, default 1
        The constant k of eq. 26.
    sv_weight_scheme : {"lesur", "uniform", "cmb"}
        SV weights (:meth:`CoestimationProblem.with_lesur_weights`).

    Returns
    -------
    problem : CoestimationProblem
        A copy with the SV weights fixed from the USN model.
    init_values : dict
        Starting values of all sites (USN field, inverted flow), for the ``init_values``
        of :func:`bayescore.infer.gauss_newton_map`.
    usn : bayescore.infer.GaussNewtonResult
        The USN fit.
    """
    from bayescore.infer.gauss_newton import gauss_newton_map

    usn = gauss_newton_map(usn_model, problem, model_kwargs=usn_kwargs)
    problem = problem.with_lesur_weights(
        usn.values["core"], truncation_variance, representation_scale, sv_weight_scheme
    )
    field_values = {k: v for k, v in usn.values.items() if k in FIELD_SITES}
    kwargs = dict(coestimation_kwargs or {})
    kwargs["fixed"] = {**field_values, **(kwargs.get("fixed") or {})}
    flow = gauss_newton_map(coestimation_model, problem, model_kwargs=kwargs)
    init_values = {**field_values, **flow.values}
    return problem, init_values, usn
