"""lifelines-compatible survival models backed by cxlens's C++ core.

Change only the import and lifelines' Cox and Kaplan-Meier quickstarts run::

    from cxlens.compat.lifelines import CoxPHFitter, KaplanMeierFitter
    from cxlens.compat.lifelines.datasets import load_rossi, load_waltons
    from cxlens.compat.lifelines.statistics import logrank_test

Supported: ``CoxPHFitter`` (Efron ties, ``penalizer`` with ``l1_ratio=0``, ``strata``, ``alpha``),
``KaplanMeierFitter`` (right censoring), ``NelsonAalenFitter``, ``statistics.logrank_test`` and
``multivariate_logrank_test``, ``utils.concordance_index`` and ``median_survival_times``.
Weights, clusters, robust variance, entry times, formulas and L1 penalties raise
``NotImplementedError`` rather than silently computing something else.
"""

from __future__ import annotations

from typing import Any, Iterable

import numpy as np
import pandas as pd

from ... import survival as _survival

__all__ = ["CoxPHFitter", "KaplanMeierFitter", "NelsonAalenFitter"]


def _unsupported(**options: Any) -> None:
    used = [name for name, value in options.items() if value not in (None, False)]
    if used:
        raise NotImplementedError("cxlens.compat.lifelines does not support: " + ", ".join(used))


