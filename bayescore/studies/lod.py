"""Length of day from core flows against the observed LOD (IERS C04).

Does the zonal part of a core-surface flow explain the decadal changes in the length of
day? Anchor: core angular momentum carried by geostrophic cylinders explains the decadal
LOD variations with a correlation near 0.8 (Jault, Gire & Le Mouel 1988, *Nature* 333,
353; Jackson 1997, *Geophys. J. Int.* 130, 41; Hide, Boggs & Dickey 2000,
*Geophys. J. Int.* 143, 777).

Pipeline (:func:`run_lod_study`)
--------------------------------
1. **Flows.** A flow series from a field model (default the COV-OBS-type model of
   :func:`bayescore.fields.load_covobs`) at ``step``-yr epochs over ``start``-``end``
   (default 0.5 yr over 1962-2020, 117 epochs) by
   :func:`bayescore.flow.invert_flow_series`: degree ``L_F = 14`` (that of COV-OBS), SV
   equations to ``L_B + L_F = 28``, the strong norm, one damping for all epochs tuned
   to a target rms speed (default 13 km/yr), each variant with its SV weights
   (``"lesur"``, ``"uniform"``, ``"cmb"``) and optionally a temporal norm (see
   :class:`LODVariant`).
2. **Predicted LOD.** ``dLOD_k = f sum_l K_l t_l0(t_k)`` with the PREM factor
   ``f = 1.226`` ms per km/yr and the PREM angular-momentum weights K_l
   (:func:`bayescore.lod.lod_change_from_zonal_flow`). Its posterior variance is
   ``f^2 w^T C_k w`` with ``C_k`` the epoch's marginal posterior covariance of ``t``
   (exact: the dLOD is linear in ``t``); ``posterior="diagonal"`` drops the covariances
   between the zonal coefficients (cheaper in memory, approximate).
3. **Decadal signal, both series alike** (:func:`bayescore.lod.decadal_lod`): the
   observed daily LOD is averaged over calendar years (stamped at mid-year), the
   predicted dLOD is sampled at the same mid-years (linear interpolation between the
   epochs; the flows of a spline field model vary little within a year); both are
   low-passed by the same Gaussian kernel (gain 1/2 at ``cutoff_period_yr``, default
   6 yr; odd reflection at the ends, so lines pass unchanged). The secular trend
   (``trend``, :func:`compare_lod`): ``"fit"`` (default) removes from each series its
   own least-squares straight line over the common years (the flow's trend is reported
   but not scored; over 1962-2019 the observed line, -3.8 ms/cy, is dominated by the
   decadal decline after 1972, not by the secular +1.8 ms/cy); ``"secular"`` removes
   only the means, and from the observations the secular trend of tidal braking less
   glacial isostatic adjustment, +1.78 ms/cy (Stephenson et al. 2016), so that the
   flow's trend is scored too. The 18.6-yr zonal tide (about 0.15 ms) is not removed
   from the observations.
4. **Scores** over the common years: Pearson correlation, the least-squares slope of
   the observed on the predicted series (1 when the amplitude is right), the rms
   difference (ms), the ratio of standard deviations predicted/observed.

Posterior bands: the per-epoch standard deviation of the predicted dLOD is exact; after
the low-pass it is carried through the same positive kernel, which is an upper bound
(the standard deviation of a positively weighted mean is at most the weighted mean of
the standard deviations); the uncertainty of the fitted line is neglected.

Hooks, not built here: tangential geostrophy (a flow constraint) and the subgrid
(unresolved-field) error in the SV weights are being added to the flow inversion
elsewhere; when :func:`bayescore.flow.invert_flow_series` accepts them, add them as
fields of :class:`LODVariant` and pass them on in :func:`_invert_variant`.
"""

from __future__ import annotations

import json
import time as clock
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path

import numpy as np
import xarray as xr

from bayescore.errors import EpochOutOfRangeError, ModelConfigError, SeriesLengthError
from bayescore.lod import (
    DEFAULT_CUTOFF_PERIOD_YR,
    annual_mean_lod,
    decadal_lod,
    gaussian_lowpass,
    lod_factor_ms,
    remove_linear_trend,
    zonal_lod_weights,
)
from bayescore.sh.indexing import degree_order_arrays
from bayescore.studies.outputs import save_study

