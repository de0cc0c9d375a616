"""lifetimes-compatible fitters backed by cxlens.retention.

Same class names, constructor (``penalizer_coef``), ``fit`` signatures, ``params_`` (a
pandas Series), ``summary`` (coef, se(coef), lower 95% bound, upper 95% bound),
``standard_errors_``, ``confidence_intervals_``, ``variance_matrix_``, ``data`` and
prediction methods as lifetimes 0.11. Differences, all deliberate:

* Every model is fitted by BFGS with exact gradients on the compressed histogram of
  unique rows (lifetimes: BFGS with autograd, or Nelder-Mead for Pareto/NBD), so
  ``fit_method``, ``iterative_fitting`` and optimizer ``**kwargs`` are accepted and ignored.
* Pareto/NBD also gets standard errors and a ``summary`` (lifetimes has none).
* A fit that does not converge raises :class:`cxlens.ConvergenceError` (lifetimes raises its
  own ConvergenceError, a ValueError); all-zero frequencies are reported the same way.
* ``_negative_log_likelihood_`` is the penalized objective in the data's own time unit
  (lifetimes reports it after rescaling time, which shifts it by a constant).
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from ... import _core
from ... import retention as _retention

__all__ = [
    "BetaGeoBetaBinomFitter",
    "BetaGeoFitter",
    "GammaGammaFitter",
    "ModifiedBetaGeoFitter",
    "ParetoNBDFitter",
]

_FREQ_UNITS = {"W": 4.345, "M": 1.0, "D": 30.0, "H": 30.0 * 24}


def _is_scalar(value: Any) -> bool:
    return np.ndim(value) == 0


def _index_of(*values: Any):
    for v in values:
        if isinstance(v, pd.Series):
            return v.index
    return None


def _shape_like(result: np.ndarray, *inputs: Any):
    """Returns a float for all-scalar inputs, a Series when an input was a Series, else an
    array (what lifetimes' numpy/pandas arithmetic returns)."""
    if all(_is_scalar(v) for v in inputs):
        return float(result[0])
    index = _index_of(*inputs)
    if index is not None and len(index) == len(result):
        return pd.Series(result, index=index)
    return result


class BaseFitter:
    """Shared behaviour of the lifetimes-compatible fitters."""

    _model_class: Any = None
    _param_names: tuple[str, ...] = ()

    def __init__(self, penalizer_coef: float = 0.0) -> None:
        self.penalizer_coef = penalizer_coef

    def __repr__(self) -> str:
        classname = self.__class__.__name__
        try:
            subj_str = f" fitted with {self.data.shape[0]:d} subjects,"
        except AttributeError:
            subj_str = ""
        try:
            param_str = ", ".join(f"{par}: {val:.2f}" for par, val in sorted(self.params_.items()))
            return f"<cxlens.compat.lifetimes.{classname}:{subj_str} {param_str}>"
        except AttributeError:
            return f"<cxlens.compat.lifetimes.{classname}>"

    def _unload_params(self, *args: str) -> list[float]:
        if not hasattr(self, "params_"):
            raise ValueError("Model has not been fit yet. Please call the .fit method first.")
        return [self.params_[x] for x in args]

    def _model(self):
        return self._model_class.from_params(
            **{n: float(v) for n, v in zip(self._param_names,
                                            self._unload_params(*self._param_names))})

    def _store_fit(self, result: "_retention.FitResult") -> None:
        if not result.converged:
            raise _core.ConvergenceError(
                f"The model did not converge ({result.reason}). Try adding a larger penalizer "
                "to see if that helps convergence.")
        self.params_ = pd.Series([result.params[n] for n in self._param_names],
                                 index=list(self._param_names), dtype=float)
        self._negative_log_likelihood_ = result.objective
        self.variance_matrix_ = result.covariance.loc[list(self._param_names),
                                                      list(self._param_names)]
        self.standard_errors_ = result.summary["se(coef)"].rename(None)
        self.confidence_intervals_ = result.summary[["lower 95% bound", "upper 95% bound"]]
        self._fit_result = result

    @property
    def summary(self) -> pd.DataFrame:
        """coef, se(coef), lower 95% bound, upper 95% bound per parameter."""
        df = pd.DataFrame(index=self.params_.index)
        df["coef"] = self.params_
        df["se(coef)"] = self.standard_errors_
        df["lower 95% bound"] = self.confidence_intervals_["lower 95% bound"]
        df["upper 95% bound"] = self.confidence_intervals_["upper 95% bound"]
        return df

    def print_summary(self) -> None:
        """Prints the summary table."""
        print(self.summary)


class _ContinuousFitter(BaseFitter):
    """BG/NBD, MBG/NBD and Pareto/NBD share inputs and predictions."""

    def _fit_continuous(self, frequency, recency, T, weights, initial_params, tol, index):
        frequency = np.asarray(frequency).astype(int)
        recency = np.asarray(recency, dtype=float)
        T = np.asarray(T, dtype=float)
        weights = (np.ones_like(recency, dtype=int) if weights is None
                   else np.asarray(weights))
        result = self._model_class.fit(frequency=frequency, recency=recency, T=T,
                                       weights=weights, penalizer=self.penalizer_coef,
                                       initial_params=initial_params, tolerance=tol)
        self._store_fit(result.fit_result)
        self.data = pd.DataFrame({"frequency": frequency, "recency": recency, "T": T,
                                  "weights": weights}, index=index)
        self.predict = self.conditional_expected_number_of_purchases_up_to_time
        return self

    def conditional_expected_number_of_purchases_up_to_time(self, t, frequency, recency, T):
        """Expected repeat purchases in the next t for customers with history
        (frequency, recency, T)."""
        model = self._model()
        ts, f, r, a = np.broadcast_arrays(np.asarray(t, dtype=float),
                                          np.asarray(frequency, dtype=float),
                                          np.asarray(recency, dtype=float),
                                          np.asarray(T, dtype=float))
        ts, f, r, a = (np.atleast_1d(v).ravel() for v in (ts, f, r, a))
        out = np.empty(len(f))
        for value in np.unique(ts):
            mask = ts == value
            out[mask] = model.conditional_expected_purchases(float(value), f[mask], r[mask],
                                                             a[mask])
        return _shape_like(out, t, frequency, recency, T)

    def expected_number_of_purchases_up_to_time(self, t):
        """Expected repeat purchases in (0, t] for a new customer."""
        out = self._model().expected_purchases(np.atleast_1d(np.asarray(t, dtype=float)))
        return _shape_like(out, t)

    def _probability_alive(self, frequency, recency, T):
        f, r, a = np.broadcast_arrays(np.asarray(frequency, dtype=float),
                                      np.asarray(recency, dtype=float),
                                      np.asarray(T, dtype=float))
        return self._model().probability_alive(np.atleast_1d(f).ravel(),
                                               np.atleast_1d(r).ravel(),
                                               np.atleast_1d(a).ravel())

    def conditional_probability_alive_matrix(self, max_frequency=None, max_recency=None):
        """P(alive) on a grid: rows recency 0..max_recency, columns frequency
        0..max_frequency, all at T = max_recency."""
        max_frequency = max_frequency or int(self.data["frequency"].max())
        max_recency = max_recency or int(self.data["T"].max())
        recency, frequency = np.meshgrid(np.arange(max_recency + 1, dtype=float),
                                         np.arange(max_frequency + 1, dtype=float),
                                         indexing="ij")
        r = recency.ravel()
        f = frequency.ravel()
        values = self._model().probability_alive(f, r, np.full(f.shape, float(max_recency)))
        return values.reshape(recency.shape)


class BetaGeoFitter(_ContinuousFitter):
    """BG/NBD (Fader, Hardie & Lee 2005), lifetimes-compatible."""

    _model_class = _retention.BgNbd
    _param_names = ("r", "alpha", "a", "b")

    def fit(self, frequency, recency, T, weights=None, initial_params=None, verbose=False,
            tol=1e-7, index=None, **kwargs):
        """Fits BG/NBD; returns self."""
        return self._fit_continuous(frequency, recency, T, weights, initial_params, tol, index)

    def conditional_probability_alive(self, frequency, recency, T):
        """P(alive) (1 for customers without repeat purchases); always an array, as in
        lifetimes."""
        return np.atleast_1d(self._probability_alive(frequency, recency, T))

    def probability_of_n_purchases_up_to_time(self, t, n):
        """P(X(t) = n) for a new customer."""
        return float(self._model().probability_of_purchases(float(t), [float(n)])[0])


class ModifiedBetaGeoFitter(BetaGeoFitter):
    """MBG/NBD (Batislam, Denizel & Filiztekin 2007), lifetimes-compatible."""

    _model_class = _retention.MbgNbd


class ParetoNBDFitter(_ContinuousFitter):
    """Pareto/NBD, lifetimes-compatible (fitted by BFGS, with standard errors)."""

    _model_class = _retention.ParetoNbd
    _param_names = ("r", "alpha", "s", "beta")

    def fit(self, frequency, recency, T, weights=None, iterative_fitting=1, initial_params=None,
            verbose=False, tol=1e-4, index=None, fit_method="Nelder-Mead", maxiter=2000,
            **kwargs):
        """Fits Pareto/NBD; returns self. ``iterative_fitting``, ``fit_method``, ``maxiter``
        and ``tol`` (a Nelder-Mead tolerance in lifetimes) are accepted for compatibility; the
        fit always runs BFGS to a gradient tolerance of 1e-7."""
        if iterative_fitting <= 0:
            raise ValueError("iterative_fitting parameter should be greater than 0 as of "
                             "lifetimes v0.2.1")
        if iterative_fitting > 1 and initial_params is not None:
            raise ValueError("iterative_fitting and initial_params should not be both set, as "
                             "no improvement could be made.")
        return self._fit_continuous(frequency, recency, T, weights, initial_params, 1e-7, index)

    def conditional_probability_alive(self, frequency, recency, T):
        """P(alive) per customer."""
        return _shape_like(self._probability_alive(frequency, recency, T), frequency, recency, T)

    def probability_of_n_purchases_up_to_time(self, t, n):
        """P(X(t) = n) for a new customer (cxlens addition)."""
        return float(self._model().probability_of_purchases(float(t), [float(n)])[0])

    def conditional_probability_of_n_purchases_up_to_time(self, n, t, frequency, recency, T):
        """Not provided by cxlens (lifetimes implements Fader & Hardie's note 028)."""
        raise NotImplementedError(
            "conditional_probability_of_n_purchases_up_to_time is not implemented in cxlens")


class BetaGeoBetaBinomFitter(BaseFitter):
    """Discrete-time BG/BB (Fader, Hardie & Shang 2010), lifetimes-compatible."""

    _model_class = _retention.BgBb
    _param_names = ("alpha", "beta", "gamma", "delta")

    def fit(self, frequency, recency, n_periods, weights=None, initial_params=None,
            verbose=False, tol=1e-7, index=None, **kwargs):
        """Fits BG/BB; returns self."""
        frequency = np.asarray(frequency).astype(int)
        recency = np.asarray(recency).astype(int)
        n_periods = np.asarray(n_periods).astype(int)
        weights = np.ones_like(recency) if weights is None else np.asarray(weights)
        result = _retention.BgBb.fit(frequency=frequency, recency=recency, T=n_periods,
                                     weights=weights, penalizer=self.penalizer_coef,
                                     initial_params=initial_params, tolerance=tol)
        self._store_fit(result.fit_result)
        self.data = pd.DataFrame({"frequency": frequency, "recency": recency,
                                  "n_periods": n_periods, "weights": weights}, index=index)
        return self

    def conditional_expected_number_of_purchases_up_to_time(self, m_periods_in_future,
                                                            frequency, recency, n_periods):
        """Expected transactions in the next m periods per customer."""
        f, r, n = (np.atleast_1d(np.asarray(v, dtype=float)).ravel()
                   for v in np.broadcast_arrays(frequency, recency, n_periods))
        out = self._model().conditional_expected_purchases(float(m_periods_in_future), f, r, n)
        return _shape_like(out, frequency, recency, n_periods)

    def conditional_probability_alive(self, m_periods_in_future, frequency, recency, n_periods):
        """P(alive in period n + m) per customer."""
        f, r, n = (np.atleast_1d(np.asarray(v, dtype=float)).ravel()
                   for v in np.broadcast_arrays(frequency, recency, n_periods))
        out = self._model().probability_alive(float(m_periods_in_future), f, r, n)
        return _shape_like(out, frequency, recency, n_periods)

    def expected_number_of_transactions_in_first_n_periods(self, n):
        """Expected number of customers with each observed frequency x after n periods:
        P(X(n) = x) times the number of customers."""
        x_counts = self.data.groupby("frequency")["weights"].sum()
        x = np.asarray(x_counts.index, dtype=float)
        p = self._model().probability_of_purchases(float(n), x)
        idx = pd.Index(x_counts.index, name="frequency")
        return pd.DataFrame(p * x_counts.sum(), index=idx, columns=["model"])


class GammaGammaFitter(BaseFitter):
    """Gamma-Gamma spend model, lifetimes-compatible (parameters p, q, v)."""

    _model_class = _retention.GammaGamma
    _param_names = ("p", "q", "v")

    def _model(self):
        return _retention.GammaGamma.from_params(*self._unload_params("p", "q", "v"))

    def fit(self, frequency, monetary_value, weights=None, initial_params=None, verbose=False,
            tol=1e-7, index=None, q_constraint=False, **kwargs):
        """Fits on repeat buyers; returns self. With ``q_constraint`` a fit whose q is below 1
        raises :class:`cxlens.ConvergenceError` (constrained fitting is not implemented)."""
        frequency = np.asarray(frequency, dtype=float)
        monetary_value = np.asarray(monetary_value, dtype=float)
        if len(frequency) and np.any(monetary_value <= 0):
            raise ValueError("There exist non-positive (<= 0) values in the monetary_value "
                             "vector.")
        weights = (np.ones_like(frequency, dtype=int) if weights is None
                   else np.asarray(weights))
        result = _retention.GammaGamma.fit(frequency, monetary_value, weights,
                                           penalizer=self.penalizer_coef,
                                           initial_params=initial_params, tolerance=tol)
        if q_constraint and result.params["q"] < 1:
            raise _core.ConvergenceError("q_constraint: the unconstrained estimate of q is below "
                                         "1 and constrained fitting is not implemented")
        self._store_fit(result.fit_result)
        self.data = pd.DataFrame({"monetary_value": monetary_value, "frequency": frequency,
                                  "weights": weights}, index=index)
        return self

    def conditional_expected_average_profit(self, frequency=None, monetary_value=None):
        """Expected mean transaction value per customer."""
        if monetary_value is None:
            monetary_value = self.data["monetary_value"]
        if frequency is None:
            frequency = self.data["frequency"]
        f, m = np.broadcast_arrays(np.asarray(frequency, dtype=float),
                                   np.asarray(monetary_value, dtype=float))
        out = self._model().conditional_expected_average_spend(np.atleast_1d(f).ravel(),
                                                              np.atleast_1d(m).ravel())
        return _shape_like(out, frequency, monetary_value)

    def customer_lifetime_value(self, transaction_prediction_model, frequency, recency, T,
                                monetary_value, time=12, discount_rate=0.01, freq="D"):
        """CLV per customer (a Series), lifetimes' convention: monthly steps, monthly
        discount rate, ``freq`` the time unit of the transaction model ('W', 'M', 'D', 'H')."""
        if freq not in _FREQ_UNITS:
            raise ValueError("freq must be one of 'W', 'M', 'D', 'H'")
        index = _index_of(frequency, recency, T, monetary_value)
        f, r, a, m = (np.atleast_1d(np.asarray(v, dtype=float)).ravel()
                      for v in (frequency, recency, T, monetary_value))
        if isinstance(transaction_prediction_model, _ContinuousFitter):
            values = self._model().customer_lifetime_value(
                transaction_prediction_model._model(), f, r, a, m, months=int(time),
                discount_rate=float(discount_rate), freq=freq)
        else:  # any object with lifetimes' predict(t, frequency, recency, T)
            spend = self.conditional_expected_average_profit(f, m)
            factor = _FREQ_UNITS[freq]
            values = np.zeros(len(f))
            for step in range(1, int(time) + 1):
                i = step * factor
                expected = (transaction_prediction_model.predict(i, f, r, a) -
                            transaction_prediction_model.predict(i - factor, f, r, a))
                values = values + spend * np.asarray(expected) / (1 + discount_rate) ** step
        return pd.Series(values, index=index if index is not None else range(len(values)),
                         name="clv")
