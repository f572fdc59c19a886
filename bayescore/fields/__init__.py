"""Geomagnetic field models: synthesis, design matrices, spectra, time-dependent models, readers.

Conventions (``docs/conventions.md``): internal Gauss coefficients, Schmidt semi-normalised,
no Condon-Shortley phase, reference radius a = 6371.2 km, nT, order g10, g11, h11, g20, ...;
r in km, colatitude theta and longitude phi in radians, time in decimal years.

* :func:`synth`, :func:`design_matrix`: vector field (B_r, B_theta, B_phi) at points;
* :func:`lowes_spectrum`, :func:`dipole_moment`: power per degree and dipole moment;
* :class:`FieldModel`: time-dependent model (B-splines in time) with ``coeffs``, ``sv``,
  ``sa``, ``spectrum`` and ``to_xarray``;
* :func:`external_dipole_field`: the external degree-1 (uniform) field;
* :func:`igrf`, :func:`load_shc`, :func:`load_igrf_table` (IGRF classic columns),
  :func:`load_bspline_model` with :func:`load_gufm1` and :func:`load_covobs`: readers;
* :func:`to_shmagcoeffs`, :func:`from_shmagcoeffs`: to and from ``pyshtools.SHMagCoeffs``;
  :func:`radial_field_grid`, :func:`cmb_radial_field_grids`: global grids of B_r (and SV).
"""

from bayescore.fields.external import external_dipole_field
from bayescore.fields.model import FieldModel
from bayescore.fields.readers import (
    igrf,
    load_bspline_model,
    load_covobs,
    load_gufm1,
    load_igrf_table,
    load_shc,
)
from bayescore.fields.shcoeffs import (
    cmb_radial_field_grids,
    from_shmagcoeffs,
    radial_field_grid,
    to_shmagcoeffs,
)
from bayescore.fields.spectrum import degree_correlation, dipole_moment, lowes_spectrum
from bayescore.fields.synthesis import design_matrix, synth

__all__ = [
    "FieldModel",
    "cmb_radial_field_grids",
    "from_shmagcoeffs",
    "radial_field_grid",
    "to_shmagcoeffs",
    "design_matrix",
    "dipole_moment",
    "external_dipole_field",
    "igrf",
    "load_bspline_model",
    "load_covobs",
    "load_gufm1",
    "load_igrf_table",
    "load_shc",
    "degree_correlation",
    "lowes_spectrum",
    "synth",
]