__all__ = [
    "DEFAULT_VARIANTS",
    "METRICS",
    "SECULAR_TREND_MS_PER_CY",
    "TRENDS",
    "LODStudyResult",
    "LODVariant",
    "compare_lod",
    "plot_lod_comparison",
    "predicted_lod_weights",
    "run_lod_study",
    "score_lod",
    "temporal_damping_for_timescale",
]

#: Scores of :func:`score_lod`, in table order.
METRICS = ("correlation", "slope", "rms_ms", "std_ratio")


@dataclass(frozen=True)
class LODVariant:
    """One flow-inversion setting of the study.

    Attributes
    ----------
    name : str
        Label in tables and figures.
    sv_weights : {"lesur", "uniform", "cmb"}
        SV weights of :func:`bayescore.flow.invert_flow_series`.
    target_rms : float or None
        Target rms speed over the CMB and the epochs, km/yr (the damping is tuned to it).
    damping : float or None
        A fixed spatial damping instead of ``target_rms``.
    temporal_timescale_yr : float or None
        Switches on the temporal norm with the damping of
        :func:`temporal_damping_for_timescale` for this time scale (yr), computed from the
        spatial damping of the same variant without the temporal norm.
    """

    name: str
    sv_weights: str = "lesur"
    target_rms: float | None = 13.0
    damping: float | None = None
    temporal_timescale_yr: float | None = None


#: The variants of ``docs/studies/lod.md``. With uniform weights the COV-OBS flows of
#: degree 14 cannot be made faster than about 12.3 km/yr (1991, least damping).
DEFAULT_VARIANTS = (
    LODVariant("lesur, 13 km/yr", "lesur", 13.0),
    LODVariant("uniform, 11 km/yr", "uniform", 11.0),
    LODVariant("cmb, 13 km/yr", "cmb", 13.0),
    LODVariant("lesur, 10 km/yr", "lesur", 10.0),
    LODVariant("lesur, 16 km/yr", "lesur", 16.0),
    LODVariant("lesur, 13 km/yr, temporal 5 yr", "lesur", 13.0, temporal_timescale_yr=5.0),
)


def temporal_damping_for_timescale(
    damping: float, timescale_yr: float, step_yr: float, lmax_flow: int, norm: str = "strong"
) -> float:
    """Temporal damping lambda_3 whose prior correlation time of t10 is about ``timescale_yr``.

    Per epoch the spatial prior puts ``2 lambda N_1 x^2`` on the degree-1 coefficient and
    the temporal norm ``2 lambda_3 W_1 int xdot^2 dt``; with epochs ``step_yr`` apart the
    spatial sum is ``int x^2 dt / step``, and the two balance for variations on the time
    scale tau when ``lambda_3 = lambda N_1 tau^2 / (W_1 step)``
    (:func:`bayescore.flow.norms.flow_norm_weights`,
    :func:`bayescore.flow.norms.temporal_weights`). Higher degrees, more strongly damped
    in space, are coupled in time relatively less.

    Parameters
    ----------
    damping : float
        Spatial damping lambda.
    timescale_yr, step_yr : float
        Time scale tau and epoch spacing, yr.
    lmax_flow : int
        L_F.
    norm : str, default "strong"
        Spatial norm.

    Returns
    -------
    float
        lambda_3.
    """
    from bayescore.flow.norms import flow_norm_weights, temporal_weights

    ratio = flow_norm_weights(int(lmax_flow), norm)[0] / temporal_weights(int(lmax_flow))[0]
    return float(damping) * float(ratio) * float(timescale_yr) ** 2 / float(step_yr)


def predicted_lod_weights(lmax_flow: int, factor_ms: float | None = None) -> np.ndarray:
    """The vector g with ``dLOD = g . [t, s]`` (ms per km/yr), zero but on the zonal t.

    Parameters
    ----------
    lmax_flow : int
        L_F.
    factor_ms : float, optional
        ms per km/yr of t10 (default :func:`bayescore.lod.lod_factor_ms`, 1.226).

    Returns
    -------
    numpy.ndarray, shape (2 L_F (L_F + 2),)
    """
    degree, order, _ = degree_order_arrays(int(lmax_flow))
    factor = lod_factor_ms() if factor_ms is None else float(factor_ms)
    weights = zonal_lod_weights(int(lmax_flow))
    g = np.zeros(2 * degree.size)
    zonal = np.flatnonzero(order == 0)
    g[zonal] = factor * weights[degree[zonal] - 1]
    return g


