"""Scale-out building blocks shared by :mod:`cxlens.dask` and :mod:`cxlens.spark`.

Every analysis runs as **summarise -> merge -> finish** (docs/ARCHITECTURE.md): each partition
of events becomes a small summary, summaries merge in a tree (associative and commutative, so
any grouping of partitions gives the same result), and the merged summary is finished into the
same objects the single-machine API returns (fitted models, DataFrames). The engines schedule;
the functions here compute, on plain pandas frames, so they run unchanged in a Dask task or in
a Spark Python worker.

Customers split across partitions
---------------------------------
Data lakes partition events by date, so one customer's purchases sit in several partitions. A
per-customer quantity (the RFM row: first and last purchase period, number of purchase periods)
cannot be computed inside one partition. Each partition therefore emits **keyed per-customer
states** (:func:`customer_states`: one row per customer, a few numbers), and the states of one
customer are merged exactly by :func:`merge_customer_states`. Bringing one customer's states
together is a **shuffle by customer**, done with the engine's own operation
(``DataFrame.shuffle(on=...)`` in Dask, ``groupBy(...).applyInPandas`` in Spark). It moves one
small row per customer and partition instead of the events.

When is the shuffle needed? Whenever a customer's events may sit in more than one partition
(``customers_split=True``, the default). Data partitioned (or bucketed) by customer can skip it
(``customers_split=False``): each partition is then summarised directly.

The compact state (``granularity="customer"``) counts distinct purchase periods exactly when
each customer's partitions cover disjoint stretches of time, sharing at most a boundary period:
the case of date-partitioned data. If a customer's periods interleave across partitions (data
partitioned at random), :func:`merge_customer_states` refuses with
:class:`cxlens.InvalidArgument` rather than guess; use ``granularity="period"`` there (one state
per customer and purchase period, always exact, larger).

Times
-----
Times are normalised per partition to UTC nanoseconds (:func:`utc_ns`): time-zone-aware columns
are converted, naive ones are taken as UTC (the :class:`cxlens.EventLog` convention), ISO 8601
text may carry any offset. Partitions written in different time zones therefore agree. Purchase
periods (``freq``) are UTC calendar periods.
"""

from __future__ import annotations

import json
import struct
from dataclasses import dataclass, field
from typing import Any, Callable, Iterable, Mapping, Sequence

import numpy as np
import pandas as pd

from . import _core
from ._core import ColumnTypeError, InvalidArgument, NotFound
from .retention import BgBb, BgNbd, GammaGamma, MbgNbd, ParetoNbd, RfmHistogram, SpendHistogram

__all__ = [
    "RetentionSummary",
    "STATE_COLUMNS",
    "TransactionSpec",
    "customer_states",
    "merge_customer_states",
    "rfm_from_states",
    "retention_summary",
    "score_frame",
    "tree_merge",
    "utc_ns",
]

_TIME_SCALE = {"s": 1_000_000_000, "ms": 1_000_000, "us": 1_000, "ns": 1}
# Fixed-length periods: ordinal = floor(ns / length) equals pandas' Period ordinal.
_FIXED_PERIOD_NS = {"D": 86_400 * 10**9, "h": 3_600 * 10**9, "H": 3_600 * 10**9,
                    "min": 60 * 10**9, "T": 60 * 10**9, "s": 10**9, "S": 10**9}
_MODELS = {"bg_nbd": BgNbd, "mbg_nbd": MbgNbd, "pareto_nbd": ParetoNbd}

#: Columns of a keyed per-customer state frame: customer key, first and last purchase period
#: (period ordinals), number of distinct purchase periods, value in the first and last period,
#: and total value.
STATE_COLUMNS = ("customer", "first", "last", "periods", "first_value", "last_value", "value")


# ---- inputs ----------------------------------------------------------------------------------

@dataclass(frozen=True)
class TransactionSpec:
    """Which columns hold a transaction log, and how to read them.

    ``customer`` and ``time`` are required; ``value`` (revenue per transaction) is needed for
    the Gamma-Gamma spend model. When ``event`` and ``purchase_events`` are given, only rows
    whose event is in ``purchase_events`` are transactions (an event table with every kind of
    interaction can be passed as it is). ``time_unit`` is the unit of integer times.
    """

    customer: str
    time: str
    value: str | None = None
    event: str | None = None
    purchase_events: tuple[str, ...] | None = None
    time_unit: str = "ns"

    def columns(self) -> list[str]:
        """The input columns this spec reads."""
        return [c for c in (self.customer, self.time, self.value, self.event) if c is not None]

    def key_kind(self, dtype: Any) -> str:
        """'integer' or 'text' for a customer column dtype (what every partition must share)."""
        return _key_kind(dtype, self.customer)


def _key_kind(dtype: Any, name: str) -> str:
    if pd.api.types.is_bool_dtype(dtype):
        raise ColumnTypeError(f"customer column {name!r} holds booleans, not keys")
    if pd.api.types.is_integer_dtype(dtype):
        return "integer"
    if pd.api.types.is_float_dtype(dtype):
        return "integer"  # integral floats (integers with missing values); checked per row
    return "text"


def utc_ns(column: pd.Series, name: str = "time", time_unit: str = "ns") -> np.ndarray:
    """Times as int64 nanoseconds since the epoch, UTC.

    Time-zone-aware datetimes are converted to UTC, naive datetimes are taken as UTC, integers
    and floats are epoch times in ``time_unit``, text is ISO 8601 with any offset. A missing or
    unparseable time raises :class:`cxlens.InvalidArgument` naming the column (never a value).
    """
    if time_unit not in _TIME_SCALE:
        raise InvalidArgument("time_unit must be 's', 'ms', 'us' or 'ns'")
    dtype = column.dtype
    if isinstance(dtype, pd.DatetimeTZDtype):
        column = column.dt.tz_convert("UTC").dt.tz_localize(None)
        dtype = column.dtype
    if pd.api.types.is_datetime64_dtype(dtype):
        if column.isna().any():
            raise InvalidArgument(f"time column {name!r} has missing times")
        return np.ascontiguousarray(column.to_numpy(dtype="datetime64[ns]").view(np.int64))
    if pd.api.types.is_bool_dtype(dtype) or pd.api.types.is_timedelta64_dtype(dtype):
        raise ColumnTypeError(f"time column {name!r} must hold datetimes, epoch numbers or text")
    if pd.api.types.is_integer_dtype(dtype):
        return column.to_numpy(dtype=np.int64) * _TIME_SCALE[time_unit]
    if pd.api.types.is_float_dtype(dtype):
        raw = column.to_numpy(dtype=np.float64, na_value=np.nan)
        if not np.isfinite(raw).all():
            raise InvalidArgument(f"time column {name!r} has missing or non-finite times")
        return np.round(raw * _TIME_SCALE[time_unit]).astype(np.int64)
    parsed = pd.to_datetime(column.astype("string"), utc=True, errors="coerce", format="ISO8601")
    if parsed.isna().any():
        raise InvalidArgument(f"time column {name!r} has missing or unparseable times")
    return parsed.dt.tz_localize(None).to_numpy(dtype="datetime64[ns]").view(np.int64).copy()


def period_ordinals(ns: np.ndarray, freq: str) -> np.ndarray:
    """Ordinal of the UTC ``freq`` period holding each time (pandas' ``Period.ordinal``)."""
    length = _FIXED_PERIOD_NS.get(freq)
    if length is not None:
        return np.floor_divide(ns, length)
    try:
        periods = pd.DatetimeIndex(ns.view("datetime64[ns]")).to_period(freq)
    except (ValueError, TypeError) as error:
        raise InvalidArgument(f"unsupported period frequency {freq!r}") from error
    return np.asarray(periods.asi8, dtype=np.int64)


def _customer_keys(column: pd.Series, name: str, expected_kind: str | None,
                   partition: Any) -> pd.Series:
    where = "" if partition is None else f" in partition {partition}"
    kind = _key_kind(column.dtype, name)
    if expected_kind is not None and kind != expected_kind:
        raise ColumnTypeError(
            f"customer column {name!r}{where} holds {kind} keys, but other partitions hold "
            f"{expected_kind} keys: partitions must share one schema")
    if column.isna().any():
        raise InvalidArgument(f"customer column {name!r}{where} has missing keys")
    if kind == "integer":
        values = column.to_numpy()
        if values.dtype.kind == "f" and not np.all(np.mod(values, 1) == 0):
            raise ColumnTypeError(f"customer column {name!r}{where} holds fractional numbers")
        return pd.Series(values.astype(np.int64), index=column.index, name="customer")
    return column.astype(str).rename("customer")


def _select(frame: pd.DataFrame, spec: TransactionSpec, partition: Any) -> pd.DataFrame:
    if not isinstance(frame, pd.DataFrame):
        raise TypeError("a partition must be a pandas DataFrame")
    where = "" if partition is None else f" of partition {partition}"
    for column in spec.columns():
        if column not in frame.columns:
            raise NotFound(f"column {column!r} is not in the columns{where}: partitions must "
                           "share one schema")
    if spec.value is not None and not pd.api.types.is_numeric_dtype(frame[spec.value].dtype):
        raise ColumnTypeError(f"value column {spec.value!r}{where} must hold numbers "
                              "(partitions must share one schema)")
    if spec.event is not None and spec.purchase_events is not None:
        frame = frame.loc[frame[spec.event].astype(str).isin(list(spec.purchase_events))]
    return frame


# ---- keyed per-customer states ---------------------------------------------------------------

def empty_states(key_kind: str = "integer") -> pd.DataFrame:
    """A state frame with no rows (the schema every partition's states share)."""
    customer = (pd.Series([], dtype=np.int64) if key_kind == "integer"
                else pd.Series([], dtype=str))
    return pd.DataFrame({"customer": customer,
                         "first": pd.Series([], dtype=np.int64),
                         "last": pd.Series([], dtype=np.int64),
                         "periods": pd.Series([], dtype=np.int64),
                         "first_value": pd.Series([], dtype=np.float64),
                         "last_value": pd.Series([], dtype=np.float64),
                         "value": pd.Series([], dtype=np.float64)})


def customer_states(frame: pd.DataFrame, spec: TransactionSpec, *, freq: str = "D",
                    observation_period_end: int | None = None, granularity: str = "customer",
                    key_kind: str | None = None, partition: Any = None) -> pd.DataFrame:
    """Keyed per-customer purchase states of one partition (see :data:`STATE_COLUMNS`).

    Purchases are grouped into UTC ``freq`` periods (their values summed), as lifetimes'
    ``summary_data_from_transaction_data`` does; periods after ``observation_period_end`` (a
    period ordinal) are dropped. ``granularity="customer"`` gives one row per customer,
    ``"period"`` one row per customer and purchase period. ``key_kind`` ('integer' or 'text')
    is the customer key type every partition must have; a partition that differs, lacks a
    column or has a non-numeric value column raises a typed error naming the partition.
    An empty partition gives an empty frame.
    """
    if granularity not in ("customer", "period"):
        raise InvalidArgument("granularity must be 'customer' or 'period'")
    frame = _select(frame, spec, partition)
    keys = _customer_keys(frame[spec.customer], spec.customer, key_kind, partition)
    kind = key_kind or _key_kind(frame[spec.customer].dtype, spec.customer)
    if len(frame) == 0:
        return empty_states(kind)
    period = period_ordinals(utc_ns(frame[spec.time], spec.time, spec.time_unit), freq)
    value = (frame[spec.value].to_numpy(dtype=np.float64, na_value=np.nan)
             if spec.value is not None else np.zeros(len(frame)))
    if not np.isfinite(value).all():
        raise InvalidArgument(f"value column {spec.value!r} has missing or non-finite values"
                              + ("" if partition is None else f" in partition {partition}"))
    rows = pd.DataFrame({"customer": keys.to_numpy(), "period": period, "value": value})
    if observation_period_end is not None:
        rows = rows.loc[rows["period"] <= observation_period_end]
    per_period = (rows.groupby(["customer", "period"], sort=True)["value"].sum()
                  .reset_index())
    if granularity == "period":
        p = per_period["period"].to_numpy()
        v = per_period["value"].to_numpy()
        out = pd.DataFrame({"customer": per_period["customer"], "first": p, "last": p,
                            "periods": np.ones(len(p), dtype=np.int64), "first_value": v,
                            "last_value": v, "value": v})
    else:
        by = per_period.groupby("customer", sort=True)
        out = pd.DataFrame({
            "first": by["period"].first(),
            "last": by["period"].last(),
            "periods": by.size().astype(np.int64),
            "first_value": by["value"].first(),
            "last_value": by["value"].last(),
            "value": by["value"].sum(),
        }).reset_index()
    return _canonical_states(out, kind)


def _canonical_states(states: pd.DataFrame, kind: str) -> pd.DataFrame:
    customer = (states["customer"].astype(np.int64) if kind == "integer"
                else states["customer"].astype(str))
    return pd.DataFrame({"customer": customer.to_numpy(),
                         "first": states["first"].to_numpy(dtype=np.int64),
                         "last": states["last"].to_numpy(dtype=np.int64),
                         "periods": states["periods"].to_numpy(dtype=np.int64),
                         "first_value": states["first_value"].to_numpy(dtype=np.float64),
                         "last_value": states["last_value"].to_numpy(dtype=np.float64),
                         "value": states["value"].to_numpy(dtype=np.float64)})


