"""cxlens on Spark: the single-machine analyses on a PySpark DataFrame, same results.

Every step runs in Spark's Python workers through Arrow-based ``mapInPandas`` and
``applyInPandas``; the driver receives only merged summaries (a few kilobytes) and returns what
the single-machine API returns: fitted :mod:`cxlens.retention` models, or Spark DataFrames for
per-customer tables (whose collected value equals the single-machine DataFrame).

Shape (see :mod:`cxlens.distributed`): each Spark partition becomes keyed per-customer purchase
states (``mapInPandas``); states are brought together by customer with Spark's own shuffle
(``groupBy(bucket).applyInPandas``, bucket = hash of the customer), merged exactly and
summarised per bucket; bucket summaries travel as versioned bytes and merge in a
``treeReduce``.

Spark packs several Parquet files into one partition without keeping them in date order, so
the default ``granularity`` here is ``"period"`` (one state per customer and purchase period,
exact for any partitioning); ``"customer"`` moves less data when partitions are date ranges.

Times: ``TimestampType`` columns are read as UTC instants (``unix_micros``), whatever the
session time zone; ``TimestampNTZType`` is taken as UTC; text as ISO 8601 with any offset.

Workers need cxlens installed in the Python that Spark runs (``PYSPARK_PYTHON``).
"""

from __future__ import annotations

import json
import re
from contextlib import contextmanager
from typing import Any, Iterator, Sequence

import numpy as np
import pandas as pd

try:
    from pyspark.errors import PythonException
    from pyspark.sql import DataFrame as SparkDataFrame
    from pyspark.sql import functions as F
    from pyspark.sql import types as T
except ImportError as error:  # pragma: no cover - exercised only without pyspark
    raise ImportError("cxlens.spark needs pyspark: pip install 'cxlens[distributed]'") from error

from . import _core
from . import distributed as _d
from ._core import ColumnTypeError, InvalidArgument, NotFound
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

_TIME = "__cxlens_time"
_ERRORS = {"InvalidArgument": _core.InvalidArgument, "ColumnTypeError": _core.ColumnTypeError,
           "NotFound": _core.NotFound, "ConvergenceError": _core.ConvergenceError}


@contextmanager
def _typed_errors() -> Iterator[None]:
    """Re-raises a cxlens error thrown in a Spark Python worker as the same cxlens type."""
    try:
        yield
    except PythonException as error:
        text = str(error)
        found = re.findall(r"cxlens(?:\._core)?\.(\w+): (.*)", text)
        for name, message in reversed(found):
            if name in _ERRORS:
                raise _ERRORS[name](message.strip()) from error
        raise


def _prepare(sdf: Any, customer: str, time: str, value: str | None, event: str | None,
             purchase_events: Sequence[str] | None,
             time_unit: str) -> tuple[Any, TransactionSpec, str]:
    """The columns the analysis reads, with times as UTC instants and purchases filtered in
    Spark SQL; the spec the workers read them with, and the customer key kind."""
    if not isinstance(sdf, SparkDataFrame):
        raise TypeError("cxlens.spark functions take a pyspark.sql.DataFrame")
    if (event is None) != (purchase_events is None):
        raise InvalidArgument("give both event and purchase_events, or neither")
    for column in (customer, time, value, event):
        if column is not None and column not in sdf.columns:
            raise NotFound(f"column {column!r} is not in the DataFrame")
    fields = {f.name: f.dataType for f in sdf.schema.fields}
    key_type = fields[customer]
    if isinstance(key_type, T.IntegralType) or isinstance(key_type, (T.FloatType, T.DoubleType)):
        key_kind = "integer"
    elif isinstance(key_type, T.StringType):
        key_kind = "text"
    else:
        raise ColumnTypeError(f"customer column {customer!r} must hold integers or text")
    if value is not None and not isinstance(fields[value], T.NumericType):
        raise ColumnTypeError(f"value column {value!r} must hold numbers")
    if event is not None:
        sdf = sdf.where(F.col(event).cast("string").isin([str(e) for e in purchase_events]))
    time_type = fields[time]
    unit = time_unit
    if isinstance(time_type, T.TimestampType):
        time_column, unit = F.unix_micros(F.col(time)), "us"
    elif isinstance(time_type, T.TimestampNTZType):
        time_column = F.date_format(F.col(time), "yyyy-MM-dd'T'HH:mm:ss.SSSSSS")
    elif isinstance(time_type, T.DateType):
        time_column = F.date_format(F.col(time), "yyyy-MM-dd")
    else:
        time_column = F.col(time)
    columns = [F.col(customer).alias("customer"), time_column.alias(_TIME)]
    if value is not None:
        columns.append(F.col(value).cast("double").alias("value"))
    spec = TransactionSpec("customer", _TIME, "value" if value is not None else None,
                           time_unit=unit)
    return sdf.select(*columns), spec, key_kind


