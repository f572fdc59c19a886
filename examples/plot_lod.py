"""
Length of day from core flows, 1962-2019
========================================

Does the zonal part of the core-surface flow explain the decadal changes in the length
of day (LOD)? Flows are inverted from the secular variation of a COV-OBS-type field
model every half year (1962-2020), the angular momentum of the geostrophic cylinders
they drive gives a predicted LOD change, and both it and the observed LOD (IERS C04) are
averaged over calendar years, low-passed (gain 1/2 at 6 yr) and detrended. The classic
figure: observed against predicted, with the posterior band of the flow. Needs the
reference data (set ``BAYESCORE_DATA``); the study is :mod:`bayescore.studies.lod`.
"""

# %%
# Setup
# -----
# The full size is the study's main variant (flow degree 14, Lesur SV weights, rms speed
# 13 km/yr, 117 epochs); the small size inverts a degree-6 flow once a year.
import os

import matplotlib.pyplot as plt

from bayescore.studies.lod import LODVariant, plot_lod_comparison, run_lod_study

SIZE = os.environ.get("BAYESCORE_EXAMPLE_SIZE") or ("small" if os.environ.get("CI") else "full")
if SIZE not in ("small", "full"):
    raise ValueError(f"BAYESCORE_EXAMPLE_SIZE must be 'small' or 'full', not {SIZE!r}")

if SIZE == "full":
    settings = {"step": 0.5, "lmax_flow": 14}
    variants = (
        LODVariant("lesur, 13 km/yr", "lesur", 13.0),
        LODVariant("uniform, 11 km/yr", "uniform", 11.0),
    )
else:
    settings = {"step": 1.0, "lmax_flow": 6}
    variants = (LODVariant("lesur, 8 km/yr", "lesur", 8.0),)

# %%
# Flows, predicted and observed LOD
# ---------------------------------
# One call runs everything: the flow series with posterior covariances, the predicted
# dLOD (1.226 ms per km/yr of solid-body rotation, PREM angular-momentum weights for
# t30, t50, ...), the same low-pass and detrending of both series, and the scores.
result = run_lod_study(start=1962.0, end=2020.0, variants=variants, **settings)
print(result.table())
print(
    f"observed trend over {result.config['years']}: "
    f"{result.observed.attrs['trend_ms_per_cy']:.2f} ms/cy (removed from both series)"
)
print("seconds:", {name: round(value, 1) for name, value in result.timings.items()})

# %%
# The classic figure
# ------------------
# Black: the observed decadal LOD. Coloured: the flows' predictions, the best with a
# band of two posterior standard deviations (an upper bound after the low-pass).
fig = plot_lod_comparison(result)
plt.show()
