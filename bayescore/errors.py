"""Exception types raised by bayescore for bad input.

Every exception derives from :class:`BayescoreError` and from the matching built-in
(``ValueError``, ``FileNotFoundError``) so that generic handlers keep working.
"""


class BayescoreError(Exception):
    """Base class of every error that bayescore raises on purpose."""


class CoefficientShapeError(BayescoreError, ValueError):
    """A coefficient vector does not have a valid length L(L+2) or the expected shape."""


class NonFiniteError(BayescoreError, ValueError):
    """An input array contains NaN or infinite values."""


class InvalidSettingError(BayescoreError, ValueError):
    """An argument or option outside its allowed values (an unknown name, a non-positive
    size, inconsistent options). The model and forecaster settings have their own
    subclasses, :class:`ModelConfigError` and :class:`ForecastConfigError`."""


class EpochOutOfRangeError(BayescoreError, ValueError):
    """An epoch lies outside the time span on which a model is defined."""


class MalformedFileError(BayescoreError, ValueError):
    """A model or data file is truncated, has wrong counts or non-numeric entries."""


class DataNotFoundError(BayescoreError, FileNotFoundError):
    """A data file could not be found locally nor downloaded."""


class SeriesShapeError(BayescoreError, ValueError):
    """A time series has the wrong number of dimensions, features or inconsistent lengths."""


class SeriesLengthError(BayescoreError, ValueError):
    """A time series is too short for the requested estimator, windows or split."""


class UnevenSamplingError(BayescoreError, ValueError):
    """An estimator that needs even sampling was given unevenly spaced sample times."""


class ForecastConfigError(InvalidSettingError):
    """A forecaster or window setting is out of range (non-positive size, bad fraction)."""


class NotFittedError(ForecastConfigError):
    """A forecaster was used for prediction before it was fitted (or loaded)."""


class ModelFitError(BayescoreError, ValueError):
    """The data cannot be represented by the model (e.g. no mean reversion for OU)."""


class MissingVariableError(MalformedFileError):
    """A data file lacks a variable (column, CDF variable) that its reader requires."""


class EmptySiteError(BayescoreError, ValueError):
    """An observatory site holds no finite value of the quantity being read."""


class ImplausibleUnitsError(MalformedFileError):
    """Data whose values point at other units than bayescore's (nT, km, rad, decimal years).

    For example field values in tesla, times in days since 2000, radii in metres or
    altitudes instead of geocentric radii, angles in degrees. A :class:`MalformedFileError`
    (and so a ``ValueError``), so that existing handlers keep working.
    """


class UnreadableFileError(BayescoreError, OSError):
    """A file that exists cannot be read: a directory, or no permission to read it."""


class OutputFolderError(BayescoreError, ValueError):
    """An output folder (``--out``) is empty, names a file, or cannot be created or written."""


class InputFileError(BayescoreError, ValueError):
    """An input file is a folder, cannot be read, is not text, or holds no data rows."""


class ModelConfigError(InvalidSettingError):
    """A model or inference setting is invalid or inconsistent (unknown likelihood or norm,
    a damping out of range, sites or layouts that do not match, a model the driver cannot
    handle)."""


class NotAModeError(BayescoreError, ValueError):
    """The point given as a posterior mode is not a local maximum (the Hessian of the
    negative log posterior there is not positive definite)."""


class InvalidDegreeError(CoefficientShapeError):
    """A spherical-harmonic degree (lmax) is not an integer >= 1 (e.g. 2.5 or 0)."""


class UndeterminedFlowError(BayescoreError, ValueError):
    """The data cannot determine a core flow (e.g. a zero main field: the frozen-flux
    operator is zero)."""


class ProblemTooLargeError(ModelConfigError):
    """A problem's arrays would not fit in the available memory (the estimate is made
    before any computation; the message names the size and what would fit)."""


class TargetOutOfReachError(BayescoreError, ValueError):
    """No damping gives the requested rms flow speed."""