def _states_schema(key_kind: str) -> str:
    key = "long" if key_kind == "integer" else "string"
    return (f"customer {key}, first long, last long, periods long, first_value double, "
            "last_value double, value double")


def _states(prepared: Any, spec: TransactionSpec, key_kind: str, freq: str, end: int | None,
            granularity: str) -> Any:
    """Keyed states per Spark partition, computed once from all of its Arrow batches (so the
    row order inside a partition does not matter)."""

    def states(batches: Iterator[pd.DataFrame]) -> Iterator[pd.DataFrame]:
        frames = [batch for batch in batches if len(batch)]
        if not frames:
            yield _d.empty_states(key_kind)
            return
        frame = frames[0] if len(frames) == 1 else pd.concat(frames, ignore_index=True)
        yield _d.customer_states(frame, spec, freq=freq, observation_period_end=end,
                                 granularity=granularity, key_kind=key_kind)

    return prepared.mapInPandas(states, schema=_states_schema(key_kind))


def _end_period(prepared: Any, spec: TransactionSpec, freq: str,
                observation_period_end: Any) -> int | None:
    """The observation end as a period ordinal: the user's, or the latest transaction's (one
    pass over the time column; only a number per partition reaches the driver)."""
    given = _d.end_period(observation_period_end, freq)
    if given is not None:
        return given

    def latest(batches: Iterator[pd.DataFrame]) -> Iterator[pd.DataFrame]:
        best = None
        for batch in batches:
            if len(batch):
                top = int(_d.period_ordinals(_d.utc_ns(batch[spec.time], spec.time,
                                                       spec.time_unit), freq).max())
                best = top if best is None else max(best, top)
        yield pd.DataFrame({"end": pd.array([best], dtype="Int64")})

    with _typed_errors():
        row = prepared.select(_TIME).mapInPandas(latest, schema="end long").agg(
            F.max("end")).collect()[0][0]
    return None if row is None else int(row)


def _by_customer(states: Any, buckets: int, customers_split: bool, function: Any,
                 schema: str) -> Any:
    """Applies `function` to frames holding every state of their customers: buckets of
    customers brought together by Spark's shuffle (``groupBy(...).applyInPandas``), or, when
    customers are not split across partitions, each partition as it is."""
    if customers_split:
        bucketed = states.withColumn("__bucket", F.pmod(F.xxhash64("customer"), F.lit(buckets)))
        return bucketed.groupBy("__bucket").applyInPandas(
            lambda frame: function(frame.drop(columns="__bucket")), schema=schema)

    def per_partition(batches: Iterator[pd.DataFrame]) -> Iterator[pd.DataFrame]:
        parts = [b for b in batches]
        yield function(pd.concat(parts, ignore_index=True) if parts else None)

    return states.mapInPandas(per_partition, schema=schema)


def retention_summary(sdf: Any, customer: str, time: str, value: str | None = None, *,
                      event: str | None = None, purchase_events: Sequence[str] | None = None,
                      freq: str = "D", freq_multiplier: float = 1,
                      observation_period_end: Any = None, customers_split: bool = True,
                      granularity: str = "period", time_unit: str = "ns",
                      buckets: int | None = None, depth: int = 2) -> RetentionSummary:
    """The merged :class:`cxlens.distributed.RetentionSummary` of a Spark transaction table
    (arguments as in :func:`cxlens.dask.retention_summary`; ``buckets`` is the number of
    customer buckets of the shuffle, default the session's shuffle partitions; ``depth`` the
    depth of the ``treeReduce`` that merges bucket summaries)."""
    prepared, spec, key_kind = _prepare(sdf, customer, time, value, event, purchase_events,
                                        time_unit)
    end = _end_period(prepared, spec, freq, observation_period_end)
    if end is None:
        raise InvalidArgument("no transactions in the table: nothing to summarise")
    states = _states(prepared, spec, key_kind, freq, end, granularity)
    monetary = value is not None
    settings = _d.settings_of(freq, freq_multiplier, end)
    nbuckets = buckets or int(sdf.sparkSession.conf.get("spark.sql.shuffle.partitions"))

    def summarise(frame: pd.DataFrame | None) -> pd.DataFrame:
        rows = (pd.DataFrame({c: pd.Series([], dtype=np.float64)
                              for c in ("frequency", "recency", "T", "monetary_value")})
                if frame is None or len(frame) == 0 else
                _d.rfm_from_states(_d.merge_customer_states(frame), end,
                                   freq_multiplier=freq_multiplier, monetary=monetary))
        summary = _d.retention_summary(rows, settings, monetary)
        return pd.DataFrame({"summary": [summary.to_bytes()]})

    parts = _by_customer(states, nbuckets, customers_split, summarise, "summary binary")
    with _typed_errors():
        merged = parts.rdd.map(lambda row: bytes(row[0])).treeReduce(
            _d.merge_retention_bytes, depth=depth)
    summary = RetentionSummary.from_bytes(merged)
    if summary.customers == 0:
        raise InvalidArgument("no transactions in the table: nothing to summarise")
    return summary


