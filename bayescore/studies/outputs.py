"""Writing one study result to a directory: JSON summary, netCDF data, figure.

Every study result (:class:`bayescore.studies.dipole.DipoleStudyResult`,
:class:`bayescore.studies.site_velocity.VelocityStudyResult`, the training-fraction sweep)
is saved the same way by :func:`save_study`: a strict-JSON summary (NaN becomes ``null``,
:func:`bayescore.atomic.write_json`), its labelled data as netCDF (one dataset, or one
netCDF-4 group per dataset), and optionally a PNG figure, each written atomically
(temporary name, then rename: a reader never sees a half-written file).
"""

from __future__ import annotations

import os
from collections.abc import Callable, Mapping
from pathlib import Path

import xarray as xr

from bayescore.atomic import atomic_path, save_figure, write_json
from bayescore.errors import InvalidSettingError

__all__ = ["save_study", "write_netcdf"]


def write_netcdf(path: str | os.PathLike, data: xr.Dataset | Mapping[str, xr.Dataset]) -> Path:
    """Write a dataset, or several as netCDF-4 groups, atomically.

    Parameters
    ----------
    path : str or path-like
        Destination ``.nc`` file (its directory is created if needed).
    data : xarray.Dataset or mapping of str to xarray.Dataset
        One dataset (the file's root group), or datasets by group name.

    Returns
    -------
    pathlib.Path
        ``path``.
    """
    with atomic_path(path) as tmp:
        if isinstance(data, xr.Dataset):
            data.to_netcdf(tmp)
        else:
            mode = "w"
            for group, dataset in data.items():
                dataset.to_netcdf(tmp, mode=mode, group=group)
                mode = "a"
    return Path(path)


def save_study(
    directory: str | os.PathLike,
    *,
    summary: dict,
    summary_name: str,
    data: xr.Dataset | Mapping[str, xr.Dataset],
    data_name: str,
    figure: Callable[[], object] | None = None,
    figure_name: str | None = None,
) -> dict[str, Path]:
    """Write one study result into ``directory``: netCDF, JSON summary, optional figure.

    Parameters
    ----------
    directory : str or path-like
        Output directory (created if needed).
    summary : dict
        JSON-serialisable summary (numpy values and NaN allowed: written through
        :func:`bayescore.atomic.json_ready`).
    summary_name : str
        File name of the summary (e.g. ``"summary.json"``).
    data : xarray.Dataset or mapping of str to xarray.Dataset
        The labelled outputs (one dataset, or one netCDF-4 group per entry).
    data_name : str
        File name of the netCDF file.
    figure : callable, optional
        Called without arguments, returns a matplotlib figure; it is saved as PNG
        (150 dpi) and closed.
    figure_name : str, optional
        File name of the figure (required with ``figure``).

    Returns
    -------
    dict of str to pathlib.Path
        The written files: ``"netcdf"``, ``"json"`` and, with a figure, ``"figure"``.
    """
    out = Path(directory)
    out.mkdir(parents=True, exist_ok=True)
    written = {"netcdf": write_netcdf(out / data_name, data)}
    written["json"] = write_json(out / summary_name, summary)
    if figure is not None:
        if figure_name is None:
            raise InvalidSettingError("figure_name is required with figure")
        import matplotlib.pyplot as plt

        fig = figure()
        try:
            written["figure"] = save_figure(fig, out / figure_name)
        finally:
            plt.close(fig)
    return written
