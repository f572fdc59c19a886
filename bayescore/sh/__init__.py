"""Spherical-harmonic machinery: coefficient indexing and Schmidt Legendre functions.

Conventions (``docs/conventions.md``): real Schmidt semi-normalised harmonics without the
Condon-Shortley phase, coefficient order g10, g11, h11, g20, g21, h21, g22, h22, ...
"""

from bayescore.sh.grid import GaussLegendreGrid
from bayescore.sh.indexing import (
    coefficient_labels,
    degree_order_arrays,
    lmax_from_size,
    n_coefficients,
    resize_coefficients,
)
from bayescore.sh.legendre import schmidt_legendre, schmidt_legendre_at_coefficients

__all__ = [
    "GaussLegendreGrid",
    "coefficient_labels",
    "degree_order_arrays",
    "lmax_from_size",
    "n_coefficients",
    "resize_coefficients",
    "schmidt_legendre",
    "schmidt_legendre_at_coefficients",
]
