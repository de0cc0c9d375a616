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
