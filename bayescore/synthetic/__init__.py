"""Synthetic CHAMP-like satellite and observatory data from a frozen-flux truth.

The paper's data (one year of CHAMP satellite and 137 observatories' vector data) are not
public in a ready form, so bayescore simulates data like them:

* :mod:`~bayescore.synthetic.truth`: a band-limited core field that obeys the frozen-flux
  equation exactly, integrated with RK4 from IGRF under a slowly changing core flow;
* :mod:`~bayescore.synthetic.orbits`: a circular, near-polar, precessing low-Earth orbit;
* :mod:`~bayescore.synthetic.observatories`: about 150 real observatory sites, WGS84
  geodetic-to-geocentric conversion, epochs of monthly (or hourly) means;
* :mod:`~bayescore.synthetic.dataset`: the long-format data set (one row per scalar datum)
  with Gaussian, Laplace or Student-t noise, optional external field and crustal biases.

Example
-------
>>> from bayescore.synthetic import frozen_flux_truth, make_dataset
>>> truth = frozen_flux_truth(t0=2005.0, span=(2004.9, 2006.0))      # doctest: +SKIP
>>> data = make_dataset(truth, n_satellite=500, n_observatory_sites=20, seed=1)  # doctest: +SKIP
"""

from bayescore.fields.external import external_dipole_field
from bayescore.synthetic.dataset import (
    COMPONENT_CODES,
    NOISE_MODELS,
    PAPER_SIZE,
    make_dataset,
)
from bayescore.synthetic.observatories import (
    ObservatorySites,
    geodetic_to_geocentric,
    observatory_epochs,
    observatory_sites,
)
from bayescore.synthetic.orbits import (
    OrbitSamples,
    nodal_precession_rate,
    orbit_positions,
    orbital_period,
    satellite_orbit,
)
from bayescore.synthetic.truth import FrozenFluxTruth, frozen_flux_truth

__all__ = [
    "COMPONENT_CODES",
    "NOISE_MODELS",
    "PAPER_SIZE",
    "FrozenFluxTruth",
    "ObservatorySites",
    "OrbitSamples",
    "external_dipole_field",
    "frozen_flux_truth",
    "geodetic_to_geocentric",
    "make_dataset",
    "nodal_precession_rate",
    "observatory_epochs",
    "observatory_sites",
    "orbit_positions",
    "orbital_period",
    "satellite_orbit",
]