def score_lod(predicted, observed) -> dict:
    """Scores of a predicted against an observed (decadal, detrended) LOD series.

    Parameters
    ----------
    predicted, observed : array_like, shape (n,)
        The two series on the same times, ms.

    Returns
    -------
    dict
        ``correlation`` (Pearson), ``slope`` (least-squares slope of observed on
        predicted; 1 when the predicted amplitude is right), ``rms_ms`` (rms of
        observed - predicted, ms), ``std_ratio`` (std predicted / std observed).
    """
    p = np.asarray(predicted, dtype=float)
    o = np.asarray(observed, dtype=float)
    pc, oc = p - p.mean(), o - o.mean()
    return {
        "correlation": float(pc @ oc / np.sqrt((pc @ pc) * (oc @ oc))),
        "slope": float(pc @ oc / (pc @ pc)),
        "rms_ms": float(np.sqrt(np.mean((o - p) ** 2))),
        "std_ratio": float(np.std(p) / np.std(o)),
    }


#: Secular LOD trend of the "secular" detrending, ms/cy: tidal braking less glacial
#: isostatic adjustment, measured over 2,700 yr of eclipses (Stephenson, Morrison &
#: Hohenkerk 2016, *Proc. R. Soc. A* 472, 20160404: +1.78 ms/cy).
SECULAR_TREND_MS_PER_CY = 1.78

#: Ways of removing the secular trend (:func:`compare_lod`).
TRENDS = ("fit", "secular")


def compare_lod(
    epochs,
    predicted,
    predicted_std,
    observed: xr.Dataset,
    *,
    trend: str = "fit",
    secular_trend_ms_per_cy: float = SECULAR_TREND_MS_PER_CY,
) -> dict:
    """Put predicted dLOD series on the observed decadal series and score them.

    Parameters
    ----------
    epochs : array_like, shape (K,)
        Flow epochs, decimal years (increasing).
    predicted, predicted_std : array_like, shape (V, K)
        Predicted dLOD and its posterior standard deviation at the epochs, ms.
    observed : xarray.Dataset
        :func:`bayescore.lod.decadal_lod` (mid-year ``time`` inside the epochs; its
        ``cutoff_period_yr`` attribute sets the low-pass of the predictions).
    trend : {"fit", "secular"}
        ``"fit"``: each series has its own least-squares line removed (the observed one
        is ``observed["detrended"]``). ``"secular"``: only the means are removed, and the
        observed series also loses ``secular_trend_ms_per_cy``; the flow's own trend is
        then scored.
    secular_trend_ms_per_cy : float, default 1.78
        Secular trend of the ``"secular"`` mode, ms/cy.

    Returns
    -------
    dict
        ``filtered``, ``band``, ``detrended`` (V, N) and ``observed_detrended`` (N,),
        ms; ``trend_ms_per_cy`` (V,), the least-squares trend of each low-passed
        prediction; ``scores``, a list of :func:`score_lod` dicts.
    """
    if trend not in TRENDS:
        raise ModelConfigError(f"trend must be one of {TRENDS}, got {trend!r}")
    epochs = np.asarray(epochs, dtype=float)
    years = observed["time"].values
    if years[0] < epochs[0] or years[-1] > epochs[-1]:
        raise EpochOutOfRangeError(
            f"observed years {years[0]:g}-{years[-1]:g} leave the flow epochs "
            f"{epochs[0]:g}-{epochs[-1]:g}"
        )
    cutoff = float(observed.attrs["cutoff_period_yr"])
    at_years = np.array([np.interp(years, epochs, row) for row in np.atleast_2d(predicted)])
    std = np.array([np.interp(years, epochs, row) for row in np.atleast_2d(predicted_std)])
    filtered = gaussian_lowpass(years, at_years, cutoff)
    band = gaussian_lowpass(years, std, cutoff)
    fitted, slope, _ = remove_linear_trend(years, filtered)
    if trend == "fit":
        detrended = fitted
        target = observed["detrended"].values
    else:
        detrended = filtered - filtered.mean(axis=-1, keepdims=True)
        target = observed["filtered"].values
        target = target - target.mean() - secular_trend_ms_per_cy / 100.0 * (years - years.mean())
    return {
        "filtered": filtered,
        "band": band,
        "detrended": detrended,
        "observed_detrended": target,
        "trend_ms_per_cy": 100.0 * slope,
        "scores": [score_lod(row, target) for row in detrended],
    }


