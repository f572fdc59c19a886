"""Physical constants and reference radii used throughout bayescore.

All radii are in km. See ``docs/conventions.md``.
"""

#: Reference radius of the Gauss coefficients (km), as in IGRF, CHAOS and gufm1.
EARTH_REFERENCE_RADIUS_KM = 6371.2

#: Radius of the core-mantle boundary (km).
CORE_RADIUS_KM = 3485.0

#: Vacuum permeability (H/m), for dipole moments.
MU0 = 4e-7 * 3.141592653589793
