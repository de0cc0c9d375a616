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

import json
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
    "attribution_paths",
    "dark_matter",
    "directly_follows",
    "engagement_tiers",
    "channel_preference",
    "offering_dimensions",
    "profitability",
    "journey_summary",
    "variants",
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


# --- journeys and attribution -----------------------------------------------------------------
#
# Journeys need each customer's events together and in time order, so events are shuffled by
# customer (Dask's ``shuffle(on="customer")``): see cxlens.distributed. Only the prepared
# columns travel; each bucket is summarised where it lands and only summaries reach the client.

_SUMMARY_META = pd.DataFrame({"summary": pd.Series([], dtype=object)})


def _event_spec(ddf: Any, spec: Any, fields: dict[str, Any]) -> tuple[Any, str]:
    if not isinstance(ddf, dd.DataFrame):
        raise TypeError("cxlens.dask functions take a dask.dataframe.DataFrame")
    spec = _d.event_spec(spec, **fields)
    for column in spec.columns():
        if column not in ddf.columns:
            raise NotFound(f"column {column!r} is not in the DataFrame")
    return spec, spec.key_kind(ddf.dtypes[spec.customer])


def _prepared_events(ddf: Any, spec: Any, key_kind: str) -> Any:
    """Each partition's events in the canonical columns (checked against the collection's
    schema, errors naming the partition; times in UTC ns; a global row order)."""

    def prepare(frame: pd.DataFrame, partition_info: dict | None = None) -> pd.DataFrame:
        number = None if partition_info is None else partition_info.get("number")
        return _d.prepare_events(frame, spec, key_kind=key_kind, partition=number)

    return ddf.map_partitions(prepare, meta=_d.empty_events(spec, key_kind),
                              enforce_metadata=False, required_columns=spec.columns())


