"""Baseline forecasters: persistence, climatology, AR(p) and Ornstein-Uhlenbeck.

All four share the interface of the recurrent forecaster (:mod:`bayescore.forecast.rnn`)
in plain NumPy arrays:

* ``fit(series, dt=1.0)`` on a series of shape ``(n_time,)`` or ``(n_time, n_features)``;
* ``predict(series, start=None)``: one-step-ahead predictive means for the targets
  ``series[start:]``, each made from the true history before it;
  ``predict_distribution`` adds the predictive standard deviations;
* ``forecast(history, steps)``: free-running predictive means after the end of
  ``history``; ``forecast_distribution`` adds the marginal predictive standard deviation
  at every lead;
* ``sample_forecast(history, steps, n_samples, seed)``: sample paths, shape
  ``(n_samples, steps)`` for a 1-D series or ``(n_samples, steps, n_features)``.

Outputs keep the dimensionality of the fitted series (1-D in, 1-D out). All predictive
distributions are Gaussian. **Multivariate series are modelled component by component**
(independent univariate models with their own parameters, orders and noise): the
predictive covariance between components is taken as zero, which is adequate for
marginal scores (CRPS, coverage per component) but not for joint scores across
components.

Models (``x_t`` one component, ``e_t ~ N(0, sigma**2)`` independent)
---------------------------------------------------------------------
``Persistence``
    Random walk ``x_t = x_{t-1} + e_t``; ``sigma**2 = mean((x_t - x_{t-1})**2)`` over the
    training series (no drift). Lead-h spread ``sigma sqrt(h)``.
``Climatology``
    ``x_t ~ N(mean, sd**2)`` independently, from the training mean and sample sd.
``AutoRegressive``
    ``x_t = c + sum_i phi_i x_{t-i} + e_t`` by conditional least squares, with the
    unbiased ``sigma**2 = RSS / (m - p - 1)``. The order is given or chosen by AIC
    (``m ln(RSS/m) + 2 (p + 1)``) or BIC (``m ln(RSS/m) + (p + 1) ln m``) over
    ``1..max_order``, all candidates fitted on the same ``m = n - max_order`` targets.
    AR(3) is the published model of the axial dipole moment.
``OrnsteinUhlenbeck``
    ``dx = -gamma (x - mu) dt + sqrt(2 D) dW``. Its exact discretisation at step ``dt`` is
    AR(1): ``x_{t+1} = mu + a (x_t - mu) + e_t`` with ``a = exp(-gamma dt)`` and
    ``var(e) = (D / gamma) (1 - a**2)``. The conditional Gaussian likelihood is maximised
    by least squares of ``x_{t+1}`` on ``(1, x_t)`` (``sigma**2 = RSS / m``, the MLE), then
    ``gamma = -ln(a) / dt``, ``mu = c / (1 - a)``, ``D = gamma sigma**2 / (1 - a**2)``.
    Predictive at lead time ``tau``: mean ``mu + exp(-gamma tau) (x_0 - mu)``, variance
    ``(D / gamma) (1 - exp(-2 gamma tau))``. Standard errors by the delta method.
"""

from __future__ import annotations

import math
from abc import ABC, abstractmethod

import numpy as np

from bayescore.errors import (
    ForecastConfigError,
    ModelFitError,
    NotFittedError,
    SeriesLengthError,
)
from bayescore.forecast.windows import as_series

__all__ = [
    "NotFittedError",
    "ModelFitError",
    "BaselineForecaster",
    "Persistence",
    "Climatology",
    "AutoRegressive",
    "OrnsteinUhlenbeck",
]


def _positive_int(value, name: str) -> int:
    if isinstance(value, bool) or not float(value).is_integer() or int(value) < 1:
        raise ForecastConfigError(f"{name} must be a positive integer, got {value!r}")
    return int(value)