def _invert_variant(model, epochs, variant, lmax_flow, lmax_sv, norm, posterior, cache):
    """Flow series of one variant (and its damping, reused from ``cache`` when known)."""
    from bayescore.flow import invert_flow_series

    common = {"norm": norm, "sv_weights": variant.sv_weights, "lmax_sv": lmax_sv}
    key = (variant.sv_weights, variant.target_rms, variant.damping)
    temporal = None
    if variant.damping is not None:
        cache[key] = float(variant.damping)
    if variant.temporal_timescale_yr is not None:
        if key not in cache:
            base = invert_flow_series(
                model,
                epochs,
                lmax_flow,
                damping=variant.damping,
                target_rms=variant.target_rms,
                **common,
            )
            cache[key] = base.damping
        step = float(np.mean(np.diff(epochs)))
        temporal = temporal_damping_for_timescale(
            cache[key], variant.temporal_timescale_yr, step, lmax_flow, norm
        )
    result = invert_flow_series(
        model,
        epochs,
        lmax_flow,
        damping=variant.damping,
        target_rms=variant.target_rms,
        temporal_damping=temporal,
        covariance=posterior == "covariance",
        **common,
    )
    if temporal is None:
        cache[key] = result.damping
    return result


def _check_span(model, epochs, lod_first: float, lod_last: float):
    span = getattr(model, "span", None)
    if span is not None and (epochs[0] < span[0] or epochs[-1] > span[1]):
        raise EpochOutOfRangeError(
            f"flow epochs {epochs[0]:g}-{epochs[-1]:g} are not inside the field model's span "
            f"{span[0]:g}-{span[1]:g}"
        )
    if epochs[-1] < lod_first or epochs[0] > lod_last:
        raise EpochOutOfRangeError(
            f"flow epochs {epochs[0]:g}-{epochs[-1]:g} do not overlap the LOD record "
            f"{lod_first:.2f}-{lod_last:.2f}"
        )