def merge_customer_states(states: pd.DataFrame | Sequence[pd.DataFrame]) -> pd.DataFrame:
    """Merges keyed states exactly, in any order and grouping.

    A state row is one stretch of a customer's purchase periods: first and last period, the
    number of distinct periods in it, the value in its first and last period, and its total.
    A customer's rows are ordered by (first, last); a row that starts exactly where the
    stretches before it end shares that period and is joined to them (the period counted once,
    its values added); a row that starts after it stays a separate stretch (its periods simply
    add); a row that starts before it interleaves, which compact states cannot merge exactly,
    and raises :class:`cxlens.InvalidArgument` (use ``granularity="period"``). The result is
    the same set of stretches whatever the order or grouping of the inputs (counts exactly,
    values up to floating-point rounding); :func:`rfm_from_states` reads a customer's
    stretches as one RFM row.
    """
    if not isinstance(states, pd.DataFrame):
        listed = list(states)
        parts = [s for s in listed if len(s)]
        if not parts:
            return (listed[0] if listed else empty_states()).iloc[:0].reset_index(drop=True)
        states = pd.concat(parts, ignore_index=True)
    if len(states) == 0:
        return states.reset_index(drop=True)
    missing = [c for c in STATE_COLUMNS if c not in states.columns]
    if missing:
        raise InvalidArgument(f"customer states lack columns {missing}")
    s = states.sort_values(["customer", "first", "last"], kind="stable").reset_index(drop=True)
    customer = s["customer"].to_numpy()
    first = s["first"].to_numpy(dtype=np.int64)
    last = s["last"].to_numpy(dtype=np.int64)
    new_customer = np.ones(len(s), dtype=bool)
    new_customer[1:] = customer[1:] != customer[:-1]
    # Latest period of the customer's rows before each row.
    by_customer = np.cumsum(new_customer) - 1
    running = pd.Series(last).groupby(by_customer).cummax().to_numpy()
    previous = np.empty(len(s), dtype=np.int64)
    previous[1:] = running[:-1]
    previous[new_customer] = np.iinfo(np.int64).min
    interleaved = first < previous
    if interleaved.any():
        count = int(pd.Series(interleaved).groupby(by_customer).any().sum())
        raise InvalidArgument(
            f"the purchase periods of {count} customer(s) interleave across partitions, so "
            "compact states cannot count their distinct periods exactly: summarise with "
            "granularity='period' (or partition the data by date or by customer)")
    shared = first == previous
    stretch = np.cumsum(~shared) - 1  # rows joined into one stretch share an id
    g = pd.Series(stretch)
    stretch_first = g.map(pd.Series(first).groupby(stretch).min()).to_numpy()
    stretch_last = g.map(pd.Series(last).groupby(stretch).max()).to_numpy()
    frame = pd.DataFrame({
        "stretch": stretch,
        "periods": s["periods"].to_numpy(dtype=np.int64) - shared.astype(np.int64),
        "first_value": np.where(first == stretch_first, s["first_value"].to_numpy(), 0.0),
        "last_value": np.where(last == stretch_last, s["last_value"].to_numpy(), 0.0),
        "value": s["value"].to_numpy(dtype=np.float64)})
    sums = frame.groupby("stretch", sort=True).sum()
    heads = np.flatnonzero(~shared)
    return pd.DataFrame({
        "customer": customer[heads],
        "first": first[heads],
        "last": pd.Series(last).groupby(stretch).max().to_numpy(),
        "periods": sums["periods"].to_numpy(dtype=np.int64),
        "first_value": sums["first_value"].to_numpy(),
        "last_value": sums["last_value"].to_numpy(),
        "value": sums["value"].to_numpy(),
    })


def per_customer(states: pd.DataFrame) -> pd.DataFrame:
    """One row per customer from merged states (its stretches joined: first of the first,
    last of the last, periods and values added), sorted by customer."""
    if len(states) == 0 or not states["customer"].duplicated().any():
        return states.sort_values("customer", kind="stable").reset_index(drop=True)
    s = states.sort_values(["customer", "first"], kind="stable")
    by = s.groupby("customer", sort=True)
    return pd.DataFrame({
        "first": by["first"].first(), "last": by["last"].max(),
        "periods": by["periods"].sum(), "first_value": by["first_value"].first(),
        "last_value": by["last_value"].last(), "value": by["value"].sum(),
    }).reset_index()


def rfm_from_states(states: pd.DataFrame, observation_period_end: int, *,
                    freq_multiplier: float = 1, monetary: bool = False) -> pd.DataFrame:
    """Per-customer frequency, recency, T (and monetary_value) from merged states (see
    :func:`merge_customer_states`; a customer's stretches are joined first), with the
    definitions of lifetimes' ``summary_data_from_transaction_data`` (time in periods of
    ``freq`` divided by ``freq_multiplier``). Indexed by customer, sorted."""
    if (states["first"] > observation_period_end).any():
        raise InvalidArgument("customer states start after the observation period end")
    ordered = per_customer(states)
    frequency = (ordered["periods"].to_numpy() - 1).astype(np.float64)
    out = pd.DataFrame({
        "frequency": frequency,
        "recency": (ordered["last"].to_numpy() - ordered["first"].to_numpy()).astype(np.float64)
        / freq_multiplier,
        "T": (observation_period_end - ordered["first"].to_numpy()).astype(np.float64)
        / freq_multiplier,
    }, index=pd.Index(ordered["customer"].to_numpy(), name="customer"))
    if monetary:
        repeat = ordered["value"].to_numpy() - ordered["first_value"].to_numpy()
        with np.errstate(invalid="ignore", divide="ignore"):
            mean = np.where(frequency > 0, repeat / np.maximum(frequency, 1), 0.0)
        out["monetary_value"] = mean
    return out


# ---- the retention summary -------------------------------------------------------------------

_RETENTION_KIND = "distributed.retention"
_RETENTION_VERSION = 1


@dataclass
class RetentionSummary:
    """The mergeable summary behind the buy-till-you-die models of a partitioned table.

    ``rfm`` is the compressed (x, t_x, T) histogram, ``spend`` the repeat buyers' (x, mean
    spend) histogram (None when no value column was used), ``settings`` what they were built
    with (period ``freq``, ``freq_multiplier``, the observation end as a period ordinal).
    Summaries merge only with summaries built with the same settings; bytes of another kind
    or version are refused with :class:`cxlens.InvalidArgument`. Pickles and
    :meth:`to_bytes` (Arrow-friendly: store it in a binary column) round-trip.
    """

    rfm: RfmHistogram
    spend: SpendHistogram | None
    settings: dict[str, Any] = field(default_factory=dict)

    @property
    def customers(self) -> int:
        """Number of customers summarised."""
        return self.rfm.input_rows

    def merge(self, other: "RetentionSummary") -> "RetentionSummary":
        """Adds another summary (same settings required); returns self."""
        if not isinstance(other, RetentionSummary):
            raise InvalidArgument(f"a RetentionSummary cannot merge with a "
                                  f"{type(other).__name__}")
        if other.settings != self.settings:
            differ = sorted(k for k in set(self.settings) | set(other.settings)
                            if self.settings.get(k) != other.settings.get(k))
            raise InvalidArgument(f"retention summaries built with different settings "
                                  f"({', '.join(differ)}) cannot be merged")
        if (self.spend is None) != (other.spend is None):
            raise InvalidArgument("a retention summary with spend cannot merge with one "
                                  "without spend (build both with the value column)")
        self.rfm.merge(other.rfm)
        if self.spend is not None and other.spend is not None:
            self.spend.merge(other.spend)
        return self

    def to_bytes(self) -> bytes:
        """Versioned bytes (kind ``distributed.retention``): the settings as JSON, then the
        native histograms' own versioned bytes."""
        settings = json.dumps(self.settings, sort_keys=True).encode()
        rfm = self.rfm.to_bytes()
        spend = b"" if self.spend is None else self.spend.to_bytes()
        payload = b"".join([struct.pack("<Q", len(settings)), settings,
                            struct.pack("<Q", len(rfm)), rfm,
                            struct.pack("<?Q", self.spend is not None, len(spend)), spend])
        return _core.wrap_summary(_RETENTION_KIND, _RETENTION_VERSION, payload)

    @classmethod
    def from_bytes(cls, data: bytes) -> "RetentionSummary":
        """The summary :meth:`to_bytes` wrote."""
        payload = _core.unwrap_summary(bytes(data), _RETENTION_KIND, _RETENTION_VERSION)
        try:
            at = 0
            (n,) = struct.unpack_from("<Q", payload, at)
            at += 8
            settings = json.loads(payload[at:at + n])
            at += n
            (n,) = struct.unpack_from("<Q", payload, at)
            at += 8
            rfm = RfmHistogram.from_bytes(payload[at:at + n])
            at += n
            has_spend, n = struct.unpack_from("<?Q", payload, at)
            at += 9
            spend = SpendHistogram.from_bytes(payload[at:at + n]) if has_spend else None
            at += n
        except (struct.error, ValueError) as error:
            if isinstance(error, InvalidArgument):
                raise
            raise InvalidArgument("retention summary bytes are damaged") from error
        if at != len(payload):
            raise InvalidArgument("retention summary bytes have trailing data")
        return cls(rfm, spend, settings)

    def __reduce__(self):
        return (RetentionSummary.from_bytes, (self.to_bytes(),))

    def fit(self, model: str = "bg_nbd", **options: Any):
        """Fits a transaction model ('bg_nbd', 'mbg_nbd', 'pareto_nbd') on the merged histogram;
        the same object :meth:`cxlens.retention.BgNbd.fit` returns."""
        if model not in _MODELS:
            raise InvalidArgument(f"model must be one of {sorted(_MODELS)}")
        return _MODELS[model].fit(self.rfm, **options)

    def fit_spend(self, **options: Any) -> GammaGamma:
        """Fits the Gamma-Gamma spend model on the repeat buyers."""
        if self.spend is None:
            raise InvalidArgument("this summary has no spend: summarise with a value column")
        return GammaGamma.fit(self.spend, **options)


def retention_summary(rfm: pd.DataFrame, settings: Mapping[str, Any],
                      monetary: bool) -> RetentionSummary:
    """The :class:`RetentionSummary` of per-customer RFM rows (one slice of customers)."""
    histogram = RfmHistogram()
    if len(rfm):
        histogram.add(rfm["frequency"], rfm["recency"], rfm["T"])
    spend = None
    if monetary:
        spend = SpendHistogram()
        repeat = rfm.loc[rfm["frequency"] > 0]
        if len(repeat):
            spend.add(repeat["frequency"], repeat["monetary_value"])
    return RetentionSummary(histogram, spend, dict(settings))


def settings_of(freq: str, freq_multiplier: float, end_period: int) -> dict[str, Any]:
    """The settings a retention summary records (compared on merge)."""
    return {"freq": str(freq), "freq_multiplier": float(freq_multiplier),
            "observation_period_end": int(end_period)}


def end_period(observation_period_end: Any, freq: str) -> int | None:
    """A user's observation end (anything ``pd.Timestamp`` takes; naive = UTC) as a period
    ordinal, or None."""
    if observation_period_end is None:
        return None
    stamp = pd.Timestamp(observation_period_end)
    stamp = stamp.tz_localize("UTC") if stamp.tzinfo is None else stamp.tz_convert("UTC")
    return int(period_ordinals(np.array([stamp.value], dtype=np.int64), freq)[0])


# ---- tree merge ------------------------------------------------------------------------------

def merge_all(summaries: Iterable[Any]) -> Any:
    """Merges summaries left to right (each needs a ``merge`` method); None when empty."""
    result = None
    for summary in summaries:
        if summary is None:
            continue
        result = summary if result is None else result.merge(summary)
    return result


def tree_merge(items: Sequence[Any], merge: Callable[..., Any], fan_in: int = 8) -> Any:
    """Reduces ``items`` by calling ``merge(*group)`` on groups of up to ``fan_in`` until one
    is left. With ``merge`` a ``dask.delayed`` function this builds a merge tree of depth
    log_fan_in(n) that runs on the cluster; the result is the same for any grouping because
    merging is associative and commutative."""
    if fan_in < 2:
        raise InvalidArgument("fan_in must be at least 2")
    level = list(items)
    if not level:
        raise InvalidArgument("nothing to merge")
    while len(level) > 1:
        level = [merge(*level[i:i + fan_in]) for i in range(0, len(level), fan_in)]
    return level[0]


def merge_retention_bytes(*parts: bytes) -> bytes:
    """Merges serialized retention summaries into serialized bytes (for engines that move
    bytes, such as Spark's ``treeReduce``)."""
    return merge_all(RetentionSummary.from_bytes(p) for p in parts).to_bytes()


# ---- scoring ---------------------------------------------------------------------------------

def score_frame(rfm: pd.DataFrame, model: Any, *, spend: GammaGamma | None = None,
                t: float = 1.0, months: int = 12, discount_rate: float = 0.01,
                freq: str = "D", threads: int = 1) -> pd.DataFrame:
    """Scores one partition of per-customer RFM rows: ``p_alive`` and ``predicted_purchases``
    (in the next ``t`` periods); with a spend model also ``expected_spend`` and ``clv`` (over
    ``months``, lifetimes' convention). Returns the input columns plus the scores."""
    out = rfm.copy()
    if len(rfm) == 0:
        for name in ("p_alive", "predicted_purchases") + (
                ("expected_spend", "clv") if spend is not None else ()):
            out[name] = pd.Series([], dtype=np.float64)
        return out
    f, r, T = rfm["frequency"], rfm["recency"], rfm["T"]
    out["p_alive"] = model.probability_alive(f, r, T, threads=threads)
    out["predicted_purchases"] = model.conditional_expected_purchases(t, f, r, T,
                                                                      threads=threads)
    if spend is not None:
        m = rfm["monetary_value"]
        out["expected_spend"] = spend.conditional_expected_average_spend(f, m, threads=threads)
        out["clv"] = spend.customer_lifetime_value(model, f, r, T, m, months=months,
                                                   discount_rate=discount_rate, freq=freq,
                                                   threads=threads)
    return out