def fit(sdf: Any, customer: str, time: str, *, model: str = "bg_nbd", penalizer: float = 0.0,
        strict: bool = False, **summary_options: Any):
    """Fits a transaction model ('bg_nbd', 'mbg_nbd', 'pareto_nbd') on a Spark transaction
    table; the same :mod:`cxlens.retention` model the single-machine fit returns."""
    summary = retention_summary(sdf, customer, time, **summary_options)
    return summary.fit(model, penalizer=penalizer, strict=strict)


def fit_gamma_gamma(sdf: Any, customer: str, time: str, value: str, *, penalizer: float = 0.0,
                    strict: bool = False, **summary_options: Any) -> GammaGamma:
    """Fits the Gamma-Gamma spend model on the repeat buyers of a Spark transaction table."""
    summary = retention_summary(sdf, customer, time, value, **summary_options)
    return summary.fit_spend(penalizer=penalizer, strict=strict)


def summary_data_from_transaction_data(
        sdf: Any, customer_id_col: str, datetime_col: str, monetary_value_col: str | None = None,
        observation_period_end: Any = None, freq: str = "D", freq_multiplier: float = 1, *,
        event: str | None = None, purchase_events: Sequence[str] | None = None,
        customers_split: bool = True, granularity: str = "period", time_unit: str = "ns",
        buckets: int | None = None) -> Any:
    """Per-customer frequency, recency, T (and monetary_value) as a Spark DataFrame with a
    ``customer`` column: lifetimes' ``summary_data_from_transaction_data`` on a Spark table.
    Lazy except for the observation end (computed first when not given)."""
    prepared, spec, key_kind = _prepare(sdf, customer_id_col, datetime_col, monetary_value_col,
                                        event, purchase_events, time_unit)
    end = _end_period(prepared, spec, freq, observation_period_end)
    if end is None:
        raise InvalidArgument("no transactions in the table")
    states = _states(prepared, spec, key_kind, freq, end, granularity)
    monetary = monetary_value_col is not None
    key = "long" if key_kind == "integer" else "string"
    schema = f"customer {key}, frequency double, recency double, T double" + (
        ", monetary_value double" if monetary else "")
    columns = ["customer", "frequency", "recency", "T"] + (["monetary_value"] if monetary
                                                           else [])

    def rfm(frame: pd.DataFrame | None) -> pd.DataFrame:
        if frame is None or len(frame) == 0:
            return pd.DataFrame({c: pd.Series([], dtype=np.float64) for c in columns})
        rows = _d.rfm_from_states(_d.merge_customer_states(frame), end,
                                  freq_multiplier=freq_multiplier, monetary=monetary)
        return rows.reset_index()[columns]

    nbuckets = buckets or int(sdf.sparkSession.conf.get("spark.sql.shuffle.partitions"))
    return _by_customer(states, nbuckets, customers_split, rfm, schema)


def score(rfm: Any, model: Any, *, spend: GammaGamma | None = None, t: float = 1.0,
          months: int = 12, discount_rate: float = 0.01, freq: str = "D",
          threads: int = 1) -> Any:
    """Scores a Spark DataFrame of RFM rows (``frequency``, ``recency``, ``T`` and, with a
    spend model, ``monetary_value``) partition by partition with ``mapInPandas``: adds
    ``p_alive``, ``predicted_purchases`` and, with ``spend``, ``expected_spend`` and ``clv``."""
    if not isinstance(rfm, SparkDataFrame):
        raise TypeError("score() takes a pyspark.sql.DataFrame of RFM rows")
    added = ["p_alive", "predicted_purchases"] + (["expected_spend", "clv"] if spend is not None
                                                  else [])
    schema = T.StructType(list(rfm.schema.fields)
                          + [T.StructField(name, T.DoubleType()) for name in added])

    def scored(batches: Iterator[pd.DataFrame]) -> Iterator[pd.DataFrame]:
        for batch in batches:
            yield _d.score_frame(batch, model, spend=spend, t=t, months=months,
                                 discount_rate=discount_rate, freq=freq, threads=threads)

    return rfm.mapInPandas(scored, schema=schema)


# --- journeys and attribution -----------------------------------------------------------------
#
# Events are prepared per partition (mapInPandas: canonical columns, UTC ns times, a global row
# order from the partition id), shuffled by customer bucket with Spark's own shuffle
# (groupBy(pmod(xxhash64(customer), buckets)).applyInPandas), summarised per bucket, and the
# bucket summaries (bytes) merged in a treeAggregate: only summaries reach the driver.

