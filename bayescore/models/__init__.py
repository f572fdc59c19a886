"""Probabilistic (NumPyro) models of the core field and flow.

* :func:`coestimation_model`: the core field co-estimated with a core flow under a weak
  frozen-flux constraint (Lesur et al. 2010, Earth Planets Space 62, 503: BSN with the
  strong norm, WSN with the weak norm);
* :func:`usn_model`: the field-only baseline with a temporal roughness prior (eq. 30);
* :func:`flow_inversion_model`: the linear flow-only problem at one epoch (field known),
  whose posterior is :func:`bayescore.flow.invert_flow`'s exact Gaussian.

The first two take a :class:`CoestimationProblem` from :func:`build_problem` (its data
term: :class:`FieldData`); :func:`starting_model` gives the paper's start of the
iterations, :func:`misfit_table` and :func:`coestimation_diagnostics` the misfits and the
frozen-flux ratio rho (:func:`frozen_flux_ratio`, eq. 31);
:meth:`CoestimationProblem.site_labels` the coordinates, dimension names and units of
labelled outputs. Inference lives in :mod:`bayescore.infer`.

Modules: :mod:`~bayescore.models.field_data` (data term), :mod:`~bayescore.models.problem`
and :mod:`~bayescore.models.build` (the problem), :mod:`~bayescore.models.coestimation`
(the model and its primitives), :mod:`~bayescore.models.usn`,
:mod:`~bayescore.models.starting`, :mod:`~bayescore.models.diagnostics`,
:mod:`~bayescore.models.parametrisation` (labels, block prior),
:mod:`~bayescore.models.flow_inversion`.
"""

from bayescore.layout import BlockLayout
from bayescore.models.build import build_problem
from bayescore.models.coestimation import DEFAULT_DAMPINGS, coestimation_model
from bayescore.models.diagnostics import coestimation_diagnostics, misfit_table
from bayescore.models.field_data import FieldData
from bayescore.models.flow_inversion import (
    FlowInversionProblem,
    flow_inversion_model,
    flow_inversion_problem,
    posterior_agreement,
)
from bayescore.models.parametrisation import TimeBlockGaussian, flow_labels, gauss_labels
from bayescore.models.problem import (
    FIELD_SITES,
    FLOW_SITES,
    LIKELIHOODS,
    CoestimationProblem,
    frozen_flux_ratio,
)
from bayescore.models.starting import starting_model
from bayescore.models.usn import DEFAULT_USN_DAMPINGS, usn_model
from bayescore.timebasis import TimeBasis, bspline_time_basis, legendre_time_basis

__all__ = [
    "DEFAULT_DAMPINGS",
    "DEFAULT_USN_DAMPINGS",
    "FIELD_SITES",
    "FLOW_SITES",
    "LIKELIHOODS",
    "BlockLayout",
    "CoestimationProblem",
    "FieldData",
    "FlowInversionProblem",
    "TimeBasis",
    "TimeBlockGaussian",
    "build_problem",
    "bspline_time_basis",
    "coestimation_diagnostics",
    "coestimation_model",
    "flow_inversion_model",
    "flow_inversion_problem",
    "flow_labels",
    "frozen_flux_ratio",
    "gauss_labels",
    "legendre_time_basis",
    "misfit_table",
    "posterior_agreement",
    "starting_model",
    "usn_model",
]