class CoxPHFitter:
    """Cox proportional-hazards model with lifelines' API (``fit``, ``params_``, ``summary``,
    ``print_summary``, predictions, baseline estimates)."""

    def __init__(self, baseline_estimation_method: str = "breslow", penalizer: float = 0.0,
                 strata: Any = None, l1_ratio: float = 0.0, n_baseline_knots: Any = None,
                 knots: Any = None, breakpoints: Any = None, alpha: float = 0.05,
                 label: str | None = None):
        if baseline_estimation_method != "breslow":
            raise NotImplementedError("only baseline_estimation_method='breslow' is supported")
        if l1_ratio != 0:
            raise NotImplementedError("only l1_ratio=0 (an L2 penalty) is supported")
        if np.ndim(penalizer) != 0:
            raise NotImplementedError("penalizer must be a number")
        self.baseline_estimation_method = baseline_estimation_method
        self.penalizer = penalizer
        self.strata = strata
        self.l1_ratio = l1_ratio
        self.alpha = alpha
        self._label = label or "cxlens CoxPHFitter"
        self._result: _survival.CoxResult | None = None

    def fit(self, df: pd.DataFrame, duration_col: str | None = None, event_col: str | None = None,
            show_progress: bool = False, initial_point: Any = None, strata: Any = None,
            weights_col: str | None = None, cluster_col: str | None = None, robust: bool = False,
            batch_mode: Any = None, timeline: Any = None, formula: str | None = None,
            entry_col: str | None = None, fit_options: dict | None = None) -> "CoxPHFitter":
        """Fits on ``df``: every column but the duration, event and strata columns is a
        covariate."""
        _unsupported(weights_col=weights_col, cluster_col=cluster_col, robust=robust,
                     formula=formula, entry_col=entry_col, initial_point=initial_point)
        if duration_col is None:
            raise ValueError("duration_col is required")
        strata = strata if strata is not None else self.strata
        if isinstance(strata, str):
            strata = [strata]
        self.strata = strata
        self.duration_col, self.event_col = duration_col, event_col
        max_steps = (fit_options or {}).get("max_steps", 100)
        self._result = _survival.fit_cox(df, duration_col, event_col, strata=strata,
                                         penalizer=float(self.penalizer), alpha=self.alpha,
                                         max_iterations=max_steps)
        self.durations = df[duration_col].astype(float)
        self.event_observed = (df[event_col] if event_col else pd.Series(1, index=df.index)).astype(bool)
        self.timeline = (np.asarray(timeline, dtype=float) if timeline is not None
                         else self.baseline_cumulative_hazard_.index.to_numpy())
        self._n_examples = len(df)
        return self

    # ---- fitted values ------------------------------------------------------------------
    def _require(self) -> _survival.CoxResult:
        if self._result is None:
            raise ValueError("call fit() first")
        return self._result

    @property
    def params_(self) -> pd.Series:
        """Coefficients (log hazard ratios)."""
        return self._require().params

    @property
    def hazard_ratios_(self) -> pd.Series:
        """exp(coef)."""
        return np.exp(self.params_).rename("exp(coef)")

    @property
    def standard_errors_(self) -> pd.Series:
        """Standard errors."""
        return self._require().standard_errors

    @property
    def variance_matrix_(self) -> pd.DataFrame:
        """Covariance of the coefficients."""
        return self._require().variance_matrix

    @property
    def confidence_intervals_(self) -> pd.DataFrame:
        """Confidence intervals of the coefficients."""
        s = self.summary
        ci = 100 * (1 - self.alpha)
        return pd.DataFrame({"%g%% lower-bound" % ci: s["coef lower %g%%" % ci],
                             "%g%% upper-bound" % ci: s["coef upper %g%%" % ci]})

    @property
    def summary(self) -> pd.DataFrame:
        """lifelines' summary columns: coef, exp(coef), se(coef), coef lower/upper, exp(coef)
        lower/upper, cmp to, z, p, -log2(p)."""
        return self._require().summary

    @property
    def log_likelihood_(self) -> float:
        """Partial log-likelihood at the fit."""
        return self._require().log_likelihood

    @property
    def concordance_index_(self) -> float:
        """Harrell's C on the training data."""
        return self._require().concordance

    @property
    def baseline_hazard_(self) -> pd.DataFrame:
        """Breslow baseline hazard (a subject at the mean covariates)."""
        return self._require().baseline_hazard

    @property
    def baseline_cumulative_hazard_(self) -> pd.DataFrame:
        """Cumulative baseline hazard."""
        return self._require().baseline_cumulative_hazard

    @property
    def baseline_survival_(self) -> pd.DataFrame:
        """Baseline survival."""
        return self._require().baseline_survival

    @property
    def AIC_partial_(self) -> float:
        """-2 log-likelihood + 2 parameters."""
        return -2 * self.log_likelihood_ + 2 * len(self.params_)

    def log_likelihood_ratio_test(self):
        """Likelihood-ratio test against the model without covariates."""
        from .statistics import StatisticalResult

        lr = self._require().log_likelihood_ratio_test
        return StatisticalResult(lr["p_value"], lr["test_statistic"],
                                 test_name="log-likelihood ratio test",
                                 degrees_freedom=lr["degrees_freedom"])

    # ---- predictions ---------------------------------------------------------------------
    def predict_partial_hazard(self, X: Any) -> pd.Series:
        """exp((x - mean) . coef)."""
        return self._require().predict_partial_hazard(X)

    def predict_log_partial_hazard(self, X: Any) -> pd.Series:
        """(x - mean) . coef."""
        return self._require().predict_log_partial_hazard(X)

    def predict_survival_function(self, X: Any, times: Any = None,
                                  conditional_after: Any = None) -> pd.DataFrame:
        """Survival curves of new rows (times down, one column per row)."""
        _unsupported(conditional_after=conditional_after is not None)
        if isinstance(X, pd.Series):
            X = X.to_frame().T.infer_objects()
        return self._require().predict_survival_function(X, self.timeline if times is None else times)

    def predict_cumulative_hazard(self, X: Any, times: Any = None,
                                  conditional_after: Any = None) -> pd.DataFrame:
        """Cumulative hazard curves of new rows."""
        return -np.log(self.predict_survival_function(X, times, conditional_after))

    def predict_median(self, X: Any) -> pd.Series:
        """Median survival time of each row (inf when the curve stays above 0.5)."""
        sf = self.predict_survival_function(X)
        return pd.Series([_survival_quantile(sf[c], 0.5) for c in sf.columns], index=sf.columns)

    # ---- output --------------------------------------------------------------------------
    def print_summary(self, decimals: int = 2, style: str | None = None, columns: Any = None,
                      **kwargs: Any) -> None:
        """Prints the model, the fit statistics and the summary table."""
        r = self._require()
        lr = r.log_likelihood_ratio_test
        lines = [
            f"<{type(self).__module__}.{type(self).__name__}: fitted with {r._native.rows} "
            f"total observations, {r._native.rows - r._native.events} right-censored observations>",
            f"             duration col = '{self.duration_col}'",
            f"                event col = '{self.event_col}'",
        ]
        if self.strata:
            lines.append(f"                   strata = {self.strata}")
        if self.penalizer:
            lines.append(f"                penalizer = {self.penalizer}")
        lines += [
            "      baseline estimation = breslow",
            f"   number of observations = {r._native.rows}",
            f"number of events observed = {r._native.events}",
            f"   partial log-likelihood = {r.log_likelihood:.{decimals}f}",
            "",
        ]
        table = self.summary if columns is None else self.summary[columns]
        with pd.option_context("display.max_columns", None, "display.width", 200):
            lines.append(table.round(decimals).to_string())
        lines += [
            "",
            f"Concordance = {r.concordance:.{decimals}f}",
            f"Partial AIC = {self.AIC_partial_:.{decimals}f}",
            f"log-likelihood ratio test = {lr['test_statistic']:.{decimals}f} on "
            f"{lr['degrees_freedom']:g} df",
            f"-log2(p) of ll-ratio test = {-np.log2(lr['p_value']) if lr['p_value'] > 0 else np.inf:.{decimals}f}",
        ]
        print("\n".join(lines))

    def plot(self, columns: Any = None, hazard_ratios: bool = False, ax: Any = None, **kwargs: Any):
        """Coefficients with their confidence intervals (matplotlib)."""
        import matplotlib.pyplot as plt

        s = self.summary if columns is None else self.summary.loc[columns]
        ci = 100 * (1 - self.alpha)
        prefix = "exp(coef)" if hazard_ratios else "coef"
        values = s[prefix]
        lower = s[f"{prefix} lower {ci:g}%"]
        upper = s[f"{prefix} upper {ci:g}%"]
        order = np.argsort(values.to_numpy())
        if ax is None:
            _, ax = plt.subplots()
        y = np.arange(len(order))
        ax.errorbar(values.iloc[order], y, xerr=[values.iloc[order] - lower.iloc[order],
                                                  upper.iloc[order] - values.iloc[order]],
                    fmt="s", capsize=3, **kwargs)
        ax.set_yticks(y)
        ax.set_yticklabels(values.index[order])
        ax.axvline(1 if hazard_ratios else 0, linestyle="--", color="k", alpha=0.3)
        ax.set_xlabel(f"{'HR' if hazard_ratios else 'log(HR)'} ({ci:g}% CI)")
        return ax

    def __repr__(self) -> str:
        if self._result is None:
            return f"<{type(self).__name__}>"
        return f"<{type(self).__name__}: fitted with {self._result._native.rows} total observations>"