class BaselineForecaster(ABC):
    """Common machinery of the Gaussian baseline forecasters (see the module docstring).

    Attributes
    ----------
    n_features_ : int
        Number of components of the fitted series.
    dt_ : float
        Sampling interval given to :meth:`fit` (time units).
    """

    #: smallest number of past values a one-step prediction needs
    _lags: int = 1

    def __init__(self) -> None:
        self.n_features_: int | None = None
        self.dt_: float | None = None
        self._univariate = False

    # -------------------------------------------------------------- subclass hooks --
    @abstractmethod
    def _fit(self, values: np.ndarray) -> None:
        """Estimate parameters from ``values`` (n_time, n_features)."""

    @abstractmethod
    def _min_fit_length(self) -> int:
        """Smallest series length :meth:`fit` accepts."""

    @abstractmethod
    def _one_step(self, values: np.ndarray, targets: np.ndarray):
        """Predictive (mean, sd) of ``values[t]`` given ``values[:t]`` for t in targets."""

    @abstractmethod
    def _moments(self, history: np.ndarray, steps: int):
        """Marginal predictive (mean, sd), each (steps, n_features), after ``history``."""

    @abstractmethod
    def _simulate(self, history: np.ndarray, steps: int, normals: np.ndarray) -> np.ndarray:
        """Sample paths (n_samples, steps, n_features) from standard normals."""

    # ------------------------------------------------------------------ interface --
    @property
    def is_fitted(self) -> bool:
        """Whether :meth:`fit` has been called."""
        return self.n_features_ is not None

    def _require_fitted(self) -> None:
        if not self.is_fitted:
            raise NotFittedError(f"{type(self).__name__} is not fitted: call fit() first")

    def fit(self, series, dt: float = 1.0):
        """Estimate the model from a training series.

        Parameters
        ----------
        series : array_like, shape (n_time,) or (n_time, n_features)
            Evenly sampled training series (its own units), no NaN.
        dt : float
            Sampling interval (time units, e.g. kyr); sets the units of rates such as
            the OU ``gamma`` (1/time) and ``D`` (units**2/time).

        Returns
        -------
        self

        Raises
        ------
        SeriesShapeError, NonFiniteError, SeriesLengthError, ForecastConfigError,
        ModelFitError
        """
        dt = float(dt)
        if not math.isfinite(dt) or dt <= 0:
            raise ForecastConfigError(f"dt must be a positive finite time step, got {dt!r}")
        raw = np.asarray(getattr(series, "values", series))
        values = as_series(series)
        needed = self._min_fit_length()
        if values.shape[0] < needed:
            raise SeriesLengthError(
                f"{type(self).__name__} needs a training series of at least {needed} time "
                f"steps; got {values.shape[0]}"
            )
        self.dt_ = dt
        self._fit(values)
        self.n_features_ = values.shape[1]
        self._univariate = raw.ndim == 1
        return self

    def _checked(self, series, name: str, min_length: int) -> np.ndarray:
        self._require_fitted()
        values = as_series(series, self.n_features_, name=name)
        if values.shape[0] < min_length:
            raise SeriesLengthError(
                f"{name} has {values.shape[0]} time steps; {type(self).__name__} needs at "
                f"least {min_length}"
            )
        return values

    def _shape_out(self, array: np.ndarray) -> np.ndarray:
        return array[..., 0] if self._univariate else array

    def _targets(self, n_time: int, start: int | None) -> np.ndarray:
        first = self._lags if start is None else int(start)
        if first < self._lags or first >= n_time:
            raise SeriesLengthError(
                f"start must lie in [{self._lags}, {n_time - 1}] so that every prediction "
                f"has {self._lags} past value(s); got {start!r}"
            )
        return np.arange(first, n_time)

    def predict_distribution(self, series, start: int | None = None):
        """One-step-ahead predictive means and standard deviations given the true history.

        Parameters
        ----------
        series : array_like, shape (n_time,) or (n_time, n_features)
            The series (usually training plus test part), in its own units.
        start : int, optional
            First predicted time index (default: the first with enough history).

        Returns
        -------
        mean, sd : numpy.ndarray, shape (n_time - start[, n_features])
            Predictive mean and standard deviation of ``series[start:]``.
        """
        values = self._checked(series, "series", self._lags + 1)
        targets = self._targets(values.shape[0], start)
        mean, sd = self._one_step(values, targets)
        return self._shape_out(mean), self._shape_out(sd)

    def predict(self, series, start: int | None = None) -> np.ndarray:
        """One-step-ahead predictive means of ``series[start:]`` given the true history.

        See :meth:`predict_distribution`.
        """
        return self.predict_distribution(series, start)[0]

    def forecast_distribution(self, history, steps: int):
        """Free-running Gaussian predictive after the end of ``history``.

        Parameters
        ----------
        history : array_like, shape (n_time,) or (n_time, n_features)
            Past values (the forecast starts after the last one).
        steps : int
            Number of future time steps (leads 1..steps).

        Returns
        -------
        mean, sd : numpy.ndarray, shape (steps[, n_features])
            Marginal predictive mean and standard deviation at each lead.
        """
        values = self._checked(history, "history", self._lags)
        steps = _positive_int(steps, "steps")
        mean, sd = self._moments(values, steps)
        return self._shape_out(mean), self._shape_out(sd)

    def forecast(self, history, steps: int) -> np.ndarray:
        """Free-running predictive mean after the end of ``history``, shape (steps[, d])."""
        return self.forecast_distribution(history, steps)[0]

    def sample_forecast(self, history, steps: int, n_samples: int = 100, seed: int = 0):
        """Sample paths of the free-running predictive distribution.

        Parameters
        ----------
        history : array_like, shape (n_time,) or (n_time, n_features)
            Past values.
        steps : int
            Number of future time steps.
        n_samples : int
            Number of paths.
        seed : int
            Seed of :func:`numpy.random.default_rng`; the same seed gives the same paths.

        Returns
        -------
        numpy.ndarray, shape (n_samples, steps[, n_features])
            Sample paths in the series' units.
        """
        values = self._checked(history, "history", self._lags)
        steps = _positive_int(steps, "steps")
        n_samples = _positive_int(n_samples, "n_samples")
        rng = np.random.default_rng(seed)
        normals = rng.standard_normal((n_samples, steps, self.n_features_))
        return self._shape_out(self._simulate(values, steps, normals))