@dataclass(frozen=True)
class LODStudyResult:
    """Predicted and observed decadal LOD and the scores of every variant.

    Attributes
    ----------
    variants : tuple of LODVariant
    epochs : numpy.ndarray, shape (K,)
        Flow epochs, decimal years.
    predicted_raw, predicted_raw_std : numpy.ndarray, shape (V, K)
        dLOD of each variant's posterior mean flow and its posterior standard deviation
        at the epochs, ms.
    observed : xarray.Dataset
        :func:`bayescore.lod.decadal_lod` over the common years (``time`` = mid-years).
    predicted_filtered, predicted_detrended, predicted_band : numpy.ndarray, shape (V, N)
        The predicted dLOD at the mid-years, low-passed, low-passed and detrended, and the
        low-passed standard deviation (an upper bound, module docstring), ms.
    observed_detrended : numpy.ndarray, shape (N,)
        The observed series the predictions are scored against (:func:`compare_lod`), ms.
    scores : dict
        ``{variant name: {metric: value}}`` (:func:`score_lod`) plus ``damping``,
        ``temporal_damping``, ``trend_ms_per_cy`` (the predicted series' removed line)
        and ``mean_std_ms`` (mean posterior std at the epochs).
    timings : dict
        Wall-clock seconds of each part (``model``, ``lod``, one entry per variant,
        ``total``).
    config : dict
        The options of :func:`run_lod_study`.
    """

    variants: tuple
    epochs: np.ndarray
    predicted_raw: np.ndarray
    predicted_raw_std: np.ndarray
    observed: xr.Dataset
    predicted_filtered: np.ndarray
    predicted_detrended: np.ndarray
    predicted_band: np.ndarray
    observed_detrended: np.ndarray
    scores: dict
    timings: dict = field(default_factory=dict)
    config: dict = field(default_factory=dict)

    @property
    def names(self) -> list[str]:
        """The variants' names."""
        return [v.name for v in self.variants]

    def best(self) -> str:
        """Name of the variant with the highest correlation."""
        return max(self.names, key=lambda name: self.scores[name]["correlation"])

    def table(self, digits: int = 2) -> str:
        """Markdown table of the scores, the damping and the time of every variant."""
        head = "| variant | correlation | slope | rms (ms) | std ratio | damping | time (s) |"
        rows = [head, "|" + "---|" * 7]
        for name in self.names:
            s = self.scores[name]
            rows.append(
                f"| {name} | {s['correlation']:.{digits}f} | {s['slope']:.{digits}f} | "
                f"{s['rms_ms']:.{digits}f} | {s['std_ratio']:.{digits}f} | "
                f"{s['damping']:.3g} | {self.timings.get(name, float('nan')):.0f} |"
            )
        return "\n".join(rows)

    def to_xarray(self) -> xr.Dataset:
        """Every series and score in one Dataset (config and timings as JSON attributes)."""
        names = self.names
        data = {
            "predicted_raw": (("variant", "epoch"), self.predicted_raw, {"units": "ms"}),
            "predicted_raw_std": (("variant", "epoch"), self.predicted_raw_std, {"units": "ms"}),
            "predicted_filtered": (("variant", "time"), self.predicted_filtered, {"units": "ms"}),
            "predicted_detrended": (
                ("variant", "time"),
                self.predicted_detrended,
                {"units": "ms"},
            ),
            "predicted_band": (("variant", "time"), self.predicted_band, {"units": "ms"}),
            "scores": (
                ("variant", "metric"),
                np.array([[self.scores[n][m] for m in METRICS] for n in names]),
            ),
        }
        for name in ("annual", "filtered"):
            data[f"observed_{name}"] = self.observed[name].variable
        data["observed_detrended"] = (("time",), self.observed_detrended, {"units": "ms"})
        return xr.Dataset(
            data,
            coords={
                "variant": names,
                "epoch": ("epoch", self.epochs, {"units": "decimal year"}),
                "time": self.observed["time"].variable,
                "metric": list(METRICS),
            },
            attrs={
                "config_json": json.dumps(self.config),
                "timings_json": json.dumps(self.timings),
                "observed_trend_ms_per_cy": self.observed.attrs["trend_ms_per_cy"],
            },
        )

    def to_dict(self) -> dict:
        """JSON-ready summary: config, variants, scores, timings."""
        return {
            "config": self.config,
            "variants": [asdict(v) for v in self.variants],
            "scores": self.scores,
            "best": self.best(),
            "observed_trend_ms_per_cy": self.observed.attrs["trend_ms_per_cy"],
            "years": [float(self.observed["time"][0]), float(self.observed["time"][-1])],
            "timings_s": self.timings,
        }

    def save(self, directory, figures: bool = True) -> dict[str, Path]:
        """Write ``lod.nc``, ``summary.json`` (and ``lod.png``) atomically.

        Parameters
        ----------
        directory : str or path-like
            Output directory (created if needed).
        figures : bool, default True
            Also save :func:`plot_lod_comparison`.

        Returns
        -------
        dict of str to pathlib.Path
            The written files (:func:`bayescore.studies.outputs.save_study`).
        """
        return save_study(
            directory,
            summary=self.to_dict(),
            summary_name="summary.json",
            data=self.to_xarray(),
            data_name="lod.nc",
            figure=(lambda: plot_lod_comparison(self)) if figures else None,
            figure_name="lod.png",
        )


