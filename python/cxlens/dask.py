"""cxlens on Dask: the single-machine analyses on a ``dask.dataframe``, same results.

Each function takes a Dask DataFrame of events (for example ``dd.read_parquet(folder)``) and
returns what the single-machine API returns: fitted :mod:`cxlens.retention` models, pandas
summaries, or (for per-customer tables too large for one machine) a Dask DataFrame whose
computed value equals the single-machine DataFrame. Dask schedules; every task runs cxlens on
one pandas partition (see :mod:`cxlens.distributed` for the summarise -> merge -> finish shape
and for when a shuffle by customer is needed).

Works with any Dask scheduler; with a ``distributed.Client`` active the tasks run on its
workers, and memory per worker is bounded by its partitions, not by the whole table.

>>> import dask.dataframe as dd, cxlens.dask as cxd
>>> events = dd.read_parquet("events/")                       # partitioned by date
>>> summary = cxd.retention_summary(events, "customer", "time", "value",
...                                 event="event", purchase_events=["purchase"], freq="W")
>>> bgf = summary.fit("bg_nbd"); ggf = summary.fit_spend()      # cxlens.retention models
>>> rfm = cxd.summary_data_from_transaction_data(events, "customer", "time", "value",
...                                              event="event", purchase_events=["purchase"])
>>> scores = cxd.score(rfm, bgf, spend=ggf, t=4)                 # map_partitions, lazily
"""

from __future__ import annotations

from typing import Any, Sequence

import numpy as np
import pandas as pd

try:
    import dask
    import dask.dataframe as dd
except ImportError as error:  # pragma: no cover - exercised only without dask
    raise ImportError("cxlens.dask needs dask: pip install 'cxlens[distributed]'") from error

from . import distributed as _d
from ._core import InvalidArgument, NotFound
from .distributed import RetentionSummary, TransactionSpec
from .retention import GammaGamma

__all__ = [
    "fit",
    "fit_gamma_gamma",
    "retention_summary",
    "score",
    "summary_data_from_transaction_data",
]


def _spec(ddf: Any, customer: str, time: str, value: str | None, event: str | None,
          purchase_events: Sequence[str] | None, time_unit: str) -> tuple[TransactionSpec, str]:
    if not isinstance(ddf, dd.DataFrame):
        raise TypeError("cxlens.dask functions take a dask.dataframe.DataFrame")
    if (event is None) != (purchase_events is None):
        raise InvalidArgument("give both event and purchase_events, or neither")
    spec = TransactionSpec(customer, time, value, event,
                           None if purchase_events is None else tuple(map(str, purchase_events)),
                           time_unit)
    for column in spec.columns():
        if column not in ddf.columns:
            raise NotFound(f"column {column!r} is not in the DataFrame")
    return spec, spec.key_kind(ddf.dtypes[customer])


def _states(ddf: Any, spec: TransactionSpec, key_kind: str, freq: str, end: int | None,
            granularity: str) -> Any:
    """Per-partition keyed states (a lazy Dask DataFrame), each partition checked against the
    collection's schema and named in errors."""

    def states(frame: pd.DataFrame, partition_info: dict | None = None) -> pd.DataFrame:
        number = None if partition_info is None else partition_info.get("number")
        return _d.customer_states(frame, spec, freq=freq, observation_period_end=end,
                                  granularity=granularity, key_kind=key_kind, partition=number)

    # `required_columns` lets Dask read only these columns from Parquet; the selection happens
    # inside the task so a partition lacking one gets a typed error naming it.
    return ddf.map_partitions(states, meta=_d.empty_states(key_kind), enforce_metadata=False,
                              required_columns=spec.columns())