_OPTIONAL_TYPES = {"value": "double", "cost": "double", "score": "double",
                   "direction": "string", "offering": "string", "case_id": "string"}


def _prepared_events(sdf: Any, spec: Any, fields: dict[str, Any]) -> tuple[Any, Any, str]:
    """The prepared events of a Spark table (Spark SQL selects and converts the time column,
    then each partition is prepared in a Python worker), the spec the workers read them with,
    and the customer key kind."""
    if not isinstance(sdf, SparkDataFrame):
        raise TypeError("cxlens.spark functions take a pyspark.sql.DataFrame")
    spec = _d.event_spec(spec, **fields)
    for column in spec.columns():
        if column not in sdf.columns:
            raise NotFound(f"column {column!r} is not in the DataFrame")
    types = {f.name: f.dataType for f in sdf.schema.fields}
    key_type = types[spec.customer]
    if isinstance(key_type, (T.IntegralType, T.FloatType, T.DoubleType)):
        key_kind = "integer"
    elif isinstance(key_type, T.StringType):
        key_kind = "text"
    else:
        raise ColumnTypeError(f"customer column {spec.customer!r} must hold integers or text")
    time_type = types[spec.time]
    unit = spec.time_unit
    if isinstance(time_type, T.TimestampType):
        time_column, unit = F.unix_micros(F.col(spec.time)), "us"
    elif isinstance(time_type, T.TimestampNTZType):
        time_column = F.date_format(F.col(spec.time), "yyyy-MM-dd'T'HH:mm:ss.SSSSSS")
    elif isinstance(time_type, T.DateType):
        time_column = F.date_format(F.col(spec.time), "yyyy-MM-dd")
    else:
        time_column = F.col(spec.time)
    names = spec.fields()
    columns = [F.col(spec.customer).alias("customer"), time_column.alias("time")]
    for name in ("channel", "event") + tuple(n for n in _OPTIONAL_TYPES if n in names):
        column = F.col(names[name])
        if _OPTIONAL_TYPES.get(name) == "double" and not isinstance(types[names[name]],
                                                                     T.NumericType):
            raise ColumnTypeError(f"{name} column {names[name]!r} must hold numbers")
        columns.append(column.cast(_OPTIONAL_TYPES.get(name, "string")).alias(name))
    worker_spec = _d.EventSpec(**{**{n: (n if n in names else None)
                                     for n in _OPTIONAL_TYPES},
                                  "event_kinds": spec.event_kinds, "time_unit": unit})
    key = "long" if key_kind == "integer" else "string"
    schema = (f"customer {key}, time long, seq long, channel string, event string"
              + "".join(f", {n} {t}" for n, t in _OPTIONAL_TYPES.items() if n in names))

    def prepare(batches: Iterator[pd.DataFrame]) -> Iterator[pd.DataFrame]:
        from pyspark import TaskContext

        context = TaskContext.get()
        partition = context.partitionId() if context is not None else 0
        row = 0
        for batch in batches:
            out = _d.prepare_events(batch, worker_spec, key_kind=key_kind, partition=partition,
                                    order_base=(partition << _d._ORDER_BITS) + row)
            row += len(batch)
            yield out[[c.split()[0] for c in schema.split(", ")]]

    return sdf.select(*columns).mapInPandas(prepare, schema=schema), worker_spec, key_kind


def _bucket_summaries(prepared: Any, buckets: int, customers_split: bool, summarise: Any,
                      merge: Any, depth: int) -> bytes:
    """Summaries of buckets of whole customers (Spark's shuffle by customer hash, or each
    partition when customers are not split), merged in a treeAggregate from the empty
    summary."""

    def per_bucket(frame: pd.DataFrame | None) -> pd.DataFrame:
        return pd.DataFrame({"summary": [summarise(frame)]})

    parts = _by_customer(prepared, buckets, customers_split, per_bucket, "summary binary")
    zero = summarise(None)  # the empty summary: a table without rows has no buckets
    with _typed_errors():
        return parts.rdd.map(lambda row: bytes(row[0])).treeAggregate(zero, merge, merge,
                                                                      depth=depth)


def journey_summary(sdf: Any, spec: Any = None, *, key: str = "channel", by: str = "customer",
                    gap: Any = None, goal: Any = None, goal_as_step: bool = True,
                    keep_durations: bool = True, customers_split: bool = True,
                    buckets: int | None = None, depth: int = 2,
                    **fields: Any) -> _d.JourneySummary:
    """The merged :class:`cxlens.distributed.JourneySummary` of a Spark event table
    (arguments as in :func:`cxlens.dask.journey_summary`; ``buckets``: customer buckets of the
    shuffle, default the session's shuffle partitions)."""
    prepared, worker_spec, _ = _prepared_events(sdf, spec, fields)
    settings = _d.journey_settings(key=key, by=by, gap=gap, goal=goal,
                                   goal_as_step=goal_as_step, keep_durations=keep_durations)
    nbuckets = buckets or int(sdf.sparkSession.conf.get("spark.sql.shuffle.partitions"))
    data = _bucket_summaries(
        prepared, nbuckets, customers_split,
        lambda frame: _d.summarise_journey_bucket(frame, worker_spec, settings),
        _d.merge_journey_bytes, depth)
    return _d.JourneySummary.from_bytes(data)