# ----------------------------------------------------------------------------- persistence


class Persistence(BaselineForecaster):
    """Random-walk (persistence) forecaster: the next value equals the last one.

    Attributes
    ----------
    step_sd_ : numpy.ndarray, shape (n_features,)
        RMS of the training one-step differences (series units); the lead-h predictive
        sd is ``step_sd_ * sqrt(h)``.
    """

    def _min_fit_length(self) -> int:
        return 2

    def _fit(self, values):
        self.step_sd_ = np.sqrt(np.mean(np.diff(values, axis=0) ** 2, axis=0))

    def _one_step(self, values, targets):
        mean = values[targets - 1]
        return mean, np.broadcast_to(self.step_sd_, mean.shape).copy()

    def _moments(self, history, steps):
        lead = np.arange(1, steps + 1)[:, None]
        mean = np.repeat(history[-1:], steps, axis=0)
        return mean, self.step_sd_ * np.sqrt(lead)

    def _simulate(self, history, steps, normals):
        return history[-1] + np.cumsum(normals * self.step_sd_, axis=1)


# ----------------------------------------------------------------------------- climatology


class Climatology(BaselineForecaster):
    """Climatological forecaster: independent draws from N(training mean, training sd**2).

    Attributes
    ----------
    mean_, sd_ : numpy.ndarray, shape (n_features,)
        Training mean and sample standard deviation (ddof=1), series units.
    """

    _lags = 0

    def _min_fit_length(self) -> int:
        return 2

    def _fit(self, values):
        self.mean_ = values.mean(axis=0)
        self.sd_ = values.std(axis=0, ddof=1)

    def _one_step(self, values, targets):
        shape = (targets.size, values.shape[1])
        return np.broadcast_to(self.mean_, shape).copy(), np.broadcast_to(self.sd_, shape).copy()

    def _moments(self, history, steps):
        shape = (steps, history.shape[1])
        return np.broadcast_to(self.mean_, shape).copy(), np.broadcast_to(self.sd_, shape).copy()

    def _simulate(self, history, steps, normals):
        return self.mean_ + self.sd_ * normals


# ----------------------------------------------------------------------------- AR(p)


def _lag_design(x: np.ndarray, order: int, first_target: int) -> tuple[np.ndarray, np.ndarray]:
    """Design [1, x_{t-1}, ..., x_{t-p}] and targets x_t for t = first_target..n-1."""
    n = x.shape[0]
    targets = x[first_target:]
    columns = [np.ones(n - first_target)]
    columns += [x[first_target - lag : n - lag] for lag in range(1, order + 1)]
    return np.column_stack(columns), targets


