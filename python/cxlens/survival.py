"""Survival analysis, cohort retention and churn risk with reasons.

Survival curves and tests
    :func:`kaplan_meier`, :func:`nelson_aalen`, :func:`logrank_test`,
    :func:`concordance_index`, :func:`count_events` (the mergeable event/at-risk summary).
Cox proportional hazards
    :func:`fit_cox` returns a :class:`CoxResult` (Efron or Breslow ties, L2 penalty with
    lifelines' convention, strata); :mod:`cxlens.compat.lifelines` wraps it as ``CoxPHFitter``.
Cohorts
    :func:`cohort_retention` (acquisition cohort x period, contractual or behavioural) and
    :func:`plot_cohort_heatmap`.
Churn
    :func:`churn_features` (one feature table from an :class:`~cxlens.EventLog`),
    :func:`churn_outcomes` (labels and durations after a cut-off), :class:`ChurnModel`
    (L2-regularised logistic regression with reason codes and the at-risk list),
    :func:`evaluate_churn` (AUC, Brier, calibration) and :func:`fit_churn_cox`.

Every function is pandas in, pandas out; the work runs in C++ (``cxlens._core.survival``).
Errors are :class:`cxlens.InvalidArgument` (a ``ValueError``) or
:class:`cxlens.ConvergenceError` (a ``RuntimeError``); messages never contain data values.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass, field
from typing import Any, Iterable, Sequence

import numpy as np
import pandas as pd

from . import _core
from ._core import InvalidArgument

_s = _core.survival

__all__ = [
    "ChurnModel",
    "CoxResult",
    "LogRankResult",
    "churn_feature_names",
    "churn_features",
    "churn_outcomes",
    "cohort_retention",
    "concordance_index",
    "count_events",
    "evaluate_churn",
    "fit_churn_cox",
    "fit_cox",
    "cohort_frame",
    "kaplan_meier",
    "kaplan_meier_from_counts",
    "logrank_test",
    "nelson_aalen",
    "plot_cohort_heatmap",
]

_RFM = ("recency_days", "frequency", "monetary")


def _float_array(values: Any, name: str) -> np.ndarray:
    try:
        array = np.ascontiguousarray(np.asarray(values, dtype=np.float64).reshape(-1))
    except (TypeError, ValueError) as error:
        raise _core.ColumnTypeError(f"'{name}' must be numeric") from error
    return array


def _events_array(events: Any, n: int) -> np.ndarray:
    if events is None:
        return np.ones(n)
    return _float_array(events, "events")


def _group_codes(groups: Any) -> tuple[np.ndarray, list]:
    array = np.asarray(groups).reshape(-1)
    if array.dtype.kind in "iub" and len(array):
        # Small non-negative integer codes: levels from a bincount, no hashing or sorting.
        low, high = int(array.min()), int(array.max())
        if low >= 0 and high < max(1 << 20, len(array)):
            present = np.flatnonzero(np.bincount(array.astype(np.int64, copy=False)))
            if len(present) == high + 1:
                return array.astype(np.uint32), present.tolist()
            lookup = np.zeros(high + 1, dtype=np.uint32)
            lookup[present] = np.arange(len(present), dtype=np.uint32)
            return lookup[array], present.tolist()
    codes, levels = pd.factorize(pd.Series(array), sort=True)
    if (codes < 0).any():
        raise InvalidArgument("groups must not be missing")
    return codes.astype(np.uint32), list(levels)


def _timestamp_ns(value: Any) -> int:
    if isinstance(value, (int, np.integer)):
        return int(value)
    stamp = pd.Timestamp(value)
    if stamp.tzinfo is not None:
        stamp = stamp.tz_convert("UTC").tz_localize(None)
    return int(stamp.value)


def _native_log(log: Any):
    return getattr(log, "_native", log)


# ---- survival curves and tests ------------------------------------------------------------


def count_events(durations: Any, events: Any = None, groups: Any = None, threads: int = 1):
    """Events and censorings per distinct duration (and group): the mergeable summary.

    Returns the native ``EventCounts`` (``time``, ``observed``, ``censored``, ``merge``).
    Summaries of any split of the rows merge to the same table.
    """
    t = _float_array(durations, "durations")
    e = _events_array(events, len(t))
    if groups is None:
        return _s.count_events(t, e, None, 1, threads)
    codes, levels = _group_codes(groups)
    return _s.count_events(t, e, codes, max(len(levels), 1), threads)


def kaplan_meier(durations: Any, events: Any = None, alpha: float = 0.05, threads: int = 1
                 ) -> pd.DataFrame:
    """Kaplan-Meier estimate with Greenwood variance and log(-log) confidence intervals.

    Returns a DataFrame indexed by time (0 and every distinct duration) with ``at_risk``,
    ``observed``, ``censored``, ``survival``, ``ci_lower``, ``ci_upper`` and ``greenwood``;
    ``.attrs["median"]`` holds the median survival time (``inf`` if never reached).
    """
    return kaplan_meier_from_counts(count_events(durations, events, threads=threads), alpha)


def kaplan_meier_from_counts(counts: Any, alpha: float = 0.05) -> pd.DataFrame:
    """The :func:`kaplan_meier` table of a (merged) ``EventCounts`` summary: the finish step
    of summarise -> merge -> finish (groups are pooled)."""
    result = _s.kaplan_meier(counts, alpha)
    table = pd.DataFrame({k: result[k] for k in ("at_risk", "observed", "censored", "survival",
                                                 "ci_lower", "ci_upper", "greenwood")},
                         index=pd.Index(result["time"], name="time"))
    table.attrs["median"] = result["median"]
    table.attrs["alpha"] = alpha
    return table


def nelson_aalen(durations: Any, events: Any = None, alpha: float = 0.05,
                 ties_smoothing: bool = True) -> pd.DataFrame:
    """Nelson-Aalen cumulative hazard with variance and confidence intervals (lifelines'
    tie smoothing by default)."""
    result = _s.nelson_aalen(count_events(durations, events), alpha, ties_smoothing)
    return pd.DataFrame({k: result[k] for k in ("at_risk", "observed", "cumulative_hazard",
                                                "variance", "ci_lower", "ci_upper")},
                        index=pd.Index(result["time"], name="time"))


@dataclass
class LogRankResult:
    """Result of a log-rank test: statistic, p-value, degrees of freedom and per-group
    observed and expected events."""

    test_statistic: float
    p_value: float
    degrees_of_freedom: float
    groups: list
    observed: np.ndarray
    expected: np.ndarray

    @property
    def summary(self) -> pd.DataFrame:
        """One row: test_statistic, p, -log2(p)."""
        p = self.p_value
        return pd.DataFrame({"test_statistic": [self.test_statistic], "p": [p],
                             "-log2(p)": [-np.log2(p) if p > 0 else np.inf]})


def logrank_test(durations: Any, events: Any, groups: Any) -> LogRankResult:
    """Log-rank test that the groups share one survival curve (k >= 2 groups)."""
    codes, levels = _group_codes(groups)
    t = _float_array(durations, "durations")
    counts = _s.count_events(t, _events_array(events, len(t)), codes, max(len(levels), 1), 1)
    result = _s.logrank_test(counts)
    return LogRankResult(result["statistic"], result["p_value"], result["degrees_of_freedom"],
                         levels, result["observed"], result["expected"])


def concordance_index(durations: Any, predicted_times: Any, events: Any = None) -> float:
    """Harrell's C of predicted times (higher = expected to last longer), lifelines'
    conventions, O(n log n)."""
    t = _float_array(durations, "durations")
    return _s.concordance_index(t, _float_array(predicted_times, "predicted_times"),
                                _events_array(events, len(t)))


# ---- Cox ----------------------------------------------------------------------------------


class CoxResult:
    """A fitted Cox model: ``params``, ``summary`` (lifelines' columns), baseline hazard and
    survival, predictions for new rows. Built by :func:`fit_cox`."""

    def __init__(self, native, strata: list[str], strata_levels: list[list], alpha: float):
        self._native = native
        self.strata = strata
        self._strata_levels = strata_levels  # per strata column: sorted level values
        self.alpha = alpha
        self.names = list(native.names)
        for message in native.warnings:
            warnings.warn(message, stacklevel=3)

    # parameters
    @property
    def params(self) -> pd.Series:
        """Log hazard ratios, indexed by covariate."""
        return pd.Series(np.asarray(self._native.coef), index=pd.Index(self.names, name="covariate"),
                         name="coef")

    @property
    def standard_errors(self) -> pd.Series:
        """Standard errors of the coefficients."""
        return pd.Series(np.asarray(self._native.se), index=pd.Index(self.names, name="covariate"),
                         name="se")

    @property
    def variance_matrix(self) -> pd.DataFrame:
        """Covariance matrix of the coefficients."""
        idx = pd.Index(self.names, name="covariate")
        return pd.DataFrame(np.asarray(self._native.variance), index=idx, columns=idx)

    @property
    def summary(self) -> pd.DataFrame:
        """lifelines' summary table: coef, exp(coef), se(coef), CIs, cmp to, z, p, -log2(p)."""
        ci = 100 * (1 - self.alpha)
        n = self._native
        coef, se = np.asarray(n.coef), np.asarray(n.se)
        zq = (np.asarray(n.ci_upper) - coef) / se if len(coef) else np.array([])
        df = pd.DataFrame(index=pd.Index(self.names, name="covariate"))
        df["coef"] = coef
        df["exp(coef)"] = np.exp(coef)
        df["se(coef)"] = se
        df["coef lower %g%%" % ci] = np.asarray(n.ci_lower)
        df["coef upper %g%%" % ci] = np.asarray(n.ci_upper)
        df["exp(coef) lower %g%%" % ci] = np.exp(coef) * np.exp(-zq * se)
        df["exp(coef) upper %g%%" % ci] = np.exp(coef) * np.exp(zq * se)
        df["cmp to"] = np.zeros_like(coef)
        df["z"] = np.asarray(n.z)
        df["p"] = np.asarray(n.p)
        with np.errstate(divide="ignore"):
            df["-log2(p)"] = -np.log2(df["p"])
        return df

    @property
    def log_likelihood(self) -> float:
        """Partial log-likelihood at the fit (penalised when a penalizer was used)."""
        return self._native.log_likelihood

    @property
    def concordance(self) -> float:
        """Harrell's C of the fitted partial hazards (summed over strata)."""
        return self._native.concordance

    @property
    def log_likelihood_ratio_test(self) -> dict:
        """Likelihood-ratio test against the model without covariates."""
        n = self._native
        return {"test_statistic": n.lr_statistic, "degrees_freedom": n.lr_df, "p_value": n.lr_p}

    def _stratum_label(self, level: Sequence[int]):
        values = tuple(self._strata_levels[c][code] for c, code in enumerate(level))
        return values[0] if len(values) == 1 else values

    def _baseline(self, values, name: str) -> pd.DataFrame:
        index = pd.Index(np.asarray(self._native.baseline_time, dtype=float))
        if not self.strata:
            return pd.DataFrame({name: np.asarray(values[0])}, index=index)
        columns = [self._stratum_label(level) for level in self._native.strata_levels]
        frame = pd.DataFrame(np.asarray(values).T, index=index)
        frame.columns = pd.Index(columns) if len(self.strata) == 1 else pd.MultiIndex.from_tuples(columns)
        return frame

    @property
    def baseline_hazard(self) -> pd.DataFrame:
        """Breslow baseline hazard at every distinct duration (one column per stratum)."""
        return self._baseline(self._native.baseline_hazard, "baseline hazard")

    @property
    def baseline_cumulative_hazard(self) -> pd.DataFrame:
        """Cumulative baseline hazard."""
        return self._baseline(self._native.baseline_cumulative_hazard, "baseline cumulative hazard")

    @property
    def baseline_survival(self) -> pd.DataFrame:
        """Baseline survival exp(-H0)."""
        frame = np.exp(-self.baseline_cumulative_hazard)
        if not self.strata:
            frame.columns = ["baseline survival"]
        return frame

    # prediction
    def _matrix(self, X: Any) -> np.ndarray:
        if isinstance(X, pd.Series):
            X = X.to_frame().T
        if isinstance(X, pd.DataFrame):
            missing = [c for c in self.names if c not in X.columns]
            if missing:
                raise _core.NotFound("new rows lack covariate column(s) " + ", ".join(map(repr, missing)))
            X = X[self.names]
        return np.asfortranarray(np.asarray(X, dtype=np.float64).reshape(-1, len(self.names)))

    def predict_log_partial_hazard(self, X: Any) -> pd.Series:
        """``(x - mean) . coef`` of new rows."""
        values = _s.cox_log_partial_hazard(self._native, self._matrix(X))
        index = X.index if isinstance(X, pd.DataFrame) else None
        return pd.Series(np.asarray(values), index=index)

    def predict_partial_hazard(self, X: Any) -> pd.Series:
        """``exp((x - mean) . coef)`` of new rows."""
        return np.exp(self.predict_log_partial_hazard(X))

    def _strata_of(self, X: Any) -> np.ndarray | None:
        if not self.strata:
            return None
        if not isinstance(X, pd.DataFrame):
            raise InvalidArgument("a stratified model predicts from a DataFrame with the strata columns")
        lookup = {tuple(level): i for i, level in enumerate(self._native.strata_levels)}
        codes = []
        for c, name in enumerate(self.strata):
            positions = {v: i for i, v in enumerate(self._strata_levels[c])}
            codes.append([positions.get(v, -1) for v in X[name]])
        out = []
        for key in zip(*codes):
            if key not in lookup:
                raise _core.NotFound("a stratum of the new rows was not in the training data")
            out.append(lookup[key])
        return np.asarray(out, dtype=np.uint32)

    def predict_survival_function(self, X: Any, times: Any = None) -> pd.DataFrame:
        """Survival curves of new rows: times down, one column per row (linear interpolation
        of the cumulative baseline hazard between its times, as lifelines)."""
        t = np.asarray(self._native.baseline_time if times is None else np.atleast_1d(times), dtype=float)
        values = _s.cox_predict_survival(self._native, self._matrix(X), t, self._strata_of(X))
        columns = X.index if isinstance(X, pd.DataFrame) else None
        return pd.DataFrame(np.asarray(values), index=t, columns=columns)


def fit_cox(df: pd.DataFrame, duration_col: str, event_col: str | None = None,
            covariates: Sequence[str] | None = None, strata: Sequence[str] | str | None = None,
            ties: str = "efron", penalizer: float = 0.0, alpha: float = 0.05,
            max_iterations: int = 100, threads: int = 1) -> CoxResult:
    """Fits a Cox proportional-hazards model on a DataFrame.

    ``covariates`` defaults to every column but the duration, event and strata columns. The fit
    standardises covariates internally (as lifelines), so coefficients, standard errors and the
    log-likelihood equal lifelines' ``CoxPHFitter``. ``penalizer`` follows lifelines: the fit
    maximises ``loglik - n * penalizer * |b|^2 / 2`` on the standardised coefficients ``b``.
    ``threads`` splits each Newton step's row work; results are identical for any count.
    """
    if strata is None:
        strata_cols: list[str] = []
    elif isinstance(strata, str):
        strata_cols = [strata]
    else:
        strata_cols = list(strata)
    for column in [duration_col, event_col, *strata_cols]:
        if column is not None and column not in df.columns:
            raise _core.NotFound(f"no column '{column}' in the data")
    if covariates is None:
        covariates = [c for c in df.columns if c not in {duration_col, event_col, *strata_cols}]
    covariates = list(covariates)
    for c in covariates:
        if not (pd.api.types.is_numeric_dtype(df[c]) or pd.api.types.is_bool_dtype(df[c])):
            raise _core.ColumnTypeError(f"covariate '{c}' is not numeric; encode it first")
    t = _float_array(df[duration_col], duration_col)
    e = _events_array(None if event_col is None else df[event_col], len(t))
    # One 1-d array per covariate: views into the DataFrame's float blocks, no copy.
    x = [np.ascontiguousarray(df[column].to_numpy(dtype=np.float64)) for column in covariates]
    codes, levels = [], []
    for column in strata_cols:
        c, lv = _group_codes(df[column])
        codes.append(c)
        levels.append(lv)
    native = _s.fit_cox(t, e, x, covariates, codes, strata_cols, ties, float(penalizer), alpha,
                        max_iterations, threads)
    return CoxResult(native, strata_cols, levels, alpha)


# ---- cohorts ------------------------------------------------------------------------------


def cohort_retention(log: Any, definition: str = "behavioural", period: str = "month",
                     activity_kinds: Iterable[str] | None = None, end: Any = None,
                     rates: bool = False, threads: int = 1) -> pd.DataFrame:
    """Cohort retention table from an event log: rows are acquisition cohorts (the start of
    the acquisition period), column ``size`` the customers acquired, columns ``0, 1, ...``
    the customers retained that many periods later (or their share with ``rates=True``).

    ``definition="contractual"`` acquires at the first ``account_open`` event and retains while
    an account is open at a period's end; ``"behavioural"`` acquires at the first activity event
    and retains in periods with activity (``activity_kinds``, default every kind except
    ``message_sent``). Cells after the observation ``end`` are missing (NaN).
    """
    result = _s.cohort_retention(_native_log(log), definition, period, list(activity_kinds or []),
                                 None if end is None else _timestamp_ns(end), threads)
    return cohort_frame(result, definition, period, rates)


def cohort_frame(result: dict, definition: str, period: str, rates: bool) -> pd.DataFrame:
    """The :func:`cohort_retention` DataFrame of a native cohort table (``cohort_start``,
    ``size``, ``retained``, ``observed``), as the native ``cohort_table`` finish returns it."""
    retained = np.asarray(result["retained"], dtype=float)
    observed = np.asarray(result["observed"]).astype(bool)
    size = np.asarray(result["size"], dtype=float)
    if rates:
        with np.errstate(invalid="ignore", divide="ignore"):
            retained = retained / size[:, None]
    retained[~observed] = np.nan
    index = pd.Index(pd.to_datetime(np.asarray(result["cohort_start"], dtype="datetime64[ns]")),
                     name="cohort")
    table = pd.DataFrame(retained, index=index, columns=range(retained.shape[1]))
    table.insert(0, "size", size.astype(np.int64))
    table.columns.name = "periods since acquisition"
    table.attrs.update(definition=definition, period=period, rates=rates)
    return table


def plot_cohort_heatmap(table: pd.DataFrame, ax: Any = None, cmap: str = "viridis"):
    """Heatmap of a cohort retention table (rates are computed from counts if needed)."""
    import matplotlib.pyplot as plt

    values = table.drop(columns="size")
    if not table.attrs.get("rates", False):
        values = values.div(table["size"].replace(0, np.nan), axis=0)
    if ax is None:
        _, ax = plt.subplots(figsize=(1 + 0.5 * values.shape[1], 1 + 0.35 * values.shape[0]))
    image = ax.imshow(values.to_numpy(dtype=float), aspect="auto", cmap=cmap, vmin=0, vmax=1)
    ax.set_xticks(range(values.shape[1]))
    ax.set_xticklabels(values.columns)
    ax.set_yticks(range(values.shape[0]))
    ax.set_yticklabels([str(i.date()) if hasattr(i, "date") else str(i) for i in values.index])
    ax.set_xlabel("periods since acquisition")
    ax.set_ylabel("acquisition cohort")
    ax.figure.colorbar(image, ax=ax, label="retained share")
    return ax


# ---- churn --------------------------------------------------------------------------------


def churn_feature_names() -> list[str]:
    """Names of the churn feature columns, in order."""
    return list(_s.churn_feature_names())


def churn_features(log: Any, as_of: Any, window_days: float = 90.0,
                   repeat_window_days: float = 7.0, contractual: bool = False,
                   threads: int = 1) -> pd.DataFrame:
    """One feature row per customer from the events strictly before ``as_of``.

    Columns: recency_days, frequency, monetary, tenure_days, channels_used, assisted_share,
    digital_share (self-service channels), community_share, assisted_contacts_recent,
    repeat_contacts_recent, complaints_recent, unresolved_cases, sentiment_trend,
    offering_dimensions, survey_silence ("recent" = the last ``window_days``). With
    ``contractual=True`` only customers with an open account at ``as_of`` are kept. Indexed by
    customer key; the same for any thread count.
    """
    native = _native_log(log)
    customers, values = _s.churn_features(native, _timestamp_ns(as_of), window_days,
                                          repeat_window_days, contractual, threads)
    keys = _s.customer_keys_of(native, np.asarray(customers, dtype=np.uint32))
    if not native.integer_customer_keys:
        keys = np.asarray(keys, dtype=object)
    frame = pd.DataFrame(np.asarray(values), index=pd.Index(keys, name="customer"),
                         columns=churn_feature_names())
    frame.attrs["customer_ids"] = np.asarray(customers, dtype=np.uint32)
    frame.attrs["as_of"] = _timestamp_ns(as_of)
    return frame


def _customer_ids(log: Any, features: pd.DataFrame) -> np.ndarray:
    ids = features.attrs.get("customer_ids")
    if ids is not None and len(ids) == len(features):
        return np.asarray(ids, dtype=np.uint32)
    native = _native_log(log)
    position = {k: i for i, k in enumerate(native.customer_keys())}
    try:
        return np.asarray([position[str(k)] for k in features.index], dtype=np.uint32)
    except KeyError as error:
        raise _core.NotFound("a customer of the feature table is not in the log") from error


def churn_outcomes(log: Any, features: pd.DataFrame, as_of: Any, horizon_days: float,
                   contractual: bool = False, activity_kinds: Iterable[str] | None = None
                   ) -> pd.DataFrame:
    """Labels for the customers of a feature table over ``[as_of, as_of + horizon_days)``:
    ``churned`` (contractual: their last account closed; behavioural: no event of
    ``activity_kinds``, default purchase) and ``duration`` in days (to churn, else the
    horizon), aligned with the feature rows."""
    churned, duration = _s.churn_outcomes(_native_log(log), _customer_ids(log, features),
                                          _timestamp_ns(as_of), horizon_days, contractual,
                                          list(activity_kinds or []))
    return pd.DataFrame({"churned": np.asarray(churned), "duration": np.asarray(duration)},
                        index=features.index)


def evaluate_churn(probabilities: Any, churned: Any, bins: int = 10) -> dict:
    """Holdout evaluation: ``auc``, ``brier`` and a ``calibration`` table (equal-count bins
    of predicted probability with mean prediction and observed churn rate)."""
    p = _float_array(probabilities, "probabilities")
    y = _float_array(churned, "churned")
    table = _s.calibration_table(p, y, bins)
    return {"auc": _s.roc_auc(p, y), "brier": _s.brier_score(p, y),
            "calibration": pd.DataFrame({k: np.asarray(v) for k, v in table.items()})}


class ChurnModel:
    """L2-regularised logistic churn model on the churn feature table, with reason codes.

    ``fit(features, churned)`` standardises the features and fits by Newton (IRLS) with step
    halving; ``predict_proba`` scores new rows; ``contributions`` gives each feature's push on
    the log-odds (coefficient x standardised value); ``at_risk`` is the ranked list with value
    at risk and the top reasons in words a service agent understands.
    """

    def __init__(self, l2: float = 1.0, features: Sequence[str] | None = None):
        self.l2 = l2
        self.features = list(features) if features is not None else None
        self._native = None

    def fit(self, features: pd.DataFrame, churned: Any) -> "ChurnModel":
        """Fits on a feature table and 0/1 churn labels (aligned rows)."""
        columns = self.features or list(features.columns)
        self.features = columns
        x = np.ascontiguousarray(features[columns].to_numpy(dtype=np.float64))
        self._native = _s.fit_logistic(x, _float_array(churned, "churned"), columns, self.l2)
        for message in self._native.warnings:
            warnings.warn(message, stacklevel=2)
        return self

    def _require(self):
        if self._native is None:
            raise InvalidArgument("fit the churn model first")
        return self._native

    @property
    def coefficients(self) -> pd.DataFrame:
        """Coefficients on the standardised and on the features' own scale."""
        n = self._require()
        return pd.DataFrame({"coef_std": np.asarray(n.coef_std), "coef": np.asarray(n.coef),
                             "mean": np.asarray(n.mean), "scale": np.asarray(n.scale)},
                            index=pd.Index(self.features, name="feature"))

    def predict_proba(self, features: pd.DataFrame) -> pd.Series:
        """Churn probability of each row."""
        n = self._require()
        x = np.ascontiguousarray(features[self.features].to_numpy(dtype=np.float64))
        return pd.Series(np.asarray(_s.predict_logistic(n, x)), index=features.index, name="risk")

    def contributions(self, features: pd.DataFrame) -> pd.DataFrame:
        """Per-feature contributions to each row's log-odds."""
        n = self._require()
        x = features[self.features].to_numpy(dtype=np.float64)
        values = np.asarray(n.coef_std) * (x - np.asarray(n.mean)) / np.asarray(n.scale)
        return pd.DataFrame(values, index=features.index, columns=self.features)

    def at_risk(self, features: pd.DataFrame, clv: Any = None, limit: int = 0, reasons: int = 3,
                threads: int = 1) -> pd.DataFrame:
        """The at-risk list, riskiest first (by value at risk when ``clv`` is given: a Series
        aligned to the features' index or an array). Columns: risk, value_at_risk, reason_1 ..
        reason_k (words, strongest first), reason_code_1 .. k (feature names) and
        contribution_1 .. k (log-odds added); fewer reasons than k leave None/NaN."""
        n = self._require()
        names = churn_feature_names()
        if self.features != names:
            raise InvalidArgument("the at-risk list needs a model fitted on the full churn feature table")
        if clv is not None:
            clv_values = clv.reindex(features.index) if isinstance(clv, pd.Series) else clv
            clv_values = _float_array(clv_values, "clv")
        else:
            clv_values = None
        positions = np.arange(len(features), dtype=np.uint32)
        values = np.ascontiguousarray(features[names].to_numpy(dtype=np.float64))
        result = _s.at_risk_list(n, positions, values, clv_values, limit, reasons, threads)
        rows = np.asarray(result["customer"], dtype=np.int64)
        out = pd.DataFrame({"risk": np.asarray(result["risk"]),
                            "value_at_risk": np.asarray(result["value_at_risk"])},
                           index=features.index[rows])
        feature = np.asarray(result["reason_feature"])
        high = np.asarray(result["reason_high"]).astype(np.int64)
        contribution = np.asarray(result["reason_contribution"])
        texts = np.array([[_s.reason_text(j, False), _s.reason_text(j, True)]
                          for j in range(len(names))] + [[None, None]], dtype=object)
        codes = np.array(names + [None], dtype=object)
        for k in range(reasons):
            out[f"reason_{k + 1}"] = texts[feature[:, k], high[:, k]]
        for k in range(reasons):
            out[f"reason_code_{k + 1}"] = codes[feature[:, k]]
        for k in range(reasons):
            out[f"contribution_{k + 1}"] = np.where(feature[:, k] >= 0, contribution[:, k], np.nan)
        return out


def fit_churn_cox(features: pd.DataFrame, outcomes: pd.DataFrame, penalizer: float = 0.1,
                  covariates: Sequence[str] | None = None) -> CoxResult:
    """Cox model of time to churn on the churn features (constant columns are left out with a
    warning). Meaningful for contractual churn, where ``duration`` is the time to closing."""
    columns = list(covariates or features.columns)
    varying = [c for c in columns if features[c].std() > 0]
    dropped = sorted(set(columns) - set(varying))
    if dropped:
        warnings.warn("constant feature(s) left out of the Cox model: " + ", ".join(dropped), stacklevel=2)
    df = features[varying].copy()
    df["_duration"] = outcomes["duration"].to_numpy()
    df["_churned"] = outcomes["churned"].to_numpy()
    return fit_cox(df, "_duration", "_churned", covariates=varying, penalizer=penalizer)