def _merged_states(ddf: Any, spec: TransactionSpec, key_kind: str, *, freq: str,
                   observation_period_end: Any, granularity: str, customers_split: bool,
                   npartitions: int | None, shuffle_method: str | None) -> tuple[Any, Any]:
    """Merged per-customer states (each customer in exactly one partition) and the observation
    end as a period ordinal (an int, or a lazy Dask scalar when it is the latest purchase)."""
    end = _d.end_period(observation_period_end, freq)
    states = _states(ddf, spec, key_kind, freq, end, granularity)
    if end is None:
        end = states["last"].max()  # computed with everything else, from the same states
    if customers_split:
        # The shuffle by customer: one small row per customer and partition moves, not events.
        # States are ~1/6 of the events' rows: fewer, larger buckets than input partitions
        # (a shuffle's cost grows with inputs x outputs).
        buckets = npartitions or max(1, -(-ddf.npartitions // 8))
        states = states.shuffle(on="customer", npartitions=buckets,
                                shuffle_method=shuffle_method)
    merged = states.map_partitions(_d.merge_customer_states, meta=_d.empty_states(key_kind),
                                   enforce_metadata=False)
    return merged, end


def _rfm_meta(key_kind: str, monetary: bool) -> pd.DataFrame:
    index = (pd.Index([], dtype=np.int64, name="customer") if key_kind == "integer"
             else pd.Index([], dtype=str, name="customer"))
    columns = ["frequency", "recency", "T"] + (["monetary_value"] if monetary else [])
    return pd.DataFrame({c: pd.Series([], dtype=np.float64) for c in columns}, index=index)


def retention_summary(ddf: Any, customer: str, time: str, value: str | None = None, *,
                      event: str | None = None, purchase_events: Sequence[str] | None = None,
                      freq: str = "D", freq_multiplier: float = 1,
                      observation_period_end: Any = None, customers_split: bool = True,
                      granularity: str = "customer", time_unit: str = "ns",
                      npartitions: int | None = None, shuffle_method: str | None = None,
                      split_every: int = 8) -> RetentionSummary:
    """The merged :class:`cxlens.distributed.RetentionSummary` of a transaction table.

    Rows are transactions (or, with ``event`` and ``purchase_events``, the rows whose event is
    a purchase). ``freq``, ``freq_multiplier`` and ``observation_period_end`` (default: the
    latest transaction) mean what they mean in lifetimes' ``summary_data_from_transaction_data``
    (periods are UTC). ``customers_split=False`` declares that each customer's events sit in
    one partition (partitioned by customer) and skips the shuffle; ``granularity="period"`` is
    needed when partitions are not date ranges (see :mod:`cxlens.distributed`). Only the
    per-bucket summaries travel to the client: a merge tree of fan-in ``split_every``.
    """
    spec, key_kind = _spec(ddf, customer, time, value, event, purchase_events, time_unit)
    merged, end = _merged_states(ddf, spec, key_kind, freq=freq,
                                 observation_period_end=observation_period_end,
                                 granularity=granularity, customers_split=customers_split,
                                 npartitions=npartitions, shuffle_method=shuffle_method)
    monetary = value is not None

    def summarise(states: pd.DataFrame, end_period: Any) -> pd.DataFrame:
        if pd.isna(end_period):  # no transaction anywhere: an empty summary, refused below
            summary = _d.retention_summary(_rfm_meta(key_kind, monetary), {}, monetary)
        else:
            rfm = (_d.rfm_from_states(states, int(end_period), freq_multiplier=freq_multiplier,
                                      monetary=monetary)
                   if len(states) else _rfm_meta(key_kind, monetary))
            summary = _d.retention_summary(
                rfm, _d.settings_of(freq, freq_multiplier, int(end_period)), monetary)
        return pd.DataFrame({"summary": pd.Series([summary.to_bytes()], dtype=object)})

    parts = merged.map_partitions(summarise, end,
                                  meta=pd.DataFrame({"summary": pd.Series([], dtype=object)}),
                                  enforce_metadata=False)
    merge = dask.delayed(_merge_summary_frames, pure=True)
    result = _d.tree_merge(parts.to_delayed(), merge, fan_in=split_every).compute()
    summary = RetentionSummary.from_bytes(result["summary"].iloc[0])
    if summary.customers == 0:
        raise InvalidArgument("no transactions in the table: nothing to summarise")
    return summary


def _merge_summary_frames(*frames: pd.DataFrame) -> pd.DataFrame:
    """Merges one-row frames holding serialized summaries into one such frame."""
    summaries = [RetentionSummary.from_bytes(b) for f in frames for b in f["summary"]]
    merged = _d.merge_all(summaries)
    return pd.DataFrame({"summary": pd.Series([merged.to_bytes()], dtype=object)})


def fit(ddf: Any, customer: str, time: str, *, model: str = "bg_nbd",
        penalizer: float = 0.0, strict: bool = False, **summary_options: Any):
    """Fits a transaction model ('bg_nbd', 'mbg_nbd', 'pareto_nbd') on a transaction table;
    returns the same :mod:`cxlens.retention` model a single-machine fit on the same customers'
    RFM summary returns. ``summary_options`` go to :func:`retention_summary`."""
    summary = retention_summary(ddf, customer, time, **summary_options)
    return summary.fit(model, penalizer=penalizer, strict=strict)


def fit_gamma_gamma(ddf: Any, customer: str, time: str, value: str, *, penalizer: float = 0.0,
                    strict: bool = False, **summary_options: Any) -> GammaGamma:
    """Fits the Gamma-Gamma spend model on the repeat buyers of a transaction table."""
    summary = retention_summary(ddf, customer, time, value, **summary_options)
    return summary.fit_spend(penalizer=penalizer, strict=strict)


def summary_data_from_transaction_data(
        ddf: Any, customer_id_col: str, datetime_col: str, monetary_value_col: str | None = None,
        observation_period_end: Any = None, freq: str = "D", freq_multiplier: float = 1, *,
        event: str | None = None, purchase_events: Sequence[str] | None = None,
        customers_split: bool = True, granularity: str = "customer", time_unit: str = "ns",
        npartitions: int | None = None, shuffle_method: str | None = None) -> Any:
    """Per-customer frequency, recency, T (and monetary_value) as a lazy Dask DataFrame indexed
    by customer: lifetimes' ``summary_data_from_transaction_data`` (and
    :func:`cxlens.compat.lifetimes.utils.summary_data_from_transaction_data`) on a table too
    large for one machine. Each customer is in exactly one partition; sort after computing to
    compare with the single-machine frame."""
    spec, key_kind = _spec(ddf, customer_id_col, datetime_col, monetary_value_col, event,
                           purchase_events, time_unit)
    merged, end = _merged_states(ddf, spec, key_kind, freq=freq,
                                 observation_period_end=observation_period_end,
                                 granularity=granularity, customers_split=customers_split,
                                 npartitions=npartitions, shuffle_method=shuffle_method)
    monetary = monetary_value_col is not None
    meta = _rfm_meta(key_kind, monetary)

    def rfm(states: pd.DataFrame, end_period: Any) -> pd.DataFrame:
        if len(states) == 0:
            return meta
        return _d.rfm_from_states(states, int(end_period), freq_multiplier=freq_multiplier,
                                  monetary=monetary)

    return merged.map_partitions(rfm, end, meta=meta, enforce_metadata=False)


def score(rfm: Any, model: Any, *, spend: GammaGamma | None = None, t: float = 1.0,
          months: int = 12, discount_rate: float = 0.01, freq: str = "D",
          threads: int = 1) -> Any:
    """Scores per-customer RFM rows partition by partition (``map_partitions``): adds
    ``p_alive`` and ``predicted_purchases`` (next ``t`` periods), and with a Gamma-Gamma
    ``spend`` model ``expected_spend`` and ``clv``. Lazy; each partition is scored where it
    lives. ``threads`` per task (1 leaves the worker's other cores to other tasks)."""
    if not isinstance(rfm, dd.DataFrame):
        raise TypeError("score() takes a dask.dataframe.DataFrame of RFM rows")
    meta = _d.score_frame(rfm._meta, model, spend=spend)
    return rfm.map_partitions(_d.score_frame, model, spend=spend, t=t, months=months,
                              discount_rate=discount_rate, freq=freq, threads=threads,
                              meta=meta)
