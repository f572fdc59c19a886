"""The result of :func:`bayescore.studies.coestimation.run_coestimation_study`."""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from pathlib import Path

from bayescore.studies.coestimation.figures import spectra_figure, trace_figure

__all__ = ["NORM_NAMES", "CoestimationStudyResult"]


#: Names of the spatial flow norms in titles and printed summaries.
NORM_NAMES = {"strong": "BSN", "weak": "WSN", "energy": "kinetic-energy norm"}


@dataclass
class CoestimationStudyResult:
    """Everything :func:`run_coestimation_study` computed.

    Attributes
    ----------
    problem : bayescore.models.CoestimationProblem
        The problem (with the SV weights of the starting model).
    data : xarray.Dataset
        The vector data (long format).
    truth : object or None
        The frozen-flux truth of synthetic data (None for user data).
    gauss_newton : bayescore.infer.GaussNewtonResult
        The MAP.
    usn : object
        The field-only (USN) starting model (``.values``, ``.to_xarray``).
    laplace, nuts : object or None
        The Laplace approximation and the NUTS run, when computed.
    spectra : xarray.Dataset
        SV and SA Lowes spectra at the CMB over ``degree`` (estimate, USN when asked, the
        truth, the 5-95 % posterior band with Laplace or NUTS).
    estimate : xarray.Dataset
        The labelled outputs of ``coestimation.nc`` (:meth:`to_xarray`).
    summary : dict
        Headline numbers (:meth:`to_dict`).
    settings : dict
        The options of the run (attributes of the netCDF outputs).
    band_label : str or None
        Legend of the posterior band of the spectra.
    wall_time_s : dict
        Seconds per stage; ``total_s`` includes the writing of :meth:`save`.
    outputs : dict
        Paths written by the last :meth:`save` (empty before).
    """

    problem: object
    data: object
    truth: object
    gauss_newton: object
    usn: object
    laplace: object
    nuts: object
    spectra: object
    estimate: object
    summary: dict
    settings: dict
    band_label: str | None
    wall_time_s: dict
    outputs: dict = field(default_factory=dict)

    @property
    def title(self) -> str:
        """Title of the spectra figure."""
        s = self.settings
        return (
            f"Co-estimation ({NORM_NAMES[s['norm']]}, L_B = {s['lmax_field']}, "
            f"L_F = {s['lmax_flow']}), {s['source']} data, epoch {s['epoch']:.2f}"
        )

    def to_xarray(self):
        """The labelled MAP, Laplace sd, SV/SA at the epoch, spectra, misfit table and
        Gauss-Newton history (xarray.Dataset, the contents of ``coestimation.nc``)."""
        return self.estimate

    def to_inference_data(self):
        """The NUTS posterior (arviz.InferenceData, labelled), or None without NUTS."""
        return None if self.nuts is None else self.nuts.inference_data

    def to_dict(self) -> dict:
        """The summary, JSON-ready (:func:`bayescore.atomic.json_ready`; NaN -> None):
        data, model, method, device, MAP (rho, misfit per source, SV degree correlation
        with the truth), USN, Laplace and NUTS headline numbers, wall times and the
        outputs of the last :meth:`save`."""
        from bayescore.atomic import json_ready

        summary = dict(self.summary)
        summary["wall_time_s"] = dict(self.wall_time_s)
        if self.outputs:
            summary["outputs"] = self.outputs
        return json_ready(summary)

    def spectra_figure(self):
        """:func:`spectra_figure` of this result."""
        return spectra_figure(self.spectra, self.title, self.band_label)

    def trace_figure(self):
        """:func:`trace_figure` of the NUTS draws (None without NUTS)."""
        idata = self.to_inference_data()
        return None if idata is None else trace_figure(idata, self.problem.units())

    def save(self, directory) -> dict:
        """Write the outputs into ``directory`` atomically, ``summary.json`` last.

        Writes ``coestimation.nc`` (:meth:`to_xarray`), ``spectra_cmb.png``,
        ``posterior.nc`` and ``nuts_trace.png`` (with NUTS) and ``summary.json``
        (:meth:`to_dict`, listing these files).

        Parameters
        ----------
        directory : str or os.PathLike
            Output folder (created if missing).

        Returns
        -------
        dict
            ``{"summary": path, "estimate": path, "figures": [paths], "posterior": path}``
            (``posterior`` with NUTS), paths as strings.
        """
        import matplotlib.pyplot as plt

        from bayescore.atomic import atomic_path, save_figure, write_json
        from bayescore.infer import save_inference_data

        clock = time.perf_counter()
        out = Path(directory)
        out.mkdir(parents=True, exist_ok=True)
        with atomic_path(out / "coestimation.nc") as tmp:
            self.estimate.to_netcdf(tmp)
        outputs = {"summary": str(out / "summary.json"), "estimate": str(out / "coestimation.nc")}
        try:
            save_figure(self.spectra_figure(), out / "spectra_cmb.png")
            outputs["figures"] = [str(out / "spectra_cmb.png")]
            if self.nuts is not None:
                idata = self.nuts.inference_data
                idata.posterior.attrs.update(self.settings)
                save_inference_data(idata, out / "posterior.nc")
                outputs["posterior"] = str(out / "posterior.nc")
                save_figure(self.trace_figure(), out / "nuts_trace.png")
                outputs["figures"].append(str(out / "nuts_trace.png"))
        finally:
            plt.close("all")
        self.wall_time_s["total_s"] = self.wall_time_s.get("total_s", 0.0) + (
            time.perf_counter() - clock
        )
        self.outputs = outputs
        write_json(out / "summary.json", self.to_dict())
        return outputs