# ---- data-lake layout helper -----------------------------------------------------------------

def write_event_partitions(frame: pd.DataFrame, folder: Any, *, time: str = "time",
                           freq: str = "W", rows_per_file: int | None = None) -> list[str]:
    """Writes events as a folder of Parquet files, one per UTC ``freq`` period in time order
    (``events-00000.parquet`` ...), the layout of a date-partitioned data lake, so a
    customer's events sit in many files; times are stored in microseconds (what Spark reads).
    Needs pyarrow. Returns the file paths written.
    ``rows_per_file`` further cuts a period's rows into several files."""
    from pathlib import Path

    import pyarrow as pa
    import pyarrow.parquet as pq

    out = Path(folder)
    out.mkdir(parents=True, exist_ok=True)
    ns = utc_ns(frame[time], time)
    period = period_ordinals(ns, freq)
    order = np.argsort(ns, kind="stable")
    frame = frame.iloc[order]
    period = period[order]
    cuts = np.flatnonzero(np.diff(period)) + 1
    starts = np.concatenate([[0], cuts]) if len(frame) else np.array([], dtype=np.int64)
    ends = np.concatenate([cuts, [len(frame)]]) if len(frame) else np.array([], dtype=np.int64)
    paths: list[str] = []
    for begin, end in zip(starts, ends):
        step = rows_per_file or (end - begin)
        for first in range(begin, end, max(step, 1)):
            chunk = frame.iloc[first:min(end, first + step)]
            path = out / f"events-{len(paths):05d}.parquet"
            # Microsecond timestamps: Spark cannot read Parquet NANOS timestamps (raises if
            # a time would lose precision).
            pq.write_table(pa.Table.from_pandas(chunk, preserve_index=False), path,
                           coerce_timestamps="us")
            paths.append(str(path))
    return paths


# --- journeys and attribution -----------------------------------------------------------------
#
# A journey is cut from one customer's events in time order (inactivity gaps, goal events,
# cases), so unlike the RFM state a journey cannot be summarised from a slice of a customer's
# events without carrying every open journey's tail, its durations and costs across the cut.
# The exact and simple way is a **shuffle of the events by customer** (Dask
# ``shuffle(on="customer")``, Spark ``groupBy(hash bucket).applyInPandas``): each bucket then
# holds whole customers, is read into an :class:`cxlens.EventLog` and summarised with the
# single-machine code; bucket summaries (directly-follows counts, variant counts, path tables)
# are of disjoint customers and merge exactly. Only the columns the analysis reads travel, with
# times already normalised to UTC nanoseconds and a global row order that keeps the
# single-machine tie rule (events at equal times keep their input order).

__all__ += ["EVENT_COLUMNS", "EventSpec", "JourneySummary", "bucket_log", "event_spec",
            "journey_settings", "merge_journey_bytes", "prepare_events",
            "summarise_journey_bucket"]

#: Canonical columns of prepared events (before the shuffle): customer, time (UTC ns), global
#: row order (seq), channel and event names; optional columns follow when the spec names them.
EVENT_COLUMNS = ("customer", "time", "seq", "channel", "event")
_OPTIONAL_EVENT_FIELDS = ("value", "cost", "direction", "offering", "case_id", "score")
_ORDER_BITS = 40  # seq = partition << 40 | row within the partition


@dataclass(frozen=True)
class EventSpec:
    """Which columns of a partitioned event table hold the :class:`cxlens.EventLog` fields
    (as :meth:`cxlens.EventLog.from_pandas` names them). ``customer``, ``time``, ``channel``
    and ``event`` are required; the others are optional. ``event_kinds`` maps the data's event
    names to standard kinds; ``time_unit`` is the unit of integer times."""

    customer: str = "customer"
    time: str = "time"
    channel: str = "channel"
    event: str = "event"
    value: str | None = None
    cost: str | None = None
    direction: str | None = None
    offering: str | None = None
    case_id: str | None = None
    score: str | None = None
    event_kinds: tuple[tuple[str, str], ...] = ()
    time_unit: str = "ns"

    def fields(self) -> dict[str, str]:
        """Canonical field -> input column, for the fields this spec reads."""
        out = {"customer": self.customer, "time": self.time, "channel": self.channel,
               "event": self.event}
        for name in _OPTIONAL_EVENT_FIELDS:
            column = getattr(self, name)
            if column is not None:
                out[name] = column
        return out

    def columns(self) -> list[str]:
        """The input columns this spec reads."""
        return list(dict.fromkeys(self.fields().values()))

    def key_kind(self, dtype: Any) -> str:
        """'integer' or 'text' for a customer column dtype (what every partition must share)."""
        return _key_kind(dtype, self.customer)


def event_spec(spec: EventSpec | Mapping[str, Any] | None = None, **fields: Any) -> EventSpec:
    """An :class:`EventSpec` from a spec, a mapping or keyword fields (``event_kinds`` may be a
    mapping)."""
    if isinstance(spec, EventSpec):
        return spec if not fields else EventSpec(**{**spec.__dict__, **fields})
    merged = dict(spec or {}, **fields)
    kinds = merged.get("event_kinds") or ()
    if isinstance(kinds, Mapping):
        kinds = tuple(sorted((str(k), str(v)) for k, v in kinds.items()))
    merged["event_kinds"] = tuple(kinds)
    return EventSpec(**merged)


def empty_events(spec: EventSpec, key_kind: str = "integer") -> pd.DataFrame:
    """Prepared events with no rows (the schema every partition's prepared events share)."""
    customer = (pd.Series([], dtype=np.int64) if key_kind == "integer"
                else pd.Series([], dtype=object))
    columns: dict[str, Any] = {"customer": customer, "time": pd.Series([], dtype=np.int64),
                               "seq": pd.Series([], dtype=np.int64),
                               "channel": pd.Series([], dtype=object),
                               "event": pd.Series([], dtype=object)}
    for name in spec.fields():
        if name in _OPTIONAL_EVENT_FIELDS:
            numeric = name in ("value", "cost", "score")
            columns[name] = pd.Series([], dtype=np.float64 if numeric else object)
    return pd.DataFrame(columns)


def prepare_events(frame: pd.DataFrame, spec: EventSpec, *, key_kind: str | None = None,
                   partition: int | None = None, order_base: int | None = None) -> pd.DataFrame:
    """One partition's events in the canonical columns (:data:`EVENT_COLUMNS` plus the
    optional fields of ``spec``): customer keys checked against ``key_kind``, times as UTC
    nanoseconds (time-zone-aware converted, naive taken as UTC, ISO text with any offset), and
    a global row order ``seq`` (``partition << 40`` plus the row's position, or ``order_base`` plus it)
    so ties keep the input order after a shuffle. A partition lacking a column or holding
    another key type raises a typed error naming the partition; an empty partition gives an
    empty frame."""
    if not isinstance(frame, pd.DataFrame):
        raise TypeError("a partition must be a pandas DataFrame")
    where = "" if partition is None else f" of partition {partition}"
    for column in spec.columns():
        if column not in frame.columns:
            raise NotFound(f"column {column!r} is not in the columns{where}: partitions must "
                           "share one schema")
    keys = _customer_keys(frame[spec.customer], spec.customer, key_kind, partition)
    kind = key_kind or _key_kind(frame[spec.customer].dtype, spec.customer)
    if len(frame) == 0:
        return empty_events(spec, kind)
    if order_base is None:
        order_base = 0 if partition is None else int(partition) << _ORDER_BITS
    if len(frame) >= 1 << _ORDER_BITS:
        raise InvalidArgument(f"partition{where} has too many rows (at most 2**40)")
    try:
        ns = utc_ns(frame[spec.time], spec.time, spec.time_unit)
    except InvalidArgument as error:
        raise InvalidArgument(f"{error}{where}") from None
    out: dict[str, Any] = {
        "customer": keys.to_numpy() if kind == "integer" else keys.to_numpy(dtype=object),
        "time": ns,
        "seq": order_base + np.arange(len(frame), dtype=np.int64),
        "channel": frame[spec.channel].astype(str).to_numpy(dtype=object),
        "event": frame[spec.event].astype(str).to_numpy(dtype=object),
    }
    for name, column in spec.fields().items():
        if name not in _OPTIONAL_EVENT_FIELDS:
            continue
        series = frame[column]
        if name in ("value", "cost", "score"):
            if not pd.api.types.is_numeric_dtype(series.dtype) or pd.api.types.is_bool_dtype(
                    series.dtype):
                raise ColumnTypeError(f"{name} column {column!r}{where} must hold numbers "
                                      "(partitions must share one schema)")
            out[name] = series.to_numpy(dtype=np.float64, na_value=np.nan)
        else:  # labels (direction, offering, case): text, missing kept missing
            text = series.astype(object).to_numpy(dtype=object)
            missing = series.isna().to_numpy()
            out[name] = np.array([None if m else str(v) for v, m in zip(text, missing)],
                                 dtype=object)
    return pd.DataFrame(out)


def bucket_log(frame: pd.DataFrame, spec: EventSpec,
               channels: Sequence[str] | None = None) -> Any:
    """A :class:`cxlens.EventLog` of one bucket of prepared events (whole customers), rows in
    the global input order so equal times keep the single-machine tie rule. ``channels``
    declares the channel catalog (every bucket then knows every channel; kinds are the
    standard kinds of the names)."""
    from .store import EventLog

    frame = frame.sort_values("seq", kind="stable")
    fields = {name: name for name in spec.fields() if name in _OPTIONAL_EVENT_FIELDS}
    data = frame.drop(columns="seq")
    return EventLog.from_pandas(
        data, customer="customer", time="time", channel="channel", event="event",
        value=fields.get("value"), cost=fields.get("cost"), direction=fields.get("direction"),
        offering=fields.get("offering"), case_id=fields.get("case_id"),
        score=fields.get("score"), channels=list(channels) if channels else None,
        fixed_channels=False if channels else None,
        event_kinds=dict(spec.event_kinds) or None, time_unit="ns")


_JOURNEY_KIND = "distributed.journeys"
_JOURNEY_VERSION = 1
_JOURNEY_OPTIONS = ("key", "by", "gap", "goal", "goal_as_step", "keep_durations")


def journey_settings(*, key: str = "channel", by: str = "customer", gap: Any = None,
                     goal: Any = None, goal_as_step: bool = True,
                     keep_durations: bool = True) -> dict[str, Any]:
    """The journey options a :class:`JourneySummary` records (compared on merge): as in
    :func:`cxlens.journey.journeys`, with ``gap`` in ns and ``goal`` a sorted list."""
    from .journey import _kinds, _ns

    return {"key": str(key), "by": str(by), "gap": _ns(gap, "gap"),
            "goal": sorted(_kinds(goal)), "goal_as_step": bool(goal_as_step),
            "keep_durations": bool(keep_durations)}


@dataclass
class JourneySummary:
    """The mergeable summaries of the journeys of a set of customers: directly-follows counts
    (``dfg``), variant counts (``variants``) and attribution paths (``paths``, a native
    ``PathTable``), plus the paths report and the journey ``settings``. Merging adds each part
    (touchpoints matched by name); summaries of disjoint customers merge exactly, in any order
    (the path table is kept in canonical order). Versioned bytes (kind
    ``distributed.journeys``) and pickle round-trip; bytes of another kind or version, and
    summaries built with other settings, are refused with :class:`cxlens.InvalidArgument`."""

    dfg: Any
    variants: Any
    paths: Any
    skipped: int = 0
    lost_conversions: float = 0.0
    settings: dict[str, Any] = field(default_factory=dict)

    @classmethod
    def empty(cls, settings: Mapping[str, Any]) -> "JourneySummary":
        """The summary of no customers (the identity of merge)."""
        keep = bool(settings.get("keep_durations", True))
        return cls(_core.DirectlyFollowsSummary(keep), _core.VariantSummary(keep),
                   _core.PathTable(), 0, 0.0, dict(settings))

    @classmethod
    def of_log(cls, log: Any, settings: Mapping[str, Any]) -> "JourneySummary":
        """Summarises the journeys of every customer of ``log`` (a :class:`cxlens.EventLog`)."""
        from .journey import journeys

        gap = pd.Timedelta(int(settings["gap"]), unit="ns") if settings["gap"] else None
        j = journeys(log, key=settings["key"], by=settings["by"], gap=gap,
                     goal=settings["goal"] or None,
                     goal_as_step=settings["goal_as_step"])
        out = cls.empty(settings)
        out.dfg.add(j._native)
        out.variants.add(j._native)
        # The default of Journeys.paths(): a converted path ends with its conversion's step.
        table, skipped, lost = _core.paths_from_journeys(j._native, include_conversion_step=True)
        table.canonicalize()
        out.paths = table
        out.skipped, out.lost_conversions = int(skipped), float(lost)
        return out

    @property
    def journeys(self) -> int:
        """Journeys summarised."""
        return int(self.variants.journeys)

    def merge(self, other: "JourneySummary") -> "JourneySummary":
        """Adds another summary (same settings required); returns self."""
        if not isinstance(other, JourneySummary):
            raise InvalidArgument(f"a JourneySummary cannot merge with a {type(other).__name__}")
        _same_settings(self.settings, other.settings, "journey")
        self.dfg.merge(other.dfg)
        self.variants.merge(other.variants)
        self.paths.merge(other.paths)
        self.skipped += other.skipped
        self.lost_conversions += other.lost_conversions
        return self

    def to_bytes(self) -> bytes:
        """Versioned bytes: settings (JSON), the three native summaries' own versioned bytes,
        and the paths report."""
        parts = [json.dumps(self.settings, sort_keys=True).encode(), self.dfg.to_bytes(),
                 self.variants.to_bytes(), self.paths.to_bytes()]
        payload = b"".join(struct.pack("<Q", len(p)) + p for p in parts)
        payload += struct.pack("<Qd", self.skipped, self.lost_conversions)
        return _core.wrap_summary(_JOURNEY_KIND, _JOURNEY_VERSION, payload)

    @classmethod
    def from_bytes(cls, data: bytes) -> "JourneySummary":
        """The summary :meth:`to_bytes` wrote."""
        payload = _core.unwrap_summary(bytes(data), _JOURNEY_KIND, _JOURNEY_VERSION)
        parts, at = _read_parts(payload, 4, "journey")
        try:
            skipped, lost = struct.unpack_from("<Qd", payload, at)
        except struct.error as error:
            raise InvalidArgument("journey summary bytes are damaged") from error
        if at + 16 != len(payload):
            raise InvalidArgument("journey summary bytes have trailing data")
        settings = json.loads(parts[0])
        return cls(_core.DirectlyFollowsSummary.from_bytes(parts[1]),
                   _core.VariantSummary.from_bytes(parts[2]),
                   _core.PathTable.from_bytes(parts[3]), int(skipped), float(lost), settings)

    def __reduce__(self):
        return (JourneySummary.from_bytes, (self.to_bytes(),))

    def graph(self) -> Any:
        """The directly-follows :class:`cxlens.journey.JourneyGraph` (as
        :meth:`cxlens.journey.Journeys.graph` returns it)."""
        from .journey import JourneyGraph

        return JourneyGraph(self.dfg.finish())

    def variant_table(self, top: int | None = None) -> pd.DataFrame:
        """The variants table (as :meth:`cxlens.journey.Journeys.variants` returns it)."""
        d = self.variants.table(int(top or 0))
        frame = pd.DataFrame({k: d[k] for k in d if k != "steps"})
        frame.insert(0, "path", [" > ".join(s) for s in d["steps"]])
        frame.insert(1, "steps", [tuple(s) for s in d["steps"]])
        return frame

    def attribution_paths(self) -> Any:
        """The attribution :class:`cxlens.journey.Paths` (as
        :meth:`cxlens.journey.Journeys.paths` returns them, in canonical order)."""
        from .journey import Paths

        return Paths(self.paths, {"journeys_without_steps": self.skipped,
                                  "conversions_without_touchpoints": self.lost_conversions})


