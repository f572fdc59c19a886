"""Floating-point precision policy.

The geomagnetic inverse problems (Gauss coefficients of order 1e4 nT next to secular
acceleration of order 1e-2 nT/yr^2, normal equations with condition numbers above 1e8)
need float64. JAX defaults to float32, so bayescore switches JAX to 64-bit mode when it is
imported and in its entry points. Neural-network forecasters cast their own parameters
and inputs to float32 explicitly, so they are not slowed down by this switch.
"""

import jax

__all__ = ["enable_x64"]


def enable_x64() -> None:
    """Switch JAX to 64-bit floats (``jax.config.update("jax_enable_x64", True)``).

    Idempotent. Arrays created before the call keep their dtype.
    """
    jax.config.update("jax_enable_x64", True)