def directly_follows(sdf: Any, spec: Any = None, **options: Any):
    """The directly-follows :class:`cxlens.journey.JourneyGraph` of a Spark event table."""
    return journey_summary(sdf, spec, **options).graph()


def variants(sdf: Any, spec: Any = None, *, top: int | None = None, **options: Any):
    """The variants table of a Spark event table (as ``journeys(log, ...).variants(top)``)."""
    return journey_summary(sdf, spec, **options).variant_table(top)


def attribution_paths(sdf: Any, spec: Any = None, **options: Any):
    """The attribution :class:`cxlens.journey.Paths` of a Spark event table."""
    return journey_summary(sdf, spec, **options).attribution_paths()


# --- insight ----------------------------------------------------------------------------------

def _window_and_catalog(prepared: Any, window: Any,
                        first_seen: bool = False) -> tuple[tuple[int, int], list[str]]:
    """The global window (first event to just after the last, unless given) and the channel
    catalog, sorted by name or (``first_seen``) in order of first appearance (the
    single-machine channel order): two numbers and the channel names reach the driver."""
    from .insight import _window as parse_window

    with _typed_errors():
        low, high, names = prepared.agg(F.min("time"), F.max("time"),
                                        F.sort_array(F.collect_set("channel"))).collect()[0]
        if first_seen:
            firsts = prepared.groupBy("channel").agg(F.min("seq").alias("first")).collect()
            names = [row["channel"] for row in sorted(firsts, key=lambda row: row["first"])]
    if low is None:
        raise InvalidArgument("the table has no events")
    given = parse_window(window)
    start = int(low) if given[0] is None else given[0]
    end = int(high) + 1 if given[1] is None else given[1]
    if first_seen:
        return (start, end), [str(n) for n in names]
    return (start, end), sorted(str(n) for n in names)


def _insight(sdf: Any, spec: Any, fields: dict[str, Any], window: Any, build: Any,
             summarise: Any, customers_split: bool, buckets: int | None, depth: int,
             first_seen: bool = False) -> Any:
    prepared, worker_spec, _ = _prepared_events(sdf, spec, fields)
    bounds, catalog = _window_and_catalog(prepared, window, first_seen)
    settings = build(bounds, catalog)
    nbuckets = buckets or int(sdf.sparkSession.conf.get("spark.sql.shuffle.partitions"))
    data = _bucket_summaries(prepared, nbuckets, customers_split,
                             lambda frame: summarise(frame, worker_spec, settings, catalog),
                             _d.merge_insight_bytes, depth)
    return _d.InsightSummary.from_bytes(data).finish()


def dark_matter(sdf: Any, spec: Any = None, *, channels: Sequence[str] | None = None,
                window: Any = None, lookback_weeks: float = 0.0,
                active_kinds: Sequence[str] = ("purchase", "digital_session"),
                period_weeks: float = 13.0, customers_split: bool = True,
                buckets: int | None = None, depth: int = 2, **fields: Any):
    """Dark matter per channel on a Spark event table (as :func:`cxlens.dask.dark_matter`)."""

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

    return _insight(sdf, spec, fields, window, build, _d.summarise_dark_matter_bucket,
                    customers_split, buckets, depth)


def engagement_tiers(sdf: Any, spec: Any = None, *, window: Any = None,
                     contribution_kinds: Sequence[str] = ("community_post",),
                     heavy_min_posts: int = 10, members_only: bool = False,
                     repurchase_weeks: float = 26.0, promoter_min_score: float = 9.0,
                     replicates: int = 200, seed: int = 20240601, confidence: float = 0.95,
                     customers_split: bool = True, buckets: int | None = None, depth: int = 2,
                     **fields: Any):
    """Engagement tiers on a Spark event table (as :func:`cxlens.dask.engagement_tiers`)."""

    def build(bounds: tuple[int, int], catalog: list[str]) -> dict[str, Any]:
        return _d.engagement_settings(window=bounds, contribution_kinds=contribution_kinds,
                                      heavy_min_posts=heavy_min_posts,
                                      members_only=members_only,
                                      repurchase_weeks=repurchase_weeks,
                                      promoter_min_score=promoter_min_score,
                                      replicates=replicates, seed=seed,
                                      confidence=confidence)

    return _insight(sdf, spec, fields, window, build, _d.summarise_engagement_bucket,
                    customers_split, buckets, depth)