class AutoRegressive(BaselineForecaster):
    """AR(p) forecaster with intercept, Gaussian innovations, per component.

    Parameters
    ----------
    order : int, optional
        Fixed order ``p``. If omitted, the order is chosen by ``criterion`` over
        ``1..max_order`` (separately for each component).
    max_order : int
        Largest candidate order for the automatic choice (default 10).
    criterion : {"aic", "bic"}
        Information criterion for the automatic choice (default AIC).

    Attributes
    ----------
    order_ : numpy.ndarray of int, shape (n_features,)
        Fitted order of each component.
    intercept_ : numpy.ndarray, shape (n_features,)
        ``c`` (series units).
    coef_ : numpy.ndarray, shape (n_features, max(order_))
        ``phi_1..phi_p`` (zero-padded beyond each component's order).
    stderr_ : numpy.ndarray, shape (n_features, 1 + max(order_))
        Least-squares standard errors of ``(c, phi_1, ..., phi_p)`` (NaN where padded).
    sigma_ : numpy.ndarray, shape (n_features,)
        Innovation standard deviation (series units).
    criterion_values_ : numpy.ndarray or None, shape (n_features, max_order)
        AIC/BIC of orders 1..max_order (automatic choice only).
    """

    def __init__(self, order: int | None = None, max_order: int = 10, criterion: str = "aic"):
        super().__init__()
        self.order = None if order is None else _positive_int(order, "order")
        self.max_order = _positive_int(max_order, "max_order")
        if criterion not in ("aic", "bic"):
            raise ForecastConfigError(f"criterion must be 'aic' or 'bic', got {criterion!r}")
        self.criterion = criterion

    @property
    def _lags(self) -> int:  # type: ignore[override]
        return int(self.order_.max()) if self.is_fitted else (self.order or self.max_order)

    def _min_fit_length(self) -> int:
        p = self.order or self.max_order
        # m = n - p targets must exceed the p + 1 coefficients by at least one
        return 2 * p + 2

    def _fit(self, values):
        n_time, n_features = values.shape
        _check_not_degenerate(values, self.order or self.max_order)
        if self.order is not None:
            orders = np.full(n_features, self.order)
            self.criterion_values_ = None
        else:
            table = np.empty((n_features, self.max_order))
            m = n_time - self.max_order
            penalty = 2.0 if self.criterion == "aic" else math.log(m)
            for j in range(n_features):
                for p in range(1, self.max_order + 1):
                    design, target = _lag_design(values[:, j], p, self.max_order)
                    _, rss = _least_squares(design, target)
                    table[j, p - 1] = m * math.log(rss / m) + penalty * (p + 1)
            orders = np.argmin(table, axis=1) + 1
            self.criterion_values_ = table
        width = int(orders.max())
        self.order_ = orders.astype(int)
        self.intercept_ = np.empty(n_features)
        self.coef_ = np.zeros((n_features, width))
        self.stderr_ = np.full((n_features, width + 1), np.nan)
        self.sigma_ = np.empty(n_features)
        for j, p in enumerate(orders):
            design, target = _lag_design(values[:, j], int(p), int(p))
            beta, rss = _least_squares(design, target)
            dof = target.size - (p + 1)
            sigma2 = rss / dof
            cov = sigma2 * np.linalg.inv(design.T @ design)
            self.intercept_[j] = beta[0]
            self.coef_[j, :p] = beta[1:]
            self.stderr_[j, : p + 1] = np.sqrt(np.diag(cov))
            self.sigma_[j] = math.sqrt(sigma2)

    def _one_step(self, values, targets):
        width = self.coef_.shape[1]
        # lagged[k, t, j] = values[t - 1 - k, j]
        lagged = np.stack([values[targets - 1 - k] for k in range(width)])
        mean = self.intercept_ + np.einsum("ktj,jk->tj", lagged, self.coef_)
        return mean, np.broadcast_to(self.sigma_, mean.shape).copy()

    def _recursion(self, history, steps, shocks):
        """x_{T+h} = c + sum phi_k x_{T+h-k} + shocks[..., h, :]; shocks (..., steps, d)."""
        width = self.coef_.shape[1]
        lead_shape = shocks.shape[:-2]
        window = np.broadcast_to(history[::-1][:width], lead_shape + (width, history.shape[1]))
        window = window.copy()  # window[..., k, j] = x_{t-k}
        out = np.empty(shocks.shape)
        for h in range(steps):
            nxt = self.intercept_ + np.einsum("...kj,jk->...j", window, self.coef_)
            nxt = nxt + shocks[..., h, :]
            out[..., h, :] = nxt
            window = np.concatenate([nxt[..., None, :], window[..., :-1, :]], axis=-2)
        return out

    def psi_weights(self, steps: int) -> np.ndarray:
        """MA(infinity) weights ``psi_0..psi_{steps-1}`` per component, (steps, n_features).

        ``psi_0 = 1``, ``psi_j = sum_{i=1}^{min(j, p)} phi_i psi_{j-i}``; the lead-h
        forecast variance is ``sigma**2 sum_{j<h} psi_j**2``.
        """
        self._require_fitted()
        steps = _positive_int(steps, "steps")
        width = self.coef_.shape[1]
        psi = np.zeros((steps, self.coef_.shape[0]))
        psi[0] = 1.0
        for j in range(1, steps):
            for i in range(1, min(j, width) + 1):
                psi[j] += self.coef_[:, i - 1] * psi[j - i]
        return psi

    def _moments(self, history, steps):
        mean = self._recursion(history, steps, np.zeros((steps, history.shape[1])))
        variance = self.sigma_**2 * np.cumsum(self.psi_weights(steps) ** 2, axis=0)
        return mean, np.sqrt(variance)

    def _simulate(self, history, steps, normals):
        return self._recursion(history, steps, normals * self.sigma_)


