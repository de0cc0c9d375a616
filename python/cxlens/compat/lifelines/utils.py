"""lifelines-compatible helpers: ``concordance_index``, ``median_survival_times``,
``qth_survival_time``."""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from ... import survival as _survival

__all__ = ["concordance_index", "median_survival_times", "qth_survival_time"]


def concordance_index(event_times: Any, predicted_scores: Any, event_observed: Any = None) -> float:
    """Harrell's C (higher scores = longer predicted survival), O(n log n)."""
    return _survival.concordance_index(event_times, predicted_scores, event_observed)


def qth_survival_time(q: float, survival_function: Any) -> float:
    """First time a survival curve (Series or one-column DataFrame) drops to ``q`` or below."""
    if isinstance(survival_function, pd.DataFrame):
        survival_function = survival_function.iloc[:, 0]
    values = survival_function.to_numpy()
    below = np.nonzero(values <= q)[0]
    return float(survival_function.index[below[0]]) if len(below) else float("inf")


def median_survival_times(model_or_survival_function: Any) -> Any:
    """Median of a fitted model, or of each column of a DataFrame of curves (for example a
    Kaplan-Meier ``confidence_interval_``), as lifelines."""
    if hasattr(model_or_survival_function, "median_survival_time_"):
        return model_or_survival_function.median_survival_time_
    frame = model_or_survival_function
    if isinstance(frame, pd.Series):
        return qth_survival_time(0.5, frame)
    return pd.DataFrame([[qth_survival_time(0.5, frame[c]) for c in frame.columns]],
                        index=[0.5], columns=frame.columns)
