"""Drop-ins for pm4py's directly-follows graph and variants on a pandas DataFrame.

::

    from cxlens.compat import pm4py
    dfg, start_activities, end_activities = pm4py.discover_dfg(
        df, activity_key="concept:name", case_id_key="case:concept:name",
        timestamp_key="time:timestamp")
    variants = pm4py.get_variants(df)       # {("a", "b", ...): number of cases}

Same names, arguments and outputs as pm4py (plain dicts with int counts; activities and
variants as the column's values). Events of a case are ordered by timestamp; events with equal
timestamps keep their row order (a stable sort by case, then time), as in pm4py. Differences:
any case-id type is accepted (pm4py wants strings); rows with a missing case, activity or
timestamp are left out with a warning (pm4py's behaviour there depends on the version); and
start and end activities always follow time order, while pm4py takes them in the frame's row
order (it expects a frame sorted by ``pm4py.format_dataframe``), so on an unsorted frame
pm4py's start and end counts can differ from its own directly-follows graph.
"""

from __future__ import annotations

import warnings
from typing import Any

import numpy as np
import pandas as pd

from .. import _core

__all__ = ["discover_dfg", "get_variants", "get_start_activities", "get_end_activities"]


def _journeys(df: pd.DataFrame, activity_key: str, timestamp_key: str, case_id_key: str):
    """Journeys by case (as the log's customer), activity as the touchpoint."""
    if not isinstance(df, pd.DataFrame):
        raise TypeError("cxlens.compat.pm4py works on a pandas DataFrame")
    for column in (activity_key, timestamp_key, case_id_key):
        if column not in df.columns:
            raise _core.NotFound(f"column {column!r} is not in the DataFrame")
    case_codes, case_uniques = pd.factorize(df[case_id_key], use_na_sentinel=True)
    activity_codes, activities = pd.factorize(df[activity_key], use_na_sentinel=True)
    times = df[timestamp_key]
    if isinstance(times.dtype, pd.DatetimeTZDtype):
        times = times.dt.tz_convert("UTC").dt.tz_localize(None)
    elif not pd.api.types.is_datetime64_dtype(times.dtype):
        times = pd.to_datetime(times, utc=True, format="ISO8601").dt.tz_localize(None)
    time_ns = times.to_numpy(dtype="datetime64[ns]").view(np.int64)
    missing = (case_codes < 0) | (activity_codes < 0) | (time_ns == np.iinfo(np.int64).min)
    if missing.any():
        warnings.warn(f"{int(missing.sum())} rows with a missing case, activity or timestamp "
                      "were left out", stacklevel=3)
        keep = ~missing
        case_codes, activity_codes, time_ns = case_codes[keep], activity_codes[keep], time_ns[keep]
    if len(activities) >= 0xFFFF:
        raise _core.InvalidArgument("at most 65534 distinct activities are supported")
    # Codes, not names, as event types, so activities whose text forms collide stay distinct.
    native = _core.log_from_codes(np.ascontiguousarray(case_codes, dtype=np.uint32),
                                  len(case_uniques), np.ascontiguousarray(time_ns, dtype=np.int64),
                                  np.ascontiguousarray(activity_codes, dtype=np.uint16),
                                  len(activities))
    return _core.build_journeys(native, key="event"), list(activities)


def _counts(df, activity_key, timestamp_key, case_id_key):
    journeys, activities = _journeys(df, activity_key, timestamp_key, case_id_key)
    summary = _core.DirectlyFollowsSummary(False)  # counts only: no duration samples
    summary.add(journeys)
    return summary.counts(), activities


def discover_dfg(log: pd.DataFrame, activity_key: str = "concept:name",
                 timestamp_key: str = "time:timestamp",
                 case_id_key: str = "case:concept:name") -> tuple[dict, dict, dict]:
    """The directly-follows graph: ``({(a, b): count}, {start activity: count},
    {end activity: count})``, as ``pm4py.discover_dfg``."""
    counts, activities = _counts(log, activity_key, timestamp_key, case_id_key)
    names = activities
    dfg = {(names[int(f)], names[int(t)]): int(n)
           for f, t, n in zip(counts["from"], counts["to"], counts["count"])}
    start = {names[i]: int(n) for i, n in enumerate(counts["starts"]) if n}
    end = {names[i]: int(n) for i, n in enumerate(counts["ends"]) if n}
    return dfg, start, end


def get_start_activities(log: pd.DataFrame, activity_key: str = "concept:name",
                         timestamp_key: str = "time:timestamp",
                         case_id_key: str = "case:concept:name") -> dict:
    """``{activity: number of cases starting with it}``, as ``pm4py.get_start_activities``."""
    return discover_dfg(log, activity_key, timestamp_key, case_id_key)[1]


def get_end_activities(log: pd.DataFrame, activity_key: str = "concept:name",
                       timestamp_key: str = "time:timestamp",
                       case_id_key: str = "case:concept:name") -> dict:
    """``{activity: number of cases ending with it}``, as ``pm4py.get_end_activities``."""
    return discover_dfg(log, activity_key, timestamp_key, case_id_key)[2]


def get_variants(log: pd.DataFrame, activity_key: str = "concept:name",
                 timestamp_key: str = "time:timestamp", case_id_key: str = "case:concept:name",
                 max_repetitions: int = 2**63 - 1) -> dict[tuple, int]:
    """``{(activity, ...): number of cases}``, most frequent first, as ``pm4py.get_variants``.
    ``max_repetitions`` is accepted for compatibility (it only limits returned traces in
    pm4py, and counts are returned here)."""
    del max_repetitions
    journeys, activities = _journeys(log, activity_key, timestamp_key, case_id_key)
    summary = _core.VariantSummary(False)
    summary.add(journeys)
    offsets, ids, counts, names = summary.counts()
    # Touchpoint i is the activity of factorize code int(names[i][1:]) (names are "a<code>").
    lookup = [activities[int(name[1:])] for name in names]
    steps = list(map(lookup.__getitem__, ids.tolist()))
    bounds = offsets.tolist()
    return {tuple(steps[bounds[v]:bounds[v + 1]]): n for v, n in enumerate(counts.tolist())}