def _same_settings(mine: Mapping[str, Any], theirs: Mapping[str, Any], what: str) -> None:
    if dict(mine) != dict(theirs):
        differ = sorted(k for k in set(mine) | set(theirs) if mine.get(k) != theirs.get(k))
        raise InvalidArgument(f"{what} summaries built with different settings "
                              f"({', '.join(differ)}) cannot be merged")


def _read_parts(payload: bytes, count: int, what: str) -> tuple[list[bytes], int]:
    parts, at = [], 0
    try:
        for _ in range(count):
            (n,) = struct.unpack_from("<Q", payload, at)
            at += 8
            if at + n > len(payload):
                raise struct.error("short")
            parts.append(payload[at:at + n])
            at += n
    except struct.error as error:
        raise InvalidArgument(f"{what} summary bytes are damaged") from error
    return parts, at


def summarise_journey_bucket(frame: pd.DataFrame | None, spec: EventSpec,
                             settings: Mapping[str, Any]) -> bytes:
    """The :class:`JourneySummary` bytes of one bucket of prepared events holding whole
    customers (empty: the empty summary)."""
    if frame is None or len(frame) == 0:
        return JourneySummary.empty(settings).to_bytes()
    return JourneySummary.of_log(bucket_log(frame, spec), settings).to_bytes()


def merge_journey_bytes(*parts: bytes) -> bytes:
    """Merges serialized journey summaries into serialized bytes."""
    return merge_all(JourneySummary.from_bytes(p) for p in parts).to_bytes()


# --- insight ----------------------------------------------------------------------------------
#
# Dark matter and engagement judge each customer on their whole history (bought once, ever in
# an assisted channel, latest survey score before the repurchase period), so they run on the
# same buckets of whole customers as journeys (the shuffle of events by customer). Each bucket
# is analysed with the single-machine code under settings fixed for the whole table (the window
# from the global first and last event, the channel catalog, the periods), and reduced to
# additive counts per channel, period and tier. Those counts merge by addition (integers
# exactly; revenue sums up to floating-point rounding) and finish into the tables
# :func:`cxlens.insight.dark_matter` and :func:`cxlens.insight.engagement_tiers` return.

__all__ += ["InsightSummary", "assisted_channels", "channel_preference_settings",
            "dark_matter_settings", "engagement_settings", "merge_insight_bytes",
            "offering_dimensions_settings", "profitability_settings",
            "summarise_channel_preference_bucket",
            "summarise_dark_matter_bucket", "summarise_engagement_bucket",
            "summarise_offering_dimensions_bucket", "summarise_profitability_bucket"]

_INSIGHT_KIND = "distributed.insight"
_INSIGHT_VERSION = 2
_DARK_COUNTS = ("active", "unseen", "invisible", "bought_once", "silent_app_user",
                "digital_only")
_TIER_NAMES = ("consume_only", "occasional_contributor", "heavy_contributor")


@dataclass
class InsightSummary:
    """Mergeable summary of one insight analysis over a set of whole customers.

    ``analysis`` is ``"dark_matter"``, ``"engagement"``, ``"channel_preference"``,
    ``"offering_dimensions"`` or ``"profitability"``; ``settings`` the options and the global
    window it was built with (compared on merge); ``counts`` named float64 arrays that merge by
    addition; ``tables`` row tables: ``customers`` (one row per customer, keyed by
    ``customer``, ordered by ``_seq``, the customer's first global row: the single-machine
    customer order; a customer in both summaries is refused), ``journeys`` (one row per case, added up per case) and
    ``channel_info`` (the same in every summary). Merging is commutative and associative
    (counts up to floating-point rounding of non-integer sums). Versioned bytes (kind
    ``distributed.insight``, version 2) and pickle round-trip; bytes of another kind or
    version, another analysis or other settings are refused with
    :class:`cxlens.InvalidArgument`."""

    analysis: str
    settings: dict[str, Any]
    counts: dict[str, np.ndarray]
    used: list[str] = field(default_factory=list)
    tables: dict[str, pd.DataFrame] = field(default_factory=dict)

    def merge(self, other: "InsightSummary") -> "InsightSummary":
        """Adds another summary of the same analysis and settings; returns self."""
        if not isinstance(other, InsightSummary):
            raise InvalidArgument(f"an InsightSummary cannot merge with a "
                                  f"{type(other).__name__}")
        if other.analysis != self.analysis:
            raise InvalidArgument(f"a {self.analysis} summary cannot merge with a "
                                  f"{other.analysis} summary")
        _same_settings(self.settings, other.settings, self.analysis)
        if set(other.counts) != set(self.counts) or any(
                other.counts[k].shape != v.shape for k, v in self.counts.items()):
            raise InvalidArgument(f"{self.analysis} summaries of different shapes cannot be "
                                  "merged")
        for name, values in other.counts.items():
            self.counts[name] = self.counts[name] + values
        for name, table in other.tables.items():
            mine = self.tables.get(name)
            self.tables[name] = table.copy() if mine is None else _merge_table(
                name, mine, table, self.analysis)
        if not self.used:
            self.used = list(other.used)
        return self

    def to_bytes(self) -> bytes:
        """Versioned bytes: a JSON header (analysis, settings, used, array names and shapes,
        table columns and dtypes), the arrays as little-endian float64, then the table
        columns (numbers in their little-endian dtype, text as lengths and UTF-8)."""
        names = sorted(self.counts)
        tables = sorted(self.tables)
        header = json.dumps({"analysis": self.analysis, "settings": self.settings,
                             "used": self.used,
                             "arrays": [[n, list(self.counts[n].shape)] for n in names],
                             "tables": [[n, _table_columns(self.tables[n])] for n in tables]},
                            sort_keys=True).encode()
        body = b"".join(np.ascontiguousarray(self.counts[n], dtype="<f8").tobytes()
                        for n in names)
        body += b"".join(_table_bytes(self.tables[n]) for n in tables)
        payload = struct.pack("<Q", len(header)) + header + body
        return _core.wrap_summary(_INSIGHT_KIND, _INSIGHT_VERSION, payload)

    @classmethod
    def from_bytes(cls, data: bytes) -> "InsightSummary":
        """The summary :meth:`to_bytes` wrote."""
        payload = _core.unwrap_summary(bytes(data), _INSIGHT_KIND, _INSIGHT_VERSION)
        (header,), at = _read_parts(payload, 1, "insight")
        try:
            meta = json.loads(header)
            counts = {}
            for name, shape in meta["arrays"]:
                size = int(np.prod(shape)) * 8
                if at + size > len(payload):
                    raise ValueError("short")
                counts[name] = np.frombuffer(payload[at:at + size], dtype="<f8").astype(
                    np.float64).reshape(shape)
                at += size
            tables = {}
            for name, columns in meta["tables"]:
                tables[name], at = _read_table(payload, at, columns)
        except (ValueError, KeyError, TypeError, UnicodeDecodeError) as error:
            raise InvalidArgument("insight summary bytes are damaged") from error
        if at != len(payload):
            raise InvalidArgument("insight summary bytes have trailing data")
        return cls(meta["analysis"], meta["settings"], counts, list(meta["used"]), tables)

    def __reduce__(self):
        return (InsightSummary.from_bytes, (self.to_bytes(),))

    # -- finish --
    def finish(self) -> Any:
        """The result object of the single-machine function: a
        :class:`cxlens.insight.DarkMatter`, :class:`cxlens.insight.Engagement`,
        :class:`cxlens.insight.ChannelPreference`, :class:`cxlens.insight.OfferingDimensions`
        or :class:`cxlens.insight.Profitability`
        whose tables equal the single-machine tables (dark matter and engagement:
        ``customers`` is None, per-customer rows stay in the buckets)."""
        finish = {"dark_matter": _finish_dark_matter, "engagement": _finish_engagement,
                  "channel_preference": _finish_channel_preference,
                  "offering_dimensions": _finish_offering_dimensions,
                  "profitability": _finish_profitability}.get(self.analysis)
        if finish is None:
            raise InvalidArgument(f"unknown insight analysis {self.analysis!r}")
        return finish(self)


def _table_columns(frame: pd.DataFrame) -> list[list[Any]]:
    columns = []
    for name in frame.columns:
        values = frame[name]
        kind = "text" if values.dtype == object else np.dtype(values.dtype).newbyteorder(
            "<").str
        columns.append([str(name), kind, int(len(frame))])
    return columns


def _table_bytes(frame: pd.DataFrame) -> bytes:
    out = []
    for name in frame.columns:
        values = frame[name]
        if values.dtype == object:
            encoded = [str(v).encode() for v in values]
            out.append(np.array([len(e) for e in encoded], dtype="<i8").tobytes())
            out.append(b"".join(encoded))
        else:
            dtype = np.dtype(values.dtype).newbyteorder("<")
            out.append(np.ascontiguousarray(values.to_numpy(), dtype=dtype).tobytes())
    return b"".join(out)


def _read_table(payload: bytes, at: int, columns: list[list[Any]]) -> tuple[pd.DataFrame, int]:
    data: dict[str, Any] = {}
    for name, kind, rows in columns:
        if kind == "text":
            size = 8 * rows
            if at + size > len(payload):
                raise ValueError("short")
            lengths = np.frombuffer(payload[at:at + size], dtype="<i8")
            at += size
            texts = []
            for n in lengths:
                if n < 0 or at + n > len(payload):
                    raise ValueError("short")
                texts.append(payload[at:at + n].decode())
                at += int(n)
            data[name] = pd.Series(texts, dtype=object)
        else:
            dtype = np.dtype(kind)
            size = dtype.itemsize * rows
            if at + size > len(payload):
                raise ValueError("short")
            data[name] = np.frombuffer(payload[at:at + size], dtype=dtype).astype(
                dtype.newbyteorder("="))
            at += size
    return pd.DataFrame(data), at


def _merge_table(name: str, mine: pd.DataFrame, theirs: pd.DataFrame,
                 what: str) -> pd.DataFrame:
    """Merges two row tables of an insight summary (see :class:`InsightSummary`)."""
    if list(mine.columns) != list(theirs.columns):
        raise InvalidArgument(f"{what} summaries with different {name} columns cannot be merged")
    if name == "channel_info":
        if len(mine) and len(theirs) and not mine.equals(theirs):
            raise InvalidArgument(f"{what} summaries of other channel catalogs cannot be merged")
        return mine if len(mine) else theirs.copy()
    both = pd.concat([mine, theirs], ignore_index=True)
    if name == "customers":
        if both["customer"].duplicated().any():
            raise InvalidArgument(f"{what}: summaries of overlapping customers cannot be "
                                  "merged (a customer is in both)")
        return both.sort_values("_seq", kind="stable").reset_index(drop=True)
    if name == "journeys":
        return _add_journeys(both)
    raise InvalidArgument(f"{what} summary has an unknown table {name!r}")


