"""lifelines-compatible log-rank tests (``logrank_test``, ``multivariate_logrank_test``)."""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from ... import survival as _survival

__all__ = ["StatisticalResult", "logrank_test", "multivariate_logrank_test"]


class StatisticalResult:
    """A test result with lifelines' attributes: ``test_statistic``, ``p_value``, ``summary``,
    ``print_summary``; extra keyword arguments (``degrees_freedom``, ``test_name`` ...) become
    attributes."""

    def __init__(self, p_value: float, test_statistic: float, name: Any = None,
                 test_name: str | None = None, **kwargs: Any):
        self.p_value = p_value
        self.test_statistic = test_statistic
        self.test_name = test_name
        self.name = name
        self._kwargs = kwargs
        for key, value in kwargs.items():
            setattr(self, key, value)

    @property
    def summary(self) -> pd.DataFrame:
        """One row: test_statistic, p, -log2(p)."""
        p = self.p_value
        return pd.DataFrame({"test_statistic": [self.test_statistic], "p": [p],
                             "-log2(p)": [-np.log2(p) if p > 0 else np.inf]})

    def print_summary(self, decimals: int = 2, style: str | None = None, **kwargs: Any) -> None:
        """Prints the test's settings and its summary row."""
        lines = [f"<cxlens.compat.lifelines.statistics.StatisticalResult: {self.test_name}>"]
        for key, value in {**self._kwargs, **kwargs}.items():
            lines.append(f"{key:>16} = {value}")
        lines.append("")
        lines.append(self.summary.round(decimals).to_string(index=False))
        print("\n".join(lines))

    def __repr__(self) -> str:
        return f"<StatisticalResult: {self.test_name} statistic={self.test_statistic:.6g} p={self.p_value:.6g}>"


def _check(weights: Any, weightings: Any) -> None:
    if weights is not None or weightings is not None:
        raise NotImplementedError("weights and weightings are not supported")


def multivariate_logrank_test(event_durations: Any, groups: Any, event_observed: Any = None,
                              weights: Any = None, t_0: float = -1, weightings: Any = None,
                              **kwargs: Any) -> StatisticalResult:
    """Log-rank test that k groups share one survival curve."""
    _check(weights, weightings)
    t = np.asarray(event_durations, dtype=float).reshape(-1)
    e = np.ones(len(t)) if event_observed is None else np.asarray(event_observed, dtype=float).reshape(-1)
    if t_0 != -1:
        e = np.where(t > t_0, 0.0, e)
    result = _survival.logrank_test(t, e, np.asarray(groups).reshape(-1))
    kwargs.setdefault("test_name", "multivariate_logrank_test")
    kwargs.setdefault("null_distribution", "chi squared")
    return StatisticalResult(result.p_value, result.test_statistic,
                             degrees_freedom=result.degrees_of_freedom, **kwargs)


def logrank_test(durations_A: Any, durations_B: Any, event_observed_A: Any = None,
                 event_observed_B: Any = None, t_0: float = -1, weights_A: Any = None,
                 weights_B: Any = None, weightings: Any = None, **kwargs: Any) -> StatisticalResult:
    """Log-rank test of two groups (lifelines' signature)."""
    _check(weights_A if weights_A is not None else weights_B, weightings)
    a = np.asarray(durations_A, dtype=float).reshape(-1)
    b = np.asarray(durations_B, dtype=float).reshape(-1)
    ea = np.ones(len(a)) if event_observed_A is None else np.asarray(event_observed_A, dtype=float).reshape(-1)
    eb = np.ones(len(b)) if event_observed_B is None else np.asarray(event_observed_B, dtype=float).reshape(-1)
    kwargs.setdefault("test_name", "logrank_test")
    return multivariate_logrank_test(np.r_[a, b], np.r_[np.zeros(len(a)), np.ones(len(b))],
                                     np.r_[ea, eb], t_0=t_0, **kwargs)
