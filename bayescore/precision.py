"""Floating-point precision policy.

The geomagnetic inverse problems (Gauss coefficients of order 1e4 nT next to secular
acceleration of order 1e-2 nT/yr^2, normal equations with condition numbers above 1e8)
need float64. JAX defaults to float32, so bayescore switches JAX to 64-bit mode when it is
imported and in its entry points. Neural-network forecasters cast their own parameters
and inputs to float32 explicitly, so they are not slowed down by this switch.

``import bayescore`` does not import JAX itself (the command line's ``--help`` stays
fast): :func:`request_x64` switches an already imported JAX at once, and otherwise sets
the environment variable ``JAX_ENABLE_X64=1``, which JAX reads when it is first imported.
"""

import os
import sys

__all__ = ["enable_x64", "request_x64"]


def enable_x64() -> None:
    """Switch JAX to 64-bit floats (``jax.config.update("jax_enable_x64", True)``).

    Idempotent. Arrays created before the call keep their dtype. Imports JAX.
    """
    import jax

    jax.config.update("jax_enable_x64", True)


def request_x64() -> None:
    """Make JAX use 64-bit floats without importing it.

    If JAX is already imported this is :func:`enable_x64`; otherwise the environment
    variable ``JAX_ENABLE_X64`` is set to ``1`` so that JAX starts in 64-bit mode when it
    is imported (by bayescore or by the caller). Child processes inherit the variable.
    """
    if "jax" in sys.modules:
        enable_x64()
    else:
        os.environ["JAX_ENABLE_X64"] = "1"