def channel_preference(sdf: Any, spec: Any = None, *, window: Any = None,
                       as_of: Any = None,
                       preference_kinds: Sequence[str] = ("service_contact", "complaint"),
                       outreach_kinds: Sequence[str] = ("message_sent", "survey_invitation"),
                       response_days: float = 7.0, customers_split: bool = True,
                       buckets: int | None = None,
                       depth: int = 2, **fields: Any):
    """Preferred and most responsive channels on a Spark event table: a
    :class:`cxlens.insight.ChannelPreference` whose tables equal
    :func:`cxlens.insight.channel_preference` on the whole table (no contact points:
    reachability unknown)."""
    from .insight import _ns

    def build(bounds: tuple[int, int], catalog: list[str]) -> dict[str, Any]:
        return _d.channel_preference_settings(window=bounds, as_of=_ns(as_of),
                                              preference_kinds=preference_kinds,
                                              outreach_kinds=outreach_kinds,
                                              response_days=response_days)

    return _insight(sdf, spec, fields, window, build, _d.summarise_channel_preference_bucket,
                    customers_split, buckets, depth, first_seen=True)


def profitability(sdf: Any, spec: Any = None, *, window: Any = None,
                  cost_kinds: Sequence[str] | None = None, curve_points: int = 101,
                  customers_split: bool = True, buckets: int | None = None,
                  depth: int = 2, **fields: Any):
    """Revenue, cost to serve, margin and the whale curve on a Spark event table: a
    :class:`cxlens.insight.Profitability` whose tables equal
    :func:`cxlens.insight.profitability` on the whole table."""

    def build(bounds: tuple[int, int], catalog: list[str]) -> dict[str, Any]:
        return _d.profitability_settings(window=bounds, cost_kinds=cost_kinds,
                                         curve_points=curve_points)

    return _insight(sdf, spec, fields, window, build, _d.summarise_profitability_bucket,
                    customers_split, buckets, depth, first_seen=True)


def offering_dimensions(sdf: Any, spec: Any = None, *, window: Any = None,
                        retention_weeks: float = 13.0, min_support: int = 30,
                        replicates: int = 200, seed: int = 20240601, confidence: float = 0.95,
                        customers_split: bool = True, buckets: int | None = None,
                        depth: int = 2, **fields: Any):
    """Offering dimensions on a Spark event table (needs an ``offering`` column): a
    :class:`cxlens.insight.OfferingDimensions` whose tables equal
    :func:`cxlens.insight.offering_dimensions` on the whole table, value-lift intervals
    included (bootstrap weights keyed by customer key). Value is window revenue, retention a
    purchase in the last ``retention_weeks`` (no per-customer columns)."""

    def build(bounds: tuple[int, int], catalog: list[str]) -> dict[str, Any]:
        return _d.offering_dimensions_settings(window=bounds, retention_weeks=retention_weeks,
                                               min_support=min_support,
                                               replicates=replicates, seed=seed,
                                               confidence=confidence)

    return _insight(sdf, spec, fields, window, build, _d.summarise_offering_dimensions_bucket,
                    customers_split, buckets, depth, first_seen=True)


# --- survival ---------------------------------------------------------------------------------
# Kaplan-Meier on customer lifetimes, behavioural cohort tables and Cox on a Spark DataFrame of
# events: keyed states per partition (mapInPandas), Spark's shuffle by customer bucket
# (groupBy(...).applyInPandas), native summaries as versioned bytes merged in a treeReduce.

def _prepare_activity(sdf: Any, customer: str, time: str, event: str | None,
                      activity_kinds: Any, event_kinds: Any,
                      time_unit: str) -> tuple[Any, Any, str]:
    """The columns the survival analyses read (customer, time as UTC instants as in
    :func:`_prepare`, event as text), the spec the workers read them with, the key kind."""
    if not isinstance(sdf, SparkDataFrame):
        raise TypeError("cxlens.spark functions take a pyspark.sql.DataFrame")
    for column in (customer, time, event):
        if column is not None and column not in sdf.columns:
            raise NotFound(f"column {column!r} is not in the DataFrame")
    _d.activity_spec(customer, time, event, activity_kinds, event_kinds, time_unit)  # checks
    fields = {f.name: f.dataType for f in sdf.schema.fields}
    key_type = fields[customer]
    if isinstance(key_type, (T.IntegralType, T.FloatType, T.DoubleType)):
        key_kind = "integer"
    elif isinstance(key_type, T.StringType):
        key_kind = "text"
    else:
        raise ColumnTypeError(f"customer column {customer!r} must hold integers or text")
    time_type, unit = fields[time], time_unit
    if isinstance(time_type, T.TimestampType):
        time_column, unit = F.unix_micros(F.col(time)), "us"
    elif isinstance(time_type, T.TimestampNTZType):
        time_column = F.date_format(F.col(time), "yyyy-MM-dd'T'HH:mm:ss.SSSSSS")
    elif isinstance(time_type, T.DateType):
        time_column = F.date_format(F.col(time), "yyyy-MM-dd")
    else:
        time_column = F.col(time)
    columns = [F.col(customer).alias("customer"), time_column.alias(_TIME)]
    if event is not None:
        columns.append(F.col(event).cast("string").alias("event"))
    spec = _d.activity_spec("customer", _TIME, None if event is None else "event",
                            activity_kinds, event_kinds, unit)
    return sdf.select(*columns), spec, key_kind


