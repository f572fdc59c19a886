"""Where bayescore's data files come from: the single place that resolves them.

A data file named by its registry key (for example ``"gufm1/gufm1_data.txt"``) is found,
in this order:

1. an explicit ``path`` given by the caller;
2. the directory named by the environment variable ``BAYESCORE_DATA`` (the layout of
   ``shared/data``: ``gufm1/gufm1_data.txt``, ``dipole/padm2m_signed_dipole.csv``, ...);
3. a download of the public original with :mod:`pooch` into the user cache
   (``pooch.os_cache("bayescore")``, overridable with ``BAYESCORE_CACHE``), checked
   against a pinned SHA-256.

Every file found by 2. or 3. is checked against the pinned hash, so a corrupted or
different file is reported rather than silently used.
"""

from __future__ import annotations

import hashlib
import os
from dataclasses import dataclass
from pathlib import Path

from bayescore.errors import DataNotFoundError, MalformedFileError

__all__ = ["DataFile", "REGISTRY", "data_path", "fetch"]

ENV_DATA_DIR = "BAYESCORE_DATA"
ENV_CACHE_DIR = "BAYESCORE_CACHE"


@dataclass(frozen=True)
class DataFile:
    """A registered data file.

    Attributes
    ----------
    key : str
        Relative path of the file inside a data directory, e.g. ``"gufm1/gufm1_data.txt"``.
    sha256 : str
        Pinned SHA-256 of the file's bytes.
    url : str or None
        Public address of the original, or ``None`` when no public copy of this exact
        file exists (then only a local copy can be used).
    description : str
        One line saying what the file is and where it comes from.
    """

    key: str
    sha256: str
    url: str | None
    description: str


REGISTRY: dict[str, DataFile] = {
    f.key: f
    for f in (
        DataFile(
            key="gufm1/gufm1_data.txt",
            sha256="f34345bb660c81470c2a65d1779d0d1b0f5c7111982389df0f2bf35b0a6981d5",
            url="https://raw.githubusercontent.com/nknezek/gufm1/master/gufm1_data.txt",
            description=(
                "gufm1 historical field model 1590-1990 (Jackson, Jonkers & Walker 2000), "
                "original text format"
            ),
        ),
        DataFile(
            key="dipole/padm2m_signed_dipole.csv",
            sha256="e4b0e537b3d36111f2b4c03dcb084cc9f17a3cbbf7bc583898016301a3ff13d8",
            url=None,
            description=(
                "PADM2M axial dipole moment 0-2 Ma (Ziegler et al. 2011) with polarity from "
                "the geomagnetic polarity time scale"
            ),
        ),
        DataFile(
            key="dipole/sint2000_signed_dipole.csv",
            sha256="9ec6031ef2c98baf4737a3b0f2849382625dc5274fc849d008f23420f93e4663",
            url=None,
            description=(
                "Sint-2000 axial dipole moment 0-2 Ma (Valet et al. 2005) with polarity from "
                "the geomagnetic polarity time scale"
            ),
        ),
    )
}


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def _check_hash(path: Path, entry: DataFile) -> Path:
    found = _sha256(path)
    if found != entry.sha256:
        raise MalformedFileError(
            f"{path} does not match the pinned SHA-256 of {entry.key!r} "
            f"(expected {entry.sha256}, found {found}); the file is corrupted or a "
            "different version"
        )
    return path


def data_path(key: str) -> Path | None:
    """Return the path of a registered file under ``$BAYESCORE_DATA``, if present.

    Parameters
    ----------
    key : str
        Registry key, e.g. ``"gufm1/gufm1_data.txt"``.

    Returns
    -------
    pathlib.Path or None
        The file's path when ``BAYESCORE_DATA`` is set and holds it, else ``None``.
    """
    root = os.environ.get(ENV_DATA_DIR)
    if not root:
        return None
    candidate = Path(root).expanduser() / key
    return candidate if candidate.is_file() else None


def fetch(key: str, path: str | os.PathLike | None = None, *, download: bool = True) -> Path:
    """Locate a registered data file, downloading it if needed.

    Parameters
    ----------
    key : str
        Registry key (see :data:`REGISTRY`), e.g. ``"dipole/padm2m_signed_dipole.csv"``.
    path : str or path-like, optional
        Explicit file to use. It is returned as is (after an existence check), with no
        hash check, so that users can read their own versions of a file.
    download : bool, default True
        Whether a download of the public original may be attempted.

    Returns
    -------
    pathlib.Path
        Path of a readable file.

    Raises
    ------
    DataNotFoundError
        If the file is not given, not under ``$BAYESCORE_DATA`` and cannot be downloaded;
        the message says which variable to set.
    MalformedFileError
        If a found file does not match the pinned SHA-256.
    KeyError
        If ``key`` is not a registered file.
    """
    if path is not None:
        explicit = Path(path).expanduser()
        if not explicit.is_file():
            raise DataNotFoundError(f"data file {explicit} does not exist")
        return explicit
    if key not in REGISTRY:
        known = ", ".join(sorted(REGISTRY))
        raise KeyError(f"unknown data file {key!r}; registered files: {known}")
    entry = REGISTRY[key]
    local = data_path(key)
    if local is not None:
        return _check_hash(local, entry)
    hint = (
        f"set the environment variable {ENV_DATA_DIR} to a directory that holds {key} "
        "(for a development checkout: BAYESCORE_DATA=../shared/data) or pass path=..."
    )
    if entry.url is None or not download:
        reason = (
            "no public copy of this file is registered"
            if entry.url is None
            else ("downloads are disabled")
        )
        raise DataNotFoundError(f"data file {key!r} not found ({reason}): {hint}")
    try:
        import pooch

        cache = os.environ.get(ENV_CACHE_DIR) or pooch.os_cache("bayescore")
        fetched = pooch.retrieve(
            url=entry.url,
            known_hash=f"sha256:{entry.sha256}",
            fname=key.replace("/", "__"),
            path=cache,
            progressbar=False,
        )
    except Exception as exc:  # network errors come in many types
        raise DataNotFoundError(
            f"data file {key!r} not found locally and the download from {entry.url} "
            f"failed ({type(exc).__name__}: {exc}): {hint}"
        ) from exc
    return Path(fetched)
