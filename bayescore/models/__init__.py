"""Probabilistic (NumPyro) models of the core field and flow.

* :func:`coestimation_model`: the core field co-estimated with a core flow under a weak
  frozen-flux constraint (Lesur et al. 2010, BSN with the strong norm, WSN with the weak
  norm);
* :func:`usn_model`: the field-only baseline with a temporal roughness prior (eq. 30);
* :func:`flow_inversion_model`: the linear flow-only problem at one epoch (field known),
  whose posterior is :func:`bayescore.flow.invert_flow`'s exact Gaussian.

Both take a :class:`CoestimationProblem` from :func:`build_problem`; inference lives in
:mod:`bayescore.infer`.
"""

from bayescore.models.coestimation import (
    DEFAULT_DAMPINGS,
    LIKELIHOODS,
    CoestimationProblem,
    FieldData,
    build_problem,
    coestimation_model,
    frozen_flux_ratio,
)
from bayescore.models.flow_inversion import (
    FlowInversionProblem,
    flow_inversion_model,
    flow_inversion_problem,
    posterior_agreement,
)
from bayescore.models.parametrisation import (
    BlockLayout,
    TimeBasis,
    TimeBlockGaussian,
    bspline_time_basis,
    flow_labels,
    gauss_labels,
    legendre_time_basis,
)
from bayescore.models.usn import DEFAULT_USN_DAMPINGS, usn_model

__all__ = [
    "DEFAULT_DAMPINGS",
    "DEFAULT_USN_DAMPINGS",
    "LIKELIHOODS",
    "BlockLayout",
    "CoestimationProblem",
    "FieldData",
    "FlowInversionProblem",
    "TimeBasis",
    "TimeBlockGaussian",
    "build_problem",
    "bspline_time_basis",
    "coestimation_model",
    "flow_inversion_model",
    "flow_inversion_problem",
    "flow_labels",
    "frozen_flux_ratio",
    "gauss_labels",
    "legendre_time_basis",
    "posterior_agreement",
    "usn_model",
]