def _latest_time(prepared: Any, spec: Any) -> int | None:
    """The latest event time (UTC ns): one pass, one number per partition to the driver."""

    def latest(batches: Iterator[pd.DataFrame]) -> Iterator[pd.DataFrame]:
        best = None
        for batch in batches:
            top = _d.latest_time(batch, spec)["latest"].iloc[0]
            if not pd.isna(top):
                best = int(top) if best is None else max(best, int(top))
        yield pd.DataFrame({"latest": pd.array([best], dtype="Int64")})

    with _typed_errors():
        row = prepared.mapInPandas(latest, schema="latest long").agg(
            F.max("latest")).collect()[0][0]
    return None if row is None else int(row)


def _state_partitions(prepared: Any, function: Any, schema: str) -> Any:
    """Keyed states per Spark partition, computed once from all of its Arrow batches."""

    def states(batches: Iterator[pd.DataFrame]) -> Iterator[pd.DataFrame]:
        frames = [batch for batch in batches if len(batch)]
        if frames:
            yield function(frames[0] if len(frames) == 1 else pd.concat(frames,
                                                                        ignore_index=True))

    return prepared.mapInPandas(states, schema=schema)


def _tree_bytes(parts: Any, merge: Any, depth: int) -> bytes | None:
    with _typed_errors():
        try:
            return parts.rdd.map(lambda row: bytes(row[0])).treeReduce(merge, depth=depth)
        except ValueError as error:  # no summary at all (no activity anywhere)
            if "empty" not in str(error).lower():
                raise
            return None


def survival_summary(sdf: Any, customer: str, time: str, *, event: str | None = None,
                     activity_kinds: Sequence[str] | None = None, event_kinds: dict | None = None,
                     churn_after_days: float = 90.0, end: Any = None, unit_days: float = 1.0,
                     customers_split: bool = True, time_unit: str = "ns",
                     buckets: int | None = None, depth: int = 2) -> Any:
    """The merged :class:`cxlens.distributed.SurvivalSummary` of the customers' lifetimes on
    a Spark event table (arguments as in :func:`cxlens.dask.survival_summary`)."""
    prepared, spec, key_kind = _prepare_activity(sdf, customer, time, event, activity_kinds,
                                                 event_kinds, time_unit)
    stop = _d.utc_instant(end)
    filter_end = stop
    if stop is None:
        stop = _latest_time(prepared, spec)
        if stop is None:
            raise InvalidArgument("no events in the table: nothing to summarise")
    key = "long" if key_kind == "integer" else "string"
    states = _state_partitions(
        prepared, lambda frame: _d.lifetime_states(frame, spec, end=filter_end,
                                                   key_kind=key_kind),
        f"customer {key}, first long, last long")
    settings = json.loads(json.dumps({
        "event": spec.event, "activity_kinds": spec.activity_kinds,
        "event_kinds": spec.event_kinds, "churn_after_days": float(churn_after_days),
        "unit_days": float(unit_days), "end": int(stop)}))

    def summarise(frame: pd.DataFrame | None) -> pd.DataFrame:
        states_ = _d.empty_lifetime_states(key_kind) if frame is None else frame
        lifetimes = _d.lifetimes_from_states(states_, stop, churn_after_days=churn_after_days,
                                             unit_days=unit_days)
        return pd.DataFrame({"summary": [_d.survival_summary(lifetimes, settings).to_bytes()]})

    nbuckets = buckets or int(sdf.sparkSession.conf.get("spark.sql.shuffle.partitions"))
    parts = _by_customer(states, nbuckets, customers_split, summarise, "summary binary")
    merged = _tree_bytes(parts, _d.merge_survival_bytes, depth)
    summary = None if merged is None else _d.SurvivalSummary.from_bytes(merged)
    if summary is None or summary.customers == 0:
        raise InvalidArgument("no activity in the table: nothing to summarise")
    return summary