def _add_journeys(rows: pd.DataFrame) -> pd.DataFrame:
    """Journey rows added up per case: the customer of the case is the one first seen (as the
    single-machine summary keeps the lowest customer code); known cost stays unknown (NaN)
    when any part has unknown cost."""
    if not rows["case"].duplicated().any():
        return rows.sort_values("_seq", kind="stable").reset_index(drop=True)
    rows = rows.sort_values(["case", "_cseq"], kind="stable")
    grouped = rows.groupby("case", sort=False)
    out = grouped.first()[["customer", "_cseq"]]
    out["events"] = grouped["events"].sum().astype(rows["events"].dtype)
    out["revenue"] = grouped["revenue"].sum()
    out["cost"] = grouped["cost"].sum(min_count=0)
    out["unknown_cost_events"] = grouped["unknown_cost_events"].sum().astype(
        rows["unknown_cost_events"].dtype)
    out["_seq"] = grouped["_seq"].min()
    out.loc[out["unknown_cost_events"] > 0, "cost"] = np.nan
    out = out.reset_index()[list(rows.columns)]
    return out.sort_values("_seq", kind="stable").reset_index(drop=True)


def _ratio(numerator: np.ndarray | float, denominator: np.ndarray | float) -> np.ndarray:
    numerator = np.asarray(numerator, dtype=np.float64)
    denominator = np.asarray(denominator, dtype=np.float64)
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(denominator != 0, numerator / np.where(denominator != 0, denominator, 1),
                        np.nan)


def dark_matter_settings(*, channels: Sequence[str], window: tuple[int, int],
                         lookback_weeks: float = 0.0,
                         active_kinds: Iterable[str] = ("purchase", "digital_session"),
                         period_weeks: float = 13.0) -> dict[str, Any]:
    """The settings of a distributed dark-matter summary (``window`` in UTC ns)."""
    return {"channels": [str(c) for c in channels], "window": [int(window[0]), int(window[1])],
            "lookback_weeks": float(lookback_weeks),
            "active_kinds": [str(k) for k in active_kinds],
            "period_weeks": float(period_weeks)}


def summarise_dark_matter_bucket(frame: pd.DataFrame | None, spec: EventSpec,
                                 settings: Mapping[str, Any],
                                 catalog: Sequence[str]) -> bytes:
    """The dark-matter :class:`InsightSummary` bytes of one bucket of whole customers."""
    from .insight import dark_matter

    channels = settings["channels"]
    periods = _period_count(settings["window"], settings["period_weeks"])
    counts = {"channels": np.zeros((len(channels), len(_DARK_COUNTS))),
              "revenue": np.zeros(len(channels)), "active_revenue": np.zeros(1),
              "period_active": np.zeros(periods),
              "period_invisible": np.zeros((periods, len(channels)))}
    used: list[str] = []
    if frame is not None and len(frame):
        log = bucket_log(frame, spec, catalog)
        result = dark_matter(log, channels=channels, window=tuple(
            pd.Timestamp(t, tz="UTC") for t in settings["window"]),
            lookback_weeks=settings["lookback_weeks"], active_kinds=settings["active_kinds"],
            period_weeks=settings["period_weeks"], threads=1)
        rows = result.summary.loc[channels]
        counts["channels"] = rows[list(_DARK_COUNTS)].to_numpy(dtype=np.float64)
        counts["revenue"] = rows["revenue"].to_numpy(dtype=np.float64)
        active = result.customers["active"].to_numpy()
        counts["active_revenue"] = np.array([result.customers["revenue"].to_numpy()[active]
                                             .sum()])
        over = result.over_time
        if len(over):
            table = over.pivot_table(index="period_start", columns="channel",
                                     values=["active", "invisible"], aggfunc="first",
                                     sort=True)
            counts["period_active"] = table["active"][channels[0]].to_numpy(dtype=np.float64)
            counts["period_invisible"] = table["invisible"][channels].to_numpy(
                dtype=np.float64)
        used = list(result.used)
    return InsightSummary("dark_matter", dict(settings), counts, used).to_bytes()


def _period_step(period_weeks: float) -> int:
    """The C++ ``weeks_ns``: weeks times ns per week in doubles, truncated."""
    return int(float(period_weeks) * float(7 * 86_400 * 10**9))


def _period_count(window: Sequence[int], period_weeks: float) -> int:
    if not period_weeks:
        return 0
    return len(range(int(window[0]), int(window[1]), _period_step(period_weeks)))


def _finish_dark_matter(s: InsightSummary) -> Any:
    from .insight import DarkMatter

    channels = s.settings["channels"]
    c = s.counts["channels"]
    active, invisible = c[:, 0], c[:, 2]
    revenue = s.counts["revenue"]
    active_revenue = float(s.counts["active_revenue"][0])
    summary = pd.DataFrame({
        "active": active.astype(np.uint64), "unseen": c[:, 1].astype(np.uint64),
        "invisible": invisible.astype(np.uint64), "share": _ratio(invisible, active),
        "revenue": revenue, "revenue_share": _ratio(revenue, active_revenue),
        "mean_revenue": _ratio(revenue, invisible),
        "mean_revenue_visible": _ratio(active_revenue - revenue, active - invisible),
        "clv": np.full(len(channels), np.nan), "clv_unknown": np.zeros(len(channels), np.uint64),
        "bought_once": c[:, 3].astype(np.uint64), "silent_app_user": c[:, 4].astype(np.uint64),
        "digital_only": c[:, 5].astype(np.uint64),
        "consent_known": np.zeros(len(channels), dtype=bool),
    }, index=pd.Index(channels, name="channel"))
    window = s.settings["window"]
    step = _period_step(s.settings["period_weeks"]) if s.settings["period_weeks"] else 0
    starts = list(range(window[0], window[1], step)) if step else []
    rows = []
    for j, start in enumerate(starts):
        end = min(window[1], start + step)
        for k, channel in enumerate(channels):
            a, i = s.counts["period_active"][j], s.counts["period_invisible"][j, k]
            rows.append((channel, start, end, int(a), int(i), float(_ratio(i, a))))
    over_time = pd.DataFrame(rows, columns=["channel", "period_start", "period_end", "active",
                                            "invisible", "share"])
    for column in ("period_start", "period_end"):
        over_time[column] = pd.to_datetime(over_time[column].to_numpy(dtype=np.int64),
                                           utc=True)
    result = object.__new__(DarkMatter)
    result._tables = ("summary", "over_time")  # no per-customer table
    result.summary = summary
    result.over_time = over_time
    result.customers = None
    result.window = (pd.Timestamp(window[0], tz="UTC"), pd.Timestamp(window[1], tz="UTC"))
    result.used = list(s.used)
    return result


def engagement_settings(*, window: tuple[int, int],
                        contribution_kinds: Iterable[str] = ("community_post",),
                        heavy_min_posts: int = 10, members_only: bool = False,
                        repurchase_weeks: float = 26.0,
                        promoter_min_score: float = 9.0, replicates: int = 200,
                        seed: int = 20240601, confidence: float = 0.95) -> dict[str, Any]:
    """The settings of a distributed engagement summary (``window`` in UTC ns; bootstrap
    ``replicates``, ``seed`` and ``confidence`` as in :func:`cxlens.insight.engagement_tiers`)."""
    return {"window": [int(window[0]), int(window[1])],
            "contribution_kinds": [str(k) for k in contribution_kinds],
            "heavy_min_posts": int(heavy_min_posts), "members_only": bool(members_only),
            "repurchase_weeks": float(repurchase_weeks),
            "promoter_min_score": float(promoter_min_score), "replicates": int(replicates),
            "seed": int(seed), "confidence": float(confidence)}


def summarise_engagement_bucket(frame: pd.DataFrame | None, spec: EventSpec,
                                settings: Mapping[str, Any],
                                catalog: Sequence[str]) -> bytes:
    """The engagement :class:`InsightSummary` bytes of one bucket of whole customers: per
    tier customers, contributions and revenue; engaged and consume-only customers and revenue;
    loyal and other customers and how many bought again; the same sums per bootstrap
    replicate (weights keyed by the customer key, so any bucketing gives the same replicates)."""
    from .insight import engagement_tiers

    replicates = int(settings.get("replicates", 0))
    counts = {"tier_customers": np.zeros(3), "tier_posts": np.zeros(3),
              "tier_revenue": np.zeros(3), "sums": np.zeros(8),
              "replicates": np.zeros((replicates, 8))}
    used: list[str] = []
    if frame is not None and len(frame):
        log = bucket_log(frame, spec, catalog)
        result = engagement_tiers(
            log, window=tuple(pd.Timestamp(t, tz="UTC") for t in settings["window"]),
            contribution_kinds=settings["contribution_kinds"],
            heavy_min_posts=settings["heavy_min_posts"], members_only=settings["members_only"],
            repurchase_weeks=settings["repurchase_weeks"],
            promoter_min_score=settings["promoter_min_score"], replicates=0, threads=1)
        rows = result.customers
        codes = rows["tier"].cat.codes.to_numpy()
        revenue = rows["revenue"].to_numpy(dtype=np.float64)
        posts = rows["posts"].to_numpy(dtype=np.float64)
        for t in range(3):
            mine = codes == t
            counts["tier_customers"][t] = mine.sum()
            counts["tier_posts"][t] = posts[mine].sum()
            counts["tier_revenue"][t] = revenue[mine].sum()
        engaged = (codes == 1) | (codes == 2)
        consume = codes == 0
        loyal = rows["loyal"]
        again = rows["repurchased"].to_numpy()
        is_loyal = (loyal == True).fillna(False).to_numpy(dtype=bool)  # noqa: E712
        is_other = (loyal == False).fillna(False).to_numpy(dtype=bool)  # noqa: E712
        counts["sums"] = np.array([engaged.sum(), revenue[engaged].sum(), consume.sum(),
                                   revenue[consume].sum(), is_loyal.sum(),
                                   again[is_loyal].sum(), is_other.sum(),
                                   again[is_other].sum()], dtype=np.float64)
        if replicates:
            window = settings["window"]
            native = _core.insight_engagement_summary(
                log._native, window_from=int(window[0]), window_to=int(window[1]),
                contribution_kinds=list(settings["contribution_kinds"]),
                heavy_min_posts=int(settings["heavy_min_posts"]),
                members_only=bool(settings["members_only"]),
                repurchase_weeks=float(settings["repurchase_weeks"]),
                promoter_min_score=float(settings["promoter_min_score"]),
                replicates=replicates, seed=int(settings["seed"]),
                confidence=float(settings["confidence"]))
            counts["replicates"] = np.asarray(native.replicate_sums,
                                              dtype=np.float64).reshape(replicates, 8)
        used = list(result.used)
    return InsightSummary("engagement", dict(settings), counts, used).to_bytes()


def _finish_engagement(s: InsightSummary) -> Any:
    from .insight import Engagement

    customers = s.counts["tier_customers"]
    posts = s.counts["tier_posts"]
    population, all_posts = customers.sum(), posts.sum()
    tiers = pd.DataFrame({
        "customers": customers.astype(np.uint64), "share": _ratio(customers, population),
        "posts": posts.astype(np.uint64), "post_share": _ratio(posts, all_posts),
        "mean_revenue": _ratio(s.counts["tier_revenue"], customers),
    }, index=pd.Index(list(_TIER_NAMES), name="tier"))
    sums = s.counts["sums"]
    revenue_ratio = float(_ratio(_ratio(sums[1], sums[0]), _ratio(sums[3], sums[2])))
    repurchase_ratio = float(_ratio(_ratio(sums[5], sums[4]), _ratio(sums[7], sums[6])))
    reps = s.counts.get("replicates", np.zeros((0, 8)))
    confidence = float(s.settings.get("confidence", 0.95))
    revenue_reps = _ratio(_ratio(reps[:, 1], reps[:, 0]), _ratio(reps[:, 3], reps[:, 2]))
    repurchase_reps = _ratio(_ratio(reps[:, 5], reps[:, 4]), _ratio(reps[:, 7], reps[:, 6]))
    result = object.__new__(Engagement)
    result._tables = ("tiers", "ratios")  # no per-customer table
    result.tiers = tiers
    result.ratios = pd.DataFrame({
        "engaged_revenue_ratio": pd.Series(_interval(revenue_ratio, revenue_reps, confidence)),
        "loyal_repurchase_ratio": pd.Series(_interval(repurchase_ratio, repurchase_reps,
                                                      confidence))}).T
    result.repurchase = pd.DataFrame(
        {"customers": [int(sums[4]), int(sums[6])],
         "repurchase_rate": [float(_ratio(sums[5], sums[4])), float(_ratio(sums[7], sums[6]))]},
        index=pd.Index(["loyal", "other"], name="group"))
    result.customers = None
    result.used = list(s.used)
    return result


def _interval(value: float, replicates: np.ndarray, confidence: float) -> dict[str, float]:
    """The C++ ``estimate_from``: percentile interval and standard error of the finite
    replicates (fewer than 10: unknown)."""
    nan = float("nan")
    r = np.sort(np.asarray(replicates, dtype=np.float64)[np.isfinite(replicates)])
    if len(r) < 10 or not 0 < confidence < 1:
        return {"value": value, "lower": nan, "upper": nan, "standard_error": nan}

    def quantile(q: float) -> float:
        at = q * (len(r) - 1)
        below = int(np.floor(at))
        above = min(below + 1, len(r) - 1)
        return float(r[below] + (at - below) * (r[above] - r[below]))

    mean = float(np.cumsum(r)[-1]) / len(r)
    squares = float(np.cumsum((r - mean) * (r - mean))[-1])
    return {"value": value, "lower": quantile((1 - confidence) / 2),
            "upper": quantile(1 - (1 - confidence) / 2),
            "standard_error": float(np.sqrt(squares / (len(r) - 1)))}