def _survival_quantile(series: pd.Series, q: float) -> float:
    values = series.to_numpy()
    below = np.nonzero(values <= q)[0]
    return float(series.index[below[0]]) if len(below) else float("inf")


class _UnivariateFitter:
    _estimate_name = "estimate"

    def __init__(self, alpha: float = 0.05, label: str | None = None):
        self.alpha = alpha
        self._label = label

    @staticmethod
    def _check(entry: Any, weights: Any) -> None:
        _unsupported(entry=entry is not None, weights=weights is not None)

    def _reindex(self, frame: pd.DataFrame, timeline: Any) -> pd.DataFrame:
        if timeline is None:
            return frame
        timeline = np.sort(np.asarray(timeline, dtype=float))
        positions = np.searchsorted(frame.index.to_numpy(), timeline, side="right") - 1
        out = frame.iloc[np.clip(positions, 0, None)].copy()
        out.index = pd.Index(timeline, name=frame.index.name)
        return out


class KaplanMeierFitter(_UnivariateFitter):
    """Kaplan-Meier estimator with lifelines' API: ``fit``, ``survival_function_``,
    ``confidence_interval_``, ``median_survival_time_``, ``event_table``, ``plot``."""

    def fit(self, durations: Any, event_observed: Any = None, timeline: Any = None,
            entry: Any = None, label: str | None = None, alpha: float | None = None,
            ci_labels: Any = None, weights: Any = None) -> "KaplanMeierFitter":
        """Fits on durations and 0/1 event indicators (all events when omitted)."""
        self._check(entry, weights)
        self.alpha = alpha if alpha is not None else self.alpha
        self._label = label or self._label or "KM_estimate"
        table = _survival.kaplan_meier(durations, event_observed, alpha=self.alpha)
        self.durations = np.asarray(durations, dtype=float)
        self.event_observed = (np.ones(len(self.durations)) if event_observed is None
                               else np.asarray(event_observed, dtype=float))
        index = pd.Index(table.index.to_numpy(), name="timeline")
        sf = pd.DataFrame({self._label: table["survival"].to_numpy()}, index=index)
        if ci_labels is None:
            ci_labels = [f"{self._label}_lower_{1 - self.alpha:g}", f"{self._label}_upper_{1 - self.alpha:g}"]
        ci = pd.DataFrame({ci_labels[0]: table["ci_lower"].to_numpy(),
                           ci_labels[1]: table["ci_upper"].to_numpy()}, index=index.rename(None))
        self.survival_function_ = self._reindex(sf, timeline)
        self.confidence_interval_ = self._reindex(ci, timeline)
        self.confidence_interval_survival_function_ = self.confidence_interval_
        self.cumulative_density_ = 1 - self.survival_function_
        self.timeline = self.survival_function_.index.to_numpy()
        removed = (table["observed"] + table["censored"]).to_numpy()
        self.event_table = pd.DataFrame(
            {"removed": removed, "observed": table["observed"].to_numpy(),
             "censored": table["censored"].to_numpy(),
             "entrance": np.r_[len(self.durations), np.zeros(len(table) - 1, dtype=np.int64)],
             "at_risk": table["at_risk"].to_numpy()},
            index=pd.Index(table.index.to_numpy(), name="event_at"))
        self.median_survival_time_ = _survival_quantile(sf[self._label], 0.5)
        return self

    @property
    def label(self) -> str:
        """Column name of the estimate."""
        return self._label

    def percentile(self, p: float) -> float:
        """Time at which the survival curve first drops to ``p`` or below."""
        return _survival_quantile(self.survival_function_[self._label], p)

    def survival_function_at_times(self, times: Any) -> pd.Series:
        """Survival at arbitrary times (step function)."""
        times = np.atleast_1d(np.asarray(times, dtype=float))
        index = self.survival_function_.index.to_numpy()
        positions = np.searchsorted(index, times, side="right") - 1
        values = np.where(positions >= 0, self.survival_function_[self._label].to_numpy()[np.clip(positions, 0, None)], 1.0)
        return pd.Series(values, index=times, name=self._label)

    def predict(self, times: Any) -> Any:
        """Survival at ``times`` (a float for a scalar)."""
        values = self.survival_function_at_times(times)
        return float(values.iloc[0]) if np.ndim(times) == 0 else values

    def plot_survival_function(self, ax: Any = None, ci_show: bool = True, show_censors: bool = False,
                               at_risk_counts: bool = False, **kwargs: Any):
        """Step plot of the survival curve with its confidence band."""
        import matplotlib.pyplot as plt

        if ax is None:
            ax = plt.gca()
        x = self.survival_function_.index.to_numpy()
        y = self.survival_function_[self._label].to_numpy()
        (line,) = ax.step(x, y, where="post", label=kwargs.pop("label", self._label), **kwargs)
        if ci_show:
            lower, upper = (self.confidence_interval_.iloc[:, i].to_numpy() for i in (0, 1))
            ax.fill_between(x, lower, upper, step="post", alpha=0.25, color=line.get_color())
        if show_censors:
            censored = self.event_table["censored"] > 0
            ax.plot(x[censored.to_numpy()], y[censored.to_numpy()], "|", color=line.get_color())
        ax.set_xlabel("timeline")
        ax.legend()
        return ax

    plot = plot_survival_function

    def __repr__(self) -> str:
        return f'<{type(self).__name__}:"{self._label}", fitted with {len(getattr(self, "durations", []))} total observations>'


