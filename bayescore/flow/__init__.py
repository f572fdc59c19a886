"""Core-surface flow under the frozen-flux hypothesis.

Flow representation (:mod:`~bayescore.flow.velocity`), the frozen-flux SV operator
(:mod:`~bayescore.flow.operator`), flow norms (:mod:`~bayescore.flow.norms`), Lesur's SV
weights (:mod:`~bayescore.flow.weights`), diagnostics (:mod:`~bayescore.flow.diagnostics`),
the single-epoch flow problem (:mod:`~bayescore.flow.problem`), linear-Gaussian flow
inversion (:mod:`~bayescore.flow.inversion`), the choice of its damping
(:mod:`~bayescore.flow.damping`), series of epochs (:mod:`~bayescore.flow.series`), site time
series
(:mod:`~bayescore.flow.sites`), posterior flow uncertainty on a grid
(:mod:`~bayescore.flow.uncertainty`) and figures (:mod:`~bayescore.flow.plotting`).

Units: t, s in km/yr at the CMB (c = 3485 km); Gauss coefficients in nT and SV in nT/yr at
a = 6371.2 km.
"""

from bayescore.flow.damping import damping_tradeoff, find_damping_for_rms
from bayescore.flow.diagnostics import (
    flow_statistics,
    hemispheric_drift,
    kinetic_energy_spectrum,
    summarise,
)
from bayescore.flow.inversion import invert_flow
from bayescore.flow.operator import field_matrix, frozen_flux_matrix, sv_from_flow
from bayescore.flow.series import invert_flow_series
from bayescore.flow.sites import site_velocities
from bayescore.flow.uncertainty import (
    credible_interval_coverage,
    flow_posterior_statistics,
    flow_samples_at,
    velocity_basis,
)
from bayescore.flow.velocity import Flow, velocity

__all__ = [
    "Flow",
    "credible_interval_coverage",
    "damping_tradeoff",
    "field_matrix",
    "find_damping_for_rms",
    "flow_posterior_statistics",
    "flow_samples_at",
    "flow_statistics",
    "frozen_flux_matrix",
    "hemispheric_drift",
    "invert_flow",
    "invert_flow_series",
    "kinetic_energy_spectrum",
    "site_velocities",
    "summarise",
    "sv_from_flow",
    "velocity",
    "velocity_basis",
]
