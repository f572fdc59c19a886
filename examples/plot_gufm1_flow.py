"""
Core flows of gufm1 (1980, 1989.9) and IGRF-14 (2020)
=====================================================

Under the frozen-flux approximation the secular variation (SV) of the radial field at
the core-mantle boundary (CMB) is the field carried by the flow at the top of the core,
``dBr/dt = -div_H(u Br)``. For a given main field this is linear in the flow, so the flow
is the posterior mean of a linear-Gaussian problem: SV equations weighted as in Lesur
et al. (2010) and a Gaussian prior given by Bloxham's strong norm, whose damping is tuned
here so that the rms speed over the CMB is 10 km/yr (``docs/theory/frozen_flux.md``).

This example inverts the SV of the historical model gufm1 (read from ``$BAYESCORE_DATA``
through :func:`bayescore.fields.load_gufm1`) in 1980 and at its last epoch 1989.9, and
of IGRF-14 (shipped by ``ppigrf``) in 2020, and shows the flows over the radial field,
their kinetic-energy spectra, the damping trade-off curve and the SV the flow explains.
"""

# %%
# Setup
# -----
# The example size follows the gallery convention (``examples/README.md``): ``small``
# under CI, ``full`` otherwise. Only the number of points of the trade-off curve and
# the arrow density depend on it; the inversions are the same.
import os

import matplotlib.pyplot as plt
import numpy as np

from bayescore import fields
from bayescore.flow.damping import damping_tradeoff
from bayescore.flow.inversion import invert_flow
from bayescore.flow.plotting import plot_flow_map, plot_ke_spectra, plot_sv_map, plot_tradeoff

SIZE = os.environ.get("BAYESCORE_EXAMPLE_SIZE") or ("small" if os.environ.get("CI") else "full")
if SIZE not in ("small", "full"):
    raise ValueError(f"BAYESCORE_EXAMPLE_SIZE must be 'small' or 'full', not {SIZE!r}")

#: Number of dampings on the trade-off curve and spacing of the arrows (degrees).
N_DAMPINGS = {"small": 9, "full": 25}[SIZE]
ARROW_SPACING = {"small": 15.0, "full": 10.0}[SIZE]
TARGET_RMS = 10.0  # km/yr
NORM = "strong"

# %%
# Invert gufm1 in 1980 and 1989.9
# -------------------------------
# gufm1 has degree L_B = 14; the flow has the same degree (L_F = 14, as in Lesur et al.)
# and the SV equations go to L_B + L_F = 28, the band limit of the product of field and
# flow. Above degree 14 the SV is unknown and enters as zero with the truncation
# variance of 0.5 (nT/yr)^2 per degree. Each call tunes the damping by root-finding on
# an eigendecomposition, then solves the normal equations by Cholesky.
gufm1 = fields.load_gufm1()
results = {}
for epoch in (1980.0, 1989.9):
    results[f"gufm1 {epoch}"] = invert_flow(
        gufm1.coeffs(epoch),
        gufm1.sv(epoch),
        lmax_flow=14,
        norm=NORM,
        target_rms=TARGET_RMS,
        epoch=epoch,
    )

# %%
# Invert IGRF-14 in 2020
# ----------------------
# IGRF-14 has degree 13; its SV in 2020 is the 2020-2025 difference, also to degree 13.
# The flow has the same degree (L_F = L_B = 13); a degree-14 flow gives the same
# statistics to the second decimal.
igrf = fields.igrf()
results["IGRF-14 2020.0"] = invert_flow(
    igrf.coeffs(2020.0),
    igrf.sv(2020.0),
    lmax_flow=13,
    norm=NORM,
    target_rms=TARGET_RMS,
    epoch=2020.0,
)

# %%
# Flow statistics
# ---------------
# The toroidal fraction is the toroidal share of the kinetic energy (mean square speed),
# the geostrophic fraction its equatorially symmetric share, the zonal geostrophic
# fraction the share of t_l0 with l odd; the solid-body drift t10/c is eastward positive.
# The last column repeats the inversion with uniform SV weights at a (the classical
# isotropic weighting) instead of Lesur's relative weights, for comparison.
header = (
    f"{'flow':16s} {'damping':>9s} {'rho':>8s} {'toroidal':>8s} {'geostr.':>8s} "
    f"{'zonal g.':>8s} {'drift':>8s} {'dLOD':>7s} {'drift(uniform W)':>17s}"
)
print(header)
print(f"{'':16s} {'(yr^2)':>9s} {'':>8s} {'':>8s} {'':>8s} {'':>8s} {'(deg/yr)':>8s} {'(ms)':>7s}")
for name, result in results.items():
    model, lmax = (igrf, 13) if name.startswith("IGRF") else (gufm1, 14)
    uniform = invert_flow(
        model.coeffs(result.epoch),
        model.sv(result.epoch),
        lmax_flow=lmax,
        norm=NORM,
        target_rms=TARGET_RMS,
        sv_weights="uniform",
    )
    d, du = result.diagnostics, uniform.diagnostics
    print(
        f"{name:16s} {result.damping:9.3g} {result.misfit.rho:8.2g} "
        f"{float(d['toroidal_fraction']):8.3f} {float(d['geostrophic_fraction']):8.3f} "
        f"{float(d['zonal_geostrophic_fraction']):8.3f} {float(d['solid_body_drift']):8.3f} "
        f"{float(d['lod_change']):7.2f} {float(du['solid_body_drift']):10.3f} "
        f"(tor. {float(du['toroidal_fraction']):.2f})"
    )

# %%
# Flow maps
# ---------
# Arrows of the flow over the radial field at the CMB (red: outward). The familiar
# features of historical flows show: westward flow under the Atlantic hemisphere and
# little motion under the Pacific.
for name, result in results.items():
    model = igrf if name.startswith("IGRF") else gufm1
    ax = plot_flow_map(result.flow, g=model.coeffs(result.epoch), arrow_spacing=ARROW_SPACING)
    ax.figure.set_size_inches(7.5, 4.3)  # the width of the page's text column
    ax.set_title(f"{name}: flow over B_r at the CMB (rms {result.rms_speed:.1f} km/yr)")

# %%
# Kinetic-energy spectra
# ----------------------
# The strong norm makes the spectra fall steeply with degree; the toroidal part dominates.
plot_ke_spectra(list(results.values()), labels=list(results))

# %%
# Trade-off curve
# ---------------
# The weighted SV misfit against the strong norm of the flow for many dampings (one
# eigendecomposition for all). The star is the damping of an rms speed of 10 km/yr.
result = results["gufm1 1980.0"]
curve = damping_tradeoff(
    gufm1.coeffs(1980.0),
    gufm1.sv(1980.0),
    14,
    np.logspace(-1, 5, N_DAMPINGS) * result.damping / 10.0,
    norm=NORM,
)
plot_tradeoff(curve, chosen_damping=result.damping)

# %%
# The secular variation explained by the flow
# -------------------------------------------
# dBr/dt at the CMB of gufm1 in 1980 (degrees 1-14) and the SV that the flow produces,
# truncated at the same degree. Their difference is the part of the SV that the damped
# flow does not explain.
fig, axes = plt.subplots(2, 1, figsize=(7.5, 7.2), constrained_layout=True)
n_field = 14 * 16
plot_sv_map(gufm1.sv(1980.0), epoch=1980.0, ax=axes[0], title="gufm1 SV")
plot_sv_map(result.predicted_sv[:n_field], epoch=1980.0, ax=axes[1], title="SV of the flow")