def run_lod_study(
    model=None,
    lod=None,
    *,
    start: float = 1962.0,
    end: float = 2020.0,
    step: float = 0.5,
    lmax_flow: int = 14,
    lmax_sv: int | None = None,
    norm: str = "strong",
    variants: Sequence[LODVariant] = DEFAULT_VARIANTS,
    cutoff_period_yr: float = DEFAULT_CUTOFF_PERIOD_YR,
    trend: str = "fit",
    posterior: str = "covariance",
    min_overlap_yr: float | None = None,
    factor_ms: float | None = None,
    skip_failed: bool = False,
    output_dir=None,
    figures: bool = True,
) -> LODStudyResult:
    """Predict the decadal LOD from core flows and score it against the observed LOD.

    Parameters
    ----------
    model : FieldModel-like, optional
        Provides ``coeffs(t)`` (nT) and ``sv(t)`` (nT/yr) and optionally ``span``;
        default :func:`bayescore.fields.load_covobs`.
    lod : xarray.Dataset, optional
        Daily LOD (``lod`` in ms along ``time``, decimal years); default
        :func:`bayescore.lod.load_lod_c04`.
    start, end, step : float
        Flow epochs ``start, start + step, ..., end`` (decimal years; default 0.5 yr over
        1962-2020).
    lmax_flow : int, default 14
        L_F.
    lmax_sv : int, optional
        Degree of the SV equations (default L_B + L_F).
    norm : str, default "strong"
        Spatial norm of the flow prior.
    variants : sequence of LODVariant, default :data:`DEFAULT_VARIANTS`
    cutoff_period_yr : float, default 6.0
        Cut-off of the Gaussian low-pass, yr.
    trend : {"fit", "secular"}
        Removal of the secular trend (:func:`compare_lod`): a fitted line from each
        series, or the means and the secular +1.78 ms/cy from the observations.
    posterior : {"covariance", "diagonal"}
        Exact dLOD variances from the marginal covariances, or from the standard
        deviations alone (K (2 n_flow)^2 numbers fewer in memory; approximate).
    min_overlap_yr : float, optional
        Fewest common years scored (default three cut-off periods, 18 yr).
    factor_ms : float, optional
        ms of LOD per km/yr of t10 (default PREM, 1.226).
    skip_failed : bool, default False
        Leave out a variant whose inversion raises a ``ValueError`` (for example a
        target rms speed that its SV weights cannot reach) and record the message in
        ``config["failed"]``, instead of raising.
    output_dir : str or path-like, optional
        If given, :meth:`LODStudyResult.save` writes there.
    figures : bool, default True
        Save the figure with the results.

    Returns
    -------
    LODStudyResult

    Raises
    ------
    EpochOutOfRangeError
        If the epochs leave the model's span or do not overlap the LOD record.
    SeriesLengthError
        If fewer than ``min_overlap_yr`` common complete years remain, or there are fewer
        than two epochs.
    ValueError
        Unknown ``posterior`` or an empty ``variants``.
    """
    if trend not in TRENDS:
        raise ModelConfigError(f"trend must be one of {TRENDS}, got {trend!r}")
    if posterior not in ("covariance", "diagonal"):
        raise ModelConfigError(f"posterior must be 'covariance' or 'diagonal', got {posterior!r}")
    variants = tuple(variants)
    if not variants:
        raise ModelConfigError("variants is empty")
    started = clock.perf_counter()
    timings = {}
    epochs = np.arange(float(start), float(end) + 1e-9 * abs(step), float(step))
    if epochs.size < 2:
        raise SeriesLengthError(f"need at least two flow epochs, got {epochs.size}")
    tic = clock.perf_counter()
    if model is None:
        from bayescore.fields import load_covobs

        model = load_covobs()
    timings["model"] = clock.perf_counter() - tic
    tic = clock.perf_counter()
    if lod is None:
        from bayescore.lod import load_lod_c04

        lod = load_lod_c04()
    lod_time = np.asarray(lod["time"].values)
    timings["lod"] = clock.perf_counter() - tic
    _check_span(model, epochs, float(lod_time[0]), float(lod_time[-1]))

    # common complete calendar years (>= 300 days, as decadal_lod) whose mid-year lies
    # between the first and last epoch
    annual = annual_mean_lod(lod)
    complete = annual["year"].values[annual["n_days"].values >= 300]
    if complete.size == 0:
        raise SeriesLengthError("the LOD record holds no calendar year with 300 days or more")
    first_year = max(int(np.ceil(epochs[0] - 0.5)), int(complete[0]))
    last_year = min(int(np.floor(epochs[-1] - 0.5)), int(complete[-1]))
    min_overlap = 3.0 * cutoff_period_yr if min_overlap_yr is None else float(min_overlap_yr)
    if last_year - first_year + 1 < max(min_overlap, 3):
        raise SeriesLengthError(
            f"the flow epochs {epochs[0]:g}-{epochs[-1]:g} and the LOD record "
            f"{lod_time[0]:.2f}-{lod_time[-1]:.2f} share {max(last_year - first_year + 1, 0)} "
            f"complete years; at least {max(min_overlap, 3):g} are needed"
        )
    observed = decadal_lod(lod, start=first_year, end=last_year, cutoff_period_yr=cutoff_period_yr)

    g = predicted_lod_weights(lmax_flow, factor_ms)
    raw, raw_std, scores, cache = [], [], {}, {}
    done, failed = [], {}
    for variant in variants:
        tic = clock.perf_counter()
        try:
            result = _invert_variant(
                model, epochs, variant, lmax_flow, lmax_sv, norm, posterior, cache
            )
        except ValueError as error:  # e.g. a target rms the SV weights cannot reach
            if not skip_failed:
                raise
            failed[variant.name] = f"{type(error).__name__}: {error}"
            continue
        finally:
            timings[variant.name] = clock.perf_counter() - tic
        done.append(variant)
        mean = np.concatenate([result.t, result.s], axis=1) @ g
        if posterior == "covariance":
            variance = np.einsum("kij,i,j->k", result.covariance, g, g)
        else:
            variance = (result.std**2) @ g**2
        raw.append(mean)
        raw_std.append(np.sqrt(variance))
        scores[variant.name] = {
            "damping": result.damping,
            "temporal_damping": result.temporal_damping,
            "rms_speed_km_per_yr": float(
                np.sqrt(np.mean(result.diagnostics["rms_speed"].values ** 2))
            ),
        }
    if not done:
        raise ModelConfigError(f"every variant failed: {failed}")
    variants = tuple(done)
    raw, raw_std = np.array(raw), np.array(raw_std)
    compared = compare_lod(epochs, raw, raw_std, observed, trend=trend)
    for i, variant in enumerate(variants):
        scores[variant.name].update(compared["scores"][i])
        scores[variant.name]["trend_ms_per_cy"] = float(compared["trend_ms_per_cy"][i])
        scores[variant.name]["mean_std_ms"] = float(np.mean(raw_std[i]))
    timings["total"] = clock.perf_counter() - started
    config = {
        "start": float(start),
        "end": float(end),
        "step": float(step),
        "n_epochs": int(epochs.size),
        "lmax_flow": int(lmax_flow),
        "lmax_sv": lmax_sv,
        "norm": norm,
        "cutoff_period_yr": float(cutoff_period_yr),
        "trend": trend,
        "posterior": posterior,
        "failed": failed,
        "factor_ms": lod_factor_ms() if factor_ms is None else float(factor_ms),
        "years": [int(first_year), int(last_year)],
        "model": getattr(model, "name", type(model).__name__),
    }
    out = LODStudyResult(
        variants=variants,
        epochs=epochs,
        predicted_raw=raw,
        predicted_raw_std=raw_std,
        observed=observed,
        predicted_filtered=compared["filtered"],
        predicted_detrended=compared["detrended"],
        predicted_band=compared["band"],
        observed_detrended=compared["observed_detrended"],
        scores=scores,
        timings=timings,
        config=config,
    )
    if output_dir is not None:
        out.save(output_dir, figures=figures)
    return out


