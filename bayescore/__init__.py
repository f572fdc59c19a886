"""bayescore: Bayesian geomagnetism on JAX.

Frozen-flux core flow and field co-estimation (NumPyro), recurrent forecasters (Flax),
spherical-harmonic machinery and field-model readers.

Precision: the geomagnetic inverse problems need float64. ``import bayescore`` switches
JAX to 64-bit mode without importing JAX (:func:`bayescore.precision.request_x64`: at once
if JAX is already imported, else through ``JAX_ENABLE_X64=1`` when JAX is first imported),
and the package's entry points (field synthesis, readers, flow inversion, co-estimation)
call :func:`bayescore.precision.enable_x64`, which runs
``jax.config.update("jax_enable_x64", True)``. Call it yourself before creating JAX arrays
if you build arrays before calling bayescore.
"""

from bayescore.precision import enable_x64, request_x64

request_x64()

__version__ = "0.1.0.dev0"

__all__ = ["__version__", "enable_x64"]