def kaplan_meier(sdf: Any, customer: str, time: str, *, alpha: float = 0.05,
                 **options: Any) -> pd.DataFrame:
    """Kaplan-Meier of customer lifetimes on a Spark event table: the same DataFrame
    :func:`cxlens.survival.kaplan_meier` returns for the single-machine lifetimes."""
    return survival_summary(sdf, customer, time, **options).kaplan_meier(alpha)


def cohort_summary(sdf: Any, customer: str, time: str, *, event: str | None = None,
                   period: str = "month", activity_kinds: Sequence[str] | None = None,
                   event_kinds: dict | None = None, end: Any = None,
                   customers_split: bool = True, time_unit: str = "ns",
                   buckets: int | None = None, depth: int = 2) -> Any:
    """The merged :class:`cxlens.distributed.CohortSummary` (behavioural cohorts) of a Spark
    event table: distinct (customer, period) states, shuffled by customer bucket."""
    prepared, spec, key_kind = _prepare_activity(sdf, customer, time, event, activity_kinds,
                                                 event_kinds, time_unit)
    given = _d.utc_instant(end)
    stop = given
    if stop is None:
        latest = _latest_time(prepared, spec)
        if latest is None:
            raise InvalidArgument("no events in the table: nothing to summarise")
        stop = latest + 1
    key = "long" if key_kind == "integer" else "string"
    states = _state_partitions(
        prepared, lambda frame: _d.activity_period_states(frame, spec, period=period, end=given,
                                                          key_kind=key_kind),
        f"customer {key}, period long")
    settings = json.loads(json.dumps({
        "event": spec.event, "activity_kinds": spec.activity_kinds,
        "event_kinds": spec.event_kinds, "period": period, "end": int(stop)}))

    def summarise(frame: pd.DataFrame | None) -> pd.DataFrame:
        states_ = _d.empty_period_states(key_kind) if frame is None else frame
        return pd.DataFrame({"summary": [_d.cohort_summary(states_, settings).to_bytes()]})

    nbuckets = buckets or int(sdf.sparkSession.conf.get("spark.sql.shuffle.partitions"))
    parts = _by_customer(states, nbuckets, customers_split, summarise, "summary binary")
    merged = _tree_bytes(parts, _d.merge_cohort_bytes, depth)
    if merged is None:
        raise InvalidArgument("no activity in the table: nothing to summarise")
    return _d.CohortSummary.from_bytes(merged)


def cohort_retention(sdf: Any, customer: str, time: str, *, event: str | None = None,
                     definition: str = "behavioural", period: str = "month",
                     activity_kinds: Sequence[str] | None = None, end: Any = None,
                     rates: bool = False, **options: Any) -> pd.DataFrame:
    """The behavioural cohort retention table of a Spark event table: the same DataFrame
    :func:`cxlens.survival.cohort_retention` returns (see :func:`cxlens.dask.cohort_retention`
    for the contractual definition)."""
    if definition not in ("behavioural", "behavioral"):
        raise InvalidArgument("distributed cohort tables support definition='behavioural'")
    return cohort_summary(sdf, customer, time, event=event, period=period,
                          activity_kinds=activity_kinds, end=end, **options).table(rates=rates)


def fit_cox(sdf: Any, duration_col: str, event_col: str | None = None,
            covariates: Sequence[str] | None = None, *, max_rows: int = 20_000_000,
            **options: Any) -> Any:
    """Cox proportional hazards on a Spark DataFrame of per-customer rows: the documented
    exact alternative (see :func:`cxlens.dask.fit_cox`): the rows, a few numbers per customer,
    are collected through Arrow, put in one canonical order and fitted by
    :func:`cxlens.survival.fit_cox`; refused above ``max_rows`` rows."""
    from .survival import fit_cox as _fit_cox

    if not isinstance(sdf, SparkDataFrame):
        raise TypeError("cxlens.spark functions take a pyspark.sql.DataFrame")
    strata = options.get("strata")
    strata = [strata] if isinstance(strata, str) else list(strata or [])
    if covariates is None:
        covariates = [c for c in sdf.columns if c not in {duration_col, event_col, *strata}]
    columns = list(dict.fromkeys(c for c in [duration_col, event_col, *covariates, *strata]
                                 if c is not None))
    for column in columns:
        if column not in sdf.columns:
            raise NotFound(f"no column {column!r} in the data")
    rows = sdf.count()
    if rows > max_rows:
        raise InvalidArgument(f"{rows} rows exceed max_rows={max_rows} for the collected Cox "
                              "fit; sample customers or raise max_rows")
    sdf.sparkSession.conf.set("spark.sql.execution.arrow.pyspark.enabled", "true")
    frame = _d.canonical_rows(sdf.select(*columns).toPandas())
    return _fit_cox(frame, duration_col, event_col, covariates=list(covariates), **options)


__all__ += ["cohort_retention", "cohort_summary", "fit_cox", "kaplan_meier",
            "survival_summary"]