def _buckets(prepared: Any, npartitions: int | None, shuffle_method: str | None,
             customers_split: bool, inputs: int) -> Any:
    if not customers_split:
        return prepared
    buckets = npartitions or max(1, -(-inputs // 4))
    return prepared.shuffle(on="customer", npartitions=buckets, shuffle_method=shuffle_method)


def _reduce(parts: Any, merge: Any, split_every: int) -> bytes:
    """Tree-merges a Dask DataFrame of one-row summary frames; returns the merged bytes."""

    def merge_frames(*frames: pd.DataFrame) -> pd.DataFrame:
        data = [b for f in frames for b in f["summary"]]
        return pd.DataFrame({"summary": pd.Series([merge(*data)], dtype=object)})

    combine = dask.delayed(merge_frames, pure=True)
    result = _d.tree_merge(parts.to_delayed(), combine, fan_in=split_every).compute()
    return result["summary"].iloc[0]


def journey_summary(ddf: Any, spec: Any = None, *, key: str = "channel", by: str = "customer",
                    gap: Any = None, goal: Any = None, goal_as_step: bool = True,
                    keep_durations: bool = True, customers_split: bool = True,
                    npartitions: int | None = None, shuffle_method: str | None = None,
                    split_every: int = 8, **fields: Any) -> _d.JourneySummary:
    """The merged :class:`cxlens.distributed.JourneySummary` of a Dask event table.

    ``spec`` (a :class:`cxlens.distributed.EventSpec` or mapping) or keyword ``fields``
    (``customer=``, ``time=``, ``channel=``, ``event=``, ``value=``, ``case_id=`` ...) name
    the columns; journey options as in :func:`cxlens.journey.journeys`. Events are shuffled by
    customer unless ``customers_split=False`` (data partitioned by customer)."""
    spec, key_kind = _event_spec(ddf, spec, fields)
    settings = _d.journey_settings(key=key, by=by, gap=gap, goal=goal,
                                   goal_as_step=goal_as_step, keep_durations=keep_durations)
    prepared = _prepared_events(ddf, spec, key_kind)
    buckets = _buckets(prepared, npartitions, shuffle_method, customers_split, ddf.npartitions)

    def summarise(frame: pd.DataFrame) -> pd.DataFrame:
        data = _d.summarise_journey_bucket(frame, spec, settings)
        return pd.DataFrame({"summary": pd.Series([data], dtype=object)})

    parts = buckets.map_partitions(summarise, meta=_SUMMARY_META, enforce_metadata=False)
    return _d.JourneySummary.from_bytes(_reduce(parts, _d.merge_journey_bytes, split_every))


def directly_follows(ddf: Any, spec: Any = None, **options: Any):
    """The directly-follows :class:`cxlens.journey.JourneyGraph` of a Dask event table: what
    ``cxlens.journey.journeys(log, ...).graph()`` returns on the whole table. Options as in
    :func:`journey_summary`."""
    return journey_summary(ddf, spec, **options).graph()


def variants(ddf: Any, spec: Any = None, *, top: int | None = None, **options: Any):
    """The variants table of a Dask event table: what ``journeys(log, ...).variants(top)``
    returns (rows of equal count may come in another order)."""
    return journey_summary(ddf, spec, **options).variant_table(top)


def attribution_paths(ddf: Any, spec: Any = None, **options: Any):
    """The attribution :class:`cxlens.journey.Paths` of a Dask event table (journeys'
    ``paths()``, in canonical order): pass them to :func:`cxlens.journey.attribution`.
    Build with ``goal=...``; each converted path ends with its conversion's touchpoint (the
    default of ``Journeys.paths()``, ``include_conversion_step=True``)."""
    return journey_summary(ddf, spec, **options).attribution_paths()


# --- insight ----------------------------------------------------------------------------------

def _window_and_catalog(prepared: Any, window: Any,
                        first_seen: bool = False) -> tuple[tuple[int, int], list[str]]:
    """The global window (the single-machine default: first event to just after the last,
    unless given) and the channel catalog, sorted by name or (``first_seen``) in order of
    first appearance (the single-machine channel order), from one pass over the events."""
    from .insight import _window as parse_window

    names = (prepared.groupby("channel")["seq"].min() if first_seen
             else prepared["channel"].unique())
    low, high, names = dask.compute(prepared["time"].min(), prepared["time"].max(), names)
    if pd.isna(low):
        raise InvalidArgument("the table has no events")
    given = parse_window(window)
    start = int(low) if given[0] is None else given[0]
    end = int(high) + 1 if given[1] is None else given[1]
    if first_seen:
        return (start, end), [str(n) for n in names.sort_values(kind="stable").index]
    return (start, end), sorted(str(n) for n in names)


def _insight_summary(ddf: Any, spec: Any, fields: dict[str, Any], window: Any, build: Any,
                     summarise: Any, customers_split: bool, npartitions: int | None,
                     shuffle_method: str | None, split_every: int,
                     first_seen: bool = False) -> _d.InsightSummary:
    spec, key_kind = _event_spec(ddf, spec, fields)
    prepared = _prepared_events(ddf, spec, key_kind)
    bounds, catalog = _window_and_catalog(prepared, window, first_seen)
    settings = build(bounds, catalog)
    buckets = _buckets(prepared, npartitions, shuffle_method, customers_split, ddf.npartitions)

    def part(frame: pd.DataFrame) -> pd.DataFrame:
        data = summarise(frame, spec, settings, catalog)
        return pd.DataFrame({"summary": pd.Series([data], dtype=object)})

    parts = buckets.map_partitions(part, meta=_SUMMARY_META, enforce_metadata=False)
    return _d.InsightSummary.from_bytes(_reduce(parts, _d.merge_insight_bytes, split_every))


def dark_matter(ddf: Any, spec: Any = None, *, channels: Sequence[str] | None = None,
                window: Any = None, lookback_weeks: float = 0.0,
                active_kinds: Sequence[str] = ("purchase", "digital_session"),
                period_weeks: float = 13.0, customers_split: bool = True,
                npartitions: int | None = None, shuffle_method: str | None = None,
                split_every: int = 8, **fields: Any):
    """Dark matter per channel on a Dask event table: a :class:`cxlens.insight.DarkMatter`
    whose ``summary`` and ``over_time`` equal :func:`cxlens.insight.dark_matter` on the whole
    table (no contact points: consent unknown; ``customers`` is None). Default channels: the
    assisted channels, sorted by name."""

    def build(bounds: tuple[int, int], catalog: list[str]) -> dict[str, Any]:
        chosen = list(channels) if channels else _d.assisted_channels(catalog)
        if not chosen:
            raise InvalidArgument("dark_matter: the table has no assisted channel; name the "
                                  "channels")
        for name in chosen:
            if name not in catalog:
                raise NotFound(f"dark_matter: channel {name!r} is not in the table")
        return _d.dark_matter_settings(channels=chosen, window=bounds,
                                       lookback_weeks=lookback_weeks,
                                       active_kinds=active_kinds, period_weeks=period_weeks)

    return _insight_summary(ddf, spec, fields, window, build, _d.summarise_dark_matter_bucket,
                            customers_split, npartitions, shuffle_method, split_every).finish()


def engagement_tiers(ddf: Any, spec: Any = None, *, window: Any = None,
                     contribution_kinds: Sequence[str] = ("community_post",),
                     heavy_min_posts: int = 10, members_only: bool = False,
                     repurchase_weeks: float = 26.0, promoter_min_score: float = 9.0,
                     replicates: int = 200, seed: int = 20240601, confidence: float = 0.95,
                     customers_split: bool = True, npartitions: int | None = None,
                     shuffle_method: str | None = None, split_every: int = 8, **fields: Any):
    """90-9-1 engagement tiers on a Dask event table: a :class:`cxlens.insight.Engagement`
    whose ``tiers``, ``repurchase`` and ratio values equal
    :func:`cxlens.insight.engagement_tiers` on the whole table, intervals included (bootstrap
    weights are keyed by the customer key, so they do not depend on the partitioning;
    ``customers`` is None)."""

    def build(bounds: tuple[int, int], catalog: list[str]) -> dict[str, Any]:
        return _d.engagement_settings(window=bounds, contribution_kinds=contribution_kinds,
                                      heavy_min_posts=heavy_min_posts,
                                      members_only=members_only,
                                      repurchase_weeks=repurchase_weeks,
                                      promoter_min_score=promoter_min_score,
                                      replicates=replicates, seed=seed,
                                      confidence=confidence)

    return _insight_summary(ddf, spec, fields, window, build, _d.summarise_engagement_bucket,
                            customers_split, npartitions, shuffle_method, split_every).finish()


def channel_preference(ddf: Any, spec: Any = None, *, window: Any = None,
                       as_of: Any = None,
                       preference_kinds: Sequence[str] = ("service_contact", "complaint"),
                       outreach_kinds: Sequence[str] = ("message_sent", "survey_invitation"),
                       response_days: float = 7.0, customers_split: bool = True,
                       npartitions: int | None = None,
                       shuffle_method: str | None = None, split_every: int = 8,
                       **fields: Any):
    """Preferred and most responsive channels on a Dask event table: a
    :class:`cxlens.insight.ChannelPreference` whose tables equal
    :func:`cxlens.insight.channel_preference` on the whole table (no contact points:
    reachability unknown)."""
    from .insight import _ns

    def build(bounds: tuple[int, int], catalog: list[str]) -> dict[str, Any]:
        return _d.channel_preference_settings(window=bounds, as_of=_ns(as_of),
                                              preference_kinds=preference_kinds,
                                              outreach_kinds=outreach_kinds,
                                              response_days=response_days)

    return _insight_summary(ddf, spec, fields, window, build,
                            _d.summarise_channel_preference_bucket, customers_split,
                            npartitions, shuffle_method, split_every, first_seen=True).finish()


def profitability(ddf: Any, spec: Any = None, *, window: Any = None,
                  cost_kinds: Sequence[str] | None = None, curve_points: int = 101,
                  customers_split: bool = True, npartitions: int | None = None,
                  shuffle_method: str | None = None, split_every: int = 8,
                  **fields: Any):
    """Revenue, cost to serve, margin and the whale curve on a Dask event table: a
    :class:`cxlens.insight.Profitability` whose tables equal
    :func:`cxlens.insight.profitability` on the whole table."""

    def build(bounds: tuple[int, int], catalog: list[str]) -> dict[str, Any]:
        return _d.profitability_settings(window=bounds, cost_kinds=cost_kinds,
                                         curve_points=curve_points)

    return _insight_summary(ddf, spec, fields, window, build,
                            _d.summarise_profitability_bucket, customers_split,
                            npartitions, shuffle_method, split_every, first_seen=True).finish()


def offering_dimensions(ddf: Any, spec: Any = None, *, window: Any = None,
                        retention_weeks: float = 13.0, min_support: int = 30,
                        replicates: int = 200, seed: int = 20240601, confidence: float = 0.95,
                        customers_split: bool = True, npartitions: int | None = None,
                        shuffle_method: str | None = None, split_every: int = 8,
                        **fields: Any):
    """Offering dimensions on a Dask event table (needs an ``offering`` column): a
    :class:`cxlens.insight.OfferingDimensions` whose tables equal
    :func:`cxlens.insight.offering_dimensions` on the whole table, value-lift intervals
    included (bootstrap weights keyed by customer key). Value is window revenue, retention a
    purchase in the last ``retention_weeks`` (no per-customer columns)."""

    def build(bounds: tuple[int, int], catalog: list[str]) -> dict[str, Any]:
        return _d.offering_dimensions_settings(window=bounds, retention_weeks=retention_weeks,
                                               min_support=min_support,
                                               replicates=replicates, seed=seed,
                                               confidence=confidence)

    return _insight_summary(ddf, spec, fields, window, build,
                            _d.summarise_offering_dimensions_bucket, customers_split,
                            npartitions, shuffle_method, split_every, first_seen=True).finish()


# --- survival ---------------------------------------------------------------------------------
# Kaplan-Meier on customer lifetimes, behavioural cohort tables and Cox on a Dask DataFrame of
# events (see cxlens.distributed, section "survival", and docs/distributed.md).

def _activity(ddf: Any, customer: str, time: str, event: str | None, activity_kinds: Any,
              event_kinds: Any, time_unit: str) -> tuple[Any, str]:
    if not isinstance(ddf, dd.DataFrame):
        raise TypeError("cxlens.dask functions take a dask.dataframe.DataFrame")
    spec = _d.activity_spec(customer, time, event, activity_kinds, event_kinds, time_unit)
    for column in spec.columns():
        if column not in ddf.columns:
            raise NotFound(f"column {column!r} is not in the DataFrame")
    return spec, spec.key_kind(ddf.dtypes[customer])


def _number(partition_info: dict | None) -> Any:
    return None if partition_info is None else partition_info.get("number")


def _latest(ddf: Any, spec: Any) -> Any:
    """The latest event time of the table (UTC ns), a lazy Dask scalar."""

    def latest(frame: pd.DataFrame, partition_info: dict | None = None) -> pd.DataFrame:
        return _d.latest_time(frame, spec, _number(partition_info))

    return ddf.map_partitions(latest, meta=pd.DataFrame({"latest": pd.array([], dtype="Int64")}),
                              enforce_metadata=False, required_columns=spec.columns())["latest"].max()


def _by_customer(states: Any, customers_split: bool, npartitions: int | None,
                 shuffle_method: str | None, inputs: int) -> Any:
    if not customers_split:
        return states
    buckets = npartitions or max(1, -(-inputs // 8))
    return states.shuffle(on="customer", npartitions=buckets, shuffle_method=shuffle_method)


def _lifetimes(ddf: Any, spec: Any, key_kind: str, end: Any, customers_split: bool,
               npartitions: int | None, shuffle_method: str | None) -> tuple[Any, Any]:
    """Merged lifetime states (each customer in one partition) and the observation end (an
    int, or a lazy scalar: the latest event)."""
    given = _d.utc_instant(end)

    def states(frame: pd.DataFrame, partition_info: dict | None = None) -> pd.DataFrame:
        return _d.lifetime_states(frame, spec, end=given, key_kind=key_kind,
                                  partition=_number(partition_info))

    parts = ddf.map_partitions(states, meta=_d.empty_lifetime_states(key_kind),
                               enforce_metadata=False, required_columns=spec.columns())
    parts = _by_customer(parts, customers_split, npartitions, shuffle_method, ddf.npartitions)
    merged = parts.map_partitions(_d.merge_lifetime_states,
                                  meta=_d.empty_lifetime_states(key_kind), enforce_metadata=False)
    return merged, (given if given is not None else _latest(ddf, spec))


def _survival_settings(spec: Any, churn_after_days: float, unit_days: float,
                       end: int) -> dict[str, Any]:
    return json.loads(json.dumps({
        "event": spec.event, "activity_kinds": spec.activity_kinds,
        "event_kinds": spec.event_kinds, "churn_after_days": float(churn_after_days),
        "unit_days": float(unit_days), "end": int(end)}))


def _merge_bytes_frames(cls: Any) -> Any:
    def merge(*frames: pd.DataFrame) -> pd.DataFrame:
        merged = _d.merge_all(cls.from_bytes(b) for f in frames for b in f["summary"])
        return pd.DataFrame({"summary": pd.Series([merged.to_bytes()], dtype=object)})
    return merge


def _tree(parts: Any, cls: Any, split_every: int) -> Any:
    merge = dask.delayed(_merge_bytes_frames(cls), pure=True)
    result = _d.tree_merge(parts.to_delayed(), merge, fan_in=split_every).compute()
    return cls.from_bytes(result["summary"].iloc[0])


_BYTES_META = pd.DataFrame({"summary": pd.Series([], dtype=object)})


def customer_lifetimes(ddf: Any, customer: str, time: str, *, event: str | None = None,
                       activity_kinds: Sequence[str] | None = None,
                       event_kinds: dict | None = None, churn_after_days: float = 90.0,
                       end: Any = None, unit_days: float = 1.0, customers_split: bool = True,
                       time_unit: str = "ns", npartitions: int | None = None,
                       shuffle_method: str | None = None) -> Any:
    """Per-customer survival inputs (first, last, duration, churned) as a lazy Dask DataFrame
    indexed by customer; computed and sorted it equals
    :func:`cxlens.distributed.customer_lifetimes` on the whole table. A customer's first and
    last activity come from every partition (keyed states, shuffled by customer unless
    ``customers_split=False``)."""
    spec, key_kind = _activity(ddf, customer, time, event, activity_kinds, event_kinds,
                               time_unit)
    merged, stop = _lifetimes(ddf, spec, key_kind, end, customers_split, npartitions,
                              shuffle_method)
    meta = _d.lifetimes_from_states(_d.empty_lifetime_states(key_kind), 0,
                                    churn_after_days=churn_after_days, unit_days=unit_days)

    def finish(states: pd.DataFrame, stop_ns: Any) -> pd.DataFrame:
        return _d.lifetimes_from_states(states, int(stop_ns), churn_after_days=churn_after_days,
                                        unit_days=unit_days) if len(states) else meta

    return merged.map_partitions(finish, stop, meta=meta, enforce_metadata=False)


def survival_summary(ddf: Any, customer: str, time: str, *, event: str | None = None,
                     activity_kinds: Sequence[str] | None = None, event_kinds: dict | None = None,
                     churn_after_days: float = 90.0, end: Any = None, unit_days: float = 1.0,
                     customers_split: bool = True, time_unit: str = "ns",
                     npartitions: int | None = None, shuffle_method: str | None = None,
                     split_every: int = 8) -> Any:
    """The merged :class:`cxlens.distributed.SurvivalSummary` (event and censoring counts per
    duration) of the customers' lifetimes; only per-bucket summaries reach the client."""
    spec, key_kind = _activity(ddf, customer, time, event, activity_kinds, event_kinds,
                               time_unit)
    merged, stop = _lifetimes(ddf, spec, key_kind, end, customers_split, npartitions,
                              shuffle_method)

    def summarise(states: pd.DataFrame, stop_ns: Any) -> pd.DataFrame:
        if pd.isna(stop_ns):
            raise InvalidArgument("no events in the table: nothing to summarise")
        lifetimes = _d.lifetimes_from_states(states, int(stop_ns),
                                             churn_after_days=churn_after_days,
                                             unit_days=unit_days)
        summary = _d.survival_summary(lifetimes, _survival_settings(
            spec, churn_after_days, unit_days, int(stop_ns)))
        return pd.DataFrame({"summary": pd.Series([summary.to_bytes()], dtype=object)})

    parts = merged.map_partitions(summarise, stop, meta=_BYTES_META, enforce_metadata=False)
    return _tree(parts, _d.SurvivalSummary, split_every)


def kaplan_meier(ddf: Any, customer: str, time: str, *, alpha: float = 0.05,
                 **options: Any) -> pd.DataFrame:
    """Kaplan-Meier of customer lifetimes (time from first activity to churn, censored at the
    observation end): the same DataFrame :func:`cxlens.survival.kaplan_meier` returns for the
    single-machine lifetimes. ``options`` go to :func:`survival_summary`."""
    return survival_summary(ddf, customer, time, **options).kaplan_meier(alpha)


def cohort_summary(ddf: Any, customer: str, time: str, *, event: str | None = None,
                   period: str = "month", activity_kinds: Sequence[str] | None = None,
                   event_kinds: dict | None = None, end: Any = None,
                   customers_split: bool = True, time_unit: str = "ns",
                   npartitions: int | None = None, shuffle_method: str | None = None,
                   split_every: int = 8) -> Any:
    """The merged :class:`cxlens.distributed.CohortSummary` of a behavioural cohort table:
    distinct (customer, activity period) states per partition, shuffled by customer, counted
    per bucket, merged in a tree."""
    spec, key_kind = _activity(ddf, customer, time, event, activity_kinds, event_kinds,
                               time_unit)
    given = _d.utc_instant(end)

    def states(frame: pd.DataFrame, partition_info: dict | None = None) -> pd.DataFrame:
        return _d.activity_period_states(frame, spec, period=period, end=given,
                                         key_kind=key_kind, partition=_number(partition_info))

    parts = ddf.map_partitions(states, meta=_d.empty_period_states(key_kind),
                               enforce_metadata=False, required_columns=spec.columns())
    parts = _by_customer(parts, customers_split, npartitions, shuffle_method, ddf.npartitions)
    # Default end: just after the latest event of any kind (as the single-machine table).
    stop = given if given is not None else _latest(ddf, spec) + 1

    def summarise(frame: pd.DataFrame, stop_ns: Any) -> pd.DataFrame:
        if pd.isna(stop_ns):
            raise InvalidArgument("no events in the table: nothing to summarise")
        settings = json.loads(json.dumps({
            "event": spec.event, "activity_kinds": spec.activity_kinds,
            "event_kinds": spec.event_kinds, "period": period, "end": int(stop_ns)}))
        summary = _d.cohort_summary(frame, settings)
        return pd.DataFrame({"summary": pd.Series([summary.to_bytes()], dtype=object)})

    buckets = parts.map_partitions(summarise, stop, meta=_BYTES_META, enforce_metadata=False)
    return _tree(buckets, _d.CohortSummary, split_every)


def cohort_retention(ddf: Any, customer: str, time: str, *, event: str | None = None,
                     definition: str = "behavioural", period: str = "month",
                     activity_kinds: Sequence[str] | None = None, end: Any = None,
                     rates: bool = False, **options: Any) -> pd.DataFrame:
    """The behavioural cohort retention table of an event table: the same DataFrame
    :func:`cxlens.survival.cohort_retention` returns for an :class:`cxlens.EventLog` of the
    same events. The contractual definition replays each customer's account openings and
    closings in time order and is not distributed yet (InvalidArgument)."""
    if definition not in ("behavioural", "behavioral"):
        raise InvalidArgument("distributed cohort tables support definition='behavioural'; "
                              "for 'contractual' build an EventLog per customer bucket")
    summary = cohort_summary(ddf, customer, time, event=event, period=period,
                             activity_kinds=activity_kinds, end=end, **options)
    return summary.table(rates=rates)


def fit_cox(ddf: Any, duration_col: str, event_col: str | None = None,
            covariates: Sequence[str] | None = None, *, max_rows: int = 20_000_000,
            **options: Any) -> Any:
    """Cox proportional hazards on a Dask DataFrame of per-customer rows (duration, event,
    covariates): the exact alternative to distributed Newton steps. The partial likelihood
    couples everyone at risk, so the rows (one per customer, a few numbers each) are
    collected, put in one canonical order and fitted by :func:`cxlens.survival.fit_cox`:
    the same :class:`cxlens.survival.CoxResult`, bit-identical for any partitioning. Refused
    (InvalidArgument) above ``max_rows`` rows; ``options`` go to ``fit_cox``."""
    from .survival import fit_cox as _fit_cox

    if not isinstance(ddf, dd.DataFrame):
        raise TypeError("cxlens.dask functions take a dask.dataframe.DataFrame")
    strata = options.get("strata")
    strata = [strata] if isinstance(strata, str) else list(strata or [])
    if covariates is None:
        covariates = [c for c in ddf.columns if c not in {duration_col, event_col, *strata}]
    columns = [c for c in [duration_col, event_col, *covariates, *strata] if c is not None]
    for column in columns:
        if column not in ddf.columns:
            raise NotFound(f"no column {column!r} in the data")
    rows = len(ddf)
    if rows > max_rows:
        raise InvalidArgument(f"{rows} rows exceed max_rows={max_rows} for the collected Cox "
                              "fit; sample customers or raise max_rows")
    frame = _d.canonical_rows(ddf[list(dict.fromkeys(columns))].compute())
    return _fit_cox(frame, duration_col, event_col, covariates=list(covariates), **options)


__all__ += ["cohort_retention", "cohort_summary", "customer_lifetimes", "fit_cox",
            "kaplan_meier", "survival_summary"]
