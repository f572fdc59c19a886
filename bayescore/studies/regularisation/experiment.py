"""The synthetic experiment: data, truth and problem of the paper's Section 4 setup.

See :mod:`bayescore.studies.regularisation` for the study's overview.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import xarray as xr

from bayescore.constants import CORE_RADIUS_KM
from bayescore.fields.spectrum import lowes_spectrum
from bayescore.flow.diagnostics import flow_statistics
from bayescore.models import (
    CoestimationProblem,
    build_problem,
)
from bayescore.sh.indexing import degree_order_arrays, resize_coefficients
from bayescore.studies.regularisation.mapping import _symmetrised
from bayescore.studies.regularisation.settings import _A, _EPOCH, _SPAN

__all__ = [
    "SyntheticExperiment",
    "initial_field",
    "synthetic_experiment",
]


@dataclass(frozen=True)
class SyntheticExperiment:
    """A frozen-flux truth, data simulated from it and the co-estimation problem.

    Attributes
    ----------
    truth : bayescore.synthetic.FrozenFluxTruth
    data : xarray.Dataset
        Long-format data (:func:`bayescore.synthetic.make_dataset`).
    problem : CoestimationProblem
        Built with the strong norm and no SV weights yet.
    epoch : float
        Epoch of the spectra (decimal years; 2005.4 as in the paper).
    settings : dict
        The sizes and options used.
    """

    truth: object
    data: xr.Dataset
    problem: CoestimationProblem
    epoch: float
    settings: dict

    def to_dict(self) -> dict:
        """JSON-friendly summary (settings, number of data, truth flow statistics)."""
        t, s = self.truth.flow(self.epoch)
        stats = {k: float(v) for k, v in flow_statistics(t, s).items() if np.ndim(v) == 0}
        return {
            "settings": dict(self.settings),
            "epoch": self.epoch,
            "n_data": int(self.data.sizes["datum"]),
            "truth_flow": stats,
        }


def synthetic_experiment(
    lmax: int = 6,
    n_time: int = 5,
    n_satellite: int = 600,
    n_observatory_sites: int = 20,
    observatory_interval_days: float = 30.0,
    target_rms_km_yr: float = 8.0,
    lmax_sv: int | None = 6,
    *,
    span: tuple[float, float] = _SPAN,
    epoch: float = _EPOCH,
    sigma_nT=None,
    seed: int = 1,
) -> SyntheticExperiment:
    """Simulate the paper's setting: a frozen-flux truth, data, and the problem.

    Defaults are :data:`SMALL_EXPERIMENT`; ``synthetic_experiment(**PAPER_EXPERIMENT)``
    gives the paper's size.

    Parameters
    ----------
    lmax : int
        L_B = L_F of the truth and of the model.
    n_time : int
        N_t, Legendre polynomials in time over the span (the paper: 5).
    n_satellite, n_observatory_sites : int
        Satellite vector measurements and observatories (:func:`make_dataset`).
    observatory_interval_days : float
        Observatory averaging window, days.
    target_rms_km_yr : float
        Rms speed of the truth's flow (strong-norm inversion of IGRF-14's SV), km/yr.
    lmax_sv : int or None
        L_SV of the frozen-flux equations (None: L_B + L_F, the paper's choice).
    span : (float, float)
        Model and data span, decimal years (the paper's 2004.87-2005.94).
    epoch : float
        Epoch of the spectra and of the truth's initial condition (2005.4).
    sigma_nT : float or mapping, optional
        Noise standard deviation (default 2 nT satellite, 3 nT observatory).
    seed : int
        Seed of the truth's flow changes and of the data.

    Returns
    -------
    SyntheticExperiment
    """
    from bayescore.synthetic import frozen_flux_truth, make_dataset

    sigma = {"satellite": 2.0, "observatory": 3.0} if sigma_nT is None else sigma_nT
    g0, gdot0 = initial_field(lmax, epoch, seed)
    truth = frozen_flux_truth(
        g0, epoch, span, lmax, lmax, gdot0=gdot0, target_rms_km_yr=target_rms_km_yr, seed=seed
    )
    data = make_dataset(
        truth,
        n_satellite=n_satellite,
        n_observatory_sites=n_observatory_sites,
        observatory_interval_days=observatory_interval_days,
        sigma_nT=sigma,
        seed=seed,
    )
    problem = build_problem(data, lmax, None, lmax, n_time=n_time, span=span, lmax_sv=lmax_sv)
    problem = _symmetrised(problem)
    settings = {
        "lmax": lmax,
        "n_time": n_time,
        "n_satellite": n_satellite,
        "n_observatory_sites": n_observatory_sites,
        "observatory_interval_days": observatory_interval_days,
        "target_rms_km_yr": target_rms_km_yr,
        "lmax_sv": problem.lmax_sv,
        "span": list(span),
        "sigma_nT": sigma,
        "seed": seed,
    }
    return SyntheticExperiment(truth, data, problem, float(epoch), settings)


def initial_field(lmax: int, epoch: float = _EPOCH, seed: int = 1):
    """IGRF-14 at ``epoch``, extended above its degree with a white CMB spectrum.

    IGRF-14 has degree 13 (10 before 2000); a degree-14 truth started from it would have
    no degree-14 field (it would grow from zero). The missing degrees get random
    coefficients (``numpy.random.default_rng(seed)``) whose Lowes power at the CMB is
    the mean CMB power of IGRF's four highest degrees: the core field's spectrum is
    about flat at the CMB. The SV is IGRF's (zero above its degree: unknown there).

    Parameters
    ----------
    lmax : int
        Degree of the returned field.
    epoch : float
        Decimal year (1900-2030).
    seed : int
        Seed of the added coefficients.

    Returns
    -------
    g0 : numpy.ndarray, shape (L(L+2),)
        Gauss coefficients at a, nT.
    gdot0 : numpy.ndarray, shape (L_IGRF(L_IGRF+2),)
        IGRF's SV at the epoch, nT/yr.
    """
    from bayescore.fields import igrf

    model = igrf()
    g = np.asarray(model.coeffs(epoch), dtype=float)
    gdot = np.asarray(model.sv(epoch), dtype=float)
    degree = degree_order_arrays(model.lmax)[0]
    top = int(degree[g != 0.0].max())
    out = resize_coefficients(g, lmax)
    if lmax > top:
        cmb = np.asarray(lowes_spectrum(g, CORE_RADIUS_KM))[top - 4 : top]
        power = float(np.mean(cmb))  # nT^2 per degree at the CMB
        rng = np.random.default_rng(seed)
        full_degree = degree_order_arrays(lmax)[0]
        for ell in range(top + 1, lmax + 1):  # a few degrees: table construction
            mask = full_degree == ell
            sd = np.sqrt(
                power * (CORE_RADIUS_KM / _A) ** (2 * ell + 4) / ((ell + 1) * (2 * ell + 1))
            )
            out[mask] = sd * rng.standard_normal(int(mask.sum()))
    return out, gdot