def _check_not_degenerate(values: np.ndarray, order: int) -> None:
    """Raise :class:`ModelFitError` if a component admits no unique AR(order) fit.

    A constant component (or one whose lagged values are collinear with the intercept,
    such as a straight line) makes the least-squares normal matrix singular: the
    coefficients are not identified and the residual variance is zero.
    """
    for j in range(values.shape[1]):
        design, _ = _lag_design(values[:, j], order, order)
        if np.ptp(values[:, j]) == 0.0 or np.linalg.matrix_rank(design) < design.shape[1]:
            raise ModelFitError(
                f"component {j} is constant or exactly linear in its own lags: its AR "
                f"coefficients (order up to {order}) are not identified; a constant "
                "series is forecast exactly by Persistence or Climatology"
            )


def _least_squares(design: np.ndarray, target: np.ndarray) -> tuple[np.ndarray, float]:
    beta, *_ = np.linalg.lstsq(design, target, rcond=None)
    residual = target - design @ beta
    return beta, float(residual @ residual)


# ----------------------------------------------------------------------------- OU


class OrnsteinUhlenbeck(BaselineForecaster):
    """Ornstein-Uhlenbeck (Langevin) model ``dx = -gamma (x - mu) dt + sqrt(2 D) dW``.

    Fitted per component by the conditional Gaussian likelihood of its exact AR(1)
    discretisation (module docstring).

    Attributes
    ----------
    gamma_ : numpy.ndarray, shape (n_features,)
        Mean-reversion rate (1 / time unit of ``dt``).
    mu_ : numpy.ndarray, shape (n_features,)
        Long-term mean (series units).
    diffusion_ : numpy.ndarray, shape (n_features,)
        Diffusion coefficient ``D`` (series units**2 / time).
    stderr_ : dict of str -> numpy.ndarray
        Delta-method standard errors of ``gamma``, ``mu``, ``diffusion``.
    ar_coefficient_ : numpy.ndarray
        ``a = exp(-gamma dt)``.
    innovation_sd_ : numpy.ndarray
        One-step innovation sd ``sqrt((D/gamma)(1 - a**2))`` (series units).
    """

    def _min_fit_length(self) -> int:
        return 4

    def _fit(self, values):
        n_time, n_features = values.shape
        m = n_time - 1
        gamma = np.empty(n_features)
        mu = np.empty(n_features)
        diffusion = np.empty(n_features)
        errors = {"gamma": np.empty(n_features), "mu": np.empty(n_features)}
        errors["diffusion"] = np.empty(n_features)
        _check_not_degenerate(values, 1)
        for j in range(n_features):
            design, target = _lag_design(values[:, j], 1, 1)
            (c, a), rss = _least_squares(design, target)
            if not 0.0 < a < 1.0:
                raise ModelFitError(
                    f"component {j}: the fitted AR(1) coefficient a = {a:.4g} is not in (0, 1), "
                    "so the series shows no mean reversion an OU process can represent"
                )
            sigma2 = rss / m  # conditional maximum-likelihood estimate
            g = -math.log(a) / self.dt_
            gamma[j] = g
            mu[j] = c / (1.0 - a)
            diffusion[j] = g * sigma2 / (1.0 - a * a)
            # delta method: cov(c, a) from least squares, var(sigma2) = 2 sigma2**2 / m
            cov = sigma2 * np.linalg.inv(design.T @ design)
            dg = np.array([0.0, -1.0 / (a * self.dt_)])
            dmu = np.array([1.0 / (1.0 - a), c / (1.0 - a) ** 2])
            dd_da = sigma2 * (dg[1] * (1.0 - a * a) + 2.0 * a * g) / (1.0 - a * a) ** 2
            dd = np.array([0.0, dd_da])
            var_sigma2 = 2.0 * sigma2**2 / m
            errors["gamma"][j] = math.sqrt(dg @ cov @ dg)
            errors["mu"][j] = math.sqrt(dmu @ cov @ dmu)
            errors["diffusion"][j] = math.sqrt(
                dd @ cov @ dd + (g / (1.0 - a * a)) ** 2 * var_sigma2
            )
        self.gamma_ = gamma
        self.mu_ = mu
        self.diffusion_ = diffusion
        self.stderr_ = errors
        self.ar_coefficient_ = np.exp(-gamma * self.dt_)
        self.innovation_sd_ = np.sqrt(diffusion / gamma * (1.0 - self.ar_coefficient_**2))

    @property
    def stationary_sd_(self) -> np.ndarray:
        """Stationary standard deviation ``sqrt(D / gamma)`` (series units)."""
        self._require_fitted()
        return np.sqrt(self.diffusion_ / self.gamma_)

    def predictive_moments(self, x0, lead_time):
        """Analytic predictive mean and sd at arbitrary lead times (continuous time).

        Parameters
        ----------
        x0 : array_like, shape () or (n_features,)
            Current value(s).
        lead_time : array_like, shape (n_leads,)
            Lead times (time units of ``dt``), >= 0.

        Returns
        -------
        mean, sd : numpy.ndarray, shape (n_leads[, n_features])
            ``mu + exp(-gamma tau)(x0 - mu)`` and ``sqrt((D/gamma)(1 - exp(-2 gamma tau)))``.
        """
        self._require_fitted()
        tau = np.asarray(lead_time, dtype=float)
        if tau.ndim != 1 or np.any(tau < 0) or not np.all(np.isfinite(tau)):
            raise ForecastConfigError("lead_time must be a 1-D array of finite values >= 0")
        start = np.broadcast_to(np.asarray(x0, dtype=float), (self.n_features_,))
        decay = np.exp(-np.outer(tau, self.gamma_))
        mean = self.mu_ + decay * (start - self.mu_)
        sd = np.sqrt(self.diffusion_ / self.gamma_ * (1.0 - decay**2))
        return self._shape_out(mean), self._shape_out(sd)

    def _one_step(self, values, targets):
        a = self.ar_coefficient_
        mean = self.mu_ + a * (values[targets - 1] - self.mu_)
        return mean, np.broadcast_to(self.innovation_sd_, mean.shape).copy()

    def _moments(self, history, steps):
        tau = np.arange(1, steps + 1) * self.dt_
        decay = np.exp(-np.outer(tau, self.gamma_))
        mean = self.mu_ + decay * (history[-1] - self.mu_)
        sd = np.sqrt(self.diffusion_ / self.gamma_ * (1.0 - decay**2))
        return mean, sd

    def _simulate(self, history, steps, normals):
        a = self.ar_coefficient_
        out = np.empty(normals.shape)
        current = np.broadcast_to(history[-1], normals.shape[:1] + history.shape[1:])
        for h in range(steps):
            current = self.mu_ + a * (current - self.mu_) + self.innovation_sd_ * normals[:, h]
            out[:, h] = current
        return out