def _first_seq(frame: pd.DataFrame, by: str) -> pd.Series:
    """Each key's first global row (``seq``): the single-machine code order of customers and
    cases is their order of first appearance."""
    return frame.groupby(by, sort=False)["seq"].min()


def _customer_rows(customers: pd.DataFrame, frame: pd.DataFrame) -> pd.DataFrame:
    """A per-customer result table as summary rows: the key as column ``customer``, text
    columns for categories, ``_seq`` the customer's first global row."""
    rows = customers.reset_index()
    rows.columns = ["customer"] + list(rows.columns[1:])
    for name in rows.columns:
        if isinstance(rows[name].dtype, pd.CategoricalDtype):
            rows[name] = rows[name].astype(str).astype(object)
    rows["_seq"] = rows["customer"].map(_first_seq(frame, "customer")).to_numpy(np.int64)
    return rows


def _window_arg(settings: Mapping[str, Any]) -> tuple[pd.Timestamp, pd.Timestamp]:
    return tuple(pd.Timestamp(t, tz="UTC") for t in settings["window"])  # type: ignore


def channel_preference_settings(*, window: tuple[int, int], as_of: int | None = None,
                                preference_kinds: Iterable[str] = ("service_contact",
                                                                   "complaint"),
                                outreach_kinds: Iterable[str] = ("message_sent",
                                                                 "survey_invitation"),
                                response_days: float = 7.0) -> dict[str, Any]:
    """The settings of a distributed channel-preference summary (``window`` and ``as_of`` in
    UTC ns; ``as_of`` None: the last nanosecond of the window, as single-machine)."""
    return {"window": [int(window[0]), int(window[1])],
            "as_of": int(window[1]) - 1 if as_of is None else int(as_of),
            "preference_kinds": [str(k) for k in preference_kinds],
            "outreach_kinds": [str(k) for k in outreach_kinds],
            "response_days": float(response_days)}


_PREFERENCE_COUNTS = ("preferring", "inbound", "sent", "answered")
_PREFERENCE_TOTALS = ("customers", "with_preference", "reachable_anywhere",
                      "preferred_unreachable", "preferred_unknown",
                      "preferred_unreachable_reachable_elsewhere")


def summarise_channel_preference_bucket(frame: pd.DataFrame | None, spec: EventSpec,
                                        settings: Mapping[str, Any],
                                        catalog: Sequence[str]) -> bytes:
    """The channel-preference :class:`InsightSummary` bytes of one bucket of whole customers:
    per channel preferring customers, self-initiated contacts, outreach sent and answered;
    the totals; the per-customer rows. No contact points: reachability is unknown."""
    from .insight import channel_preference

    counts = {"channels": np.zeros((len(catalog), len(_PREFERENCE_COUNTS))),
              "totals": np.zeros(len(_PREFERENCE_TOTALS))}
    used: list[str] = []
    tables: dict[str, pd.DataFrame] = {}
    if frame is not None and len(frame):
        log = bucket_log(frame, spec, catalog)
        result = channel_preference(
            log, window=_window_arg(settings), as_of=pd.Timestamp(settings["as_of"], tz="UTC"),
            preference_kinds=settings["preference_kinds"],
            outreach_kinds=settings["outreach_kinds"],
            response_days=settings["response_days"], threads=1)
        rows = result.channels.loc[list(catalog)]
        counts["channels"] = rows[list(_PREFERENCE_COUNTS)].to_numpy(dtype=np.float64)
        counts["totals"] = result.totals[list(_PREFERENCE_TOTALS)].to_numpy(dtype=np.float64)
        tables["customers"] = _customer_rows(result.customers, frame)
        tables["channel_info"] = pd.DataFrame({
            "channel": pd.Series(list(catalog), dtype=object),
            "kind": rows["kind"].astype(str).astype(object).to_numpy()})
        used = list(result.used)
    return InsightSummary("channel_preference", dict(settings), counts, used,
                          tables).to_bytes()


def _categories(values: pd.Series, names: list[str]) -> pd.Categorical:
    return pd.Categorical(values.to_numpy(), categories=names)


def _key_index(rows: pd.DataFrame) -> pd.Index:
    keys = rows["customer"]
    if keys.dtype != object:
        return pd.Index(keys.to_numpy(np.int64), name="customer")
    return pd.Index(keys.to_numpy(), dtype=object, name="customer")


def _finish_channel_preference(s: InsightSummary) -> Any:
    from .insight import _REACH, ChannelPreference

    info = s.tables.get("channel_info")
    rows = s.tables.get("customers")
    if info is None or rows is None:
        raise InvalidArgument("channel_preference: the summary has no customers")
    names = [str(n) for n in info["channel"]]
    c = s.counts["channels"]
    preferring, inbound, sent, answered = (c[:, j] for j in range(4))
    totals = s.counts["totals"]
    nan = np.full(len(names), np.nan)
    channels = pd.DataFrame({
        "kind": info["kind"].to_numpy(), "preferring": preferring.astype(np.uint64),
        "inbound": inbound.astype(np.uint64),
        "inbound_share": _ratio(inbound, inbound.sum()),
        "sent": sent.astype(np.uint64), "answered": answered.astype(np.uint64),
        "response_rate": _ratio(answered, sent),
        "consent_known": np.zeros(len(names), dtype=bool), "reachable": nan,
        "reachable_share": nan, "preferring_reachable": nan, "gap": nan,
    }, index=pd.Index(names, name="channel"))
    result = object.__new__(ChannelPreference)
    result.channels = channels
    labels = names + ["<none>"]
    result.customers = pd.DataFrame({
        "preferred": _categories(rows["preferred"], labels),
        "preferred_share": rows["preferred_share"].to_numpy(),
        "contacts": rows["contacts"].to_numpy(),
        "responsive": _categories(rows["responsive"], labels),
        "response_rate": rows["response_rate"].to_numpy(),
        "reach": _categories(rows["reach"], list(_REACH)),
        "reachable_channels": rows["reachable_channels"].to_numpy(),
    }, index=_key_index(rows))
    result.totals = pd.Series({k: int(v) for k, v in zip(_PREFERENCE_TOTALS, totals)},
                              name="customers")
    result.as_of = pd.Timestamp(s.settings["as_of"], tz="UTC")
    result.used = list(s.used)
    return result


def profitability_settings(*, window: tuple[int, int], cost_kinds: Iterable[str] | None = None,
                           curve_points: int = 101) -> dict[str, Any]:
    """The settings of a distributed profitability summary (``window`` in UTC ns;
    ``cost_kinds`` None: the single-machine default)."""
    return {"window": [int(window[0]), int(window[1])],
            "cost_kinds": None if cost_kinds is None else [str(k) for k in cost_kinds],
            "curve_points": int(curve_points)}


_PROFIT_COUNTS = ("revenue", "contacts", "cost", "unknown_cost_contacts")
_PROFIT_TOTALS = ("cost", "customers_unknown", "unknown_cost_contacts")


def summarise_profitability_bucket(frame: pd.DataFrame | None, spec: EventSpec,
                                   settings: Mapping[str, Any],
                                   catalog: Sequence[str]) -> bytes:
    """The profitability :class:`InsightSummary` bytes of one bucket of whole customers: per
    channel revenue, costed contacts, known cost and contacts of unknown cost; known cost,
    customers and contacts of unknown cost; per-customer and per-journey rows."""
    from .insight import profitability

    counts = {"channels": np.zeros((len(catalog), len(_PROFIT_COUNTS))),
              "totals": np.zeros(len(_PROFIT_TOTALS))}
    used: list[str] = []
    tables: dict[str, pd.DataFrame] = {}
    if frame is not None and len(frame):
        log = bucket_log(frame, spec, catalog)
        result = profitability(log, window=_window_arg(settings),
                               cost_kinds=settings["cost_kinds"],
                               curve_points=settings["curve_points"], threads=1)
        rows = result.channels.loc[list(catalog)]
        values = rows[list(_PROFIT_COUNTS)].to_numpy(dtype=np.float64)
        counts["channels"] = np.nan_to_num(values, nan=0.0)  # cost NaN: all unknown, known 0
        counts["totals"] = result.totals[list(_PROFIT_TOTALS)].to_numpy(dtype=np.float64)
        customers = _customer_rows(result.customers, frame)
        tables["customers"] = customers
        tables["channel_info"] = pd.DataFrame({
            "channel": pd.Series(list(catalog), dtype=object),
            "cost_per_contact": rows["cost_per_contact"].to_numpy(dtype=np.float64)})
        journeys = result.journeys.drop(columns="margin").copy()
        journeys["case"] = journeys["case"].astype(str).astype(object)
        if len(journeys) and "case_id" in frame:
            case_seq = _first_seq(frame.assign(case_id=frame["case_id"].astype(str)),
                                  "case_id")
            journeys["_seq"] = journeys["case"].map(case_seq).to_numpy(np.int64)
        else:
            journeys["_seq"] = np.zeros(len(journeys), dtype=np.int64)
        journeys["_cseq"] = journeys["customer"].map(
            customers.set_index("customer")["_seq"]).to_numpy(np.int64)
        if customers["customer"].dtype != object:
            journeys["customer"] = journeys["customer"].to_numpy(np.int64)
        else:
            journeys["customer"] = journeys["customer"].astype(object)
        tables["journeys"] = journeys.reset_index(drop=True)
        used = list(result.used)
    return InsightSummary("profitability", dict(settings), counts, used, tables).to_bytes()


def _finish_profitability(s: InsightSummary) -> Any:
    from .insight import Profitability

    info = s.tables.get("channel_info")
    rows = s.tables.get("customers")
    if info is None or rows is None:
        raise InvalidArgument("profitability: the summary has no customers")
    names = [str(n) for n in info["channel"]]
    c = s.counts["channels"]
    contacts, unknown = c[:, 1], c[:, 3]
    cost = np.where((contacts == 0) | (unknown < contacts), c[:, 2], np.nan)
    channels = pd.DataFrame({
        "revenue": c[:, 0], "contacts": contacts.astype(np.uint64), "cost": cost,
        "unknown_cost_contacts": unknown.astype(np.uint64),
        "cost_per_contact": info["cost_per_contact"].to_numpy()},
        index=pd.Index(names, name="channel"))
    result = object.__new__(Profitability)
    result.channels = channels
    result.customers = pd.DataFrame({
        "revenue": rows["revenue"].to_numpy(), "cost": rows["cost"].to_numpy(),
        "margin": rows["margin"].to_numpy(), "contacts": rows["contacts"].to_numpy()},
        index=_key_index(rows))
    journeys = s.tables.get("journeys")
    if journeys is None or not len(journeys):
        result.journeys = pd.DataFrame({"case": [], "customer": [], "events": [],
                                        "revenue": [], "cost": [],
                                        "unknown_cost_events": []})
    else:
        result.journeys = journeys.drop(columns=["_seq", "_cseq"]).reset_index(drop=True)
    result.journeys["margin"] = result.journeys["revenue"] - result.journeys["cost"]
    # Totals and the whale curve in the single-machine order (customer code order, sums
    # in that order), so they equal the single-machine numbers exactly.
    revenue = rows["revenue"].to_numpy(np.float64)
    margin = rows["margin"].to_numpy(np.float64)
    present = ~np.isnan(revenue)
    known = present & ~np.isnan(margin)

    def ordered_sum(values: np.ndarray) -> float:
        return float(np.cumsum(values)[-1]) if len(values) else 0.0

    total = ordered_sum(margin[known])
    order = np.argsort(-margin[known], kind="stable")
    sorted_margins = margin[known][order]
    cumulative = np.concatenate([[0.0], np.cumsum(sorted_margins)])
    points = int(s.settings["curve_points"])
    curve = []
    if len(sorted_margins):
        for p in range(points):
            share = p / (points - 1)
            k = int(np.floor(share * len(sorted_margins) + 0.5))
            curve.append((share, float(cumulative[k]),
                          float(cumulative[k] / total) if total > 0 else float("nan")))
    result.whale_curve = pd.DataFrame(curve, columns=["customer_share", "profit",
                                                      "profit_share"])
    nan = float("nan")
    if len(sorted_margins) and total > 0:
        peak = int(np.argmax(cumulative))
        peak_profit, peak_customers = cumulative[peak] / total, peak / len(sorted_margins)
    else:
        peak_profit = peak_customers = nan
    extra = dict(zip(_PROFIT_TOTALS, s.counts["totals"]))
    result.totals = pd.Series({
        "revenue": ordered_sum(revenue[present]), "cost": float(extra["cost"]),
        "margin": total, "customers": int(present.sum()),
        "customers_unknown": int(extra["customers_unknown"]),
        "unknown_cost_contacts": int(extra["unknown_cost_contacts"]),
        "peak_profit_share": peak_profit, "peak_customer_share": peak_customers})
    result.used = list(s.used)
    return result


def offering_dimensions_settings(*, window: tuple[int, int], retention_weeks: float = 13.0,
                                 min_support: int = 30, replicates: int = 200,
                                 seed: int = 20240601,
                                 confidence: float = 0.95) -> dict[str, Any]:
    """The settings of a distributed offering-dimensions summary (``window`` in UTC ns; the
    rest as in :func:`cxlens.insight.offering_dimensions`)."""
    return {"window": [int(window[0]), int(window[1])],
            "retention_weeks": float(retention_weeks), "min_support": int(min_support),
            "replicates": int(replicates), "seed": int(seed), "confidence": float(confidence)}


_SETS, _DIMS = 16, 4


