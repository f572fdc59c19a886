"""Where bayescore's data files come from: the single place that resolves them.

A data file named by its registry key (for example ``"gufm1/gufm1_data.txt"``) is found,
in this order:

1. an explicit ``path`` given by the caller;
2. the directory named by the environment variable ``BAYESCORE_DATA``, laid out as the
   registry keys say (``gufm1/gufm1_data.txt``, ``dipole/padm2m_signed_dipole.csv``,
   ``real/go/GObs_12M_...cdf``, ...);
3. a download of the public original with :mod:`pooch` into the user cache
   (``pooch.os_cache("bayescore")``, overridable with ``BAYESCORE_CACHE``), checked
   against a pinned SHA-256 -- only for files whose exact bytes have a registered public
   address (:attr:`DataFile.url`).

Every file found by 2. or 3. is checked against the pinned hash, so a corrupted or
different file is reported rather than silently used. Each :class:`DataFile` also says
what the file is, how to cite it, which acknowledgement its providers ask for, and where
to obtain it when bayescore cannot download it; the data page of the documentation
lists them all.
"""

from __future__ import annotations

import hashlib
import os
from dataclasses import dataclass
from pathlib import Path

from bayescore.errors import DataNotFoundError, MalformedFileError

__all__ = ["DataFile", "REGISTRY", "data_path", "fetch", "missing_file_message"]

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
        Public address of these exact bytes, or ``None`` when bayescore knows no such
        address (then only a local copy can be used).
    description : str
        What the file is: content, span, units.
    citation : str
        The publication(s) to cite when using the file.
    source : str
        Where to obtain the original (publication supplement, data archive), and how the
        registered file differs from it when it does.
    acknowledgement : str
        Acknowledgement text requested by the data providers ("" when none is requested).
    """

    key: str
    sha256: str
    url: str | None
    description: str
    citation: str = ""
    source: str = ""
    acknowledgement: str = ""


_GUFM1_CITATION = (
    "Jackson, A., Jonkers, A. R. T. & Walker, M. R. (2000). Four centuries of geomagnetic "
    "secular variation from historical records. Phil. Trans. R. Soc. Lond. A 358, 957-990, "
    "doi:10.1098/rsta.2000.0569"
)
_SIGNED_DIPOLE_SOURCE = (
    "The published series is the unsigned axial dipole moment (a magnitude, 1 kyr "
    "spacing). This file assigns the polarity from the geomagnetic polarity time scale as "
    "in Morzfeld, M. & Buffett, B. A. (2019), Nonlinear Processes in Geophysics 26, 123-142: "
    "moment = -|moment| in normal chrons (the present field, g10 < 0) and +|moment| in "
    "reversed chrons; columns time_Ma (negative = before present, -1.999 ... 0.0), "
    "axial_dipole_moment_1e22Am2, sigma_1e22Am2. bayescore knows no public address of the "
    "signed file, so it cannot download it: build it from the original as described, or "
    "use your own CSV file with these columns"
)
_GO_CITATION = (
    "Macmillan, S. & Olsen, N. (2013). Observatory data and the Swarm mission. Earth "
    "Planets Space 65, 1355-1362, doi:10.5047/eps.2013.07.011"
)
_GO_ACKNOWLEDGEMENT = (
    "The staff of the geomagnetic observatories and INTERMAGNET are thanked for supplying "
    "high-quality observatory data."
)
_GO_SOURCE = (
    "Ground-observatory (GObs) series processed at DTU Space from the BGS AUX_OBS "
    "database of observatory hourly means (version 0136, May 2023), distributed with the "
    "ESA Swarm geomagnetic virtual observatory products; format in real/go/ReadMe_GO.txt"
)
_GVO_CITATION = (
    "Hammer, M. D., Cox, G. A., Brown, W. J., Beggan, C. D. & Finlay, C. C. (2021). "
    "Geomagnetic Virtual Observatories: monitoring geomagnetic secular variation with the "
    "Swarm satellites. Earth Planets Space 73, 54"
)
_GVO_ACKNOWLEDGEMENT = (
    "Geomagnetic virtual observatory series processed by DTU Space from {mission} "
    "magnetic data ({provider})."
)
_GVO_SOURCE = (
    "DTU Space geomagnetic virtual observatory (GVO) products for the {mission} mission "
    "(the Swarm GVO product format, SW-DS-DTU-GS-004); processing in real/gvo/{readme}"
)
_COVOBS_CITATION = (
    "Gillet, N., Jault, D., Finlay, C. C. & Olsen, N. (2013). Stochastic modeling of the "
    "Earth's magnetic field: inversion for covariances over the observatory era. "
    "Geochem. Geophys. Geosyst. 14, 766-786; Gillet, N., Barrois, "
    "O. & Finlay, C. C. (2015). Stochastic forecasting of the geomagnetic field from the "
    "COV-OBS.x1 geomagnetic field model, and candidate models for IGRF-12. Earth Planets "
    "Space 67, 71"
)
_COVOBS_SOURCE = (
    "One realisation (posterior draw) of a COV-OBS-type stochastic core-field model, as "
    "distributed by its authors with the COV-OBS ensembles (IPGP / ISTerre)"
)
_LOD_CITATION = (
    "IERS Earth Orientation Centre (Paris Observatory), EOP 20 C04 series consistent with "
    "ITRF 2020; IERS Conventions (2010), IERS Technical Note 36, for the zonal tides"
)
_LOD_SOURCE = (
    "https://hpiers.obspm.fr/iers/eop/eopc04/eopc04.1962-now (a living file, updated "
    "daily, so its hash changes: the registered copy is the one shipped by the "
    "astropy-iers-data package); format in real/lod/ReadMe.eopc04"
)
_IGRF_SOURCE = (
    "IAGA Working Group V-MOD, the IGRF pages of NOAA NCEI and of BGS "
    "(https://www.ncei.noaa.gov/products/international-geomagnetic-reference-field)"
)


def _gvo(key: str, sha256: str, mission: str, span: str, months: int, radius: str) -> DataFile:
    provider = {
        "CHAMP": "GFZ Potsdam, CHAMP MAG-L3",
        "Oersted": "DTU Space, Oersted",
        "CryoSat-2": "ESA, CryoSat-2 platform magnetometers",
    }[mission]
    readme = {
        "CHAMP": "ReadMe_CHAMP.txt",
        "Oersted": "ReadMe_OERSTED.txt",
        "CryoSat-2": "ReadMe_CRYOSAT2.txt",
    }[mission]
    return DataFile(
        key=key,
        sha256=sha256,
        url=None,
        description=(
            f"{mission} geomagnetic virtual observatories, {months}-monthly, {span}: 300 "
            f"equal-area GVOs at r = {radius} km; B_OB, B_CF (nT), B_SV (nT/yr) in the local "
            "(r, theta, phi) frame, CDF"
        ),
        citation=_GVO_CITATION,
        source=_GVO_SOURCE.format(mission=mission, readme=readme),
        acknowledgement=_GVO_ACKNOWLEDGEMENT.format(mission=mission, provider=provider),
    )


_REAL_GVO_README = "Processing and variables of the {mission} GVO files (DTU Space), text"


REGISTRY: dict[str, DataFile] = {
    f.key: f
    for f in (
        DataFile(
            key="gufm1/gufm1_data.txt",
            sha256="f34345bb660c81470c2a65d1779d0d1b0f5c7111982389df0f2bf35b0a6981d5",
            url="https://raw.githubusercontent.com/nknezek/gufm1/master/gufm1_data.txt",
            description=(
                "gufm1 historical core field model 1590-1990, original text format: "
                "B-spline (order 4, knots every 2.5 yr) Gauss coefficients to degree 14, nT, "
                "a = 6371.2 km"
            ),
            citation=_GUFM1_CITATION,
            source=(
                "The authors' model file, as mirrored at the registered address (a public "
                "GitHub copy of the original text file)"
            ),
        ),
        DataFile(
            key="dipole/padm2m_signed_dipole.csv",
            sha256="e4b0e537b3d36111f2b4c03dcb084cc9f17a3cbbf7bc583898016301a3ff13d8",
            url=None,
            description=(
                "PADM2M axial dipole moment 0-2 Ma at 1 kyr (2000 rows), 1e22 A m^2, with "
                "polarity from the geomagnetic polarity time scale"
            ),
            citation=(
                "Ziegler, L. B., Constable, C. G., Johnson, C. L. & Tauxe, L. (2011). "
                "PADM2M: a penalized maximum likelihood model of the 0-2 Ma palaeomagnetic "
                "axial dipole moment. Geophys. J. Int. 184, 1069-1089, "
                "doi:10.1111/j.1365-246X.2010.04905.x"
            ),
            source=(
                "Original: the PADM2M model published with Ziegler et al. (2011) (the "
                "paper's supporting information and the EarthRef Digital Archive, "
                "https://earthref.org/ERDA/1138/). " + _SIGNED_DIPOLE_SOURCE
            ),
        ),
        DataFile(
            key="dipole/sint2000_signed_dipole.csv",
            sha256="9ec6031ef2c98baf4737a3b0f2849382625dc5274fc849d008f23420f93e4663",
            url=None,
            description=(
                "Sint-2000 virtual axial dipole moment stack 0-2 Ma at 1 kyr (2000 rows), "
                "1e22 A m^2, with polarity from the geomagnetic polarity time scale"
            ),
            citation=(
                "Valet, J.-P., Meynadier, L. & Guyodo, Y. (2005). Geomagnetic dipole "
                "strength and reversal rate over the past two million years. Nature 435, "
                "802-805"
            ),
            source=(
                "Original: the Sint-2000 stack published as supplementary data of Valet et "
                "al. (2005) (Nature), also distributed by the NOAA NCEI paleomagnetism "
                "archive. " + _SIGNED_DIPOLE_SOURCE
            ),
        ),
        # Real observations and reference series: no public address of these exact
        # bytes is registered (the providers' servers re-issue versioned files).
        DataFile(
            key="real/go/GObs_12M_19970701T000000_20230701T000000_0108.cdf",
            sha256="955459cee377314c42aa6939e8ce6829fe72537263de3a42c2ef9e73e1d9a62b",
            url=None,
            description=(
                "Ground-observatory annual means 1997.5-2023.5 (5886 records, 218 series): "
                "B_OB, B_CF (nT), B_SV (nT/yr), bias_crust, Obs codes, CDF"
            ),
            citation=_GO_CITATION,
            source=_GO_SOURCE,
            acknowledgement=_GO_ACKNOWLEDGEMENT,
        ),
        DataFile(
            key="real/go/GObs_4M_19970301T000000_20231101T000000_0108.cdf",
            sha256="0c3b97ed0330513bd24369b7c3a18fbe9a85713339a0e427c2454293675f86b6",
            url=None,
            description=(
                "Ground-observatory 4-monthly means 1997-2023: B_OB, B_CF (nT), B_SV "
                "(nT/yr), bias_crust, Obs codes, CDF"
            ),
            citation=_GO_CITATION,
            source=_GO_SOURCE,
            acknowledgement=_GO_ACKNOWLEDGEMENT,
        ),
        DataFile(
            key="real/go/ReadMe_GO.txt",
            sha256="274ce975c74152f5bbcfa3016c4b87aa26a9ff5eb2285e788f9e04dfa48b780c",
            url=None,
            description="Variables and processing of the ground-observatory files, text",
            citation=_GO_CITATION,
            source=_GO_SOURCE,
            acknowledgement=_GO_ACKNOWLEDGEMENT,
        ),
        _gvo(
            "real/gvo/CH_OPER_VOBS_12M_2__20000701T000000_20100701T000000_0201.cdf",
            "08fdfd6fec053699ab46a708fa6fb390245ed8acb2f3175c58cbe93b1c191f53",
            "CHAMP",
            "2000.5-2010.5",
            12,
            "6741.2",
        ),
        _gvo(
            "real/gvo/CH_OPER_VOBS_4M_2__20000701T000000_20100701T000000_0201.cdf",
            "ee447c07abcb3622d153ad22f2d405fa80d0fef81a07faca7942c4d555c50b73",
            "CHAMP",
            "2000.5-2010.5",
            4,
            "6741.2",
        ),
        _gvo(
            "real/gvo/CR_OPER_VOBS_12M_2__20100701T000000_20180701T000000_0201.cdf",
            "e0ff497cb964b793b99536257a9d23744a96b464cbb4045935bcdb5c9a6b7678",
            "CryoSat-2",
            "2010.5-2018.5",
            12,
            "7098.2",
        ),
        _gvo(
            "real/gvo/CR_OPER_VOBS_4M_2__20100701T000000_20181101T000000_0201.cdf",
            "b3e532b5360e65a920e20c95d4ea373380068017ecc2a69db07ff692476f2d9e",
            "CryoSat-2",
            "2010.5-2018.8",
            4,
            "7098.2",
        ),
        _gvo(
            "real/gvo/OR_OPER_VOBS_12M_2__19990701T000000_20050701T000000_0201.cdf",
            "8ef3cda65ee62265c2d5e9f8d37aae81ac960f951d15547fbd2fe5d3813fc667",
            "Oersted",
            "1999.5-2005.5",
            12,
            "7126.2",
        ),
        _gvo(
            "real/gvo/OR_OPER_VOBS_4M_2__19990301T000000_20051101T000000_0201.cdf",
            "f7dda3390136553a8f00492a0725988860ce8a1e791b3743b80bb3aaa50ddf3f",
            "Oersted",
            "1999.2-2005.8",
            4,
            "7126.2",
        ),
        *(
            DataFile(
                key=f"real/gvo/{readme}",
                sha256=sha256,
                url=None,
                description=_REAL_GVO_README.format(mission=mission),
                citation=_GVO_CITATION,
                source=_GVO_SOURCE.format(mission=mission, readme=readme),
            )
            for readme, sha256, mission in (
                (
                    "ReadMe_CHAMP.txt",
                    "fee60e3cd17c889540f3893c79010fae1f1c07706e85bd00f75d615940ea213c",
                    "CHAMP",
                ),
                (
                    "ReadMe_CRYOSAT2.txt",
                    "73cfc9464726d638386f897a79131709ce755332b9ef27731038f17b5292bcbb",
                    "CryoSat-2",
                ),
                (
                    "ReadMe_OERSTED.txt",
                    "dcc5badd33aa90ba9bf9db273bc1538ae178a8dc7a3d25ef776bb7ad1ce8923c",
                    "Oersted",
                ),
            )
        ),
        DataFile(
            key="real/covobs/real_001",
            sha256="de5fd12aacae10b9b9848fb60468fc1ca51951776fb3a21f684754f727acbba6",
            url=None,
            description=(
                "One realisation of a COV-OBS-type stochastic core-field model 1840-2020: "
                "order-4 B-splines (95, knots every 2 yr from 1832) of Gauss coefficients to "
                "degree 14, nT, a = 6371.2 km, gufm1-like text"
            ),
            citation=_COVOBS_CITATION,
            source=_COVOBS_SOURCE,
        ),
        DataFile(
            key="real/covobs/real001_mf_int_coefs.dat",
            sha256="962dd113b97ee2561bc4595dbceea733bb5662ea216e2d46831385e890ebcff3",
            url=None,
            description=(
                "The same COV-OBS-type realisation evaluated at 361 epochs 1840.0-2020.0 "
                "(every 0.5 yr): epoch then 224 Gauss coefficients (nT) per row"
            ),
            citation=_COVOBS_CITATION,
            source=_COVOBS_SOURCE,
        ),
        DataFile(
            key="real/lod/eopc04.1962-now",
            sha256="1e87541594a93151182f59ba2af075037b97cb3e68a36557b1a997594ed55c23",
            url=None,
            description=(
                "IERS EOP 20 C04 daily series 1962-01-01 to 2026-09-29; column LOD(s) is "
                "the excess length of day (s), still holding zonal tides and the seasonal "
                "signal"
            ),
            citation=_LOD_CITATION,
            source=_LOD_SOURCE,
        ),
        DataFile(
            key="real/lod/ReadMe.eopc04",
            sha256="42d7890543fae69df024219d1d36f242b4fcd847f6f8a756c7d37c5dfd100243",
            url=None,
            description="Column format of the EOP 20 C04 file, text",
            citation=_LOD_CITATION,
            source=_LOD_SOURCE,
        ),
        DataFile(
            key="real/igrf/igrf12coeffs.txt",
            sha256="a0eaf7451641b4423ab21cd3128a52787e3748c7971d9d11dd45c259c63bedce",
            url=None,
            description=(
                "IGRF-12 coefficients 1900-2015, classic column format; last column the "
                "predicted SV 2015-2020 (nT/yr, degree 8)"
            ),
            citation=(
                "Thebault, E. et al. (2015). International Geomagnetic Reference Field: the "
                "12th generation. Earth Planets Space 67, 79"
            ),
            source=_IGRF_SOURCE,
        ),
        DataFile(
            key="real/igrf/IGRF13.shc",
            sha256="357536152bb6f72ced3eb886def84f91a592512465c367ca5ab7bda4c36c3522",
            url=None,
            description=(
                "IGRF-13 in .shc format 1900-2025; the 2025 epoch is the 2020 field "
                "extrapolated with the predicted SV 2020-2025"
            ),
            citation=(
                "Alken, P. et al. (2021). International Geomagnetic Reference Field: the "
                "thirteenth generation. Earth Planets Space 73, 49"
            ),
            source=_IGRF_SOURCE,
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


def missing_file_message(key: str, reason: str) -> str:
    """The message of a :class:`~bayescore.errors.DataNotFoundError` for a registered file.

    It says where bayescore looked, why it could not download the file, what the file is,
    where to obtain it and how to point bayescore at a local copy.

    Parameters
    ----------
    key : str
        Registry key of the missing file.
    reason : str
        Why no download was made or why it failed.

    Returns
    -------
    str
        The message.
    """
    entry = REGISTRY[key]
    root = os.environ.get(ENV_DATA_DIR)
    if root:
        looked = f"not found at {Path(root).expanduser().resolve() / key} (${ENV_DATA_DIR})"
    else:
        looked = f"not found: ${ENV_DATA_DIR} is not set"
    parts = [f"data file {key!r} {looked} and {reason}.", f"It is: {entry.description}."]
    if entry.source:
        parts.append(f"Where to obtain it: {entry.source}.")
    if entry.citation:
        parts.append(f"Cite: {entry.citation}.")
    parts.append(
        f"Then set {ENV_DATA_DIR} to a directory DIR holding it as DIR/{key}, or pass "
        "path=... (on the command line, the file's path)."
    )
    return " ".join(parts)


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
        the message says where bayescore looked, where to obtain the file and which
        variable to set (:func:`missing_file_message`).
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
    if entry.url is None:
        raise DataNotFoundError(
            missing_file_message(key, "no public copy of this file is registered for download")
        )
    if not download:
        raise DataNotFoundError(missing_file_message(key, "downloads are disabled"))
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
            missing_file_message(
                key, f"the download from {entry.url} failed ({type(exc).__name__}: {exc})"
            )
        ) from exc
    return Path(fetched)