def plot_lod_comparison(result: LODStudyResult, variants=None, ax=None, n_sigma: float = 2.0):
    """The classic figure: observed and predicted decadal dLOD (detrended) with bands.

    Parameters
    ----------
    result : LODStudyResult
    variants : sequence of str, optional
        Names to draw (default all; the best one gets the posterior band).
    ax : matplotlib.axes.Axes, optional
    n_sigma : float, default 2
        Half-width of the band in posterior standard deviations.

    Returns
    -------
    matplotlib.figure.Figure
    """
    import matplotlib.pyplot as plt

    names = result.names if variants is None else list(variants)
    if ax is None:
        fig, ax = plt.subplots(figsize=(8, 4))
    else:
        fig = ax.figure
    years = result.observed["time"].values
    ax.plot(years, result.observed_detrended, "k", lw=2.5, label="observed (C04)")
    best = result.best()
    for name in names:
        i = result.names.index(name)
        s = result.scores[name]
        line = ax.plot(
            years,
            result.predicted_detrended[i],
            lw=1.8 if name == best else 1.0,
            label=f"{name}: r = {s['correlation']:.2f}, slope {s['slope']:.2f}",
        )[0]
        if name == best:
            ax.fill_between(
                years,
                result.predicted_detrended[i] - n_sigma * result.predicted_band[i],
                result.predicted_detrended[i] + n_sigma * result.predicted_band[i],
                color=line.get_color(),
                alpha=0.2,
                lw=0,
            )
    ax.axhline(0.0, color="0.6", lw=0.5)
    ax.set_xlabel("year")
    ax.set_ylabel("dLOD, detrended (ms)")
    ax.set_title(
        f"Decadal LOD (low-pass {result.config['cutoff_period_yr']:g} yr), "
        f"band: ±{n_sigma:g}σ of '{best}'"
    )
    ax.legend(fontsize=7, loc="best")
    return fig