def summarise_offering_dimensions_bucket(frame: pd.DataFrame | None, spec: EventSpec,
                                         settings: Mapping[str, Any],
                                         catalog: Sequence[str]) -> bytes:
    """The offering-dimensions :class:`InsightSummary` bytes of one bucket of whole customers:
    transitions between dimension sets, customers per set, per final set customers, value and
    retained sums and the same sums per bootstrap replicate (weights keyed by customer key);
    per customer the set and whether they had events in the window."""
    replicates = int(settings["replicates"])
    counts = {"transitions": np.zeros(_SETS * _DIMS), "reached": np.zeros(_SETS),
              "sums": np.zeros(_SETS * 3), "replicates": np.zeros((replicates, _SETS * 3))}
    tables: dict[str, pd.DataFrame] = {}
    if frame is not None and len(frame):
        log = bucket_log(frame, spec, catalog)
        window = settings["window"]
        s = _core.insight_offering_dimensions_summary(
            log._native, window_from=int(window[0]), window_to=int(window[1]),
            retention_weeks=float(settings["retention_weeks"]), replicates=replicates,
            seed=int(settings["seed"]), confidence=float(settings["confidence"]))
        counts["transitions"] = np.asarray(s.transitions, dtype=np.float64)
        counts["reached"] = np.asarray(s.reached, dtype=np.float64)
        counts["sums"] = np.asarray(s.sums, dtype=np.float64)
        counts["replicates"] = np.asarray(s.replicate_sums, dtype=np.float64).reshape(
            replicates, _SETS * 3)
        keys = log.customers.take(np.asarray(s.customers, dtype=np.int64))
        rows = pd.DataFrame({"customer": keys.to_numpy() if keys.dtype != object
                             else keys.astype(object).to_numpy(),
                             "set": np.asarray(s.set, dtype=np.uint8),
                             "present": np.asarray(s.present, dtype=np.uint8)})
        rows["_seq"] = rows["customer"].map(_first_seq(frame, "customer")).to_numpy(np.int64)
        tables["customers"] = rows
    used = ["events: offering tags up to the window's end", "value: revenue in the window",
            "retention: a purchase in the last retention_weeks of the window"]
    return InsightSummary("offering_dimensions", dict(settings), counts, used,
                          tables).to_bytes()


class _Keys:
    """Stands in for the log when building a result object from merged rows."""

    def __init__(self, customers: pd.Index) -> None:
        self.customers = customers


def _finish_offering_dimensions(s: InsightSummary) -> Any:
    """The C++ ``finish_offering_dimensions`` on the merged counts and rows."""
    from .insight import _DIMENSIONS, OfferingDimensions

    rows = s.tables.get("customers")
    if rows is None:
        raise InvalidArgument("offering_dimensions: the summary has no customers")
    nan = float("nan")

    def ratio(a: float, b: float) -> float:
        return a / b if b != 0 else nan

    sets = rows["set"].to_numpy(np.int64)
    present = rows["present"].to_numpy() != 0
    customers = int(present.sum())
    engaged = [int(((sets[present] >> d) & 1).sum()) for d in range(_DIMS)]
    sums = s.counts["sums"]
    reps = s.counts["replicates"]
    transitions = s.counts["transitions"]
    reached = s.counts["reached"]
    min_support = int(s.settings["min_support"])
    confidence = float(s.settings["confidence"])

    def name(code: int) -> str:
        return "none" if code == 0 else "+".join(
            _DIMENSIONS[d + 1] for d in range(_DIMS) if code >> d & 1)

    def row(dimensions: str, c: float, v: float, r: float) -> dict[str, Any]:
        return {"dimensions": dimensions, "customers": int(c), "share": ratio(c, customers),
                "mean_value": ratio(v, c), "retention": ratio(r, c)}

    by_count = [0.0] * 15
    by_set = []
    for code in range(_SETS):
        count = bin(code).count("1")
        for j in range(3):
            by_count[count * 3 + j] += float(sums[code * 3 + j])
        by_set.append(row(name(code), sums[code * 3], sums[code * 3 + 1], sums[code * 3 + 2]))
    by_count_rows = [row(str(k), by_count[k * 3], by_count[k * 3 + 1], by_count[k * 3 + 2])
                     for k in range(_DIMS + 1)]

    def mean(table: np.ndarray, code: int, j: int) -> np.ndarray | float:
        if table.ndim == 1:
            return ratio(float(table[code * 3 + j]), float(table[code * 3]))
        return _ratio(table[:, code * 3 + j], table[:, code * 3])

    best = [0] * _SETS
    best_lift, best_rate, best_score = [nan] * _SETS, [nan] * _SETS, [0.0] * _SETS
    steps = []
    for code in range(_SETS):
        for d in range(_DIMS):
            if code >> d & 1:
                continue
            moved = int(transitions[code * _DIMS + d])
            if moved == 0:
                continue
            to = code | 1 << d
            rate = ratio(float(moved), float(reached[code]))
            lift = mean(sums, to, 1) - mean(sums, code, 1)
            lifts = mean(reps, to, 1) - mean(reps, code, 1)
            estimate = _interval(lift, lifts, confidence)
            supported = (moved >= min_support and sums[code * 3] >= min_support
                         and sums[to * 3] >= min_support)
            score = rate * lift
            if supported and lift > 0 and score > best_score[code]:
                best[code], best_score[code] = d + 1, score
                best_lift[code], best_rate[code] = lift, rate
            steps.append({"from_set": name(code), "next": _DIMENSIONS[d + 1],
                          "transitions": moved, "adoption_rate": rate,
                          "value_lift": estimate["value"],
                          "value_lift_lower": estimate["lower"],
                          "value_lift_upper": estimate["upper"],
                          "retention_lift": mean(sums, to, 2) - mean(sums, code, 2),
                          "supported": bool(supported)})
    recommended = np.where(present, np.asarray(best)[sets], 0).astype(np.uint8)
    chosen = present & (recommended != 0)
    expected_lift = np.where(chosen, np.asarray(best_lift)[sets], np.nan)
    adoption_rate = np.where(chosen, np.asarray(best_rate)[sets], np.nan)
    native = {"coverage": [(_DIMENSIONS[d + 1], engaged[d], ratio(engaged[d], customers))
                           for d in range(_DIMS)],
              "by_count": by_count_rows, "by_set": by_set, "next_steps": steps,
              "set": sets.astype(np.uint8), "recommended": recommended,
              "expected_lift": expected_lift, "adoption_rate": adoption_rate,
              "used": list(s.used)}
    return OfferingDimensions(native, _Keys(_key_index(rows)))


def assisted_channels(catalog: Iterable[str]) -> list[str]:
    """The assisted channels of a channel catalog (by the standard kinds of their names),
    sorted: the default channels of distributed dark matter."""
    from .model import standard_channel_kind

    return sorted(c for c in catalog if standard_channel_kind(str(c)) == "assisted")


def merge_insight_bytes(*parts: bytes) -> bytes:
    """Merges serialized insight summaries into serialized bytes."""
    return merge_all(InsightSummary.from_bytes(p) for p in parts).to_bytes()


# --- survival ---------------------------------------------------------------------------------
# Kaplan-Meier on customer lifetimes, behavioural cohort tables and Cox on partitioned events.
# Keyed per-customer states (first and last activity; distinct activity periods) are merged
# exactly across date partitions after a shuffle by customer; each bucket then becomes a native
# mergeable summary (EventCounts, CohortCounts) that travels as versioned bytes.

_DAY_NS = 86_400 * 10**9
_COHORT_PERIODS = ("day", "week", "month")


@dataclass(frozen=True)
class ActivitySpec:
    """Which columns hold an event table, and which rows count as a customer's activity.

    ``customer`` and ``time`` are required. With an ``event`` column, a row is activity when
    its event kind is in ``activity_kinds`` (default: every kind except ``message_sent``, the
    default of :func:`cxlens.survival.cohort_retention`); an event's kind is
    ``event_kinds[name]`` when given, else the standard kind of that name (as
    :meth:`cxlens.EventLog.from_pandas` assigns it). Without ``event`` every row is activity.
    """

    customer: str
    time: str
    event: str | None = None
    activity_kinds: tuple[str, ...] | None = None
    event_kinds: tuple[tuple[str, str], ...] | None = None
    time_unit: str = "ns"

    def columns(self) -> list[str]:
        """The input columns this spec reads."""
        return [c for c in (self.customer, self.time, self.event) if c is not None]

    def activity(self, frame: pd.DataFrame, partition: Any = None) -> tuple[pd.Series, np.ndarray,
                                                                             np.ndarray]:
        """Customer keys, UTC nanosecond times and the activity mask of a partition's rows
        (every row's time is checked, activity or not)."""
        from .model import EVENT_KINDS, standard_event_kind

        if not isinstance(frame, pd.DataFrame):
            raise TypeError("a partition must be a pandas DataFrame")
        where = "" if partition is None else f" of partition {partition}"
        for column in self.columns():
            if column not in frame.columns:
                raise NotFound(f"column {column!r} is not in the columns{where}: partitions "
                               "must share one schema")
        ns = utc_ns(frame[self.time], self.time, self.time_unit)
        if self.event is None:
            return frame[self.customer], ns, np.ones(len(frame), dtype=bool)
        wanted = set(self.activity_kinds) if self.activity_kinds is not None else (
            set(EVENT_KINDS) - {"message_sent"})
        mapping = dict(self.event_kinds or ())
        names = frame[self.event]
        if names.isna().any():
            raise InvalidArgument(f"event column {self.event!r}{where} has missing events")
        if isinstance(names.dtype, pd.CategoricalDtype):  # Parquet dictionaries: no strings
            codes = names.cat.codes.to_numpy()
            uniques = [str(c) for c in names.cat.categories]
        else:
            codes, uniques = pd.factorize(names.astype(str))
        keep = np.array([mapping.get(name, standard_event_kind(name)) in wanted
                         for name in uniques], dtype=bool)
        return frame[self.customer], ns, keep[codes] if len(codes) else np.zeros(0, dtype=bool)

    def key_kind(self, dtype: Any) -> str:
        """'integer' or 'text' for a customer column dtype (what every partition must share)."""
        return _key_kind(dtype, self.customer)


def activity_spec(customer: str, time: str, event: str | None = None,
                  activity_kinds: Iterable[str] | None = None,
                  event_kinds: Mapping[str, str] | None = None,
                  time_unit: str = "ns") -> ActivitySpec:
    """An :class:`ActivitySpec` from user arguments (kinds checked against the standard
    kinds)."""
    from .model import EVENT_KINDS

    if time_unit not in _TIME_SCALE:
        raise InvalidArgument("time_unit must be 's', 'ms', 'us' or 'ns'")
    kinds = None if activity_kinds is None else tuple(sorted(map(str, activity_kinds)))
    for kind in (kinds or ()) + tuple((event_kinds or {}).values()):
        if kind not in EVENT_KINDS:
            raise InvalidArgument(f"unknown event kind {kind!r}")
    if (kinds is not None or event_kinds) and event is None:
        raise InvalidArgument("activity_kinds and event_kinds need the event column")
    mapping = None if not event_kinds else tuple(sorted((str(k), str(v))
                                                       for k, v in event_kinds.items()))
    return ActivitySpec(customer, time, event, kinds, mapping, time_unit)


def latest_time(frame: pd.DataFrame, spec: ActivitySpec, partition: Any = None) -> pd.DataFrame:
    """One row: the partition's latest time of any event (UTC ns; missing when empty)."""
    _, ns, _ = spec.activity(frame, partition)
    return pd.DataFrame({"latest": pd.array([int(ns.max()) if len(ns) else None],
                                            dtype="Int64")})


def empty_lifetime_states(key_kind: str = "integer") -> pd.DataFrame:
    """A lifetime state frame with no rows: customer, first and last activity (UTC ns)."""
    customer = (pd.Series([], dtype=np.int64) if key_kind == "integer"
                else pd.Series([], dtype=str))
    return pd.DataFrame({"customer": customer, "first": pd.Series([], dtype=np.int64),
                         "last": pd.Series([], dtype=np.int64)})


def lifetime_states(frame: pd.DataFrame, spec: ActivitySpec, *, end: int | None = None,
                    key_kind: str | None = None, partition: Any = None) -> pd.DataFrame:
    """Keyed per-customer lifetime states of one partition: each customer's first and last
    activity (UTC ns) among its rows at or before ``end`` (UTC ns). States of one customer from
    several partitions merge exactly (min of first, max of last) in any order
    (:func:`merge_lifetime_states`)."""
    customers, ns, active = spec.activity(frame, partition)
    kind = key_kind or spec.key_kind(frame[spec.customer].dtype)
    keys = _customer_keys(customers, spec.customer, key_kind, partition)
    if end is not None:
        active = active & (ns <= end)
    if not active.any():
        return empty_lifetime_states(kind)
    rows = pd.DataFrame({"customer": keys.to_numpy()[active], "time": ns[active]})
    by = rows.groupby("customer", sort=True)["time"]
    out = pd.DataFrame({"first": by.min(), "last": by.max()}).reset_index()
    return _canonical_lifetimes(out, kind)


def _canonical_lifetimes(states: pd.DataFrame, kind: str) -> pd.DataFrame:
    customer = (states["customer"].astype(np.int64) if kind == "integer"
                else states["customer"].astype(str))
    return pd.DataFrame({"customer": customer.to_numpy(),
                         "first": states["first"].to_numpy(dtype=np.int64),
                         "last": states["last"].to_numpy(dtype=np.int64)})


def merge_lifetime_states(states: pd.DataFrame | Sequence[pd.DataFrame]) -> pd.DataFrame:
    """Merges lifetime states: one row per customer (first = min, last = max), sorted by
    customer. Exact, associative and commutative."""
    if not isinstance(states, pd.DataFrame):
        frames = [s for s in states if len(s)]
        if not frames:
            return empty_lifetime_states()
        states = pd.concat(frames, ignore_index=True)
    if len(states) == 0 or not states["customer"].duplicated().any():
        return states.sort_values("customer", kind="stable").reset_index(drop=True)
    by = states.groupby("customer", sort=True)
    return pd.DataFrame({"first": by["first"].min(), "last": by["last"].max()}).reset_index()