class NelsonAalenFitter(_UnivariateFitter):
    """Nelson-Aalen cumulative hazard with lifelines' API (``cumulative_hazard_``,
    ``confidence_interval_``), tie smoothing on by default as in lifelines."""

    def __init__(self, alpha: float = 0.05, nelson_aalen_smoothing: bool = True, label: str | None = None):
        super().__init__(alpha, label)
        self.nelson_aalen_smoothing = nelson_aalen_smoothing

    def fit(self, durations: Any, event_observed: Any = None, timeline: Any = None,
            entry: Any = None, label: str | None = None, alpha: float | None = None,
            ci_labels: Any = None, weights: Any = None) -> "NelsonAalenFitter":
        """Fits on durations and 0/1 event indicators."""
        self._check(entry, weights)
        self.alpha = alpha if alpha is not None else self.alpha
        self._label = label or self._label or "NA_estimate"
        table = _survival.nelson_aalen(durations, event_observed, self.alpha, self.nelson_aalen_smoothing)
        index = pd.Index(table.index.to_numpy(), name="timeline")
        ch = pd.DataFrame({self._label: table["cumulative_hazard"].to_numpy()}, index=index)
        if ci_labels is None:
            ci_labels = [f"{self._label}_lower_{1 - self.alpha:g}", f"{self._label}_upper_{1 - self.alpha:g}"]
        ci = pd.DataFrame({ci_labels[0]: table["ci_lower"].to_numpy(),
                           ci_labels[1]: table["ci_upper"].to_numpy()}, index=index)
        self.cumulative_hazard_ = self._reindex(ch, timeline)
        self.confidence_interval_ = self._reindex(ci, timeline)
        self.timeline = self.cumulative_hazard_.index.to_numpy()
        return self
