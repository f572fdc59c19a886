"""The external degree-1 field: a uniform field from a potential of sources outside the Earth.

``V = a [q10 cos(theta) + (q11 cos(phi) + s11 sin(phi)) sin(theta)] (r/a)`` with
``B = -grad V``: the uniform field ``-(q11, s11, q10)`` in Earth-centred Cartesian
components (x to 0 E, y to 90 E, z north). Lesur et al. (2010), Earth Planets Space 62,
503, co-estimate such a static external field (in Solar-Magnetic coordinates; here in
geographic ones) with the core field.
"""

from __future__ import annotations

import numpy as np

__all__ = ["external_dipole_field"]


def external_dipole_field(q10, q11, s11, theta, phi):
    """Field of an external degree-1 potential (a uniform field), geocentric components.

    ``V = a [q10 cos(theta) + (q11 cos(phi) + s11 sin(phi)) sin(theta)] (r/a)`` and
    ``B = -grad V``: the uniform field ``-(q11, s11, q10)`` in Earth-centred Cartesian
    (x to 0 E, y to 90 E, z north) components.

    Parameters
    ----------
    q10, q11, s11 : float or array_like
        External coefficients, nT (broadcast against ``theta``).
    theta, phi : array_like
        Colatitude and longitude, rad.

    Returns
    -------
    b_r, b_theta, b_phi : numpy.ndarray
        nT.
    """
    ct, st = np.cos(theta), np.sin(theta)
    horizontal = q11 * np.cos(phi) + s11 * np.sin(phi)
    b_r = -(q10 * ct + horizontal * st)
    b_theta = q10 * st - horizontal * ct
    b_phi = q11 * np.sin(phi) - s11 * np.cos(phi)
    return b_r, b_theta, b_phi