def lifetimes_from_states(states: pd.DataFrame, end: int, *, churn_after_days: float,
                          unit_days: float = 1.0) -> pd.DataFrame:
    """Per-customer survival inputs from merged lifetime states, observed at ``end`` (UTC ns):
    ``churned`` when the last activity is more than ``churn_after_days`` before ``end``;
    ``duration`` from the first activity to the last (churned) or to ``end`` (censored), in
    whole units of ``unit_days`` days (rounded down, so the Kaplan-Meier summary has at most
    one row per unit of time whatever the number of customers). Indexed by customer, sorted;
    ``first`` and ``last`` as UTC datetimes."""
    if not churn_after_days > 0 or not unit_days > 0:
        raise InvalidArgument("churn_after_days and unit_days must be positive")
    merged = merge_lifetime_states(states)
    first = merged["first"].to_numpy(dtype=np.int64)
    last = merged["last"].to_numpy(dtype=np.int64)
    churned = (end - last) > round(churn_after_days * _DAY_NS)
    stop = np.where(churned, last, end)
    unit = max(1, round(unit_days * _DAY_NS))
    return pd.DataFrame({
        "first": first.view("datetime64[ns]"), "last": last.view("datetime64[ns]"),
        "duration": ((stop - first) // unit).astype(np.float64),
        "churned": churned.astype(np.float64),
    }, index=pd.Index(merged["customer"].to_numpy(), name="customer"))


def customer_lifetimes(frame: pd.DataFrame, customer: str, time: str, *,
                       event: str | None = None, activity_kinds: Iterable[str] | None = None,
                       event_kinds: Mapping[str, str] | None = None,
                       churn_after_days: float = 90.0, end: Any = None, unit_days: float = 1.0,
                       time_unit: str = "ns") -> pd.DataFrame:
    """Single-machine customer lifetimes of an event table (pandas): the survival inputs
    :func:`cxlens.dask.customer_lifetimes` and :func:`cxlens.spark.customer_lifetimes` compute
    on partitioned data. ``end`` (anything ``pd.Timestamp`` takes; naive = UTC) defaults to the
    latest event of any kind. See :func:`lifetimes_from_states` for the columns."""
    spec = activity_spec(customer, time, event, activity_kinds, event_kinds, time_unit)
    stop = utc_instant(end)
    if stop is None:
        latest = latest_time(frame, spec)["latest"].iloc[0]
        if pd.isna(latest):
            raise InvalidArgument("no events in the table: nothing to summarise")
        stop = int(latest)
    states = lifetime_states(frame, spec, end=stop)
    return lifetimes_from_states(states, stop, churn_after_days=churn_after_days,
                                 unit_days=unit_days)


def utc_instant(value: Any) -> int | None:
    """A user's time (anything ``pd.Timestamp`` takes; naive = UTC) as UTC ns, or None."""
    if value is None:
        return None
    stamp = pd.Timestamp(value)
    stamp = stamp.tz_localize("UTC") if stamp.tzinfo is None else stamp.tz_convert("UTC")
    return int(stamp.value)


def _settings_check(kind: str, mine: Mapping[str, Any], other: Mapping[str, Any]) -> None:
    if dict(mine) != dict(other):
        differ = sorted(k for k in set(mine) | set(other) if mine.get(k) != other.get(k))
        raise InvalidArgument(f"{kind} summaries built with different settings "
                              f"({', '.join(differ)}) cannot be merged")


def _pack(kind: str, version: int, settings: Mapping[str, Any], native: bytes) -> bytes:
    text = json.dumps(dict(settings), sort_keys=True).encode()
    payload = b"".join([struct.pack("<Q", len(text)), text, struct.pack("<Q", len(native)),
                        native])
    return _core.wrap_summary(kind, version, payload)


def _unpack(data: bytes, kind: str, version: int) -> tuple[dict[str, Any], bytes]:
    payload = _core.unwrap_summary(bytes(data), kind, version)
    try:
        (n,) = struct.unpack_from("<Q", payload, 0)
        settings = json.loads(payload[8:8 + n])
        (m,) = struct.unpack_from("<Q", payload, 8 + n)
        native = payload[16 + n:16 + n + m]
        if 16 + n + m != len(payload) or len(native) != m:
            raise InvalidArgument(f"{kind} summary bytes are truncated or have trailing data")
    except (struct.error, ValueError) as error:
        if isinstance(error, InvalidArgument):
            raise
        raise InvalidArgument(f"{kind} summary bytes are damaged") from error
    return settings, native


_SURVIVAL_KIND = "distributed.survival"
_COHORT_KIND = "distributed.cohorts"
_SURVIVAL_VERSION = 1


@dataclass
class SurvivalSummary:
    """The mergeable summary behind Kaplan-Meier (and Nelson-Aalen) on customer lifetimes:
    the native ``EventCounts`` (events and censorings per distinct duration) and the settings
    it was built with (activity, churn gap, unit, observation end). Merges only with a summary
    of the same settings; bytes (kind ``distributed.survival``) of another kind or version are
    refused with :class:`cxlens.InvalidArgument`. Pickles through :meth:`to_bytes`."""

    counts: Any
    settings: dict[str, Any] = field(default_factory=dict)

    @property
    def customers(self) -> int:
        """Number of customers (rows) counted."""
        return int(np.asarray(self.counts.observed).sum() + np.asarray(self.counts.censored).sum())

    def merge(self, other: "SurvivalSummary") -> "SurvivalSummary":
        """Adds another summary (same settings required); returns self."""
        if not isinstance(other, SurvivalSummary):
            raise InvalidArgument(f"a SurvivalSummary cannot merge with a {type(other).__name__}")
        _settings_check("survival", self.settings, other.settings)
        self.counts.merge(other.counts)
        return self

    def to_bytes(self) -> bytes:
        """Versioned bytes: the settings as JSON, then the native counts' own bytes."""
        return _pack(_SURVIVAL_KIND, _SURVIVAL_VERSION, self.settings, self.counts.to_bytes())

    @classmethod
    def from_bytes(cls, data: bytes) -> "SurvivalSummary":
        """The summary :meth:`to_bytes` wrote."""
        settings, native = _unpack(data, _SURVIVAL_KIND, _SURVIVAL_VERSION)
        return cls(_core.survival.EventCounts.from_bytes(native), settings)

    def __reduce__(self):
        return (SurvivalSummary.from_bytes, (self.to_bytes(),))

    def kaplan_meier(self, alpha: float = 0.05) -> pd.DataFrame:
        """The :func:`cxlens.survival.kaplan_meier` table of the merged counts."""
        from .survival import kaplan_meier_from_counts

        if self.customers == 0:
            raise InvalidArgument("no customers with activity: nothing to estimate")
        return kaplan_meier_from_counts(self.counts, alpha)


def survival_summary(lifetimes: pd.DataFrame, settings: Mapping[str, Any]) -> SurvivalSummary:
    """The :class:`SurvivalSummary` of one slice of customer lifetimes."""
    from .survival import count_events

    return SurvivalSummary(count_events(lifetimes["duration"].to_numpy(),
                                        lifetimes["churned"].to_numpy()), dict(settings))


def merge_survival_bytes(*parts: bytes) -> bytes:
    """Merges serialized survival summaries into serialized bytes (Spark's ``treeReduce``)."""
    return merge_all(SurvivalSummary.from_bytes(p) for p in parts).to_bytes()


def empty_period_states(key_kind: str = "integer") -> pd.DataFrame:
    """An activity-period state frame with no rows: customer and cohort period index."""
    customer = (pd.Series([], dtype=np.int64) if key_kind == "integer"
                else pd.Series([], dtype=str))
    return pd.DataFrame({"customer": customer, "period": pd.Series([], dtype=np.int64)})


def activity_period_states(frame: pd.DataFrame, spec: ActivitySpec, *, period: str,
                           end: int | None = None, key_kind: str | None = None,
                           partition: Any = None) -> pd.DataFrame:
    """Keyed behavioural cohort states of one partition: the distinct (customer, period) pairs
    with activity before ``end`` (UTC ns, exclusive), periods as
    :func:`cxlens.survival.cohort_retention` numbers them (UTC days, weeks from Monday,
    months). Always exact across partitions: the merge is a set union."""
    if period not in _COHORT_PERIODS:
        raise InvalidArgument("period must be 'day', 'week' or 'month'")
    customers, ns, active = spec.activity(frame, partition)
    kind = key_kind or spec.key_kind(frame[spec.customer].dtype)
    keys = _customer_keys(customers, spec.customer, key_kind, partition)
    if end is not None:
        active = active & (ns < end)
    if not active.any():
        return empty_period_states(kind)
    periods = np.asarray(_core.survival.cohort_period_index(ns[active], period))
    rows = pd.DataFrame({"customer": keys.to_numpy()[active], "period": periods})
    rows = rows.drop_duplicates().sort_values(["customer", "period"], kind="stable")
    customer = (rows["customer"].astype(np.int64) if kind == "integer"
                else rows["customer"].astype(str))
    return pd.DataFrame({"customer": customer.to_numpy(),
                         "period": rows["period"].to_numpy(dtype=np.int64)})


def cohort_counts_from_states(states: pd.DataFrame | Sequence[pd.DataFrame]) -> Any:
    """Native ``CohortCounts`` of activity-period states holding every state of their
    customers: each customer's cohort is its first period, it is retained at offset k when
    active k periods later."""
    if not isinstance(states, pd.DataFrame):
        frames = [s for s in states if len(s)]
        states = pd.concat(frames, ignore_index=True) if frames else empty_period_states()
    counts = _core.survival.CohortCounts()
    if len(states) == 0:
        return counts
    pairs = states.drop_duplicates()
    cohort = pairs.groupby("customer", sort=False)["period"].transform("min").to_numpy()
    offset = pairs["period"].to_numpy(dtype=np.int64) - cohort
    retained = pd.DataFrame({"cohort": cohort, "offset": offset}).value_counts(sort=False)
    sizes = pd.Series(cohort[offset == 0]).value_counts(sort=False)
    counts.add(sizes.index.to_numpy(dtype=np.int64),
               np.full(len(sizes), -1, dtype=np.int64), sizes.to_numpy(dtype=np.uint64))
    counts.add(retained.index.get_level_values(0).to_numpy(dtype=np.int64),
               retained.index.get_level_values(1).to_numpy(dtype=np.int64),
               retained.to_numpy(dtype=np.uint64))
    return counts


@dataclass
class CohortSummary:
    """The mergeable summary behind a behavioural cohort table: native ``CohortCounts``
    (customers acquired per cohort, retained per cohort and offset) and the settings (period,
    activity, observation end). Merges only with a summary of the same settings; bytes (kind
    ``distributed.cohorts``) of another kind or version are refused. Pickles."""

    counts: Any
    settings: dict[str, Any] = field(default_factory=dict)

    def merge(self, other: "CohortSummary") -> "CohortSummary":
        """Adds another summary (same settings required); returns self."""
        if not isinstance(other, CohortSummary):
            raise InvalidArgument(f"a CohortSummary cannot merge with a {type(other).__name__}")
        _settings_check("cohort", self.settings, other.settings)
        self.counts.merge(other.counts)
        return self

    def to_bytes(self) -> bytes:
        """Versioned bytes: the settings as JSON, then the native counts' own bytes."""
        return _pack(_COHORT_KIND, _SURVIVAL_VERSION, self.settings, self.counts.to_bytes())

    @classmethod
    def from_bytes(cls, data: bytes) -> "CohortSummary":
        """The summary :meth:`to_bytes` wrote."""
        settings, native = _unpack(data, _COHORT_KIND, _SURVIVAL_VERSION)
        return cls(_core.survival.CohortCounts.from_bytes(native), settings)

    def __reduce__(self):
        return (CohortSummary.from_bytes, (self.to_bytes(),))

    def table(self, rates: bool = False) -> pd.DataFrame:
        """The :func:`cxlens.survival.cohort_retention` table (behavioural definition)."""
        from .survival import cohort_frame

        period, end = self.settings["period"], int(self.settings["end"])
        return cohort_frame(_core.survival.cohort_table(self.counts, period, end),
                            "behavioural", period, rates)


def cohort_summary(states: pd.DataFrame, settings: Mapping[str, Any]) -> CohortSummary:
    """The :class:`CohortSummary` of activity-period states of whole customers."""
    return CohortSummary(cohort_counts_from_states(states), dict(settings))


def merge_cohort_bytes(*parts: bytes) -> bytes:
    """Merges serialized cohort summaries into serialized bytes (Spark's ``treeReduce``)."""
    return merge_all(CohortSummary.from_bytes(p) for p in parts).to_bytes()


def canonical_rows(frame: pd.DataFrame) -> pd.DataFrame:
    """Rows in one order whatever the partitioning (sorted by every column, then the index),
    so a fit on collected rows is bit-identical for any number of partitions."""
    if len(frame) == 0:
        return frame
    return frame.sort_values(list(frame.columns), kind="mergesort").reset_index(drop=True)


__all__ += ["ActivitySpec", "CohortSummary", "SurvivalSummary", "activity_period_states",
            "activity_spec", "cohort_counts_from_states", "cohort_summary",
            "customer_lifetimes", "lifetime_states", "lifetimes_from_states",
            "merge_lifetime_states", "survival_summary"]
