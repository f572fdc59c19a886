"""Co-estimation of the core field and flow on synthetic or user data, end to end.

The workflow of ``bayescore coestimate`` and of the gallery example on the posterior of a
co-estimated flow (Lesur et al. 2010, Earth Planets Space 62, 503): vector data (CHAMP-like
synthetic data simulated from a frozen-flux truth, or a user file in the long format of
:mod:`bayescore.observations`), the co-estimation problem
(:func:`bayescore.models.build_problem`), the paper's starting model and the MAP by
Gauss-Newton iterations (:func:`bayescore.infer.gauss_newton_map`), optionally the
Laplace approximation there and NUTS whitened by it, then the SV and SA Lowes spectra at
the CMB (against the truth for synthetic data), the misfit per data source and Lesur's
frozen-flux ratio rho (eq. 31).

:func:`run_coestimation_study` returns a :class:`CoestimationStudyResult`: labelled
outputs (:meth:`~CoestimationStudyResult.to_xarray`,
:meth:`~CoestimationStudyResult.to_inference_data`), a JSON-ready summary
(:meth:`~CoestimationStudyResult.to_dict`), figures and
:meth:`~CoestimationStudyResult.save`. :func:`check_problem_memory` refuses, before any
computation, problems whose arrays cannot fit in memory.

Modules: :mod:`~bayescore.studies.coestimation.checks` (span, epoch, memory),
:mod:`~bayescore.studies.coestimation.study` (the workflow),
:mod:`~bayescore.studies.coestimation.outputs` (spectra, misfit, labelled estimate),
:mod:`~bayescore.studies.coestimation.result`, :mod:`~bayescore.studies.coestimation.figures`.
"""

from __future__ import annotations

from bayescore.coestimation_settings import DEFAULT_SPAN
from bayescore.studies.coestimation.checks import (
    check_problem_memory,
    default_lmax_sv,
    problem_memory_bytes,
    resolve_span_and_epoch,
)
from bayescore.studies.coestimation.figures import spectra_figure, trace_figure
from bayescore.studies.coestimation.outputs import (
    labelled_estimate,
    misfit_by_source,
    spectra_at_cmb,
)
from bayescore.studies.coestimation.result import NORM_NAMES, CoestimationStudyResult
from bayescore.studies.coestimation.study import (
    LAPLACE_DRAWS,
    METHODS,
    run_coestimation_study,
    truth_rms_speed,
)

__all__ = [
    "DEFAULT_SPAN",
    "LAPLACE_DRAWS",
    "METHODS",
    "NORM_NAMES",
    "CoestimationStudyResult",
    "check_problem_memory",
    "default_lmax_sv",
    "labelled_estimate",
    "misfit_by_source",
    "problem_memory_bytes",
    "resolve_span_and_epoch",
    "run_coestimation_study",
    "spectra_at_cmb",
    "spectra_figure",
    "trace_figure",
    "truth_rms_speed",
]
